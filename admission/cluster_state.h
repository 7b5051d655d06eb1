// cluster_state.h: what the webhook knows of the cluster, to prove storage identity and to match
// namespaceSelector: PersistentVolumeClaims, PersistentVolumes and Namespaces, either live (three
// informers over the Kubernetes API, read-only) or frozen (the CLI's --cluster-state files, what
// `kubectl get pvc,pv,ns -A -o yaml` prints). And the checks on them: a claim is Bound, to a volume
// whose name the policy allows, and that volume exists and is bound back to that very claim.
// Not policy matching or mount resolution (model_refs.h); nothing here touches model storage.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/log.h"
#include "base/result.h"
#include "kube/informer.h"
#include "kube/objects.h"
#include "policy/document.h"
#include "policy/namespace_selector.h"

namespace modelgate::admission {

// ClusterState is a read-only view of claims, volumes and namespaces. Implementations are
// thread-safe; lookups never block on the network.
class ClusterState {
 public:
  virtual ~ClusterState() = default;
  // synced is false until every resource has been read once (live) — never for a frozen state.
  virtual bool synced() const = 0;
  virtual std::optional<kube::PvcInfo> claim(const std::string& ns, const std::string& name) const = 0;
  virtual std::optional<kube::PvInfo> volume(const std::string& name) const = 0;
  virtual std::optional<kube::NamespaceInfo> find_namespace(const std::string& name) const = 0;
  // remedy says what to do when this state cannot answer (not synced / not given).
  virtual std::string remedy() const = 0;
  // unsynced_reason is the reason token while !synced(): "cluster.not_synced" (live, still
  // reading) or "cluster.state_missing" (the webhook was configured without cluster state).
  virtual std::string unsynced_reason() const { return "cluster.not_synced"; }
  // status is one line for /readyz: "cluster: synced (pvc 3, pv 3, namespaces 7)" or what is missing.
  virtual std::string status() const = 0;
};

// ClusterProblem is why a pod cannot be admitted on cluster facts: `reason` is a stable token
// ("pvc.unknown", "pvc.not_bound", "pvc.volume_mismatch", "pv.missing", "pv.bound_elsewhere",
// "cluster.not_synced", "cluster.state_missing", "namespace.unknown") and `message` says what is
// wrong and what to do (STYLE.md §5).
struct ClusterProblem {
  std::string reason;
  std::string message;
};

// check_claim_binding proves that claim `claim_name` in `ns` is the storage a policy source names:
// the claim exists, is Bound (and not being deleted), its spec.volumeName fully matches
// `volume_name`, and that PersistentVolume exists, is Bound, and its claimRef is this claim (same
// namespace, name and, when both carry one, uid). `state` may be null (no cluster state: the CLI
// without --cluster-state). nullopt: proven. Pure apart from the lookups; thread-safe.
std::optional<ClusterProblem> check_claim_binding(const ClusterState* state, const std::string& ns,
                                                  const std::string& claim_name, const policy::Pattern& volume_name);

// namespace_labels returns the labels of namespace `ns`, or the problem (state null or not synced,
// namespace unknown) that stops a namespaceSelector from being evaluated (callers deny).
Result<std::map<std::string, std::string>> namespace_labels(const ClusterState* state, const std::string& ns,
                                                            ClusterProblem* problem);

// LiveClusterState runs three informers (persistentvolumeclaims, persistentvolumes, namespaces)
// over `client` until destroyed. The service account needs get/list/watch on those three and
// nothing else. Metrics: the informers' counters, for the admission metrics exporter.
class LiveClusterState final : public ClusterState {
 public:
  LiveClusterState(std::shared_ptr<kube::Client> client, kube::InformerOptions opts, log::Logger* logger);
  ~LiveClusterState() override;
  void start();
  void stop();

  bool synced() const override;
  std::optional<kube::PvcInfo> claim(const std::string& ns, const std::string& name) const override;
  std::optional<kube::PvInfo> volume(const std::string& name) const override;
  std::optional<kube::NamespaceInfo> find_namespace(const std::string& name) const override;
  std::string remedy() const override;
  std::string status() const override;

  const kube::InformerMetrics& pvc_metrics() const { return pvcs_.metrics(); }
  const kube::InformerMetrics& pv_metrics() const { return pvs_.metrics(); }
  const kube::InformerMetrics& namespace_metrics() const { return namespaces_.metrics(); }

 private:
  kube::Informer<kube::PvcInfo> pvcs_;
  kube::Informer<kube::PvInfo> pvs_;
  kube::Informer<kube::NamespaceInfo> namespaces_;
};

// DisabledClusterState stands for "the webhook was configured without clusterState": never
// synced, so every claim and namespaceSelector check denies with `remedy`.
class DisabledClusterState final : public ClusterState {
 public:
  explicit DisabledClusterState(std::string remedy) : remedy_(std::move(remedy)) {}
  bool synced() const override { return false; }
  std::optional<kube::PvcInfo> claim(const std::string&, const std::string&) const override { return std::nullopt; }
  std::optional<kube::PvInfo> volume(const std::string&) const override { return std::nullopt; }
  std::optional<kube::NamespaceInfo> find_namespace(const std::string&) const override { return std::nullopt; }
  std::string remedy() const override { return remedy_; }
  std::string unsynced_reason() const override { return "cluster.state_missing"; }
  std::string status() const override { return "cluster: disabled"; }

 private:
  std::string remedy_;
};

// StaticClusterState is a frozen snapshot (CLI). Always "synced".
class StaticClusterState final : public ClusterState {
 public:
  bool synced() const override { return true; }
  std::optional<kube::PvcInfo> claim(const std::string& ns, const std::string& name) const override;
  std::optional<kube::PvInfo> volume(const std::string& name) const override;
  std::optional<kube::NamespaceInfo> find_namespace(const std::string& name) const override;
  std::string remedy() const override;
  std::string status() const override;

  std::map<std::string, kube::PvcInfo> pvcs;  // by "ns/name"
  std::map<std::string, kube::PvInfo> pvs;
  std::map<std::string, kube::NamespaceInfo> namespaces;
  std::vector<std::string> sources;  // the files read
};

// load_cluster_state reads `files`: YAML or JSON, each a `kind: List` (or any *List) with `items`,
// or a single object, in any number of documents; PersistentVolumeClaim, PersistentVolume and
// Namespace objects are kept, other kinds ignored. Bounds: limits::kMaxClusterStateFiles,
// kMaxClusterStateBytes per file, kMaxKubeCacheObjects objects. Errors (with file and object
// index): kIo / kNotFound (unreadable file), kMalformed (not YAML, an object that does not decode),
// kLimit. Thread-safe.
[[nodiscard]] Result<std::shared_ptr<const StaticClusterState>> load_cluster_state(
    const std::vector<std::filesystem::path>& files);

}  // namespace modelgate::admission
