#include "admission/model_refs.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <set>
#include <system_error>

#include "admission/review_codec.h"
#include "base/limits.h"
#include "crypto/model_walk.h"
#include "policy/diagnostic.h"
#include "policy/names.h"

namespace modelgate::admission {

namespace fs = std::filesystem;

namespace {

using policy::quote;

// under returns the part of `path` below `prefix` ("" when equal), or nullopt when it is not at
// or below it. Both are normalised absolute paths.
std::optional<std::string> under(std::string_view prefix, std::string_view path) {
  if (path == prefix) {
    return std::string();
  }
  if (prefix == "/") {
    return std::string(path.substr(1));
  }
  if (path.size() > prefix.size() && path.compare(0, prefix.size(), prefix) == 0 && path[prefix.size()] == '/') {
    return std::string(path.substr(prefix.size() + 1));
  }
  return std::nullopt;
}

// strictly_above is true when `path` is a proper ancestor of `prefix` (both normalised).
bool strictly_above(std::string_view path, std::string_view prefix) {
  if (path == prefix) {
    return false;
  }
  if (path == "/") {
    return true;
  }
  return prefix.size() > path.size() && prefix.compare(0, path.size(), path) == 0 && prefix[path.size()] == '/';
}

// The volume's own path that subPaths are joined to: hostPath and NFS volumes name a place in a
// larger tree; a claim or a CSI volume is its own root.
std::string_view volume_base(const Volume& v) {
  return (v.source == VolumeSource::kHostPath || v.source == VolumeSource::kNfs) ? std::string_view(v.path)
                                                                                  : std::string_view("/");
}

enum class ClaimKind { kNone, kClaimed, kExposes };

struct Claim {
  ClaimKind kind = ClaimKind::kNone;
  std::string path;  // inside the source (kClaimed)
  std::string desc;  // "pvc models", "hostPath /var/lib/m", ...
};

// claim says whether source `s` claims volume `v` seen at effective path `eff`, or whether `eff`
// is a parent of the source's storage (the mount would expose what the source holds, and more).
Claim claim(const policy::Source& s, const Volume& v, const std::string& eff) {
  Claim c;
  auto judge = [&](std::string_view prefix) {
    if (auto rel = under(prefix, eff)) {
      c.kind = ClaimKind::kClaimed;
      c.path = std::move(*rel);
    } else if (strictly_above(eff, prefix)) {
      c.kind = ClaimKind::kExposes;
    }
  };
  if (const auto* pvc = std::get_if<policy::PvcSource>(&s.volume)) {
    if (v.source == VolumeSource::kPersistentVolumeClaim && pvc->claim_name.matches(v.claim_name)) {
      c.desc = "pvc " + v.claim_name;
      judge("/");
    }
  } else if (const auto* hp = std::get_if<policy::HostPathSource>(&s.volume)) {
    if (v.source == VolumeSource::kHostPath) {
      c.desc = "hostPath " + v.path;
      judge(hp->path_prefix.value);
    }
  } else if (const auto* nfs = std::get_if<policy::NfsSource>(&s.volume)) {
    if (v.source == VolumeSource::kNfs) {
      const std::string server = policy::normalize_nfs_server(v.server);
      const bool same = std::any_of(nfs->servers.begin(), nfs->servers.end(),
                                    [&](const policy::Located<std::string>& n) { return n.value == server; });
      if (same) {
        c.desc = "nfs " + v.server + ":" + v.path;
        judge(nfs->path.value);
      }
    }
  } else if (const auto* csi = std::get_if<policy::CsiSource>(&s.volume)) {
    // Exactly the listed attributes: an unlisted one (a driver option such as a sub-directory or
    // mount flags) can change what the driver serves while the webhook reads the listed storage.
    if (v.source == VolumeSource::kCsi && v.driver == csi->driver.value &&
        v.attributes.size() == csi->volume_attributes.size()) {
      for (const auto& [k, want] : csi->volume_attributes) {
        auto it = v.attributes.find(k.value);
        if (it == v.attributes.end() || it->second != want.value) {
          return c;
        }
      }
      c.desc = "csi " + v.driver;
      judge("/");
    }
  }
  return c;
}

std::string describe_volume(const Volume& v) {
  switch (v.source) {
    case VolumeSource::kPersistentVolumeClaim:
      return "pvc " + v.claim_name;
    case VolumeSource::kHostPath:
      return "hostPath " + v.path;
    case VolumeSource::kNfs:
      return "nfs " + v.server + ":" + v.path;
    case VolumeSource::kCsi:
      return "csi " + v.driver;
    case VolumeSource::kOther:
      break;
  }
  return v.kind.empty() ? std::string("no single volume source") : v.kind;
}

// One mount of one container as the overlay check sees it.
struct SeenMount {
  std::string key;       // overlay_key(mountPath) + "/" ("/" for the root): prefixes are subtrees
  std::string identity;  // volume name + NUL + effective path: "the same bytes"
  std::string volume;
  std::string mount_path;
  std::size_t ref_index = 0;
  bool is_model = false;
  bool writable = false;  // its content can be written from the pod (an emptyDir, a writable mount)
  bool termination_file = false;  // the kubelet's terminationMessagePath file, not a volume
};

// overlay_key is the form in which two mount paths are compared for overlays: normalised, with
// "\\" read as "/", a Windows drive ("C:") dropped and letters folded to lower case, because the
// Windows kubelet resolves "\\models\\m" and "C:/Models/M" to one directory. On Linux this only
// makes the check stricter (two paths that differ by case count as nested). nullopt when unusable.
std::optional<std::string> overlay_key(std::string_view mount_path, std::string& why) {
  std::string p(mount_path);
  std::replace(p.begin(), p.end(), '\\', '/');
  if (p.size() >= 2 && p[1] == ':' && std::isalpha(static_cast<unsigned char>(p[0])) != 0) {
    p.erase(0, 2);
  }
  for (char& ch : p) {
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  if (p.empty() || p.front() != '/') {
    p.insert(p.begin(), '/');
  }
  return policy::names::normalize_absolute_path(p, why);
}

// PolicyScan resolves one pod against one matched policy.
class PolicyScan {
 public:
  PolicyScan(const policy::CompiledPolicy& cp, const PodTemplate& pod, const std::string& ns,
             const ClusterState* cluster, ModelRefs& out)
      : cp_(cp), p_(*cp.policy), pod_(pod), ns_(ns), cluster_(cluster), out_(out) {}

  void run() {
    std::map<std::string_view, std::size_t> volumes;
    for (std::size_t i = 0; i < pod_.volumes.size(); ++i) {
      if (!volumes.emplace(pod_.volumes[i].name, i).second) {
        problem(pod_.volumes[i].name, "", "volume.unclaimed",
                "volume " + quote(pod_.volumes[i].name) + " is defined twice; a pod must name each volume once");
      }
    }
    std::vector<bool> used(pod_.volumes.size(), false);
    for (const Container& c : pod_.containers) {
      std::vector<SeenMount> seen;
      seen.reserve(c.mounts.size());
      for (const VolumeMount& m : c.mounts) {
        auto it = volumes.find(m.volume);
        if (it == volumes.end()) {
          problem(m.volume, c.name, "mount.bad_path",
                  "container " + quote(c.name) + " mounts volume " + quote(m.volume) + ", which the pod does not define");
          continue;
        }
        used[it->second] = true;
        mount(c, m, pod_.volumes[it->second], seen);
      }
      for (const VolumeDevice& d : c.devices) {
        auto it = volumes.find(d.volume);
        if (it == volumes.end()) {
          continue;  // the unknown volume is the apiserver's to refuse; nothing is read from it
        }
        used[it->second] = true;
        device(c, d, pod_.volumes[it->second]);
      }
      check_overlays(c, seen);
    }
    for (std::size_t i = 0; i < pod_.volumes.size(); ++i) {
      if (!used[i]) {
        unmounted(pod_.volumes[i]);
      }
    }
    if (hidden_ > 0) {
      out_.problems.push_back(RefProblem{&cp_, "", "", "mount.more_problems",
                                         "and " + std::to_string(hidden_) + " more volume and mount problems"});
    }
  }

 private:
  void problem(const std::string& volume, const std::string& container, std::string reason, std::string message,
               std::string rule = "mount") {
    if (reported_ == limits::kMaxReportedMountProblems) {
      ++hidden_;
      return;
    }
    ++reported_;
    out_.problems.push_back(
        RefProblem{&cp_, volume, container, std::move(reason), std::move(message), std::move(rule)});
  }

  // check_binding proves, once per volume, that the claim a pvc source claims is bound to a volume
  // the source names (the claim name alone is the pod author's to choose).
  void check_binding(const Volume& v, const std::string& container, const policy::Source& source) {
    const auto* pvc = std::get_if<policy::PvcSource>(&source.volume);
    if (pvc == nullptr || v.claim_template || !checked_claims_.insert(v.name).second) {
      return;  // a claim template's claims do not exist yet: each replica's pod proves its own
    }
    const std::string subject = "model volume " + quote(v.name) + " (pvc " + quote(sanitize_for_user(v.claim_name)) +
                                ", source " + quote(source.name.value) + ")";
    if (!pvc->volume_name) {
      problem(v.name, container, "pvc.volume_name_missing",
              subject + ": the source has no pvc.volumeName, so which volume the claim is bound to cannot be "
                        "proven; add volumeName to the policy (modelgate policy lint explains)",
              "claim-binding");
      return;
    }
    // Names longer than the API allows are never in the cache: do not echo them whole.
    const std::string claim = sanitize_for_user(v.claim_name);
    const std::string ns = sanitize_for_user(ns_);
    if (claim != v.claim_name || ns != ns_) {
      problem(v.name, container, "pvc.unknown", subject + ": no such claim (the name is longer than the API allows)",
              "claim-binding");
      return;
    }
    if (auto p = check_claim_binding(cluster_, ns_, v.claim_name, *pvc->volume_name)) {
      problem(v.name, container, p->reason, subject + ": " + p->message, "claim-binding");
    }
  }

  // unclaimed reports a volume no source claims and whose kind is not admitted, once per volume.
  void unclaimed(const Volume& v) {
    if (!reported_unclaimed_.insert(v.name).second) {
      return;
    }
    const std::string kind = v.kind.empty() ? std::string("(none or several)") : v.kind;
    problem(v.name, "", "volume.unclaimed",
            "volume " + quote(v.name) + " (" + sanitize_for_user(describe_volume(v)) + ", kind " + quote(kind) +
                ") is not a model source of this policy and its kind is not allowed as \"not a model\"; add a "
                "source that claims it, or add " + quote(kind) + " to spec.otherVolumes.allow");
  }

  void exposes(const Volume& v, const std::string& container, const std::string& eff) {
    problem(v.name, container, "mount.exposes_source",
            (container.empty() ? std::string("volume ") + quote(v.name)
                               : "container " + quote(container) + " mounts volume " + quote(v.name)) +
                " at " + sanitize_for_user(eff) + ", a parent of a model source; mount the model directory itself "
                "(a subPath or path inside the source)");
  }

  // first_claim returns the policy's first source that claims (v, eff), or an exposing claim when
  // none claims it but one lies below it.
  std::pair<const policy::Source*, Claim> first_claim(const Volume& v, const std::string& eff) const {
    Claim exposing;
    for (const policy::Source& s : p_.sources) {
      Claim c = claim(s, v, eff);
      if (c.kind == ClaimKind::kClaimed) {
        return {&s, std::move(c)};
      }
      if (c.kind == ClaimKind::kExposes) {
        exposing = std::move(c);
      }
    }
    return {nullptr, std::move(exposing)};
  }

  void unmounted(const Volume& v) {
    // No container reads it, but every volume of a matched pod is claimed or admitted: an unread
    // volume of a model-capable kind is still refused (ephemeral containers are judged on their
    // own request).
    auto eff = effective_path(volume_base(v), "");
    if (!eff) {
      unclaimed(v);
      return;
    }
    auto [source, c] = first_claim(v, *eff);
    if (source != nullptr) {
      return;
    }
    if (c.kind == ClaimKind::kExposes) {
      exposes(v, "", *eff);
    } else if (!p_.other_volumes.allows(v.kind)) {
      unclaimed(v);
    }
  }

  void device(const Container& c, const VolumeDevice& /*d*/, const Volume& v) {
    auto eff = effective_path(volume_base(v), "");
    const bool claimed = eff && first_claim(v, *eff).first != nullptr;
    if (claimed) {
      problem(v.name, c.name, "mount.bad_path",
              "container " + quote(c.name) + " reads model volume " + quote(v.name) +
                  " as a raw block device, which cannot be verified; mount it as a filesystem (volumeMounts)");
    } else if (!p_.other_volumes.allows(v.kind)) {
      unclaimed(v);
    }
  }

  void mount(const Container& c, const VolumeMount& m, const Volume& v, std::vector<SeenMount>& seen) {
    std::string why;
    auto mp = overlay_key(m.mount_path, why);
    if (!mp) {
      problem(v.name, c.name, "mount.bad_mount_path",
              "container " + quote(c.name) + " mounts volume " + quote(v.name) + " at mountPath " + quote(m.mount_path) +
                  ", which " + why);
      return;
    }
    SeenMount sm;
    sm.key = *mp == "/" ? "/" : *mp + "/";
    sm.volume = v.name;
    sm.mount_path = sanitize_for_user(m.mount_path);
    sm.writable = v.kind == "emptyDir" || !(m.read_only || v.read_only);
    if (!m.sub_path_expr.empty()) {
      if (p_.other_volumes.allows(v.kind)) {
        sm.identity = v.name + '\0' + "expr:" + m.sub_path_expr;
        seen.push_back(std::move(sm));
        return;
      }
      problem(v.name, c.name, "mount.sub_path_expr",
              "container " + quote(c.name) + " mounts volume " + quote(v.name) + " with subPathExpr " +
                  quote(m.sub_path_expr) + ", which cannot be resolved before the pod runs; use a fixed subPath");
      return;
    }
    if (v.source == VolumeSource::kOther) {
      // No source kind claims a config map, an emptyDir or any other non-storage kind: the kind
      // alone decides (and the subPath is the kubelet's to check inside it).
      if (!p_.other_volumes.allows(v.kind)) {
        unclaimed(v);
        return;
      }
      sm.identity = v.name + '\0' + m.sub_path;
      seen.push_back(std::move(sm));
      return;
    }
    auto eff = effective_path(volume_base(v), m.sub_path);
    if (!eff) {
      if (p_.other_volumes.allows(v.kind)) {
        return;  // the kubelet refuses such a subPath; an admitted kind cannot hold a model either way
      }
      problem(v.name, c.name, "mount.bad_sub_path",
              "container " + quote(c.name) + " mounts volume " + quote(v.name) + " with subPath " + quote(m.sub_path) +
                  ", which is not a clean relative path");
      return;
    }
    sm.identity = v.name + '\0' + *eff;
    auto [source, cl] = first_claim(v, *eff);
    if (source == nullptr) {
      if (cl.kind == ClaimKind::kExposes) {
        exposes(v, c.name, *eff);
      } else if (!p_.other_volumes.allows(v.kind)) {
        unclaimed(v);
      } else {
        seen.push_back(std::move(sm));
      }
      return;
    }
    if (!cl.path.empty() && !crypto::check_model_relative_name(cl.path).ok()) {
      problem(v.name, c.name, "mount.bad_path",
              "volume " + quote(v.name) + " (" + sanitize_for_user(cl.desc) +
                  ") names a path that cannot be resolved safely");
      return;
    }
    const bool ro = m.read_only || v.read_only;
    if (!ro && source->require_read_only.value) {
      problem(v.name, c.name, "mount.writable",
              "container " + quote(c.name) + " mounts model volume " + quote(v.name) +
                  " writable; policy requires read-only mounts (set readOnly: true on the volumeMount)");
    }
    if (m.propagation == "Bidirectional") {
      problem(v.name, c.name, "mount.propagation",
              "container " + quote(c.name) + " mounts model volume " + quote(v.name) +
                  " with mountPropagation Bidirectional, which lets it change what other pods see; remove it");
    }
    check_binding(v, c.name, *source);
    sm.is_model = true;
    sm.ref_index = add_ref(c, *source, v, cl, ro);
    seen.push_back(std::move(sm));
  }

  std::size_t add_ref(const Container& c, const policy::Source& source, const Volume& v, const Claim& cl, bool ro) {
    fs::path dir = cl.path.empty() ? fs::path(source.root.value) : fs::path(source.root.value) / cl.path;
    auto [it, inserted] = refs_.emplace(dir.string(), out_.refs.size());
    if (inserted) {
      if (refs_.size() > limits::kMaxModelRefsPerObject) {
        refs_.erase(it);
        if (!too_many_) {
          too_many_ = true;
          problem(v.name, c.name, "volume.too_many_models",
                  "too many model directories in one object (more than " +
                      std::to_string(limits::kMaxModelRefsPerObject) + "); mount fewer models per pod");
        }
        return SIZE_MAX;
      }
      ModelRef r;
      r.policy = &cp_;
      r.source = &source;
      r.volume = v.name;
      r.volume_desc = cl.desc;
      r.path = cl.path;
      r.dir = std::move(dir);
      r.model_name = cl.path.empty() ? v.name : fs::path(cl.path).filename().string();
      out_.refs.push_back(std::move(r));
    }
    ModelRef& r = out_.refs[it->second];
    if (r.containers.empty() || r.containers.back() != c.name) {
      if (std::find(r.containers.begin(), r.containers.end(), c.name) == r.containers.end()) {
        r.containers.push_back(c.name);
      }
    }
    if (!ro && std::find(r.writable.begin(), r.writable.end(), c.name) == r.writable.end()) {
      r.writable.push_back(c.name);
    }
    return it->second;
  }

  // check_overlays: within one container (mount namespaces are per container), nothing may be
  // mounted at or under a model mount's path except the same model at the same path. Sorted by
  // key, every subtree is a contiguous run (key = path + "/"), so one sweep with a stack of the
  // enclosing model mounts finds every overlay in O(m log m).
  void check_overlays(const Container& c, std::vector<SeenMount>& seen) {
    const bool reads_model = std::any_of(seen.begin(), seen.end(), [](const SeenMount& m) { return m.is_model; });
    if (!reads_model) {
      return;
    }
    if (!c.termination_message_path.empty()) {
      // The kubelet bind-mounts a fresh file the container can write at terminationMessagePath.
      std::string why;
      if (auto key = overlay_key(c.termination_message_path, why)) {
        SeenMount t;
        t.key = *key + "/";
        t.volume = "(terminationMessagePath)";
        t.mount_path = sanitize_for_user(c.termination_message_path);
        t.identity = std::string(1, '\0');
        t.writable = true;
        t.termination_file = true;
        seen.push_back(std::move(t));
      }
    }
    std::sort(seen.begin(), seen.end(), [](const SeenMount& a, const SeenMount& b) {
      if (a.key != b.key) {
        return a.key < b.key;
      }
      return a.is_model && !b.is_model;  // at one path the model first: the other is the overlay
    });
    // One sweep: sorted by key, a subtree is a contiguous run. Each stack entry knows the nearest
    // model mount at or above it and the nearest writable non-model mount at or above it (`incl`)
    // and strictly above it (`strict`).
    struct Entry {
      const SeenMount* m;
      const SeenMount* model;
      const SeenMount* incl;
      const SeenMount* strict;
    };
    std::vector<Entry> stack;
    for (const SeenMount& m : seen) {
      while (!stack.empty() && m.key.compare(0, stack.back().m->key.size(), stack.back().m->key) != 0) {
        stack.pop_back();
      }
      const Entry* parent = stack.empty() ? nullptr : &stack.back();
      const SeenMount* model = parent != nullptr ? parent->model : nullptr;
      const SeenMount* strict =
          parent == nullptr ? nullptr : (parent->m->key != m.key ? parent->incl : parent->strict);
      bool reported = false;
      if (model != nullptr && !(model->key == m.key && model->identity == m.identity)) {
        const std::string name = model->ref_index < out_.refs.size() ? out_.refs[model->ref_index].model_name
                                                                      : model->volume;
        problem(m.volume, c.name, "mount.overlay",
                "container " + quote(c.name) + " mounts " + what(m) + " at " + m.mount_path + ", over model " +
                    quote(name) + " mounted at " + model->mount_path +
                    "; a mount inside a model's mount replaces verified files: mount it elsewhere");
        reported = true;
      }
      if (!reported && strict != nullptr && !m.is_model) {
        // (A model mount under a writable one is fine: a link there only moves where the model
        // is mounted, and the path through the link still reads the model.)
        // A link the pod writes into `strict` (or an image baked with one) can send this mount
        // anywhere in the container, over a verified model included.
        problem(m.volume, c.name, "mount.under_writable",
                "container " + quote(c.name) + " mounts " + what(m) + " at " + m.mount_path + ", inside " +
                    what(*strict) + " mounted at " + strict->mount_path +
                    ", which the pod can write; a symbolic link placed there can redirect this mount over a verified "
                    "model: mount it outside writable volumes");
      }
      const SeenMount* incl = (m.writable && !m.is_model) ? &m : (parent != nullptr ? parent->incl : nullptr);
      stack.push_back(Entry{&m, m.is_model ? &m : model, incl, strict});
    }
  }

  static std::string what(const SeenMount& m) {
    return m.termination_file ? std::string("its termination message file") : "volume " + quote(m.volume);
  }

  const policy::CompiledPolicy& cp_;
  const policy::Policy& p_;
  const PodTemplate& pod_;
  const std::string& ns_;
  const ClusterState* cluster_;
  ModelRefs& out_;
  std::set<std::string> checked_claims_;
  std::map<std::string, std::size_t> refs_;  // model dir → index in out_.refs (this policy's)
  std::set<std::string> reported_unclaimed_;
  std::size_t reported_ = 0;
  std::size_t hidden_ = 0;
  bool too_many_ = false;
};

}  // namespace

std::optional<std::string> effective_path(std::string_view volume_path, std::string_view sub_path) {
  std::string joined(volume_path);
  if (joined.empty() || joined.front() != '/') {
    return std::nullopt;  // a hostPath or NFS path must be absolute (the apiserver requires it)
  }
  if (!sub_path.empty()) {
    if (sub_path.front() == '/') {
      return std::nullopt;  // an absolute subPath is refused by the kubelet; never guess
    }
    joined += '/';
    joined += sub_path;
  }
  std::string why;
  return policy::names::normalize_absolute_path(joined, why);
}

bool policy_matches(const policy::Policy& p, const std::string& ns, const std::map<std::string, std::string>& labels) {
  bool ns_ok = p.match.namespaces.empty() ||
               std::any_of(p.match.namespaces.begin(), p.match.namespaces.end(),
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

ModelRefs find_model_refs(const PodTemplate& pod, const std::string& ns, const policy::TrustedPolicySet& policies,
                          const ClusterState* cluster) {
  ModelRefs out;
  std::optional<Result<std::map<std::string, std::string>>> ns_labels;  // read once, when a selector asks
  ClusterProblem ns_problem;
  for (const policy::CompiledPolicy& cp : policies.policies()) {
    if (!policy_matches(*cp.policy, ns, pod.labels)) {
      continue;
    }
    const auto& selector = cp.policy->match.namespace_selector;
    bool unknown = false;
    if (selector) {
      if (!ns_labels) {
        ns_labels = namespace_labels(cluster, sanitize_for_user(ns), &ns_problem);  // a real name is never cut
      }
      if (ns_labels->ok()) {
        if (!selector->matches(ns_labels->value())) {
          continue;
        }
      } else {
        unknown = true;  // fail closed below, if the pod has anything this policy would judge
      }
    }
    const std::size_t refs_before = out.refs.size();
    const std::size_t problems_before = out.problems.size();
    PolicyScan(cp, pod, ns, cluster, out).run();
    if (unknown) {
      if (out.refs.size() == refs_before && out.problems.size() == problems_before) {
        continue;  // nothing to judge: whether the policy governs the namespace does not matter
      }
      out.problems.push_back(RefProblem{&cp, "", "", ns_problem.reason,
                                        "cannot tell whether policy " + quote(cp.policy->name.value) +
                                            " (namespaceSelector " + quote(selector->describe()) +
                                            ") governs namespace " + quote(sanitize_for_user(ns)) + ": " +
                                            ns_problem.message,
                                        "namespace-selector"});
    }
    out.matched.push_back(&cp);
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
