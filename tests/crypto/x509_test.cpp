// x509_test.cpp: certificates, Fulcio extensions and path validation, checked against the openssl CLI
// and the certificates shipped with the upstream vectors.
#include "crypto/x509.h"

#include <catch2/catch.hpp>

#include "crypto/encoding.h"
#include "crypto/sigstore_fixtures.h"
#include "test_support.h"

namespace {

using namespace modelgate;
using namespace modelgate::crypto;
using namespace modelgate::testing;
using namespace modelgate::testing::sigstore;

fs::path pki_dir() {
  return vectors_dir() / "model_signing/scripts/tests/keys/certificate";
}

Certificate load_one(const fs::path& p) {
  auto certs = load_certificates_file(p);
  REQUIRE(certs.ok());
  REQUIRE(certs->size() == 1);
  return certs->front();
}

std::string hex_of(std::string_view s) {
  return to_hex(as_bytes(s));
}

// make_cert asks openssl for a self-signed P-256 certificate with the given -addext values.
Certificate make_cert(const TempDir& dir, const std::string& name, const std::vector<std::string>& exts) {
  std::vector<std::string> args = {"req",    "-x509",       "-newkey",
                                   "ec",     "-pkeyopt",    "ec_paramgen_curve:P-256",
                                   "-nodes", "-keyout",     (dir / (name + ".key")).string(),
                                   "-subj",  "/CN=" + name, "-days",
                                   "1",      "-out",        (dir / (name + ".pem")).string()};
  for (const auto& e : exts) {
    args.push_back("-addext");
    args.push_back(e);
  }
  openssl(args);
  return load_one(dir / (name + ".pem"));
}

// unix_time asks date(1) (an independent calendar) for the unix time of an RFC 3339 string.
std::int64_t unix_time(const std::string& rfc3339) {
  auto r = run({"date", "-u", "-d", rfc3339, "+%s"});
  REQUIRE(r.exit_code == 0);
  return std::stoll(r.out);
}

}  // namespace

TEST_CASE("certificate validity times equal what openssl prints", "[sigstore][x509]") {
  for (std::string name : {"ca-cert.pem", "int-ca-cert.pem", "signing-key-cert.pem"}) {
    Certificate c = load_one(pki_dir() / name);
    std::string dates =
        openssl({"x509", "-noout", "-dates", "-dateopt", "iso_8601", "-in", (pki_dir() / name).string()});
    // "notBefore=2025-05-02 23:36:28Z\nnotAfter=2035-04-30 23:36:28Z\n"
    auto nb = dates.substr(dates.find("notBefore=") + 10, 20);
    auto na = dates.substr(dates.find("notAfter=") + 9, 20);
    nb[10] = 'T';
    na[10] = 'T';
    CHECK(format_time(c.not_before()) == nb);
    CHECK(format_time(c.not_after()) == na);
    CHECK(c.not_before() == unix_time(nb));
  }
}

TEST_CASE("a chain validates at a time inside every certificate's validity and not after", "[sigstore][x509]") {
  Certificate root = load_one(pki_dir() / "ca-cert.pem");
  Certificate inter = load_one(pki_dir() / "int-ca-cert.pem");
  Certificate leaf = load_one(pki_dir() / "signing-key-cert.pem");
  std::vector<Certificate> untrusted{inter};
  std::vector<Certificate> anchors{root};
  auto path = verify_chain(leaf, untrusted, anchors, {leaf.not_before(), false});
  REQUIRE(path.ok());
  REQUIRE(path->size() == 3);
  CHECK(path->at(0).der() == leaf.der());
  CHECK(path->at(1).der() == inter.der());
  CHECK(path->at(2).der() == root.der());

  auto late = verify_chain(leaf, untrusted, anchors, {unix_time("2100-01-01T00:00:00Z"), false});
  REQUIRE_FALSE(late.ok());
  CHECK(late.error().code == Code::kUntrusted);
  CHECK(late.error().message.find("2100-01-01T00:00:00Z") != std::string::npos);
  CHECK(late.error().message.find("certificate has expired") != std::string::npos);

  auto early = verify_chain(leaf, untrusted, anchors, {leaf.not_before() - 1, false});
  REQUIRE_FALSE(early.ok());
  CHECK(early.error().code == Code::kUntrusted);
  CHECK(early.error().message.find("not yet valid") != std::string::npos);
}

