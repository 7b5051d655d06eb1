// bundle_verify_test.cpp: the whole verification flow. Real conformance and model_signing bundles
// with ONE thing changed per test (INDEX.md §8: _fail cases often have several defects), plus a
// synthetic Rekor-v1-style log whose keys and signatures come from the openssl CLI, to reach the
// content-signature check with every other check passing.
#include "crypto/bundle_verify.h"

#include <catch2/catch.hpp>

#include "crypto/dsse.h"
#include "crypto/encoding.h"
#include "crypto/sigstore_fixtures.h"
#include "crypto/statement.h"
#include "test_support.h"

namespace {

using namespace modelgate;
using namespace modelgate::crypto;
using namespace modelgate::testing;
using namespace modelgate::testing::sigstore;

using Bytes = std::vector<std::uint8_t>;

ArtifactRef bytes_ref(const Bytes& b) {
  ArtifactRef a;
  a.bytes = b;
  return a;
}

ArtifactRef digest_ref(const Bytes& b) {
  ArtifactRef a;
  auto d = digest(HashAlg::kSha256, b);
  Sha256Digest s{};
  std::copy(d.begin(), d.end(), s.begin());
  a.sha256 = s;
  return a;
}

IdentityPolicy beacon() {
  return {kGha, kBeacon, false};
}

Result<VerifiedBundle> keyless(const Json& bundle, const TrustedRoot& root, const IdentityPolicy& policy = beacon(),
                               const ArtifactRef& artifact = bytes_ref(a_txt())) {
  return verify_bundle_keyless(parse_or_throw(bundle), root, policy, artifact);
}

Error keyless_error(const Json& bundle, const TrustedRoot& root, const IdentityPolicy& policy = beacon(),
                    const ArtifactRef& artifact = bytes_ref(a_txt())) {
  auto r = keyless(bundle, root, policy, artifact);
  REQUIRE_FALSE(r.ok());
  return r.error();
}

Json& entry0(Json& j) {
  return j["verificationMaterial"]["tlogEntries"][0];
}

std::int64_t unix_time(const std::string& s) {
  auto r = run({"date", "-u", "-d", s, "+%s"});
  REQUIRE(r.exit_code == 0);
  return std::stoll(r.out);
}

// --- synthetic managed-key bundles on a synthetic log (all signatures by the openssl CLI) ---------
struct Synthetic {
  TempDir dir;
  fs::path log_key, signer_key, signer_pub;
  Json root;
  Bytes log_id;

  Synthetic() {
    log_key = dir / "log.pem";
    signer_key = dir / "signer.pem";
    signer_pub = dir / "signer.pub.pem";
    openssl({"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", log_key.string()});
    openssl({"pkey", "-in", log_key.string(), "-pubout", "-outform", "DER", "-out", (dir / "log.der").string()});
    openssl({"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", signer_key.string()});
    openssl({"pkey", "-in", signer_key.string(), "-pubout", "-out", signer_pub.string()});
    log_id = *from_hex(sha256sum_hex(dir / "log.der"));
    Json tlog = {{"baseUrl", "https://log.synthetic.example"},
                 {"hashAlgorithm", "SHA2_256"},
                 {"publicKey",
                  {{"rawBytes", base64_encode(read_bytes(dir / "log.der"))},
                   {"keyDetails", "PKIX_ECDSA_P256_SHA_256"},
                   {"validFor", {{"start", "2020-01-01T00:00:00Z"}}}}},
                 {"logId", {{"keyId", base64_encode(log_id)}}}};
    root = {{"mediaType", "application/vnd.dev.sigstore.trustedroot+json;version=0.1"}, {"tlogs", Json::array({tlog})}};
  }

  Bytes sign(const fs::path& key, const Bytes& data) {
    write_file(dir / "msg", std::string(data.begin(), data.end()));
    openssl({"dgst", "-sha256", "-sign", key.string(), "-out", (dir / "sig").string(), (dir / "msg").string()});
    return read_bytes(dir / "sig");
  }

