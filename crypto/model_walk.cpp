// model_walk.cpp: upstream's model enumeration (model_signing.md §2.1-2.2) over directory fds.
#include "crypto/model_walk.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <system_error>
#include <unordered_set>

#include "base/limits.h"
#include "base/utf8.h"

namespace modelgate::crypto {
namespace {

std::string errno_text(int e) {
  char buf[128];
  std::string s = strerror_r(e, buf, sizeof buf);  // GNU variant: returns the message
  if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z') {
    s[0] = static_cast<char>(s[0] - 'A' + 'a');
  }
  return s;
}

bool is_control(std::uint32_t cp) { return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F); }

// name_problem says why `name` (one component or a path) cannot be a resource name, or "".
std::string_view name_problem(std::string_view name) {
  std::uint32_t cp = 0;
  for (std::size_t i = 0; i < name.size();) {
    const std::size_t n = utf8_decode(name, i, cp);
    if (n == 0) {
      return "name is not valid UTF-8";
    }
    if (is_control(cp)) {
      return "name contains a control character";
    }
    if (cp == '\\') {
      // The OMS spec and our verifier refuse a backslash in resource names (model_signing.md §6); refusing
      // it here keeps `sign` from producing a signature that `verify` would reject.
      return "name contains a backslash";
    }
    i += n;
  }
  return "";
}

std::string_view type_name(mode_t mode) {
  if (S_ISFIFO(mode)) {
    return "a FIFO";
  }
  if (S_ISSOCK(mode)) {
    return "a socket";
  }
  if (S_ISCHR(mode)) {
    return "a character device";
  }
  if (S_ISBLK(mode)) {
    return "a block device";
  }
  if (S_ISDIR(mode)) {
    return "a directory";
  }
  if (S_ISLNK(mode)) {
    return "a symlink";
  }
  return "not a regular file";
}

// at names `path` in the message; the model root ("") is named by the caller's context instead.
Error at(Code code, std::string_view path, std::string_view what) {
  std::string m(path);
  if (!m.empty()) {
    m.append(": ");
  }
  m.append(what);
  return make_error(code, std::move(m));
}

std::string too_many(std::string_view what, std::size_t n, std::size_t max) {
  return "too many " + std::string(what) + " (" + std::to_string(n) + " > " + std::to_string(max) + ")";
}

// Symlinks (when allowed) follow OMS v1.0: a link may not lead out of the model root, a link to a
// directory is never a way around the signed list (outside, ignored or a cycle: refused), and
// nothing is skipped without a reason. Targets are judged by their real path: every link on the
// way resolved (realpath), then checked to be the very object the walk stat'ed.

// ModelRoot is the model directory's real path (no symlinks, no trailing slash but for "/").
struct ModelRoot {
  std::string real;

  // contains: `path` (a real path) lies strictly below the root.
  bool contains(const std::string& path) const {
    if (real == "/") {
      return path.size() > 1 && path[0] == '/';
    }
    return path.size() > real.size() + 1 && path.compare(0, real.size(), real) == 0 && path[real.size()] == '/';
  }
  // relative: `path` (contained) relative to the root.
  std::string relative(const std::string& path) const { return path.substr(real == "/" ? 1 : real.size() + 1); }
  std::string join(const std::string& rel) const {
    if (rel.empty()) {
      return real;
    }
    return real == "/" ? "/" + rel : real + "/" + rel;
  }

  // resolve returns the real path of the link `rel` (model-relative, reached through real
  // directories only), which must be the object `target` that following it gave.
  Result<std::string> resolve(const std::string& rel, const struct stat& target) const {
    std::unique_ptr<char, decltype(&std::free)> r(::realpath(join(rel).c_str(), nullptr), &std::free);
    if (!r) {
      const int e = errno;
      if (e == ENOENT || e == ENOTDIR || e == ELOOP) {
        return at(Code::kIo, rel, "changed while walking (replaced)");
      }
      return at(Code::kIo, rel, "cannot resolve symlink: " + errno_text(e));
    }
    std::string real_path(r.get());
    struct stat again {};
    if (::stat(real_path.c_str(), &again) != 0 || again.st_dev != target.st_dev || again.st_ino != target.st_ino) {
      return at(Code::kIo, rel, "changed while walking (replaced)");
    }
    return real_path;
  }
};

