#include "admission/workload.h"

#include "base/limits.h"

namespace modelgate::admission {

namespace {

using crypto::Json;

std::string join(std::string_view path, std::string_view key) { return std::string(path) + "." + std::string(key); }

Result<std::string> opt_string(const Json& obj, std::string_view key, std::string_view path) {
  const Json* v = crypto::find_field(obj, key);
  if (v == nullptr) {
    return std::string();
  }
  if (!v->is_string()) {
    return make_error(Code::kMalformed, join(path, key) + ": expected a string");
  }
  return v->get<std::string>();
}

Result<bool> opt_bool(const Json& obj, std::string_view key, std::string_view path) {
  const Json* v = crypto::find_field(obj, key);
  if (v == nullptr) {
    return false;
  }
  if (!v->is_boolean()) {
    return make_error(Code::kMalformed, join(path, key) + ": expected true or false");
  }
  return v->get<bool>();
}

Result<std::map<std::string, std::string>> string_map(const Json& obj, std::string_view key, std::string_view path) {
  std::map<std::string, std::string> out;
  const Json* v = crypto::find_field(obj, key);
  if (v == nullptr) {
    return out;
  }
  if (!v->is_object()) {
    return make_error(Code::kMalformed, join(path, key) + ": expected an object");
  }
  for (auto it = v->begin(); it != v->end(); ++it) {
    if (!it.value().is_string()) {
      return make_error(Code::kMalformed, join(join(path, key), it.key()) + ": expected a string");
    }
    out.emplace(it.key(), it.value().get<std::string>());
  }
  return out;
}

Result<const Json*> opt_array(const Json& obj, std::string_view key, std::string_view path, std::size_t max) {
  const Json* v = crypto::find_field(obj, key);
  if (v == nullptr) {
    return static_cast<const Json*>(nullptr);
  }
  if (!v->is_array()) {
    return make_error(Code::kMalformed, join(path, key) + ": expected an array");
  }
  if (v->size() > max) {
    return make_error(Code::kLimit, join(path, key) + ": too many entries (" + std::to_string(v->size()) +
                                        " > " + std::to_string(max) + ")");
  }
  return v;
}

Result<Volume> parse_volume(const Json& v, const std::string& path) {
  if (!v.is_object()) {
    return make_error(Code::kMalformed, path + ": expected an object");
  }
  Volume out;
  MG_ASSIGN_OR_RETURN(out.name, crypto::get_string(v, "name", path));
  // A volume names exactly one source; every key but "name" is one. Zero or several leave `kind`
  // empty, which the gate treats as an unknown (model-capable) kind.
  std::size_t sources = 0;
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (it.key() != "name") {
      ++sources;
      out.kind = it.key();
    }
  }
  if (sources != 1) {
    out.kind.clear();
    return out;
  }
  if (const Json* pvc = crypto::find_field(v, "persistentVolumeClaim"); pvc != nullptr) {
    out.source = VolumeSource::kPersistentVolumeClaim;
    MG_ASSIGN_OR_RETURN(out.claim_name, crypto::get_string(*pvc, "claimName", path + ".persistentVolumeClaim"));
    MG_ASSIGN_OR_RETURN(out.read_only, opt_bool(*pvc, "readOnly", path + ".persistentVolumeClaim"));
  } else if (const Json* hp = crypto::find_field(v, "hostPath"); hp != nullptr) {
    out.source = VolumeSource::kHostPath;
    MG_ASSIGN_OR_RETURN(out.path, crypto::get_string(*hp, "path", path + ".hostPath"));
  } else if (const Json* nfs = crypto::find_field(v, "nfs"); nfs != nullptr) {
    out.source = VolumeSource::kNfs;
    MG_ASSIGN_OR_RETURN(out.server, crypto::get_string(*nfs, "server", path + ".nfs"));
    MG_ASSIGN_OR_RETURN(out.path, crypto::get_string(*nfs, "path", path + ".nfs"));
    MG_ASSIGN_OR_RETURN(out.read_only, opt_bool(*nfs, "readOnly", path + ".nfs"));
  } else if (const Json* csi = crypto::find_field(v, "csi"); csi != nullptr) {
    out.source = VolumeSource::kCsi;
    MG_ASSIGN_OR_RETURN(out.driver, crypto::get_string(*csi, "driver", path + ".csi"));
    MG_ASSIGN_OR_RETURN(out.read_only, opt_bool(*csi, "readOnly", path + ".csi"));
    MG_ASSIGN_OR_RETURN(out.attributes, string_map(*csi, "volumeAttributes", path + ".csi"));
  }
  return out;
}

Result<void> parse_containers(const Json& spec, std::string_view key, ContainerKind kind, const std::string& path,
                              std::vector<Container>& out) {
  MG_ASSIGN_OR_RETURN(const Json* arr, opt_array(spec, key, path, limits::kMaxPodContainers));
  if (arr == nullptr) {
    return ok_status();
  }
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const Json& c = (*arr)[i];
    std::string cpath = join(path, key) + "[" + std::to_string(i) + "]";
    if (!c.is_object()) {
      return make_error(Code::kMalformed, cpath + ": expected an object");
    }
    Container ct;
    ct.kind = kind;
    MG_ASSIGN_OR_RETURN(ct.name, crypto::get_string(c, "name", cpath));
    MG_ASSIGN_OR_RETURN(ct.image, opt_string(c, "image", cpath));
    MG_ASSIGN_OR_RETURN(ct.termination_message_path, opt_string(c, "terminationMessagePath", cpath));
    MG_ASSIGN_OR_RETURN(const Json* mounts, opt_array(c, "volumeMounts", cpath, limits::kMaxVolumeMountsPerContainer));
    if (mounts != nullptr) {
      for (std::size_t j = 0; j < mounts->size(); ++j) {
        const Json& m = (*mounts)[j];
        std::string mpath = cpath + ".volumeMounts[" + std::to_string(j) + "]";
        if (!m.is_object()) {
          return make_error(Code::kMalformed, mpath + ": expected an object");
        }
        VolumeMount vm;
        MG_ASSIGN_OR_RETURN(vm.volume, crypto::get_string(m, "name", mpath));
        MG_ASSIGN_OR_RETURN(vm.mount_path, crypto::get_string(m, "mountPath", mpath));
        MG_ASSIGN_OR_RETURN(vm.sub_path, opt_string(m, "subPath", mpath));
        MG_ASSIGN_OR_RETURN(vm.sub_path_expr, opt_string(m, "subPathExpr", mpath));
        MG_ASSIGN_OR_RETURN(vm.read_only, opt_bool(m, "readOnly", mpath));
        MG_ASSIGN_OR_RETURN(vm.propagation, opt_string(m, "mountPropagation", mpath));
        if (vm.propagation == "None") {
          vm.propagation.clear();
        }
        ct.mounts.push_back(std::move(vm));
      }
    }
    MG_ASSIGN_OR_RETURN(const Json* devices, opt_array(c, "volumeDevices", cpath, limits::kMaxVolumeMountsPerContainer));
    if (devices != nullptr) {
      for (std::size_t j = 0; j < devices->size(); ++j) {
        const Json& d = (*devices)[j];
        std::string dpath = cpath + ".volumeDevices[" + std::to_string(j) + "]";
        if (!d.is_object()) {
          return make_error(Code::kMalformed, dpath + ": expected an object");
        }
        VolumeDevice vd;
        MG_ASSIGN_OR_RETURN(vd.volume, crypto::get_string(d, "name", dpath));
        MG_ASSIGN_OR_RETURN(vd.device_path, opt_string(d, "devicePath", dpath));
        ct.devices.push_back(std::move(vd));
      }
    }
    out.push_back(std::move(ct));
  }
  return ok_status();
}