  // entry logs `body` with a SET from the synthetic log.
  Json entry(const std::string& kind, const Json& body, std::int64_t integrated_time) {
    std::string body_text = body.dump();
    std::string body_b64 = base64_encode(as_bytes(body_text));
    std::string set_payload = "{\"body\":\"" + body_b64 + "\",\"integratedTime\":" + std::to_string(integrated_time) +
                              ",\"logID\":\"" + to_hex(log_id) + "\",\"logIndex\":7}";
    Bytes set = sign(log_key, Bytes(set_payload.begin(), set_payload.end()));
    return {{"logIndex", "7"},
            {"logId", {{"keyId", base64_encode(log_id)}}},
            {"kindVersion", {{"kind", kind}, {"version", "0.0.1"}}},
            {"integratedTime", std::to_string(integrated_time)},
            {"inclusionPromise", {{"signedEntryTimestamp", base64_encode(set)}}},
            {"canonicalizedBody", body_b64}};
  }

  // message_bundle: the log records `logged_sig` for sha256(`artifact`); the bundle carries it too.
  Json message_bundle(const Bytes& artifact, const Bytes& logged_sig) {
    std::string pem = read_file(signer_pub);
    Json body = {
        {"apiVersion", "0.0.1"},
        {"kind", "hashedrekord"},
        {"spec",
         {{"data", {{"hash", {{"algorithm", "sha256"}, {"value", to_hex(digest(HashAlg::kSha256, artifact))}}}}},
          {"signature",
           {{"content", base64_encode(logged_sig)}, {"publicKey", {{"content", base64_encode(as_bytes(pem))}}}}}}}};
    return {{"mediaType", "application/vnd.dev.sigstore.bundle+json;version=0.1"},
            {"verificationMaterial",
             {{"publicKey", {{"hint", "synthetic"}}},
              {"tlogEntries", Json::array({entry("hashedrekord", body, 1700000000)})}}},
            {"messageSignature", {{"signature", base64_encode(logged_sig)}}}};
  }

  // dsse_bundle: a DSSE envelope whose signature is `logged_sig`, logged as dsse 0.0.1.
  Json dsse_bundle(const Bytes& payload, const Bytes& logged_sig) {
    std::string pem = read_file(signer_pub);
    Json body = {
        {"apiVersion", "0.0.1"},
        {"kind", "dsse"},
        {"spec",
         {{"payloadHash", {{"algorithm", "sha256"}, {"value", to_hex(digest(HashAlg::kSha256, payload))}}},
          {"signatures",
           Json::array({{{"signature", base64_encode(logged_sig)}, {"verifier", base64_encode(as_bytes(pem))}}})}}}};
    return {{"mediaType", "application/vnd.dev.sigstore.bundle+json;version=0.1"},
            {"verificationMaterial",
             {{"publicKey", {{"hint", "synthetic"}}}, {"tlogEntries", Json::array({entry("dsse", body, 1700000000)})}}},
            {"dsseEnvelope",
             {{"payload", base64_encode(payload)},
              {"payloadType", "application/vnd.in-toto+json"},
              {"signatures", Json::array({{{"sig", base64_encode(logged_sig)}}})}}}};
  }

  PublicKey signer() { return *load_public_key_file(signer_pub); }
};

Bytes statement_for(const Bytes& artifact) {
  Json st = {
      {"_type", "https://in-toto.io/Statement/v1"},
      {"subject",
       Json::array({{{"name", "artifact"}, {"digest", {{"sha256", to_hex(digest(HashAlg::kSha256, artifact))}}}}})},
      {"predicateType", "https://example.com/p"},
      {"predicate", Json::object()}};
  std::string s = st.dump();
  return Bytes(s.begin(), s.end());
}

}  // namespace

// --- real bundles, nothing changed --------------------------------------------------------------

TEST_CASE("happy-path bundles v0.1-v0.3 verify for the artifact and for its digest", "[sigstore][bundle_verify]") {
  for (std::string name : {"happy-path-v0.1", "happy-path-v0.2", "happy-path-v0.3"}) {
    INFO(name);
    for (const ArtifactRef& a : {bytes_ref(a_txt()), digest_ref(a_txt())}) {
      Json j = case_json(name);
      auto v = keyless(j, default_trusted_root(), beacon(), a);
      REQUIRE(v.ok());
      CHECK(v->identity() == kBeacon);
      CHECK(v->issuer() == kGha);
      CHECK(v->verified_times() ==
            std::vector<std::int64_t>{std::stoll(entry0(j)["integratedTime"].get<std::string>())});
      REQUIRE(v->signing_certificate().has_value());
      CHECK(v->payload().empty());
      CHECK(v->checks().size() >= 5);
    }
  }
}