// open_root_real finds the real path of the opened model directory `fd` named `model_path`.
Result<ModelRoot> root_of(const std::filesystem::path& model_path, int fd) {
  std::unique_ptr<char, decltype(&std::free)> r(::realpath(model_path.c_str(), nullptr), &std::free);
  struct stat opened {};
  struct stat named {};
  if (!r || ::fstat(fd, &opened) != 0 || ::stat(r.get(), &named) != 0 || opened.st_dev != named.st_dev ||
      opened.st_ino != named.st_ino) {
    return make_error(Code::kIo, "changed while walking (replaced)");
  }
  return ModelRoot{r.get()};
}

// check_file_link refuses a link to a regular file whose real path `real` is outside the model.
Result<void> check_file_link(const ModelRoot& root, const std::string& rel, const std::string& real) {
  if (!root.contains(real)) {
    return at(Code::kUnsupported, rel, "is a symlink to a file outside the model");
  }
  return ok_status();
}

struct DirCloser {
  void operator()(DIR* d) const { closedir(d); }
};
using DirPtr = std::unique_ptr<DIR, DirCloser>;

// Walker holds the state of one walk.
struct Walker {
  const WalkOptions& options;
  std::unordered_set<std::string> ignored;
  ModelTree& tree;
  ModelRoot root;
  std::size_t entries = 0;
  std::size_t visited = 0;  // entries examined, for the deadline check

  // check_dir_link judges the link `rel`, in the directory `prefix`, to the directory `real`. It is
  // not descended (§2.1), which is sound only when everything below its target is walked anyway
  // under its own names: inside the model, not ignored, and not a directory above the link.
  Result<void> check_dir_link(const std::string& rel, const std::string& prefix, const std::string& real) const {
    if (real != root.real && !root.contains(real)) {
      return at(Code::kUnsupported, rel, "is a symlink to a directory outside the model");
    }
    const std::string here = root.join(prefix);
    if (real == root.real || here == real || (here.size() > real.size() && here.compare(0, real.size(), real) == 0 &&
                                               here[real.size()] == '/')) {
      return at(Code::kUnsupported, rel, "is a symlink cycle (its target directory contains it)");
    }
    const std::string target = root.relative(real);
    for (std::size_t slash = target.find('/');; slash = target.find('/', slash + 1)) {
      const std::string up = target.substr(0, slash);
      if (ignored.count(up) != 0) {
        return at(Code::kUnsupported, rel,
                  "is a symlink to an ignored directory (" + quote_file_name(up) + "), whose files are not signed");
      }
      if (slash == std::string::npos) {
        break;
      }
    }
    return ok_status();
  }

  Result<void> add_file(std::string rel, bool via_symlink, const struct stat& st) {
    if (tree.files.size() >= limits::kMaxModelFiles) {
      return make_error(Code::kLimit, too_many("files", tree.files.size() + 1, limits::kMaxModelFiles));
    }
    ModelFile f;
    f.name = rel;
    f.rel_path = std::move(rel);
    f.via_symlink = via_symlink;
    f.stamp = stamp_of(st);
    tree.total_bytes += f.stamp.size;
    tree.files.push_back(std::move(f));
    return ok_status();
  }

