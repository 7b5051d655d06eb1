#include "kube/objects.h"

#include "base/limits.h"

namespace modelgate::kube {

namespace {

using crypto::Json;

// field reads an optional string at `key` of `obj` (absent or null: ""), bounded by `max`.
Result<std::string> field(const Json* obj, std::string_view key, std::string_view path, std::size_t max) {
  if (obj == nullptr) {
    return std::string();
  }
  const Json* v = crypto::find_field(*obj, key);
  if (v == nullptr) {
    return std::string();
  }
  if (!v->is_string()) {
    return make_error(Code::kMalformed, std::string(path) + "." + std::string(key) + ": expected string");
  }
  const auto& s = v->get_ref<const std::string&>();
  if (s.size() > max) {
    return make_error(Code::kLimit, std::string(path) + "." + std::string(key) + ": too long (" +
                                        std::to_string(s.size()) + " > " + std::to_string(max) + " bytes)");
  }
  return s;
}

Result<const Json*> object_at(const Json* obj, std::string_view key, std::string_view path) {
  if (obj == nullptr) {
    return static_cast<const Json*>(nullptr);
  }
  const Json* v = crypto::find_field(*obj, key);
  if (v == nullptr) {
    return static_cast<const Json*>(nullptr);
  }
  if (!v->is_object()) {
    return make_error(Code::kMalformed, std::string(path) + "." + std::string(key) + ": expected object");
  }
  return v;
}

Result<void> check_kind(const Json& obj, std::string_view want) {
  if (!obj.is_object()) {
    return make_error(Code::kMalformed, "object is not a JSON object");
  }
  const Json* k = crypto::find_field(obj, "kind");
  if (k != nullptr && (!k->is_string() || k->get_ref<const std::string&>() != want)) {
    return make_error(Code::kMalformed, "kind is not " + std::string(want));
  }
  return ok_status();
}

}  // namespace

Result<PvcInfo> PvcInfo::from_json(const Json& obj) {
  MG_TRY(check_kind(obj, "PersistentVolumeClaim"));
  PvcInfo p;
  MG_ASSIGN_OR_RETURN(const Json* md, object_at(&obj, "metadata", ""));
  MG_ASSIGN_OR_RETURN(p.name, field(md, "name", "metadata", limits::kMaxKubeNameBytes));
  MG_ASSIGN_OR_RETURN(p.ns, field(md, "namespace", "metadata", limits::kMaxKubeNameBytes));
  MG_ASSIGN_OR_RETURN(p.uid, field(md, "uid", "metadata", limits::kMaxKubeNameBytes));
  if (p.name.empty() || p.ns.empty()) {
    return make_error(Code::kMalformed, "PersistentVolumeClaim without metadata.name and metadata.namespace");
  }
  MG_ASSIGN_OR_RETURN(std::string deletion, field(md, "deletionTimestamp", "metadata", limits::kMaxKubeNameBytes));
  p.deleting = !deletion.empty();
  MG_ASSIGN_OR_RETURN(const Json* spec, object_at(&obj, "spec", ""));
  MG_ASSIGN_OR_RETURN(p.volume_name, field(spec, "volumeName", "spec", limits::kMaxKubeNameBytes));
  MG_ASSIGN_OR_RETURN(const Json* status, object_at(&obj, "status", ""));
  MG_ASSIGN_OR_RETURN(p.phase, field(status, "phase", "status", limits::kMaxKubeNameBytes));
  return p;
}

Result<PvInfo> PvInfo::from_json(const Json& obj) {
  MG_TRY(check_kind(obj, "PersistentVolume"));
  PvInfo p;
  MG_ASSIGN_OR_RETURN(const Json* md, object_at(&obj, "metadata", ""));
  MG_ASSIGN_OR_RETURN(p.name, field(md, "name", "metadata", limits::kMaxKubeNameBytes));
  MG_ASSIGN_OR_RETURN(p.uid, field(md, "uid", "metadata", limits::kMaxKubeNameBytes));
  if (p.name.empty()) {
    return make_error(Code::kMalformed, "PersistentVolume without metadata.name");
  }
  MG_ASSIGN_OR_RETURN(const Json* status, object_at(&obj, "status", ""));
  MG_ASSIGN_OR_RETURN(p.phase, field(status, "phase", "status", limits::kMaxKubeNameBytes));
  MG_ASSIGN_OR_RETURN(const Json* spec, object_at(&obj, "spec", ""));
  MG_ASSIGN_OR_RETURN(const Json* claim, object_at(spec, "claimRef", "spec"));
  MG_ASSIGN_OR_RETURN(p.claim_ns, field(claim, "namespace", "spec.claimRef", limits::kMaxKubeNameBytes));
  MG_ASSIGN_OR_RETURN(p.claim_name, field(claim, "name", "spec.claimRef", limits::kMaxKubeNameBytes));
  MG_ASSIGN_OR_RETURN(p.claim_uid, field(claim, "uid", "spec.claimRef", limits::kMaxKubeNameBytes));
  MG_ASSIGN_OR_RETURN(const Json* csi, object_at(spec, "csi", "spec"));
  MG_ASSIGN_OR_RETURN(p.csi_driver, field(csi, "driver", "spec.csi", limits::kMaxKubeNameBytes));
  MG_ASSIGN_OR_RETURN(p.csi_volume_handle, field(csi, "volumeHandle", "spec.csi", limits::kMaxKubeFieldBytes));
  MG_ASSIGN_OR_RETURN(const Json* nfs, object_at(spec, "nfs", "spec"));
  MG_ASSIGN_OR_RETURN(p.nfs_server, field(nfs, "server", "spec.nfs", limits::kMaxKubeNameBytes));
  MG_ASSIGN_OR_RETURN(p.nfs_path, field(nfs, "path", "spec.nfs", limits::kMaxKubeFieldBytes));
  MG_ASSIGN_OR_RETURN(const Json* hp, object_at(spec, "hostPath", "spec"));
  MG_ASSIGN_OR_RETURN(p.host_path, field(hp, "path", "spec.hostPath", limits::kMaxKubeFieldBytes));
  return p;
}

Result<NamespaceInfo> NamespaceInfo::from_json(const Json& obj) {
  MG_TRY(check_kind(obj, "Namespace"));
  NamespaceInfo n;
  MG_ASSIGN_OR_RETURN(const Json* md, object_at(&obj, "metadata", ""));
  MG_ASSIGN_OR_RETURN(n.name, field(md, "name", "metadata", limits::kMaxKubeNameBytes));
  if (n.name.empty()) {
    return make_error(Code::kMalformed, "Namespace without metadata.name");
  }
  MG_ASSIGN_OR_RETURN(const Json* labels, object_at(md, "labels", "metadata"));
  if (labels != nullptr) {
    if (labels->size() > limits::kMaxKubeLabels) {
      return make_error(Code::kLimit, "metadata.labels: too many labels (" + std::to_string(labels->size()) + " > " +
                                          std::to_string(limits::kMaxKubeLabels) + ")");
    }
    for (auto it = labels->begin(); it != labels->end(); ++it) {
      if (!it->is_string()) {
        return make_error(Code::kMalformed, "metadata.labels: expected string values");
      }
      const auto& v = it->get_ref<const std::string&>();
      if (it.key().size() > limits::kMaxKubeLabelBytes || v.size() > limits::kMaxKubeLabelBytes) {
        return make_error(Code::kLimit, "metadata.labels: a label is too long");
      }
      n.labels.emplace(it.key(), v);
    }
  }
  return n;
}

}  // namespace modelgate::kube
