// approval_test.cpp: the approval predicate's shape rules, and that what approval_predicate writes
// parse_approval reads back unchanged.
#include <catch2/catch.hpp>

#include "crypto/approval.h"

using namespace modelgate;
using namespace modelgate::crypto;

TEST_CASE("an approval round-trips through its predicate JSON", "[crypto][approval]") {
  Approval a{"alice@acme.com", ApprovalDecision::kRejected, 1'790'000'000, "needs eval"};
  auto back = parse_approval(approval_predicate(a));
  REQUIRE(back.ok());
  CHECK(back->reviewer == a.reviewer);
  CHECK(back->decision == ApprovalDecision::kRejected);
  CHECK(back->timestamp == a.timestamp);
  CHECK(back->comment == a.comment);
}

TEST_CASE("an approval with an unknown field, another decision word or a newline in the reviewer is malformed",
          "[crypto][approval]") {
  Json base = approval_predicate({"alice", ApprovalDecision::kApproved, 1'790'000'000, ""});
  Json extra = base;
  extra["approvedBy"] = "x";
  CHECK(parse_approval(extra).error().code == Code::kMalformed);
  Json word = base;
  word["decision"] = "lgtm";
  CHECK(parse_approval(word).error().code == Code::kMalformed);
  Json forged = base;
  forged["reviewer"] = "alice\n  - signature: ok";
  auto r = parse_approval(forged);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "predicate.reviewer: must be printable UTF-8 of at most 256 bytes");
  Json time = base;
  time["timestamp"] = "yesterday";
  CHECK(parse_approval(time).error().code == Code::kMalformed);
}
