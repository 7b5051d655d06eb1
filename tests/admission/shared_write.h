// shared_write.h: a storage writer's tools for tests: writes through a MAP_SHARED mapping (after
// the first write dirties a page, the kernel does not move mtime/ctime again until it writes the
// page back — on tmpfs never), sparse files (truncate -s: huge, nothing written) and file stamps.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "crypto/file_hasher.h"

namespace modelgate::testing {

// SharedWriter maps all of `file` read-write, MAP_SHARED. Not thread-safe.
class SharedWriter {
 public:
  explicit SharedWriter(const std::filesystem::path& file) {
    fd_ = ::open(file.c_str(), O_RDWR | O_CLOEXEC);
    struct stat st {};
    if (fd_ < 0 || ::fstat(fd_, &st) != 0 || st.st_size == 0) {
      throw std::runtime_error("SharedWriter: cannot open " + file.string());
    }
    size_ = static_cast<std::size_t>(st.st_size);
    void* p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
    if (p == MAP_FAILED) {
      ::close(fd_);
      throw std::runtime_error("SharedWriter: cannot map " + file.string());
    }
    p_ = static_cast<volatile char*>(p);
  }
  ~SharedWriter() {
    ::munmap(const_cast<char*>(p_), size_);
    ::close(fd_);
  }
  SharedWriter(const SharedWriter&) = delete;
  SharedWriter& operator=(const SharedWriter&) = delete;

  char get(std::size_t offset) const { return p_[offset]; }
  void put(std::size_t offset, char c) { p_[offset] = c; }

 private:
  int fd_ = -1;
  std::size_t size_ = 0;
  volatile char* p_ = nullptr;
};

// stamp_of_path is the file's stamp (device, inode, size, mtime, ctime), following no link.
inline crypto::FileStamp stamp_of_path(const std::filesystem::path& p) {
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) {
    throw std::runtime_error("cannot stat " + p.string());
  }
  return crypto::stamp_of(st);
}

// make_sparse creates (or resizes) `p` to `bytes` without writing any: a hole reads as zeros.
inline void make_sparse(const std::filesystem::path& p, std::uint64_t bytes) {
  std::filesystem::create_directories(p.parent_path());
  std::FILE* f = std::fopen(p.c_str(), "ab");
  if (f == nullptr) {
    throw std::runtime_error("cannot create " + p.string());
  }
  std::fclose(f);
  std::filesystem::resize_file(p, bytes);
}

}  // namespace modelgate::testing
