// decision.h: one admission decision from every model verdict of a request: enforce-mode failures
// deny with the message kubectl shows (model, volume, source path, policy, one line per failing
// rule); warn mode admits with warnings; audit mode admits and records; a break-glass annotation
// admits where the policy allows it, always audited. Not verification and not HTTP.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "admission/break_glass.h"
#include "admission/model_refs.h"
#include "admission/orchestrator.h"
#include "admission/review_codec.h"
#include "admission/workload.h"

namespace modelgate::admission {

// ModelVerdict pairs a model reference with what verification said about it.
struct ModelVerdict {
  const ModelRef* ref = nullptr;
  VerifyOutcome outcome;
};

// DecisionSummary is what the audit log line and metrics need beyond the response.
struct DecisionSummary {
  std::string decision;  // "allow", "deny", "warn" (allowed with warnings)
  std::string reason;    // first failing reason token ("" when everything passed)
  std::string policy;    // first policy with a problem ("" when none)
  std::string rule;      // first failing rule ("" when none)
  std::string model;     // its model name
  std::string mode;      // that policy's mode ("enforce", "warn", "audit"; "" when none)
  std::vector<std::string> paths;  // every model directory judged
  std::vector<std::string> reasons;         // every failing reason token (metrics)
  std::vector<std::string> break_glass;     // policies overridden by break-glass
  std::string break_glass_reason;           // the override's stated reason (untrusted, sanitised)
  std::string cache;     // "hit" when every verdict came from cache, "miss" otherwise, "" if none
};

struct Decision {
  AdmissionResponse response;
  DecisionSummary summary;
};

// DecisionContext is what the decision needs beyond the verdicts: who asks, the object before an
// UPDATE, the clock, and every policy that matched (a refused break-glass override is judged per
// matched policy, even one with nothing else to say).
struct DecisionContext {
  Requester requester;
  const Workload* old = nullptr;
  std::chrono::system_clock::time_point now{};
  std::vector<const policy::CompiledPolicy*> matched;
  // old_matched: of `matched`, the policies whose scope the old object (UPDATE) was in; only their
  // overrides can be carried from it (an override placed out of scope was never judged).
  std::vector<const policy::CompiledPolicy*> old_matched;
};

// decide_admission combines `verdicts` and `problems` (from find_model_refs) for `workload` into a
// response for request `uid`. Pure; thread-safe.
Decision decide_admission(const std::string& uid, const Workload& workload, const std::vector<ModelVerdict>& verdicts,
                          const std::vector<RefProblem>& problems, const DecisionContext& context);

// describe_model renders `model "x" (volume "v", pvc models, path x)` for messages.
std::string describe_model(const ModelRef& ref);

}  // namespace modelgate::admission