TEST_CASE("an identity regex is an RE2 full match", "[sigstore][bundle_verify]") {
  Json j = case_json("happy-path-v0.3");
  IdentityPolicy re{kGha, "^https://github\\.com/sigstore-conformance/.*@refs/heads/main$", true};
  auto v = keyless(j, default_trusted_root(), re);
  REQUIRE(v.ok());
  CHECK(v->identity() == kBeacon);
  IdentityPolicy prefix{kGha, "https://github\\.com/sigstore-conformance/", true};
  Error e = keyless_error(j, default_trusted_root(), prefix);
  CHECK(e.code == Code::kUntrusted);
  CHECK(e.message.rfind("certificate: identity does not match (expected regex ", 0) == 0);
  IdentityPolicy broken{kGha, "(", true};
  CHECK(keyless_error(j, default_trusted_root(), broken).code == Code::kMalformed);
  // Without the regex flag the same pattern is a literal and does not match.
  IdentityPolicy literal{kGha, re.identity, false};
  CHECK(keyless_error(j, default_trusted_root(), literal).code == Code::kUntrusted);
}

// --- one thing changed --------------------------------------------------------------------------

TEST_CASE("a different identity is untrusted and the message shows both", "[sigstore][bundle_verify]") {
  IdentityPolicy p{kGha, "https://github.com/someone/else/.github/workflows/x.yml@refs/heads/main", false};
  Error e = keyless_error(case_json("happy-path-v0.1"), default_trusted_root(), p);
  CHECK(e.code == Code::kUntrusted);
  CHECK(e.message == "certificate: identity does not match (expected \"" + p.identity + "\" vs found \"" +
                         std::string(kBeacon).substr(0, 120) + "\"...)");
}

TEST_CASE("a different OIDC issuer is untrusted", "[sigstore][bundle_verify]") {
  IdentityPolicy p{"https://accounts.google.com", kBeacon, false};
  Error e = keyless_error(case_json("happy-path-v0.1"), default_trusted_root(), p);
  CHECK(e.code == Code::kUntrusted);
  CHECK(e.message == "certificate: OIDC issuer does not match (expected \"https://accounts.google.com\" vs found \"" +
                         std::string(kGha) + "\")");
}

TEST_CASE("one changed Merkle hash fails the inclusion proof", "[sigstore][bundle_verify]") {
  Json j = case_json("happy-path-v0.1");
  entry0(j)["inclusionProof"]["hashes"][0] = flip_b64(entry0(j)["inclusionProof"]["hashes"][0], 31);
  Error e = keyless_error(j, default_trusted_root());
  CHECK(e.code == Code::kMismatch);
  CHECK(e.message.rfind("tlog entry 1: inclusion proof: computed root ", 0) == 0);
}

TEST_CASE("a corrupted checkpoint signature fails", "[sigstore][bundle_verify]") {
  Json j = case_json("happy-path-v0.1");
  std::string cp = entry0(j)["inclusionProof"]["checkpoint"]["envelope"];
  // Replace the signature part of the log's line by the same bytes with one bit flipped.
  auto dash = cp.find("\xE2\x80\x94 rekor.sigstore.dev ");
  auto start = dash + std::string("\xE2\x80\x94 rekor.sigstore.dev ").size();
  auto end = cp.find('\n', start);
  std::string sig_b64 = cp.substr(start, end - start);
  cp.replace(start, end - start, flip_b64(Json(sig_b64), 20));
  entry0(j)["inclusionProof"]["checkpoint"]["envelope"] = cp;
  Error e = keyless_error(j, default_trusted_root());
  CHECK(e.code == Code::kBadSignature);
  CHECK(e.message == "tlog entry 1: checkpoint: signature by \"rekor.sigstore.dev\": signature does not verify");
}

TEST_CASE("a corrupted SET fails", "[sigstore][bundle_verify]") {
  Json j = case_json("happy-path-v0.1");
  entry0(j)["inclusionPromise"]["signedEntryTimestamp"] =
      flip_b64(entry0(j)["inclusionPromise"]["signedEntryTimestamp"], 12);
  Error e = keyless_error(j, default_trusted_root());
  CHECK(e.code == Code::kBadSignature);
  CHECK(e.message == "tlog entry 1: inclusion promise: signature does not verify");
}

