#include "policy/evaluate.h"

#include <algorithm>
#include <optional>
#include <set>

#include "base/limits.h"
#include "crypto/encoding.h"
#include "crypto/model_signature.h"
#include "crypto/x509.h"
#include "policy/evidence.h"

namespace modelgate::policy {

namespace {

std::string short_digest(const crypto::Sha256Digest& d) { return "sha256:" + crypto::to_hex(d).substr(0, 12) + "…"; }
std::string short_hex(std::string_view hex) { return "sha256:" + std::string(hex.substr(0, 12)) + "…"; }

std::string join(const std::vector<std::string>& items, std::string_view sep, std::size_t max = 5) {
  std::string out;
  for (std::size_t i = 0; i < items.size() && i < max; ++i) {
    out += (i == 0 ? "" : std::string(sep)) + items[i];
  }
  if (items.size() > max) {
    out += std::string(sep) + "and " + std::to_string(items.size() - max) + " more";
  }
  return out;
}

std::vector<std::string> names_of(const std::vector<Located<std::string>>& v) {
  std::vector<std::string> out;
  for (const auto& x : v) {
    out.push_back(x.value);
  }
  return out;
}

std::vector<std::string> sources_of(const std::vector<Pattern>& v) {
  std::vector<std::string> out;
  for (const auto& x : v) {
    out.push_back(quote(x.source));
  }
  return out;
}

std::string days(std::int64_t seconds) {
  if (seconds % 86400 == 0) {
    return std::to_string(seconds / 86400) + "d";
  }
  if (seconds % 3600 == 0) {
    return std::to_string(seconds / 3600) + "h";
  }
  return std::to_string(seconds) + "s";
}

RuleResult pass(std::string rule, std::string message) {
  return RuleResult{std::move(rule), RuleStatus::kPass, "", std::move(message)};
}
RuleResult fail(std::string rule, std::string reason, std::string message) {
  return RuleResult{std::move(rule), RuleStatus::kFail, std::move(reason), std::move(message)};
}
RuleResult error(std::string rule, std::string reason, std::string message) {
  return RuleResult{std::move(rule), RuleStatus::kError, std::move(reason), std::move(message)};
}
RuleResult skip(std::string rule, std::string message) {
  return RuleResult{std::move(rule), RuleStatus::kSkip, "", std::move(message)};
}

// rejected_note mentions evidence of the rule's predicate types (or of no readable type) that did
// not verify, so "missing" is never the whole story.
std::string rejected_note(const ModelFacts& f, std::initializer_list<std::string_view> types) {
  std::vector<const Rejection*> relevant;
  for (const Rejection& r : f.rejected) {
    if (r.predicate_type.empty() || std::find(types.begin(), types.end(), r.predicate_type) != types.end()) {
      relevant.push_back(&r);
    }
  }
  if (relevant.empty()) {
    return "";
  }
  const Rejection& r = *relevant.front();
  std::string note = "; " + std::to_string(relevant.size()) + " attestation file" +
                     (relevant.size() == 1 ? "" : "s") + " did not verify (" + quote(r.file) + ": " +
                     r.error.message + (relevant.size() > 1 ? "; ..." : "") + ")";
  return note;
}

constexpr std::initializer_list<std::string_view> kSignatureTypes = {crypto::kModelSigningPredicateV1};
constexpr std::initializer_list<std::string_view> kProvenanceTypes = {crypto::kSlsaProvenanceV1,
                                                                      crypto::kSlsaProvenanceV02};
constexpr std::initializer_list<std::string_view> kApprovalTypes = {crypto::kApprovalPredicateV1};
constexpr std::initializer_list<std::string_view> kTestResultTypes = {crypto::kTestResultPredicateV01};

class Evaluator {
 public:
  Evaluator(const CompiledPolicy& c, const ModelFacts& f) : c_(c), p_(*c.policy), f_(f) {}