  // walk_dir lists `dir_fd` (owned here), whose model-relative path is `prefix` ("" = root).
  Result<void> walk_dir(UniqueFd dir_fd, const std::string& prefix, std::size_t depth) {
    const int dfd = dir_fd.get();
    DirPtr dir(fdopendir(dfd));
    if (!dir) {
      return at(Code::kIo, prefix, "cannot read directory: " + errno_text(errno));
    }
    (void)dir_fd.release();  // fdopendir owns it now; closedir closes it
    std::vector<std::string> names;
    while (true) {
      errno = 0;
      const dirent* de = readdir(dir.get());
      if (de == nullptr) {
        if (errno != 0) {
          return at(Code::kIo, prefix, "cannot read directory: " + errno_text(errno));
        }
        break;
      }
      const std::string_view n = de->d_name;
      if (n == "." || n == "..") {
        continue;
      }
      if (++entries > limits::kMaxModelDirEntries) {
        return make_error(Code::kLimit, too_many("directory entries", entries, limits::kMaxModelDirEntries));
      }
      names.emplace_back(n);
    }
    for (std::string& name : names) {
      if (options.cancel != nullptr && options.cancel->load(std::memory_order_relaxed)) {
        return make_error(Code::kDeadline, "cancelled while listing the model");
      }
      if (options.deadline && (++visited & 63) == 0 && std::chrono::steady_clock::now() > *options.deadline) {
        return make_error(Code::kDeadline, "deadline passed while listing the model (" + std::to_string(visited) +
                                               " entries listed)");
      }
      std::string rel = prefix.empty() ? name : prefix + "/" + name;
      if (ignored.count(rel) != 0) {
        continue;  // §2.2: ignored before any other check, and never descended
      }
      if (name.size() > limits::kMaxNameBytes) {
        return at(Code::kLimit, quote_file_name(rel), "name too long");
      }
      if (rel.size() > limits::kMaxPathBytes) {
        return at(Code::kLimit, quote_file_name(rel),
                  "path too long (" + std::to_string(rel.size()) + " > " +
                      std::to_string(limits::kMaxPathBytes) + " bytes)");
      }
      if (const std::string_view why = name_problem(name); !why.empty()) {
        return at(Code::kMalformed, quote_file_name(rel), why);
      }
      struct stat st {};
      if (fstatat(dfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        const int e = errno;
        if (e == ENOENT) {
          return at(Code::kIo, rel, "changed while walking (removed)");
        }
        return at(Code::kIo, rel, "cannot stat: " + errno_text(e));
      }
      if (S_ISLNK(st.st_mode)) {
        if (!options.allow_symlinks) {
          return at(Code::kUnsupported, rel, "is a symlink and symlinks are not allowed");
        }
        struct stat target {};
        if (fstatat(dfd, name.c_str(), &target, 0) != 0) {
          const int e = errno;
          if (e == ENOENT || e == ENOTDIR) {
            return at(Code::kUnsupported, rel, "is a dangling symlink");
          }
          if (e == ELOOP) {
            return at(Code::kUnsupported, rel, "is a symlink loop");
          }
          return at(Code::kIo, rel, "cannot stat symlink target: " + errno_text(e));
        }
        if (S_ISDIR(target.st_mode)) {
          MG_ASSIGN_OR_RETURN(const std::string real, root.resolve(rel, target));
          MG_TRY(check_dir_link(rel, prefix, real));
          continue;  // §2.1: neither descended nor an entry; its target is walked under its own names
        }
        if (!S_ISREG(target.st_mode)) {
          return at(Code::kUnsupported, rel,
                    "is a symlink to " + std::string(type_name(target.st_mode)) + ", not to a regular file");
        }
        MG_ASSIGN_OR_RETURN(const std::string real, root.resolve(rel, target));
        MG_TRY(check_file_link(root, rel, real));
        MG_TRY(add_file(std::move(rel), true, target));
      } else if (S_ISDIR(st.st_mode)) {
        if (depth + 1 > limits::kMaxModelDepth) {
          return at(Code::kLimit, rel,
                    "directories nested too deep (" + std::to_string(depth + 1) + " > " +
                        std::to_string(limits::kMaxModelDepth) + ")");
        }
        UniqueFd sub(openat(dfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!sub.valid()) {
          const int e = errno;
          if (e == ELOOP || e == ENOTDIR || e == ENOENT) {
            return at(Code::kIo, rel, "changed while walking (replaced)");
          }
          return at(Code::kIo, rel, "cannot open directory: " + errno_text(e));
        }
        struct stat again {};
        if (fstat(sub.get(), &again) != 0 || again.st_dev != st.st_dev || again.st_ino != st.st_ino) {
          return at(Code::kIo, rel, "changed while walking (replaced)");
        }
        MG_TRY(walk_dir(std::move(sub), rel, depth + 1));
      } else if (S_ISREG(st.st_mode)) {
        MG_TRY(add_file(std::move(rel), false, st));
      } else {
        return at(Code::kUnsupported, rel, "is " + std::string(type_name(st.st_mode)) + ", not a regular file");
      }
    }
    return ok_status();
  }
};

// open_root opens the model path per the symlink rule; `st` receives what it is (followed).
Result<UniqueFd> open_model_path(const std::filesystem::path& model_path, bool allow_symlinks,
                                 struct stat& st, bool& is_link) {
  const std::string p = model_path.string();
  if (p.empty()) {
    return make_error(Code::kNotFound, "model path is empty");
  }
  struct stat lst {};
  if (lstat(p.c_str(), &lst) != 0) {
    const int e = errno;
    return make_error(e == ENOENT || e == ENOTDIR ? Code::kNotFound : Code::kIo, errno_text(e));
  }
  is_link = S_ISLNK(lst.st_mode);
  st = lst;
  if (is_link) {
    if (!allow_symlinks) {
      return make_error(Code::kUnsupported, "is a symlink and symlinks are not allowed");
    }
    if (stat(p.c_str(), &st) != 0) {
      return make_error(Code::kUnsupported, "is a dangling symlink");
    }
  }
  if (S_ISDIR(st.st_mode)) {
    UniqueFd fd(open(p.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | (is_link ? 0 : O_NOFOLLOW)));
    struct stat again {};
    if (!fd.valid() || fstat(fd.get(), &again) != 0) {
      return make_error(Code::kIo, "cannot open directory: " + errno_text(errno));
    }
    if (again.st_dev != st.st_dev || again.st_ino != st.st_ino) {
      return make_error(Code::kIo, "changed while walking (replaced)");
    }
    return fd;
  }
  if (S_ISREG(st.st_mode)) {
    std::filesystem::path parent = model_path.parent_path();
    if (parent.empty()) {
      parent = ".";
    }
    UniqueFd fd(open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid()) {
      return at(Code::kIo, parent.string(), "cannot open directory: " + errno_text(errno));
    }
    return fd;
  }
  return make_error(Code::kUnsupported, "is " + std::string(type_name(st.st_mode)) + ", not a file or directory");
}

Result<std::unordered_set<std::string>> ignore_set(std::span<const std::string> paths) {
  if (paths.size() > limits::kMaxIgnorePaths) {
    return make_error(Code::kLimit, too_many("ignore paths", paths.size(), limits::kMaxIgnorePaths));
  }
  std::unordered_set<std::string> set;
  for (const std::string& p : paths) {
    MG_TRY_CTX(check_model_relative_name(p), "ignore path " + quote_file_name(p));
    set.insert(p);
  }
  return set;
}

}  // namespace

// Not name_problem(): a backslash is printable, it is only refused as a resource name.
bool is_printable_utf8(std::string_view s) {
  std::uint32_t cp = 0;
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = utf8_decode(s, i, cp);
    if (n == 0 || is_control(cp)) {
      return false;
    }
    i += n;
  }
  return true;
}

