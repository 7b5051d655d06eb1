// tlog_body_test.cpp: canonicalized bodies of every kind in the conformance data matched against
// their bundles, then one field of the body or of the expectation changed at a time.
#include "crypto/tlog_body.h"

#include <catch2/catch.hpp>
#include <functional>

#include "crypto/encoding.h"
#include "crypto/sigstore_fixtures.h"

namespace {

using namespace modelgate;
using namespace modelgate::crypto;
using namespace modelgate::testing;
using namespace modelgate::testing::sigstore;

using Bytes = std::vector<std::uint8_t>;

// Holder keeps what a LoggedSignature points into alive.
struct Holder {
  Bundle bundle;
  Certificate leaf;
  Bytes artifact;
  LoggedSignature expected;

  explicit Holder(Bundle b, Bytes art = a_txt())
      : bundle(std::move(b)), leaf(*Certificate::from_der(bundle.certificates_der.front())), artifact(std::move(art)) {
    expected.certificate = &leaf;
    if (bundle.dsse) {
      expected.dsse = &*bundle.dsse;
      expected.signature = bundle.dsse->signatures.front().sig;
    } else {
      expected.signature = bundle.message_signature->signature;
      expected.artifact_sha256 = digest(HashAlg::kSha256, artifact);
      expected.artifact_bytes = std::span<const std::uint8_t>(artifact);
    }
  }
  const TlogEntry& entry() const { return bundle.tlog_entries.front(); }
};

Bytes case_artifact(const std::string& name) {
  fs::path p = case_dir(name) / "artifact";
  return fs::exists(p) ? read_bytes(p) : a_txt();
}

// with_body replaces the first entry's canonicalized body by `body` (JSON re-serialised).
Bundle with_body(const std::string& name, const std::function<void(Json&)>& edit) {
  Json j = case_json(name);
  Json& e = j["verificationMaterial"]["tlogEntries"][0];
  auto raw = b64(e["canonicalizedBody"]);
  Json body = Json::parse(std::string(raw.begin(), raw.end()));
  edit(body);
  e["canonicalizedBody"] = base64_encode(as_bytes(body.dump()));
  return parse_or_throw(j);
}

Error mismatch_of(const Holder& h) {
  auto r = match_tlog_body(h.entry(), h.expected);
  REQUIRE_FALSE(r.ok());
  return r.error();
}

}  // namespace

TEST_CASE("bodies of every kind in the data match their own bundles", "[sigstore][tlog_body]") {
  for (std::string name : {"happy-path-v0.1", "happy-path-intoto-in-dsse-v3", "rekor2-happy-path",
                           "rekor2-dsse-happy-path", "intoto-tsa-timestamp-outside-cert-validity_fail"}) {
    INFO(name);
    Holder h(case_bundle(name), case_artifact(name));
    auto leaf = match_tlog_body(h.entry(), h.expected);
    REQUIRE(leaf.ok());
    // The Merkle leaf is the stored body; for Rekor v2 the rebuilt RFC 8785 body is byte-identical.
    CHECK(*leaf == h.entry().canonicalized_body);
  }
}

TEST_CASE("a Rekor v2 body matches from the digest alone for P-256 message signatures", "[sigstore][tlog_body]") {
  Holder h(case_bundle("rekor2-happy-path"));
  h.expected.artifact_bytes.reset();
  CHECK(match_tlog_body(h.entry(), h.expected).ok());
}

TEST_CASE("hashedrekord 0.0.1: digest, signature and certificate are each bound", "[sigstore][tlog_body]") {
  Holder digest_changed(
      with_body("happy-path-v0.1", [](Json& b) { b["spec"]["data"]["hash"]["value"] = std::string(64, '0'); }));
  CHECK(mismatch_of(digest_changed).message == "body artifact digest does not match the bundle's");
  Holder alg_changed(with_body("happy-path-v0.1", [](Json& b) { b["spec"]["data"]["hash"]["algorithm"] = "sha512"; }));
  CHECK(mismatch_of(alg_changed).code == Code::kMismatch);
  Holder sig_changed(with_body("happy-path-v0.1", [](Json& b) {
    b["spec"]["signature"]["content"] = flip_b64(b["spec"]["signature"]["content"], 9);
  }));
  CHECK(mismatch_of(sig_changed).message == "body signature does not match the bundle's signature");
  Holder key_changed(with_body("happy-path-v0.1", [](Json& b) {
    b["spec"]["signature"]["publicKey"]["content"] =
        base64_encode(as_bytes(read_file(vectors_dir() / "model_signing/scripts/tests/keys/certificate/ca-cert.pem")));
  }));
  CHECK(mismatch_of(key_changed).message == "body signer is not the bundle's certificate");
  Holder kind_changed(with_body("happy-path-v0.1", [](Json& b) { b["apiVersion"] = "0.0.2"; }));
  Error e = mismatch_of(kind_changed);
  CHECK(e.code == Code::kMismatch);
  CHECK(e.message == "body kind/apiVersion does not match kindVersion \"hashedrekord/0.0.1\"");
}