  PolicyEvaluation run() {
    PolicyEvaluation out;
    out.policy = p_.name.value;
    out.mode = p_.mode.value;
    if (p_.require.signature) {
      out.rules.push_back(signature());
    }
    accepted_ = accepted_provenance();
    if (p_.require.provenance) {
      out.rules.push_back(provenance());
    }
    if (p_.require.reviews) {
      out.rules.push_back(reviews());
    }
    if (p_.require.datasets) {
      out.rules.push_back(datasets());
    }
    if (p_.require.base_models) {
      out.rules.push_back(base_models());
    }
    for (const EvaluationRule& e : p_.require.evaluations) {
      out.rules.push_back(evaluation(e));
    }
    if (p_.require.max_age) {
      out.rules.push_back(max_age());
    }
    if (f_.evidence_error && f_.root) {
      // Not a rule of the policy: what was not read may be a rejection, so nothing can pass.
      out.rules.push_back(error("evidence", "evidence.incomplete",
                                "cannot read all evidence for " + short_digest(*f_.root) + ": " +
                                    f_.evidence_error->message + "; remove the junk from the evidence store"));
    }
    return out;
  }

 private:
  bool unknown_root() const { return !f_.root || f_.model_error.has_value(); }

  std::string why_unknown() const {
    if (f_.model_error) {
      return "not checked: the model could not be read";
    }
    return "not checked: the model's digest is unknown until its signature verifies";
  }

  RuleResult signature() {
    const SignatureRule& rule = *p_.require.signature;
    const std::string signers = join(names_of(rule.signers), " or ");
    if (f_.model_error) {
      const bool deadline = f_.model_error->code == Code::kDeadline;
      return error("signature", deadline ? "model.deadline" : "model.unreadable",
                   "cannot verify the model: " + f_.model_error->message +
                       (deadline ? "; retry shortly" : "; check that the webhook can read the model volume"));
    }
    std::set<std::string> distinct;
    std::vector<std::string> who;
    for (const VerifiedSignatureFact& s : f_.signatures) {
      if (distinct.insert(s.signer).second) {
        who.push_back(s.signer + " (" + quote(s.identity) + ")");
      }
    }
    const std::uint32_t need = rule.threshold.value;
    if (distinct.size() >= need) {
      return pass("signature", "signed by " + join(who, ", "));
    }
    if (!distinct.empty()) {
      return fail("signature", "signature.threshold",
                  "signed by " + std::to_string(distinct.size()) + " of the listed signers (" + join(who, ", ") +
                      "); " + std::to_string(need) + " required; add signatures by " + signers +
                      " to the evidence store (modelgate sign --store)" + rejected_note(f_, kSignatureTypes));
    }
    if (f_.from_store) {
      return fail("signature", "signature.missing",
                  "no model_signing signature for " + short_digest(*f_.root) + " by " + signers +
                      " in the evidence store" + rejected_note(f_, kSignatureTypes));
    }
    if (!f_.signature_present) {
      return fail("signature", "signature.missing",
                  "signature file " + quote(f_.signature_file) + " is missing; sign the model (modelgate sign) by " +
                      signers + " and place " + f_.signature_file + " in the model directory");
    }
    // Pick the most telling failure: the files differ > the math said no > someone else signed.
    const Error* best = nullptr;
    auto rank = [](const Error& e) {
      if (e.code == Code::kMismatch && e.message.rfind(kModelMismatchPrefix, 0) == 0) {
        return 0;
      }
      if (e.code == Code::kBadSignature) {
        return 1;
      }
      if (e.code == Code::kUntrusted || e.code == Code::kMismatch) {
        return 2;
      }
      return 3;
    };
    for (const auto& [name, e] : f_.signature_failures) {
      if (best == nullptr || rank(e) < rank(*best)) {
        best = &e;
      }
    }
    if (best == nullptr) {
      return error("signature", "signature.no_signer", "no listed signer has trust material loaded");
    }
    switch (rank(*best)) {
      case 0: {
        std::string what = best->message.substr(std::min(best->message.size(), kModelMismatchPrefix.size() + 2));
        return fail("signature", "signature.digest_mismatch", what + "; restore the signed files or re-sign the model");
      }
      case 1:
        return fail("signature", "signature.bad_signature",
                    quote(f_.signature_file) + " does not verify: " + best->message + "; re-sign the model");
      case 2:
        return fail("signature", "signature.untrusted",
                    "the model is not signed by " + signers + " (" + best->message + ")");
      default:
        return fail("signature", "signature.malformed",
                    quote(f_.signature_file) + " cannot be read as a model signature: " + best->message);
    }
  }

