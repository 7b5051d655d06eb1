#include "crypto/tlog_body.h"

#include <openssl/rsa.h>

#include "base/limits.h"
#include "crypto/dsse.h"
#include "crypto/encoding.h"
#include "crypto/json.h"
#include "crypto/quote.h"

namespace modelgate::crypto {

namespace {

Error mismatch(const std::string& what) {
  return make_error(Code::kMismatch, what);
}

// Bytes of a base64 string field; any decoding problem is a mismatch, not a crash (§2.6 intoto).
Result<std::vector<std::uint8_t>> body_bytes(const Json& obj, std::string_view key, std::string_view path) {
  auto r = get_bytes(obj, key, path, limits::kMaxBundleBytes);
  if (!r.ok()) {
    return mismatch("body " + r.error().message);
  }
  return std::move(r).value();
}

Result<const Json*> body_object(const Json& obj, std::string_view key, std::string_view path) {
  auto r = get_object(obj, key, path);
  if (!r.ok()) {
    return mismatch("body " + r.error().message);
  }
  return r.value();
}

// check_hash checks a {"algorithm":"sha256","value":hex} object against `expected`.
Result<void> check_hash(const Json& obj, std::string_view path, std::span<const std::uint8_t> expected,
                        std::string_view what) {
  auto alg = get_string(obj, "algorithm", path);
  auto value = get_string(obj, "value", path);
  if (!alg.ok() || !value.ok() || alg.value() != "sha256") {
    return mismatch("body " + std::string(path) + " is not a sha256 hash");
  }
  auto bytes = from_hex(value.value());
  if (!bytes.ok() || !constant_time_equal(bytes.value(), expected)) {
    return mismatch("body " + std::string(what) + " does not match the bundle's");
  }
  return ok_status();
}

// check_signer checks that base64 `pem_b64` holds the PEM of the expected certificate or key.
Result<void> check_signer(const std::vector<std::uint8_t>& pem_bytes, const LoggedSignature& expected) {
  std::string_view pem(reinterpret_cast<const char*>(pem_bytes.data()), pem_bytes.size());
  if (expected.certificate != nullptr) {
    auto certs = parse_pem_certificates(pem);
    if (!certs.ok() || certs->size() != 1 || certs->front().der() != expected.certificate->der()) {
      return mismatch("body signer is not the bundle's certificate");
    }
    return ok_status();
  }
  auto key = parse_public_key_pem(pem);
  if (!key.ok() || expected.key == nullptr || !key->equals(*expected.key)) {
    return mismatch("body signer is not the verification key");
  }
  return ok_status();
}

Result<void> check_signature_bytes(const std::vector<std::uint8_t>& logged, const LoggedSignature& expected) {
  if (!constant_time_equal(logged, expected.signature)) {
    return mismatch("body signature does not match the bundle's signature");
  }
  return ok_status();
}

Result<void> match_hashedrekord_v001(const Json& spec, const LoggedSignature& expected) {
  if (expected.dsse != nullptr) {
    return mismatch("a DSSE bundle cannot be logged as hashedrekord 0.0.1");
  }
  if (!expected.artifact_sha256) {
    return make_error(Code::kInternal, "artifact digest not provided");
  }
  MG_ASSIGN_OR_RETURN(const Json* data, body_object(spec, "data", "spec"));
  MG_ASSIGN_OR_RETURN(const Json* hash, body_object(*data, "hash", "spec.data"));
  MG_TRY(check_hash(*hash, "spec.data.hash", *expected.artifact_sha256, "artifact digest"));
  MG_ASSIGN_OR_RETURN(const Json* sig, body_object(spec, "signature", "spec"));
  MG_ASSIGN_OR_RETURN(auto content, body_bytes(*sig, "content", "spec.signature"));
  MG_TRY(check_signature_bytes(content, expected));
  MG_ASSIGN_OR_RETURN(const Json* pk, body_object(*sig, "publicKey", "spec.signature"));
  MG_ASSIGN_OR_RETURN(auto pem, body_bytes(*pk, "content", "spec.signature.publicKey"));
  return check_signer(pem, expected);
}

Result<void> match_dsse_v001(const Json& spec, const LoggedSignature& expected) {
  if (expected.dsse == nullptr) {
    return mismatch("a message signature cannot be logged as dsse 0.0.1");
  }
  MG_ASSIGN_OR_RETURN(const Json* ph, body_object(spec, "payloadHash", "spec"));
  MG_TRY(check_hash(*ph, "spec.payloadHash", digest(HashAlg::kSha256, expected.dsse->payload), "payload hash"));
  const Json* sigs = find_field(spec, "signatures");
  if (sigs == nullptr || !sigs->is_array() || sigs->size() != 1 || !(*sigs)[0].is_object()) {
    return mismatch("body must carry exactly one signature");
  }
  MG_ASSIGN_OR_RETURN(auto sig, body_bytes((*sigs)[0], "signature", "spec.signatures[0]"));
  MG_TRY(check_signature_bytes(sig, expected));
  MG_ASSIGN_OR_RETURN(auto pem, body_bytes((*sigs)[0], "verifier", "spec.signatures[0]"));
  return check_signer(pem, expected);
}

Result<void> match_intoto_v002(const Json& spec, const LoggedSignature& expected) {
  if (expected.dsse == nullptr) {
    return mismatch("a message signature cannot be logged as intoto 0.0.2");
  }
  MG_ASSIGN_OR_RETURN(const Json* content, body_object(spec, "content", "spec"));
  MG_ASSIGN_OR_RETURN(const Json* ph, body_object(*content, "payloadHash", "spec.content"));
  MG_TRY(check_hash(*ph, "spec.content.payloadHash", digest(HashAlg::kSha256, expected.dsse->payload), "payload hash"));
  MG_ASSIGN_OR_RETURN(const Json* env, body_object(*content, "envelope", "spec.content"));
  const Json* sigs = find_field(*env, "signatures");
  if (sigs == nullptr || !sigs->is_array() || sigs->size() != 1 || !(*sigs)[0].is_object()) {
    return mismatch("body must carry exactly one signature");
  }
  // intoto 0.0.2 stores base64(base64(sig)) (§2.6): decode twice.
  MG_ASSIGN_OR_RETURN(auto once, body_bytes((*sigs)[0], "sig", "spec.content.envelope.signatures[0]"));
  auto twice =
      base64_decode(std::string_view(reinterpret_cast<const char*>(once.data()), once.size()), limits::kMaxBundleBytes);
  if (!twice.ok()) {
    return mismatch("body signature is not double base64 encoded");
  }
  MG_TRY(check_signature_bytes(twice.value(), expected));
  MG_ASSIGN_OR_RETURN(auto pem, body_bytes((*sigs)[0], "publicKey", "spec.content.envelope.signatures[0]"));
  return check_signer(pem, expected);
}

struct V2Params {
  std::string key_details;
  std::string algorithm;
  HashAlg hash;
};

Result<V2Params> v2_params(const PublicKey& key) {
  switch (key.type()) {
    case KeyType::kEcdsaP256: return V2Params{"PKIX_ECDSA_P256_SHA_256", "SHA2_256", HashAlg::kSha256};
    case KeyType::kEcdsaP384: return V2Params{"PKIX_ECDSA_P384_SHA_384", "SHA2_384", HashAlg::kSha384};
    case KeyType::kEcdsaP521: return V2Params{"PKIX_ECDSA_P521_SHA_512", "SHA2_512", HashAlg::kSha512};
    case KeyType::kRsa: {
      int bits = EVP_PKEY_get_bits(key.get());
      if (bits != 2048 && bits != 3072 && bits != 4096) {
        return make_error(Code::kUnsupported, "RSA-" + std::to_string(bits) + " keys are not supported");
      }
      return V2Params{"PKIX_RSA_PKCS1V15_" + std::to_string(bits) + "_SHA256", "SHA2_256", HashAlg::kSha256};
    }
    default:
      // Ed25519 hashedrekord entries are Ed25519ph, which OpenSSL 3.0 cannot verify (§3.2).
      return make_error(Code::kUnsupported, "hashedrekord 0.0.2 with a " + std::string(key_type_name(key.type())) +
                                                " key is not supported");
  }
}

Result<std::vector<std::uint8_t>> rebuild_hashedrekord_v002(const LoggedSignature& expected) {
  PublicKey key = expected.certificate != nullptr ? expected.certificate->public_key() : *expected.key;
  MG_ASSIGN_OR_RETURN(V2Params params, v2_params(key));
  std::vector<std::uint8_t> data_digest;
  if (expected.dsse != nullptr) {
    data_digest = digest(params.hash, dsse_pae(expected.dsse->payload_type, expected.dsse->payload));
  } else if (params.hash == HashAlg::kSha256 && expected.artifact_sha256) {
    data_digest = *expected.artifact_sha256;
  } else if (expected.artifact_bytes) {
    data_digest = digest(params.hash, *expected.artifact_bytes);
  } else {
    return make_error(Code::kUnsupported,
                      "a " + params.algorithm + " entry needs the artifact itself, not its sha256 digest");
  }
  // hashedrekord 0.0.2 as Rekor v2 stores it: RFC 8785 JSON. nlohmann's object is a sorted map and
  // dump() is compact with '/' unescaped, which is JCS for these ASCII-only values.
  Json verifier = Json::object();
  verifier["keyDetails"] = params.key_details;
  if (expected.certificate != nullptr) {
    verifier["x509Certificate"] = Json{{"rawBytes", base64_encode(expected.certificate->der())}};
  } else {
    verifier["publicKey"] = Json{{"rawBytes", base64_encode(key.spki_der())}};
  }
  Json body = Json::object();
  body["apiVersion"] = "0.0.2";
  body["kind"] = "hashedrekord";
  body["spec"]["hashedRekordV002"]["data"] =
      Json{{"algorithm", params.algorithm}, {"digest", base64_encode(data_digest)}};
  body["spec"]["hashedRekordV002"]["signature"] =
      Json{{"content", base64_encode(expected.signature)}, {"verifier", std::move(verifier)}};
  std::string text = body.dump();
  return std::vector<std::uint8_t>(text.begin(), text.end());
}

}  // namespace

Result<std::vector<std::uint8_t>> match_tlog_body(const TlogEntry& entry, const LoggedSignature& expected) {
  if ((expected.certificate == nullptr) == (expected.key == nullptr)) {
    return make_error(Code::kInternal, "exactly one signer must be given");
  }
  if (entry.kind == "hashedrekord" && entry.version == "0.0.2") {
    MG_ASSIGN_OR_RETURN(auto rebuilt, rebuild_hashedrekord_v002(expected));
    if (rebuilt != entry.canonicalized_body) {
      return mismatch("hashedrekord 0.0.2 body does not match the bundle (digest, signature or signer differ)");
    }
    return rebuilt;
  }
  std::string_view text(reinterpret_cast<const char*>(entry.canonicalized_body.data()),
                        entry.canonicalized_body.size());
  auto doc = parse_json(text, {limits::kMaxBundleBytes, limits::kMaxJsonDepth});
  if (!doc.ok()) {
    return std::move(doc).error().context("canonicalized body");
  }
  if (!doc->is_object()) {
    return make_error(Code::kMalformed, "canonicalized body is not a JSON object");
  }
  auto kind = get_string(*doc, "kind", "body");
  auto api = get_string(*doc, "apiVersion", "body");
  if (!kind.ok() || !api.ok() || kind.value() != entry.kind || api.value() != entry.version) {
    return mismatch("body kind/apiVersion does not match kindVersion " +
                    quote_untrusted(entry.kind.substr(0, 32) + "/" + entry.version.substr(0, 32)));
  }
  MG_ASSIGN_OR_RETURN(const Json* spec, body_object(*doc, "spec", "body"));
  if (entry.kind == "hashedrekord" && entry.version == "0.0.1") {
    MG_TRY(match_hashedrekord_v001(*spec, expected));
  } else if (entry.kind == "dsse" && entry.version == "0.0.1") {
    MG_TRY(match_dsse_v001(*spec, expected));
  } else if (entry.kind == "intoto" && entry.version == "0.0.2") {
    MG_TRY(match_intoto_v002(*spec, expected));
  } else {
    return make_error(Code::kUnsupported, "unsupported kind " + quote_untrusted(entry.kind.substr(0, 32) + "/" +
                                                                                entry.version.substr(0, 32)));
  }
  return entry.canonicalized_body;
}

}  // namespace modelgate::crypto