TEST_CASE("a changed integrated time breaks the SET", "[sigstore][bundle_verify]") {
  Json j = case_json("happy-path-v0.1");
  entry0(j)["integratedTime"] = "1689177397";
  Error e = keyless_error(j, default_trusted_root());
  CHECK(e.code == Code::kBadSignature);
  CHECK(e.message == "tlog entry 1: inclusion promise: signature does not verify");
}

TEST_CASE("an entry whose log ID is not in the root proves nothing", "[sigstore][bundle_verify]") {
  Json j = case_json("happy-path-v0.1");
  entry0(j)["logId"]["keyId"] = flip_b64(entry0(j)["logId"]["keyId"], 0);
  Error e = keyless_error(j, default_trusted_root());
  CHECK(e.code == Code::kUntrusted);
  CHECK(e.message == "no transparency log entry is from a trusted log");
}

TEST_CASE("a log key whose validity starts after the integrated time is untrusted", "[sigstore][bundle_verify]") {
  Json r = public_good_json();
  r["tlogs"][0]["publicKey"]["validFor"]["start"] = "2023-07-12T15:56:37Z";
  Error e = keyless_error(case_json("happy-path-v0.1"), root_or_throw(r));
  CHECK(e.code == Code::kUntrusted);
  CHECK(e.message ==
        "tlog entry 1: inclusion promise: integrated time 2023-07-12T15:56:36Z is outside the log key's validity");
}

TEST_CASE("a Fulcio CA whose validity ended before the signing time is untrusted", "[sigstore][bundle_verify]") {
  Json r = public_good_json();
  r["certificateAuthorities"][1]["validFor"]["end"] = "2023-07-12T15:56:35Z";
  Error e = keyless_error(case_json("happy-path-v0.1"), root_or_throw(r));
  CHECK(e.code == Code::kUntrusted);
  CHECK(e.message == "certificate: no Fulcio CA in the trusted root is valid at 2023-07-12T15:56:36Z");
  // End inclusive: exactly the signing time still works.
  r["certificateAuthorities"][1]["validFor"]["end"] = "2023-07-12T15:56:36Z";
  CHECK(keyless(case_json("happy-path-v0.1"), root_or_throw(r)).ok());
}

TEST_CASE("a leaf chained to a CA that is not in the root is untrusted", "[sigstore][bundle_verify]") {
  Json r = public_good_json();
  r["certificateAuthorities"][1]["certChain"] = public_good_json()["certificateAuthorities"][0]["certChain"];
  Error e = keyless_error(case_json("happy-path-v0.1"), root_or_throw(r));
  CHECK(e.code == Code::kUntrusted);
  CHECK(e.message.rfind("certificate: the signing certificate is not trusted at 2023-07-12T15:56:36Z", 0) == 0);
}

TEST_CASE("without a trusted CT log the leaf's SCT does not count", "[sigstore][bundle_verify]") {
  Json r = public_good_json();
  r["ctlogs"] = Json::array();
  Error e = keyless_error(case_json("happy-path-v0.1"), root_or_throw(r));
  CHECK(e.code == Code::kUntrusted);
  CHECK(e.message.rfind("certificate: no valid SCT from a trusted CT log", 0) == 0);
}

TEST_CASE("a message digest that does not match the artifact fails", "[sigstore][bundle_verify]") {
  Json j = case_json("happy-path-v0.3");
  j["messageSignature"]["messageDigest"]["digest"] = flip_b64(j["messageSignature"]["messageDigest"]["digest"], 0);
  Error e = keyless_error(j, default_trusted_root());
  CHECK(e.code == Code::kMismatch);
  CHECK(e.message.rfind("message digest does not match the artifact", 0) == 0);
  Json alg = case_json("happy-path-v0.3");
  alg["messageSignature"]["messageDigest"]["algorithm"] = "SHA2_384";
  CHECK(keyless_error(alg, default_trusted_root()).code == Code::kUnsupported);
}

TEST_CASE("another artifact fails at the log body when the bundle carries no digest hint",
          "[sigstore][bundle_verify]") {
  Json j = case_json("happy-path-v0.3");
  j["messageSignature"].erase("messageDigest");
  CHECK(keyless(j, default_trusted_root()).ok());
  Bytes other = a_txt();
  other.push_back('!');
  for (const ArtifactRef& a : {bytes_ref(other), digest_ref(other)}) {
    Error e = keyless_error(j, default_trusted_root(), beacon(), a);
    CHECK(e.code == Code::kMismatch);
    CHECK(e.message == "tlog entry 1: body artifact digest does not match the bundle's");
  }
  Error none = keyless_error(j, default_trusted_root(), beacon(), ArtifactRef{});
  CHECK(none.code == Code::kUnsupported);
}