  std::vector<const ProvenanceFact*> accepted_provenance() const {
    std::vector<const ProvenanceFact*> out;
    if (!p_.require.provenance) {
      for (const ProvenanceFact& pf : f_.provenance) {
        out.push_back(&pf);
      }
      return out;
    }
    const ProvenanceRule& rule = *p_.require.provenance;
    for (const ProvenanceFact& pf : f_.provenance) {
      bool builder = std::any_of(rule.builders.begin(), rule.builders.end(),
                                 [&](const Pattern& b) { return b.matches(pf.provenance.builder_id); });
      bool type = rule.build_types.empty() ||
                  std::any_of(rule.build_types.begin(), rule.build_types.end(),
                              [&](const Pattern& b) { return b.matches(pf.provenance.build_type); });
      if (builder && type) {
        out.push_back(&pf);
      }
    }
    return out;
  }

  RuleResult provenance() {
    const ProvenanceRule& rule = *p_.require.provenance;
    if (unknown_root()) {
      return skip("provenance", why_unknown());
    }
    if (!accepted_.empty()) {
      const ProvenanceFact& pf = *accepted_.front();
      return pass("provenance", "built by " + quote(pf.provenance.builder_id) + ", signed by " + pf.signer);
    }
    if (f_.provenance.empty()) {
      return fail("provenance", "provenance.missing",
                  "no SLSA provenance for " + short_digest(*f_.root) + " signed by " +
                      join(names_of(rule.signers), " or ") + rejected_note(f_, kProvenanceTypes) +
                      "; attach it with modelgate attest provenance");
    }
    const ProvenanceFact& pf = f_.provenance.front();
    bool builder = std::any_of(rule.builders.begin(), rule.builders.end(),
                               [&](const Pattern& b) { return b.matches(pf.provenance.builder_id); });
    if (!builder) {
      return fail("provenance", "provenance.builder",
                  "builder " + quote(pf.provenance.builder_id) + " is not an approved builder (allowed: " +
                      join(sources_of(rule.builders), ", ") + "); rebuild the model on an approved builder");
    }
    return fail("provenance", "provenance.build_type",
                "build type " + quote(pf.provenance.build_type) + " is not allowed (allowed: " +
                    join(sources_of(rule.build_types), ", ") + ")");
  }

