#include "crypto/file_hasher.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "base/limits.h"
#include "test_support.h"

namespace crypto = modelgate::crypto;
using crypto::FileDigest;
using crypto::HashJob;
using crypto::HashType;
using modelgate::Code;
using modelgate::testing::TempDir;
using modelgate::testing::to_hex;

namespace {

constexpr std::size_t kW = modelgate::limits::kHashWindowBytes;

// OpenSSL EVP is the independent oracle (and `sha256sum` / `b2sum` below).
std::string openssl_hex(const EVP_MD* md, const std::uint8_t* p, std::size_t n) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  REQUIRE(EVP_Digest(p, n, out, &len, md, nullptr) == 1);
  return to_hex(out, len);
}

void write_bytes(const std::filesystem::path& p, const std::vector<std::uint8_t>& bytes) {
  modelgate::testing::write_file(p, std::string(bytes.begin(), bytes.end()));
}

// tool_digests runs `tool` (sha256sum, b2sum) over files and maps file name → hex digest.
std::map<std::string, std::string> tool_digests(const std::string& tool, const std::vector<std::filesystem::path>& files) {
  std::vector<std::string> argv{tool};
  for (const auto& f : files) {
    argv.push_back(f.string());
  }
  auto r = modelgate::testing::run(argv);
  REQUIRE(r.exit_code == 0);
  std::map<std::string, std::string> out;
  std::istringstream lines(r.out);
  std::string hex, name;
  while (lines >> hex >> name) {
    out[std::filesystem::path(name).filename().string()] = hex;
  }
  REQUIRE(out.size() == files.size());
  return out;
}

HashJob job_for(const std::filesystem::path& p, std::uint64_t start = 0, std::uint64_t end = crypto::kWholeFile) {
  HashJob j;
  j.rel_path = p.string();
  j.display_name = p.filename().string();
  j.start = start;
  j.end = end;
  return j;
}

std::vector<const crypto::Sha256Backend*> backends() {
  auto all = crypto::sha256_available_backends();
  REQUIRE(!all.empty());
  return {all.begin(), all.end()};
}

}  // namespace

TEST_CASE("file digests equal sha256sum and OpenSSL for awkward sizes on every backend, alone and in lock-step") {
  TempDir dir;
  const std::vector<std::size_t> sizes{0,         1,     63,     64,     65,     4095,   4096,          4097,
                                       65535,     65536, 65537,  kW - 1, kW,     kW + 1, 3 * kW + 12345};
  std::vector<std::filesystem::path> files;
  std::map<std::string, std::string> openssl;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    const auto bytes = modelgate::testing::random_bytes(sizes[i], 1000 + i);
    files.push_back(dir / ("f" + std::to_string(sizes[i])));
    write_bytes(files.back(), bytes);
    openssl[files.back().filename().string()] = openssl_hex(EVP_sha256(), bytes.data(), bytes.size());
  }
  const auto sha256sum = tool_digests("sha256sum", files);
  REQUIRE(sha256sum == openssl);

  std::vector<HashJob> jobs;
  for (const auto& f : files) {
    jobs.push_back(job_for(f));
  }
  for (const auto* backend : backends()) {
    INFO("backend " << backend->name);
    // 16 streams in flight map windows of a quarter of kW (limits::kHashWorkerMappedBytes / 16),
    // so the larger files cross several window boundaries at other offsets than with 1-8.
    for (std::size_t width : {std::size_t{1}, std::size_t{2}, std::size_t{8}, std::size_t{16}}) {
      INFO("width " << width);
      auto results = crypto::hash_file_batch(jobs, HashType::kSha256, *backend, width);
      REQUIRE(results.size() == files.size());
      for (std::size_t i = 0; i < files.size(); ++i) {
        INFO(files[i].filename().string());
        REQUIRE(results[i].ok());
        CHECK(to_hex(results[i].value()) == sha256sum.at(files[i].filename().string()));
      }
    }
  }
}

