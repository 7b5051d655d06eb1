// trusted_root_test.cpp: trusted roots (the embedded production root, staging, and one-field edits).
#include "crypto/trusted_root.h"

#include <catch2/catch.hpp>

#include "crypto/sigstore_fixtures.h"
#include "crypto/tlog.h"
#include "test_support.h"

namespace {

using namespace modelgate;
using namespace modelgate::crypto;
using namespace modelgate::testing;
using namespace modelgate::testing::sigstore;

Error root_error(const Json& j) {
  auto r = parse_trusted_root(j.dump());
  REQUIRE_FALSE(r.ok());
  return r.error();
}

// spki_sha256 hashes an SPKI with sha256sum (the RFC 6962 log ID), via a file.
std::string spki_sha256(const TempDir& dir, const std::vector<std::uint8_t>& spki) {
  write_file(dir / "spki.der", std::string(spki.begin(), spki.end()));
  return sha256sum_hex(dir / "spki.der");
}

}  // namespace

TEST_CASE("the embedded default root is the production root shipped in crypto/data", "[sigstore][trusted_root]") {
  const TrustedRoot& root = default_trusted_root();
  CHECK(&root == &default_trusted_root());  // parsed once
  // The embedded copy is byte-for-byte the vectors' production root.
  CHECK(read_file(fs::path(MODELGATE_SOURCE_DIR) / "crypto/data/trusted_root_public_good.json") ==
        read_file(conformance_dir() / "trusted_root_public_good.json"));
  REQUIRE(root.tlogs.size() == 2);
  CHECK(root.tlogs[0].base_url == "https://rekor.sigstore.dev");
  CHECK(root.tlogs[0].host() == "rekor.sigstore.dev");
  CHECK(base64_encode(root.tlogs[0].log_id) == "wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0=");
  CHECK(root.tlogs[1].host() == "log2025-1.rekor.sigstore.dev");
  CHECK(root.tlogs[1].key->type() == KeyType::kEd25519);
  CHECK(root.certificate_authorities.size() == 2);
  CHECK(root.ctlogs.size() == 2);
  REQUIRE(root.timestamp_authorities.size() == 1);
  CHECK(root.timestamp_authorities[0].chain.size() == 2);
  // Fulcio CA #1 ends 2022-12-31T23:59:59.999Z, inclusive.
  const ValidityPeriod& v = root.certificate_authorities[0].valid_for;
  REQUIRE(v.end_ms.has_value());
  CHECK(v.contains(1672531199));
  CHECK_FALSE(v.contains(1672531200));
}

TEST_CASE("Rekor v1 and CT log IDs are the sha256sum of the log key's SPKI", "[sigstore][trusted_root]") {
  TempDir dir;
  for (const TrustedRoot& root : {default_trusted_root(), root_or_throw(staging_json())}) {
    for (const auto* logs : {&root.tlogs, &root.ctlogs}) {
      for (const auto& log : *logs) {
        INFO(log.base_url);
        REQUIRE(log.key.has_value());
        if (log.key->type() == KeyType::kEd25519) {
          continue;  // Rekor v2 IDs are signed-note key hashes (tlog_test)
        }
        CHECK(spki_sha256(dir, log.key->spki_der()) == to_hex(log.log_id));
      }
    }
  }
}

TEST_CASE("the staging root's PKCS#1 CT key is read as RSA and its ID hashes the SPKI form",
          "[sigstore][trusted_root]") {
  TempDir dir;
  Json j = staging_json();
  bool seen = false;
  for (const auto& c : j["ctlogs"]) {
    if (c["publicKey"]["keyDetails"] == "PKCS1_RSA_PKCS1V5") {
      seen = true;
      auto raw = b64(c["publicKey"]["rawBytes"]);
      write_file(dir / "pkcs1.der", std::string(raw.begin(), raw.end()));
      openssl({"rsa", "-RSAPublicKey_in", "-inform", "DER", "-in", (dir / "pkcs1.der").string(), "-pubout", "-outform",
               "DER", "-out", (dir / "spki.der").string()});
      CHECK(sha256sum_hex(dir / "spki.der") == to_hex(b64(c["logId"]["keyId"])));
    }
  }
  CHECK(seen);
  TrustedRoot root = root_or_throw(j);
  CHECK(std::any_of(root.ctlogs.begin(), root.ctlogs.end(), [](const TransparencyLog& l) {
    return l.key_details == "PKCS1_RSA_PKCS1V5" && l.key->type() == KeyType::kRsa;
  }));
}

