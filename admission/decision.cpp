#include "admission/decision.h"

#include <algorithm>
#include <map>

#include "base/join.h"
#include "crypto/encoding.h"
#include "policy/diagnostic.h"

namespace modelgate::admission {

namespace {

using policy::quote;

struct Finding {
  const policy::CompiledPolicy* policy;
  std::string subject;                 // "model \"x\" (...)" or "volume \"v\""
  std::string model;                   // model or volume name
  std::vector<policy::RuleResult> rules;  // failing / erroring ones
};

std::string with_ratio(std::uint64_t done, std::uint64_t total) {
  if (total == 0) {
    return "not started within this request's deadline";
  }
  return std::to_string(done) + " of " + std::to_string(total) + " bytes hashed";
}

}  // namespace

std::string describe_model(const ModelRef& ref) {
  return "model " + quote(ref.model_name) + " (volume " + quote(ref.volume) + ", " + sanitize_for_user(ref.volume_desc) +
         ", path " + (ref.path.empty() ? std::string("/") : sanitize_for_user(ref.path)) + ")";
}

Decision decide_admission(const std::string& uid, const Workload& workload, const std::vector<ModelVerdict>& verdicts,
                          const std::vector<RefProblem>& problems, const DecisionContext& ctx) {
  Decision d;
  d.response.uid = uid;
  std::vector<Finding> findings;
  std::vector<std::string> models;
  bool all_hits = !verdicts.empty();
  std::map<const policy::CompiledPolicy*, BreakGlassCheck> glass_checks;
  auto glass_for = [&](const policy::CompiledPolicy* p) -> const BreakGlassCheck& {
    auto it = glass_checks.find(p);
    if (it == glass_checks.end()) {
      const bool judged_before =
          std::find(ctx.old_matched.begin(), ctx.old_matched.end(), p) != ctx.old_matched.end();
      it = glass_checks
               .emplace(p, check_break_glass(p->policy->break_glass, workload, judged_before ? ctx.old : nullptr,
                                             ctx.requester, ctx.now))
               .first;
    }
    return it->second;
  };
  // An override this request placed and that is not honoured is refused at once, model or not.
  for (const policy::CompiledPolicy* p : ctx.matched) {
    const BreakGlassCheck& g = glass_for(p);
    if (g.state == BreakGlassState::kRefused && g.placed) {
      findings.push_back(Finding{p, "break-glass annotation " + quote(p->policy->break_glass.annotation.value),
                                 p->policy->break_glass.annotation.value,
                                 {policy::RuleResult{"break-glass", policy::RuleStatus::kFail, g.token, g.message}}});
    }
  }

  for (const RefProblem& p : problems) {
    findings.push_back(Finding{p.policy, p.volume.empty() ? std::string("the pod") : "volume " + quote(p.volume), p.volume,
                               {policy::RuleResult{p.rule.empty() ? std::string("mount") : p.rule,
                                                   policy::RuleStatus::kFail, p.reason, p.message}}});
  }
  for (const ModelVerdict& mv : verdicts) {
    const ModelRef& ref = *mv.ref;
    d.summary.paths.push_back(ref.dir.string());
    const std::string subject = describe_model(ref);
    all_hits = all_hits && mv.outcome.cache_hit;
    if (mv.outcome.state == VerifyState::kPending) {
      findings.push_back(Finding{ref.policy, subject, ref.model_name,
                                 {policy::RuleResult{"verification", policy::RuleStatus::kError, "verification.pending",
                                                     "model " + quote(ref.model_name) + " is still being verified (" +
                                                         with_ratio(mv.outcome.bytes_done, mv.outcome.bytes_total) +
                                                         "); retry shortly"}}});
      continue;
    }
    if (mv.outcome.state == VerifyState::kOverloaded || !mv.outcome.verdict) {
      findings.push_back(Finding{ref.policy, subject, ref.model_name,
                                 {policy::RuleResult{"verification", policy::RuleStatus::kError,
                                                     "verification.overloaded",
                                                     "cannot verify model " + quote(ref.model_name) +
                                                         " now: too many verifications are queued; retry shortly"}}});
      continue;
    }
    const Verdict& v = *mv.outcome.verdict;
    if (v.root) {
      models.push_back(ref.model_name + "=sha256:" + crypto::to_hex(*v.root));
    }
    Finding f{ref.policy, subject, ref.model_name, {}};
    for (const policy::RuleResult& r : v.evaluation.rules) {
      if (r.status == policy::RuleStatus::kFail || r.status == policy::RuleStatus::kError) {
        f.rules.push_back(r);
      }
    }
    if (!f.rules.empty()) {
      findings.push_back(std::move(f));
    }
  }

  std::string message;
  std::vector<std::string> audit;
  bool denied = false;
  for (const Finding& f : findings) {
    const policy::Policy& p = *f.policy->policy;
    const std::string pname = p.name.value;
    for (const policy::RuleResult& r : f.rules) {
      d.summary.reasons.push_back(r.reason);
    }
    if (d.summary.reason.empty()) {
      d.summary.reason = f.rules.front().reason;
      d.summary.policy = pname;
      d.summary.rule = f.rules.front().rule;
      d.summary.model = f.model;
      d.summary.mode = std::string(policy::mode_name(p.mode.value));
    }
    const BreakGlassCheck& g = glass_for(f.policy);
    if (g.state == BreakGlassState::kHonoured) {
      if (std::find(d.summary.break_glass.begin(), d.summary.break_glass.end(), pname) == d.summary.break_glass.end()) {
        d.summary.break_glass.push_back(pname);
        d.summary.break_glass_reason = sanitize_for_user(g.reason);
        d.response.warnings.push_back("break-glass: policy " + quote(pname) + " overridden (" +
                                      sanitize_for_user(g.reason) + "); this admission is audited");
      }
      audit.push_back(pname + ": break-glass: " + f.rules.front().reason);
      continue;
    }
    std::vector<policy::RuleResult> rules = f.rules;
    if (g.state == BreakGlassState::kRefused && !g.placed) {
      rules.push_back(policy::RuleResult{"break-glass", policy::RuleStatus::kFail, g.token, "not honoured: " + g.message});
      d.summary.reasons.push_back(g.token);
    }
    switch (p.mode.value) {
      case policy::Mode::kEnforce: {
        denied = true;
        if (!message.empty()) {
          message += "\n";
        }
        message += f.subject + " violates policy " + quote(pname) + ":";
        for (const policy::RuleResult& r : rules) {
          message += "\n  - " + r.rule + ": " + r.message;
        }
        break;
      }
      case policy::Mode::kWarn:
        for (const policy::RuleResult& r : f.rules) {
          d.response.warnings.push_back("policy " + quote(pname) + " (warn): " + quote(f.model) + ": " + r.rule + ": " +
                                        r.message);
        }
        audit.push_back(pname + ": warn: " + f.rules.front().reason);
        break;
      case policy::Mode::kAudit:
        audit.push_back(pname + ": audit: " + f.rules.front().reason);
        break;
    }
  }

  if (!models.empty()) {
    d.response.audit_annotations["models"] = join(models, ",");
  }
  if (!d.summary.reason.empty()) {
    d.response.audit_annotations["reason"] = d.summary.reason;
    std::vector<std::string> distinct;
    for (const std::string& r : d.summary.reasons) {
      if (std::find(distinct.begin(), distinct.end(), r) == distinct.end()) {
        distinct.push_back(r);
      }
    }
    d.response.audit_annotations["reasons"] = join(distinct, ",");
  }
  if (!audit.empty()) {
    d.response.audit_annotations["findings"] = join(audit, "; ");
  }
  if (!d.summary.break_glass.empty()) {
    d.response.audit_annotations["break-glass"] = join(d.summary.break_glass, ",");
    d.response.audit_annotations["break-glass-user"] = sanitize_for_user(ctx.requester.username);
    d.response.audit_annotations["break-glass-reason"] = d.summary.break_glass_reason;
  }
  d.summary.cache = verdicts.empty() ? "" : (all_hits ? "hit" : "miss");
  if (denied) {
    d.response.allowed = false;
    d.response.code = 403;
    d.response.message = message;
    d.summary.decision = "deny";
  } else {
    d.response.allowed = true;
    d.response.code = 200;
    d.summary.decision = d.response.warnings.empty() ? "allow" : "warn";
  }
  d.response.audit_annotations["decision"] = d.summary.decision;
  return d;
}

}  // namespace modelgate::admission