std::string quote_file_name(std::string_view name) {
  static const char* kHex = "0123456789abcdef";
  constexpr std::size_t kCap = 120;
  std::string out = "\"";
  std::size_t shown = 0;
  std::uint32_t cp = 0;
  for (std::size_t i = 0; i < name.size();) {
    if (shown >= kCap) {
      out += "...";
      break;
    }
    const std::size_t n = utf8_decode(name, i, cp);
    if (n == 0 || is_control(cp)) {
      const std::size_t bytes = n == 0 ? 1 : n;
      for (std::size_t k = 0; k < bytes; ++k) {
        const auto b = static_cast<unsigned char>(name[i + k]);
        out += "\\x";
        out += kHex[b >> 4];
        out += kHex[b & 15];
      }
      i += bytes;
      shown += 4 * bytes;
      continue;
    }
    if (cp == '"' || cp == '\\') {
      out += '\\';
    }
    out.append(name.substr(i, n));
    i += n;
    shown += n;
  }
  out += '"';
  return out;
}

Result<void> check_model_relative_name(std::string_view path) {
  if (path.empty()) {
    return make_error(Code::kMalformed, "path is empty");
  }
  if (path.size() > limits::kMaxPathBytes) {
    return make_error(Code::kLimit, "path too long (" + std::to_string(path.size()) + " > " +
                                        std::to_string(limits::kMaxPathBytes) + " bytes)");
  }
  if (path.front() == '/') {
    return make_error(Code::kMalformed, "path is absolute");
  }
  if (const std::string_view why = name_problem(path); !why.empty()) {
    return make_error(Code::kMalformed, std::string(why));
  }
  std::size_t begin = 0;
  while (true) {
    const std::size_t slash = path.find('/', begin);
    const std::string_view comp = path.substr(begin, slash == std::string_view::npos ? std::string_view::npos : slash - begin);
    if (comp.empty() || comp == "." || comp == "..") {
      return make_error(Code::kMalformed, "path has an empty, \".\" or \"..\" component");
    }
    if (comp.size() > limits::kMaxNameBytes) {
      return make_error(Code::kLimit, "path component too long");
    }
    if (slash == std::string_view::npos) {
      break;
    }
    begin = slash + 1;
  }
  return ok_status();
}