TEST_CASE("an intermediate is a trust anchor only with allow_partial_chain", "[sigstore][x509]") {
  Certificate inter = load_one(pki_dir() / "int-ca-cert.pem");
  Certificate leaf = load_one(pki_dir() / "signing-key-cert.pem");
  std::vector<Certificate> anchors{inter};
  auto strict = verify_chain(leaf, {}, anchors, {leaf.not_before(), false});
  REQUIRE_FALSE(strict.ok());
  CHECK(strict.error().code == Code::kUntrusted);
  CHECK(verify_chain(leaf, {}, anchors, {leaf.not_before(), true}).ok());
}

TEST_CASE("a certificate from an unrelated root is untrusted", "[sigstore][x509]") {
  TempDir dir;
  Certificate other = make_cert(dir, "other", {});
  Certificate leaf = load_one(pki_dir() / "signing-key-cert.pem");
  std::vector<Certificate> anchors{other};
  auto r = verify_chain(leaf, {}, anchors, {leaf.not_before(), false});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Code::kUntrusted);
  CHECK(r.error().message.find("the signing certificate \"CN=intermediate-ca\" is not trusted at") == 0);
}

TEST_CASE("the Fulcio leaf of happy-path-v0.1 has the beacon identity and the GitHub issuer", "[sigstore][x509]") {
  Json j = case_json("happy-path-v0.1");
  auto der = b64(j["verificationMaterial"]["x509CertificateChain"]["certificates"][0]["rawBytes"]);
  auto cert = Certificate::from_der(der);
  REQUIRE(cert.ok());
  CHECK(cert->san_values() == std::vector<std::string>{kBeacon});
  CHECK(cert->fulcio_issuer() == std::optional<std::string>(kGha));
  CHECK(cert->key_usage_digital_signature());
  CHECK(cert->eku_code_signing());
  CHECK_FALSE(cert->is_ca());
  CHECK(cert->subject().empty());
  CHECK(cert->public_key().type() == KeyType::kEcdsaP256);
  // Cross-check with openssl's own rendering of the same DER.
  TempDir dir;
  write_file(dir / "leaf.der", std::string(der.begin(), der.end()));
  std::string text = openssl({"x509", "-inform", "DER", "-in", (dir / "leaf.der").string(), "-noout", "-text"});
  CHECK(text.find(std::string("URI:") + kBeacon) != std::string::npos);
  CHECK(cert->pem() == openssl({"x509", "-inform", "DER", "-in", (dir / "leaf.der").string()}));
  CHECK(cert->sha256_fingerprint() == sha256sum_hex(dir / "leaf.der"));
  CHECK(cert->der() == der);
}

TEST_CASE("SAN values include URI, email and the Fulcio otherName in order", "[sigstore][x509]") {
  TempDir dir;
  Certificate c = make_cert(dir, "san",
                            {"subjectAltName=otherName:1.3.6.1.4.1.57264.1.7;UTF8:foo!oidc.local,"
                             "email:a@b.example,URI:https://x.example/z,DNS:ignored.example"});
  CHECK(c.san_values() == std::vector<std::string>{"foo!oidc.local", "a@b.example", "https://x.example/z"});
  // An otherName with another type-id is not an identity.
  Certificate other = make_cert(dir, "san2", {"subjectAltName=otherName:1.2.3.4;UTF8:nobody"});
  CHECK(other.san_values().empty());
}

