#include <catch2/catch.hpp>

#include <filesystem>

#include "admission/review_codec.h"
#include "admission/workload.h"
#include "test_support.h"

using modelgate::Code;
namespace admission = modelgate::admission;
using modelgate::testing::read_file;
using modelgate::testing::vectors_dir;

namespace {

admission::AdmissionRequest load(const std::string& name) {
  auto r = admission::decode_admission_review(read_file(vectors_dir() / "admission" / name));
  REQUIRE(r.ok());
  return std::move(r).value();
}

admission::Workload workload_of(const std::string& name) {
  auto req = load(name);
  auto w = admission::extract_workload(req.kind, req.object);
  REQUIRE(w.ok());
  return std::move(w).value();
}

}  // namespace

// Expected values below are read off ../shared/vectors/admission/manifests/*.yaml by hand.

TEST_CASE("a pod with a PVC subPath mount, an init container and an emptyDir is typed", "[admission]") {
  auto w = workload_of("pod-create-llm-server.json");
  REQUIRE(w.kind == "Pod");
  REQUIRE(w.pod.has_value());
  const auto& p = *w.pod;
  REQUIRE(p.labels.at("app") == "llm");
  REQUIRE(p.annotations.at("team") == "ml-platform");
  const admission::Volume* weights = nullptr;
  for (const auto& v : p.volumes) {
    if (v.name == "weights") {
      weights = &v;
    }
  }
  REQUIRE(weights != nullptr);
  REQUIRE(weights->source == admission::VolumeSource::kPersistentVolumeClaim);
  REQUIRE(weights->claim_name == "models");
  REQUIRE(weights->read_only);
  bool saw_server = false, saw_init = false;
  for (const auto& c : p.containers) {
    if (c.name == "server") {
      saw_server = true;
      REQUIRE(c.kind == admission::ContainerKind::kRegular);
      REQUIRE(c.mounts.at(0).volume == "weights");
      REQUIRE(c.mounts.at(0).sub_path == "llama-3-8b");
      REQUIRE(c.mounts.at(0).mount_path == "/models/llama");
      REQUIRE(c.mounts.at(0).read_only);
    }
    if (c.name == "warm") {
      saw_init = true;
      REQUIRE(c.kind == admission::ContainerKind::kInit);
    }
  }
  REQUIRE(saw_server);
  REQUIRE(saw_init);
}

TEST_CASE("every workload kind yields its pod template", "[admission]") {
  struct Case {
    const char* file;
    const char* kind;
    admission::VolumeSource source;
    const char* detail;
  } cases[] = {
      {"deployment-create-llm-server.json", "Deployment", admission::VolumeSource::kHostPath, "/var/lib/models/llama-3-8b"},
      {"daemonset-create-edge-infer.json", "DaemonSet", admission::VolumeSource::kHostPath, "/var/lib/models/edge"},
      {"statefulset-create-triton.json", "StatefulSet", admission::VolumeSource::kNfs, "/exports/models"},
      {"job-create-batch-infer.json", "Job", admission::VolumeSource::kCsi, "gcsfuse.csi.storage.gke.io"},
      {"cronjob-create-nightly-eval.json", "CronJob", admission::VolumeSource::kPersistentVolumeClaim, "models"},
      {"replicaset-create-llm-server-6c468cbb5c.json", "ReplicaSet", admission::VolumeSource::kHostPath, ""},
  };
  for (const auto& c : cases) {
    INFO(c.file);
    auto w = workload_of(c.file);
    REQUIRE(w.kind == c.kind);
    REQUIRE(w.pod.has_value());
    REQUIRE_FALSE(w.pod->volumes.empty());
    const auto& v = w.pod->volumes.front();
    REQUIRE(v.source == c.source);
    switch (c.source) {
      case admission::VolumeSource::kHostPath:
        if (*c.detail) {
          REQUIRE(v.path == c.detail);
        }
        break;
      case admission::VolumeSource::kNfs:
        REQUIRE(v.server == "nfs.example.com");
        REQUIRE(v.path == c.detail);
        break;
      case admission::VolumeSource::kCsi:
        REQUIRE(v.driver == c.detail);
        REQUIRE(v.attributes.at("bucketName") == "acme-models");
        REQUIRE(v.read_only);
        break;
      case admission::VolumeSource::kPersistentVolumeClaim:
        REQUIRE(v.claim_name == c.detail);
        break;
      default:
        FAIL("unexpected source");
    }
  }
}

