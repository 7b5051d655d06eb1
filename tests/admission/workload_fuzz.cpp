// fuzz-dict: json.dict
// fuzz-max-len: 65536
// workload_fuzz.cpp: extract_workload and model_relevant_equal on arbitrary objects. An input that
// decodes as an AdmissionReview is taken with its own kind, object and oldObject; anything else
// is read as a bare object whose kind is picked by its first byte. Properties: never kInternal; a
// workload of a pod-carrying kind has a pod template within kMaxPodVolumes / kMaxPodContainers /
// kMaxVolumeMountsPerContainer, of any other kind none; model_relevant_equal is reflexive and
// symmetric, unchanged by label, annotation and image edits and changed by a volume edit.
#include <cstdint>
#include <string>

#include "admission/review_codec.h"
#include "admission/workload.h"
#include "base/limits.h"
#include "crypto/json.h"
#include "fuzz/fuzz_check.h"

namespace {

using namespace modelgate;
using namespace modelgate::admission;

const GroupVersionKind kKinds[] = {
    {"", "v1", "Pod"},           {"apps", "v1", "Deployment"}, {"apps", "v1", "StatefulSet"},
    {"apps", "v1", "DaemonSet"}, {"apps", "v1", "ReplicaSet"}, {"", "v1", "ReplicationController"},
    {"batch", "v1", "Job"},      {"batch", "v1", "CronJob"},   {"", "v1", "ConfigMap"},
    {"apps", "v1", "Pod"},  // a Pod in the wrong group is not inspected
};

void check_pod(const PodTemplate& p) {
  FUZZ_CHECK(p.volumes.size() <= limits::kMaxPodVolumes, "volumes bound");
  // Init, regular and ephemeral containers are each bounded; together at most three times that.
  FUZZ_CHECK(p.containers.size() <= 3 * limits::kMaxPodContainers, "containers bound");
  for (const auto& c : p.containers) {
    FUZZ_CHECK(c.mounts.size() <= limits::kMaxVolumeMountsPerContainer, "mounts bound");
  }
  FUZZ_CHECK(model_relevant_equal(p, p), "model_relevant_equal is reflexive");

  PodTemplate cosmetic = p;
  cosmetic.labels["fuzz"] = "x";
  cosmetic.annotations["fuzz"] = "y";
  for (auto& c : cosmetic.containers) {
    c.image += ":other";
  }
  FUZZ_CHECK(model_relevant_equal(p, cosmetic), "labels, annotations and images do not matter");
  if (!p.volumes.empty()) {
    PodTemplate moved = p;
    moved.volumes.front().claim_name += "-other";
    moved.volumes.front().path += "/other";
    FUZZ_CHECK(!model_relevant_equal(p, moved) && !model_relevant_equal(moved, p), "a volume edit matters");
  }
}

void check_workload(const GroupVersionKind& gvk, const crypto::Json& object, const char* what) {
  auto w = extract_workload(gvk, object);
  fuzz::check_not_internal(w, what);
  if (!w.ok()) {
    return;
  }
  FUZZ_CHECK(w->kind == gvk.kind, "the workload keeps its kind");
  FUZZ_CHECK(w->pod.has_value() == is_pod_carrying_kind(gvk), "exactly the pod-carrying kinds have a pod template");
  if (w->pod) {
    check_pod(*w->pod);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  auto req = decode_admission_review(text);
  if (req.ok()) {
    if (req->object.is_object()) {
      check_workload(req->kind, req->object, "extract_workload(object)");
    }
    if (req->old_object) {
      check_workload(req->kind, *req->old_object, "extract_workload(oldObject)");
      auto a = extract_workload(req->kind, req->object);
      auto b = extract_workload(req->kind, *req->old_object);
      if (a.ok() && b.ok() && a->pod && b->pod) {
        FUZZ_CHECK(model_relevant_equal(*a->pod, *b->pod) == model_relevant_equal(*b->pod, *a->pod),
                   "model_relevant_equal is symmetric");
      }
    }
    return 0;
  }
  if (size == 0) {
    return 0;
  }
  const GroupVersionKind& gvk = kKinds[data[0] % std::size(kKinds)];
  auto obj = crypto::parse_json(text.substr(1), {limits::kMaxAdmissionReviewBytes, limits::kMaxAdmissionJsonDepth});
  if (obj.ok()) {
    check_workload(gvk, *obj, "extract_workload");
  }
  return 0;
}
