// bundle_test.cpp: strict bundle parsing, one defect at a time on top of real conformance bundles.
#include "crypto/bundle.h"

#include <catch2/catch.hpp>

#include "crypto/sigstore_fixtures.h"
#include "test_support.h"

namespace {

using namespace modelgate;
using namespace modelgate::crypto;
using namespace modelgate::testing;
using namespace modelgate::testing::sigstore;

Error parse_error(const Json& j) {
  auto r = parse_bundle(j.dump());
  REQUIRE_FALSE(r.ok());
  return r.error();
}

Json& first_entry(Json& j) {
  return j["verificationMaterial"]["tlogEntries"][0];
}

}  // namespace

TEST_CASE("happy-path-v0.1 parses into decoded fields", "[sigstore][bundle]") {
  Json j = case_json("happy-path-v0.1");
  Bundle b = parse_or_throw(j);
  CHECK(b.version == BundleVersion::kV01);
  CHECK(b.material == MaterialKind::kCertificateChain);
  REQUIRE(b.certificates_der.size() == 1);
  CHECK(b.certificates_der[0] == b64(j["verificationMaterial"]["x509CertificateChain"]["certificates"][0]["rawBytes"]));
  REQUIRE(b.tlog_entries.size() == 1);
  const TlogEntry& e = b.tlog_entries[0];
  CHECK(e.log_index == 27246492);
  CHECK(e.inclusion_proof->log_index == 23083061);
  CHECK(e.inclusion_proof->tree_size == 23083062);
  CHECK(e.integrated_time == 1689177396);
  CHECK(e.kind == "hashedrekord");
  CHECK(e.version == "0.0.1");
  CHECK(base64_encode(e.log_id) == "wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0=");
  CHECK(e.signed_entry_timestamp.has_value());
  CHECK(e.inclusion_proof->hashes.size() ==
        j["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["hashes"].size());
  CHECK(e.inclusion_proof->checkpoint.rfind("rekor.sigstore.dev - 2605736670972794746\n23083062\n", 0) == 0);
  std::string body(e.canonicalized_body.begin(), e.canonicalized_body.end());
  CHECK(body.rfind("{\"apiVersion\":\"0.0.1\",\"kind\":\"hashedrekord\"", 0) == 0);
  REQUIRE(b.message_signature.has_value());
  CHECK(b.message_signature->digest_algorithm == "SHA2_256");
  CHECK(to_hex(*b.message_signature->digest) == sha256sum_hex(conformance_dir() / "cases/a.txt"));
  CHECK_FALSE(b.dsse.has_value());
}

TEST_CASE("every media type spelling maps to its version and others are unsupported", "[sigstore][bundle]") {
  Json j = case_json("happy-path-v0.2");
  j["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.2";
  CHECK(parse_or_throw(j).version == BundleVersion::kV02);
  Json v3 = case_json("happy-path-v0.3");
  for (std::string mt :
       {"application/vnd.dev.sigstore.bundle+json;version=0.3", "application/vnd.dev.sigstore.bundle.v0.3+json"}) {
    v3["mediaType"] = mt;
    CHECK(parse_or_throw(v3).version == BundleVersion::kV03);
  }
  for (std::string mt : {"application/vnd.dev.sigstore.bundle+json;version=99.9",
                         "application/vnd.dev.sigstore.bundle.v0.4+json", "this is completely wrong", ""}) {
    v3["mediaType"] = mt;
    Error e = parse_error(v3);
    CHECK(e.code == Code::kUnsupported);
    CHECK(e.message.rfind("bundle.mediaType: unsupported media type", 0) == 0);
  }
}

TEST_CASE("invalid base64 in a bytes field is malformed and names the field", "[sigstore][bundle]") {
  Json j = case_json("happy-path-v0.3");
  j["messageSignature"]["signature"] = "INVALID!!!BASE64!!!ENCODING====";
  Error e = parse_error(j);
  CHECK(e.code == Code::kMalformed);
  CHECK(e.message.rfind("bundle.messageSignature.signature: ", 0) == 0);
}

TEST_CASE("base64 with embedded CR/LF and URL-safe or unpadded forms is accepted", "[sigstore][bundle]") {
  Json j = case_json("happy-path-v0.3");
  std::string sig = j["messageSignature"]["signature"];
  Bundle want = parse_or_throw(j);
  std::string wrapped = sig.substr(0, 10) + "\r\n" + sig.substr(10);
  j["messageSignature"]["signature"] = wrapped;
  CHECK(parse_or_throw(j).message_signature->signature == want.message_signature->signature);
  std::string url = sig;
  for (char& c : url) {
    c = c == '+' ? '-' : c == '/' ? '_' : c;
  }
  while (!url.empty() && url.back() == '=') {
    url.pop_back();
  }
  j["messageSignature"]["signature"] = url;
  CHECK(parse_or_throw(j).message_signature->signature == want.message_signature->signature);
}

TEST_CASE("duplicate JSON keys are rejected", "[sigstore][bundle]") {
  std::string text = read_file(case_dir("happy-path-v0.3") / "bundle.sigstore.json");
  auto pos = text.find("\"mediaType\"");
  REQUIRE(pos != std::string::npos);
  text.insert(pos, "\"mediaType\": \"application/vnd.dev.sigstore.bundle.v0.3+json\", ");
  auto r = parse_bundle(text);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Code::kMalformed);
  CHECK(r.error().message.find("duplicate key \"mediaType\"") != std::string::npos);
}

TEST_CASE("two members of a oneof are rejected", "[sigstore][bundle]") {
  Json j = case_json("happy-path-v0.3");
  j["dsseEnvelope"] = case_json("happy-path-intoto-in-dsse-v3")["dsseEnvelope"];
  Error content = parse_error(j);
  CHECK(content.code == Code::kMalformed);
  CHECK(content.message == "bundle: needs exactly one of messageSignature, dsseEnvelope (found 2)");

  Json m = case_json("happy-path-v0.3");
  m["verificationMaterial"]["publicKey"] = Json{{"hint", "abc"}};
  Error material = parse_error(m);
  CHECK(material.code == Code::kMalformed);
  CHECK(material.message.find("needs exactly one of publicKey, x509CertificateChain, certificate (found 2)") !=
        std::string::npos);

  Json none = case_json("happy-path-v0.3");
  none.erase("messageSignature");
  CHECK(parse_error(none).message == "bundle: needs exactly one of messageSignature, dsseEnvelope (found 0)");
}

TEST_CASE("JSON null means absent", "[sigstore][bundle]") {
  Json j = case_json("happy-path-v0.3");
  j["dsseEnvelope"] = nullptr;
  j["verificationMaterial"]["publicKey"] = nullptr;
  CHECK(parse_bundle(j.dump()).ok());
}

TEST_CASE("too many tlog entries and timestamps hit the limit", "[sigstore][bundle]") {
  Json j = case_json("happy-path-v0.3");
  Json entry = first_entry(j);
  for (int i = 0; i < 32; ++i) {
    j["verificationMaterial"]["tlogEntries"].push_back(entry);
  }
  Error e = parse_error(j);
  CHECK(e.code == Code::kLimit);
  CHECK(e.message == "bundle.verificationMaterial.tlogEntries: too many entries (33 > 32)");

  Json t = case_json("rekor2-happy-path");
  Json& ts = t["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"];
  std::string one = ts[0]["signedTimestamp"];
  for (int i = 0; i < 32; ++i) {
    // Distinct encodings of distinct bytes: append a byte so the duplicate check does not fire first.
    auto bytes = b64(Json(one));
    bytes.push_back(static_cast<std::uint8_t>(i));
    ts.push_back(Json{{"signedTimestamp", base64_encode(bytes)}});
  }
  Error te = parse_error(t);
  CHECK(te.code == Code::kLimit);
  CHECK(te.message.find("too many timestamps (33 > 32)") != std::string::npos);
}

TEST_CASE("a duplicate RFC 3161 timestamp is rejected", "[sigstore][bundle]") {
  Json t = case_json("rekor2-happy-path");
  Json& ts = t["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"];
  ts.push_back(ts[0]);
  Error e = parse_error(t);
  CHECK(e.code == Code::kMalformed);
  CHECK(e.message == "bundle.verificationMaterial.timestampVerificationData.rfc3161Timestamps[1]: duplicate timestamp");
}

TEST_CASE("a negative logIndex is rejected; int64 fields accept strings and numbers", "[sigstore][bundle]") {
  Json j = case_json("happy-path-v0.3");
  first_entry(j)["logIndex"] = "-1";
  Error e = parse_error(j);
  CHECK(e.code == Code::kMalformed);
  CHECK(e.message == "bundle.verificationMaterial.tlogEntries[0].logIndex: is negative (-1)");

  Json n = case_json("happy-path-v0.3");
  first_entry(n)["logIndex"] = 27246492;
  first_entry(n)["integratedTime"] = 1689177396;
  Bundle b = parse_or_throw(n);
  CHECK(b.tlog_entries[0].log_index == 27246492);

  Json f = case_json("happy-path-v0.3");
  first_entry(f)["logIndex"] = "12.5";
  CHECK(parse_error(f).code == Code::kMalformed);
}

TEST_CASE("version rules: v0.1 needs a SET, v0.2+ a proof, every proof a checkpoint", "[sigstore][bundle]") {
  Json v1 = case_json("happy-path-v0.1");
  first_entry(v1).erase("inclusionPromise");
  CHECK(parse_error(v1).message ==
        "bundle.verificationMaterial.tlogEntries[0].inclusionPromise: is missing (required in bundle v0.1)");

  Json v1_no_proof = case_json("happy-path-v0.1");
  first_entry(v1_no_proof).erase("inclusionProof");
  CHECK(parse_bundle(v1_no_proof.dump()).ok());  // SET-only v0.1 is valid (§2.1)

  Json v2 = case_json("happy-path-v0.2");
  first_entry(v2).erase("inclusionProof");
  CHECK(parse_error(v2).message ==
        "bundle.verificationMaterial.tlogEntries[0].inclusionProof: is missing (required since bundle v0.2)");

  Json no_cp = case_json("happy-path-v0.1");
  first_entry(no_cp)["inclusionProof"].erase("checkpoint");
  CHECK(parse_error(no_cp).message ==
        "bundle.verificationMaterial.tlogEntries[0].inclusionProof.checkpoint: is missing");

  // v0.3 with a chain parses (model_signing certificate bundles); verify_bundle_keyless refuses it.
  Json v3chain = case_json("happy-path-v0.2");
  v3chain["mediaType"] = "application/vnd.dev.sigstore.bundle.v0.3+json";
  CHECK(parse_or_throw(v3chain).material == MaterialKind::kCertificateChain);
}

TEST_CASE("an empty certificate chain is rejected", "[sigstore][bundle]") {
  Json j = case_json("happy-path-v0.1");
  j["verificationMaterial"]["x509CertificateChain"]["certificates"] = Json::array();
  Error e = parse_error(j);
  CHECK(e.code == Code::kMalformed);
  CHECK(e.message == "bundle.verificationMaterial.x509CertificateChain.certificates: is empty");
}

TEST_CASE("unknown fields are rejected at every level", "[sigstore][bundle]") {
  Json top = case_json("happy-path-v0.3");
  top["extra"] = 1;
  CHECK(parse_error(top).message == "bundle.extra: unknown field");
  Json deep = case_json("happy-path-v0.3");
  first_entry(deep)["inclusionProof"]["surprise"] = "x";
  CHECK(parse_error(deep).message ==
        "bundle.verificationMaterial.tlogEntries[0].inclusionProof.surprise: unknown field");
}

TEST_CASE("a DSSE envelope with two signatures parses; the verifier enforces one", "[sigstore][bundle]") {
  Json j = case_json("happy-path-intoto-in-dsse-v3");
  j["dsseEnvelope"]["signatures"].push_back(j["dsseEnvelope"]["signatures"][0]);
  Bundle b = parse_or_throw(j);
  CHECK(b.dsse->signatures.size() == 2);
  CHECK(b.dsse->payload_type == "application/vnd.in-toto+json");
}

TEST_CASE("model_signing certificate bundles (v0.3 with a chain, no tlog entries) parse", "[sigstore][bundle]") {
  for (std::string v : {"v0.3.1", "v1.0.0", "v1.1.0"}) {
    INFO(v);
    auto b =
        parse_bundle(read_file(vectors_dir() / "model_signing/scripts/tests" / (v + "-certificate") / "model.sig"));
    REQUIRE(b.ok());
    CHECK(b->material == MaterialKind::kCertificateChain);
    CHECK(b->certificates_der.size() >= 2);
    CHECK(b->tlog_entries.empty());
  }
}

TEST_CASE("all four model_signing sigstore bundles parse as v0.3 DSSE with one Rekor v1 entry", "[sigstore][bundle]") {
  for (std::string v : {"v0.3.1", "v1.0.0", "v1.0.1", "v1.1.0"}) {
    INFO(v);
    auto b = parse_bundle(read_file(vectors_dir() / "model_signing/scripts/tests" / (v + "-sigstore") / "model.sig"));
    REQUIRE(b.ok());
    CHECK(b->version == BundleVersion::kV03);
    CHECK(b->material == MaterialKind::kCertificate);
    CHECK(b->dsse.has_value());
    REQUIRE(b->tlog_entries.size() == 1);
    CHECK(b->tlog_entries[0].kind == "dsse");
  }
}

TEST_CASE("legacy model_signing key bundles keep publicKey rawBytes and keyDetails", "[sigstore][bundle]") {
  auto b = parse_bundle(read_file(vectors_dir() / "model_signing/scripts/tests/v1.0.0-elliptic-key/model.sig"));
  REQUIRE(b.ok());
  CHECK(b->material == MaterialKind::kPublicKey);
  REQUIRE(b->public_key_raw_bytes.has_value());
  std::string pem(b->public_key_raw_bytes->begin(), b->public_key_raw_bytes->end());
  CHECK(pem.rfind("-----BEGIN PUBLIC KEY-----", 0) == 0);
  CHECK(b->public_key_details.has_value());
  CHECK(b->tlog_entries.empty());
}
