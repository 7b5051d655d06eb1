#include <catch2/catch.hpp>

#include "base/result.h"

using modelgate::Code;
using modelgate::Error;
using modelgate::Result;

namespace {

Result<int> parse_positive(int v) {
  if (v <= 0) {
    return modelgate::make_error(Code::kMalformed, "not positive: " + std::to_string(v));
  }
  return v;
}

Result<int> doubled(int v) {
  MG_ASSIGN_OR_RETURN_CTX(int x, parse_positive(v), "doubled");
  return 2 * x;
}

Result<void> check(int v) {
  MG_TRY_CTX(doubled(v), "check");
  return modelgate::ok_status();
}

}  // namespace

TEST_CASE("errors gain context outermost first as they travel up", "[result]") {
  auto r = check(-1);
  REQUIRE_FALSE(r.ok());
  REQUIRE(r.error().code == Code::kMalformed);
  REQUIRE(r.error().message == "check: doubled: not positive: -1");
}

TEST_CASE("values pass through the macros unchanged", "[result]") {
  REQUIRE(*doubled(21) == 42);
  REQUIRE(check(1).ok());
}

TEST_CASE("code names are stable snake_case tokens", "[result]") {
  REQUIRE(modelgate::code_name(Code::kBadSignature) == "bad_signature");
  REQUIRE(modelgate::code_name(Code::kNotFound) == "not_found");
  REQUIRE(modelgate::code_name(Code::kUntrusted) == "untrusted");
}
