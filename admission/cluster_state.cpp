#include "admission/cluster_state.h"

#include <yaml-cpp/yaml.h>

#include "base/limits.h"
#include "base/read_file.h"

namespace modelgate::admission {

namespace fs = std::filesystem;
using policy::quote;

namespace {

const kube::Resource kPvcResource{"", "v1", "persistentvolumeclaims", true};
const kube::Resource kPvResource{"", "v1", "persistentvolumes", false};
const kube::Resource kNamespaceResource{"", "v1", "namespaces", false};

std::string claim_desc(const std::string& ns, const std::string& name) {
  return "claim " + quote(name) + " in namespace " + quote(ns);
}

}  // namespace

std::optional<ClusterProblem> check_claim_binding(const ClusterState* state, const std::string& ns,
                                                  const std::string& claim_name, const policy::Pattern& volume_name) {
  const std::string what = claim_desc(ns, claim_name);
  if (state == nullptr) {
    return ClusterProblem{"cluster.state_missing",
                          "cannot check which volume " + what +
                              " is bound to: no cluster state; pass --cluster-state FILE (kubectl get pvc,pv,ns -A -o yaml)"};
  }
  if (!state->synced()) {
    return ClusterProblem{state->unsynced_reason(), "cannot check which volume " + what + " is bound to: " + state->remedy()};
  }
  const auto pvc = state->claim(ns, claim_name);
  if (!pvc) {
    return ClusterProblem{"pvc.unknown", what + " does not exist; create it bound to a volume matching " +
                                             quote(volume_name.source)};
  }
  if (pvc->phase != "Bound" || pvc->volume_name.empty()) {
    return ClusterProblem{"pvc.not_bound", what + " is not bound (phase " + quote(pvc->phase) +
                                               "); bind it to a volume matching " + quote(volume_name.source)};
  }
  if (pvc->deleting) {
    return ClusterProblem{"pvc.not_bound", what + " is being deleted; use a claim that stays bound"};
  }
  if (!volume_name.matches(pvc->volume_name)) {
    return ClusterProblem{"pvc.volume_mismatch", what + " is bound to volume " + quote(pvc->volume_name) +
                                                     ", which does not match " + quote(volume_name.source) +
                                                     "; mount a claim bound to the model store"};
  }
  const auto pv = state->volume(pvc->volume_name);
  if (!pv) {
    return ClusterProblem{"pv.missing", "volume " + quote(pvc->volume_name) + " that " + what +
                                            " is bound to does not exist"};
  }
  // The binding goes both ways: a claim can name any volume in spec.volumeName, only the volume's
  // claimRef (set by the binder) says the volume accepted it.
  const bool uid_ok = pv->claim_uid.empty() || pvc->uid.empty() || pv->claim_uid == pvc->uid;
  if (pv->phase != "Bound" || pv->claim_ns != ns || pv->claim_name != claim_name || !uid_ok) {
    const std::string holder = pv->claim_name.empty() ? std::string("no claim") : "claim " + quote(pv->claim_ns + "/" + pv->claim_name);
    return ClusterProblem{"pv.bound_elsewhere", "volume " + quote(pv->name) + " is bound to " + holder +
                                                    (uid_ok ? std::string() : std::string(" (another uid)")) + ", not to " +
                                                    what + " (phase " + quote(pv->phase) + ")"};
  }
  return std::nullopt;
}

Result<std::map<std::string, std::string>> namespace_labels(const ClusterState* state, const std::string& ns,
                                                            ClusterProblem* problem) {
  ClusterProblem p;
  if (state == nullptr) {
    p = {"cluster.state_missing", "cannot read the labels of namespace " + quote(ns) +
                                      " for namespaceSelector: no cluster state; pass --cluster-state FILE "
                                      "(kubectl get pvc,pv,ns -A -o yaml)"};
  } else if (!state->synced()) {
    p = {state->unsynced_reason(), "cannot read the labels of namespace " + quote(ns) + ": " + state->remedy()};
  } else if (auto n = state->find_namespace(ns)) {
    return n->labels;
  } else {
    p = {"namespace.unknown", "namespace " + quote(ns) + " is not known to the webhook; retry once it exists"};
  }
  if (problem != nullptr) {
    *problem = p;
  }
  return make_error(Code::kNotFound, p.message);
}

LiveClusterState::LiveClusterState(std::shared_ptr<kube::Client> client, kube::InformerOptions opts, log::Logger* logger)
    : pvcs_(client, kPvcResource, opts, logger),
      pvs_(client, kPvResource, opts, logger),
      namespaces_(client, kNamespaceResource, opts, logger) {}

LiveClusterState::~LiveClusterState() { stop(); }

void LiveClusterState::start() {
  pvcs_.start();
  pvs_.start();
  namespaces_.start();
}

void LiveClusterState::stop() {
  pvcs_.stop();
  pvs_.stop();
  namespaces_.stop();
}

bool LiveClusterState::synced() const { return pvcs_.synced() && pvs_.synced() && namespaces_.synced(); }

std::optional<kube::PvcInfo> LiveClusterState::claim(const std::string& ns, const std::string& name) const {
  return pvcs_.get(ns + "/" + name);
}
std::optional<kube::PvInfo> LiveClusterState::volume(const std::string& name) const { return pvs_.get(name); }
std::optional<kube::NamespaceInfo> LiveClusterState::find_namespace(const std::string& name) const {
  return namespaces_.get(name);
}

std::string LiveClusterState::remedy() const {
  return "the webhook has not finished reading claims, volumes and namespaces from the API yet (see its "
         "/readyz and logs: RBAC needs get/list/watch on persistentvolumeclaims, persistentvolumes, namespaces); "
         "retry shortly";
}

std::string LiveClusterState::status() const {
  auto one = [](const char* name, bool synced, std::size_t n) {
    return std::string(name) + (synced ? " " + std::to_string(n) : std::string(" not synced"));
  };
  return std::string("cluster: ") + (synced() ? "synced" : "not synced") + " (" + one("pvc", pvcs_.synced(), pvcs_.size()) +
         ", " + one("pv", pvs_.synced(), pvs_.size()) + ", " +
         one("namespaces", namespaces_.synced(), namespaces_.size()) + ")";
}

std::optional<kube::PvcInfo> StaticClusterState::claim(const std::string& ns, const std::string& name) const {
  auto it = pvcs.find(ns + "/" + name);
  return it == pvcs.end() ? std::nullopt : std::optional<kube::PvcInfo>(it->second);
}
std::optional<kube::PvInfo> StaticClusterState::volume(const std::string& name) const {
  auto it = pvs.find(name);
  return it == pvs.end() ? std::nullopt : std::optional<kube::PvInfo>(it->second);
}
std::optional<kube::NamespaceInfo> StaticClusterState::find_namespace(const std::string& name) const {
  auto it = namespaces.find(name);
  return it == namespaces.end() ? std::nullopt : std::optional<kube::NamespaceInfo>(it->second);
}
std::string StaticClusterState::remedy() const { return "the cluster state given does not say"; }
std::string StaticClusterState::status() const {
  return "cluster: from " + std::to_string(sources.size()) + " file(s) (pvc " + std::to_string(pvcs.size()) + ", pv " +
         std::to_string(pvs.size()) + ", namespaces " + std::to_string(namespaces.size()) + ")";
}

namespace {

// to_json turns a YAML node into JSON with every scalar a string: the fields cluster state keeps
// are all strings, and kubectl's YAML quotes none of them reliably ("true" labels, numeric names).
crypto::Json to_json(const YAML::Node& n, std::size_t depth) {
  if (depth > limits::kMaxKubeJsonDepth) {
    throw YAML::Exception(n.Mark(), "nested too deeply");
  }
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      crypto::Json o = crypto::Json::object();
      for (const auto& kv : n) {
        o[kv.first.as<std::string>()] = to_json(kv.second, depth + 1);
      }
      return o;
    }
    case YAML::NodeType::Sequence: {
      crypto::Json a = crypto::Json::array();
      for (const auto& item : n) {
        a.push_back(to_json(item, depth + 1));
      }
      return a;
    }
    case YAML::NodeType::Scalar:
      return n.as<std::string>();
    default:
      return nullptr;
  }
}

