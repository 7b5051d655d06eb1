// dsse_test.cpp: DSSE envelopes and the PAE, against the DSSE v1 specification's own example.
#include "crypto/dsse.h"

#include <catch2/catch.hpp>

#include "crypto/encoding.h"
#include "crypto/sigstore_fixtures.h"

namespace {

using namespace modelgate;
using namespace modelgate::crypto;
using namespace modelgate::testing::sigstore;

Json envelope(Json sigs) {
  return Json{{"payload", base64_encode(as_bytes("hello world"))},
              {"payloadType", "http://example.com/HelloWorld"},
              {"signatures", std::move(sigs)}};
}

}  // namespace

TEST_CASE("PAE matches the DSSE v1 specification example byte for byte", "[sigstore][dsse]") {
  // secure-systems-lab/dsse protocol.md: PAE("http://example.com/HelloWorld", "hello world").
  auto pae = dsse_pae("http://example.com/HelloWorld", as_bytes("hello world"));
  std::string got(pae.begin(), pae.end());
  CHECK(got == "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
  // Lengths are byte counts, not characters.
  auto utf8 = dsse_pae("t", as_bytes("\xC3\xA9"));
  CHECK(std::string(utf8.begin(), utf8.end()) == "DSSEv1 1 t 2 \xC3\xA9");
  auto empty = dsse_pae("t", {});
  CHECK(std::string(empty.begin(), empty.end()) == "DSSEv1 1 t 0 ");
}

TEST_CASE("keyid may be empty, null or absent", "[sigstore][dsse]") {
  Json sigs = Json::array(
      {Json{{"sig", "AQID"}, {"keyid", ""}}, Json{{"sig", "AQID"}, {"keyid", nullptr}}, Json{{"sig", "AQID"}}});
  auto env = parse_dsse_envelope(envelope(sigs), "env");
  REQUIRE(env.ok());
  REQUIRE(env->signatures.size() == 3);
  CHECK(env->signatures[0].keyid == std::optional<std::string>(""));
  CHECK_FALSE(env->signatures[1].keyid.has_value());
  CHECK_FALSE(env->signatures[2].keyid.has_value());
  CHECK(env->signatures[0].sig == std::vector<std::uint8_t>{1, 2, 3});
  CHECK(std::string(env->payload.begin(), env->payload.end()) == "hello world");
}

TEST_CASE("DSSE envelopes are parsed strictly", "[sigstore][dsse]") {
  struct Case {
    Json doc;
    Code code;
    std::string message;
  };
  Json unknown = envelope(Json::array({Json{{"sig", "AQID"}}}));
  unknown["extra"] = true;
  Json no_sigs = envelope(Json::array());
  Json bad_b64 = envelope(Json::array({Json{{"sig", "A!ID"}}}));
  Json empty_sig = envelope(Json::array({Json{{"sig", ""}}}));
  Json no_type = envelope(Json::array({Json{{"sig", "AQID"}}}));
  no_type.erase("payloadType");
  Json many = envelope(Json::array());
  for (int i = 0; i < 17; ++i) {
    many["signatures"].push_back(Json{{"sig", "AQID"}});
  }
  Case cases[] = {
      {unknown, Code::kMalformed, "env.extra: unknown field"},
      {no_sigs, Code::kMalformed, "env.signatures: is empty"},
      {bad_b64, Code::kMalformed, "env.signatures[0].sig: "},
      {empty_sig, Code::kMalformed, "env.signatures[0].sig: is empty"},
      {no_type, Code::kMalformed, "env.payloadType: is missing"},
      {many, Code::kLimit, "env.signatures: too many signatures (17 > 16)"},
  };
  for (const auto& c : cases) {
    auto r = parse_dsse_envelope(c.doc, "env");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == c.code);
    CHECK(r.error().message.rfind(c.message, 0) == 0);
  }
}

TEST_CASE("an envelope written to JSON reads back identically", "[sigstore][dsse]") {
  DsseEnvelope env{"application/vnd.in-toto+json", {0, 1, 2, 250}, {{{9, 8, 7}, std::string("")}, {{1}, std::nullopt}}};
  Json j = dsse_envelope_to_json(env);
  CHECK(j["payload"] == "AAEC+g==");
  CHECK_FALSE(j["signatures"][1].contains("keyid"));
  auto back = parse_dsse_envelope(j, "env");
  REQUIRE(back.ok());
  CHECK(back->payload == env.payload);
  CHECK(back->payload_type == env.payload_type);
  CHECK(back->signatures[0].sig == env.signatures[0].sig);
  CHECK(back->signatures[0].keyid == env.signatures[0].keyid);
  CHECK_FALSE(back->signatures[1].keyid.has_value());
}
