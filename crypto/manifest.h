// manifest.h: model manifests byte-compatible with OpenSSF model_signing (model_signing.md §1.4,
// §1.5, §2): walk a model directory (or single file) with upstream's rules, hash every file or
// shard, order resources canonically, and compute the root digest.
// Not signatures and not policy: this says what the bytes on disk are, nothing about who vouches.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "base/result.h"
#include "crypto/sha256.h"

namespace modelgate::crypto {

enum class HashType { kSha256, kBlake2b };
enum class SerializationMethod { kFiles, kShards };

// hash_type_name is the canonical name written in signatures: "sha256", "blake2b".
std::string_view hash_type_name(HashType t);
// parse_hash_type accepts "sha256" and "blake2b"; anything else is kUnsupported.
Result<HashType> parse_hash_type(std::string_view name);
// hash_digest_size: 32 for sha256, 64 for blake2b.
std::size_t hash_digest_size(HashType t);

inline constexpr std::uint64_t kDefaultShardSize = 1'000'000'000;

// SerializationConfig is how a model is walked and hashed (the predicate's `serialization`).
struct SerializationConfig {
  SerializationMethod method = SerializationMethod::kFiles;
  HashType hash_type = HashType::kSha256;
  std::uint64_t shard_size = kDefaultShardSize;  // shards mode only; > 0
  bool allow_symlinks = false;
  // Model-relative POSIX paths ignored by component-prefix match, anchored at the model root
  // ("a/b" ignores "a/b" and "a/b/**", not "x/a/b"). Includes the signature file name and, unless
  // the caller removed them, the default git paths (kDefaultGitIgnores).
  std::vector<std::string> ignore_paths;
};

// kDefaultGitIgnores are upstream's defaults, matched only at the model root.
inline constexpr std::string_view kDefaultGitIgnores[] = {".git", ".gitattributes", ".github",
                                                          ".gitignore"};

// Resource is one manifest entry. files mode: name = model-relative POSIX path ("." for a
// single-file model), algorithm = hash type name. shards mode: name = "<path>:<start>:<end>",
// algorithm = "<hash>-sharded-<shard_size>" as upstream writes it.
struct Resource {
  std::string name;
  std::string algorithm;
  std::vector<std::uint8_t> digest;  // raw bytes, hash_digest_size() long
  bool operator==(const Resource&) const = default;
};

// Manifest is the hashed model: config used, resources in canonical order (path components by
// code point; shard offsets numeric, model_signing.md §2.5), and the model name (basename).
struct Manifest {
  SerializationConfig config;
  std::string model_name;
  std::vector<Resource> resources;
  std::uint64_t total_bytes = 0;  // bytes hashed

  // root_digest is SHA-256 over the concatenated raw digests in resource order (§1.5).
  Sha256Digest root_digest() const;
};

// root_digest_of computes §1.5's root over `resources` in the order given (never re-sorted:
// verifiers hash in payload order).
Sha256Digest root_digest_of(const std::vector<Resource>& resources);

// HashProgress is reported from worker threads; it must be thread-safe and cheap.
struct HashProgress {
  std::uint64_t bytes_done;
  std::uint64_t bytes_total;
};

struct HashOptions {
  std::size_t threads = 0;  // 0 = all cores; capped at limits::kMaxHashThreads
  const Sha256Backend* backend = nullptr;  // nullptr = sha256_default_backend()
  // cancel, when set and becoming true, stops hashing early with kDeadline.
  const std::atomic<bool>* cancel = nullptr;
  std::function<void(const HashProgress&)> on_progress;  // may be empty
};

// hash_model walks `model_path` (directory or regular file) with upstream's rules and hashes it.
// Errors (the message names the offending relative path):
//   kNotFound  model path missing;  kIo  open/read/mmap failure, or a file that changed while it
//   was hashed ("changed while hashing"); kUnsupported  symlink when !allow_symlinks, FIFO,
//   socket or device; kMalformed  a name that is not valid UTF-8 or has control characters;
//   kLimit  too many files, too deep, name too long; kDeadline  cancelled.
// Thread-safe (uses its own worker pool).
Result<Manifest> hash_model(const std::filesystem::path& model_path, const SerializationConfig& config,
                            const HashOptions& options = {});

// hash_named_resources hashes exactly the files named by `names` (model-relative POSIX paths,
// files mode) under `model_root`, for --ignore-unsigned-files. Each name must stay inside the root
// (no "..", absolute or empty components; symlinks only if allowed); same errors as hash_model.
Result<Manifest> hash_named_resources(const std::filesystem::path& model_root,
                                      const std::vector<std::string>& names,
                                      const SerializationConfig& config,
                                      const HashOptions& options = {});

// canonical_less orders resource names as upstream does (components by code point, then shard
// start/end numerically).
bool canonical_less(const Resource& a, const Resource& b);

}  // namespace modelgate::crypto