TEST_CASE("a v0.3 bundle with an x509CertificateChain is refused for keyless verification",
          "[sigstore][bundle_verify]") {
  Json j = case_json("happy-path-v0.2");
  j["mediaType"] = "application/vnd.dev.sigstore.bundle.v0.3+json";
  Error e = keyless_error(j, default_trusted_root());
  CHECK(e.code == Code::kMalformed);
  CHECK(e.message == "bundle v0.3 must carry certificate, not x509CertificateChain");
}

TEST_CASE("a public-key bundle is refused in keyless mode and a certificate bundle in key mode",
          "[sigstore][bundle_verify]") {
  Error e = keyless_error(case_json("managed-key-happy-path"), default_trusted_root());
  CHECK(e.code == Code::kUntrusted);
  CHECK(e.message == "bundle is signed with a public key, not a certificate: verify it with a key");
  auto key = load_public_key_file(case_dir("managed-key-happy-path") / "key.pub");
  REQUIRE(key.ok());
  auto r = verify_bundle_with_key(case_bundle("happy-path-v0.3"), default_trusted_root(), *key, bytes_ref(a_txt()));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Code::kUntrusted);
}

TEST_CASE("managed-key bundles verify with their key and not with another", "[sigstore][bundle_verify]") {
  auto key = load_public_key_file(case_dir("managed-key-happy-path") / "key.pub");
  REQUIRE(key.ok());
  auto v =
      verify_bundle_with_key(case_bundle("managed-key-happy-path"), default_trusted_root(), *key, bytes_ref(a_txt()));
  REQUIRE(v.ok());
  CHECK(v->identity().empty());
  CHECK_FALSE(v->signing_certificate().has_value());
  // SET and TSA both vouch for the same second (Dec 18 17:04:39 2025 GMT per `openssl ts -reply -text`).
  CHECK(v->verified_times() == std::vector<std::int64_t>{unix_time("2025-12-18T17:04:39Z")});
  std::string checks;
  for (const auto& c : v->checks()) {
    checks += c + "\n";
  }
  CHECK(checks.find("RFC 3161 timestamps verified") != std::string::npos);
  CHECK(checks.find("inclusion promise signed by") != std::string::npos);
  auto other = generate_private_key(KeyType::kEcdsaP256);
  REQUIRE(other.ok());
  auto r = verify_bundle_with_key(case_bundle("managed-key-happy-path"), default_trusted_root(), other->public_key(),
                                  bytes_ref(a_txt()));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Code::kMismatch);
  CHECK(r.error().message == "tlog entry 1: body signer is not the verification key");
}

TEST_CASE("DSSE bundles match the artifact against the statement's subjects", "[sigstore][bundle_verify]") {
  Json j = case_json("happy-path-intoto-in-dsse-v3");
  for (const ArtifactRef& a : {bytes_ref(a_txt()), digest_ref(a_txt())}) {
    auto v = keyless(j, default_trusted_root(), beacon(), a);
    REQUIRE(v.ok());
    CHECK(v->payload_type() == "application/vnd.in-toto+json");
    CHECK(v->payload() == b64(j["dsseEnvelope"]["payload"]));
  }
  Bytes other = {'n', 'o', 'p', 'e'};
  Error e = keyless_error(j, default_trusted_root(), beacon(), bytes_ref(other));
  CHECK(e.code == Code::kMismatch);
  CHECK(e.message.find("does not match any subject of the in-toto statement") != std::string::npos);
  // No artifact: the caller checks the payload itself.
  auto v = keyless(j, default_trusted_root(), beacon(), ArtifactRef{});
  REQUIRE(v.ok());
  CHECK(parse_statement(v->payload()).ok());
}

TEST_CASE("a DSSE envelope with two signatures is refused", "[sigstore][bundle_verify]") {
  Json j = case_json("happy-path-intoto-in-dsse-v3");
  j["dsseEnvelope"]["signatures"].push_back(j["dsseEnvelope"]["signatures"][0]);
  Error e = keyless_error(j, default_trusted_root());
  CHECK(e.code == Code::kMalformed);
  CHECK(e.message == "DSSE envelope must carry exactly one signature (found 2)");
}