// add_object keeps `obj` when it is a claim, volume or namespace, and recurses into lists. Items
// of a typed list (PersistentVolumeClaimList, as the API returns them) carry no kind of their own:
// `item_kind` is the list's kind without "List".
Result<void> add_object(StaticClusterState& st, const crypto::Json& obj, const std::string& where,
                        const std::string& item_kind = "") {
  if (!obj.is_object()) {
    return ok_status();
  }
  const crypto::Json* kind = crypto::find_field(obj, "kind");
  const std::string k = kind != nullptr && kind->is_string() ? kind->get<std::string>() : item_kind;
  if (st.pvcs.size() + st.pvs.size() + st.namespaces.size() >= limits::kMaxKubeCacheObjects) {
    return make_error(Code::kLimit, "too many objects (> " + std::to_string(limits::kMaxKubeCacheObjects) + ")");
  }
  if (k == "PersistentVolumeClaim") {
    crypto::Json typed = obj;
    typed.erase("kind");  // from_json checks a kind when present; here it was given or inferred
    MG_ASSIGN_OR_RETURN_CTX(kube::PvcInfo p, kube::PvcInfo::from_json(typed), where);
    st.pvcs.insert_or_assign(p.key(), p);
  } else if (k == "PersistentVolume") {
    crypto::Json typed = obj;
    typed.erase("kind");
    MG_ASSIGN_OR_RETURN_CTX(kube::PvInfo p, kube::PvInfo::from_json(typed), where);
    st.pvs.insert_or_assign(p.key(), p);
  } else if (k == "Namespace") {
    crypto::Json typed = obj;
    typed.erase("kind");
    MG_ASSIGN_OR_RETURN_CTX(kube::NamespaceInfo n, kube::NamespaceInfo::from_json(typed), where);
    st.namespaces.insert_or_assign(n.key(), n);
  } else if (k.size() >= 4 && k.compare(k.size() - 4, 4, "List") == 0) {  // "List" (kubectl) or "<Kind>List" (the API)
    const crypto::Json* items = crypto::find_field(obj, "items");
    if (items != nullptr && items->is_array()) {
      std::size_t i = 0;
      for (const crypto::Json& item : *items) {
        MG_TRY(add_object(st, item, where + " items[" + std::to_string(i++) + "]", k == "List" ? "" : k.substr(0, k.size() - 4)));
      }
    }
  }
  return ok_status();
}

}  // namespace

