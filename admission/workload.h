// workload.h: find the pod spec inside any workload kind the webhook handles and type the parts
// that matter for models: volumes (by source), containers and their mounts, labels, annotations.
// Not model resolution: which volumes hold models is decided by policy sources (model_refs.h).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "admission/review_codec.h"
#include "base/result.h"

namespace modelgate::admission {

enum class VolumeSource { kPersistentVolumeClaim, kHostPath, kNfs, kCsi, kOther };

// Volume is one pod volume, typed for the sources models live on. `kind` is the volume source's
// key as the API writes it ("persistentVolumeClaim", "hostPath", "emptyDir", "image", ...), for
// every volume, known to us or not; "" when the volume names no source or several (the apiserver
// validates one, but the webhook does not rely on it: such a volume is judged model-capable).
struct Volume {
  std::string name;
  VolumeSource source = VolumeSource::kOther;
  std::string kind;
  std::string claim_name;  // PVC
  std::string path;        // hostPath path, NFS export path
  std::string server;      // NFS server
  std::string driver;      // CSI driver
  std::map<std::string, std::string> attributes;  // CSI volumeAttributes
  bool read_only = false;  // set on the source (pvc.readOnly, nfs.readOnly, csi.readOnly)
  // claim_template: a StatefulSet's volumeClaimTemplates entry. Each replica gets its own claim,
  // "<name>-<statefulset>-<ordinal>", created by the controller; claim_name is replica 0's. The
  // replicas' pods are judged with their real claims when the controller creates them.
  bool claim_template = false;
  bool operator==(const Volume&) const = default;
};

enum class ContainerKind { kInit, kRegular, kEphemeral };

struct VolumeMount {
  std::string volume;
  std::string mount_path;
  std::string sub_path;       // "" when absent
  std::string sub_path_expr;  // "" when absent; cannot be resolved statically
  std::string propagation;    // mountPropagation: "" (None), "HostToContainer", "Bidirectional"
  bool read_only = false;
  bool operator==(const VolumeMount&) const = default;
};

// VolumeDevice is a raw block device a container reads from a volume (volumeDevices).
struct VolumeDevice {
  std::string volume;
  std::string device_path;
  bool operator==(const VolumeDevice&) const = default;
};

struct Container {
  std::string name;
  ContainerKind kind = ContainerKind::kRegular;
  std::string image;
  // terminationMessagePath: the kubelet bind-mounts a fresh, container-writable file there ("" when
  // absent: the default /dev/termination-log). At a model's path it would replace a verified file.
  std::string termination_message_path;
  std::vector<VolumeMount> mounts;
  std::vector<VolumeDevice> devices;
  bool operator==(const Container&) const = default;
};

// PodTemplate is the pod spec of a workload with the metadata that policies look at.
struct PodTemplate {
  std::vector<Volume> volumes;
  std::vector<Container> containers;  // init, regular, ephemeral, in spec order
  std::map<std::string, std::string> labels;       // pod (template) labels
  std::map<std::string, std::string> annotations;  // pod (template) annotations
};

// Workload is what the request is about: its kind and identity, the object's own annotations
// (break-glass may be set on a Deployment) and the pod template, if the kind carries one.
struct Workload {
  std::string kind;  // "Pod", "Deployment", ...
  std::string name;
  std::string namespace_name;
  std::map<std::string, std::string> annotations;  // the object's metadata.annotations
  std::optional<PodTemplate> pod;                  // nullopt for kinds we do not inspect
};

// is_pod_carrying_kind is true for Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet,
// ReplicationController, Job and CronJob (matched on group too: core/apps/batch).
bool is_pod_carrying_kind(const GroupVersionKind& gvk);

// extract_workload types `object` (an AdmissionRequest object or oldObject) of kind `gvk`.
// Errors: kMalformed with a JSON path ("spec.template.spec.volumes[2].name: expected a string"),
// kLimit (too many volumes, containers or mounts). Kinds we do not inspect yield pod = nullopt.
[[nodiscard]] Result<Workload> extract_workload(const GroupVersionKind& gvk, const crypto::Json& object);

// model_relevant_equal is true when two pod templates agree on everything that decides which
// model bytes the containers can read: the volumes and each container's name, kind and mounts.
// A scale, label, annotation or image change leaves it true, so an admitted workload is not
// re-verified or denied on UPDATE.
bool model_relevant_equal(const PodTemplate& a, const PodTemplate& b);

}  // namespace modelgate::admission
