// fuzz-dict: json.dict
// fuzz-max-len: 65536
// statement_fuzz.cpp: parse_statement on arbitrary bytes (a DSSE payload). Properties: never
// kInternal; a statement that parses has a known _type, 1..kMaxStatementSubjects subjects with
// at most kMaxSubjectDigests digests each, and parses the same after re-serialisation.
#include <cstdint>
#include <string>

#include "base/limits.h"
#include "crypto/json.h"
#include "crypto/statement.h"
#include "fuzz/fuzz_check.h"

namespace {

using namespace modelgate;
using namespace modelgate::crypto;

bool same(const Statement& a, const Statement& b) {
  if (a.type != b.type || a.predicate_type != b.predicate_type || a.predicate != b.predicate ||
      a.subjects.size() != b.subjects.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.subjects.size(); ++i) {
    if (a.subjects[i].name != b.subjects[i].name || a.subjects[i].digest != b.subjects[i].digest) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto st = parse_statement(fuzz::as_bytes(data, size));
  fuzz::check_not_internal(st, "parse_statement");
  if (!st.ok()) {
    return 0;
  }
  FUZZ_CHECK(st->type == kStatementTypeV1 || st->type == kStatementTypeV01, "known _type");
  FUZZ_CHECK(!st->subjects.empty() && st->subjects.size() <= limits::kMaxStatementSubjects, "subject bound");
  for (const auto& s : st->subjects) {
    FUZZ_CHECK(s.digest.size() <= limits::kMaxSubjectDigests, "digests per subject bound");
  }
  auto doc = parse_json(fuzz::as_text(data, size), {limits::kMaxDssePayloadBytes, limits::kMaxJsonDepth});
  FUZZ_CHECK(doc.ok(), "a statement is JSON");
  const std::string again_text = doc->dump();
  auto again = parse_statement(
      std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(again_text.data()), again_text.size()));
  FUZZ_CHECK(again.ok(), "re-serialised statement parses: " + (again.ok() ? std::string() : again.error().message));
  FUZZ_CHECK(same(*st, *again), "re-serialised statement is the same statement");
  return 0;
}
