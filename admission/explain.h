// explain.h: the account of one admission decision for people (`review --explain`, `policy test
// --explain`): which policies matched the pod and why the others did not, which volumes hold
// models, and for each model every rule that ran with what it found — for allows as well as
// denies. Not the decision itself (webhook.h, decision.h): it only reads what the decision path
// recorded in a DecisionTrace.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "admission/model_refs.h"
#include "admission/orchestrator.h"
#include "admission/workload.h"
#include "policy/trust_material.h"

namespace modelgate::admission {

// DecisionTrace is what Webhook::decide records when asked to (a null trace records nothing).
// `set` keeps the policies `refs` points into alive. Filled on the deciding thread; not shared.
struct DecisionTrace {
  std::string namespace_name;
  // skip_reason is the webhook's reason for not judging models ("no_matching_policy",
  // "no_model_volumes", "kind_not_checked", ...), "" when models were judged.
  std::string skip_reason;
  std::shared_ptr<const policy::TrustedPolicySet> set;
  std::optional<PodTemplate> pod;
  ModelRefs refs;
  std::vector<VerifyOutcome> outcomes;  // one per refs.refs, in order
};

// format_explanation renders `trace` as indented lines (each starting with `indent`, ending in
// '\n'): "no policy matched: namespace "batch" / volume "w" (pvc models)" and why per policy; or
// per matched policy its model volumes, unclaimed volumes and mount problems, and per model every
// rule as "<rule>: <pass|fail|error|skip>: [<reason>: ]<message>". Untrusted names are quoted.
// Pure.
std::string format_explanation(const DecisionTrace& trace, const std::string& indent);

}  // namespace modelgate::admission