TEST_CASE("a tlog key without validFor.start makes the root invalid", "[sigstore][trusted_root]") {
  Json j = public_good_json();
  j["tlogs"][0]["publicKey"]["validFor"].erase("start");
  Error e = root_error(j);
  CHECK(e.code == Code::kMalformed);
  CHECK(e.message == "trustedRoot.tlogs[0].publicKey.validFor.start: is missing (a log key needs validFor.start)");
  Json c = public_good_json();
  c["ctlogs"][1]["publicKey"].erase("validFor");
  CHECK(root_error(c).code == Code::kMalformed);
  // A CA may leave start open.
  Json ca = public_good_json();
  ca["certificateAuthorities"][0]["validFor"].erase("start");
  CHECK(parse_trusted_root(ca.dump()).ok());
}

TEST_CASE("trusted root media type, hash algorithm and empty chains are checked", "[sigstore][trusted_root]") {
  Json mt = public_good_json();
  mt["mediaType"] = "application/vnd.dev.sigstore.trustedroot.v0.9+json";
  CHECK(root_error(mt).code == Code::kUnsupported);
  for (std::string ok :
       {"application/vnd.dev.sigstore.trustedroot.v0.1+json", "application/vnd.dev.sigstore.trustedroot.v0.2+json"}) {
    mt["mediaType"] = ok;
    CHECK(parse_trusted_root(mt.dump()).ok());
  }
  Json hash = public_good_json();
  hash["tlogs"][0]["hashAlgorithm"] = "SHA2_384";
  Error he = root_error(hash);
  CHECK(he.code == Code::kUnsupported);
  CHECK(he.message == "trustedRoot.tlogs[0].hashAlgorithm: unsupported \"SHA2_384\"");
  Json chain = public_good_json();
  chain["certificateAuthorities"][0]["certChain"]["certificates"] = Json::array();
  CHECK(root_error(chain).message == "trustedRoot.certificateAuthorities[0].certChain.certificates: is empty");
  Json end_before = public_good_json();
  end_before["tlogs"][0]["publicKey"]["validFor"]["end"] = "2020-01-01T00:00:00Z";
  CHECK(root_error(end_before).message == "trustedRoot.tlogs[0].publicKey.validFor: end is before start");
}

TEST_CASE("unknown key types are kept without a key; null fields are absent", "[sigstore][trusted_root]") {
  Json j = public_good_json();
  j["tlogs"][0]["publicKey"]["keyDetails"] = "ML_DSA_65";
  j["tlogs"][0]["checkpointKeyId"] = nullptr;
  j["tlogs"][0]["operator"] = nullptr;
  j["tlogs"][1]["publicKey"]["validFor"]["end"] = nullptr;
  TrustedRoot root = root_or_throw(j);
  CHECK_FALSE(root.tlogs[0].key.has_value());
  CHECK_FALSE(root.tlogs[1].valid_for.end_ms.has_value());
  auto r = verify_log_signature(root.tlogs[0], as_bytes("x"), as_bytes("y"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Code::kUnsupported);
}

TEST_CASE("log host names drop scheme, port, path and userinfo", "[sigstore][trusted_root]") {
  TransparencyLog l;
  l.base_url = "https://user@log.example:8443/api/v1?x";
  CHECK(l.host() == "log.example");
  l.base_url = "log2.example";
  CHECK(l.host() == "log2.example");
}

TEST_CASE("trusted root files that are missing or too large fail before parsing", "[sigstore][trusted_root]") {
  TempDir dir;
  auto missing = load_trusted_root_file(dir / "absent.json");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == Code::kNotFound);
  write_file(dir / "big.json", std::string((4u << 20) + 1, ' '));
  auto big = load_trusted_root_file(dir / "big.json");
  REQUIRE_FALSE(big.ok());
  CHECK(big.error().code == Code::kLimit);
}