TEST_CASE("a changed DSSE payload no longer matches the logged payload hash", "[sigstore][bundle_verify]") {
  Json j = case_json("happy-path-intoto-in-dsse-v3");
  j["dsseEnvelope"]["payload"] = flip_b64(j["dsseEnvelope"]["payload"], 5);
  Error e = keyless_error(j, default_trusted_root(), beacon(), ArtifactRef{});
  CHECK(e.code == Code::kMismatch);
  CHECK(e.message == "tlog entry 1: body payload hash does not match the bundle's");
}

TEST_CASE("Rekor v2 bundles get their time from the TSA, inside the log's key window", "[sigstore][bundle_verify]") {
  TrustedRoot root = root_or_throw(case_root_json("rekor2-happy-path"));
  auto v = keyless(case_json("rekor2-happy-path"), root);
  REQUIRE(v.ok());
  CHECK(v->verified_times() == std::vector<std::int64_t>{unix_time("2025-06-12T12:02:20Z")});

  Json no_ts = case_json("rekor2-happy-path");
  no_ts["verificationMaterial"].erase("timestampVerificationData");
  Error e = keyless_error(no_ts, root);
  CHECK(e.code == Code::kUntrusted);
  CHECK(e.message.rfind("tlog entry 1: a Rekor v2 entry needs a verified timestamp inside the validity of log", 0) ==
        0);

  Json late_log = case_root_json("rekor2-happy-path");
  for (auto& t : late_log["tlogs"]) {
    t["publicKey"]["validFor"]["start"] = "2025-06-12T12:02:21Z";
  }
  CHECK(keyless_error(case_json("rekor2-happy-path"), root_or_throw(late_log)).code == Code::kUntrusted);

  Json no_tsa = case_root_json("rekor2-happy-path");
  no_tsa.erase("timestampAuthorities");
  Error t = keyless_error(case_json("rekor2-happy-path"), root_or_throw(no_tsa));
  CHECK(t.code == Code::kUntrusted);
  CHECK(t.message == "no timestamp verifies: timestamp 1: the trusted root has no timestamp authorities");
}

TEST_CASE("a Rekor v2 body rebuilt for another artifact is a mismatch", "[sigstore][bundle_verify]") {
  Json j = case_json("rekor2-happy-path");
  j["messageSignature"].erase("messageDigest");
  TrustedRoot root = root_or_throw(case_root_json("rekor2-happy-path"));
  CHECK(keyless(j, root).ok());
  Bytes other = a_txt();
  other[0] ^= 1;
  // The timestamp covers the signature (still valid); the rebuilt JCS body differs in data.digest.
  Error e = keyless_error(j, root, beacon(), digest_ref(other));
  CHECK(e.code == Code::kMismatch);
  CHECK(e.message ==
        "tlog entry 1: hashedrekord 0.0.2 body does not match the bundle (digest, signature or signer differ)");
}

// --- model_signing sigstore bundles at the bundle level ----------------------------------------

TEST_CASE("the four model_signing sigstore bundles verify for stefanb@us.ibm.com and return the payload",
          "[sigstore][bundle_verify]") {
  IdentityPolicy ibm{"https://sigstore.verify.ibm.com/oauth2", "stefanb@us.ibm.com", false};
  for (std::string v : {"v0.3.1", "v1.0.0", "v1.0.1", "v1.1.0"}) {
    INFO(v);
    Json j = Json::parse(read_file(vectors_dir() / "model_signing/scripts/tests" / (v + "-sigstore") / "model.sig"));
    auto r = keyless(j, default_trusted_root(), ibm, ArtifactRef{});
    REQUIRE(r.ok());
    CHECK(r->identity() == "stefanb@us.ibm.com");
    CHECK(r->payload() == b64(j["dsseEnvelope"]["payload"]));
    auto st = parse_statement(r->payload());
    REQUIRE(st.ok());
    CHECK(st->predicate_type.rfind("https://model_signing/", 0) == 0);

    IdentityPolicy wrong_id = ibm;
    wrong_id.identity = "someone@us.ibm.com";
    CHECK(keyless_error(j, default_trusted_root(), wrong_id, ArtifactRef{}).code == Code::kUntrusted);
    IdentityPolicy wrong_issuer = ibm;
    wrong_issuer.issuer = "https://accounts.google.com";
    CHECK(keyless_error(j, default_trusted_root(), wrong_issuer, ArtifactRef{}).code == Code::kUntrusted);
    CHECK(keyless_error(j, root_or_throw(staging_json()), ibm, ArtifactRef{}).code == Code::kUntrusted);
  }
}

