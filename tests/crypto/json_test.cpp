#include <catch2/catch.hpp>

#include "crypto/json.h"

using modelgate::Code;
namespace crypto = modelgate::crypto;

namespace {
constexpr crypto::JsonLimits kLimits{1 << 20, 16};
}

TEST_CASE("json with a duplicate key is rejected", "[json]") {
  auto r = crypto::parse_json(R"({"a":1,"b":{"c":1,"c":2}})", kLimits);
  REQUIRE_FALSE(r.ok());
  REQUIRE(r.error().code == Code::kMalformed);
  REQUIRE_THAT(r.error().message, Catch::Contains("duplicate key \"c\""));
}

TEST_CASE("json nested deeper than the limit is rejected before it can exhaust the stack", "[json]") {
  std::string deep(100000, '[');
  auto r = crypto::parse_json(deep, kLimits);
  REQUIRE_FALSE(r.ok());
  REQUIRE(r.error().code == Code::kLimit);
  std::string ok_depth = std::string(16, '[') + std::string(16, ']');
  REQUIRE(crypto::parse_json(ok_depth, kLimits).ok());
}

TEST_CASE("json larger than the size limit is rejected without parsing", "[json]") {
  auto r = crypto::parse_json(std::string(100, ' ') + "1", crypto::JsonLimits{50, 4});
  REQUIRE_FALSE(r.ok());
  REQUIRE(r.error().code == Code::kLimit);
}

TEST_CASE("truncated json reports the byte offset", "[json]") {
  auto r = crypto::parse_json(R"({"a": [1, 2)", kLimits);
  REQUIRE_FALSE(r.ok());
  REQUIRE(r.error().code == Code::kMalformed);
  REQUIRE_THAT(r.error().message, Catch::Contains("at byte"));
}

TEST_CASE("json with invalid utf-8 in a string is rejected", "[json]") {
  auto r = crypto::parse_json("{\"a\":\"\xff\"}", kLimits);
  REQUIRE_FALSE(r.ok());
  REQUIRE(r.error().code == Code::kMalformed);
}

TEST_CASE("int64 fields accept proto3 strings and integers but not fractions or plus signs", "[json]") {
  auto doc = crypto::parse_json(
      R"({"s":"598151086","n":12,"big":"9223372036854775807","f":"1.5","p":"+1","x":1.5,"o":"9223372036854775808","z":null})",
      kLimits);
  REQUIRE(doc.ok());
  REQUIRE(*crypto::get_int64(*doc, "s", "e") == 598151086);
  REQUIRE(*crypto::get_int64(*doc, "n", "e") == 12);
  REQUIRE(*crypto::get_int64(*doc, "big", "e") == INT64_MAX);
  for (const char* bad : {"f", "p", "x", "o"}) {
    auto r = crypto::get_int64(*doc, bad, "e");
    REQUIRE_FALSE(r.ok());
    REQUIRE(r.error().code == Code::kMalformed);
  }
  auto missing = crypto::get_int64(*doc, "z", "entry");
  REQUIRE_FALSE(missing.ok());
  REQUIRE(missing.error().message == "entry.z: is missing");
}

TEST_CASE("unknown fields are named in the error", "[json]") {
  auto doc = crypto::parse_json(R"({"known":1,"sneaky":2})", kLimits);
  REQUIRE(doc.ok());
  auto r = crypto::check_known_fields(*doc, {"known"}, "bundle");
  REQUIRE_FALSE(r.ok());
  REQUIRE(r.error().message == "bundle.sneaky: unknown field");
  REQUIRE(crypto::check_known_fields(*doc, {"known", "sneaky"}, "bundle").ok());
}

TEST_CASE("hostile unknown and duplicate keys are escaped in error messages", "[json]") {
  auto doc = crypto::parse_json("{\"a\\u001b[31mb\":1}", kLimits);
  REQUIRE(doc.ok());
  auto r = crypto::check_known_fields(*doc, {"known"}, "bundle");
  REQUIRE_FALSE(r.ok());
  REQUIRE(r.error().message == "bundle.\"a\\x1b[31mb\": unknown field");
  auto dup = crypto::parse_json("{\"\xc3\xa9\":1,\"\xc3\xa9\":2}", kLimits);
  REQUIRE_FALSE(dup.ok());
  REQUIRE_THAT(dup.error().message, Catch::Contains("duplicate key \"\\xc3\\xa9\""));
}