// add_claim_templates adds a StatefulSet's volumeClaimTemplates as the claims its pods will mount
// (a template replaces a pod volume of the same name, as the controller does).
Result<void> add_claim_templates(const Json& object, const std::string& sts_name, PodTemplate& pod) {
  const Json* spec = crypto::find_field(object, "spec");
  if (spec == nullptr || !spec->is_object()) {
    return {};
  }
  MG_ASSIGN_OR_RETURN(const Json* templates,
                      opt_array(*spec, "volumeClaimTemplates", "spec", limits::kMaxPodVolumes));
  if (templates == nullptr) {
    return {};
  }
  for (std::size_t i = 0; i < templates->size(); ++i) {
    const std::string path = "spec.volumeClaimTemplates[" + std::to_string(i) + "]";
    const Json& t = (*templates)[i];
    const Json* md = t.is_object() ? crypto::find_field(t, "metadata") : nullptr;
    if (md == nullptr || !md->is_object()) {
      return make_error(Code::kMalformed, path + ".metadata: expected an object");
    }
    Volume v;
    MG_ASSIGN_OR_RETURN(v.name, crypto::get_string(*md, "name", path + ".metadata"));
    v.source = VolumeSource::kPersistentVolumeClaim;
    v.kind = "persistentVolumeClaim";
    v.claim_name = v.name + "-" + sts_name + "-0";
    v.claim_template = true;
    auto same = std::find_if(pod.volumes.begin(), pod.volumes.end(), [&](const Volume& x) { return x.name == v.name; });
    if (same != pod.volumes.end()) {
      *same = std::move(v);
    } else {
      if (pod.volumes.size() >= limits::kMaxPodVolumes) {
        return make_error(Code::kLimit, "spec: too many volumes and claim templates (more than " +
                                            std::to_string(limits::kMaxPodVolumes) + ")");
      }
      pod.volumes.push_back(std::move(v));
    }
  }
  return {};
}

