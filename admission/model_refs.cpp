#include "admission/model_refs.h"

#include <algorithm>
#include <system_error>

#include "crypto/model_walk.h"
#include "policy/diagnostic.h"

namespace modelgate::admission {

namespace fs = std::filesystem;

namespace {

// under returns the part of `path` below `prefix` ("" when equal), or nullopt when it is not
// below it. Both are absolute; the policy's prefix is normalised, the pod's path is not trusted.
std::optional<std::string> under(std::string_view prefix, std::string path) {
  while (path.size() > 1 && path.back() == '/') {
    path.pop_back();
  }
  if (path == prefix) {
    return std::string();
  }
  if (prefix == "/") {
    return path.size() > 1 ? std::optional<std::string>(path.substr(1)) : std::string();
  }
  if (path.size() > prefix.size() && path.compare(0, prefix.size(), prefix) == 0 && path[prefix.size()] == '/') {
    return path.substr(prefix.size() + 1);
  }
  return std::nullopt;
}

// claim returns the path inside the source that `v` exposes, when `s` claims the volume.
std::optional<std::string> claim(const policy::Source& s, const Volume& v, std::string& desc) {
  if (const auto* pvc = std::get_if<policy::PvcSource>(&s.volume)) {
    if (v.source == VolumeSource::kPersistentVolumeClaim && pvc->claim_name.matches(v.claim_name)) {
      desc = "pvc " + v.claim_name;
      return std::string();
    }
  } else if (const auto* hp = std::get_if<policy::HostPathSource>(&s.volume)) {
    if (v.source == VolumeSource::kHostPath) {
      desc = "hostPath " + v.path;
      return under(hp->path_prefix.value, v.path);
    }
  } else if (const auto* nfs = std::get_if<policy::NfsSource>(&s.volume)) {
    if (v.source == VolumeSource::kNfs && v.server == nfs->server.value) {
      desc = "nfs " + v.server + ":" + v.path;
      return under(nfs->path.value, v.path);
    }
  } else if (const auto* csi = std::get_if<policy::CsiSource>(&s.volume)) {
    if (v.source == VolumeSource::kCsi && v.driver == csi->driver.value) {
      for (const auto& [k, want] : csi->volume_attributes) {
        auto it = v.attributes.find(k.value);
        if (it == v.attributes.end() || it->second != want.value) {
          return std::nullopt;
        }
      }
      desc = "csi " + v.driver;
      return std::string();
    }
  }
  return std::nullopt;
}

std::string join_path(const std::string& a, const std::string& b) {
  if (a.empty()) {
    return b;
  }
  if (b.empty()) {
    return a;
  }
  return a + "/" + b;
}

}  // namespace

bool policy_matches(const policy::Policy& p, const std::string& ns, const std::map<std::string, std::string>& labels) {
  bool ns_ok = std::any_of(p.match.namespaces.begin(), p.match.namespaces.end(),
                           [&](const policy::Pattern& pat) { return pat.matches(ns); });
  if (!ns_ok) {
    return false;
  }
  for (const policy::LabelMatcher& m : p.match.labels) {
    auto it = labels.find(m.key.value);
    if (it == labels.end()) {
      return false;
    }
    if (const auto* exact = std::get_if<policy::Located<std::string>>(&m.value)) {
      if (it->second != exact->value) {
        return false;
      }
    } else if (!std::get<policy::Pattern>(m.value).matches(it->second)) {
      return false;
    }
  }
  return true;
}

ModelRefs find_model_refs(const PodTemplate& pod, const std::string& ns, const policy::TrustedPolicySet& policies) {
  ModelRefs out;
  for (const policy::CompiledPolicy& cp : policies.policies()) {
    const policy::Policy& p = *cp.policy;
    if (!policy_matches(p, ns, pod.labels)) {
      continue;
    }
    out.matched.push_back(&cp);
    for (const Volume& v : pod.volumes) {
      const policy::Source* source = nullptr;
      std::string desc;
      std::optional<std::string> base;
      for (const policy::Source& s : p.sources) {
        base = claim(s, v, desc);
        if (base) {
          source = &s;
          break;
        }
      }
      if (source == nullptr) {
        continue;  // not a model volume for this policy
      }
      if (!base->empty() && !crypto::check_model_relative_name(*base).ok()) {
        out.problems.push_back(RefProblem{&cp, v.name, "", "mount.bad_path",
                                          "volume " + policy::quote(v.name) + " (" + desc +
                                              ") names a path that cannot be resolved safely"});
        continue;
      }
      const bool volume_ro = v.read_only;
      for (const Container& c : pod.containers) {
        for (const VolumeMount& m : c.mounts) {
          if (m.volume != v.name) {
            continue;
          }
          if (!m.sub_path_expr.empty()) {
            out.problems.push_back(RefProblem{
                &cp, v.name, c.name, "mount.sub_path_expr",
                "container " + policy::quote(c.name) + " mounts model volume " + policy::quote(v.name) +
                    " with subPathExpr " + policy::quote(m.sub_path_expr) +
                    ", which cannot be resolved before the pod runs; use a fixed subPath"});
            continue;
          }
          std::string sub = m.sub_path;
          while (!sub.empty() && sub.back() == '/') {
            sub.pop_back();
          }
          if (!sub.empty() && !crypto::check_model_relative_name(sub).ok()) {
            out.problems.push_back(RefProblem{&cp, v.name, c.name, "mount.bad_sub_path",
                                              "container " + policy::quote(c.name) + " mounts model volume " +
                                                  policy::quote(v.name) + " with subPath " + policy::quote(sub) +
                                                  ", which is not a clean relative path"});
            continue;
          }
          const std::string path = join_path(*base, sub);
          const bool ro = m.read_only || volume_ro;
          if (!ro && source->require_read_only.value) {
            out.problems.push_back(RefProblem{
                &cp, v.name, c.name, "mount.writable",
                "container " + policy::quote(c.name) + " mounts model volume " + policy::quote(v.name) +
                    " writable; policy requires read-only mounts (set readOnly: true on the volumeMount)"});
          }
          fs::path dir = path.empty() ? fs::path(source->root.value) : fs::path(source->root.value) / path;
          auto it = std::find_if(out.refs.begin(), out.refs.end(),
                                 [&](const ModelRef& r) { return r.policy == &cp && r.dir == dir; });
          if (it == out.refs.end()) {
            ModelRef r;
            r.policy = &cp;
            r.source = source;
            r.volume = v.name;
            r.volume_desc = desc;
            r.path = path;
            r.dir = dir;
            r.model_name = path.empty() ? v.name : fs::path(path).filename().string();
            out.refs.push_back(std::move(r));
            it = out.refs.end() - 1;
          }
          if (std::find(it->containers.begin(), it->containers.end(), c.name) == it->containers.end()) {
            it->containers.push_back(c.name);
          }
          if (!ro) {
            it->writable.push_back(c.name);
          }
        }
      }
    }
  }
  return out;
}

Result<fs::path> open_model_dir(const ModelRef& ref) {
  std::error_code ec;
  fs::path root = fs::canonical(ref.source->root.value, ec);
  if (ec) {
    return make_error(ec == std::errc::no_such_file_or_directory ? Code::kNotFound : Code::kIo,
                      "source root " + policy::quote(ref.source->root.value) + " cannot be read by the webhook (" +
                          ec.message() + "); mount the model storage into the webhook pod");
  }
  fs::path dir = fs::canonical(ref.dir, ec);
  if (ec) {
    return make_error(ec == std::errc::no_such_file_or_directory ? Code::kNotFound : Code::kIo,
                      "model directory " + policy::quote(ref.path.empty() ? "/" : ref.path) + " does not exist in " +
                          ref.volume_desc + " (" + ec.message() + ")");
  }
  auto rel = dir.lexically_relative(root);
  if (rel.empty() || *rel.begin() == "..") {
    return make_error(Code::kUntrusted, "model directory " + policy::quote(ref.path) +
                                            " resolves outside the source root through a symlink");
  }
  if (!fs::is_directory(dir, ec)) {
    // The signature file lives inside the model directory, so a model is a directory here.
    return make_error(Code::kIo, "model path " + policy::quote(ref.path) + " is not a directory");
  }
  return dir;
}

}  // namespace modelgate::admission