TEST_CASE("byte ranges hash like the same bytes cut out and given to OpenSSL") {
  TempDir dir;
  const auto bytes = modelgate::testing::random_bytes(2 * kW + 777, 7);
  write_bytes(dir / "w", bytes);
  const std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges{
      {0, 0},          {5, 5},           {0, 1},          {1, 64},          {3, 70000},     {4096, 8192},
      {kW - 3, kW + 5}, {kW - 64, kW + 64}, {1, 2 * kW + 777}, {kW + 1, 2 * kW + 777}, {123, kW + 456}, {0, 2 * kW}};
  std::vector<HashJob> jobs;
  for (auto [a, b] : ranges) {
    jobs.push_back(job_for(dir / "w", a, b));
  }
  for (const auto* backend : backends()) {
    INFO("backend " << backend->name);
    auto results = crypto::hash_file_batch(jobs, HashType::kSha256, *backend);
    for (std::size_t i = 0; i < ranges.size(); ++i) {
      const auto [a, b] = ranges[i];
      INFO("range " << a << ".." << b);
      REQUIRE(results[i].ok());
      CHECK(to_hex(results[i].value()) == openssl_hex(EVP_sha256(), bytes.data() + a, b - a));
    }
  }
}

TEST_CASE("blake2b digests equal OpenSSL's BLAKE2b-512 and b2sum") {
  TempDir dir;
  std::vector<std::filesystem::path> files;
  std::vector<HashJob> jobs;
  std::vector<std::string> expected;
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{127}, std::size_t{128}, std::size_t{129},
                        std::size_t{100000}, kW + 3}) {
    const auto bytes = modelgate::testing::random_bytes(n, n + 1);
    files.push_back(dir / ("b" + std::to_string(n)));
    write_bytes(files.back(), bytes);
    jobs.push_back(job_for(files.back()));
    expected.push_back(openssl_hex(EVP_blake2b512(), bytes.data(), bytes.size()));
  }
  const auto b2sum = tool_digests("b2sum", files);
  auto results = crypto::hash_file_batch(jobs, HashType::kBlake2b);
  for (std::size_t i = 0; i < files.size(); ++i) {
    REQUIRE(results[i].ok());
    CHECK(results[i].value().size() == 64);
    CHECK(to_hex(results[i].value()) == expected[i]);
    CHECK(to_hex(results[i].value()) == b2sum.at(files[i].filename().string()));
  }
}

TEST_CASE("a symlink is refused unless the job follows it, and then the target's bytes are hashed") {
  TempDir dir;
  modelgate::testing::write_file(dir / "target", "target bytes");
  std::filesystem::create_symlink("target", dir / "link");
  HashJob j = job_for(dir / "link");
  auto refused = crypto::hash_file(j, HashType::kSha256);
  REQUIRE(!refused.ok());
  CHECK(refused.error().code == Code::kUnsupported);
  CHECK(refused.error().message == "link: is a symlink and symlinks are not allowed");
  j.follow_symlink = true;
  auto followed = crypto::hash_file(j, HashType::kSha256);
  REQUIRE(followed.ok());
  const std::string t = "target bytes";
  CHECK(to_hex(followed.value()) ==
        openssl_hex(EVP_sha256(), reinterpret_cast<const std::uint8_t*>(t.data()), t.size()));
}

TEST_CASE("a symlinked parent directory is not followed") {
  TempDir dir;
  modelgate::testing::write_file(dir / "real/f", "x");
  std::filesystem::create_symlink("real", dir / "alias");
  const int root = ::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  REQUIRE(root >= 0);
  crypto::UniqueFd owned(root);
  HashJob j;
  j.dir_fd = root;
  j.rel_path = "alias/f";
  j.display_name = "alias/f";
  j.follow_symlink = true;  // only the last component may be a link
  auto r = crypto::hash_file(j, HashType::kSha256);
  REQUIRE(!r.ok());
  CHECK(r.error().code == Code::kIo);
  CHECK(r.error().message == "alias/f: cannot open: a parent directory is a symlink or not a directory");
  j.rel_path = "real/f";
  CHECK(crypto::hash_file(j, HashType::kSha256).ok());
}

TEST_CASE("a FIFO is refused at once instead of blocking the hasher") {
  TempDir dir;
  REQUIRE(::mkfifo((dir / "pipe").c_str(), 0600) == 0);
  auto r = crypto::hash_file(job_for(dir / "pipe"), HashType::kSha256);
  REQUIRE(!r.ok());
  CHECK(r.error().code == Code::kUnsupported);
  CHECK(r.error().message == "pipe: is not a regular file");
}

