// timestamp_test.cpp: RFC 3161 tokens from the conformance bundles (oracle: `openssl ts -verify`) and
// from a throwaway TSA made with the openssl CLI, one failure at a time.
#include "crypto/timestamp.h"

#include <catch2/catch.hpp>

#include "crypto/encoding.h"
#include "crypto/sigstore_fixtures.h"
#include "test_support.h"

namespace {

using namespace modelgate;
using namespace modelgate::crypto;
using namespace modelgate::testing;
using namespace modelgate::testing::sigstore;

struct Token {
  std::vector<std::uint8_t> der;
  std::vector<std::uint8_t> signature;  // the bytes it timestamps
};

Token case_token(const std::string& name) {
  Json j = case_json(name);
  Token t;
  t.der = b64(j["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][0]["signedTimestamp"]);
  t.signature = b64(j["messageSignature"]["signature"]);
  return t;
}

std::int64_t unix_time(const std::string& s) {
  auto r = run({"date", "-u", "-d", s, "+%s"});
  REQUIRE(r.exit_code == 0);
  return std::stoll(r.out);
}

std::string pem_of(const Json& raw_bytes) {
  auto c = Certificate::from_der(b64(raw_bytes));
  REQUIRE(c.ok());
  return c->pem();
}

// A TSA of our own: root CA + TSA leaf (EKU timeStamping, critical).
struct OwnTsa {
  TempDir dir;
  fs::path ca_key, ca, key, cert, conf;

  OwnTsa() {
    ca_key = dir / "ca.key";
    ca = dir / "ca.pem";
    key = dir / "tsa.key";
    cert = dir / "tsa.pem";
    conf = dir / "ts.cnf";
    openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
             ca_key.string(), "-subj", "/CN=test-tsa-root", "-days", "3650", "-out", ca.string(), "-addext",
             "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"});
    write_file(dir / "leaf.ext", std::string("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n") +
                                     "extendedKeyUsage=critical,timeStamping\n");
    openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key.string(),
             "-subj", "/CN=test-tsa", "-out", (dir / "tsa.csr").string()});
    openssl({"x509", "-req", "-in", (dir / "tsa.csr").string(), "-CA", ca.string(), "-CAkey", ca_key.string(),
             "-CAcreateserial", "-days", "3650", "-extfile", (dir / "leaf.ext").string(), "-out", cert.string()});
    write_file(conf, "[ tsa ]\ndefault_tsa = tsa_config\n[ tsa_config ]\nserial = " + (dir / "serial").string() +
                         "\ndefault_policy = 1.2.3.4\nother_policies = 1.2.3.5\ndigests = sha1, sha256, sha384\n"
                         "accuracy = secs:1\ness_cert_id_alg = sha256\nsigner_digest = sha256\n");
    write_file(dir / "serial", "01\n");
  }

  std::vector<std::uint8_t> stamp(const std::string& data, const std::string& digest_flag) {
    write_file(dir / "data", data);
    openssl({"ts", "-query", "-data", (dir / "data").string(), digest_flag, "-cert", "-out", (dir / "q.tsq").string()});
    openssl({"ts", "-reply", "-queryfile", (dir / "q.tsq").string(), "-inkey", key.string(), "-signer", cert.string(),
             "-chain", ca.string(), "-config", conf.string(), "-out", (dir / "r.tsr").string()});
    return read_bytes(dir / "r.tsr");
  }

  TrustedRoot root() {
    Json cert_json = Json{{"rawBytes", base64_encode(load_certificates_file(cert)->front().der())}};
    Json ca_json = Json{{"rawBytes", base64_encode(load_certificates_file(ca)->front().der())}};
    Json j = {{"mediaType", "application/vnd.dev.sigstore.trustedroot+json;version=0.1"},
              {"timestampAuthorities",
               Json::array({Json{{"uri", "https://tsa.test"},
                                 {"certChain", Json{{"certificates", Json::array({cert_json, ca_json})}}},
                                 {"validFor", Json{{"start", "2020-01-01T00:00:00Z"}}}}})}};
    return root_or_throw(j);
  }
};

}  // namespace

TEST_CASE("the rekor2-happy-path token gives the genTime openssl reports and openssl ts -verify agrees",
          "[sigstore][timestamp]") {
  Token t = case_token("rekor2-happy-path");
  Json root_j = case_root_json("rekor2-happy-path");
  auto gen = verify_timestamp(t.der, t.signature, root_or_throw(root_j));
  REQUIRE(gen.ok());
  CHECK(*gen == unix_time("2025-06-12T12:02:20Z"));

  TempDir dir;
  write_file(dir / "t.tsr", std::string(t.der.begin(), t.der.end()));
  write_file(dir / "sig", std::string(t.signature.begin(), t.signature.end()));
  const Json& chain = root_j["timestampAuthorities"][0]["certChain"]["certificates"];
  write_file(dir / "leaf.pem", pem_of(chain[0]["rawBytes"]));
  write_file(dir / "root.pem", pem_of(chain[1]["rawBytes"]));
  CHECK(openssl({"ts", "-reply", "-in", (dir / "t.tsr").string(), "-text"})
            .find("Time stamp: Jun 12 12:02:20 2025 GMT") != std::string::npos);
  CHECK(
      openssl({"ts", "-verify", "-data", (dir / "sig").string(), "-in", (dir / "t.tsr").string(), "-CAfile",
               (dir / "root.pem").string(), "-untrusted", (dir / "leaf.pem").string(), "-attime", std::to_string(*gen)})
          .find("Verification: OK") != std::string::npos);
}

