// approval.h: modelgate's approval predicate (https://modelgate.dev/approval/v1): one reviewer's
// signed decision about one model root digest — BAB's second pair of eyes. Not verification (the
// envelope is attestation.h's) and not counting approvals (policy/evaluate.h does that).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "crypto/json.h"

namespace modelgate::crypto {

inline constexpr std::string_view kApprovalPredicateV1 = "https://modelgate.dev/approval/v1";

enum class ApprovalDecision { kApproved, kRejected };

// Approval: {"reviewer": "...", "decision": "approved"|"rejected", "timestamp": RFC 3339,
// "comment": "..."?}. `reviewer` is what the reviewer calls themselves (shown in messages); the
// identity that counts is the verified signer of the envelope, never this field.
struct Approval {
  std::string reviewer;
  ApprovalDecision decision = ApprovalDecision::kApproved;
  std::int64_t timestamp = 0;  // unix seconds
  std::string comment;
};

// parse_approval reads the predicate. Strict: unknown fields, a missing/empty reviewer (or one
// with control characters, or over 256 bytes: it is shown verbatim in denials), another
// decision word or a bad timestamp are kMalformed; strings are capped at 4 KiB (kLimit).
[[nodiscard]] Result<Approval> parse_approval(const Json& predicate);

// approval_predicate renders `a` as the predicate JSON. Pure.
Json approval_predicate(const Approval& a);

}  // namespace modelgate::crypto
