// statement_test.cpp: in-toto statements as found in DSSE payloads of the conformance bundles.
#include "crypto/statement.h"

#include <catch2/catch.hpp>

#include "crypto/sigstore_fixtures.h"

namespace {

using namespace modelgate;
using namespace modelgate::crypto;
using namespace modelgate::testing::sigstore;

Result<Statement> parse(const Json& j) {
  std::string s = j.dump();
  return parse_statement(as_bytes(s));
}

Json minimal() {
  return Json{{"_type", "https://in-toto.io/Statement/v1"},
              {"subject", Json::array({Json{{"name", "a.txt"}, {"digest", Json{{"sha256", "ab"}}}}})},
              {"predicateType", "https://example.com/p"}};
}

}  // namespace

TEST_CASE("the statement in happy-path-intoto-in-dsse-v3 names a.txt by its sha256", "[sigstore][statement]") {
  Json j = case_json("happy-path-intoto-in-dsse-v3");
  auto payload = b64(j["dsseEnvelope"]["payload"]);
  auto st = parse_statement(payload);
  REQUIRE(st.ok());
  CHECK(st->type == kStatementTypeV1);
  REQUIRE_FALSE(st->subjects.empty());
  bool found = false;
  for (const auto& s : st->subjects) {
    auto it = s.digest.find("sha256");
    found = found || (it != s.digest.end() && it->second == sha256sum_hex(conformance_dir() / "cases/a.txt"));
  }
  CHECK(found);
}

TEST_CASE("subjects may carry annotations (legacy model_signing Digests/v0.1)", "[sigstore][statement]") {
  Json j = minimal();
  j["subject"][0]["annotations"] = Json{{"actual_hash_algorithm", "file-sha256"}};
  auto st = parse(j);
  REQUIRE(st.ok());
  CHECK(st->subjects[0].digest.at("sha256") == "ab");
}

TEST_CASE("statement v0.1 is accepted and other types are unsupported", "[sigstore][statement]") {
  Json j = minimal();
  j["_type"] = "https://in-toto.io/Statement/v0.1";
  CHECK(parse(j).ok());
  j["_type"] = "https://in-toto.io/Statement/v2";
  auto r = parse(j);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Code::kUnsupported);
}

TEST_CASE("statements with missing or malformed subjects are rejected", "[sigstore][statement]") {
  Json empty = minimal();
  empty["subject"] = Json::array();
  CHECK(parse(empty).error().message == "statement.subject: is empty");
  Json bad_digest = minimal();
  bad_digest["subject"][0]["digest"]["sha256"] = 5;
  CHECK(parse(bad_digest).error().code == Code::kMalformed);
  Json no_pt = minimal();
  no_pt.erase("predicateType");
  CHECK(parse(no_pt).error().message == "statement.predicateType: is missing");
  // One subject per file (legacy model_signing): thousands are fine; the payload size is the bound.
  Json many = minimal();
  for (int i = 0; i < 5000; ++i) {
    many["subject"].push_back(many["subject"][0]);
  }
  CHECK(parse(many).ok());
  std::string huge = minimal().dump();
  huge.append((48u << 20) + 1 - huge.size(), ' ');
  auto r = parse_statement(as_bytes(huge));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Code::kLimit);
  auto not_json = parse_statement(as_bytes("{"));
  REQUIRE_FALSE(not_json.ok());
  CHECK(not_json.error().code == Code::kMalformed);
}
