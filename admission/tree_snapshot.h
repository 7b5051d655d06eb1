// tree_snapshot.h: what a cached verdict is keyed by — the bytes of a model's signature file and
// the names and stamps (device, inode, size, mtime, ctime) of every file under the model
// directory — taken without reading a byte of the model. Not hashing (crypto/manifest.h) and not
// caching (orchestrator.h).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <unordered_map>

#include "base/result.h"
#include "crypto/file_hasher.h"

namespace modelgate::admission {

// TreeSnapshot is one look at a model directory.
struct TreeSnapshot {
  std::string signature_fingerprint;  // SHA-256 hex of the signature file's bytes, or "absent:<code>"
  std::string tree_fingerprint;       // SHA-256 hex over every name and stamp, or "unwalkable:<why>"
  // stamps by model-relative name (symlinks to files: the target's), only when asked for.
  std::unordered_map<std::string, crypto::FileStamp> stamps;
  // newest_change_ns is the latest mtime or ctime of any file (the signature file included).
  std::int64_t newest_change_ns = INT64_MIN;
  std::size_t files = 0;
  bool walkable = true;

  // same_as is true when both name the same signature bytes and the same files and stamps.
  bool same_as(const TreeSnapshot& o) const {
    return signature_fingerprint == o.signature_fingerprint && tree_fingerprint == o.tree_fingerprint;
  }
};

// take_snapshot looks at `dir` and its signature file `signature_file` (a name inside it); the
// whole signature file is read (≤ limits::kMaxBundleBytes), model files only stat'ed. A model that
// cannot be read or walked is a snapshot naming why (the verification that follows says it to the
// user). Errors: kDeadline only — `deadline` passed or `cancel` became true while walking.
// Thread-safe.
[[nodiscard]] Result<TreeSnapshot> take_snapshot(const std::filesystem::path& dir, const std::string& signature_file,
                                                 bool keep_stamps,
                                                 std::optional<std::chrono::steady_clock::time_point> deadline,
                                                 const std::atomic<bool>* cancel = nullptr);

}  // namespace modelgate::admission
