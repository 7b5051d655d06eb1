// long_names.h: a model whose signature is huge without hundreds of thousands of files, for the
// tests of the one signature-size limit sign and verify share. Not assertions.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace modelgate::testing {

// make_long_named_files makes `n` empty files under dir/model whose model-relative names are
// ~3,750 bytes long (14 directories of 250-byte names, then a 250-byte file name): a signature over
// 13,500 of them is ~70 MB, like one over 330,000 ordinary names. Returns dir/model.
inline std::filesystem::path make_long_named_files(const std::filesystem::path& dir, std::size_t n) {
  std::filesystem::path deep = dir / "model";
  for (int d = 0; d < 14; ++d) {
    deep /= std::string(249, static_cast<char>('a' + d)) + "d";
  }
  std::filesystem::create_directories(deep);
  const int dfd = ::open(deep.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) {
    throw std::runtime_error("cannot open the long-named directory");
  }
  for (std::size_t i = 0; i < n; ++i) {
    std::string name = std::to_string(i);
    name = std::string(250 - name.size(), 'f') + name;
    const int fd = ::openat(dfd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
      ::close(dfd);
      throw std::runtime_error("cannot create a long-named file");
    }
    ::close(fd);
  }
  ::close(dfd);
  return dir / "model";
}

}  // namespace modelgate::testing
