// cluster_fixture.h: cluster state for the integration tests, always derived from the real
// kube-apiserver captures in ../shared/vectors/kube-api/ (never written by hand). The captures hold
// namespace ml-prod with claim "models" bound both ways to PersistentVolume "models-ro-pv", claim
// "other" bound to "scratch-pv", and team-a/models Pending. Every transformation is a plain text or
// field substitution on those bytes, named where it is made.
#pragma once

#include <filesystem>
#include <string>

#include "crypto/encoding.h"
#include "test_support.h"

namespace modelgate::testing {

// rename_all substitutes every `from` in `s` (from non-empty).
inline std::string rename_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t i = s.find(from); i != std::string::npos; i = s.find(from, i + to.size())) {
    s.replace(i, from.size(), to);
  }
  return s;
}

// kube_capture reads ../shared/vectors/kube-api/<name>.
inline std::string kube_capture(const std::string& name) {
  return read_file(std::filesystem::path(MODELGATE_SHARED_DIR) / "vectors" / "kube-api" / name);
}

// write_cluster_state writes dir/cluster-state.yaml: the captured claim, volume and namespace lists
// as three YAML documents (JSON is YAML), what `kubectl get pvc,pv,ns -A -o yaml` gives for the
// same objects, with every occurrence of the namespace name "ml-prod" replaced by `ns` (claims,
// the volumes' claimRefs and the Namespace itself move together).
inline std::filesystem::path write_cluster_state(const std::filesystem::path& dir, const std::string& ns) {
  const std::filesystem::path out = dir / "cluster-state.yaml";
  write_file(out, rename_all(kube_capture("list-pvcs.json"), "ml-prod", ns) + "\n---\n" +
                      rename_all(kube_capture("list-pvs.json"), "ml-prod", ns) + "\n---\n" +
                      rename_all(kube_capture("list-namespaces.json"), "ml-prod", ns) + "\n");
  return out;
}

// write_kubeconfig writes a kubeconfig for a server on 127.0.0.1:port trusting `ca_pem`, with a
// static bearer token: what `serve` reads when clusterState.kubeconfig is set.
inline std::filesystem::path write_kubeconfig(const std::filesystem::path& dir, std::uint16_t port,
                                              const std::string& ca_pem, const std::string& token) {
  const std::string ca = crypto::base64_encode(
      std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(ca_pem.data()), ca_pem.size()));
  const std::filesystem::path out = dir / "kubeconfig";
  write_file(out, "apiVersion: v1\nkind: Config\ncurrent-context: replay\nclusters:\n- name: replay\n  cluster:\n"
                  "    server: https://127.0.0.1:" + std::to_string(port) + "\n    certificate-authority-data: " + ca +
                  "\nusers:\n- name: modelgate\n  user:\n    token: " + token +
                  "\ncontexts:\n- name: replay\n  context: {cluster: replay, user: modelgate}\n");
  return out;
}

}  // namespace modelgate::testing