Result<PodTemplate> parse_pod_template(const Json& metadata_holder, const Json& spec, const std::string& path) {
  PodTemplate t;
  if (const Json* md = crypto::find_field(metadata_holder, "metadata"); md != nullptr) {
    if (!md->is_object()) {
      return make_error(Code::kMalformed, path + "metadata: expected an object");
    }
    MG_ASSIGN_OR_RETURN(t.labels, string_map(*md, "labels", path + "metadata"));
    MG_ASSIGN_OR_RETURN(t.annotations, string_map(*md, "annotations", path + "metadata"));
  }
  std::string spath = path + "spec";
  if (!spec.is_object()) {
    return make_error(Code::kMalformed, spath + ": expected an object");
  }
  MG_ASSIGN_OR_RETURN(const Json* vols, opt_array(spec, "volumes", spath, limits::kMaxPodVolumes));
  if (vols != nullptr) {
    for (std::size_t i = 0; i < vols->size(); ++i) {
      MG_ASSIGN_OR_RETURN(Volume v, parse_volume((*vols)[i], spath + ".volumes[" + std::to_string(i) + "]"));
      t.volumes.push_back(std::move(v));
    }
  }
  MG_TRY(parse_containers(spec, "initContainers", ContainerKind::kInit, spath, t.containers));
  MG_TRY(parse_containers(spec, "containers", ContainerKind::kRegular, spath, t.containers));
  MG_TRY(parse_containers(spec, "ephemeralContainers", ContainerKind::kEphemeral, spath, t.containers));
  std::size_t mounts = 0;
  for (const Container& c : t.containers) {
    mounts += c.mounts.size() + c.devices.size();
  }
  if (mounts > limits::kMaxPodVolumeMounts) {
    return make_error(Code::kLimit, spath + ": too many volume mounts (" + std::to_string(mounts) + " > " +
                                        std::to_string(limits::kMaxPodVolumeMounts) + ")");
  }
  return t;
}

