// model_walk.h: enumerate the files of a model exactly as OpenSSF model_signing does
// (model_signing.md §2.1-2.2) through directory file descriptors (openat, O_NOFOLLOW), recording
// each file's stamp so the hasher can prove it hashes the file the walk saw.
// Not hashing (file_hasher.h) and not ordering (manifest.h): files come out in walk order.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "crypto/file_hasher.h"

namespace modelgate::crypto {

// WalkOptions: how to walk. ignore_paths are model-relative POSIX paths matched by whole path
// components and anchored at the model root ("a/b" ignores "a/b" and "a/b/**", never "x/a/b").
struct WalkOptions {
  bool allow_symlinks = false;
  std::vector<std::string> ignore_paths;
  const std::atomic<bool>* cancel = nullptr;  // becoming true stops the walk with kDeadline
  // deadline, when set and passed, stops the walk with kDeadline (checked every few entries).
  std::optional<std::chrono::steady_clock::time_point> deadline;
};

// ModelFile is one file to hash.
struct ModelFile {
  std::string name;          // resource name: model-relative POSIX path; "." for a single-file model
  std::string rel_path;      // how to reach it from ModelTree::root (never through a symlinked dir)
  bool via_symlink = false;  // `name` is an allowed symlink: open it following the last component
  FileStamp stamp;           // of the bytes to hash (the target's, for a symlink)
};

// ModelTree is a walked model. Owns `root`, the directory every rel_path starts from: the model
// directory, or the parent directory of a single-file model. Move-only.
struct ModelTree {
  UniqueFd root;
  bool single_file = false;
  std::string model_name;        // model_name_of(model_path)
  std::vector<ModelFile> files;  // walk order
  std::uint64_t total_bytes = 0;
};

// walk_model lists the files of `model_path` (a directory, or a single regular file named "."),
// with upstream's rules, in this order per entry: ignored (skipped, not descended), name not valid
// UTF-8 or containing a control character (kMalformed, the name shown escaped), symlink (kUnsupported
// unless allow_symlinks; then a link to a regular file is hashed with the target's bytes under the
// link's name, a link to a directory is skipped, a dangling link is kUnsupported), directory
// (descended through an fd opened O_NOFOLLOW|O_DIRECTORY; empty ones leave no trace), regular file
// (listed, dotfiles included), anything else — FIFO, socket, device — kUnsupported. The model path
// itself follows the same symlink rule. Errors name the model-relative path; also kNotFound (model
// path missing), kIo (cannot stat/open/read a directory, or it changed while walked), kLimit
// (limits::kMaxModelFiles, kMaxModelDepth, kMaxModelDirEntries, kMaxPathBytes, kMaxNameBytes,
// kMaxIgnorePaths), kMalformed (an ignore path that is not a clean relative path), kDeadline.
// Thread-safe.
[[nodiscard]] Result<ModelTree> walk_model(const std::filesystem::path& model_path, const WalkOptions& options);

// resolve_model_files looks up exactly `names` (model-relative POSIX paths) under `model_root`
// instead of walking it (--ignore-unsigned-files). Each name must be a clean relative path
// (check_model_relative_name), listed once; it is reached without following symlinked directories;
// the file itself follows walk_model's symlink rule. A single-file model accepts only ".".
// Errors: kMalformed (bad or duplicate name), kNotFound (missing file or model), kUnsupported
// (symlink not allowed, not a regular file, reached through a symlinked directory), kIo, kLimit.
// Thread-safe.
[[nodiscard]] Result<ModelTree> resolve_model_files(const std::filesystem::path& model_root,
                                                    std::span<const std::string> names, bool allow_symlinks);

// check_model_relative_name accepts a clean model-relative POSIX path: non-empty, not absolute, no
// empty, "." or ".." component, valid UTF-8 without control characters, components ≤
// kMaxNameBytes, whole ≤ kMaxPathBytes. The message says what is wrong without quoting the path.
// Errors: kMalformed, kLimit.
[[nodiscard]] Result<void> check_model_relative_name(std::string_view path);

// is_printable_utf8 is true when `s` is valid UTF-8 (no overlongs, surrogates or values past
// U+10FFFF) and holds no control character (C0, DEL, C1).
bool is_printable_utf8(std::string_view s);

// quote_file_name renders an untrusted name for a message: double-quoted, '"' and '\\' escaped,
// control and non-UTF-8 bytes as \xHH, capped at 120 bytes of content with "...".
std::string quote_file_name(std::string_view name);

// model_name_of is upstream's model name (§2.1): the last component of `model_path` ("." parts
// dropped), or the basename of the resolved path when that is empty or "..".
std::string model_name_of(const std::filesystem::path& model_path);

}  // namespace modelgate::crypto
