#include "crypto/model_walk.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

#include "base/limits.h"
#include "test_support.h"

namespace crypto = modelgate::crypto;
namespace fs = std::filesystem;
using modelgate::Code;
using modelgate::testing::TempDir;
using modelgate::testing::write_file;

namespace {

std::vector<std::string> names_of(const crypto::ModelTree& t) {
  std::vector<std::string> v;
  for (const auto& f : t.files) {
    v.push_back(f.name);
  }
  std::sort(v.begin(), v.end());
  return v;
}

crypto::WalkOptions opts(bool allow_symlinks = false, std::vector<std::string> ignores = {}) {
  crypto::WalkOptions o;
  o.allow_symlinks = allow_symlinks;
  o.ignore_paths = std::move(ignores);
  return o;
}

}  // namespace

TEST_CASE("the walk lists regular files at every depth, dotfiles included, and empty directories leave no trace") {
  TempDir dir;
  write_file(dir / "m/.hidden", "h");
  write_file(dir / "m/a/.env/x", "x");
  write_file(dir / "m/a/b/c/deep.bin", "d");
  write_file(dir / "m/top", "");
  fs::create_directories(dir / "m/empty/also_empty");
  auto t = crypto::walk_model(dir / "m", opts());
  REQUIRE(t.ok());
  CHECK(names_of(t.value()) == std::vector<std::string>{".hidden", "a/.env/x", "a/b/c/deep.bin", "top"});
  CHECK(!t->single_file);
  CHECK(t->model_name == "m");
  CHECK(t->total_bytes == 3);
}

TEST_CASE("the walk records each file's identity as stat sees it") {
  TempDir dir;
  write_file(dir / "m/f", "12345");
  auto t = crypto::walk_model(dir / "m", opts());
  REQUIRE(t.ok());
  struct stat st {};
  REQUIRE(::stat((dir / "m/f").c_str(), &st) == 0);
  REQUIRE(t->files.size() == 1);
  CHECK(t->files[0].stamp == crypto::stamp_of(st));
  CHECK(t->files[0].stamp.size == 5);
  CHECK(t->files[0].rel_path == "f");
}

TEST_CASE("a symlink to a file is an error naming it unless symlinks are allowed") {
  TempDir dir;
  write_file(dir / "m/weights/real", "r");
  write_file(dir / "m/sub/real", "r");
  fs::create_symlink("../weights/real", dir / "m/sub/link");
  auto refused = crypto::walk_model(dir / "m", opts());
  REQUIRE(!refused.ok());
  CHECK(refused.error().code == Code::kUnsupported);
  CHECK(refused.error().message == "sub/link: is a symlink and symlinks are not allowed");

  auto allowed = crypto::walk_model(dir / "m", opts(true));
  REQUIRE(allowed.ok());
  CHECK(names_of(allowed.value()) == std::vector<std::string>{"sub/link", "sub/real", "weights/real"});
  const auto& link = *std::find_if(allowed->files.begin(), allowed->files.end(),
                                   [](const auto& f) { return f.name == "sub/link"; });
  struct stat st {};
  REQUIRE(::stat((dir / "m/weights/real").c_str(), &st) == 0);
  CHECK(link.via_symlink);
  CHECK(link.stamp == crypto::stamp_of(st));  // the target's identity, under the link's name
}

TEST_CASE("an allowed symlink to a file outside the model is refused, however it gets there") {
  TempDir dir;
  write_file(dir / "outside", "target");
  write_file(dir / "m/sub/real", "r");
  SECTION("relative") { fs::create_symlink("../../outside", dir / "m/sub/link"); }
  SECTION("absolute") { fs::create_symlink("/etc/hostname", dir / "m/sub/link"); }
  SECTION("through a chain of links") {
    fs::create_symlink("hop", dir / "m/sub/link");
    fs::create_symlink("../../outside", dir / "m/sub/hop");
  }
  auto r = crypto::walk_model(dir / "m", opts(true));
  REQUIRE(!r.ok());
  CHECK(r.error().code == Code::kUnsupported);
  CHECK_THAT(r.error().message, Catch::StartsWith("sub/"));
  CHECK_THAT(r.error().message, Catch::EndsWith(": is a symlink to a file outside the model"));
}

