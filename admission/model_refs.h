// model_refs.h: which model directories a workload's containers can read, per matching policy:
// each pod volume a policy source claims (PVC claim, hostPath prefix, NFS export, CSI driver),
// joined with every init, regular and ephemeral container that mounts it (+ subPath), mapped to
// the local path where the webhook reads the same storage. Not verification (orchestrator.h).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

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

// RefProblem is a model volume that cannot be judged statically (fail closed): subPathExpr, a
// hostile subPath, a writable mount where the source requires read-only.
struct RefProblem {
  const policy::CompiledPolicy* policy = nullptr;
  std::string volume;
  std::string container;
  std::string reason;   // "mount.sub_path_expr", "mount.bad_sub_path", "mount.writable"
  std::string message;
};

struct ModelRefs {
  std::vector<const policy::CompiledPolicy*> matched;  // policies whose match selects the pod
  std::vector<ModelRef> refs;                           // deduplicated by (policy, dir)
  std::vector<RefProblem> problems;
};

// policy_matches is true when the namespace matches one of match.namespaces and every label
// matcher matches the pod's labels. Pure.
bool policy_matches(const policy::Policy& policy, const std::string& namespace_name,
                    const std::map<std::string, std::string>& labels);

// find_model_refs resolves `pod` (of a workload in `namespace_name`) against every policy of
// `policies`: for each matching policy, each volume claimed by the policy's first matching source
// and each container mounting it. Pure (nothing is opened). Thread-safe.
ModelRefs find_model_refs(const PodTemplate& pod, const std::string& namespace_name,
                          const policy::TrustedPolicySet& policies);

// open_model_dir checks that `ref.dir` exists, is a directory (not a single file: the signature
// file lives inside it), and that its real path lies inside
// the real path of the source root (a symlink inside the volume cannot point the webhook at other
// storage). Errors: kNotFound, kIo, kUntrusted (escapes the root). Thread-safe.
[[nodiscard]] Result<std::filesystem::path> open_model_dir(const ModelRef& ref);

}  // namespace modelgate::admission
