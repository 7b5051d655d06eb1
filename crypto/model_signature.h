// model_signature.h: the OpenSSF model_signing predicate (v1.0 and legacy Digests/v0.1) read from a
// verified in-toto statement into typed form under the hardening rules of model_signing.md §6, and
// the exact comparison of a signed manifest with a locally hashed one.
// Not signature verification and not hashing: callers hand in payload bytes whose DSSE signature
// they checked (model_verify.h) and manifests made by manifest.h.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "crypto/manifest.h"
#include "crypto/sha256.h"
#include "crypto/statement.h"

namespace modelgate::crypto {

inline constexpr std::string_view kModelSigningPredicateV1 = "https://model_signing/signature/v1.0";
inline constexpr std::string_view kModelSigningPredicateLegacy = "https://model_signing/Digests/v0.1";

enum class PredicateVersion {
  kV1,               // https://model_signing/signature/v1.0 (model_signing ≥ 0.3)
  kLegacyDigestsV01  // https://model_signing/Digests/v0.1 (model_signing 0.1.x-0.2.0, §1.6)
};

// SignedModel is what a signature says a model is, after every shape rule passed. Immutable data.
struct SignedModel {
  PredicateVersion version = PredicateVersion::kV1;
  // model_name is subject[0].name (informational: never compared with anything).
  std::string model_name;
  // serialization is as recorded: method, hash_type, shard_size (shards only; kDefaultShardSize
  // otherwise), allow_symlinks and the recorded ignore_paths only (deduplicated, sorted). Legacy
  // statements are files/sha256/no symlinks/no ignores (§1.6).
  SerializationConfig serialization;
  // ignore_paths_recorded is true when the predicate carried `ignore_paths` (model_signing ≥ 1.1).
  bool ignore_paths_recorded = false;
  // resources are in payload order. `algorithm` is normalised to what manifest.h writes for the
  // recorded config ("sha256"; shards "sha256-sharded-<N>"), since both the plain and the sharded
  // spelling are accepted on input (§1.4).
  std::vector<Resource> resources;
  // root_digest is the subject digest (v1; checked equal to the root over `resources` in payload
  // order), or that root computed over the legacy per-file subjects (legacy has no root).
  Sha256Digest root_digest{};
};

// parse_signed_model reads a DSSE payload (an in-toto Statement v1, ≤ limits::kMaxDssePayloadBytes)
// whose signature the caller verified, and applies every rule of model_signing.md §1.3-§1.6 and §6:
// `_type` v1; predicate type v1.0 or Digests/v0.1; v1.0: exactly one subject with a lowercase-hex
// digest.sha256; serialization.method files|shards, hash_type sha256|blake2b (v0.3's mangled
// "sha256-sharded-<N>" too), allow_symlinks a bool, shard_size an integral number > 0 (also
// `1000000000.0`), ignore_paths safe relative paths; resources non-empty (≤ limits::kMaxResources),
// names safe model-relative POSIX paths (no absolute, empty, ".", ".." components, backslash,
// control bytes or invalid UTF-8; "." only for a lone single-file resource; shards
// "<path>:<start>:<end>" split at the last two ':' with aligned offsets), no duplicates, none under
// an ignored path, algorithm `H` or (shards) `H-sharded-N` with N = shard_size, digest lowercase hex
// of H's length; and the root over the resources in payload order equals the subject digest
// (constant time). Errors: kMalformed (shape, names, digests), kUnsupported (_type, predicate type,
// method, hash type), kLimit (counts, sizes), kMismatch (subject digest != root). Thread-safe.
[[nodiscard]] Result<SignedModel> parse_signed_model(std::span<const std::uint8_t> payload);

// signed_model_from_statement is parse_signed_model for an already parsed statement.
[[nodiscard]] Result<SignedModel> signed_model_from_statement(const Statement& statement);

// check_model_relative_path accepts a safe model-relative POSIX path: non-empty, ≤ kMaxPathBytes,
// valid UTF-8, no control bytes, no '\\', not absolute, no empty / "." / ".." component, components
// ≤ kMaxNameBytes. Used for signed names, recorded ignore_paths and user --ignore-paths. The error
// message says what is wrong without quoting the path (callers add it). Errors: kMalformed.
[[nodiscard]] Result<void> check_model_relative_path(std::string_view path);

// resolve_ignore_path turns a user's --ignore-paths argument into a model-relative POSIX path.
// An absolute path, or a relative one that resolves against `cwd` to a place inside `model_root`,
// is made relative to the root (upstream's rule: `--ignore-paths models/m/ignore-me`); any other
// relative path is read as model-relative (`--ignore-paths ignore-me`). nullopt when an absolute
// path lies outside the model (upstream drops those too). Errors: kMalformed for a relative path
// that escapes the model, names the root itself, or fails check_model_relative_path.
[[nodiscard]] Result<std::optional<std::string>> resolve_ignore_path(const std::filesystem::path& model_root,
                                                                     const std::filesystem::path& cwd,
                                                                     std::string_view arg);

// quote_for_message renders an untrusted string for a message: double-quoted, '"' and '\\'
// escaped, control and non-UTF-8 bytes as \xHH, capped at 120 bytes of content with "…"
// (STYLE.md §5).
std::string quote_for_message(std::string_view s);

// ResourceMismatch is one resource present on both sides with different digests or algorithms.
struct ResourceMismatch {
  std::string name;
  std::string signed_algorithm;
  std::string local_algorithm;
  std::vector<std::uint8_t> signed_digest;
  std::vector<std::uint8_t> local_digest;
};

// ManifestDiff lists every difference between what was signed and what is on disk.
struct ManifestDiff {
  std::vector<Resource> missing;              // signed, not on disk (payload order)
  std::vector<Resource> extra;                // on disk, not signed (canonical order)
  std::vector<ResourceMismatch> mismatched;   // both, different digest or algorithm (disk order)
  std::string hash_name = "sha256";           // digest prefix for messages ("blake2b", ...)
  bool shards = false;                        // names are shards ("shard" rather than "file")

  bool empty() const { return missing.empty() && extra.empty() && mismatched.empty(); }
  // describe lists the differences, one clause per resource joined by "; ", at most
  // limits::kMaxReportedResourceDiffs per kind (then "and N more ..."), e.g.
  //   file "w.bin" does not match the signed digest (signed sha256:4f1c…, found sha256:9a02…);
  //   file "b" is missing (signed sha256:…); file "c" is not signed (found sha256:…)
  // Digests are written in full (lowercase hex). An empty local digest means the difference was
  // found before hashing (an unsigned file: no "found"; a size that rules the signed digest out).
  std::string describe() const;
};

// compare_manifest compares `signed_model` with `local` exactly: same names, same algorithm
// strings, same digests (constant time). A single-file model matches whether the signer named the
// resource "." (Python) or the file's basename (Go, OMS): when every local name is "." (or
// ".:<start>:<end>") and the signed ones are not, local "." is read as `local.model_name`; the
// diff then names the file by that basename too. Pure; thread-safe.
ManifestDiff compare_manifest(const SignedModel& signed_model, const Manifest& local);

}  // namespace modelgate::crypto
