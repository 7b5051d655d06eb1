// document_require.cpp: the `require` rules of a ModelPolicy, and the checks that tie rules to
// the signers and reviewer groups `trust` defines.
#include <algorithm>
#include <map>
#include <set>

#include "base/limits.h"
#include "crypto/encoding.h"
#include "policy/document.h"
#include "policy/document_parser.h"

namespace modelgate::policy::detail {

namespace {

constexpr std::string_view kDigestPrefix = "sha256:";

// Reports every entry of `deny` that also appears in `allow`: a contradiction, not a preference.
void check_overlap(yaml::Reader& r, const std::vector<Located<std::string>>& allow,
                   const std::vector<Located<std::string>>& deny, std::string_view allow_name,
                   std::string_view deny_name, const std::string& path) {
  for (const auto& d : deny) {
    for (const auto& a : allow) {
      if (a.value == d.value) {
        r.diags().error(d.position, Code::kMalformed,
                        path + ": " + quote(d.value) + " is in both " + std::string(allow_name) + " and " +
                            std::string(deny_name),
                        "remove it from one of them");
      }
    }
  }
}

}  // namespace

void PolicyParser::parse_require(const yaml::Field& f, Require& out) {
  yaml::Map m(r_, f, {"signature", "provenance", "reviews", "datasets", "baseModels", "evaluations", "maxAge"},
              {{"approvals", "required reviewers are written reviews: {minApprovals: N, from: [GROUP]}"},
               {"builder", "builders are listed in provenance: {builders: [RE2], signers: [SIGNER]}"}});
  if (!m.ok()) {
    return;
  }
  out.position = m.position();
  if (auto sf = m.get("signature")) {
    out.signature = parse_signature(*sf);
  }
  if (auto pf = m.get("provenance")) {
    out.provenance = parse_provenance(*pf);
  }
  if (auto rf = m.get("reviews")) {
    out.reviews = parse_reviews(*rf);
  }
  if (auto df = m.get("datasets")) {
    out.datasets = parse_datasets(*df);
    if (!m.has("provenance")) {
      r_.error(df->key_position, df->path, "needs " + yaml::child_path(m.path(), "provenance"),
               "datasets are read from the provenance's resolvedDependencies");
    }
  }
  if (auto bf = m.get("baseModels")) {
    out.base_models = parse_base_models(*bf);
    if (!m.has("provenance")) {
      r_.error(bf->key_position, bf->path, "needs " + yaml::child_path(m.path(), "provenance"),
               "base models are read from the provenance's resolvedDependencies");
    }
  }
  if (auto ef = m.get("evaluations")) {
    if (auto items = r_.list(*ef, limits::kMaxPolicyListItems)) {
      std::vector<const Located<std::string>*> ns;
      for (const yaml::Field& item : *items) {
        if (auto e = parse_evaluation(item)) {
          out.evaluations.push_back(std::move(*e));
        }
      }
      for (const EvaluationRule& e : out.evaluations) {
        ns.push_back(&e.name);
      }
      unique_names(ns, "evaluation");
    }
  }
  if (auto af = m.get("maxAge")) {
    if (auto s = r_.string(*af)) {
      auto d = parse_duration(s->value);
      if (d.ok()) {
        out.max_age = Located<std::chrono::seconds>{*d, s->position};
      } else {
        r_.error(*af, d.error().message, "write a whole number and one unit: 90d, 36h, 30m or 45s", d.error().code);
      }
    }
  }
  if (!m.has("signature") && !m.has("provenance")) {
    r_.error(m.position(), m.path(), "needs signature or provenance",
             "without one, nothing ties the model's files to a trusted party");
  }
}

std::optional<SignatureRule> PolicyParser::parse_signature(const yaml::Field& f) {
  yaml::Map m(r_, f, {"signers", "threshold"});
  if (!m.ok()) {
    return std::nullopt;
  }
  SignatureRule rule;
  rule.position = m.position();
  rule.threshold = Located<std::uint32_t>{1, m.position()};
  if (auto sf = m.required("signers")) {
    auto v = r_.string_list(*sf, limits::kMaxPolicyListItems);
    if (v) {
      rule.signers = std::move(*v);
    }
  }
  if (auto tf = m.get("threshold")) {
    auto t = r_.integer(*tf, 1, limits::kMaxApprovals);
    if (t) {
      rule.threshold = *t;
      if (!rule.signers.empty() && t->value > rule.signers.size()) {
        r_.error(*tf, "threshold " + std::to_string(t->value) + " is more than the " +
                          std::to_string(rule.signers.size()) + " signers listed",
                 "a threshold counts distinct signers from the list");
      }
    }
  }
  return rule;
}

std::optional<ProvenanceRule> PolicyParser::parse_provenance(const yaml::Field& f) {
  yaml::Map m(r_, f, {"signers", "builders", "buildTypes"}, {{"builder", "builders is a list: builders: [RE2, ...]"}});
  if (!m.ok()) {
    return std::nullopt;
  }
  ProvenanceRule rule;
  rule.position = m.position();
  if (auto sf = m.required("signers")) {
    auto v = r_.string_list(*sf, limits::kMaxPolicyListItems);
    if (v) {
      rule.signers = std::move(*v);
    }
  }
  if (auto bf = m.required("builders")) {
    auto v = patterns(*bf);
    if (v) {
      rule.builders = std::move(*v);
    }
  }
  if (auto tf = m.get("buildTypes")) {
    auto v = patterns(*tf);
    if (v) {
      rule.build_types = std::move(*v);
    }
  }
  return rule;
}

std::optional<ReviewsRule> PolicyParser::parse_reviews(const yaml::Field& f) {
  yaml::Map m(r_, f, {"minApprovals", "from", "excludeSigner", "excludeProvenanceSigner"});
  if (!m.ok()) {
    return std::nullopt;
  }
  ReviewsRule rule;
  rule.position = m.position();
  rule.exclude_signer = Located<bool>{true, m.position()};
  rule.exclude_provenance_signer = Located<bool>{true, m.position()};
  if (auto af = m.required("minApprovals")) {
    auto v = r_.integer(*af, 1, limits::kMaxApprovals);
    if (v) {
      rule.min_approvals = *v;
    }
  }
  if (auto ff = m.required("from")) {
    auto v = r_.string_list(*ff, limits::kMaxPolicyListItems);
    if (v) {
      rule.from = std::move(*v);
    }
  }
  for (auto [key, target] : {std::pair{"excludeSigner", &rule.exclude_signer},
                             std::pair{"excludeProvenanceSigner", &rule.exclude_provenance_signer}}) {
    if (auto bf = m.get(key)) {
      auto v = r_.boolean(*bf);
      if (v) {
        *target = *v;
        if (!v->value) {
          r_.diags().warning(v->position, bf->path + ": false lets the author approve their own model",
                             "BAB's rule is no unilateral change: approvals come from someone else");
        }
      }
    }
  }
  return rule;
}

std::optional<DatasetsRule> PolicyParser::parse_datasets(const yaml::Field& f) {
  yaml::Map m(r_, f,
              {"catalog", "allowClassifications", "allowLicenses", "denyClassifications", "denyLicenses",
               "denyDatasets", "denyDigests", "requireDigest"});
  if (!m.ok()) {
    return std::nullopt;
  }
  DatasetsRule rule;
  rule.position = m.position();
  rule.require_digest = Located<bool>{true, m.position()};
  if (auto cf = m.required("catalog")) {
    auto v = path_ref(*cf);
    if (v) {
      rule.catalog = std::move(*v);
    }
  }
  for (auto [key, target] : {std::pair{"allowClassifications", &rule.allow_classifications},
                             std::pair{"allowLicenses", &rule.allow_licenses},
                             std::pair{"denyClassifications", &rule.deny_classifications},
                             std::pair{"denyLicenses", &rule.deny_licenses},
                             std::pair{"denyDatasets", &rule.deny_datasets},
                             std::pair{"denyDigests", &rule.deny_digests}}) {
    if (auto lf = m.get(key)) {
      auto v = r_.string_list(*lf, limits::kMaxPolicyListItems);
      if (v) {
        *target = std::move(*v);
      }
    }
  }
  for (auto& d : rule.deny_digests) {
    const std::string_view s = d.value;
    const bool well_formed = s.size() == kDigestPrefix.size() + 64 && s.substr(0, kDigestPrefix.size()) == kDigestPrefix &&
                             crypto::is_lower_hex(s.substr(kDigestPrefix.size()));
    if (!well_formed) {
      r_.diags().error(d.position, Code::kMalformed,
                       yaml::child_path(m.path(), "denyDigests") + ": " + quote(d.value) + " is not a sha256 digest",
                       "write sha256: followed by 64 lowercase hex digits");
    } else {
      d.value = std::string(s.substr(kDigestPrefix.size()));
    }
  }
  check_overlap(r_, rule.allow_classifications, rule.deny_classifications, "allowClassifications",
                "denyClassifications", m.path());
  check_overlap(r_, rule.allow_licenses, rule.deny_licenses, "allowLicenses", "denyLicenses", m.path());
  if (auto bf = m.get("requireDigest")) {
    auto v = r_.boolean(*bf);
    if (v) {
      rule.require_digest = *v;
      if (!v->value) {
        r_.diags().warning(v->position, bf->path + ": false accepts datasets named without a digest",
                           "without a digest a dataset cannot be told apart from a swapped copy");
      }
    }
  }
  return rule;
}

std::optional<BaseModelsRule> PolicyParser::parse_base_models(const yaml::Field& f) {
  yaml::Map m(r_, f, {"mustPassPolicy", "maxDepth"});
  if (!m.ok()) {
    return std::nullopt;
  }
  BaseModelsRule rule{{true, m.position()}, {kDefaultBaseModelDepth, m.position()}, m.position()};
  if (auto bf = m.get("mustPassPolicy")) {
    auto v = r_.boolean(*bf);
    if (v) {
      rule.must_pass_policy = *v;
    }
  }
  if (auto df = m.get("maxDepth")) {
    auto v = r_.integer(*df, 1, limits::kMaxBaseModelDepth);
    if (v) {
      rule.max_depth = *v;
    }
  }
  return rule;
}

std::optional<EvaluationRule> PolicyParser::parse_evaluation(const yaml::Field& f) {
  yaml::Map m(r_, f, {"name", "signers"});
  if (!m.ok()) {
    return std::nullopt;
  }
  EvaluationRule rule;
  rule.position = m.position();
  if (auto nf = m.required("name")) {
    auto v = r_.string(*nf);
    if (v) {
      rule.name = std::move(*v);
    }
  }
  if (auto sf = m.required("signers")) {
    auto v = r_.string_list(*sf, limits::kMaxPolicyListItems);
    if (v) {
      rule.signers = std::move(*v);
    }
  }
  return rule;
}

void PolicyParser::check_references(const Policy& p) {
  // Suggestions come from every declared name, valid entry or not (sets keep them sorted).
  std::vector<std::string_view> signer_names;
  for (const auto& n : declared_signers_ ? *declared_signers_ : kNoNames) {
    signer_names.push_back(n.value);
  }
  std::vector<std::string_view> group_names;
  for (const auto& n : declared_groups_ ? *declared_groups_ : kNoNames) {
    group_names.push_back(n.value);
  }
  auto declared = [](const std::vector<std::string_view>& names, std::string_view name) {
    return std::find(names.begin(), names.end(), name) != names.end();
  };
  std::set<std::string, std::less<>> used_signers;
  std::set<std::string, std::less<>> used_groups;

  auto check_signers = [&](const std::vector<Located<std::string>>& refs, const std::string& path) {
    for (const auto& ref : refs) {
      used_signers.insert(ref.value);
      if (!declared_signers_ || declared(signer_names, ref.value)) {
        continue;  // trust.signers unreadable (already reported), or declared
      }
      std::string hint = did_you_mean(ref.value, signer_names);
      if (hint.empty() && declared(group_names, ref.value)) {
        hint = quote(ref.value) + " is a reviewer group; signers are listed in spec.trust.signers";
      }
      if (hint.empty()) {
        hint = signer_names.empty() ? "spec.trust.signers defines none" : "defined signers: ";
        for (std::size_t i = 0; i < signer_names.size(); ++i) {
          hint += (i == 0 ? "" : ", ") + std::string(signer_names[i]);
        }
      }
      r_.diags().error(ref.position, Code::kNotFound,
                       path + ": signer " + quote(ref.value) + " is not defined in spec.trust.signers", hint);
    }
  };
  if (p.require.signature) {
    check_signers(p.require.signature->signers, "spec.require.signature.signers");
  }
  if (p.require.provenance) {
    check_signers(p.require.provenance->signers, "spec.require.provenance.signers");
  }
  for (std::size_t i = 0; i < p.require.evaluations.size(); ++i) {
    check_signers(p.require.evaluations[i].signers, "spec.require.evaluations[" + std::to_string(i) + "].signers");
  }
  if (p.require.reviews) {
    for (const auto& ref : p.require.reviews->from) {
      used_groups.insert(ref.value);
      if (!declared_groups_ || declared(group_names, ref.value)) {
        continue;
      }
      std::string hint = did_you_mean(ref.value, group_names);
      if (hint.empty() && declared(signer_names, ref.value)) {
        hint = quote(ref.value) + " is a signer; reviews.from names groups in spec.trust.reviewers";
      }
      if (hint.empty()) {
        hint = group_names.empty() ? "spec.trust.reviewers defines none" : "defined reviewer groups: ";
        for (std::size_t i = 0; i < group_names.size(); ++i) {
          hint += (i == 0 ? "" : ", ") + std::string(group_names[i]);
        }
      }
      r_.diags().error(ref.position, Code::kNotFound,
                       "spec.require.reviews.from: reviewer group " + quote(ref.value) +
                           " is not defined in spec.trust.reviewers",
                       hint);
    }
  }
  // An unused trust entry is harmless but usually a typo'd rule or a leftover key: say so, but
  // only in a document without errors, where "unused" cannot be an echo of a rule that failed.
  if (r_.diags().error_count() > errors_at_start_) {
    return;
  }
  for (const Signer& s : p.trust.signers) {
    if (!s.name.value.empty() && used_signers.count(s.name.value) == 0) {
      r_.diags().warning(s.name.position, "signer " + quote(s.name.value) + " is not used by any rule");
    }
  }
  for (const ReviewerGroup& g : p.trust.reviewers) {
    if (!g.name.value.empty() && used_groups.count(g.name.value) == 0) {
      r_.diags().warning(g.name.position, "reviewer group " + quote(g.name.value) + " is not used by any rule",
                         "reviewer groups are used by spec.require.reviews.from");
    }
  }
}

}  // namespace modelgate::policy::detail
