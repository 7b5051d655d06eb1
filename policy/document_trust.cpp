// document_trust.cpp: the `trust` section of a ModelPolicy: signers (public key, certificate
// roots, keyless identity) and reviewer groups.
#include "base/limits.h"
#include "policy/document.h"
#include "policy/document_parser.h"

namespace modelgate::policy::detail {

std::optional<KeylessIdentity> PolicyParser::parse_keyless(const yaml::Field& f) {
  yaml::Map m(r_, f, {"issuer", "subject", "subjectRegex", "trustedRoot"});
  if (!m.ok()) {
    return std::nullopt;
  }
  KeylessIdentity id;
  id.position = m.position();
  bool ok = true;
  if (auto i = m.required("issuer")) {
    if (auto v = r_.string(*i); !v) {
      ok = false;
    } else if (v->value.rfind("https://", 0) != 0) {
      r_.error(*i, quote(v->value) + " is not an https:// issuer URL",
               "e.g. https://token.actions.githubusercontent.com or https://accounts.google.com");
      ok = false;
    } else {
      id.issuer = std::move(*v);
    }
  } else {
    ok = false;
  }
  auto sf = m.get("subject");
  auto rf = m.get("subjectRegex");
  if (sf && rf) {
    r_.error(*m.key_position("subjectRegex"), m.path(),
             "subject and subjectRegex are exclusive", "use subject for one identity, subjectRegex for a family");
    ok = false;
  } else if (!sf && !rf) {
    r_.error(m.position(), m.path(), "missing one of subject, subjectRegex",
             "an identity without a subject would trust every certificate of the issuer");
    ok = false;
  }
  if (sf) {
    auto v = r_.string(*sf);
    ok = ok && v.has_value();
    if (v) {
      id.subject = std::move(*v);
    }
  }
  if (rf) {
    auto v = pattern(*rf);
    ok = ok && v.has_value();
    if (v) {
      id.subject_regex = std::move(*v);
    }
  }
  if (auto tf = m.get("trustedRoot")) {
    auto v = path_ref(*tf);
    ok = ok && v.has_value();
    if (v) {
      id.trusted_root = std::move(*v);
    }
  }
  return ok ? std::optional(std::move(id)) : std::nullopt;
}

void PolicyParser::parse_trust(const yaml::Field& f, Trust& out) {
  yaml::Map m(r_, f, {"signers", "reviewers"});
  out.position = m.position();
  if (auto sf = m.required("signers")) {
    if (auto items = r_.list(*sf, limits::kMaxPolicyListItems)) {
      declared_signers_.emplace();
      for (const yaml::Field& item : *items) {
        if (auto s = parse_signer(item)) {
          out.signers.push_back(std::move(*s));
        }
      }
    }
  }
  if (m.ok() && !m.has("reviewers")) {
    declared_groups_.emplace();  // no reviewers: every group reference is undefined
  }
  if (auto rf = m.get("reviewers")) {
    if (auto items = r_.list(*rf, limits::kMaxPolicyListItems)) {
      declared_groups_.emplace();
      for (const yaml::Field& item : *items) {
        if (auto g = parse_reviewer_group(item)) {
          out.reviewers.push_back(std::move(*g));
        }
      }
    }
  }
  // Duplicates among every declared name, including entries dropped for other errors.
  std::vector<const Located<std::string>*> ns;
  for (const auto& n : declared_signers_ ? *declared_signers_ : kNoNames) {
    ns.push_back(&n);
  }
  unique_names(ns, "signer");
  ns.clear();
  for (const auto& n : declared_groups_ ? *declared_groups_ : kNoNames) {
    ns.push_back(&n);
  }
  unique_names(ns, "reviewer group");
}

std::optional<Signer> PolicyParser::parse_signer(const yaml::Field& f) {
  yaml::Map m(r_, f, {"name", "publicKey", "certificate", "keyless"},
              {{"trustedRoot", "trustedRoot belongs inside keyless: {issuer, subject, trustedRoot}"},
               {"publicKeys", "a signer has one key: publicKey: PATH (publicKeys is for reviewer groups)"}});
  if (!m.ok()) {
    return std::nullopt;
  }
  Signer s;
  s.position = m.position();
  bool ok = required_name(m, s.name);
  if (ok) {
    declared_signers_->push_back(s.name);
  }
  const auto kind = exactly_one(m, {"publicKey", "certificate", "keyless"}, "a signer");
  ok = ok && kind.has_value();
  if (auto kf = m.get("publicKey")) {
    auto v = path_ref(*kf);
    ok = ok && v.has_value();
    if (v && kind == "publicKey") {
      s.method = PublicKeyTrust{std::move(*v)};
    }
  }
  if (auto kf = m.get("certificate")) {
    yaml::Map c(r_, *kf, {"roots"});
    auto rf = c.required("roots");
    auto v = rf ? path_ref(*rf) : std::nullopt;
    ok = ok && v.has_value();
    if (v && kind == "certificate") {
      s.method = CertificateTrust{std::move(*v)};
    }
  }
  if (auto kf = m.get("keyless")) {
    auto v = parse_keyless(*kf);
    ok = ok && v.has_value();
    if (v && kind == "keyless") {
      s.method = std::move(*v);
    }
  }
  return ok ? std::optional(std::move(s)) : std::nullopt;
}

std::optional<ReviewerGroup> PolicyParser::parse_reviewer_group(const yaml::Field& f) {
  yaml::Map m(r_, f, {"name", "publicKeys", "keyless"},
              {{"publicKey", "reviewer groups list keys: publicKeys: [PATH, ...] or publicKeys: DIRECTORY"}});
  if (!m.ok()) {
    return std::nullopt;
  }
  ReviewerGroup g;
  g.position = m.position();
  bool ok = required_name(m, g.name);
  if (ok) {
    declared_groups_->push_back(g.name);
  }
  auto kf = m.get("publicKeys");
  auto lf = m.get("keyless");
  if (!kf && !lf) {
    r_.error(m.position(), m.path(), "missing publicKeys or keyless",
             "a reviewer group needs keys, keyless identities, or both");
    ok = false;
  }
  if (kf) {
    if (kf->node.IsScalar()) {
      auto v = path_ref(*kf);
      ok = ok && v.has_value();
      if (v) {
        g.public_key_dir = std::move(*v);
      }
    } else if (kf->node.IsSequence()) {
      if (auto items = r_.list(*kf, limits::kMaxPolicyListItems)) {
        for (const yaml::Field& item : *items) {
          auto v = path_ref(item);
          ok = ok && v.has_value();
          if (v) {
            g.public_keys.push_back(std::move(*v));
          }
        }
      } else {
        ok = false;
      }
    } else {
      r_.error(*kf, "expected a directory path or a list of key files, found " + yaml::describe(kf->node));
      ok = false;
    }
  }
  if (lf) {
    if (auto items = r_.list(*lf, limits::kMaxPolicyListItems)) {
      for (const yaml::Field& item : *items) {
        auto v = parse_keyless(item);
        ok = ok && v.has_value();
        if (v) {
          g.keyless.push_back(std::move(*v));
        }
      }
    } else {
      ok = false;
    }
  }
  return ok ? std::optional(std::move(g)) : std::nullopt;
}

}  // namespace modelgate::policy::detail
