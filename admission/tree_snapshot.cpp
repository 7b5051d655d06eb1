// tree_snapshot.cpp: signature bytes and file stamps of one model directory (no model bytes).
#include "admission/tree_snapshot.h"

#include <algorithm>

#include "base/limits.h"
#include "base/read_file.h"
#include "crypto/encoding.h"
#include "crypto/model_walk.h"
#include "crypto/sha256.h"

namespace modelgate::admission {

namespace {

std::string stamp_line(const crypto::FileStamp& s) {
  return std::to_string(s.dev) + ':' + std::to_string(s.ino) + ':' + std::to_string(s.size) + ':' +
         std::to_string(s.mtime_ns) + ':' + std::to_string(s.ctime_ns);
}

std::string signature_fingerprint(const std::filesystem::path& sig) {
  auto bytes = read_regular_file(sig, limits::kMaxBundleBytes);
  if (!bytes.ok()) {
    return "absent:" + std::string(code_name(bytes.error().code));
  }
  crypto::Sha256 h;
  h.update(bytes.value());
  return crypto::to_hex(h.final());
}

}  // namespace

Result<TreeSnapshot> take_snapshot(const std::filesystem::path& dir, const std::string& signature_file, bool keep_stamps,
                                   std::optional<std::chrono::steady_clock::time_point> deadline,
                                   const std::atomic<bool>* cancel) {
  TreeSnapshot s;
  s.signature_fingerprint = signature_fingerprint(dir / signature_file);
  crypto::WalkOptions w;
  w.allow_symlinks = true;  // links are recorded, not judged, here; verification judges them
  w.deadline = deadline;
  w.cancel = cancel;
  auto tree = crypto::walk_model(dir, w);
  if (!tree.ok()) {
    if (tree.error().code == Code::kDeadline) {
      return std::move(tree).error();
    }
    s.walkable = false;
    s.tree_fingerprint = "unwalkable:" + tree.error().message;
    return s;
  }
  crypto::Sha256 h;
  s.files = tree->files.size();
  for (const crypto::ModelFile& f : tree->files) {
    h.update(f.name);
    h.update(std::string_view("\0", 1));
    h.update(stamp_line(f.stamp));
    h.update(std::string_view("\n", 1));
    s.newest_change_ns = std::max({s.newest_change_ns, f.stamp.mtime_ns, f.stamp.ctime_ns});
    if (keep_stamps) {
      s.stamps.emplace(f.name, f.stamp);
    }
  }
  s.tree_fingerprint = crypto::to_hex(h.final());
  return s;
}

}  // namespace modelgate::admission