  RuleResult reviews() {
    const ReviewsRule& rule = *p_.require.reviews;
    if (unknown_root()) {
      return skip("reviews", why_unknown());
    }
    std::set<std::string> excluded;
    if (rule.exclude_signer.value) {
      for (const VerifiedSignatureFact& s : f_.signatures) {
        excluded.insert(s.identity);
      }
    }
    if (rule.exclude_provenance_signer.value) {
      for (const ProvenanceFact& pf : f_.provenance) {
        excluded.insert(pf.identity);
      }
    }
    std::set<std::string> counted;
    std::vector<std::string> shown;
    std::vector<std::string> self;
    std::vector<std::string> rejections;
    for (const ApprovalFact& a : f_.approvals) {
      const std::string who = quote(a.approval.reviewer);
      if (a.approval.decision == crypto::ApprovalDecision::kRejected) {
        rejections.push_back(who + (a.approval.comment.empty() ? "" : ": " + quote(a.approval.comment)));
        continue;
      }
      if (excluded.count(a.identity) != 0) {
        self.push_back(who);
        continue;
      }
      if (counted.insert(a.identity).second) {
        shown.push_back(a.approval.reviewer);  // printable by parse_approval; shown as DESIGN.md does
      }
    }
    const std::string groups = join(names_of(rule.from), ", ");
    if (!rejections.empty()) {
      return fail("reviews", "reviews.rejected",
                  "rejected by " + join(rejections, ", ") + "; a rejection blocks the model until it is withdrawn");
    }
    const std::uint32_t need = rule.min_approvals.value;
    if (counted.size() >= need) {
      return pass("reviews", std::to_string(counted.size()) + (counted.size() == 1 ? " approval" : " approvals") +
                                 " from " + groups + " (" + join(shown, ", ") + "); " + std::to_string(need) +
                                 " required");
    }
    std::string msg = std::to_string(counted.size()) + (counted.size() == 1 ? " approval" : " approvals") + " from " +
                      groups + (shown.empty() ? "" : " (" + join(shown, ", ") + ")") + "; " + std::to_string(need) +
                      " required";
    if (!self.empty()) {
      msg += "; approvals by the model's own signer or builder do not count (" + join(self, ", ") + ")";
    }
    msg += rejected_note(f_, kApprovalTypes);
    return fail("reviews", "reviews.insufficient", msg);
  }

  // dataset_problem checks one dataset dependency; "" when it passes.
  std::pair<std::string, std::string> dataset_problem(const crypto::Dependency& d) const {
    const DatasetsRule& rule = *p_.require.datasets;
    const std::string label = quote(d.name.empty() ? d.uri : d.name);
    auto in = [](const std::vector<Located<std::string>>& list, const std::string& v) {
      return std::any_of(list.begin(), list.end(), [&](const Located<std::string>& x) { return x.value == v; });
    };
    const Dataset* ds = nullptr;
    if (d.sha256.empty()) {
      if (rule.require_digest.value) {
        return {"datasets.unpinned", "dataset " + label + " is not pinned by a sha256 digest"};
      }
      if (f_.catalog) {
        for (const Dataset& x : f_.catalog->datasets()) {
          if (x.name.value == d.name) {
            ds = &x;
            break;
          }
        }
      }
    } else {
      if (in(rule.deny_digests, d.sha256)) {
        return {"datasets.denied", "dataset " + label + " (" + short_hex(d.sha256) + ") is on the deny list"};
      }
      ds = f_.catalog ? f_.catalog->find_by_sha256(d.sha256) : nullptr;
    }
    if (ds == nullptr) {
      return {"datasets.not_in_catalog",
              "dataset " + label + (d.sha256.empty() ? "" : " (" + short_hex(d.sha256) + ")") +
                  " is not in the dataset catalog; register it or retrain without it"};
    }
    const std::string name = quote(ds->name.value);
    if (in(rule.deny_datasets, ds->name.value)) {
      return {"datasets.denied", "dataset " + name + " is on the deny list"};
    }
    const std::string& cls = ds->classification.value;
    if (in(rule.deny_classifications, cls) ||
        (!rule.allow_classifications.empty() && !in(rule.allow_classifications, cls))) {
      return {"datasets.classification", "dataset " + name + " is classified " + quote(cls) + " (allowed: " +
                                             join(names_of(rule.allow_classifications), ", ") + ")"};
    }
    const std::string& lic = ds->license.value;
    if (in(rule.deny_licenses, lic) || (!rule.allow_licenses.empty() && !in(rule.allow_licenses, lic))) {
      return {"datasets.license", "dataset " + name + " has license " + quote(lic) + " (allowed: " +
                                      join(names_of(rule.allow_licenses), ", ") + ")"};
    }
    return {"", ""};
  }