// --- synthetic log: the content signature on its own --------------------------------------------

TEST_CASE("a synthetic managed-key bundle verifies with its key", "[sigstore][bundle_verify]") {
  Synthetic s;
  Bytes artifact = {'h', 'e', 'l', 'l', 'o'};
  Json b = s.message_bundle(artifact, s.sign(s.signer_key, artifact));
  TrustedRoot root = root_or_throw(s.root);
  for (const ArtifactRef& a : {bytes_ref(artifact), digest_ref(artifact)}) {
    auto v = verify_bundle_with_key(parse_or_throw(b), root, s.signer(), a);
    REQUIRE(v.ok());
    CHECK(v->verified_times() == std::vector<std::int64_t>{1700000000});
  }
}

TEST_CASE("a logged signature over other bytes fails the signature check itself", "[sigstore][bundle_verify]") {
  Synthetic s;
  Bytes artifact = {'h', 'e', 'l', 'l', 'o'};
  Bytes wrong = s.sign(s.signer_key, Bytes{'o', 't', 'h', 'e', 'r'});
  Json b = s.message_bundle(artifact, wrong);  // body, SET and hint all consistent; only the math says no
  TrustedRoot root = root_or_throw(s.root);
  for (const ArtifactRef& a : {bytes_ref(artifact), digest_ref(artifact)}) {
    auto r = verify_bundle_with_key(parse_or_throw(b), root, s.signer(), a);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Code::kBadSignature);
    CHECK(r.error().message == "message signature does not verify with the signing key");
  }
}

TEST_CASE("a DSSE signature over another payload fails the signature check itself", "[sigstore][bundle_verify]") {
  Synthetic s;
  Bytes artifact = {'m', 'o', 'd', 'e', 'l'};
  Bytes payload = statement_for(artifact);
  TrustedRoot root = root_or_throw(s.root);
  Bytes good_sig = s.sign(s.signer_key, dsse_pae("application/vnd.in-toto+json", payload));
  auto ok =
      verify_bundle_with_key(parse_or_throw(s.dsse_bundle(payload, good_sig)), root, s.signer(), bytes_ref(artifact));
  REQUIRE(ok.ok());
  CHECK(ok->payload() == payload);

  Bytes bad_sig = s.sign(s.signer_key, payload);  // signed the payload, not its PAE
  auto r =
      verify_bundle_with_key(parse_or_throw(s.dsse_bundle(payload, bad_sig)), root, s.signer(), bytes_ref(artifact));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Code::kBadSignature);
  CHECK(r.error().message == "DSSE signature does not verify with the signing key");
}

TEST_CASE("a synthetic bundle from a log missing in the root has no evidence", "[sigstore][bundle_verify]") {
  Synthetic s;
  Bytes artifact = {'x'};
  Json b = s.message_bundle(artifact, s.sign(s.signer_key, artifact));
  Synthetic other;  // a different log key and ID
  auto r = verify_bundle_with_key(parse_or_throw(b), root_or_throw(other.root), s.signer(), bytes_ref(artifact));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Code::kUntrusted);
  CHECK(r.error().message == "no transparency log entry is from a trusted log");
  Json empty_root = {{"mediaType", "application/vnd.dev.sigstore.trustedroot+json;version=0.1"}};
  auto t = verify_bundle_with_key(parse_or_throw(b), root_or_throw(empty_root), s.signer(), bytes_ref(artifact));
  REQUIRE_FALSE(t.ok());
  CHECK(t.error().message == "no trusted signing time (no verified timestamp or inclusion promise)");
}

// --- properties under random corruption (a deterministic, in-process fuzz) -----------------------

