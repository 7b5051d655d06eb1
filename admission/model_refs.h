// model_refs.h: what a matched pod's containers can read, per matching policy. Every mount is
// resolved to its effective path (volume path + subPath, canonicalised as the kubelet resolves it)
// and is either claimed by a policy source (a model directory to verify, mapped to the local path
// where the webhook reads the same storage), of a kind the policy admits as "not a model"
// (otherVolumes), or a problem that denies the pod: an unclaimed volume, a mount that exposes a
// parent of a model store, a mount laid over a model mount (overlay), a subPathExpr. Pure: nothing
// is opened except by open_model_dir. Not verification (orchestrator.h).
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "admission/cluster_state.h"
#include "admission/workload.h"
#include "base/result.h"
#include "policy/trust_material.h"

namespace modelgate::admission {

// ModelRef is one model directory one policy must judge.
struct ModelRef {
  const policy::CompiledPolicy* policy = nullptr;
  const policy::Source* source = nullptr;
  std::string volume;       // pod volume name
  std::string volume_desc;  // "pvc models", "hostPath /var/lib/m", "nfs nfs.acme:/exports", "csi driver"
  std::string path;         // path inside the source (volume offset + subPath; "" = its root)
  std::filesystem::path dir;  // source.root / path, lexically: what the webhook reads
  std::string model_name;   // last component of `path`, or the volume name
  std::vector<std::string> containers;  // containers that mount it
  std::vector<std::string> writable;    // of those, the ones that mount it writable
};

// RefProblem is a volume or mount that denies the pod under `policy` (fail closed). Reasons:
// "mount.sub_path_expr", "mount.bad_sub_path", "mount.bad_path", "mount.bad_mount_path",
// "mount.writable", "mount.exposes_source" (a parent of a source root: mount the model directory
// instead), "mount.overlay" (a mount at or under a model mount's path, other than that model),
// "mount.propagation" (Bidirectional on a model mount), "volume.unclaimed" (no source claims it
// and its kind is not in otherVolumes.allow), "volume.too_many_models" (limits::kMaxModelRefsPerObject),
// "mount.more_problems" (the count past limits::kMaxReportedMountProblems).
// Cluster facts add (rule "claim-binding"): the ClusterProblem reasons of check_claim_binding for
// a claimed persistentVolumeClaim volume, "pvc.volume_name_missing" (the source has no volumeName),
// and (rule "namespace-selector") the namespace_labels problems when a policy's namespaceSelector
// cannot be evaluated. An ephemeral volume (its claim is created after admission, so its binding
// cannot be proven) is "volume.unclaimed" unless otherVolumes.allow names "ephemeral".
struct RefProblem {
  const policy::CompiledPolicy* policy = nullptr;
  std::string volume;
  std::string container;
  std::string reason;
  std::string message;
  std::string rule = "mount";  // the rule named in the deny message
};

struct ModelRefs {
  std::vector<const policy::CompiledPolicy*> matched;  // policies whose match selects the pod
  std::vector<ModelRef> refs;                           // deduplicated by (policy, dir)
  std::vector<RefProblem> problems;
};

// policy_matches is true when the namespace matches one of match.namespaces (or none are given)
// and every label matcher matches the pod's labels. It does not evaluate match.namespaceSelector
// (that needs the Namespace's labels: find_model_refs). Pure.
bool policy_matches(const policy::Policy& policy, const std::string& namespace_name,
                    const std::map<std::string, std::string>& labels);

// effective_path joins a volume's own path (hostPath/NFS path, or "/" for a claim or CSI volume)
// with a mount's subPath and canonicalises the result as the kubelet and mount(8) resolve it:
// "//" and "/./" collapse, a trailing "/" is ignored. nullopt when the result would contain ".."
// or is not a valid path. Pure.
std::optional<std::string> effective_path(std::string_view volume_path, std::string_view sub_path);

// find_model_refs resolves `pod` (of a workload in `namespace_name`) against every policy of
// `policies`: for each matching policy, each mount is claimed by the policy's first claiming
// source, admitted as "not a model", or reported as a problem (see RefProblem). `cluster` answers
// namespaceSelector (the Namespace's labels) and proves every claimed persistentVolumeClaim's
// binding (check_claim_binding); null means no cluster state at all, which denies both (CLI
// without --cluster-state). A policy whose namespaceSelector cannot be evaluated counts as
// matching, with a problem, when the pod has volumes it would judge. Cost is O(m log m) in the
// number of mounts m (bounded by limits::kMaxPodVolumeMounts) per policy, plus cache lookups.
// Nothing is opened or fetched. Thread-safe.
ModelRefs find_model_refs(const PodTemplate& pod, const std::string& namespace_name,
                          const policy::TrustedPolicySet& policies, const ClusterState* cluster);

// open_model_dir checks that `ref.dir` exists, is a directory (not a single file: the signature
// file lives inside it), and that its real path lies inside
// the real path of the source root (a symlink inside the volume cannot point the webhook at other
// storage). Errors: kNotFound, kIo, kUntrusted (escapes the root). Thread-safe.
[[nodiscard]] Result<std::filesystem::path> open_model_dir(const ModelRef& ref);

}  // namespace modelgate::admission
