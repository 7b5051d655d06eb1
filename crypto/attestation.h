// attestation.h: in-toto attestations about a model as Sigstore bundles: build a statement for a
// root digest, sign it into a bundle v0.3 (the layout model.sig uses), and verify a bundle under a
// configured method into the statement it proves. Not predicate semantics (slsa_provenance.h,
// approval.h, test_result.h) and not where attestations are stored (policy/evidence.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/result.h"
#include "crypto/bundle.h"
#include "crypto/dsse_verify.h"
#include "crypto/json.h"
#include "crypto/keys.h"
#include "crypto/sha256.h"
#include "crypto/statement.h"
#include "crypto/x509.h"

namespace modelgate::crypto {

// KeySigner signs with a bare key; the bundle carries publicKey.hint.
struct KeySigner {
  PrivateKey private_key;
};

// CertificateSigner signs with the key of `signing_certificate`; the bundle carries
// x509CertificateChain = [signing_certificate, chain...] in the given order.
struct CertificateSigner {
  PrivateKey private_key;
  Certificate signing_certificate;
  std::vector<Certificate> chain;
};

using ModelSigner = std::variant<KeySigner, CertificateSigner>;

inline constexpr std::string_view kBundleMediaTypeV03 = "application/vnd.dev.sigstore.bundle.v0.3+json";

// build_statement renders an in-toto Statement v1 with one subject {name, sha256: root} and the
// given predicate (compact JSON, keys in _type, subject, predicateType, predicate order). Pure.
std::string build_statement(std::string_view subject_name, const Sha256Digest& root,
                            std::string_view predicate_type, const Json& predicate);

// check_signer refuses keys sign_statement_bundle cannot use: kUnsupported (not ECDSA P-256/384/
// 521), kMismatch (the certificate does not certify the private key).
[[nodiscard]] Result<void> check_signer(const ModelSigner& signer);

// sign_statement_bundle signs `payload` (an in-toto statement) as a DSSE envelope with ECDSA and
// the curve hash (P-256/384/521; the signature is self-checked) and wraps it in a Sigstore bundle
// v0.3 with publicKey.hint or the certificate chain, no transparency-log entries. Errors:
// kUnsupported (key type), kMismatch (certificate does not certify the key), kInternal. Thread-safe.
[[nodiscard]] Result<std::string> sign_statement_bundle(std::string_view payload, const ModelSigner& signer);

class AttestationVerifierImpl;

// VerifiedAttestation is a statement whose envelope verified under a configured method. Only
// verify_attestation constructs it. Immutable.
class VerifiedAttestation {
 public:
  const Statement& statement() const { return statement_; }
  const VerifiedEnvelope& envelope() const { return envelope_; }
  // identity is who signed, stable across bundles: the Sigstore identity, the certificate subject,
  // or "key <hint>" for a bare key. Distinct identities are distinct reviewers.
  const std::string& identity() const { return envelope_.signer(); }
  // subject_has_sha256 is true when a subject's sha256 digest equals `root` (constant time).
  bool subject_has_sha256(const Sha256Digest& root) const;

 private:
  friend class AttestationVerifierImpl;
  explicit VerifiedAttestation(VerifiedEnvelope e) : envelope_(std::move(e)) {}
  VerifiedEnvelope envelope_;
  Statement statement_;
};

// verify_attestation verifies `bundle`'s DSSE envelope under `method` (verify_dsse_bundle; never
// the legacy PAE) and parses its payload as an in-toto Statement. Errors: verify_dsse_bundle's and
// parse_statement's. Thread-safe.
[[nodiscard]] Result<VerifiedAttestation> verify_attestation(const Bundle& bundle, const VerifyMethod& method,
                                                             const DsseVerifyOptions& options);

}  // namespace modelgate::crypto
