// objects.h: the few fields modelgate keeps of PersistentVolumeClaims, PersistentVolumes and
// Namespaces, decoded from API JSON with every string bounded. Keeping only these is what keeps
// an informer of 10k claims small (docs/install.md). Not the API types: everything else is
// dropped, and nothing here decides anything about models or policies.
#pragma once

#include <map>
#include <string>

#include "base/result.h"
#include "crypto/json.h"

namespace modelgate::kube {

// PvcInfo is a PersistentVolumeClaim: metadata.namespace/name/uid, status.phase ("Bound",
// "Pending", "Lost"; "" when absent), spec.volumeName ("" when unbound), and whether
// metadata.deletionTimestamp is set.
struct PvcInfo {
  std::string ns;
  std::string name;
  std::string uid;
  std::string phase;
  std::string volume_name;
  bool deleting = false;

  // key is "namespace/name".
  std::string key() const { return ns + "/" + name; }
  // from_json decodes an object of kind PersistentVolumeClaim (kind may be absent, as in list
  // items). Errors: kMalformed (no metadata.name/namespace, a field of the wrong type), kLimit (a
  // name over limits::kMaxKubeNameBytes, another string over kMaxKubeFieldBytes).
  [[nodiscard]] static Result<PvcInfo> from_json(const crypto::Json& obj);
};

// PvInfo is a PersistentVolume: name, uid, status.phase, spec.claimRef (namespace/name/uid, empty
// when unclaimed), and the storage it points at: one of csi (driver, volumeHandle), nfs (server,
// path) or hostPath (path); all empty for other kinds.
struct PvInfo {
  std::string name;
  std::string uid;
  std::string phase;
  std::string claim_ns;
  std::string claim_name;
  std::string claim_uid;
  std::string csi_driver;
  std::string csi_volume_handle;
  std::string nfs_server;
  std::string nfs_path;
  std::string host_path;

  std::string key() const { return name; }
  // from_json: as PvcInfo::from_json (cluster-scoped: no namespace).
  [[nodiscard]] static Result<PvInfo> from_json(const crypto::Json& obj);
};

// NamespaceInfo is a Namespace: its name and labels (at most limits::kMaxKubeLabels).
struct NamespaceInfo {
  std::string name;
  std::map<std::string, std::string> labels;

  std::string key() const { return name; }
  // from_json: as PvcInfo::from_json; kLimit also for too many labels or a label over
  // limits::kMaxKubeLabelBytes.
  [[nodiscard]] static Result<NamespaceInfo> from_json(const crypto::Json& obj);
};

}  // namespace modelgate::kube
