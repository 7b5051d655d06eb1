#include "crypto/dsse_verify.h"

#include <algorithm>
#include <ctime>
#include <initializer_list>

#include "crypto/dsse.h"
#include "crypto/encoding.h"
#include "crypto/model_signature.h"
#include "crypto/statement.h"

namespace modelgate::crypto {

namespace {

std::string short_hex(std::string_view hex) {
  return hex.size() > 16 ? std::string(hex.substr(0, 8)) + "…" + std::string(hex.substr(hex.size() - 4))
                         : std::string(hex);
}

}  // namespace

std::string python_bytes_repr(std::span<const std::uint8_t> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  bool has_single = std::find(bytes.begin(), bytes.end(), '\'') != bytes.end();
  bool has_double = std::find(bytes.begin(), bytes.end(), '"') != bytes.end();
  // CPython bytes_repr: use '"' only when the bytes contain ' and no ".
  char quote = (has_single && !has_double) ? '"' : '\'';
  std::string out;
  out.reserve(bytes.size() + bytes.size() / 8 + 3);
  out += 'b';
  out += quote;
  for (std::uint8_t c : bytes) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == static_cast<std::uint8_t>(quote)) {
      out += '\\';
      out += quote;
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c >= 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  out += quote;
  return out;
}

std::vector<std::uint8_t> legacy_v02_pae(std::span<const std::uint8_t> payload) {
  // model_signing ≤ 0.2 built the PAE with a capital V and the Python repr of the payload
  // (model_signing.md §1.2); the payload type is fixed.
  std::string s = "DSSEV1 28 application/vnd.in-toto+json " + std::to_string(payload.size()) + " " +
                  python_bytes_repr(payload);
  return std::vector<std::uint8_t>(s.begin(), s.end());
}

std::string_view verify_method_name(const VerifyMethod& method) {
  switch (method.index()) {
    case 0: return "key";
    case 1: return "certificate";
    default: return "sigstore";
  }
}

// DsseVerifierImpl runs one verification; it is the only maker of VerifiedEnvelope.
class DsseVerifierImpl {
 public:
  DsseVerifierImpl(const Bundle& bundle, const VerifyMethod& method, const DsseVerifyOptions& options)
      : bundle_(bundle), method_(method), options_(options) {}

  Result<VerifiedEnvelope> run() {
    bool legacy_pae = false;
    if (const auto* key = std::get_if<KeyMethod>(&method_)) {
      MG_TRY(verify_key(bundle_, *key, legacy_pae));
      out_.payload_type_ = bundle_.dsse->payload_type;
      out_.payload_ = bundle_.dsse->payload;
    } else if (const auto* cert = std::get_if<CertificateMethod>(&method_)) {
      MG_TRY(verify_certificate(bundle_, *cert, legacy_pae));
      out_.payload_type_ = bundle_.dsse->payload_type;
      out_.payload_ = bundle_.dsse->payload;
    } else {
      MG_ASSIGN_OR_RETURN(out_.payload_, verify_sigstore(bundle_, std::get<SigstoreMethod>(method_)));
      out_.payload_type_ = std::string(kInTotoPayloadType);
    }
    out_.method_ = std::string(verify_method_name(method_));
    out_.signer_ = signer_;
    out_.issuer_ = issuer_;
    out_.key_hint_ = key_hint_;
    out_.legacy_pae_ = legacy_pae;
    return std::move(out_);
  }

 private:
  void check(const std::string& line) { out_.checks_.push_back(line); }
  void warn(const std::string& line) { out_.warnings_.push_back(line); }

  // dsse_of checks the envelope shape every method shares.
  Result<const DsseEnvelope*> dsse_of(const Bundle& bundle) {
    if (!bundle.dsse) {
      return make_error(Code::kUnsupported, "bundle: holds a messageSignature, not a DSSE envelope");
    }
    const DsseEnvelope& env = *bundle.dsse;
    if (env.signatures.size() != 1) {
      return make_error(Code::kMalformed, "bundle.dsseEnvelope: expected exactly one signature, found " +
                                              std::to_string(env.signatures.size()));
    }
    if (env.payload_type != kInTotoPayloadType) {
      return make_error(Code::kUnsupported, "bundle.dsseEnvelope.payloadType " +
                                                quote_for_message(env.payload_type) + " is not " +
                                                std::string(kInTotoPayloadType));
    }
    return &env;
  }