TEST_CASE("one flipped bit in any signed field of a good bundle is always rejected", "[sigstore][bundle_verify]") {
  struct Target {
    std::string name;
    std::vector<std::vector<std::string>> fields;  // JSON paths of base64 fields the evidence covers
  };
  const std::vector<std::string> kBody = {"verificationMaterial", "tlogEntries", "0", "canonicalizedBody"};
  const std::vector<Target> targets = {
      {"happy-path-v0.1",
       {kBody,
        {"messageSignature", "signature"},
        {"verificationMaterial", "x509CertificateChain", "certificates", "0", "rawBytes"},
        {"verificationMaterial", "tlogEntries", "0", "inclusionPromise", "signedEntryTimestamp"},
        {"verificationMaterial", "tlogEntries", "0", "inclusionProof", "rootHash"},
        {"verificationMaterial", "tlogEntries", "0", "logId", "keyId"}}},
      {"happy-path-intoto-in-dsse-v3",
       {kBody,
        {"dsseEnvelope", "payload"},
        {"dsseEnvelope", "signatures", "0", "sig"},
        {"verificationMaterial", "certificate", "rawBytes"}}},
      {"rekor2-happy-path",
       {kBody, {"messageSignature", "signature"}, {"verificationMaterial", "certificate", "rawBytes"}}},
      // Not the whole RFC 3161 token: the certificates embedded in it are outside the CMS signature
      // and unused when the root supplies the TSA chain, so flips there are (rightly) harmless.
  };
  std::uint64_t seed = 1;
  int rejected = 0;
  for (const auto& t : targets) {
    TrustedRoot root = fs::exists(case_dir(t.name) / "trusted_root.json") ? root_or_throw(case_root_json(t.name))
                                                                          : default_trusted_root();
    for (const auto& field : t.fields) {
      for (int trial = 0; trial < 6; ++trial, ++seed) {
        Json j = case_json(t.name);
        Json* node = &j;
        for (const auto& k : field) {
          node = std::isdigit(static_cast<unsigned char>(k[0])) ? &(*node)[std::stoul(k)] : &(*node)[k];
        }
        Bytes bytes = b64(*node);
        auto r = random_bytes(8, seed);
        std::size_t pos = (static_cast<std::size_t>(r[0]) << 16 | r[1] << 8 | r[2]) % bytes.size();
        bytes[pos] ^= static_cast<std::uint8_t>(1u << (r[3] % 8));
        *node = base64_encode(bytes);
        INFO(t.name << " field " << field.back() << " byte " << pos);
        auto parsed = parse_bundle(j.dump());
        if (!parsed.ok()) {
          CHECK(parsed.error().code != Code::kInternal);
          ++rejected;
          continue;
        }
        auto v = verify_bundle_keyless(*parsed, root, beacon(),
                                       t.name == "happy-path-intoto-in-dsse-v3" ? ArtifactRef{} : bytes_ref(a_txt()));
        REQUIRE_FALSE(v.ok());
        CHECK(v.error().code != Code::kInternal);
        ++rejected;
      }
    }
  }
  CHECK(rejected == 13 * 6);
}

TEST_CASE("random byte damage to bundle text never crashes and never reports an internal error",
          "[sigstore][bundle_verify]") {
  const std::string names[] = {"happy-path-v0.1", "happy-path-intoto-in-dsse-v3", "rekor2-happy-path",
                               "managed-key-happy-path"};
  auto key = load_public_key_file(case_dir("managed-key-happy-path") / "key.pub");
  REQUIRE(key.ok());
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    const std::string& name = names[seed % 4];
    std::string text = read_file(case_dir(name) / "bundle.sigstore.json");
    auto r = random_bytes(16, 1000 + seed);
    for (int k = 0; k < 1 + r[0] % 4; ++k) {
      std::size_t pos = (static_cast<std::size_t>(r[1 + 3 * k]) << 8 | r[2 + 3 * k]) * 7919 % text.size();
      text[pos] = static_cast<char>(r[3 + 3 * k]);
    }
    auto parsed = parse_bundle(text);
    if (!parsed.ok()) {
      CHECK(parsed.error().code != Code::kInternal);
      continue;
    }
    TrustedRoot root =
        fs::exists(case_dir(name) / "trusted_root.json") ? root_or_throw(case_root_json(name)) : default_trusted_root();
    auto v = name == "managed-key-happy-path" ? verify_bundle_with_key(*parsed, root, *key, bytes_ref(a_txt()))
                                              : verify_bundle_keyless(*parsed, root, beacon(), bytes_ref(a_txt()));
    if (!v.ok()) {
      INFO(name << " seed " << seed << ": " << v.error().message);
      CHECK(v.error().code != Code::kInternal);
    }
  }
}
