// statement.h: in-toto attestation Statements (v1 and v0.1) decoded from a DSSE payload.
// Not a predicate parser: the predicate stays JSON for its own module (model_signing, SLSA).
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "crypto/json.h"

namespace modelgate::crypto {

inline constexpr std::string_view kInTotoPayloadType = "application/vnd.in-toto+json";
inline constexpr std::string_view kStatementTypeV1 = "https://in-toto.io/Statement/v1";
inline constexpr std::string_view kStatementTypeV01 = "https://in-toto.io/Statement/v0.1";

struct StatementSubject {
  std::string name;
  std::map<std::string, std::string> digest;  // algorithm ("sha256") → hex, as written
};

struct Statement {
  std::string type;  // kStatementTypeV1 or kStatementTypeV01
  std::vector<StatementSubject> subjects;
  std::string predicate_type;
  Json predicate;  // null when absent
};

// parse_statement parses `payload` (JSON, ≤ limits::kMaxDssePayloadBytes) as an in-toto Statement:
// `_type` must be v1 or v0.1, `subject` a non-empty list (≤ limits::kMaxStatementSubjects) of
// {name, digest{alg: string}} (≤ limits::kMaxSubjectDigests each), `predicateType` a string.
// Unknown top-level fields are ignored (in-toto allows extension). Errors: kMalformed,
// kUnsupported (other _type), kLimit. Thread-safe.
[[nodiscard]] Result<Statement> parse_statement(std::span<const std::uint8_t> payload);

}  // namespace modelgate::crypto