TEST_CASE("an allowed symlink to a file inside the model may be absolute or go through a directory link") {
  TempDir dir;
  write_file(dir / "m/blobs/abc", "bytes");
  fs::create_directories(dir / "m/snap");
  fs::create_directory_symlink("blobs", dir / "m/store");
  fs::create_symlink("../store/abc", dir / "m/snap/weights.bin");
  fs::create_symlink((fs::canonical(dir.path()) / "m/blobs/abc").string(), dir / "m/snap/abs.bin");
  auto r = crypto::walk_model(dir / "m", opts(true));
  REQUIRE(r.ok());
  // store/ is a link to a directory the walk lists anyway: its files are there under their own names.
  CHECK(names_of(r.value()) == std::vector<std::string>{"blobs/abc", "snap/abs.bin", "snap/weights.bin"});
}

TEST_CASE("an allowed symlink to a directory outside the model, or to an ignored one, is refused, not skipped") {
  TempDir dir;
  write_file(dir / "elsewhere/evil.py", "import os");
  write_file(dir / "m/f", "f");
  write_file(dir / "m/.cache/evil.py", "import os");
  SECTION("outside") {
    fs::create_directory_symlink("../elsewhere", dir / "m/plugins");
    auto r = crypto::walk_model(dir / "m", opts(true, {".cache"}));
    REQUIRE(!r.ok());
    CHECK(r.error().code == Code::kUnsupported);
    CHECK(r.error().message == "plugins: is a symlink to a directory outside the model");
  }
  SECTION("absolute") {
    fs::create_directory_symlink("/etc", dir / "m/plugins");
    auto r = crypto::walk_model(dir / "m", opts(true, {".cache"}));
    REQUIRE(!r.ok());
    CHECK(r.error().message == "plugins: is a symlink to a directory outside the model");
  }
  SECTION("ignored") {
    fs::create_directory_symlink(".cache", dir / "m/plugins");
    auto r = crypto::walk_model(dir / "m", opts(true, {".cache"}));
    REQUIRE(!r.ok());
    CHECK(r.error().code == Code::kUnsupported);
    CHECK(r.error().message ==
          "plugins: is a symlink to an ignored directory (\".cache\"), whose files are not signed");
  }
  auto refused = crypto::walk_model(dir / "m", opts(false, {".cache"}));
  REQUIRE(!refused.ok());
  CHECK(refused.error().message == "plugins: is a symlink and symlinks are not allowed");
}

TEST_CASE("an allowed symlink that loops back to a directory containing it is refused as a cycle") {
  TempDir dir;
  write_file(dir / "m/a/b/f", "f");
  SECTION("to the model root") { fs::create_directory_symlink("../..", dir / "m/a/b/loop"); }
  SECTION("to its own directory") { fs::create_directory_symlink(".", dir / "m/a/b/loop"); }
  SECTION("to a parent, by an absolute path") {
    fs::create_directory_symlink((fs::canonical(dir.path()) / "m/a").string(), dir / "m/a/b/loop");
  }
  auto r = crypto::walk_model(dir / "m", opts(true));
  REQUIRE(!r.ok());
  CHECK(r.error().code == Code::kUnsupported);
  CHECK(r.error().message == "a/b/loop: is a symlink cycle (its target directory contains it)");
}

TEST_CASE("symlinks that point at each other are refused as a loop") {
  TempDir dir;
  write_file(dir / "m/f", "f");
  fs::create_symlink("b", dir / "m/a");
  fs::create_symlink("a", dir / "m/b");
  auto r = crypto::walk_model(dir / "m", opts(true));
  REQUIRE(!r.ok());
  CHECK(r.error().code == Code::kUnsupported);
  CHECK_THAT(r.error().message, Catch::EndsWith(": is a symlink loop"));
}