std::string model_name_of(const std::filesystem::path& model_path) {
  // pathlib drops empty and "." components ("a/./b/" is "a/b"; "." alone has an empty name).
  const std::string s = model_path.string();
  std::string last;
  std::size_t begin = 0;
  while (begin <= s.size()) {
    std::size_t slash = s.find('/', begin);
    if (slash == std::string::npos) {
      slash = s.size();
    }
    const std::string comp = s.substr(begin, slash - begin);
    if (!comp.empty() && comp != ".") {
      last = comp;
    }
    begin = slash + 1;
  }
  if (!last.empty() && last != "..") {
    return last;
  }
  std::error_code ec;
  const std::filesystem::path resolved = std::filesystem::canonical(s.empty() ? "." : s, ec);
  if (ec) {
    return last;
  }
  return resolved.filename().string();
}

Result<ModelTree> walk_model(const std::filesystem::path& model_path, const WalkOptions& options) {
  MG_ASSIGN_OR_RETURN(std::unordered_set<std::string> ignored, ignore_set(options.ignore_paths));
  ModelTree tree;
  tree.model_name = model_name_of(model_path);
  struct stat st {};
  bool is_link = false;
  MG_ASSIGN_OR_RETURN(UniqueFd fd, open_model_path(model_path, options.allow_symlinks, st, is_link));
  if (S_ISREG(st.st_mode)) {
    // §2.1: a single file is the whole model, named "." (no ignore path can name it).
    tree.single_file = true;
    tree.root = std::move(fd);
    ModelFile f;
    f.name = ".";
    f.rel_path = model_path.filename().string();
    f.via_symlink = is_link;
    f.stamp = stamp_of(st);
    tree.total_bytes = f.stamp.size;
    tree.files.push_back(std::move(f));
    return tree;
  }
  UniqueFd walk_fd(fcntl(fd.get(), F_DUPFD_CLOEXEC, 0));
  if (!walk_fd.valid()) {
    return make_error(Code::kIo, "cannot open directory: " + errno_text(errno));
  }
  ModelRoot root;
  if (options.allow_symlinks) {
    MG_ASSIGN_OR_RETURN(root, root_of(model_path, fd.get()));
  }
  tree.root = std::move(fd);
  Walker walker{options, std::move(ignored), tree, std::move(root)};
  MG_TRY(walker.walk_dir(std::move(walk_fd), "", 0));
  return tree;
}

