#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "base/read_file.h"
#include "test_support.h"

using modelgate::Code;
using modelgate::read_regular_file;
using modelgate::testing::TempDir;
using modelgate::testing::write_file;

TEST_CASE("a bounded read returns the file's bytes exactly", "[read_file]") {
  TempDir t;
  std::string content("a\0b\nc", 5);
  write_file(t / "f", content);
  auto r = read_regular_file(t / "f", 5);
  REQUIRE(r.ok());
  REQUIRE(*r == content);
}

TEST_CASE("a file over the bound is refused before it is read", "[read_file]") {
  TempDir t;
  write_file(t / "f", "123456");
  auto r = read_regular_file(t / "f", 5);
  REQUIRE_FALSE(r.ok());
  REQUIRE(r.error().code == Code::kLimit);
  REQUIRE(r.error().message == "file too large (6 > 5 bytes)");
}

TEST_CASE("missing files, directories and fifos are refused without blocking", "[read_file]") {
  TempDir t;
  auto missing = read_regular_file(t / "nope", 10);
  REQUIRE(missing.error().code == Code::kNotFound);
  REQUIRE(missing.error().message == "cannot open: No such file or directory");
  auto dir = read_regular_file(t.path(), 10);
  REQUIRE(dir.error().code == Code::kIo);
  REQUIRE(dir.error().message == "is a directory");
  REQUIRE(mkfifo((t / "fifo").c_str(), 0600) == 0);
  auto fifo = read_regular_file(t / "fifo", 10);  // would block forever without O_NONBLOCK
  REQUIRE(fifo.error().code == Code::kIo);
  REQUIRE(fifo.error().message == "not a regular file");
}
