#include "crypto/statement.h"

#include "base/limits.h"
#include "crypto/quote.h"

namespace modelgate::crypto {

Result<Statement> parse_statement(std::span<const std::uint8_t> payload) {
  std::string_view text(reinterpret_cast<const char*>(payload.data()), payload.size());
  MG_ASSIGN_OR_RETURN_CTX(Json doc, parse_json(text, {limits::kMaxDssePayloadBytes, limits::kMaxJsonDepth}),
                          "statement");
  if (!doc.is_object()) {
    return make_error(Code::kMalformed, "statement: expected a JSON object");
  }
  Statement st;
  MG_ASSIGN_OR_RETURN(st.type, get_string(doc, "_type", "statement"));
  if (st.type != kStatementTypeV1 && st.type != kStatementTypeV01) {
    return make_error(Code::kUnsupported, "statement._type: unsupported statement type " + quote_untrusted(st.type));
  }
  MG_ASSIGN_OR_RETURN(const Json* subjects, get_array(doc, "subject", "statement"));
  if (subjects->empty()) {
    return make_error(Code::kMalformed, "statement.subject: is empty");
  }
  if (subjects->size() > limits::kMaxStatementSubjects) {
    return make_error(Code::kLimit, "statement.subject: too many subjects (" + std::to_string(subjects->size()) +
                                        " > " + std::to_string(limits::kMaxStatementSubjects) + ")");
  }
  for (std::size_t i = 0; i < subjects->size(); ++i) {
    std::string sp = "statement.subject[" + std::to_string(i) + "]";
    const Json& s = (*subjects)[i];
    if (!s.is_object()) {
      return make_error(Code::kMalformed, sp + ": expected an object");
    }
    StatementSubject sub;
    // in-toto v1: name is optional when the digest identifies the subject.
    if (find_field(s, "name") != nullptr) {
      MG_ASSIGN_OR_RETURN(sub.name, get_string(s, "name", sp));
    }
    MG_ASSIGN_OR_RETURN(const Json* digest, get_object(s, "digest", sp));
    if (digest->size() > limits::kMaxSubjectDigests) {
      return make_error(Code::kLimit, sp + ".digest: too many digests (" + std::to_string(digest->size()) + " > " +
                                          std::to_string(limits::kMaxSubjectDigests) + ")");
    }
    for (auto it = digest->begin(); it != digest->end(); ++it) {
      if (!it->is_string()) {
        return make_error(Code::kMalformed, sp + ".digest." + quote_untrusted(it.key(), 64) + ": expected a string");
      }
      sub.digest.emplace(it.key(), it->get<std::string>());
    }
    st.subjects.push_back(std::move(sub));
  }
  MG_ASSIGN_OR_RETURN(st.predicate_type, get_string(doc, "predicateType", "statement"));
  if (const Json* pred = find_field(doc, "predicate")) {
    st.predicate = *pred;
  }
  return st;
}

}  // namespace modelgate::crypto