Result<std::shared_ptr<const StaticClusterState>> load_cluster_state(const std::vector<fs::path>& files) {
  if (files.size() > limits::kMaxClusterStateFiles) {
    return make_error(Code::kLimit, "too many --cluster-state files (" + std::to_string(files.size()) + " > " +
                                        std::to_string(limits::kMaxClusterStateFiles) + ")");
  }
  auto st = std::make_shared<StaticClusterState>();
  for (const fs::path& f : files) {
    MG_ASSIGN_OR_RETURN_CTX(std::string text, read_regular_file(f, limits::kMaxClusterStateBytes), f.string());
    std::vector<YAML::Node> docs;
    try {
      docs = YAML::LoadAll(text);
    } catch (const YAML::Exception& e) {
      return make_error(Code::kMalformed, f.string() + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
    std::size_t d = 0;
    for (const YAML::Node& doc : docs) {
      crypto::Json j;
      try {
        j = to_json(doc, 0);
      } catch (const YAML::Exception& e) {
        return make_error(Code::kMalformed, f.string() + ": document " + std::to_string(d) + ": " + e.msg);
      }
      MG_TRY(add_object(*st, j, f.string() + ": document " + std::to_string(d)));
      ++d;
    }
    st->sources.push_back(f.string());
  }
  return std::shared_ptr<const StaticClusterState>(std::move(st));
}

}  // namespace modelgate::admission
