// break_glass.h: whether a break-glass override of one policy is honoured for one request: the
// annotation is present with a reason, placed by a user the policy authorises (allowedUsers /
// allowedGroups) — or carried unchanged from an object such a user admitted, or copied by a
// built-in workload controller from an admitted template — and within its expiry. Not the decision
// itself (decision.h) and not policy parsing (policy/document.h).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "admission/review_codec.h"
#include "admission/workload.h"
#include "policy/document.h"

namespace modelgate::admission {

// Requester is who sent the request (AdmissionReview userInfo, authenticated by the apiserver)
// and what they did.
struct Requester {
  std::string username;
  std::vector<std::string> groups;
  Operation operation = Operation::kCreate;
};

enum class BreakGlassState { kAbsent, kHonoured, kRefused };

// BreakGlassCheck is the outcome for one policy. `placed` is true when this request's user put
// the annotation there (new, or changed since the old object): a refusal of a placed override is
// itself a violation, so that an unauthorised or malformed override is refused at apply time
// instead of lying in a template until a controller copies it.
struct BreakGlassCheck {
  BreakGlassState state = BreakGlassState::kAbsent;
  bool placed = false;
  std::string reason;   // the annotation's value (untrusted; sanitise before echoing)
  std::string token;    // refusal reason token: "break_glass.unauthorized", ".no_reason", ".no_expiry",
                        // ".bad_expiry", ".expired", ".expiry_too_far"
  std::string message;  // why it is refused, for the denial
};

// is_workload_controller is true for the identities the kube-controller-manager uses to create
// Pods, ReplicaSets and Jobs from templates (system:serviceaccount:kube-system:<name>-controller
// for deployment, replicaset, statefulset, daemon-set, job, cronjob and replication; and
// system:kube-controller-manager without per-controller credentials). Pure.
bool is_workload_controller(std::string_view username);

// check_break_glass judges `policy`'s break-glass for `workload` (annotations on the object or its
// pod template), with `old` the object before an UPDATE whose override was judged under this
// policy (nullptr otherwise: a CREATE, or an old object outside the policy's scope), at `now`. An
// override is carried from `old` only when its value and expiry are unchanged and so are the
// models the pod template can read (model_relevant_equal). Pure.
BreakGlassCheck check_break_glass(const policy::BreakGlass& policy, const Workload& workload, const Workload* old,
                                  const Requester& requester, std::chrono::system_clock::time_point now);

// break_glass_annotations_equal is true when `a` and `b` carry the same values (or absence) for
// every key in `keys` plus policy::kBreakGlassExpiresAnnotation, on the object and its template.
// An UPDATE that changes one is judged even when nothing else model-relevant changed. Pure.
bool break_glass_annotations_equal(const Workload& a, const Workload& b, const std::vector<std::string>& keys);

}  // namespace modelgate::admission
