// file_hasher.cpp: opening files without following links, bounded mmap windows, the SIGBUS guard,
// and the lock-step driver that feeds several streams through sha256_update_many.
#include "crypto/file_hasher.h"

#include <openssl/evp.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <string_view>

#include "base/limits.h"
#include "crypto/ossl.h"

namespace modelgate::crypto {

void UniqueFd::reset() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

FileStamp stamp_of(const struct stat& st) {
  FileStamp s;
  s.dev = static_cast<std::uint64_t>(st.st_dev);
  s.ino = static_cast<std::uint64_t>(st.st_ino);
  s.size = static_cast<std::uint64_t>(st.st_size);
  s.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  s.ctime_ns = static_cast<std::int64_t>(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec;
  return s;
}

namespace {

constexpr std::size_t kBlockBytes = 64;
// Ranges up to this size are read with pread into a buffer: an mmap + munmap (and the TLB
// shootdown munmap costs in a threaded process) is dearer than copying 64 KiB.
constexpr std::size_t kPreadMaxBytes = 64u << 10;
static_assert(limits::kHashWindowBytes % kBlockBytes == 0 && limits::kHashMinWindowBytes % kBlockBytes == 0,
              "windows must hold whole blocks");

// --- SIGBUS guard (see file_hasher.h for why it is process-wide) ------------------------------

// One slot per lock-step lane: the mapped window [lo, hi) the thread is reading, and whether a
// fault in it was absorbed. Zero-initialised plain data with the initial-exec TLS model, so the
// handler reads it without calling into the TLS runtime (async-signal-safe).
struct SigbusTable {
  volatile std::uintptr_t lo[kMaxLockstepWidth];
  volatile std::uintptr_t hi[kMaxLockstepWidth];
  volatile sig_atomic_t faulted[kMaxLockstepWidth];
};
__attribute__((tls_model("initial-exec"))) thread_local SigbusTable t_sigbus;

struct sigaction g_previous_sigbus;
std::uintptr_t g_page_mask = 0;

void on_sigbus(int sig, siginfo_t* info, void* ucontext) {
  const auto addr = reinterpret_cast<std::uintptr_t>(info->si_addr);
  for (std::size_t i = 0; i < kMaxLockstepWidth; ++i) {
    const std::uintptr_t lo = t_sigbus.lo[i];
    const std::uintptr_t hi = t_sigbus.hi[i];
    if (lo != 0 && addr >= lo && addr < hi) {
      // The file shrank under our window. Replace the rest of the window with zero pages so the
      // faulting load (and the rest of this round) completes; the job is failed afterwards.
      const std::uintptr_t page = addr & g_page_mask;
      void* r = mmap(reinterpret_cast<void*>(page), hi - page, PROT_READ,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
      if (r != MAP_FAILED) {
        t_sigbus.faulted[i] = 1;
        return;
      }
      break;
    }
  }
  // Not a fault in one of our windows: behave as if we had never been installed.
  if ((g_previous_sigbus.sa_flags & SA_SIGINFO) != 0 && g_previous_sigbus.sa_sigaction != nullptr) {
    g_previous_sigbus.sa_sigaction(sig, info, ucontext);
    return;
  }
  if (g_previous_sigbus.sa_handler != SIG_DFL && g_previous_sigbus.sa_handler != SIG_IGN) {
    g_previous_sigbus.sa_handler(sig);
    return;
  }
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(SIGBUS, &dfl, nullptr);
  raise(SIGBUS);  // pending until we return (SIGBUS is blocked in its handler), then fatal
}

// ensure_sigbus_handler installs on_sigbus, or reinstalls it when someone replaced it since (a
// test framework or library that saves and restores handlers around its own work), remembering
// whatever was there to forward foreign faults to.
void ensure_sigbus_handler() {
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  if (g_page_mask == 0) {
    g_page_mask = ~(static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE)) - 1);
  }
  struct sigaction current {};
  if (sigaction(SIGBUS, nullptr, &current) == 0 && (current.sa_flags & SA_SIGINFO) != 0 &&
      current.sa_sigaction == on_sigbus) {
    return;
  }
  struct sigaction sa {};
  sa.sa_sigaction = on_sigbus;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  struct sigaction previous {};
  if (sigaction(SIGBUS, &sa, &previous) != 0) {
    std::abort();  // cannot fail for SIGBUS with a valid handler; hashing unguarded could crash
  }
  g_previous_sigbus = previous;
}

// --- messages ---------------------------------------------------------------------------------

std::string errno_text(int e) {
  char buf[128];
  std::string s = strerror_r(e, buf, sizeof buf);  // GNU variant: returns the message
  if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z') {
    s[0] = static_cast<char>(s[0] - 'A' + 'a');
  }
  return s;
}

// job_error prefixes the job's display name (none for a single-file model, whose path the caller
// gives as context).
Error job_error(Code code, const HashJob& job, std::string_view what) {
  std::string m = job.display_name;
  if (!m.empty()) {
    m.append(": ");
  }
  m.append(what);
  return make_error(code, std::move(m));
}

Error changed_error(const HashJob& job, std::string_view detail) {
  return job_error(Code::kIo, job, std::string("changed while hashing (") + std::string(detail) + ")");
}

std::string_view stamp_difference(const FileStamp& was, const FileStamp& now) {
  if (was.dev != now.dev || was.ino != now.ino) {
    return "replaced";
  }
  if (now.size < was.size) {
    return "truncated";
  }
  if (now.size != was.size) {
    return "size changed";
  }
  return "modified";
}

// --- opening ------------------------------------------------------------------------------------

// open_job_file walks job.rel_path from job.dir_fd one component at a time; directories are never
// followed through symlinks. The returned descriptor is a regular file.
Result<UniqueFd> open_job_file(const HashJob& job, FileStamp& stamp) {
  std::string_view rel = job.rel_path;
  int base = job.dir_fd;
  UniqueFd root;
  if (!rel.empty() && rel.front() == '/') {
    root = UniqueFd(::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!root.valid()) {
      return job_error(Code::kIo, job, "cannot open /: " + errno_text(errno));
    }
    base = root.get();
    while (!rel.empty() && rel.front() == '/') {
      rel.remove_prefix(1);
    }
  }
  if (rel.empty()) {
    return job_error(Code::kMalformed, job, "empty file path");
  }
  UniqueFd dir;
  for (std::size_t slash = rel.find('/'); slash != std::string_view::npos; slash = rel.find('/')) {
    const std::string comp(rel.substr(0, slash));
    rel.remove_prefix(slash + 1);
    if (comp.empty() || comp == ".") {
      continue;
    }
    if (comp == "..") {
      return job_error(Code::kMalformed, job, "path has a \"..\" component");
    }
    UniqueFd next(::openat(dir.valid() ? dir.get() : base, comp.c_str(),
                           O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next.valid()) {
      const int e = errno;
      if (e == ELOOP || e == ENOTDIR) {
        return job_error(Code::kIo, job, "cannot open: a parent directory is a symlink or not a directory");
      }
      if (e == ENOENT && job.expect) {
        return changed_error(job, "removed");
      }
      return job_error(e == ENOENT ? Code::kNotFound : Code::kIo, job, "cannot open: " + errno_text(e));
    }
    dir = std::move(next);
  }
  const std::string leaf(rel);
  if (leaf.empty() || leaf == "." || leaf == "..") {
    return job_error(Code::kMalformed, job, "path does not name a file");
  }
  // O_NONBLOCK: a FIFO swapped in after the walk must not block the open; it has no effect on
  // reading regular files.
  const int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | (job.follow_symlink ? 0 : O_NOFOLLOW);
  UniqueFd fd(::openat(dir.valid() ? dir.get() : base, leaf.c_str(), flags));
  if (!fd.valid()) {
    const int e = errno;
    if (e == ELOOP && !job.follow_symlink) {
      return job_error(Code::kUnsupported, job, "is a symlink and symlinks are not allowed");
    }
    if (e == ENOENT && job.expect) {
      return changed_error(job, "removed");
    }
    return job_error(e == ENOENT ? Code::kNotFound : Code::kIo, job, "cannot open: " + errno_text(e));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return job_error(Code::kIo, job, "cannot stat: " + errno_text(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    return job_error(Code::kUnsupported, job, "is not a regular file");
  }
  stamp = stamp_of(st);
  if (job.expect && stamp != *job.expect) {
    return changed_error(job, stamp_difference(*job.expect, stamp));
  }
  return fd;
}

// --- one stream ---------------------------------------------------------------------------------

struct Stream {
  bool active = false;
  std::size_t job = 0;
  const HashJob* spec = nullptr;
  std::size_t slot = 0;  // index into t_sigbus
  UniqueFd fd;
  FileStamp stamp;
  std::uint64_t start = 0;
  std::uint64_t pos = 0;         // next file offset to hash
  std::uint64_t end = 0;         // exclusive
  std::uint64_t window_end = 0;  // end of the bytes currently readable at `cursor`
  std::size_t window_bytes = limits::kHashWindowBytes;  // mmap window size (see hash_jobs_lockstep)
  const std::uint8_t* cursor = nullptr;
  void* map_base = nullptr;
  std::size_t map_len = 0;
  std::vector<std::uint8_t> buffer;
  std::optional<Sha256> sha;
  ossl::Ptr<EVP_MD_CTX> blake;

  Stream() = default;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  ~Stream() { release_window(); }

  std::uint64_t avail() const { return window_end - pos; }

  bool faulted() const { return map_base != nullptr && t_sigbus.faulted[slot] != 0; }

  void release_window() {
    if (map_base != nullptr) {
      t_sigbus.lo[slot] = 0;
      t_sigbus.hi[slot] = 0;
      t_sigbus.faulted[slot] = 0;
      ::munmap(map_base, map_len);
      map_base = nullptr;
      map_len = 0;
    }
    cursor = nullptr;
  }

  void close() {
    release_window();
    fd.reset();
    sha.reset();
    blake.reset();
    buffer.clear();
    active = false;
  }

  // load_window makes the next bytes readable. Windows are laid out from the range start in
  // steps of window_bytes (a multiple of 64), so every window but the last holds whole
  // blocks and the lanes stay block-aligned.
  Result<void> load_window() {
    release_window();
    if (end - start <= kPreadMaxBytes) {
      const std::size_t n = static_cast<std::size_t>(end - pos);
      buffer.resize(n);
      std::size_t got = 0;
      while (got < n) {
        const ssize_t r = ::pread(fd.get(), buffer.data() + got, n - got, static_cast<off_t>(pos + got));
        if (r < 0 && errno == EINTR) {
          continue;
        }
        if (r < 0) {
          return job_error(Code::kIo, *spec, "cannot read: " + errno_text(errno));
        }
        if (r == 0) {
          return changed_error(*spec, "truncated");
        }
        got += static_cast<std::size_t>(r);
      }
      cursor = buffer.data();
      window_end = end;
      return ok_status();
    }
    const std::uint64_t page = ~static_cast<std::uint64_t>(g_page_mask) + 1;
    const std::uint64_t win_end = std::min<std::uint64_t>(end, pos + window_bytes);
    const std::uint64_t map_off = pos & ~(page - 1);
    const std::size_t len = static_cast<std::size_t>(win_end - map_off);
    void* base = ::mmap(nullptr, len, PROT_READ, MAP_SHARED, fd.get(), static_cast<off_t>(map_off));
    if (base == MAP_FAILED) {
      return job_error(Code::kIo, *spec, "cannot map: " + errno_text(errno));
    }
    ::madvise(base, len, MADV_SEQUENTIAL);
    map_base = base;
    map_len = len;
    const auto lo = reinterpret_cast<std::uintptr_t>(base);
    t_sigbus.faulted[slot] = 0;
    t_sigbus.hi[slot] = lo + ((len + page - 1) & ~(page - 1));
    t_sigbus.lo[slot] = lo;
    cursor = static_cast<const std::uint8_t*>(base) + (pos - map_off);
    window_end = win_end;
    return ok_status();
  }

  Result<void> update(const std::uint8_t* p, std::size_t n) {
    if (sha) {
      sha->update(std::span<const std::uint8_t>(p, n));
      return ok_status();
    }
    if (EVP_DigestUpdate(blake.get(), p, n) != 1) {
      return ossl::take_error(Code::kInternal, "blake2b");
    }
    return ok_status();
  }

  Result<FileDigest> finish_digest() {
    if (sha) {
      const Sha256Digest d = sha->final();
      return FileDigest(d.begin(), d.end());
    }
    FileDigest d(EVP_MAX_MD_SIZE);
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(blake.get(), d.data(), &n) != 1) {
      return ossl::take_error(Code::kInternal, "blake2b");
    }
    d.resize(n);
    return d;
  }
};

Result<void> start_stream(Stream& s, std::size_t job_index, const HashJob& job, HashType type,
                          const Sha256Backend& backend) {
  s.job = job_index;
  s.spec = &job;
  MG_ASSIGN_OR_RETURN(s.fd, open_job_file(job, s.stamp));
  const std::uint64_t end = job.end == kWholeFile ? s.stamp.size : job.end;
  if (job.start > end) {
    return job_error(Code::kMalformed, job, "byte range starts after it ends");
  }
  if (end > s.stamp.size) {
    return job_error(Code::kIo, job,
                     "byte range [" + std::to_string(job.start) + ", " + std::to_string(end) +
                         ") is past the end of the file (" + std::to_string(s.stamp.size) + " bytes)");
  }
  s.start = job.start;
  s.pos = job.start;
  s.end = end;
  s.window_end = job.start;
  if (end - job.start > kPreadMaxBytes) {  // small ranges are one pread: no readahead hint needed
    ::posix_fadvise(s.fd.get(), static_cast<off_t>(job.start), static_cast<off_t>(end - job.start),
                    POSIX_FADV_SEQUENTIAL);
  }
  if (type == HashType::kSha256) {
    s.sha.emplace(backend);
  } else {
    s.blake.reset(EVP_MD_CTX_new());
    if (!s.blake || EVP_DigestInit_ex(s.blake.get(), EVP_blake2b512(), nullptr) != 1) {
      return ossl::take_error(Code::kInternal, "blake2b");
    }
  }
  s.active = true;
  return ok_status();
}

// complete_stream checks that the file did not change while it was hashed and yields the digest.
Result<FileDigest> complete_stream(Stream& s) {
  if (s.faulted()) {
    return changed_error(*s.spec, "truncated");
  }
  s.release_window();
  struct stat st {};
  if (::fstat(s.fd.get(), &st) != 0) {
    return job_error(Code::kIo, *s.spec, "cannot stat: " + errno_text(errno));
  }
  const FileStamp now = stamp_of(st);
  if (now != s.stamp) {
    return changed_error(*s.spec, stamp_difference(s.stamp, now));
  }
  return s.finish_digest();
}

}  // namespace

void hash_jobs_lockstep(std::span<const HashJob> jobs, HashType type, const Sha256Backend& backend,
                        std::size_t width, const LockstepHooks& hooks) {
  ensure_sigbus_handler();
  if (width == 0) {
    width = std::max<std::size_t>(2, backend.lanes);
  }
  width = std::clamp<std::size_t>(width, 1, kMaxLockstepWidth);
  // Wider kernels keep more streams in flight with smaller windows: the mapped total stays at
  // kHashWorkerMappedBytes (64 KiB steps keep windows page- and block-aligned).
  const std::size_t window_bytes =
      std::clamp<std::size_t>(limits::kHashWorkerMappedBytes / width / (64u << 10) * (64u << 10),
                              limits::kHashMinWindowBytes, limits::kHashWindowBytes);
  std::vector<Stream> streams(width);
  for (std::size_t i = 0; i < width; ++i) {
    streams[i].slot = i;
    streams[i].window_bytes = window_bytes;
  }
  std::size_t active = 0;
  auto finish = [&](Stream& s, Result<FileDigest> r) {
    const std::size_t job = s.job;
    s.close();
    --active;
    hooks.on_done(job, std::move(r));
  };

  std::vector<Sha256*> hashers;
  std::vector<std::span<const std::uint8_t>> chunks;
  hashers.reserve(width);
  chunks.reserve(width);
  while (true) {
    // Fill free lanes. A job that fails to start or is empty frees its lane at once, so keep
    // asking until the lane holds a job or the scheduler has none for now.
    bool scheduler_dry = false;
    for (Stream& s : streams) {
      while (!s.active && !scheduler_dry) {
        const std::optional<std::size_t> next = hooks.next_job(active);
        if (!next) {
          scheduler_dry = true;
          break;
        }
        Result<void> started = start_stream(s, *next, jobs[*next], type, backend);
        if (!started.ok()) {
          s.close();
          hooks.on_done(*next, std::move(started).error());
          continue;
        }
        ++active;
        if (s.pos == s.end) {
          finish(s, complete_stream(s));
        }
      }
    }
    if (active == 0) {
      break;  // only reached when the scheduler said "no more" with nothing in flight
    }
    if (hooks.stop && hooks.stop()) {
      for (Stream& s : streams) {
        s.close();
      }
      return;
    }
    // Make bytes readable in every lane.
    for (Stream& s : streams) {
      if (s.active && s.avail() == 0) {
        Result<void> loaded = s.load_window();
        if (!loaded.ok()) {
          finish(s, std::move(loaded).error());
        }
      }
    }
    // One round: lanes with fewer than 64 bytes left (only a range's final tail) are fed alone;
    // the others all get the same whole-block chunk, the largest they can all take.
    std::uint64_t round_bytes = 0;
    std::uint64_t common = UINT64_MAX;
    for (Stream& s : streams) {
      if (!s.active) {
        continue;
      }
      const std::uint64_t a = s.avail();
      if (a < kBlockBytes) {
        Result<void> fed = s.update(s.cursor, static_cast<std::size_t>(a));
        if (!fed.ok()) {
          finish(s, std::move(fed).error());
          continue;
        }
        s.cursor += a;
        s.pos += a;
        round_bytes += a;
      } else {
        common = std::min(common, a & ~static_cast<std::uint64_t>(kBlockBytes - 1));
      }
    }
    if (common != UINT64_MAX) {
      const std::size_t n = static_cast<std::size_t>(common);
      hashers.clear();
      chunks.clear();
      for (Stream& s : streams) {
        if (!s.active || s.pos == s.end || s.avail() < kBlockBytes) {
          continue;
        }
        if (s.sha) {
          hashers.push_back(&*s.sha);
          chunks.emplace_back(s.cursor, n);
        } else {
          Result<void> fed = s.update(s.cursor, n);
          if (!fed.ok()) {
            finish(s, std::move(fed).error());
            continue;
          }
        }
        s.cursor += n;
        s.pos += n;
        round_bytes += n;
      }
      if (!hashers.empty()) {
        sha256_update_many(hashers, chunks);
      }
    }
    for (Stream& s : streams) {
      if (!s.active) {
        continue;
      }
      if (s.faulted()) {
        finish(s, changed_error(*s.spec, "truncated"));
      } else if (s.pos == s.end) {
        finish(s, complete_stream(s));
      }
    }
    if (hooks.on_bytes && round_bytes > 0) {
      hooks.on_bytes(round_bytes);
    }
  }
}

std::vector<Result<FileDigest>> hash_file_batch(std::span<const HashJob> jobs, HashType type,
                                                const Sha256Backend& backend, std::size_t width) {
  std::vector<std::optional<Result<FileDigest>>> results(jobs.size());
  std::size_t next = 0;
  LockstepHooks hooks;
  hooks.next_job = [&](std::size_t) -> std::optional<std::size_t> {
    if (next < jobs.size()) {
      return next++;
    }
    return std::nullopt;
  };
  hooks.on_done = [&](std::size_t job, Result<FileDigest> r) { results[job].emplace(std::move(r)); };
  hash_jobs_lockstep(jobs, type, backend, width, hooks);
  std::vector<Result<FileDigest>> out;
  out.reserve(jobs.size());
  for (auto& r : results) {
    out.push_back(r ? std::move(*r) : Result<FileDigest>(make_error(Code::kInternal, "job was never hashed")));
  }
  return out;
}

Result<FileDigest> hash_file(const HashJob& job, HashType type, const Sha256Backend& backend) {
  std::vector<Result<FileDigest>> r = hash_file_batch(std::span<const HashJob>(&job, 1), type, backend, 1);
  return std::move(r.front());
}

}  // namespace modelgate::crypto
