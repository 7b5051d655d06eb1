// sct_test.cpp: embedded SCTs of real Fulcio leaves, against openssl's rendering and the CT logs of
// the production root, each failure on its own.
#include "crypto/sct.h"

#include <catch2/catch.hpp>

#include "crypto/encoding.h"
#include "crypto/sigstore_fixtures.h"
#include "test_support.h"

namespace {

using namespace modelgate;
using namespace modelgate::crypto;
using namespace modelgate::testing;
using namespace modelgate::testing::sigstore;

Certificate happy_leaf() {
  Json j = case_json("happy-path-v0.1");
  auto c = Certificate::from_der(b64(j["verificationMaterial"]["x509CertificateChain"]["certificates"][0]["rawBytes"]));
  REQUIRE(c.ok());
  return *c;
}

// The Fulcio intermediate that issued the 2023 leaves: production CA #2, first certificate.
Certificate fulcio_intermediate() {
  return default_trusted_root().certificate_authorities[1].chain.front();
}

}  // namespace

TEST_CASE("the embedded SCT list parses to what openssl prints", "[sigstore][sct]") {
  Certificate leaf = happy_leaf();
  auto scts = parse_embedded_scts(leaf);
  REQUIRE(scts.ok());
  REQUIRE(scts->size() == 1);
  const EmbeddedSct& s = scts->front();
  CHECK(s.version == 0);
  CHECK(to_hex(s.log_id) == "dd3d306ac6c7113263191e1c99673702a24a5eb8de3cadff878a72802f29ee8e");
  CHECK(s.timestamp_ms % 1000 == 979);  // "Jul 12 15:56:35.979 2023 GMT"
  CHECK(format_time(static_cast<std::int64_t>(s.timestamp_ms / 1000)) == "2023-07-12T15:56:35Z");
  CHECK(s.extensions.empty());
  CHECK(s.hash_algorithm == 4);
  CHECK(s.signature_algorithm == 3);
  CHECK(to_hex(s.signature).rfind("30450220420388d940fe02c0", 0) == 0);
}

TEST_CASE("the SCT of a production Fulcio leaf verifies against the production CT log", "[sigstore][sct]") {
  auto n = verify_embedded_scts(happy_leaf(), fulcio_intermediate(), default_trusted_root());
  REQUIRE(n.ok());
  CHECK(*n == 1);
}

TEST_CASE("an SCT checked with the wrong issuer key hash does not verify", "[sigstore][sct]") {
  Certificate wrong_issuer = default_trusted_root().certificate_authorities[1].chain.back();
  auto r = verify_embedded_scts(happy_leaf(), wrong_issuer, default_trusted_root());
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Code::kUntrusted);
  CHECK(r.error().message == "no valid SCT from a trusted CT log (SCT 1: signature does not verify)");
}

TEST_CASE("an SCT from a log missing in the root does not count", "[sigstore][sct]") {
  Json j = public_good_json();
  j["ctlogs"] = Json::array();
  auto r = verify_embedded_scts(happy_leaf(), fulcio_intermediate(), root_or_throw(j));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Code::kUntrusted);
  CHECK(r.error().message ==
        "no valid SCT from a trusted CT log (SCT 1: log 3T0wasbHETJjGR4cmWc3AqJKXrjePK3/h4pygC8p7o4= is not a trusted "
        "CT log)");
}

TEST_CASE("an SCT outside its CT log key's validity does not count", "[sigstore][sct]") {
  Json j = public_good_json();
  for (auto& c : j["ctlogs"]) {
    c["publicKey"]["validFor"]["end"] = "2023-07-12T15:56:35.978Z";  // 1 ms before the SCT
  }
  auto r = verify_embedded_scts(happy_leaf(), fulcio_intermediate(), root_or_throw(j));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("timestamp is outside the CT log key's validity") != std::string::npos);
  for (auto& c : j["ctlogs"]) {
    c["publicKey"]["validFor"]["end"] = "2023-07-12T15:56:35.979Z";  // closed interval
  }
  CHECK(verify_embedded_scts(happy_leaf(), fulcio_intermediate(), root_or_throw(j)).ok());
}

TEST_CASE("an SCT under a log ID whose key is someone else's does not verify", "[sigstore][sct]") {
  Json j = public_good_json();
  std::swap(j["ctlogs"][0]["publicKey"]["rawBytes"], j["ctlogs"][1]["publicKey"]["rawBytes"]);
  auto r = verify_embedded_scts(happy_leaf(), fulcio_intermediate(), root_or_throw(j));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Code::kUntrusted);
}

TEST_CASE("a certificate without SCTs is reported as such", "[sigstore][sct]") {
  auto certs =
      load_certificates_file(vectors_dir() / "model_signing/scripts/tests/keys/certificate/signing-key-cert.pem");
  REQUIRE(certs.ok());
  auto r = verify_embedded_scts(certs->front(), certs->front(), default_trusted_root());
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Code::kNotFound);
}

TEST_CASE("leaves of staging and mock instances carry SCTs that verify with their own roots", "[sigstore][sct]") {
  // Every keyless conformance bundle with a custom root: its leaf's SCTs verify with that root.
  for (std::string name : {"rekor2-happy-path", "intoto-tsa-timestamp-outside-cert-validity_fail"}) {
    INFO(name);
    TrustedRoot root = root_or_throw(case_root_json(name));
    Bundle b = case_bundle(name);
    auto leaf = Certificate::from_der(b.certificates_der.front());
    REQUIRE(leaf.ok());
    bool verified = false;
    for (const auto& ca : root.certificate_authorities) {
      verified = verified || verify_embedded_scts(*leaf, ca.chain.front(), root).ok();
    }
    CHECK(verified);
  }
}
