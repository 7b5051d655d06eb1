// evaluate.h: judge one model's verified facts against one policy's BAB rules — signature,
// provenance, reviews, datasets, base models, evaluations, maxAge — into one result per rule with
// a stable reason token and a message a person can act on. Pure: no I/O, cannot fail.
// Not fact gathering (evidence.h) and not the admission decision across models (decision.h).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "policy/facts.h"
#include "policy/trust_material.h"

namespace modelgate::policy {

// RuleStatus (STYLE.md §4): pass; fail (the model violates the rule); error (it could not be
// checked: unreadable model, no trusted time...); skip (not checked because an earlier rule
// already settled it, e.g. nothing is known about an unsigned model's evidence).
enum class RuleStatus { kPass, kFail, kError, kSkip };

// rule_status_name returns "pass", "fail", "error" or "skip".
std::string_view rule_status_name(RuleStatus s);

// RuleResult is one rule's outcome.
struct RuleResult {
  std::string rule;     // "signature", "provenance", "reviews", "datasets", "baseModels",
                        // "evaluations", "maxAge"
  RuleStatus status = RuleStatus::kPass;
  std::string reason;   // stable snake_case token ("signature.digest_mismatch"); "" on pass
  std::string message;  // "<what is wrong> (<expected> vs <found>); <what to do>"; on pass, what held
};

// PolicyEvaluation is a policy's verdict on one model.
struct PolicyEvaluation {
  std::string policy;
  Mode mode = Mode::kEnforce;
  std::vector<RuleResult> rules;  // in the order the rules appear in `require`

  // passed is true when no rule failed or errored.
  bool passed() const;
  // first_problem returns the first failing or erroring rule, or nullptr.
  const RuleResult* first_problem() const;
};

// evaluate judges `facts` (gathered for `policy`) rule by rule. Base models are judged by
// evaluating their own facts against the same policy, recursively. Pure; thread-safe.
PolicyEvaluation evaluate(const CompiledPolicy& policy, const ModelFacts& facts);

}  // namespace modelgate::policy
