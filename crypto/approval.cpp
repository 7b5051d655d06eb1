#include "crypto/approval.h"

#include "crypto/model_walk.h"
#include "crypto/x509.h"

namespace modelgate::crypto {

namespace {

constexpr std::size_t kMaxApprovalStringBytes = 4096;

Result<std::string> bounded_string(const Json& obj, std::string_view key) {
  MG_ASSIGN_OR_RETURN(std::string s, get_string(obj, key, "predicate"));
  if (s.size() > kMaxApprovalStringBytes) {
    return make_error(Code::kLimit, "predicate." + std::string(key) + ": longer than " +
                                        std::to_string(kMaxApprovalStringBytes) + " bytes");
  }
  return s;
}

}  // namespace

Result<Approval> parse_approval(const Json& predicate) {
  if (!predicate.is_object()) {
    return make_error(Code::kMalformed, "predicate: expected an object");
  }
  MG_TRY(check_known_fields(predicate, {"reviewer", "decision", "timestamp", "comment"}, "predicate"));
  Approval a;
  MG_ASSIGN_OR_RETURN(a.reviewer, bounded_string(predicate, "reviewer"));
  if (a.reviewer.empty()) {
    return make_error(Code::kMalformed, "predicate.reviewer: must not be empty");
  }
  if (a.reviewer.size() > 256 || !is_printable_utf8(a.reviewer)) {
    // Shown verbatim in denials: no control characters (a newline would forge a message line).
    return make_error(Code::kMalformed, "predicate.reviewer: must be printable UTF-8 of at most 256 bytes");
  }
  Result<std::string> decision_r = bounded_string(predicate, "decision");
  if (!decision_r.ok()) {
    return std::move(decision_r).error();
  }
  // (Not MG_ASSIGN_OR_RETURN: GCC 12 reports a false maybe-uninitialized on the moved string.)
  const std::string& decision = decision_r.value();
  if (decision == "approved") {
    a.decision = ApprovalDecision::kApproved;
  } else if (decision == "rejected") {
    a.decision = ApprovalDecision::kRejected;
  } else {
    return make_error(Code::kMalformed, "predicate.decision: expected \"approved\" or \"rejected\"");
  }
  MG_ASSIGN_OR_RETURN(std::string ts, bounded_string(predicate, "timestamp"));
  MG_ASSIGN_OR_RETURN_CTX(std::int64_t ms, parse_rfc3339_ms(ts), "predicate.timestamp");
  a.timestamp = ms / 1000;
  if (find_field(predicate, "comment") != nullptr) {
    MG_ASSIGN_OR_RETURN(a.comment, bounded_string(predicate, "comment"));
  }
  return a;
}

Json approval_predicate(const Approval& a) {
  Json j = {{"reviewer", a.reviewer},
            {"decision", a.decision == ApprovalDecision::kApproved ? "approved" : "rejected"},
            {"timestamp", format_time(a.timestamp)}};
  if (!a.comment.empty()) {
    j["comment"] = a.comment;
  }
  return j;
}

}  // namespace modelgate::crypto