TEST_CASE("a file that is not the one the walk saw is reported as changed") {
  TempDir dir;
  modelgate::testing::write_file(dir / "a", "aaaa");
  modelgate::testing::write_file(dir / "b", "bbbb");
  struct stat st {};
  REQUIRE(::stat((dir / "b").c_str(), &st) == 0);
  HashJob j = job_for(dir / "a");
  j.expect = crypto::stamp_of(st);  // b's identity, a's path: the file was swapped
  auto r = crypto::hash_file(j, HashType::kSha256);
  REQUIRE(!r.ok());
  CHECK(r.error().code == Code::kIo);
  CHECK(r.error().message == "a: changed while hashing (replaced)");

  REQUIRE(::stat((dir / "a").c_str(), &st) == 0);
  j.expect = crypto::stamp_of(st);
  j.expect->size += 1;  // the walk saw a longer file
  r = crypto::hash_file(j, HashType::kSha256);
  REQUIRE(!r.ok());
  CHECK(r.error().message == "a: changed while hashing (truncated)");
}

TEST_CASE("a byte range past the end of the file is an error") {
  TempDir dir;
  modelgate::testing::write_file(dir / "short", "0123456789");
  auto r = crypto::hash_file(job_for(dir / "short", 4, 11), HashType::kSha256);
  REQUIRE(!r.ok());
  CHECK(r.error().code == Code::kIo);
  CHECK(r.error().message == "short: byte range [4, 11) is past the end of the file (10 bytes)");
}

TEST_CASE("a file truncated under the mapping fails cleanly while its lock-step sibling still hashes right") {
  TempDir dir;
  const auto big = modelgate::testing::random_bytes(3 * kW, 11);
  const auto other = modelgate::testing::random_bytes(2 * kW + 100, 12);
  write_bytes(dir / "big", big);
  write_bytes(dir / "other", other);
  for (std::uint64_t cut : {kW + kW / 2 + 5, std::uint64_t{kW}, std::uint64_t{0}}) {
    INFO("truncated to " << cut);
    write_bytes(dir / "big", big);
    std::vector<HashJob> jobs{job_for(dir / "big"), job_for(dir / "other")};
    std::vector<std::optional<modelgate::Result<FileDigest>>> results(2);
    std::size_t next = 0;
    bool truncated = false;
    crypto::LockstepHooks hooks;
    hooks.next_job = [&](std::size_t) -> std::optional<std::size_t> {
      return next < jobs.size() ? std::optional<std::size_t>(next++) : std::nullopt;
    };
    hooks.on_done = [&](std::size_t i, modelgate::Result<FileDigest> r) { results[i].emplace(std::move(r)); };
    hooks.on_bytes = [&](std::uint64_t) {
      if (!truncated) {  // after the first window of each: both are mapped past the cut
        REQUIRE(::truncate((dir / "big").c_str(), static_cast<off_t>(cut)) == 0);
        truncated = true;
      }
    };
    crypto::hash_jobs_lockstep(jobs, HashType::kSha256, crypto::sha256_default_backend(), 2, hooks);
    REQUIRE(truncated);
    REQUIRE(results[0].has_value());
    REQUIRE(!results[0]->ok());
    CHECK(results[0]->error().code == Code::kIo);
    CHECK(results[0]->error().message == "big: changed while hashing (truncated)");
    REQUIRE(results[1].has_value());
    REQUIRE(results[1]->ok());
    CHECK(to_hex(results[1]->value()) == openssl_hex(EVP_sha256(), other.data(), other.size()));
  }
}

// hash_changing hashes `path` alone in lock-step and calls `change` once, after the first window
// was hashed (the file is mapped by then); returns the result and whether `change` ran.
std::pair<std::optional<modelgate::Result<FileDigest>>, bool> hash_changing(const std::filesystem::path& path,
                                                                            const std::function<void()>& change) {
  bool changed = false;
  bool given = false;
  std::optional<modelgate::Result<FileDigest>> result;
  std::vector<HashJob> jobs{job_for(path)};
  crypto::LockstepHooks hooks;
  hooks.next_job = [&](std::size_t) -> std::optional<std::size_t> {
    if (given) {
      return std::nullopt;
    }
    given = true;
    return 0;
  };
  hooks.on_done = [&](std::size_t, modelgate::Result<FileDigest> r) { result.emplace(std::move(r)); };
  hooks.on_bytes = [&](std::uint64_t) {
    if (!changed) {
      change();
      changed = true;
    }
  };
  crypto::hash_jobs_lockstep(jobs, HashType::kSha256, crypto::sha256_default_backend(), 1, hooks);
  return {std::move(result), changed};
}