  // verify_dsse_signature checks the DSSE signature with `key`: the standard PAE with `hash`,
  // then the legacy v0.2 PAE with each of `legacy_hashes`.
  Result<void> verify_dsse_signature(const DsseEnvelope& env, const PublicKey& key, HashAlg hash,
                                     std::initializer_list<HashAlg> legacy_hashes, bool& legacy_pae) {
    const std::vector<std::uint8_t>& sig = env.signatures[0].sig;
    std::vector<std::uint8_t> pae = dsse_pae(env.payload_type, env.payload);
    auto r = verify_signature(key, hash, pae, sig);
    if (r.ok()) {
      check("signature: " + std::string(key_type_name(key.type())) + " with " + std::string(hash_name(hash)) +
            " over the DSSE PAE verifies");
      return ok_status();
    }
    if (r.error().code != Code::kBadSignature) {
      return std::move(r).error().context("signature");
    }
    std::vector<std::uint8_t> legacy;
    std::vector<HashAlg> hashes;
    if (options_.allow_legacy_pae) {
      legacy = legacy_v02_pae(env.payload);
      hashes.assign(legacy_hashes.begin(), legacy_hashes.end());
    }
    for (HashAlg h : hashes) {
      if (verify_signature(key, h, legacy, sig).ok()) {
        legacy_pae = true;
        check("signature: " + std::string(key_type_name(key.type())) + " with " + std::string(hash_name(h)) +
              " over the legacy model_signing v0.2 PAE verifies");
        warn("signature uses model_signing v0.2's legacy encoding; re-sign the model with a current signer");
        return ok_status();
      }
    }
    return make_error(Code::kBadSignature, "signature: does not verify with the " +
                                               std::string(key_type_name(key.type())) + " key " +
                                               short_hex(public_key_hint(key)));
  }

  Result<void> verify_key(const Bundle& bundle, const KeyMethod& m, bool& legacy_pae) {
    if (bundle.material != MaterialKind::kPublicKey) {
      return make_error(Code::kMismatch, "bundle: signed with a certificate, not a public key "
                                         "(verify it with the certificate or sigstore method)");
    }
    MG_ASSIGN_OR_RETURN(const DsseEnvelope* env, dsse_of(bundle));
    if (!is_ecdsa(m.public_key.type())) {
      return make_error(Code::kUnsupported, "key: " + std::string(key_type_name(m.public_key.type())) +
                                                " keys are not supported (ECDSA P-256, P-384, P-521)");
    }
    key_hint_ = public_key_hint(m.public_key);
    signer_ = "key " + key_hint_;
    if (bundle.public_key_hint) {
      // The hint is unauthenticated; it only selects the key. A different hint means the model
      // was signed by another key (model_signing.md §3.1).
      if (!constant_time_equal(as_bytes(*bundle.public_key_hint), as_bytes(key_hint_))) {
        return make_error(Code::kMismatch, "key mismatch: the signature names key " +
                                               quote_for_message(*bundle.public_key_hint) +
                                               ", the configured key is " + key_hint_);
      }
      check("key: the bundle's key hint matches the configured key " + key_hint_);
    } else {
      warn("signature does not name its key (legacy rawBytes bundle); checking it with the configured key");
    }
    if (!bundle.tlog_entries.empty()) {
      warn("bundle carries " + std::to_string(bundle.tlog_entries.size()) +
           " transparency-log entries; the key method does not check them");
    }
    HashAlg h = curve_hash(m.public_key);
    // v0.2 signed the legacy PAE with SHA-256 whatever the curve; upstream's fallback uses the
    // curve hash. Try both (§1.2).
    return verify_dsse_signature(*env, m.public_key, h, {HashAlg::kSha256, h}, legacy_pae);
  }