  RuleResult datasets() {
    if (unknown_root()) {
      return skip("datasets", why_unknown());
    }
    if (accepted_.empty() && p_.require.provenance) {
      return skip("datasets", "not checked: the provenance rule did not pass");
    }
    if (accepted_.empty()) {
      return error("datasets", "datasets.no_provenance",
                   "cannot be checked: no verified, approved provenance lists the model's datasets");
    }
    std::vector<const crypto::Dependency*> deps;
    for (const ProvenanceFact* pf : accepted_) {
      if (pf->provenance.predicate_type == crypto::kSlsaProvenanceV02) {
        return error("datasets", "datasets.no_roles",
                     "cannot be checked: SLSA v0.2 materials do not say which are datasets; publish SLSA v1 "
                     "provenance with annotations.role: dataset");
      }
      for (const crypto::Dependency& d : pf->provenance.dependencies) {
        if (d.role == "dataset") {
          deps.push_back(&d);
        }
      }
    }
    if (deps.empty()) {
      return fail("datasets", "datasets.none",
                  "the provenance lists no dataset (resolvedDependencies with annotations.role: dataset)");
    }
    std::vector<std::string> problems;
    std::string reason;
    for (const crypto::Dependency* d : deps) {
      auto [token, message] = dataset_problem(*d);
      if (!token.empty()) {
        if (reason.empty()) {
          reason = token;
        }
        problems.push_back(message);
      }
    }
    if (!problems.empty()) {
      return fail("datasets", reason, join(problems, "; ", 3));
    }
    // Say what matched, so an allow can be explained: each dataset's catalog entry.
    std::vector<std::string> matched;
    for (const crypto::Dependency* d : deps) {
      const Dataset* ds = nullptr;
      if (f_.catalog) {
        ds = d->sha256.empty() ? nullptr : f_.catalog->find_by_sha256(d->sha256);
        for (const Dataset& x : f_.catalog->datasets()) {
          if (ds == nullptr && d->sha256.empty() && x.name.value == d->name) {
            ds = &x;
          }
        }
      }
      if (ds != nullptr) {
        matched.push_back(quote(ds->name.value) + " " + ds->version_id.value + " (" + ds->classification.value + ", " +
                          ds->license.value + ")");
      }
    }
    return pass("datasets", std::to_string(deps.size()) + (deps.size() == 1 ? " dataset" : " datasets") +
                                ", all catalogued and allowed: " + join(matched, ", "));
  }

  RuleResult base_models() {
    if (unknown_root()) {
      return skip("baseModels", why_unknown());
    }
    if (accepted_.empty() && p_.require.provenance) {
      return skip("baseModels", "not checked: the provenance rule did not pass");
    }
    if (accepted_.empty() && !f_.base_models.empty()) {
      return error("baseModels", "base_models.no_provenance", "cannot be checked: no approved provenance");
    }
    std::size_t n = 0;
    std::vector<std::string> passed;
    for (const BaseModelFacts& b : f_.base_models) {
      ++n;
      const std::string label = quote(b.dependency.name.empty() ? b.dependency.uri : b.dependency.name);
      if (b.dependency.sha256.empty()) {
        return fail("baseModels", "base_models.unpinned", "base model " + label + " is not pinned by a sha256 digest");
      }
      if (!b.problem.empty()) {
        const bool cycle = b.problem.rfind("cycle", 0) == 0;
        return fail("baseModels", cycle ? "base_models.cycle" : "base_models.depth",
                    "base model " + label + ": " + b.problem);
      }
      if (b.facts) {
        PolicyEvaluation sub = Evaluator(c_, *b.facts).run();
        if (const RuleResult* r = sub.first_problem()) {
          // One token per cause: a base model's own lineage problem (cycle, depth, unpinned, or a
          // deeper base model's failure) keeps its token; any other rule is named after the colon
          // (base_models.failed:reviews.insufficient), however deep it was found.
          const bool lineage = r->rule == "baseModels" && r->reason.rfind("base_models.", 0) == 0;
          return fail("baseModels", lineage ? r->reason : "base_models.failed:" + r->reason,
                      "base model " + label + " (" + short_hex(b.dependency.sha256) + ") does not pass this policy: " +
                          r->rule + ": " + r->message);
        }
        std::vector<std::string> rules;
        for (const RuleResult& r : sub.rules) {
          rules.push_back(r.rule);
        }
        passed.push_back(label + " (" + short_hex(b.dependency.sha256) + ") passes " + join(rules, ", ", 8));
      } else {
        passed.push_back(label + " (" + short_hex(b.dependency.sha256) + ") is pinned");
      }
    }
    return pass("baseModels", n == 0 ? "no base models in the provenance"
                                     : std::to_string(n) + (n == 1 ? " base model: " : " base models: ") +
                                           join(passed, "; "));
  }

