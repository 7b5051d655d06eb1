#include "crypto/attestation.h"

#include <nlohmann/json.hpp>

#include "crypto/dsse.h"
#include "crypto/encoding.h"
#include "crypto/model_signature.h"

namespace modelgate::crypto {

namespace {

using OrderedJson = nlohmann::ordered_json;

}  // namespace

std::string build_statement(std::string_view subject_name, const Sha256Digest& root, std::string_view predicate_type,
                            const Json& predicate) {
  OrderedJson st = OrderedJson::object();
  st["_type"] = std::string(kStatementTypeV1);
  OrderedJson subject = OrderedJson::object();
  subject["name"] = std::string(subject_name);
  subject["digest"] = OrderedJson::object({{"sha256", to_hex(root)}});
  st["subject"] = OrderedJson::array({subject});
  st["predicateType"] = std::string(predicate_type);
  st["predicate"] = OrderedJson::parse(predicate.dump());
  return st.dump(-1, ' ', true);
}

Result<void> check_signer(const ModelSigner& signer) {
  const PrivateKey& key = std::holds_alternative<KeySigner>(signer) ? std::get<KeySigner>(signer).private_key
                                                                    : std::get<CertificateSigner>(signer).private_key;
  if (!is_ecdsa(key.type())) {
    return make_error(Code::kUnsupported, "private key: " + std::string(key_type_name(key.type())) +
                                              " keys are not supported (ECDSA P-256, P-384, P-521)");
  }
  if (const auto* cs = std::get_if<CertificateSigner>(&signer)) {
    if (!cs->signing_certificate.public_key().equals(key.public_key())) {
      return make_error(Code::kMismatch, "signing certificate " + quote_for_message(cs->signing_certificate.subject()) +
                                             " does not certify the private key");
    }
  }
  return ok_status();
}

Result<std::string> sign_statement_bundle(std::string_view payload, const ModelSigner& signer) {
  MG_TRY(check_signer(signer));
  const PrivateKey& key = std::holds_alternative<KeySigner>(signer) ? std::get<KeySigner>(signer).private_key
                                                                    : std::get<CertificateSigner>(signer).private_key;
  PublicKey public_key = key.public_key();
  std::vector<std::uint8_t> pae = dsse_pae(kInTotoPayloadType, as_bytes(payload));
  HashAlg hash = curve_hash(public_key);
  MG_ASSIGN_OR_RETURN_CTX(std::vector<std::uint8_t> sig, sign_data(key, hash, pae), "signing");
  // A fault while signing must not leave a bad signature behind.
  MG_TRY_CTX(verify_signature(public_key, hash, pae, sig), "signing: self-check");

  OrderedJson material = OrderedJson::object();
  if (const auto* cs = std::get_if<CertificateSigner>(&signer)) {
    OrderedJson certs = OrderedJson::array();
    certs.push_back(OrderedJson::object({{"rawBytes", base64_encode(cs->signing_certificate.der())}}));
    for (const Certificate& c : cs->chain) {
      certs.push_back(OrderedJson::object({{"rawBytes", base64_encode(c.der())}}));
    }
    material["x509CertificateChain"] = OrderedJson::object({{"certificates", std::move(certs)}});
  } else {
    material["publicKey"] = OrderedJson::object({{"hint", public_key_hint(public_key)}});
  }
  material["tlogEntries"] = OrderedJson::array();

  OrderedJson envelope = OrderedJson::object();
  envelope["payload"] = base64_encode(as_bytes(payload));
  envelope["payloadType"] = std::string(kInTotoPayloadType);
  envelope["signatures"] = OrderedJson::array({OrderedJson::object({{"sig", base64_encode(sig)}, {"keyid", ""}})});

  OrderedJson bundle = OrderedJson::object();
  bundle["mediaType"] = std::string(kBundleMediaTypeV03);
  bundle["verificationMaterial"] = std::move(material);
  bundle["dsseEnvelope"] = std::move(envelope);
  return bundle.dump();
}

bool VerifiedAttestation::subject_has_sha256(const Sha256Digest& root) const {
  const std::string want = to_hex(root);
  for (const StatementSubject& s : statement_.subjects) {
    auto it = s.digest.find("sha256");
    if (it != s.digest.end() && constant_time_equal(as_bytes(it->second), as_bytes(want))) {
      return true;
    }
  }
  return false;
}

class AttestationVerifierImpl {
 public:
  static Result<VerifiedAttestation> run(const Bundle& bundle, const VerifyMethod& method,
                                         const DsseVerifyOptions& options) {
    DsseVerifyOptions o = options;
    o.allow_legacy_pae = false;  // only model_signing ≤ 0.2 signed the legacy PAE
    MG_ASSIGN_OR_RETURN(VerifiedEnvelope env, verify_dsse_bundle(bundle, method, o));
    MG_ASSIGN_OR_RETURN_CTX(Statement st, parse_statement(env.payload()), "statement");
    VerifiedAttestation out(std::move(env));
    out.statement_ = std::move(st);
    return out;
  }
};

Result<VerifiedAttestation> verify_attestation(const Bundle& bundle, const VerifyMethod& method,
                                               const DsseVerifyOptions& options) {
  return AttestationVerifierImpl::run(bundle, method, options);
}

}  // namespace modelgate::crypto
