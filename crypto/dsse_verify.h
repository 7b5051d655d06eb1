// dsse_verify.h: verify the DSSE envelope of a Sigstore bundle under one configured trust method —
// a public key, X.509 anchors, or a Sigstore keyless identity + trusted root — and say who signed.
// Not the payload's meaning: model_verify.h reads model_signing predicates, attestation.h the
// in-toto statements of provenance, approvals and test results. No network, no hashing.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/result.h"
#include "crypto/bundle.h"
#include "crypto/bundle_verify.h"
#include "crypto/keys.h"
#include "crypto/trusted_root.h"
#include "crypto/x509.h"

namespace modelgate::crypto {

// KeyMethod: the bundle must carry `publicKey`; its hint (when present) must be this key's.
// ECDSA P-256/P-384/P-521 only.
struct KeyMethod {
  PublicKey public_key;
};

// CertificateMethod: the bundle's leaf (+ its chain as untrusted intermediates) must chain to one
// of `anchors` (self-signed roots from --certificate-chain files).
struct CertificateMethod {
  std::vector<Certificate> anchors;
};

// SigstoreMethod: Fulcio certificate + Rekor evidence checked against `trusted_root`
// (nullptr = default_trusted_root(), the embedded production root) and `identity`.
struct SigstoreMethod {
  IdentityPolicy identity;
  std::shared_ptr<const TrustedRoot> trusted_root;
};

using VerifyMethod = std::variant<KeyMethod, CertificateMethod, SigstoreMethod>;

// verify_method_name is "key", "certificate" or "sigstore".
std::string_view verify_method_name(const VerifyMethod& method);

struct DsseVerifyOptions {
  // allow_unsafe_expired_certificate validates the certificate method's chain at the leaf's
  // notBefore instead of now.
  bool allow_unsafe_expired_certificate = false;
  // allow_legacy_pae also accepts model_signing v0.2's buggy PAE (model_signing.md §1.2); the
  // caller must then accept only legacy Digests/v0.1 statements when VerifiedEnvelope::legacy_pae.
  bool allow_legacy_pae = false;
  // now is the time certificates are validated at (unix seconds); nullopt = the system clock.
  std::optional<std::int64_t> now;
};

class DsseVerifierImpl;

// VerifiedEnvelope is a DSSE payload whose signature verified under a configured method. Only
// verify_dsse_bundle constructs it. Immutable.
class VerifiedEnvelope {
 public:
  const std::string& payload_type() const { return payload_type_; }
  const std::vector<std::uint8_t>& payload() const { return payload_; }
  // method is "key", "certificate" or "sigstore".
  const std::string& method() const { return method_; }
  // signer names who signed: "key <hint>", the certificate subject, or the Sigstore identity.
  const std::string& signer() const { return signer_; }
  // issuer is the OIDC issuer (sigstore) or the certificate issuer DN (certificate); else "".
  const std::string& issuer() const { return issuer_; }
  // key_hint is the hex SHA-256 of the signing key's canonical PEM (all methods).
  const std::string& key_hint() const { return key_hint_; }
  // legacy_pae: the signature is over model_signing v0.2's legacy PAE (only if allowed).
  bool legacy_pae() const { return legacy_pae_; }
  // signed_times are trusted signing times in unix seconds: Sigstore's verified times, or the
  // certificate's notBefore for the certificate method; empty for a bare key (no trusted time).
  const std::vector<std::int64_t>& signed_times() const { return times_; }
  // checks / warnings: one line per check that passed / relaxation or legacy format met.
  const std::vector<std::string>& checks() const { return checks_; }
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  friend class DsseVerifierImpl;
  VerifiedEnvelope() = default;
  std::string payload_type_;
  std::vector<std::uint8_t> payload_;
  std::string method_;
  std::string signer_;
  std::string issuer_;
  std::string key_hint_;
  bool legacy_pae_ = false;
  std::vector<std::int64_t> times_;
  std::vector<std::string> checks_;
  std::vector<std::string> warnings_;
};

// verify_dsse_bundle checks that `bundle` holds exactly one DSSE signature over an in-toto payload
// and verifies it by `method`: key (hint must match — "key mismatch" — or be absent; ECDSA with the
// curve hash), certificate (chain to an anchor at now, or at the leaf's notBefore with
// allow_unsafe_expired_certificate; leaf with KU digitalSignature or EKU codeSigning; ECDSA), or
// sigstore (verify_bundle_keyless). Errors: kUnsupported (messageSignature, other payload type, key
// type), kMalformed, kMismatch (key mismatch, the wrong method for the bundle's material),
// kBadSignature, kUntrusted (chain, identity, issuer, time). Thread-safe.
[[nodiscard]] Result<VerifiedEnvelope> verify_dsse_bundle(const Bundle& bundle, const VerifyMethod& method,
                                                          const DsseVerifyOptions& options);

// legacy_v02_pae returns the PAE model_signing 0.1/0.2 signed by mistake (model_signing.md §1.2):
// UTF-8 of "DSSEV1 28 application/vnd.in-toto+json <len> " + Python repr(payload bytes).
std::vector<std::uint8_t> legacy_v02_pae(std::span<const std::uint8_t> payload);

// python_bytes_repr returns Python 3's repr() of a bytes object (b'...' or b"...").
std::string python_bytes_repr(std::span<const std::uint8_t> bytes);

}  // namespace modelgate::crypto