  // evaluation judges one suite. Several results may exist for it (reruns, copies, other tools):
  // they are ordered by their trusted signing times (Sigstore, certificate), and a PASSED counts
  // only when it is newer than every other result. A result without a trusted time cannot be
  // ordered, so a non-PASSED one always denies and an untimed PASSED never supersedes anything.
  RuleResult evaluation(const EvaluationRule& e) {
    if (unknown_root()) {
      return skip("evaluations", why_unknown());
    }
    auto newest = [](const TestResultFact& t) -> std::optional<std::int64_t> {
      if (t.times.empty()) {
        return std::nullopt;
      }
      return *std::max_element(t.times.begin(), t.times.end());
    };
    std::vector<const TestResultFact*> passed;
    std::vector<const TestResultFact*> other;  // FAILED or WARNED
    for (const TestResultFact& t : f_.test_results) {
      bool signer_ok = std::any_of(e.signers.begin(), e.signers.end(),
                                   [&](const Located<std::string>& s) { return s.value == t.signer; });
      bool names = std::find(t.result.configuration_names.begin(), t.result.configuration_names.end(),
                             e.name.value) != t.result.configuration_names.end();
      if (signer_ok && names) {
        (t.result.result == crypto::TestOutcome::kPassed ? passed : other).push_back(&t);
      }
    }
    if (passed.empty() && other.empty()) {
      return fail("evaluations", "evaluations.missing",
                  "no test result for evaluation " + quote(e.name.value) + " signed by " +
                      join(names_of(e.signers), " or ") + rejected_note(f_, kTestResultTypes));
    }
    // The newest timed PASSED, if any.
    const TestResultFact* best = nullptr;
    for (const TestResultFact* t : passed) {
      if (newest(*t) && (best == nullptr || *newest(*t) > *newest(*best))) {
        best = t;
      }
    }
    if (best == nullptr && !passed.empty()) {
      best = passed.front();
    }
    // The first non-PASSED result the best PASSED does not provably postdate.
    const TestResultFact* blocking = nullptr;
    for (const TestResultFact* t : other) {
      const bool superseded = best != nullptr && newest(*best) && newest(*t) && *newest(*t) < *newest(*best);
      if (!superseded) {
        blocking = t;
        break;
      }
    }
    if (blocking == nullptr) {
      std::string msg = quote(e.name.value) + " PASSED (signed by " + best->signer + ", " + quote(best->file);
      if (newest(*best)) {
        msg += ", at " + crypto::format_time(*newest(*best));
      }
      msg += ")";
      if (!other.empty()) {
        msg += "; newer than the " + std::to_string(other.size()) + " earlier non-PASSED result" +
               (other.size() == 1 ? "" : "s");
      }
      return pass("evaluations", msg);
    }
    const auto& failed = blocking->result.failed_tests;
    std::string msg = "evaluation " + quote(e.name.value) + " result is " +
                      std::string(crypto::test_outcome_name(blocking->result.result)) +
                      (failed.empty() ? "" : " (failed: " + join(failed, ", ", 3) + ")") + " in " +
                      quote(blocking->file);
    if (best != nullptr) {
      msg += newest(*blocking) && newest(*best)
                 ? "; it is not older than the PASSED result " + quote(best->file) + " (" +
                       crypto::format_time(*newest(*blocking)) + " vs " + crypto::format_time(*newest(*best)) + ")"
                 : "; the PASSED result " + quote(best->file) +
                       " does not supersede it: results are ordered by trusted (Sigstore or certificate) signing "
                       "times, and " + (newest(*blocking) ? quote(best->file) : quote(blocking->file)) +
                       " has none; remove the stale result from the evidence store";
    }
    msg += "; PASSED required";
    return fail("evaluations", "evaluations.failed", msg);
  }