TEST_CASE("a model given through a symlink keeps its own root: links inside are judged against the target") {
  TempDir dir;
  write_file(dir / "real/blobs/abc", "bytes");
  fs::create_directories(dir / "real/snap");
  fs::create_symlink("../blobs/abc", dir / "real/snap/w.bin");
  fs::create_directory_symlink("real", dir / "alias");
  auto r = crypto::walk_model(dir / "alias", opts(true));
  REQUIRE(r.ok());
  CHECK(names_of(r.value()) == std::vector<std::string>{"blobs/abc", "snap/w.bin"});
  auto snap = crypto::walk_model(dir / "alias/snap", opts(true));
  REQUIRE(!snap.ok());
  CHECK_THAT(snap.error().message, Catch::Contains("w.bin: is a symlink to a file outside the model"));
}

TEST_CASE("a dangling symlink is an error even when symlinks are allowed") {
  TempDir dir;
  write_file(dir / "m/f", "f");
  fs::create_symlink("nowhere", dir / "m/dangling");
  auto r = crypto::walk_model(dir / "m", opts(true));
  REQUIRE(!r.ok());
  CHECK(r.error().code == Code::kUnsupported);
  CHECK(r.error().message == "dangling: is a dangling symlink");
}

TEST_CASE("a FIFO or a socket in the model is an error naming it") {
  TempDir dir;
  write_file(dir / "m/f", "f");
  REQUIRE(::mkfifo((dir / "m/pipe").c_str(), 0600) == 0);
  auto r = crypto::walk_model(dir / "m", opts());
  REQUIRE(!r.ok());
  CHECK(r.error().code == Code::kUnsupported);
  CHECK(r.error().message == "pipe: is a FIFO, not a regular file");

  TempDir dir2;
  fs::create_directories(dir2 / "m/s");
  const int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(s >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string sock = (dir2 / "m/s/sock").string();
  REQUIRE(sock.size() < sizeof addr.sun_path);
  std::copy(sock.begin(), sock.end(), addr.sun_path);
  REQUIRE(::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  ::close(s);
  r = crypto::walk_model(dir2 / "m", opts());
  REQUIRE(!r.ok());
  CHECK(r.error().code == Code::kUnsupported);
  CHECK(r.error().message == "s/sock: is a socket, not a regular file");
}

TEST_CASE("a file name that is not valid UTF-8 is rejected and shown escaped") {
  TempDir dir;
  write_file(dir / "m/sub/bad\xff\xfename", "x");
  auto r = crypto::walk_model(dir / "m", opts());
  REQUIRE(!r.ok());
  CHECK(r.error().code == Code::kMalformed);
  CHECK(r.error().message == "\"sub/bad\\xff\\xfename\": name is not valid UTF-8");
}

TEST_CASE("a file name with a control character is rejected and shown escaped") {
  TempDir dir;
  write_file(dir / "m/new\nline", "x");
  auto r = crypto::walk_model(dir / "m", opts());
  REQUIRE(!r.ok());
  CHECK(r.error().code == Code::kMalformed);
  CHECK(r.error().message == "\"new\\x0aline\": name contains a control character");
  CHECK(r.error().message.find('\n') == std::string::npos);
}

TEST_CASE("a file name with a backslash is rejected, as verification would reject its signature") {
  TempDir dir;
  write_file(dir / "m/sub/win\\dows.bin", "x");
  auto r = crypto::walk_model(dir / "m", opts());
  REQUIRE(!r.ok());
  CHECK(r.error().code == Code::kMalformed);
  CHECK(r.error().message == "\"sub/win\\\\dows.bin\": name contains a backslash");
}

TEST_CASE("non-ASCII UTF-8 names are accepted as they are") {
  TempDir dir;
  write_file(dir / "m/\xc3\xa9t\xc3\xa9.bin", "x");  // été.bin
  auto r = crypto::walk_model(dir / "m", opts());
  REQUIRE(r.ok());
  CHECK(names_of(r.value()) == std::vector<std::string>{"\xc3\xa9t\xc3\xa9.bin"});
}

TEST_CASE("ignore paths match whole components anchored at the model root") {
  TempDir dir;
  for (const char* f : {"m/a/b", "m/a/bc", "m/x/a/b", "m/.git/config", "m/sub/.git/config", "m/.gitattributes",
                        "m/keep", "m/dir/one", "m/dir/two"}) {
    write_file(dir / f, "x");
  }
  auto r = crypto::walk_model(dir / "m", opts(false, {"a/b", ".git", ".gitattributes", "dir"}));
  REQUIRE(r.ok());
  CHECK(names_of(r.value()) == std::vector<std::string>{"a/bc", "keep", "sub/.git/config", "x/a/b"});
}

TEST_CASE("ignored directories are not looked into, so what is inside them cannot fail the walk") {
  TempDir dir;
  write_file(dir / "m/f", "f");
  write_file(dir / "m/.venv/bad\xffname", "x");
  fs::create_symlink("/etc/passwd", dir / "m/.venv/link");
  REQUIRE(::mkfifo((dir / "m/.venv/pipe").c_str(), 0600) == 0);
  fs::create_symlink("nowhere", dir / "m/ignored-link");
  auto r = crypto::walk_model(dir / "m", opts(false, {".venv", "ignored-link"}));
  REQUIRE(r.ok());
  CHECK(names_of(r.value()) == std::vector<std::string>{"f"});
}

TEST_CASE("ignore paths that are not clean model-relative paths are rejected") {
  TempDir dir;
  write_file(dir / "m/f", "f");
  for (const char* bad : {"", ".", "..", "../x", "/abs", "a//b", "a/./b", "a/", "x\x01y"}) {
    INFO("ignore path " << bad);
    auto r = crypto::walk_model(dir / "m", opts(false, {bad}));
    REQUIRE(!r.ok());
    CHECK(r.error().code == Code::kMalformed);
    CHECK(r.error().message.rfind("ignore path ", 0) == 0);
  }
}

TEST_CASE("a single-file model is one file named \".\" and the model is named after the file") {
  TempDir dir;
  write_file(dir / "weights.bin", "abc");
  auto r = crypto::walk_model(dir / "weights.bin", opts());
  REQUIRE(r.ok());
  CHECK(r->single_file);
  CHECK(r->model_name == "weights.bin");
  REQUIRE(r->files.size() == 1);
  CHECK(r->files[0].name == ".");
  CHECK(r->files[0].rel_path == "weights.bin");
  CHECK(r->total_bytes == 3);
}

TEST_CASE("the model path itself obeys the symlink rule") {
  TempDir dir;
  write_file(dir / "real/f", "f");
  write_file(dir / "file", "x");
  fs::create_directory_symlink("real", dir / "dirlink");
  fs::create_symlink("file", dir / "filelink");
  auto refused = crypto::walk_model(dir / "dirlink", opts());
  REQUIRE(!refused.ok());
  CHECK(refused.error().code == Code::kUnsupported);
  CHECK(refused.error().message == "is a symlink and symlinks are not allowed");
  auto dir_allowed = crypto::walk_model(dir / "dirlink", opts(true));
  REQUIRE(dir_allowed.ok());
  CHECK(names_of(dir_allowed.value()) == std::vector<std::string>{"f"});
  auto file_allowed = crypto::walk_model(dir / "filelink", opts(true));
  REQUIRE(file_allowed.ok());
  REQUIRE(file_allowed->files.size() == 1);
  CHECK(file_allowed->files[0].name == ".");
  CHECK(file_allowed->files[0].via_symlink);
}

TEST_CASE("a missing model path is not found") {
  TempDir dir;
  auto r = crypto::walk_model(dir / "nope", opts());
  REQUIRE(!r.ok());
  CHECK(r.error().code == Code::kNotFound);
}

TEST_CASE("directories nested deeper than the limit are refused") {
  TempDir dir;
  fs::path p = dir / "m";
  for (std::size_t i = 0; i <= modelgate::limits::kMaxModelDepth; ++i) {
    p /= "d";
  }
  write_file(p / "f", "x");
  auto r = crypto::walk_model(dir / "m", opts());
  REQUIRE(!r.ok());
  CHECK(r.error().code == Code::kLimit);
  CHECK(r.error().message.find("directories nested too deep (129 > 128)") != std::string::npos);
}

TEST_CASE("a path longer than the limit is refused, even where the kernel could still open it") {
  TempDir dir;
  fs::create_directories(dir / "m");
  // 20 levels of 210-byte names: the 20th directory is 20*210+19 = 4219 bytes from the root, past
  // limits::kMaxPathBytes (4096). Built (and removed) with *at() calls: an absolute path that long
  // is more than the kernel resolves in one go.
  std::vector<int> fds{::open((dir / "m").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  REQUIRE(fds.back() >= 0);
  const std::string name(210, 'n');
  for (int i = 0; i < 20; ++i) {
    REQUIRE(::mkdirat(fds.back(), name.c_str(), 0700) == 0);
    fds.push_back(::openat(fds.back(), name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    REQUIRE(fds.back() >= 0);
  }
  const int f = ::openat(fds.back(), "f", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  REQUIRE(f >= 0);
  ::close(f);
  auto r = crypto::walk_model(dir / "m", opts());
  CHECK(::unlinkat(fds.back(), "f", 0) == 0);
  for (std::size_t i = fds.size() - 1; i > 0; --i) {
    ::close(fds[i]);
    CHECK(::unlinkat(fds[i - 1], name.c_str(), AT_REMOVEDIR) == 0);
  }
  ::close(fds[0]);
  REQUIRE(!r.ok());
  CHECK(r.error().code == Code::kLimit);
  CHECK(r.error().message.find(": path too long (4219 > 4096 bytes)") != std::string::npos);
}

TEST_CASE("the model name follows upstream's basename rule") {
  TempDir dir;
  fs::create_directories(dir / "models/llama");
  CHECK(crypto::model_name_of("models/llama") == "llama");
  CHECK(crypto::model_name_of("models/llama/") == "llama");
  CHECK(crypto::model_name_of("models/./llama/.") == "llama");
  CHECK(crypto::model_name_of(dir / "models/llama/..") == "models");
  CHECK(crypto::model_name_of(".") == fs::current_path().filename().string());
}

TEST_CASE("resolving named files finds exactly those names and refuses escaping or odd ones") {
  TempDir dir;
  write_file(dir / "m/a", "a");
  write_file(dir / "m/sub/b", "b");
  write_file(dir / "m/extra", "e");
  write_file(dir / "secret", "s");
  fs::create_directory_symlink("sub", dir / "m/sublink");
  const std::vector<std::string> names{"a", "sub/b"};
  auto r = crypto::resolve_model_files(dir / "m", names, false);
  REQUIRE(r.ok());
  CHECK(names_of(r.value()) == names);

  struct Case {
    std::string name;
    Code code;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {"../secret", Code::kMalformed, "\"../secret\": path has an empty, \".\" or \"..\" component"},
           {"sub/../a", Code::kMalformed, "\"sub/../a\": path has an empty, \".\" or \"..\" component"},
           {"/etc/passwd", Code::kMalformed, "\"/etc/passwd\": path is absolute"},
           {".", Code::kMalformed, "\".\": path has an empty, \".\" or \"..\" component"},
           {"missing", Code::kNotFound, "missing: is missing"},
           {"nodir/x", Code::kNotFound, "nodir/x: is missing"},
           {"sublink/b", Code::kUnsupported, "sublink/b: is reached through a symlinked directory"},
           {"sub", Code::kUnsupported, "sub: is a directory, not a regular file"},
       }) {
    INFO(c.name);
    const std::vector<std::string> one{c.name};
    auto bad = crypto::resolve_model_files(dir / "m", one, false);
    REQUIRE(!bad.ok());
    CHECK(bad.error().code == c.code);
    CHECK(bad.error().message == c.message);
  }
  fs::create_symlink("../secret", dir / "m/escape");
  const std::vector<std::string> escape{"escape"};
  auto out = crypto::resolve_model_files(dir / "m", escape, true);
  REQUIRE(!out.ok());
  CHECK(out.error().code == Code::kUnsupported);
  CHECK(out.error().message == "escape: is a symlink to a file outside the model");
  const std::vector<std::string> twice{"a", "a"};
  auto dup = crypto::resolve_model_files(dir / "m", twice, false);
  REQUIRE(!dup.ok());
  CHECK(dup.error().code == Code::kMalformed);
  CHECK(dup.error().message == "\"a\": listed twice");
}

TEST_CASE("quoted names escape quotes, backslashes, control and non-UTF-8 bytes and are capped") {
  CHECK(crypto::quote_file_name("plain") == "\"plain\"");
  CHECK(crypto::quote_file_name("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(crypto::quote_file_name("\x1b[31m") == "\"\\x1b[31m\"");
  CHECK(crypto::quote_file_name("\xc2\x85") == "\"\\xc2\\x85\"");  // U+0085, a C1 control
  CHECK(crypto::quote_file_name(std::string(300, 'x')) == "\"" + std::string(120, 'x') + "...\"");
  CHECK(crypto::is_printable_utf8("\xc3\xa9t\xc3\xa9"));
  CHECK(!crypto::is_printable_utf8("\xc0\xaf"));          // overlong '/'
  CHECK(!crypto::is_printable_utf8("\xed\xa0\x80"));      // a surrogate
  CHECK(!crypto::is_printable_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  CHECK(!crypto::is_printable_utf8("a\x7f"));
}

TEST_CASE("a model of 100000 files is walked whole: every file once as find(1) counts them") {
  TempDir dir;
  // 100 directories of 1,000 empty files each (the walk bounds are 1M files, 4M entries).
  for (int d = 0; d < 100; ++d) {
    const fs::path sub = dir / ("shard-" + std::to_string(d));
    fs::create_directories(sub);
    for (int f = 0; f < 1000; ++f) {
      std::FILE* out = std::fopen((sub / ("f" + std::to_string(f))).c_str(), "wb");
      REQUIRE(out != nullptr);
      std::fclose(out);
    }
  }
  auto tree = crypto::walk_model(dir.path(), opts());
  REQUIRE(tree.ok());
  const auto names = names_of(tree.value());
  CHECK(names.size() == 100000);
  CHECK(std::adjacent_find(names.begin(), names.end()) == names.end());  // no file twice
  auto find = modelgate::testing::run({"sh", "-c", "find '" + dir.path().string() + "' -type f | wc -l"});
  REQUIRE(find.exit_code == 0);
  CHECK(std::stoul(find.out) == names.size());
}

TEST_CASE("a device is refused: a symlink to /dev/zero even where symlinks are allowed") {
  // /dev/zero would never end; a model must be regular files. (A device node in the tree itself
  // takes mknod and root; it meets the same type check as the FIFO and socket above.)
  TempDir dir;
  write_file(dir / "m/config.json", "{}");
  fs::create_symlink("/dev/zero", dir / "m/weights.bin");
  auto r = crypto::walk_model(dir / "m", opts(/*allow_symlinks=*/true));
  REQUIRE(!r.ok());
  CHECK(r.error().code == Code::kUnsupported);
  CHECK(r.error().message == "weights.bin: is a symlink to a character device, not to a regular file");
}
