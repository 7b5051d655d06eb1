// bundle_verify.h: offline verification of a parsed Sigstore bundle against a trusted root
// (sigstore_verify.md §4): trusted times, transparency-log evidence, Fulcio certificate path,
// SCT, identity, and the signature over the artifact or DSSE payload. Not model_signing: what the
// DSSE payload means (predicate, model digest) is the caller's business; no network, ever.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "crypto/bundle.h"
#include "crypto/keys.h"
#include "crypto/sha256.h"
#include "crypto/trusted_root.h"
#include "crypto/x509.h"

namespace modelgate::crypto {

// IdentityPolicy is who must have signed (keyless). `identity` is compared with the certificate's
// SAN values (URI, email, otherName 1.3.6.1.4.1.57264.1.7): exact, case-sensitive equality, or an
// RE2 full match when identity_is_regex. `issuer` must equal the Fulcio OIDC issuer exactly.
struct IdentityPolicy {
  std::string issuer;
  std::string identity;
  bool identity_is_regex = false;
};

// ArtifactRef is what was signed. For messageSignature bundles one of the two must be set. For
// DSSE bundles with an in-toto payload, a set field must equal one subject digest; both empty =
// the caller checks the payload itself (model_signing).
struct ArtifactRef {
  std::optional<std::vector<std::uint8_t>> bytes;
  std::optional<Sha256Digest> sha256;
};

class BundleVerifierImpl;

// VerifiedBundle is what a bundle proved. Only the verifiers below construct it. Immutable.
class VerifiedBundle {
 public:
  // signing_certificate is the Fulcio leaf (nullopt for managed-key bundles).
  const std::optional<Certificate>& signing_certificate() const { return certificate_; }
  // identity is the SAN value that matched the policy ("" for key bundles).
  const std::string& identity() const { return identity_; }
  // issuer is the OIDC issuer of the leaf ("" for key bundles).
  const std::string& issuer() const { return issuer_; }
  // verified_times are the trusted signing times in unix seconds (SET integratedTime, TSA genTime).
  const std::vector<std::int64_t>& verified_times() const { return times_; }
  // payload_type / payload are the DSSE payload as signed ("" / empty for messageSignature).
  const std::string& payload_type() const { return payload_type_; }
  const std::vector<std::uint8_t>& payload() const { return payload_; }
  // checks lists, in order, one line per check that passed (for `--verbose`-style output).
  const std::vector<std::string>& checks() const { return checks_; }

 private:
  friend class BundleVerifierImpl;
  VerifiedBundle() = default;
  std::optional<Certificate> certificate_;
  std::string identity_;
  std::string issuer_;
  std::vector<std::int64_t> times_;
  std::string payload_type_;
  std::vector<std::uint8_t> payload_;
  std::vector<std::string> checks_;
};

// verify_bundle_keyless verifies a certificate bundle: ≥1 trusted time (RFC 3161 tokens from
// root.timestamp_authorities, Rekor v1 SET integratedTime), ≥1 tlog entry from root.tlogs that
// fully verifies (body ↔ bundle, SET, inclusion proof, checkpoint), the leaf chains to a
// root.certificate_authorities entry at every trusted time, leaf profile (KU digitalSignature, EKU
// codeSigning, not a CA), ≥1 valid embedded SCT from root.ctlogs, `policy`, and the signature over
// the artifact / DSSE PAE (+ in-toto subject match when `artifact` is set). Errors: kMalformed
// (bundle content unreadable), kUnsupported, kMismatch (artifact, body, subject), kBadSignature,
// kUntrusted (no trusted time/log/CA/SCT, identity or issuer not as required). Thread-safe.
[[nodiscard]] Result<VerifiedBundle> verify_bundle_keyless(const Bundle& bundle, const TrustedRoot& root,
                                                           const IdentityPolicy& policy, const ArtifactRef& artifact);

// verify_bundle_with_key verifies a publicKey bundle signed by `key` (configured out of band; the
// bundle's hint is not trusted) with Sigstore evidence: ≥1 trusted time (SET or RFC 3161), ≥1 tlog
// entry that fully verifies when root.tlogs is non-empty (every present entry from a known log must
// name `key` in its body), then the signature as above. Plain model_signing key bundles (no tlog,
// no time) are not Sigstore evidence: verify those with dsse.h + keys.h directly. Errors: as above.
// Thread-safe.
[[nodiscard]] Result<VerifiedBundle> verify_bundle_with_key(const Bundle& bundle, const TrustedRoot& root,
                                                            const PublicKey& key, const ArtifactRef& artifact);

}  // namespace modelgate::crypto
