// orchestrator_fixture.h: signed models on two PVC-backed sources of one policy, the ModelRefs a
// pod mounting them yields, and orchestrator options for tests (shared by the orchestrator tests).
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <string>

#include "admission/model_refs.h"
#include "admission/orchestrator.h"
#include "admission/workload.h"
#include "policy/evidence_fixtures.h"
#include "test_support.h"

namespace modelgate::testing {

// Setup is one signed model "m" on the PVC "models" (source s, storage pvc/) and the ModelRef a
// pod mounting it yields; ref_for() makes refs for other subPaths and for the PVC "other"
// (source t, storage pvc2/).
struct Setup {
  TempDir tmp;
  evidence::KeyPair team = evidence::make_key(tmp / "keys", "team");
  std::shared_ptr<const policy::TrustedPolicySet> set;
  // No claims: the refs are what these tests verify; the claim-binding problems are not looked at.
  admission::StaticClusterState cluster;
  admission::ModelRefs refs;

  explicit Setup(std::size_t weight_bytes = 50'000) {
    evidence::write_model(tmp / "pvc" / "m", 3, weight_bytes);
    evidence::sign(tmp / "pvc" / "m", team);
    std::filesystem::create_directories(tmp / "pvc2");
    set = evidence::load_policies(tmp.path(), R"(apiVersion: modelgate.dev/v1alpha1
kind: ModelPolicy
metadata: {name: p}
spec:
  match: {namespaces: [ns]}
  sources:
  - {name: s, pvc: {claimName: "^models$"}, root: )" + (tmp / "pvc").string() + R"(}
  - {name: t, pvc: {claimName: "^other$"}, root: )" + (tmp / "pvc2").string() + R"(}
  trust: {signers: [{name: team, publicKey: keys/team.pub}]}
  require: {signature: {signers: [team]}}
)");
    refs = refs_for("models", "m");
    REQUIRE(refs.refs.size() == 1);
  }

  admission::ModelRefs refs_for(const std::string& claim, const std::string& sub_path) const {
    admission::PodTemplate pod;
    admission::Volume v;
    v.name = "w";
    v.source = admission::VolumeSource::kPersistentVolumeClaim;
    v.claim_name = claim;
    pod.volumes.push_back(v);
    admission::Container c;
    c.name = "c";
    c.mounts.push_back(admission::VolumeMount{"w", "/m", sub_path, "", "", true});
    pod.containers.push_back(c);
    return admission::find_model_refs(pod, "ns", *set, &cluster);
  }
  const admission::ModelRef& ref() const { return refs.refs.front(); }
};

inline std::chrono::steady_clock::time_point later() { return std::chrono::steady_clock::now() + std::chrono::seconds(60); }

// trusting() caches what the tests themselves just wrote: no settle interval and no revalidation
// window (the tests about those set them).
inline admission::OrchestratorOptions trusting() {
  admission::OrchestratorOptions o;
  o.settle_interval = std::chrono::seconds(0);
  o.revalidate_window = std::chrono::seconds(0);
  return o;
}

}  // namespace modelgate::testing