TEST_CASE("the OIDC issuer prefers extension 1.8, falls back to 1.1, and refuses a conflict", "[sigstore][x509]") {
  TempDir dir;
  const std::string v1 = "1.3.6.1.4.1.57264.1.1=DER:";
  const std::string v2 = "1.3.6.1.4.1.57264.1.8=ASN1:UTF8String:";
  Certificate only_v1 = make_cert(dir, "v1", {v1 + hex_of("https://old.example")});
  CHECK(only_v1.fulcio_issuer() == std::optional<std::string>("https://old.example"));
  Certificate only_v2 = make_cert(dir, "v2", {v2 + "https://new.example"});
  CHECK(only_v2.fulcio_issuer() == std::optional<std::string>("https://new.example"));
  Certificate both_same = make_cert(dir, "same", {v2 + "https://same.example", v1 + hex_of("https://same.example")});
  CHECK(both_same.fulcio_issuer() == std::optional<std::string>("https://same.example"));
  Certificate both_differ = make_cert(dir, "differ", {v2 + "https://a.example", v1 + hex_of("https://b.example")});
  CHECK_FALSE(both_differ.fulcio_issuer().has_value());
  // 1.8 must be a DER UTF8String; raw bytes there are not an issuer.
  Certificate raw_v2 = make_cert(dir, "rawv2", {"1.3.6.1.4.1.57264.1.8=DER:" + hex_of("https://raw.example")});
  CHECK_FALSE(raw_v2.fulcio_issuer().has_value());
  Certificate none = make_cert(dir, "none", {});
  CHECK_FALSE(none.fulcio_issuer().has_value());
}

TEST_CASE("PEM parsing reads every certificate block and rejects junk", "[sigstore][x509]") {
  std::string two = read_file(pki_dir() / "int-ca-cert.pem") + "junk between\n" + read_file(pki_dir() / "ca-cert.pem");
  auto certs = parse_pem_certificates(two);
  REQUIRE(certs.ok());
  REQUIRE(certs->size() == 2);
  CHECK(certs->at(1).subject() == "CN=root-ca");

  auto none = parse_pem_certificates("no certificates here");
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().code == Code::kMalformed);

  auto broken = parse_pem_certificates("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
  REQUIRE_FALSE(broken.ok());
  CHECK(broken.error().code == Code::kMalformed);

  std::string many;
  for (int i = 0; i < 17; ++i) {
    many += read_file(pki_dir() / "ca-cert.pem");
  }
  auto too_many = parse_pem_certificates(many);
  REQUIRE_FALSE(too_many.ok());
  CHECK(too_many.error().code == Code::kLimit);

  auto der = load_one(pki_dir() / "ca-cert.pem").der();
  der.push_back(0);
  auto trailing = Certificate::from_der(der);
  REQUIRE_FALSE(trailing.ok());
  CHECK(trailing.error().code == Code::kMalformed);
}

TEST_CASE("RFC 3339 timestamps agree with date(1) and reject sloppy forms", "[sigstore][x509]") {
  for (std::string t :
       {"2022-04-13T20:06:15Z", "1970-01-01T00:00:00Z", "2000-02-29T12:00:00Z", "2038-01-19T03:14:08Z"}) {
    auto ms = parse_rfc3339_ms(t);
    REQUIRE(ms.ok());
    CHECK(*ms == unix_time(t) * 1000);
    CHECK(format_time(*ms / 1000) == t);
  }
  auto frac = parse_rfc3339_ms("2022-12-31T23:59:59.999Z");
  REQUIRE(frac.ok());
  CHECK(*frac == unix_time("2022-12-31T23:59:59Z") * 1000 + 999);
  auto nanos = parse_rfc3339_ms("2022-12-31T23:59:59.123456789Z");
  REQUIRE(nanos.ok());
  CHECK(*nanos % 1000 == 123);
  for (std::string bad : {"2022-12-31 23:59:59Z", "2022-12-31T23:59:59", "2022-12-31T23:59:59+01:00",
                          "2022-13-01T00:00:00Z", "2022-12-31T23:59:59.Z", "2022-12-31T23:59:59.1234567891Z", ""}) {
    auto r = parse_rfc3339_ms(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Code::kMalformed);
  }
}
