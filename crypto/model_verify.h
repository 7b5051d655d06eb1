// model_verify.h: verify a model directory (or single file) against its OpenSSF model_signing
// signature (model.sig) with a public key, a certificate chain or Sigstore keyless, then re-hash
// the model with the serialization the signature records and compare every file exactly.
// Not policy: who may sign is the caller's trust configuration; no network, no caching.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/result.h"
#include "crypto/bundle_verify.h"
#include "crypto/dsse_verify.h"
#include "crypto/keys.h"
#include "crypto/manifest.h"
#include "crypto/model_signature.h"
#include "crypto/trusted_root.h"
#include "crypto/x509.h"

namespace modelgate::crypto {

struct ModelVerifyOptions {
  // ignore_paths are extra model-relative paths to ignore (component-prefix match at the model
  // root); each must pass check_model_relative_path.
  std::vector<std::string> ignore_paths;
  // ignore_git_paths adds .git, .gitattributes, .github, .gitignore at the root (upstream default),
  // except any of them the signature itself lists as a signed file.
  bool ignore_git_paths = true;
  // ignore_unsigned_files hashes exactly the signed files (files mode, directory models): files
  // added after signing are tolerated, missing or changed ones still fail.
  bool ignore_unsigned_files = false;
  // allow_symlinks is the verifier's consent to follow symlinks to files. Symlinks are followed
  // only when the signature also records allow_symlinks: true (both must agree).
  bool allow_symlinks = false;
  // allow_unsafe_expired_certificate validates the certificate method's chain at the leaf's
  // notBefore (upstream's behaviour) instead of now: expired or revoked-by-expiry certificates pass.
  bool allow_unsafe_expired_certificate = false;
  // now is the time certificates are validated at (unix seconds); nullopt = the system clock.
  std::optional<std::int64_t> now;
  HashOptions hash;
  // on_check is told each check as it passes, on_warning each relaxation or legacy format met
  // (single lines, no trailing newline). Either may be empty. Called on the calling thread.
  std::function<void(std::string_view)> on_check;
  std::function<void(std::string_view)> on_warning;
};

// VerifiedModel is a model whose files are exactly what a trusted signer signed. Only
// verify_model constructs it. Immutable.
class VerifiedModel {
 public:
  // root_digest is the signed root (v1 subject digest; legacy: computed over the subjects).
  const Sha256Digest& root_digest() const { return root_digest_; }
  // method is "key", "certificate" or "sigstore".
  const std::string& method() const { return method_; }
  // signer names who signed: "key <hint>", the certificate subject, or the Sigstore identity.
  const std::string& signer() const { return signer_; }
  // issuer is the OIDC issuer (sigstore) or the certificate issuer DN (certificate); else "".
  const std::string& issuer() const { return issuer_; }
  // key_hint is the hex SHA-256 of the signing key's canonical PEM (all methods).
  const std::string& key_hint() const { return key_hint_; }
  // signed_times are the signature's trusted times (see VerifiedEnvelope::signed_times).
  const std::vector<std::int64_t>& signed_times() const { return signed_times_; }
  const SignedModel& signed_model() const { return signed_; }
  // manifest is the local manifest that matched.
  const Manifest& manifest() const { return manifest_; }
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  friend class ModelVerifierImpl;
  VerifiedModel() = default;
  Sha256Digest root_digest_{};
  std::string method_;
  std::string signer_;
  std::string issuer_;
  std::string key_hint_;
  std::vector<std::int64_t> signed_times_;
  SignedModel signed_;
  Manifest manifest_;
  std::vector<std::string> warnings_;
};

// verify_model reads `signature_path` (a Sigstore bundle ≤ limits::kMaxBundleBytes), verifies its
// DSSE signature by `method` (key: hint must match — "key mismatch" — or be absent, ECDSA with the
// curve hash; certificate: chain to an anchor at now, or at the leaf's notBefore with
// allow_unsafe_expired_certificate, leaf with KU digitalSignature or EKU codeSigning, ECDSA;
// key/certificate also accept the legacy v0.2 PAE for legacy Digests/v0.1 statements; sigstore:
// verify_bundle_keyless), parses the statement (parse_signed_model), re-hashes `model_path` with
// the recorded serialization and an ignore set of recorded ignore_paths ∪ options.ignore_paths ∪
// the signature file when it lies inside the model ∪ the git defaults, and requires the manifests
// to be equal (compare_manifest). Errors, each with context naming the layer:
//   kNotFound / kIo: the signature file or the model cannot be read (a usage problem);
//   kMalformed / kUnsupported / kLimit: bundle or statement shape;
//   kMismatch: key mismatch, wrong method for the bundle, subject digest, or the model differs
//     ("model does not match its signature: file "a" does not match the signed digest (...)");
//   kBadSignature: the signature does not verify; kUntrusted: chain, identity, issuer, time.
// Thread-safe (hashing uses options.hash's pool).
[[nodiscard]] Result<VerifiedModel> verify_model(const std::filesystem::path& model_path,
                                                 const std::filesystem::path& signature_path,
                                                 const VerifyMethod& method, const ModelVerifyOptions& options);

// verify_model_listing is verify_model for a model whose file digests the caller already holds
// (an OCI manifest's raw layers: oci/modelpack.h): it verifies `bundle_json` exactly as
// verify_model does, then asks `local_of` for the local manifest given what was signed (so the
// caller can apply the recorded serialization and ignore paths, or refuse one it cannot match),
// and requires compare_manifest to find no difference. `label` names the signature in messages.
// Errors: verify_model's; an error from `local_of` is returned with context "model" (kMismatch as
// is). Thread-safe.
[[nodiscard]] Result<VerifiedModel> verify_model_listing(std::string_view bundle_json, std::string_view label,
                                                         const std::function<Result<Manifest>(const SignedModel&)>& local_of,
                                                         const VerifyMethod& method, const ModelVerifyOptions& options);

}  // namespace modelgate::crypto
