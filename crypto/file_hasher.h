// file_hasher.h: hash files or byte ranges of files: opened without following symlinks, checked
// against the walk's stamp, read through bounded mmap windows, K jobs in lock-step through the
// multi-lane SHA-256 kernel; a file that changes under us is a kIo error, never a crash.
// Not a walker (model_walk.h) and not a manifest (manifest.h); it starts no threads.
//
// Why a process-wide SIGBUS handler: a file truncated while it is mapped makes the next read of a
// page past the new end raise SIGBUS, whose default action kills the whole process (here: the
// admission webhook, for every model). Signal dispositions are per process, not per thread, so the
// only way to survive is one handler for the process. It is installed on first use (and again if
// something replaced it since) and acts only on faults inside a window that the faulting thread
// registered in a thread-local table: it maps zero pages over the rest of that window, flags it
// and returns; that job's hash is thrown away and reported as "changed while hashing (truncated)".
// Any other SIGBUS goes to the previous handler, or gets the default action (the process dies as
// it would have without us). Zero-filling rather than siglongjmp keeps the stack intact: a jump
// would skip the destructors of whatever C++ frames were live at the faulting load (the SHA-256
// driver's vectors) and leave the sibling lock-step streams half-compressed.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "crypto/sha256.h"

namespace modelgate::crypto {

// HashType is the per-resource hash of a manifest (model_signing.md §2.6).
enum class HashType { kSha256, kBlake2b };

// UniqueFd owns one file descriptor (closed on destruction). Move-only; not thread-safe.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // release gives up ownership and returns the descriptor.
  int release() { return std::exchange(fd_, -1); }
  void reset();

 private:
  int fd_ = -1;
};

// FileStamp identifies one version of a file: device, inode, size, mtime and ctime (ns). Two
// stamps of the same path differ when the file was replaced, resized, written or re-linked.
struct FileStamp {
  std::uint64_t dev = 0;
  std::uint64_t ino = 0;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::int64_t ctime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};

// stamp_of reads a FileStamp out of a stat result.
FileStamp stamp_of(const struct stat& st);

// kWholeFile as HashJob::end means "to the end of the file".
inline constexpr std::uint64_t kWholeFile = UINT64_MAX;

// HashJob is one (file, byte range) to hash. The file is reached from `dir_fd` by `rel_path`:
// every directory component is opened with O_NOFOLLOW|O_DIRECTORY, so a directory swapped for a
// symlink after the walk is not followed; the last component is opened with O_NOFOLLOW unless
// `follow_symlink` (an allowed symlink; the target must then be a regular file).
struct HashJob {
  int dir_fd = AT_FDCWD;         // not owned; must stay open until the job is done
  std::string rel_path;          // '/'-separated, relative to dir_fd (absolute is allowed too)
  bool follow_symlink = false;
  std::string display_name;      // names the file in error messages
  // expect, when set, is the stamp the walk recorded: the opened file must carry it both when
  // opened and after its last byte was hashed. Without it the stamp taken at open is used.
  std::optional<FileStamp> expect;
  std::uint64_t start = 0;
  std::uint64_t end = kWholeFile;  // exclusive
};

// FileDigest is a raw digest: 32 bytes (sha256) or 64 bytes (blake2b).
using FileDigest = std::vector<std::uint8_t>;

// LockstepHooks connect hash_jobs_lockstep to a scheduler. Every hook runs on the calling thread.
struct LockstepHooks {
  // next_job is asked whenever fewer than `width` jobs are in flight (`active` of them); it returns
  // the index of a job to start, or nullopt for "no more now" (asked again when a job finishes;
  // the run ends when nothing is in flight and next_job says nullopt).
  std::function<std::optional<std::size_t>(std::size_t active)> next_job;
  // on_done receives each started job's digest or error exactly once (not for abandoned jobs).
  std::function<void(std::size_t job, Result<FileDigest> digest)> on_done;
  // on_bytes, if set, is told how many bytes were hashed after every lock-step round.
  std::function<void(std::uint64_t bytes)> on_bytes;
  // stop, if set, is polled before every round; true abandons the jobs in flight (no on_done).
  std::function<bool()> stop;
};

// kMaxLockstepWidth bounds `width` (the thread-local SIGBUS table has this many slots).
inline constexpr std::size_t kMaxLockstepWidth = 16;

// hash_jobs_lockstep hashes jobs from `jobs` (chosen by hooks.next_job) on the calling thread,
// keeping up to `width` (1..kMaxLockstepWidth; 0 = max(2, backend.lanes)) in flight: sha256 jobs
// advance together through sha256_update_many in equal whole-block chunks, so the backend's
// multi-lane kernel runs whenever two or more are in flight. Each job is read through mmap windows
// of limits::kHashWorkerMappedBytes / width, between kHashMinWindowBytes and kHashWindowBytes
// (MADV_SEQUENTIAL, unmapped once hashed; ranges up to 64 KiB are read with pread instead), so
// the mapped bytes stay at most kHashWorkerMappedBytes per call whatever the width and file size.
// Per-job errors (to on_done): kIo cannot open/read/map, or "<name>: changed while hashing" (stamp changed,
// or truncated under the mapping: SIGBUS), kUnsupported a symlink not allowed or not a regular
// file, kIo a range past the end of the file. `backend` is only used for sha256. Not reentrant
// from its own hooks; thread-safe otherwise (state is per call and per thread).
void hash_jobs_lockstep(std::span<const HashJob> jobs, HashType type, const Sha256Backend& backend,
                        std::size_t width, const LockstepHooks& hooks);

// hash_file_batch hashes every job of `jobs` on the calling thread, `width` at a time in
// lock-step (0 = max(2, backend.lanes)), and returns one result per job, in job order. Errors as
// hash_jobs_lockstep. Thread-safe.
std::vector<Result<FileDigest>> hash_file_batch(std::span<const HashJob> jobs, HashType type,
                                                const Sha256Backend& backend = sha256_default_backend(),
                                                std::size_t width = 0);

// hash_file hashes one job as a single stream. Errors as hash_jobs_lockstep. Thread-safe.
[[nodiscard]] Result<FileDigest> hash_file(const HashJob& job, HashType type,
                                           const Sha256Backend& backend = sha256_default_backend());

}  // namespace modelgate::crypto
