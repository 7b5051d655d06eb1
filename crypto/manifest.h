// manifest.h: model manifests byte-compatible with OpenSSF model_signing (model_signing.md §1.4,
// §1.5, §2): walk a model directory (or single file) with upstream's rules, hash every file or
// shard, order resources canonically, and compute the root digest.
// Not signatures and not policy: this says what the bytes on disk are, nothing about who vouches.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "crypto/file_hasher.h"  // HashType
#include "crypto/sha256.h"

namespace modelgate::crypto {

// HashType (kSha256, kBlake2b) is declared in file_hasher.h.
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

// kDefaultSignatureFile is where a model's own signature lives (the webhook's default
// signatureFile). Every verb leaves it out of what is hashed in a directory model — sign, digest,
// verify, attest, review — wherever the signature being made or checked is written, so a second
// signer's bundle filed elsewhere names the same root digest as the publisher's model.sig
// (upstream's CLI ignores the signature it writes; modelgate also ignores this default one).
inline constexpr std::string_view kDefaultSignatureFile = "model.sig";

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

// DigestKey names one hashed range of one version of a file: its stamp (device, inode, size, mtime,
// ctime), the range and the hash type. A file whose identity is unchanged has the same key.
struct DigestKey {
  FileStamp stamp;
  std::uint64_t start = 0;
  std::uint64_t end = 0;
  HashType type = HashType::kSha256;
  bool operator==(const DigestKey&) const = default;
};

// DigestCache lets hash_model skip ranges it has hashed before. Implementations must be
// thread-safe (workers of several concurrent jobs call them) and must bound their own size.
class DigestCache {
 public:
  virtual ~DigestCache() = default;
  // lookup returns the digest stored for `key`, or nullopt. An implementation may refuse to
  // serve what it stored (a digest too old to trust, a file too young to trust: see
  // admission/verdict_cache.h): hash_model then hashes the range again.
  virtual std::optional<FileDigest> lookup(const DigestKey& key) = 0;
  // now_ns is the cache's clock (unix ns). hash_model reads it before it reads any byte of a
  // batch and hands that reading to store() as `read_from_ns`.
  virtual std::int64_t now_ns() = 0;
  // store records the digest of `key`, hashed with the stamp re-checked when the file was opened
  // and after its last byte; every byte was read at or after `read_from_ns` (now_ns() units).
  virtual void store(const DigestKey& key, const FileDigest& digest, std::int64_t read_from_ns) = 0;
  // known_size returns the size of a whole file that was hashed to `digest` with `type`, if the
  // cache remembers one. A file of another size cannot have that digest (short of a SHA-256 or
  // BLAKE2b collision), so verifiers may refuse it before reading a byte.
  virtual std::optional<std::uint64_t> known_size(std::span<const std::uint8_t> digest, HashType type) {
    (void)digest;
    (void)type;
    return std::nullopt;
  }
};

struct ModelTree;  // model_walk.h

struct HashOptions {
  std::size_t threads = 0;  // 0 = all cores; capped at limits::kMaxHashThreads
  const Sha256Backend* backend = nullptr;  // nullptr = sha256_default_backend()
  // cancel, when set and becoming true, stops hashing early with kDeadline.
  const std::atomic<bool>* cancel = nullptr;
  std::function<void(const HashProgress&)> on_progress;  // may be empty
  // cache, when set, is consulted per file or shard by the stamp the walk recorded: a hit is not
  // read again (its bytes count as done in progress); a miss is hashed and stored as soon as it
  // is done (so a cancelled run keeps what it finished). Not owned.
  DigestCache* cache = nullptr;
  // on_hashed, when set, is told the bytes actually read and hashed (cache misses) once per call.
  std::function<void(std::uint64_t bytes)> on_hashed;
  // before_hashing, when set, sees the walked tree (names, stamps, sizes) before any byte is read
  // or the cache is asked; an error it returns is hash_model's result (nothing is hashed). Called
  // on the calling thread, once per walk.
  std::function<Result<void>(const ModelTree& tree)> before_hashing;
};

// hash_model walks `model_path` (directory or regular file) with upstream's rules (model_walk.h)
// and hashes it: files mode one resource per file, shards mode one per shard [k*s, min((k+1)*s,
// size)) named "<path>:<start>:<end>" (an empty file has none), on a pool of options.threads
// workers that each keep two or more jobs in lock-step through the multi-lane SHA-256 kernel (one
// huge file in files mode is still one stream: use shards to spread it). Resources come in
// canonical order; the model name is the basename (§2.1). The result does not depend on threads
// or backend. Errors (the message names the offending relative path; the model path itself is
// left to the caller's context):
//   kNotFound  model path missing;  kIo  open/read/mmap failure, or a file that changed while it
//   was hashed ("changed while hashing (truncated|modified|replaced|...)"); kUnsupported  symlink
//   when !allow_symlinks, dangling symlink, FIFO, socket or device; kMalformed  a name that is not
//   valid UTF-8 or has control characters, an ignore path that is not a clean relative path, a
//   shard size of 0; kLimit  too many files/entries/shards, too deep, name too long;
//   kDeadline  cancelled ("cancelled: N of M bytes hashed").
// Thread-safe (uses its own worker pool; options.on_progress is called from its workers).
Result<Manifest> hash_model(const std::filesystem::path& model_path, const SerializationConfig& config,
                            const HashOptions& options = {});

// hash_named_resources hashes exactly the files named by `names` (model-relative POSIX paths)
// under `model_root`, for --ignore-unsigned-files; ignore_paths do not apply. Each name must be a
// clean relative path (no "..", ".", empty components, not absolute), listed once, reached without
// crossing a symlinked directory; the file follows the symlink rule; a single-file model takes
// only ".". Shards mode gives the shards of those files. Errors: as hash_model, plus kMalformed
// for a bad or duplicate name and kNotFound for a missing file. Thread-safe.
Result<Manifest> hash_named_resources(const std::filesystem::path& model_root,
                                      const std::vector<std::string>& names,
                                      const SerializationConfig& config,
                                      const HashOptions& options = {});

// canonical_less orders resource names as upstream does (components by code point, then shard
// start/end numerically). A resource counts as a shard when its algorithm is "<hash>-sharded-<N>"
// (what hash_model writes); use the overload below when the method is known.
bool canonical_less(const Resource& a, const Resource& b);
// canonical_less with the method given: in kShards mode names are "<path>:<start>:<end>", split at
// the last two ':' (a name that does not parse sorts as a plain path with offsets 0).
bool canonical_less(const Resource& a, const Resource& b, SerializationMethod method);

// resource_algorithm is the `algorithm` hash_model writes: hash_type_name() in files mode,
// "<hash>-sharded-<shard_size>" in shards mode (model_signing.md §1.4).
std::string resource_algorithm(const SerializationConfig& config);

}  // namespace modelgate::crypto
