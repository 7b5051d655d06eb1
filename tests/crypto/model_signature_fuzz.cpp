// fuzz-dict: json.dict
// fuzz-max-len: 65536
// model_signature_fuzz.cpp: parse_signed_model on arbitrary DSSE payloads, then manifest comparison.
// Properties: never kInternal; parse_signed_model and signed_model_from_statement(parse_statement)
// agree; a model that parses is within kMaxResources, its root digest is the root over its
// resources in payload order, its names are safe model-relative paths, its algorithms are what
// manifest.h writes; compare_manifest of it with itself (in canonical order) is empty; one changed
// digest is exactly one mismatch and one dropped resource exactly one missing and one extra the
// other way, each described in words.
#include <algorithm>
#include <cstdint>
#include <string>

#include "base/limits.h"
#include "crypto/manifest.h"
#include "crypto/model_signature.h"
#include "crypto/statement.h"
#include "fuzz/fuzz_check.h"

namespace {

using namespace modelgate;
using namespace modelgate::crypto;

// path_of strips ":<start>:<end>" from a shard name.
std::string_view path_of(std::string_view name, bool shards) {
  if (!shards) {
    return name;
  }
  auto end = name.rfind(':');
  FUZZ_CHECK(end != std::string_view::npos, "a shard name has ':<end>'");
  auto start = name.rfind(':', end - 1);
  FUZZ_CHECK(end > 0 && start != std::string_view::npos, "a shard name has ':<start>'");
  return name.substr(0, start);
}

void check_model(const SignedModel& m) {
  const bool shards = m.serialization.method == SerializationMethod::kShards;
  FUZZ_CHECK(!m.resources.empty() && m.resources.size() <= limits::kMaxResources, "resource bound");
  FUZZ_CHECK(m.serialization.shard_size > 0, "shard size > 0");
  FUZZ_CHECK(m.serialization.ignore_paths.size() <= limits::kMaxIgnorePaths, "ignore paths bound");
  FUZZ_CHECK(std::is_sorted(m.serialization.ignore_paths.begin(), m.serialization.ignore_paths.end()),
             "ignore paths sorted");
  for (const auto& p : m.serialization.ignore_paths) {
    FUZZ_CHECK(check_model_relative_path(p).ok(), "ignore path is safe: " + quote_for_message(p));
  }
  const std::string algorithm = resource_algorithm(m.serialization);
  const std::size_t digest_size = hash_digest_size(m.serialization.hash_type);
  for (const auto& r : m.resources) {
    FUZZ_CHECK(r.algorithm == algorithm, "algorithm normalised: " + quote_for_message(r.algorithm));
    FUZZ_CHECK(r.digest.size() == digest_size, "digest length");
    std::string_view path = path_of(r.name, shards);
    const bool lone_dot = path == "." && m.resources.size() >= 1;
    FUZZ_CHECK(lone_dot || check_model_relative_path(path).ok(), "resource name is safe: " + quote_for_message(r.name));
  }
  FUZZ_CHECK(root_digest_of(m.resources) == m.root_digest, "root digest is the root over the resources");
}

void check_compare(const SignedModel& m) {
  Manifest local;
  local.config = m.serialization;
  local.model_name = m.model_name.empty() ? std::string("model") : m.model_name;
  local.resources = m.resources;
  std::sort(local.resources.begin(), local.resources.end(),
            [&](const Resource& a, const Resource& b) { return canonical_less(a, b, m.serialization.method); });
  ManifestDiff same = compare_manifest(m, local);
  FUZZ_CHECK(same.empty(), "a model equals itself: " + same.describe());

  Manifest changed = local;
  changed.resources.front().digest.front() ^= 0x01;
  ManifestDiff one = compare_manifest(m, changed);
  FUZZ_CHECK(one.mismatched.size() == 1 && one.missing.empty() && one.extra.empty(), "one changed digest");
  FUZZ_CHECK(one.mismatched.front().name == changed.resources.front().name ||
                 changed.resources.front().name == "." || changed.resources.front().name.starts_with(".:"),
             "the mismatch names the changed resource");
  FUZZ_CHECK(!one.describe().empty(), "a difference is described");

  Manifest dropped = local;
  dropped.resources.pop_back();
  ManifestDiff gone = compare_manifest(m, dropped);
  FUZZ_CHECK(gone.missing.size() == 1 && gone.extra.empty() && gone.mismatched.empty(), "one dropped resource");
  FUZZ_CHECK(gone.describe().find("missing") != std::string::npos, "missing is described");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto payload = fuzz::as_bytes(data, size);
  auto m = parse_signed_model(payload);
  fuzz::check_not_internal(m, "parse_signed_model");

  auto st = parse_statement(payload);
  fuzz::check_not_internal(st, "parse_statement");
  if (st.ok()) {
    auto m2 = signed_model_from_statement(*st);
    fuzz::check_not_internal(m2, "signed_model_from_statement");
    FUZZ_CHECK(m2.ok() == m.ok(), "both entry points agree");
    if (m.ok()) {
      FUZZ_CHECK(m2->resources == m->resources && m2->root_digest == m->root_digest, "same model");
    }
  } else {
    FUZZ_CHECK(!m.ok(), "no statement, no model");
  }
  if (!m.ok()) {
    return 0;
  }
  check_model(*m);
  check_compare(*m);
  return 0;
}
