// model_sign.h: sign a model directory (or single file) the way OpenSSF model_signing ≥ 1.1 does:
// hash it, write the v1.0 in-toto statement, sign its DSSE PAE with an ECDSA key, and wrap it in
// a Sigstore bundle v0.3 (public-key hint, or an X.509 certificate chain).
// Not Sigstore keyless signing (no OIDC, Fulcio or Rekor: no network) and not key management.
#pragma once

#include <filesystem>
#include <string>
#include <variant>
#include <vector>

#include "base/result.h"
#include "crypto/attestation.h"
#include "crypto/keys.h"
#include "crypto/manifest.h"
#include "crypto/sha256.h"
#include "crypto/x509.h"

namespace modelgate::crypto {

struct SignOptions {
  // serialization: method, hash_type, shard_size, allow_symlinks as wanted; ignore_paths holds the
  // user's model-relative paths (each must pass check_model_relative_path).
  SerializationConfig serialization;
  // ignore_git_paths adds .git, .gitattributes, .github, .gitignore (root-anchored).
  bool ignore_git_paths = true;
  HashOptions hash;
};

// SignedModelBundle is the result of signing. Owns its bytes.
struct SignedModelBundle {
  std::string bundle_json;   // the model.sig content (compact JSON)
  std::string payload;       // the in-toto statement exactly as signed
  Manifest manifest;         // what was hashed
  Sha256Digest root_digest{};
};

// build_statement_payload renders the v1.0 statement in upstream's layout: 2-space indented JSON,
// keys `_type, subject, predicateType, predicate`, non-ASCII as \uXXXX, no trailing newline;
// subject = {manifest.model_name, sha256: root}; predicate.serialization = {method, hash_type,
// [shard_size as an integer], allow_symlinks, ignore_paths = `recorded_ignores`}; resources in the
// manifest's (canonical) order. Pure; thread-safe.
std::string build_statement_payload(const Manifest& manifest, const std::vector<std::string>& recorded_ignores);

// check_signature_size checks, before anything is hashed, that a signature over resources named
// `names` (files, or "<path>:<start>:<end>" shards) could be read back by verification, which reads
// at most limits::kMaxBundleBytes of model.sig and limits::kMaxDssePayloadBytes of statement: it
// computes the statement's size but for the serialization block, the signer's material and the
// JSON escaping of non-ASCII names (a lower bound; sign_model checks the real bundle too).
// Errors: kLimit ("too many resources for one signature (N need at least X bytes > M ...)"). Pure.
[[nodiscard]] Result<void> check_signature_size(const std::vector<std::string>& names, HashType type);

// statement_size_floor is the bytes of the statement's resource list alone: what
// check_signature_size holds to the limits. Pure.
std::size_t statement_size_floor(const std::vector<std::string>& names, HashType type);

// sign_model hashes `model_path` with options.serialization and an ignore set of the user paths,
// the signature file when `signature_path` lies inside the model, and the git defaults (all of
// which are recorded in serialization.ignore_paths, sorted), signs the statement with ECDSA and the
// curve hash (P-256/384/521; the signature is self-checked) and returns the bundle. The caller
// writes it. A model whose signature verification could not read back (check_signature_size, from
// the walk, before hashing; then the real payload and bundle) is refused with kLimit: what sign
// writes, verify reads. Errors: kUnsupported (key type), kMismatch (certificate key ≠ private key),
// kMalformed (a bad ignore path; nothing to sign: model_signing #662 refuses empty models), kLimit,
// and hash_model's errors (kNotFound, kIo, kUnsupported symlink, ...). Thread-safe.
[[nodiscard]] Result<SignedModelBundle> sign_model(const std::filesystem::path& model_path,
                                                   const std::filesystem::path& signature_path,
                                                   const ModelSigner& signer, const SignOptions& options);

// sign_manifest signs a manifest the caller already made (an OCI manifest's raw layers, whose
// digests are the files' SHA-256: oci/modelpack.h) as sign_model signs a hashed directory:
// resources must be in canonical order, `recorded_ignores` are written as the serialization's
// ignore_paths (sorted). Nothing is read from disk. Errors: kMalformed (no resources), kLimit (a
// statement or bundle verification could not read), sign_statement_bundle's. Thread-safe.
[[nodiscard]] Result<SignedModelBundle> sign_manifest(Manifest manifest, const std::vector<std::string>& recorded_ignores,
                                                      const ModelSigner& signer);

}  // namespace modelgate::crypto