  Result<void> verify_certificate(const Bundle& bundle, const CertificateMethod& m, bool& legacy_pae) {
    if (bundle.material == MaterialKind::kPublicKey) {
      return make_error(Code::kMismatch, "bundle: signed with a bare public key, not a certificate "
                                         "(verify it with the key method)");
    }
    MG_ASSIGN_OR_RETURN(const DsseEnvelope* env, dsse_of(bundle));
    if (m.anchors.empty()) {
      return make_error(Code::kUntrusted, "certificate: no trust anchors configured");
    }
    if (bundle.certificates_der.empty()) {
      return make_error(Code::kMalformed, "bundle: no certificate");
    }
    std::vector<Certificate> certs;
    for (std::size_t i = 0; i < bundle.certificates_der.size(); ++i) {
      MG_ASSIGN_OR_RETURN_CTX(Certificate c, Certificate::from_der(bundle.certificates_der[i]),
                              "bundle: certificate[" + std::to_string(i) + "]");
      certs.push_back(std::move(c));
    }
    const Certificate& leaf = certs[0];
    std::span<const Certificate> untrusted(certs.data() + 1, certs.size() - 1);
    // TIME POLICY: the chain must be valid now (our deliberate choice, as the OMS spec words it);
    // upstream validates at the leaf's notBefore, so expired certificates pass there (§3.2).
    std::int64_t now = options_.now ? *options_.now : static_cast<std::int64_t>(std::time(nullptr));
    ChainOptions co;
    co.at_time = options_.allow_unsafe_expired_certificate ? leaf.not_before() : now;
    MG_ASSIGN_OR_RETURN_CTX(std::vector<Certificate> path, verify_chain(leaf, untrusted, m.anchors, co),
                            "certificate");
    if (options_.allow_unsafe_expired_certificate) {
      warn("certificate chain validated at the leaf's notBefore " + format_time(leaf.not_before()) +
           ", not now (--allow-unsafe-expired-certificate)");
    }
    check("certificate: " + quote_for_message(leaf.subject()) + " chains to trusted root " +
          quote_for_message(path.back().subject()) + " at " + format_time(co.at_time));
    if (!leaf.key_usage_digital_signature() && !leaf.eku_code_signing()) {
      return make_error(Code::kUntrusted, "certificate: " + quote_for_message(leaf.subject()) +
                                              " has neither key usage digitalSignature nor extended key "
                                              "usage codeSigning");
    }
    PublicKey key = leaf.public_key();
    if (!is_ecdsa(key.type())) {
      return make_error(Code::kUnsupported, "certificate: " + std::string(key_type_name(key.type())) +
                                                " keys are not supported (ECDSA P-256, P-384, P-521)");
    }
    key_hint_ = public_key_hint(key);
    signer_ = leaf.subject();
    out_.times_.push_back(leaf.not_before());
    issuer_ = path.size() > 1 ? path[1].subject() : leaf.subject();
    // Legacy v0.2 certificate signatures are SHA-256 whatever the curve (§1.2).
    return verify_dsse_signature(*env, key, curve_hash(key), {HashAlg::kSha256}, legacy_pae);
  }

  Result<std::vector<std::uint8_t>> verify_sigstore(const Bundle& bundle, const SigstoreMethod& m) {
    if (bundle.material == MaterialKind::kPublicKey) {
      return make_error(Code::kMismatch, "bundle: signed with a bare public key, not a Sigstore certificate "
                                         "(verify it with the key method)");
    }
    MG_ASSIGN_OR_RETURN(const DsseEnvelope* env, dsse_of(bundle));
    (void)env;
    const TrustedRoot& root = m.trusted_root ? *m.trusted_root : default_trusted_root();
    MG_ASSIGN_OR_RETURN_CTX(VerifiedBundle vb, verify_bundle_keyless(bundle, root, m.identity, ArtifactRef{}),
                            "sigstore");
    for (const std::string& c : vb.checks()) {
      check("sigstore: " + c);
    }
    signer_ = vb.identity();
    issuer_ = vb.issuer();
    out_.times_ = vb.verified_times();
    if (vb.signing_certificate()) {
      key_hint_ = public_key_hint(vb.signing_certificate()->public_key());
    }
    if (vb.payload_type() != kInTotoPayloadType) {
      return make_error(Code::kUnsupported, "bundle.dsseEnvelope.payloadType " +
                                                quote_for_message(vb.payload_type()) + " is not " +
                                                std::string(kInTotoPayloadType));
    }
    return vb.payload();
  }

  const Bundle& bundle_;
  const VerifyMethod& method_;
  const DsseVerifyOptions& options_;
  VerifiedEnvelope out_;
  std::string signer_;
  std::string issuer_;
  std::string key_hint_;
};

Result<VerifiedEnvelope> verify_dsse_bundle(const Bundle& bundle, const VerifyMethod& method,
                                            const DsseVerifyOptions& options) {
  DsseVerifierImpl impl(bundle, method, options);
  return impl.run();
}

}  // namespace modelgate::crypto