TEST_CASE("dsse 0.0.1: payload hash, signature and verifier are each bound", "[sigstore][tlog_body]") {
  Holder payload(with_body("happy-path-intoto-in-dsse-v3",
                           [](Json& b) { b["spec"]["payloadHash"]["value"] = std::string(64, 'a'); }));
  CHECK(mismatch_of(payload).message == "body payload hash does not match the bundle's");
  Holder two(with_body("happy-path-intoto-in-dsse-v3",
                       [](Json& b) { b["spec"]["signatures"].push_back(b["spec"]["signatures"][0]); }));
  CHECK(mismatch_of(two).message == "body must carry exactly one signature");
  Holder sig(with_body("happy-path-intoto-in-dsse-v3", [](Json& b) {
    b["spec"]["signatures"][0]["signature"] = flip_b64(b["spec"]["signatures"][0]["signature"], 4);
  }));
  CHECK(mismatch_of(sig).message == "body signature does not match the bundle's signature");
  Holder verifier(with_body("happy-path-intoto-in-dsse-v3", [](Json& b) {
    b["spec"]["signatures"][0]["verifier"] = base64_encode(as_bytes("not a pem"));
  }));
  CHECK(mismatch_of(verifier).message == "body signer is not the bundle's certificate");
}

TEST_CASE("intoto 0.0.2 needs the signature base64-encoded twice", "[sigstore][tlog_body]") {
  Holder single(case_bundle("intoto-log-entry-mismatch_fail"), case_artifact("intoto-log-entry-mismatch_fail"));
  Error e = mismatch_of(single);
  CHECK(e.code == Code::kMismatch);
  CHECK(e.message == "body signature is not double base64 encoded");
}

TEST_CASE("a message signature cannot be backed by a DSSE entry and vice versa", "[sigstore][tlog_body]") {
  // Give the DSSE bundle's entry to a message-signature expectation.
  Holder message(case_bundle("happy-path-v0.3"));
  Bundle dsse = case_bundle("happy-path-intoto-in-dsse-v3");
  auto r = match_tlog_body(dsse.tlog_entries.front(), message.expected);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Code::kMismatch);
  CHECK(r.error().message == "a message signature cannot be logged as dsse 0.0.1");
  Holder env(std::move(dsse));
  auto r2 = match_tlog_body(message.entry(), env.expected);
  REQUIRE_FALSE(r2.ok());
  CHECK(r2.error().message == "a DSSE bundle cannot be logged as hashedrekord 0.0.1");
}

TEST_CASE("a Rekor v2 body differing in one byte is a mismatch", "[sigstore][tlog_body]") {
  Json j = case_json("rekor2-happy-path");
  Json& e = j["verificationMaterial"]["tlogEntries"][0];
  auto raw = b64(e["canonicalizedBody"]);
  std::string text(raw.begin(), raw.end());
  text.insert(text.size() - 1, " ");  // same JSON, not the same RFC 8785 bytes
  e["canonicalizedBody"] = base64_encode(as_bytes(text));
  Holder h(parse_or_throw(j));
  Error err = mismatch_of(h);
  CHECK(err.code == Code::kMismatch);
  CHECK(err.message == "hashedrekord 0.0.2 body does not match the bundle (digest, signature or signer differ)");
}

TEST_CASE("unreadable bodies and unknown kinds fail without crashing", "[sigstore][tlog_body]") {
  Json j = case_json("happy-path-v0.3");
  j["verificationMaterial"]["tlogEntries"][0]["canonicalizedBody"] = base64_encode(as_bytes("{not json"));
  Holder h(parse_or_throw(j));
  auto r = match_tlog_body(h.entry(), h.expected);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Code::kMalformed);
  CHECK(r.error().message.rfind("canonicalized body: invalid JSON", 0) == 0);

  Holder rekord(with_body("happy-path-v0.3", [](Json& b) { b["kind"] = "rekord"; }));
  TlogEntry e = rekord.entry();
  e.kind = "rekord";
  auto u = match_tlog_body(e, rekord.expected);
  REQUIRE_FALSE(u.ok());
  CHECK(u.error().code == Code::kUnsupported);
}
