// explain.cpp: rendering a DecisionTrace for people (explain.h).
#include "admission/explain.h"

#include <algorithm>

#include "admission/decision.h"
#include "crypto/encoding.h"
#include "policy/diagnostic.h"
#include "policy/evaluate.h"

namespace modelgate::admission {

namespace {

using policy::quote;

// volume_desc describes a pod volume by its source, as the policies' sources see it.
std::string volume_desc(const Volume& v) {
  switch (v.source) {
    case VolumeSource::kPersistentVolumeClaim: return "pvc " + quote(v.claim_name);
    case VolumeSource::kHostPath: return "hostPath " + quote(v.path);
    case VolumeSource::kNfs: return "nfs " + quote(v.server + ":" + v.path);
    case VolumeSource::kCsi: return "csi " + quote(v.driver);
    case VolumeSource::kOther: return v.kind.empty() ? std::string("other") : quote(v.kind);
  }
  return "other";
}

std::string volumes_line(const PodTemplate& pod) {
  if (pod.volumes.empty()) {
    return "no volumes";
  }
  std::string out;
  for (std::size_t i = 0; i < pod.volumes.size() && i < 8; ++i) {
    out += (i == 0 ? "volume " : ", volume ") + quote(pod.volumes[i].name) + " (" + volume_desc(pod.volumes[i]) + ")";
  }
  if (pod.volumes.size() > 8) {
    out += ", and " + std::to_string(pod.volumes.size() - 8) + " more";
  }
  return out;
}

// why_not_matched says which part of `p.match` the pod misses.
std::string why_not_matched(const policy::Policy& p, const std::string& ns, const PodTemplate& pod) {
  const bool ns_ok = p.match.namespaces.empty() ||
                     std::any_of(p.match.namespaces.begin(), p.match.namespaces.end(),
                                 [&](const policy::Pattern& pat) { return pat.matches(ns); });
  if (!ns_ok) {
    std::string pats;
    for (const policy::Pattern& pat : p.match.namespaces) {
      pats += (pats.empty() ? "" : ", ") + quote(pat.source);
    }
    return "namespace " + quote(ns) + " matches none of " + pats;
  }
  for (const policy::LabelMatcher& m : p.match.labels) {
    auto it = pod.labels.find(m.key.value);
    std::string want;
    if (const auto* exact = std::get_if<policy::Located<std::string>>(&m.value)) {
      want = quote(exact->value);
    } else {
      want = "pattern " + quote(std::get<policy::Pattern>(m.value).source);
    }
    if (it == pod.labels.end()) {
      return "the pod has no label " + quote(m.key.value) + " (needs " + want + ")";
    }
    bool ok = std::holds_alternative<policy::Located<std::string>>(m.value)
                  ? std::get<policy::Located<std::string>>(m.value).value == it->second
                  : std::get<policy::Pattern>(m.value).matches(it->second);
    if (!ok) {
      return "label " + quote(m.key.value) + " is " + quote(it->second) + " (needs " + want + ")";
    }
  }
  if (p.match.namespace_selector) {
    return "the labels of namespace " + quote(ns) + " do not match namespaceSelector " +
           quote(p.match.namespace_selector->describe());
  }
  return "it does not match";
}

void rules(std::string& out, const std::string& indent, const policy::PolicyEvaluation& e) {
  for (const policy::RuleResult& r : e.rules) {
    out += indent + r.rule + ": " + std::string(policy::rule_status_name(r.status)) + ": " +
           (r.reason.empty() ? "" : r.reason + ": ") + r.message + "\n";
  }
  if (e.rules.empty()) {
    out += indent + "(the policy requires nothing)\n";
  }
}

}  // namespace

std::string format_explanation(const DecisionTrace& t, const std::string& indent) {
  std::string out;
  const std::string in2 = indent + "  ";
  const std::string in3 = in2 + "  ";
  if (!t.pod) {
    out += indent + "not checked: " + (t.skip_reason.empty() ? std::string("no pod template") : t.skip_reason) + "\n";
    return out;
  }
  if (t.set == nullptr) {
    out += indent + "not checked: " + t.skip_reason + "\n";
    return out;
  }
  const PodTemplate& pod = *t.pod;
  if (t.refs.matched.empty()) {
    out += indent + "no policy matched: namespace " + quote(t.namespace_name) + " / " + volumes_line(pod) + "\n";
    for (const policy::CompiledPolicy& c : t.set->policies()) {
      out += in2 + "policy " + quote(c.policy->name.value) + ": " + why_not_matched(*c.policy, t.namespace_name, pod) +
             "\n";
    }
    return out;
  }
  for (const policy::CompiledPolicy* c : t.refs.matched) {
    const std::string name = c->policy->name.value;
    out += indent + "policy " + quote(name) + " (" + std::string(policy::mode_name(c->policy->mode.value)) +
           ") matches namespace " + quote(t.namespace_name) + "\n";
    bool any = false;
    for (std::size_t i = 0; i < t.refs.refs.size(); ++i) {
      const ModelRef& ref = t.refs.refs[i];
      if (ref.policy != c) {
        continue;
      }
      any = true;
      out += in2 + describe_model(ref);
      const VerifyOutcome* o = i < t.outcomes.size() ? &t.outcomes[i] : nullptr;
      if (o == nullptr || o->state != VerifyState::kDone || !o->verdict) {
        out += ": not judged yet (" +
               std::string(o != nullptr && o->state == VerifyState::kOverloaded ? "verification queue full"
                                                                                 : "still verifying") +
               ")\n";
        continue;
      }
      const Verdict& v = *o->verdict;
      out += ": " + std::string(v.evaluation.passed() ? "passes" : "does not pass") +
             (v.root ? " (root sha256:" + crypto::to_hex(*v.root) + ")" : std::string()) +
             (o->cache_hit ? " [cached]" : "") + "\n";
      rules(out, in3, v.evaluation);
    }
    for (const RefProblem& p : t.refs.problems) {
      if (p.policy == c) {
        any = true;
        out += in2 + "volume " + quote(p.volume) + (p.container.empty() ? "" : " in container " + quote(p.container)) +
               ": " + p.reason + ": " + p.message + "\n";
      }
    }
    // Volumes this policy's sources do not claim (neither a model nor a problem).
    for (const Volume& v : pod.volumes) {
      const bool claimed =
          std::any_of(t.refs.refs.begin(), t.refs.refs.end(),
                      [&](const ModelRef& r) { return r.policy == c && r.volume == v.name; }) ||
          std::any_of(t.refs.problems.begin(), t.refs.problems.end(),
                      [&](const RefProblem& p) { return p.policy == c && p.volume == v.name; });
      if (!claimed) {
        // Not claimed and not a problem: its kind is one the policy admits as "not a model".
        out += in2 + (any ? "not a model: " : "no model volume: ") + "volume " + quote(v.name) + " (" +
               volume_desc(v) + ") is claimed by no source of policy " + quote(name) + "; its kind " +
               quote(v.kind) + " is in spec.otherVolumes.allow\n";
      }
    }
  }
  return out;
}

}  // namespace modelgate::admission
