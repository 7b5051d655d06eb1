// fuzz-max-len: 8192
// model_walk_fuzz.cpp: the path rules every signed name, ignore path and --ignore-paths argument
// goes through. Properties: check_model_relative_name and check_model_relative_path accept exactly
// the same strings, and what they accept is relative, clean (no empty, "." or ".." component),
// printable UTF-8 without a backslash, within kMaxPathBytes / kMaxNameBytes; quote_file_name and
// quote_for_message output is quoted, printable, bounded and escapes every byte it cannot show;
// resolve_ignore_path (against a model root that does not exist) only yields safe relative paths.
#include <cstdint>
#include <string>

#include "base/limits.h"
#include "crypto/model_signature.h"
#include "crypto/model_walk.h"
#include "fuzz/fuzz_check.h"

namespace {

using namespace modelgate;
using namespace modelgate::crypto;

bool clean_components(std::string_view p) {
  std::size_t begin = 0;
  while (true) {
    std::size_t slash = p.find('/', begin);
    std::string_view c = p.substr(begin, slash == std::string_view::npos ? std::string_view::npos : slash - begin);
    if (c.empty() || c == "." || c == ".." || c.size() > limits::kMaxNameBytes) {
      return false;
    }
    if (slash == std::string_view::npos) {
      return true;
    }
    begin = slash + 1;
  }
}

// check_quoted: "..." with no raw control byte, and bounded.
void check_quoted(const std::string& q, std::string_view what) {
  FUZZ_CHECK(q.size() >= 2 && q.front() == '"' && q.back() == '"', std::string(what) + " is quoted");
  // 120 bytes of the name are shown; a shown byte costs at most 2 (\\, \") and the last one up to 8.
  FUZZ_CHECK(q.size() <= 2 + 2 * 120 + 8 + 3, std::string(what) + " is bounded: " + std::to_string(q.size()));
  FUZZ_CHECK(is_printable_utf8(q), std::string(what) + " is printable UTF-8");
  for (std::size_t i = 1; i + 1 < q.size(); ++i) {
    if (q[i] == '\\') {
      FUZZ_CHECK(i + 2 < q.size(), std::string(what) + ": a backslash escapes something");
      ++i;  // the escaped character
    } else {
      FUZZ_CHECK(q[i] != '"', std::string(what) + ": an inner quote is escaped");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view s = fuzz::as_text(data, size);

  auto name = check_model_relative_name(s);
  auto path = check_model_relative_path(s);
  fuzz::check_not_internal(name, "check_model_relative_name");
  fuzz::check_not_internal(path, "check_model_relative_path");
  FUZZ_CHECK(name.ok() == path.ok(), "the walk and the verifier agree on " + quote_file_name(s));
  if (name.ok()) {
    FUZZ_CHECK(!s.empty() && s.front() != '/', "relative");
    FUZZ_CHECK(s.size() <= limits::kMaxPathBytes, "path bound");
    FUZZ_CHECK(clean_components(s), "clean components");
    FUZZ_CHECK(is_printable_utf8(s) && s.find('\\') == std::string_view::npos, "printable, no backslash");
  }
  if (!is_printable_utf8(s)) {
    FUZZ_CHECK(!name.ok(), "unprintable names are refused");
  }

  check_quoted(quote_file_name(s), "quote_file_name");
  check_quoted(quote_for_message(s), "quote_for_message");
  if (is_printable_utf8(s) && s.size() <= 100 && s.find_first_of("\"\\") == std::string_view::npos) {
    FUZZ_CHECK(quote_file_name(s) == "\"" + std::string(s) + "\"", "a short plain name is shown as is");
  }

  if (s.find('\0') == std::string_view::npos) {
    auto r = resolve_ignore_path("/nonexistent-modelgate-fuzz/model", "/nonexistent-modelgate-fuzz", s);
    fuzz::check_not_internal(r, "resolve_ignore_path");
    if (r.ok() && r->has_value()) {
      FUZZ_CHECK(check_model_relative_path(**r).ok(), "a resolved ignore path is safe: " + quote_file_name(**r));
    }
  }
  (void)model_name_of(std::filesystem::path(std::string(s.substr(0, std::min<std::size_t>(s.size(), 512)))));
  return 0;
}