TEST_CASE("a statefulset mount with subPathExpr is kept for the resolver to refuse", "[admission]") {
  auto w = workload_of("statefulset-create-triton.json");
  REQUIRE(w.pod->containers.at(0).mounts.at(0).sub_path_expr == "$(POD_NAME)");
}

TEST_CASE("a label-only pod update leaves the model-relevant template unchanged", "[admission]") {
  auto req = load("pod-update-llm-server.json");
  auto now = admission::extract_workload(req.kind, req.object);
  auto before = admission::extract_workload(req.kind, *req.old_object);
  REQUIRE(now.ok());
  REQUIRE(before.ok());
  REQUIRE(admission::model_relevant_equal(*now->pod, *before->pod));
}

TEST_CASE("an image-only deployment update leaves the model-relevant template unchanged", "[admission]") {
  auto req = load("deployment-update-llm-server.json");
  auto now = admission::extract_workload(req.kind, req.object);
  auto before = admission::extract_workload(req.kind, *req.old_object);
  REQUIRE(now.ok());
  REQUIRE(before.ok());
  REQUIRE(now->pod->containers.at(0).image != before->pod->containers.at(0).image);
  REQUIRE(admission::model_relevant_equal(*now->pod, *before->pod));
}

TEST_CASE("changing a mount's subPath or a volume's claim is a model-relevant change", "[admission]") {
  auto w = workload_of("pod-create-llm-server.json");
  auto changed = *w.pod;
  changed.containers.back().mounts.at(0).sub_path = "other-model";
  REQUIRE_FALSE(admission::model_relevant_equal(*w.pod, changed));
  auto changed2 = *w.pod;
  changed2.volumes.at(0).claim_name = "other-claim";
  REQUIRE_FALSE(admission::model_relevant_equal(*w.pod, changed2));
}

TEST_CASE("kinds that carry no pod template are typed without one", "[admission]") {
  admission::GroupVersionKind cm{"", "v1", "ConfigMap"};
  auto w = admission::extract_workload(cm, modelgate::crypto::Json::parse(R"({"metadata":{"name":"x"}})"));
  REQUIRE(w.ok());
  REQUIRE_FALSE(w->pod.has_value());
  REQUIRE_FALSE(admission::is_pod_carrying_kind({"example.com", "v1", "Deployment"}));
}

TEST_CASE("malformed pod specs are rejected with the JSON path of the defect", "[admission]") {
  admission::GroupVersionKind pod{"", "v1", "Pod"};
  struct Case {
    const char* object;
    const char* text;
  } cases[] = {
      {R"({"metadata":{}})", "spec: is missing"},
      {R"({"spec":{"volumes":{}}})", "spec.volumes: expected an array"},
      {R"({"spec":{"volumes":[{"name":3}]}})", "spec.volumes[0].name: expected a string"},
      {R"({"spec":{"containers":[{"name":"c","volumeMounts":[{"name":"v"}]}]}})",
       "spec.containers[0].volumeMounts[0].mountPath: is missing"},
      {R"({"spec":{"volumes":[{"name":"v","persistentVolumeClaim":{}}]}})",
       "spec.volumes[0].persistentVolumeClaim.claimName: is missing"},
  };
  for (const auto& c : cases) {
    INFO(c.object);
    auto w = admission::extract_workload(pod, modelgate::crypto::Json::parse(c.object));
    REQUIRE_FALSE(w.ok());
    CHECK(w.error().code == Code::kMalformed);
    CHECK_THAT(w.error().message, Catch::Contains(c.text));
  }
}