TEST_CASE("tokens with and without embedded certificates verify against the root's TSA chain",
          "[sigstore][timestamp]") {
  for (std::string name : {"rekor2-timestamp-with-embedded-cert", "rekor2-timestamp-without-embedded-cert"}) {
    INFO(name);
    Token t = case_token(name);
    CHECK(verify_timestamp(t.der, t.signature, root_or_throw(case_root_json(name))).ok());
  }
}

TEST_CASE("a token over other bytes is a message imprint mismatch", "[sigstore][timestamp]") {
  Token t = case_token("rekor2-happy-path");
  auto other = t.signature;
  other[0] ^= 1;
  auto r = verify_timestamp(t.der, other, root_or_throw(case_root_json("rekor2-happy-path")));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Code::kMismatch);
  CHECK(r.error().message == "message imprint does not match the signature");
}

TEST_CASE("a token from a TSA that is not in the root is untrusted, embedded certificates notwithstanding",
          "[sigstore][timestamp]") {
  Token t = case_token("rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail");
  auto r = verify_timestamp(t.der, t.signature,
                            root_or_throw(case_root_json("rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail")));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Code::kUntrusted);
  // The production root's TSA is not the staging TSA either.
  Token staging = case_token("rekor2-happy-path");
  auto prod = verify_timestamp(staging.der, staging.signature, default_trusted_root());
  REQUIRE_FALSE(prod.ok());
  CHECK(prod.error().code == Code::kUntrusted);
  CHECK(prod.error().message.rfind("is not from a trusted timestamp authority at 2025-06-12T12:02:20Z", 0) == 0);
}

TEST_CASE("the TSA validity window is closed and checked at genTime", "[sigstore][timestamp]") {
  Token t = case_token("rekor2-happy-path");
  Json j = case_root_json("rekor2-happy-path");
  j["timestampAuthorities"][0]["validFor"]["end"] = "2025-06-12T12:02:20Z";
  CHECK(verify_timestamp(t.der, t.signature, root_or_throw(j)).ok());
  j["timestampAuthorities"][0]["validFor"]["end"] = "2025-06-12T12:02:19Z";
  auto r = verify_timestamp(t.der, t.signature, root_or_throw(j));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Code::kUntrusted);
  CHECK(r.error().message.find("genTime 2025-06-12T12:02:20Z is outside the validity of TSA") != std::string::npos);
  j["timestampAuthorities"][0]["validFor"] = Json{{"start", "2025-06-12T12:02:21Z"}};
  CHECK_FALSE(verify_timestamp(t.der, t.signature, root_or_throw(j)).ok());
}

TEST_CASE("a root without timestamp authorities trusts no token", "[sigstore][timestamp]") {
  Token t = case_token("rekor2-happy-path");
  Json j = case_root_json("rekor2-happy-path");
  j.erase("timestampAuthorities");
  auto r = verify_timestamp(t.der, t.signature, root_or_throw(j));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Code::kUntrusted);
  CHECK(r.error().message == "the trusted root has no timestamp authorities");
}

TEST_CASE("bytes that are not a TimeStampResp are malformed; bad tokens do not count but are reported",
          "[sigstore][timestamp]") {
  Token t = case_token("rekor2-happy-path");
  TrustedRoot root = root_or_throw(case_root_json("rekor2-happy-path"));
  std::vector<std::uint8_t> junk = {0x30, 0x03, 0x02, 0x01, 0x00};
  auto r = verify_timestamp(junk, t.signature, root);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Code::kMalformed);
  auto trailing = t.der;
  trailing.push_back(0);
  CHECK(verify_timestamp(trailing, t.signature, root).error().code == Code::kMalformed);

  TimestampResults results = verify_timestamps({junk, t.der}, t.signature, root);
  CHECK(results.times == std::vector<std::int64_t>{unix_time("2025-06-12T12:02:20Z")});
  REQUIRE(results.rejected.size() == 1);
  CHECK(results.rejected[0].message.rfind("timestamp 1: ", 0) == 0);
}

TEST_CASE("a token from our own openssl TSA verifies; SHA-1 imprints and other TSAs do not", "[sigstore][timestamp]") {
  OwnTsa tsa;
  TrustedRoot root = tsa.root();
  auto good = tsa.stamp("signature bytes", "-sha256");
  auto gen = verify_timestamp(good, as_bytes("signature bytes"), root);
  REQUIRE(gen.ok());
  CHECK(*gen > unix_time("2025-01-01T00:00:00Z"));

  auto sha384 = tsa.stamp("signature bytes", "-sha384");
  CHECK(verify_timestamp(sha384, as_bytes("signature bytes"), root).ok());

  auto sha1 = tsa.stamp("signature bytes", "-sha1");
  auto r = verify_timestamp(sha1, as_bytes("signature bytes"), root);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Code::kUnsupported);
  CHECK(r.error().message == "message imprint hash is not SHA-256/384/512");

  // openssl refuses to sign with a TSA certificate whose EKU is not critical, so the same rule on the
  // verifying side is exercised through OpenSSL's X509_PURPOSE_TIMESTAMP_SIGN; here: another TSA.
  OwnTsa other;
  auto o = verify_timestamp(good, as_bytes("signature bytes"), other.root());
  REQUIRE_FALSE(o.ok());
  CHECK(o.error().code == Code::kUntrusted);
}