// Walk `keys` from `root`; each must be an object.
Result<const Json*> descend(const Json& root, std::initializer_list<std::string_view> keys) {
  const Json* cur = &root;
  std::string path;
  for (auto k : keys) {
    path += path.empty() ? std::string(k) : "." + std::string(k);
    const Json* next = crypto::find_field(*cur, k);
    if (next == nullptr) {
      return make_error(Code::kMalformed, path + ": is missing");
    }
    if (!next->is_object()) {
      return make_error(Code::kMalformed, path + ": expected an object");
    }
    cur = next;
  }
  return cur;
}

}  // namespace

bool is_pod_carrying_kind(const GroupVersionKind& gvk) {
  const std::string& k = gvk.kind;
  if (gvk.group.empty()) {
    return k == "Pod" || k == "ReplicationController";
  }
  if (gvk.group == "apps") {
    return k == "Deployment" || k == "StatefulSet" || k == "DaemonSet" || k == "ReplicaSet";
  }
  if (gvk.group == "batch") {
    return k == "Job" || k == "CronJob";
  }
  return false;
}

Result<Workload> extract_workload(const GroupVersionKind& gvk, const crypto::Json& object) {
  if (!object.is_object()) {
    return make_error(Code::kMalformed, "object: expected an object");
  }
  Workload w;
  w.kind = gvk.kind;
  if (const Json* md = crypto::find_field(object, "metadata"); md != nullptr) {
    if (!md->is_object()) {
      return make_error(Code::kMalformed, "metadata: expected an object");
    }
    MG_ASSIGN_OR_RETURN(w.name, opt_string(*md, "name", "metadata"));
    if (w.name.empty()) {
      MG_ASSIGN_OR_RETURN(w.name, opt_string(*md, "generateName", "metadata"));
    }
    MG_ASSIGN_OR_RETURN(w.namespace_name, opt_string(*md, "namespace", "metadata"));
    MG_ASSIGN_OR_RETURN(w.annotations, string_map(*md, "annotations", "metadata"));
  }
  if (!is_pod_carrying_kind(gvk)) {
    return w;
  }
  if (gvk.kind == "Pod") {
    MG_ASSIGN_OR_RETURN(const Json* spec, descend(object, {"spec"}));
    MG_ASSIGN_OR_RETURN(PodTemplate t, parse_pod_template(object, *spec, ""));
    w.pod = std::move(t);
  } else if (gvk.kind == "CronJob") {
    MG_ASSIGN_OR_RETURN(const Json* tmpl, descend(object, {"spec", "jobTemplate", "spec", "template"}));
    MG_ASSIGN_OR_RETURN(const Json* spec, descend(*tmpl, {"spec"}));
    MG_ASSIGN_OR_RETURN(PodTemplate t, parse_pod_template(*tmpl, *spec, "spec.jobTemplate.spec.template."));
    w.pod = std::move(t);
  } else {
    MG_ASSIGN_OR_RETURN(const Json* tmpl, descend(object, {"spec", "template"}));
    MG_ASSIGN_OR_RETURN(const Json* spec, descend(*tmpl, {"spec"}));
    MG_ASSIGN_OR_RETURN(PodTemplate t, parse_pod_template(*tmpl, *spec, "spec.template."));
    w.pod = std::move(t);
    if (gvk.kind == "StatefulSet") {
      MG_TRY(add_claim_templates(object, w.name, *w.pod));
    }
  }
  return w;
}

bool model_relevant_equal(const PodTemplate& a, const PodTemplate& b) {
  // What decides the model bytes a container can read: the volumes, and which container mounts
  // what, where, with which subPath and read-only flag. Images, env, resources, replicas and
  // labels do not (`kubectl set image` or a scale must not re-verify an admitted workload).
  if (a.volumes != b.volumes || a.containers.size() != b.containers.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.containers.size(); ++i) {
    const Container& x = a.containers[i];
    const Container& y = b.containers[i];
    if (x.name != y.name || x.kind != y.kind || x.mounts != y.mounts || x.devices != y.devices) {
      return false;
    }
  }
  return true;
}

}  // namespace modelgate::admission