TEST_CASE("a file rewritten in place while hashed (same size, new mtime) is reported as changed") {
  TempDir dir;
  const auto bytes = modelgate::testing::random_bytes(2 * kW + 1, 13);
  write_bytes(dir / "w", bytes);
  auto [result, rewritten] = hash_changing(dir / "w", [&] {
    const int fd = ::open((dir / "w").c_str(), O_WRONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    const char c = static_cast<char>(bytes[0] ^ 0xff);
    REQUIRE(::pwrite(fd, &c, 1, 0) == 1);
    const struct timespec times[2] = {{0, UTIME_OMIT}, {978307200, 0}};  // mtime 2001-01-01
    REQUIRE(::futimens(fd, times) == 0);
    ::close(fd);
  });
  REQUIRE(rewritten);
  REQUIRE(result.has_value());
  REQUIRE(!result->ok());
  CHECK(result->error().code == Code::kIo);
  CHECK(result->error().message == "w: changed while hashing (modified)");
}

namespace {

void exit_42(int, siginfo_t*, void*) { _exit(42); }

// fault_outside_window_in_child forks; the child sets SIGBUS to `previous` (SIG_DFL or a handler),
// hashes a file (which installs the hasher's handler on top), then reads a page of a mapping
// that is not a hashing window after truncating its file. Returns the child's wait status.
int fault_outside_window_in_child(const TempDir& dir, bool previous_is_handler) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    struct sigaction sa {};
    sigemptyset(&sa.sa_mask);
    if (previous_is_handler) {
      sa.sa_sigaction = exit_42;
      sa.sa_flags = SA_SIGINFO;
    } else {
      sa.sa_handler = SIG_DFL;
    }
    ::sigaction(SIGBUS, &sa, nullptr);
    auto r = crypto::hash_file(job_for(dir / "f"), HashType::kSha256);
    if (!r.ok()) {
      _exit(3);
    }
    const int fd = ::open((dir / "victim").c_str(), O_RDONLY);
    void* p = ::mmap(nullptr, 2 * 4096, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED || ::truncate((dir / "victim").c_str(), 0) != 0) {
      _exit(4);
    }
    volatile const char* c = static_cast<const char*>(p);
    (void)c[4096];
    _exit(0);  // survived: the handler swallowed a fault that was not ours
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  return status;
}

}  // namespace

TEST_CASE("a SIGBUS outside any hashing window still kills the process, or reaches the handler before ours") {
  TempDir dir;
  write_bytes(dir / "f", modelgate::testing::random_bytes(kW + 1, 14));
  write_bytes(dir / "victim", std::vector<std::uint8_t>(2 * 4096, 1));
  const int killed = fault_outside_window_in_child(dir, false);
  REQUIRE(WIFSIGNALED(killed));
  CHECK(WTERMSIG(killed) == SIGBUS);

  write_bytes(dir / "victim", std::vector<std::uint8_t>(2 * 4096, 1));
  const int forwarded = fault_outside_window_in_child(dir, true);
  REQUIRE(WIFEXITED(forwarded));
  CHECK(WEXITSTATUS(forwarded) == 42);
}

TEST_CASE("a file extended while hashed is reported as changed and not hashed short") {
  TempDir dir;
  write_bytes(dir / "g", modelgate::testing::random_bytes(2 * kW + 7, 14));
  // A writer appends to a shard the hasher already mapped (a download still in progress).
  auto [result, extended] = hash_changing(dir / "g", [&] {
    const int fd = ::open((dir / "g").c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    REQUIRE(fd >= 0);
    REQUIRE(::write(fd, "more", 4) == 4);
    ::close(fd);
  });
  REQUIRE(extended);
  REQUIRE(result.has_value());
  REQUIRE(!result->ok());
  CHECK(result->error().code == Code::kIo);
  CHECK(result->error().message == "g: changed while hashing (size changed)");
}

TEST_CASE("a symlink swapped in after the walk is refused and not followed (TOCTOU)") {
  TempDir dir;
  modelgate::testing::write_file(dir / "weights.bin", "the bytes the walk saw");
  modelgate::testing::write_file(dir / "elsewhere", "bytes an attacker wants hashed instead");
  struct stat st {};
  REQUIRE(::stat((dir / "weights.bin").c_str(), &st) == 0);
  HashJob j = job_for(dir / "weights.bin");
  j.expect = crypto::stamp_of(st);  // what the walk recorded
  // Between the walk and the hash, the file becomes a symlink to other bytes.
  std::filesystem::remove(dir / "weights.bin");
  std::filesystem::create_symlink(dir / "elsewhere", dir / "weights.bin");
  auto r = crypto::hash_file(j, HashType::kSha256);
  REQUIRE(!r.ok());
  CHECK(r.error().code == Code::kUnsupported);
  CHECK(r.error().message == "weights.bin: is a symlink and symlinks are not allowed");
}
