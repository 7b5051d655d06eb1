// read_file.h: read a whole regular file of bounded size, for configuration and signature inputs
// (keys, certificates, trusted roots, bundles, policies). Not for model files: those are mmapped
// and hashed by crypto/file_hasher.h.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>

#include "base/result.h"

namespace modelgate {

// read_regular_file returns the bytes of `path` (symlinks followed: Kubernetes mounts Secrets
// and ConfigMaps through them). The open never blocks (a FIFO cannot hang the caller), the file
// must be regular and at most `max_bytes`, and a file that grows while read is an error rather
// than silently truncated. Messages carry no path; callers add it as context.
// Errors: kNotFound ("cannot open: No such file or directory"), kIo (other open failures, "is a
// directory", "not a regular file", read errors, "file changed while being read"), kLimit
// ("file too large (N > M bytes)"). Thread-safe.
[[nodiscard]] inline Result<std::string> read_regular_file(const std::filesystem::path& path, std::size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    int err = errno;
    return make_error(err == ENOENT ? Code::kNotFound : Code::kIo, "cannot open: " + std::string(std::strerror(err)));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return make_error(Code::kIo, "cannot stat: " + std::string(std::strerror(errno)));
  }
  if (S_ISDIR(st.st_mode)) {
    return make_error(Code::kIo, "is a directory");
  }
  if (!S_ISREG(st.st_mode)) {
    return make_error(Code::kIo, "not a regular file");
  }
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    return make_error(Code::kLimit, "file too large (" + std::to_string(st.st_size) + " > " +
                                        std::to_string(max_bytes) + " bytes)");
  }
  std::string text;
  text.resize(static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  // Read one byte past the stat size so a file that grew after fstat is caught, not truncated.
  char extra = 0;
  while (true) {
    char* dst = got < text.size() ? text.data() + got : &extra;
    const std::size_t want = got < text.size() ? text.size() - got : 1;
    const ssize_t n = ::read(fd, dst, want);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return make_error(Code::kIo, "cannot read: " + std::string(std::strerror(errno)));
    }
    if (n == 0) {
      break;
    }
    if (got >= text.size()) {
      return make_error(Code::kIo, "file changed while being read");
    }
    got += static_cast<std::size_t>(n);
  }
  text.resize(got);
  return text;
}

}  // namespace modelgate