  RuleResult max_age() {
    const std::int64_t limit = p_.require.max_age->value.count();
    struct Stamp {
      std::string what;
      std::int64_t time;
    };
    std::vector<Stamp> stamps;
    for (const VerifiedSignatureFact& s : f_.signatures) {
      if (!s.times.empty()) {
        stamps.push_back({"signature by " + s.signer, *std::max_element(s.times.begin(), s.times.end())});
      }
    }
    for (const ProvenanceFact* pf : accepted_) {
      if (!pf->times.empty()) {
        stamps.push_back({"provenance by " + pf->signer, *std::max_element(pf->times.begin(), pf->times.end())});
      } else if (pf->provenance.finished_on) {
        stamps.push_back({"build finished", *pf->provenance.finished_on});
      }
    }
    if (stamps.empty()) {
      if (unknown_root()) {
        return skip("maxAge", why_unknown());
      }
      if (p_.require.provenance && accepted_.empty()) {
        return skip("maxAge", "not checked: the provenance rule did not pass");
      }
      return error("maxAge", "max_age.no_time",
                   "cannot be checked: neither the signature nor the provenance carries a trusted time (sign with "
                   "Sigstore, or record runDetails.metadata.finishedOn in the provenance)");
    }
    for (const Stamp& s : stamps) {
      // A time from the future is a wrong clock or a forged finishedOn; it would never age out.
      if (s.time > f_.now + limits::kMaxClockSkewSeconds) {
        return fail("maxAge", "max_age.future",
                    s.what + " is from " + crypto::format_time(s.time) + ", in the future (now " +
                        crypto::format_time(f_.now) + "; at most " + days(limits::kMaxClockSkewSeconds) +
                        " of clock skew allowed); fix the signer's clock and re-attest");
      }
    }
    for (const Stamp& s : stamps) {
      const std::int64_t age = f_.now - s.time;
      if (age > limit) {
        return fail("maxAge", "max_age.expired",
                    s.what + " is from " + crypto::format_time(s.time) + ", " + days(age - age % 86400) +
                        " ago; at most " + days(limit) + " allowed; rebuild or re-sign the model");
      }
    }
    const Stamp* oldest = &stamps.front();
    for (const Stamp& s : stamps) {
      if (s.time < oldest->time) {
        oldest = &s;
      }
    }
    const std::int64_t age = std::max<std::int64_t>(0, f_.now - oldest->time);
    return pass("maxAge", "the oldest evidence (" + oldest->what + ", " + crypto::format_time(oldest->time) + ") is " +
                              days(age - age % 86400) + " old; at most " + days(limit) + " allowed");
  }

  const CompiledPolicy& c_;
  const Policy& p_;
  const ModelFacts& f_;
  std::vector<const ProvenanceFact*> accepted_;
};

}  // namespace

std::string_view rule_status_name(RuleStatus s) {
  switch (s) {
    case RuleStatus::kPass: return "pass";
    case RuleStatus::kFail: return "fail";
    case RuleStatus::kError: return "error";
    case RuleStatus::kSkip: return "skip";
  }
  return "error";
}

bool PolicyEvaluation::passed() const { return first_problem() == nullptr; }

const RuleResult* PolicyEvaluation::first_problem() const {
  for (const RuleResult& r : rules) {
    if (r.status == RuleStatus::kFail || r.status == RuleStatus::kError) {
      return &r;
    }
  }
  return nullptr;
}

PolicyEvaluation evaluate(const CompiledPolicy& policy, const ModelFacts& facts) {
  return Evaluator(policy, facts).run();
}

}  // namespace modelgate::policy
