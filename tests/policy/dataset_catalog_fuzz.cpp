// fuzz-dict: yaml.dict
// fuzz-max-len: 16384
// dataset_catalog_fuzz.cpp: parse_dataset_catalog on arbitrary text. Properties: never throws,
// never a kInternal diagnostic; every diagnostic and every dataset position points inside the
// input; a catalog that parses has at most kMaxCatalogDatasets entries, each with a 64-lowercase-
// hex sha256 that find_by_sha256 maps back to that very entry (in either case), unique digests
// and (name, versionId) pairs, and updated not before created.
#include <cctype>
#include <cstdint>
#include <set>
#include <string>
#include <utility>

#include "policy/dataset_catalog.h"
#include "policy/policy_fuzz_support.h"

namespace {

using namespace modelgate;
using namespace modelgate::policy;

constexpr std::string_view kFile = "fuzz/datasets.yaml";

bool lower_hex64(std::string_view s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  const fuzz::TextShape shape(text);
  CatalogOutcome out = parse_dataset_catalog(text, kFile);
  fuzz::check_diagnostics(shape, out.diagnostics, kFile);
  FUZZ_CHECK(out.ok() == !has_errors(out.diagnostics), "a catalog iff no error");
  if (!out.ok()) {
    return 0;
  }
  const auto& ds = out.catalog->datasets();
  FUZZ_CHECK(ds.size() <= limits::kMaxCatalogDatasets, "dataset count bound");
  std::set<std::string> digests;
  std::set<std::pair<std::string, std::string>> versions;
  for (const Dataset& d : ds) {
    fuzz::check_position(shape, d.position, kFile, "dataset");
    fuzz::check_position(shape, d.sha256.position, kFile, "dataset sha256");
    FUZZ_CHECK(lower_hex64(d.sha256.value), "sha256 is 64 lowercase hex");
    FUZZ_CHECK(out.catalog->find_by_sha256(d.sha256.value) == &d, "find_by_sha256 finds the entry");
    std::string upper = d.sha256.value;
    for (char& c : upper) {
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    FUZZ_CHECK(out.catalog->find_by_sha256(upper) == &d, "find_by_sha256 ignores case");
    FUZZ_CHECK(digests.insert(d.sha256.value).second, "digests are unique");
    FUZZ_CHECK(versions.emplace(d.name.value, d.version_id.value).second, "(name, versionId) is unique");
    FUZZ_CHECK(d.updated.value >= d.created.value, "updated is not before created");
  }
  FUZZ_CHECK(out.catalog->find_by_sha256(std::string(64, 'g')) == nullptr, "non-hex finds nothing");
  (void)parse_timestamp(text.substr(0, std::min<std::size_t>(text.size(), 40)));
  return 0;
}
