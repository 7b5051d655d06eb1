// test_support.h: what every test binary shares: where the vectors are, scratch directories, and
// running a real process (the modelgate binary, openssl, sha256sum) to use as an oracle.
// Not assertions and not fixtures of any one module.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace modelgate::testing {

// shared_dir is ../shared beside the checkout (vectors are read in place, never copied).
std::filesystem::path shared_dir();
// vectors_dir is shared_dir()/vectors.
std::filesystem::path vectors_dir();
// test_data_dir is tests/data in the source tree.
std::filesystem::path test_data_dir();
// modelgate_binary is the built CLI.
std::filesystem::path modelgate_binary();

// TempDir is a fresh directory under $TMPDIR, removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& rel) const { return path_ / rel; }

 private:
  std::filesystem::path path_;
};

std::string read_file(const std::filesystem::path& p);
std::vector<std::uint8_t> read_bytes(const std::filesystem::path& p);
// write_file creates parent directories as needed.
void write_file(const std::filesystem::path& p, const std::string& content);
// replace_file swaps `content` in under `p` the way kubelet and cert-manager update mounted
// Secrets and ConfigMaps: written beside it, then renamed over it (a new inode, atomically).
void replace_file(const std::filesystem::path& p, const std::string& content);

struct ProcessResult {
  int exit_code = -1;  // -1 if killed by a signal
  std::string out;     // stdout
  std::string err;     // stderr
};

// run executes argv[0] with argv (no shell), stdin from /dev/null, capturing stdout and stderr.
ProcessResult run(const std::vector<std::string>& argv);

// random_bytes returns n bytes from a seeded PRNG (reproducible with the same seed).
std::vector<std::uint8_t> random_bytes(std::size_t n, std::uint64_t seed);

std::string to_hex(const std::uint8_t* data, std::size_t n);
template <class C>
std::string to_hex(const C& c) {
  return to_hex(reinterpret_cast<const std::uint8_t*>(c.data()), c.size());
}

}  // namespace modelgate::testing