Result<ModelTree> resolve_model_files(const std::filesystem::path& model_root, std::span<const std::string> names,
                                      bool allow_symlinks) {
  if (names.size() > limits::kMaxResources) {
    return make_error(Code::kLimit, too_many("files", names.size(), limits::kMaxResources));
  }
  ModelTree tree;
  tree.model_name = model_name_of(model_root);
  struct stat st {};
  bool is_link = false;
  MG_ASSIGN_OR_RETURN(tree.root, open_model_path(model_root, allow_symlinks, st, is_link));
  if (S_ISREG(st.st_mode)) {
    tree.single_file = true;
    if (names.size() != 1 || names[0] != ".") {
      return make_error(Code::kMalformed, "the model is a single file, which only the name \".\" can name");
    }
    ModelFile f;
    f.name = ".";
    f.rel_path = model_root.filename().string();
    f.via_symlink = is_link;
    f.stamp = stamp_of(st);
    tree.total_bytes = f.stamp.size;
    tree.files.push_back(std::move(f));
    return tree;
  }
  ModelRoot root;
  if (allow_symlinks) {
    MG_ASSIGN_OR_RETURN(root, root_of(model_root, tree.root.get()));
  }
  std::unordered_set<std::string_view> seen;
  for (const std::string& name : names) {
    MG_TRY_CTX(check_model_relative_name(name), quote_file_name(name));
    if (!seen.insert(name).second) {
      return at(Code::kMalformed, quote_file_name(name), "listed twice");
    }
    // Reach the parent directory component by component, never through a symlink.
    UniqueFd dir;
    std::string_view rest = name;
    for (std::size_t slash = rest.find('/'); slash != std::string_view::npos; slash = rest.find('/')) {
      const std::string comp(rest.substr(0, slash));
      rest.remove_prefix(slash + 1);
      UniqueFd next(openat(dir.valid() ? dir.get() : tree.root.get(), comp.c_str(),
                           O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!next.valid()) {
        const int e = errno;
        struct stat cst {};
        // O_NOFOLLOW|O_DIRECTORY on a symlink fails with ENOTDIR or ELOOP: look at what is there.
        if ((e == ENOTDIR || e == ELOOP) &&
            fstatat(dir.valid() ? dir.get() : tree.root.get(), comp.c_str(), &cst, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISLNK(cst.st_mode)) {
          return at(Code::kUnsupported, name, "is reached through a symlinked directory");
        }
        if (e == ENOENT || e == ENOTDIR) {
          return at(Code::kNotFound, name, "is missing");
        }
        return at(Code::kIo, name, "cannot open directory: " + errno_text(e));
      }
      dir = std::move(next);
    }
    const std::string leaf(rest);
    const int dfd = dir.valid() ? dir.get() : tree.root.get();
    struct stat fst {};
    if (fstatat(dfd, leaf.c_str(), &fst, AT_SYMLINK_NOFOLLOW) != 0) {
      const int e = errno;
      return at(e == ENOENT ? Code::kNotFound : Code::kIo, name, e == ENOENT ? "is missing" : "cannot stat: " + errno_text(e));
    }
    bool via_symlink = false;
    if (S_ISLNK(fst.st_mode)) {
      if (!allow_symlinks) {
        return at(Code::kUnsupported, name, "is a symlink and symlinks are not allowed");
      }
      if (fstatat(dfd, leaf.c_str(), &fst, 0) != 0) {
        return at(Code::kUnsupported, name, "is a dangling symlink");
      }
      via_symlink = true;
    }
    if (!S_ISREG(fst.st_mode)) {
      return at(Code::kUnsupported, name, "is " + std::string(type_name(fst.st_mode)) + ", not a regular file");
    }
    if (via_symlink) {
      MG_ASSIGN_OR_RETURN(const std::string real, root.resolve(name, fst));
      MG_TRY(check_file_link(root, name, real));
    }
    ModelFile f;
    f.name = name;
    f.rel_path = name;
    f.via_symlink = via_symlink;
    f.stamp = stamp_of(fst);
    tree.total_bytes += f.stamp.size;
    tree.files.push_back(std::move(f));
  }
  return tree;
}

}  // namespace modelgate::crypto
