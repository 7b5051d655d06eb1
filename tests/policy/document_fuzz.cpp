// fuzz-dict: yaml.dict
// fuzz-max-len: 16384
// document_fuzz.cpp: parse_policy_documents on arbitrary text. Properties: never throws, never a
// kInternal diagnostic; every diagnostic and every position kept in a parsed policy points inside
// the input, in this file; diagnostics are one line each and sorted; ok() exactly when there is
// no error; a file that parses holds at most kMaxPolicies policies, each named, each requiring a
// signature or provenance, each pattern compiled and each list within kMaxPolicyListItems; and a
// second parse of the same text says exactly the same.
#include <cstdint>
#include <string>

#include "policy/document.h"
#include "policy/policy_fuzz_support.h"

namespace {

using namespace modelgate;
using namespace modelgate::policy;

constexpr std::string_view kFile = "fuzz/policy.yaml";

void check_pattern(const fuzz::TextShape& shape, const Pattern& p) {
  FUZZ_CHECK(p.regex != nullptr, "a pattern is compiled");
  fuzz::check_position(shape, p.position, kFile, "pattern");
  (void)p.matches("prod-x");
}

void check_policy(const fuzz::TextShape& shape, const Policy& p) {
  fuzz::check_position(shape, p.position, kFile, "policy");
  fuzz::check_position(shape, p.name.position, kFile, "policy name");
  FUZZ_CHECK(!p.name.value.empty() && p.name.value.size() <= 63, "a policy is named with a DNS label");
  FUZZ_CHECK(p.require.signature || p.require.provenance, "signature or provenance is required");
  FUZZ_CHECK(!mode_name(p.mode.value).empty(), "mode name");
  for (const auto& ns : p.match.namespaces) {
    check_pattern(shape, ns);
  }
  FUZZ_CHECK(p.sources.size() <= limits::kMaxPolicyListItems, "sources bound");
  for (const auto& s : p.sources) {
    fuzz::check_position(shape, s.position, kFile, "source");
    FUZZ_CHECK(!s.root.value.empty() && s.root.value.front() == '/', "a source root is absolute");
    FUZZ_CHECK(!s.signature_file.value.empty() && s.signature_file.value.find('/') == std::string::npos,
               "a signature file is a plain name");
    if (const auto* pvc = std::get_if<PvcSource>(&s.volume)) {
      check_pattern(shape, pvc->claim_name);
    }
  }
  FUZZ_CHECK(p.trust.signers.size() <= limits::kMaxPolicyListItems, "signers bound");
  for (const auto& s : p.trust.signers) {
    fuzz::check_position(shape, s.position, kFile, "signer");
    FUZZ_CHECK(p.trust.find_signer(s.name.value) != nullptr, "a signer is found by its name");
    if (const auto* k = std::get_if<KeylessIdentity>(&s.method)) {
      FUZZ_CHECK(k->subject.has_value() != k->subject_regex.has_value(), "exactly one of subject / subjectRegex");
      if (k->subject_regex) {
        check_pattern(shape, *k->subject_regex);
      }
    }
  }
  if (p.require.signature) {
    for (const auto& name : p.require.signature->signers) {
      FUZZ_CHECK(p.trust.find_signer(name.value) != nullptr, "a required signer is defined");
    }
    FUZZ_CHECK(p.require.signature->threshold.value >= 1 &&
                   p.require.signature->threshold.value <= limits::kMaxApprovals,
               "threshold bound");
  }
  if (p.require.reviews) {
    FUZZ_CHECK(p.require.reviews->min_approvals.value <= limits::kMaxApprovals, "minApprovals bound");
    for (const auto& g : p.require.reviews->from) {
      FUZZ_CHECK(p.trust.find_reviewers(g.value) != nullptr, "a reviewer group is defined");
    }
  }
  if (p.require.provenance) {
    for (const auto& b : p.require.provenance->builders) {
      check_pattern(shape, b);
    }
  }
  if (p.require.base_models) {
    FUZZ_CHECK(p.require.base_models->max_depth.value <= limits::kMaxBaseModelDepth, "maxDepth bound");
  }
  if (p.require.max_age) {
    FUZZ_CHECK(p.require.max_age->value.count() > 0 &&
                   p.require.max_age->value.count() <= limits::kMaxPolicyMaxAgeSeconds,
               "maxAge bound");
  }
}

bool same_diagnostics(const std::vector<Diagnostic>& a, const std::vector<Diagnostic>& b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (format_diagnostic(a[i]) != format_diagnostic(b[i])) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  const fuzz::TextShape shape(text);
  ParseOutcome out = parse_policy_documents(text, kFile);
  fuzz::check_diagnostics(shape, out.diagnostics, kFile);
  FUZZ_CHECK(out.ok() == !has_errors(out.diagnostics), "ok() iff no error");
  if (!out.ok()) {
    FUZZ_CHECK(out.policies.empty(), "no policies from a file with errors");
  }
  FUZZ_CHECK(out.policies.size() <= limits::kMaxPolicies, "policy count bound");
  for (const auto& p : out.policies) {
    check_policy(shape, p);
  }
  ParseOutcome again = parse_policy_documents(text, kFile);
  FUZZ_CHECK(same_diagnostics(out.diagnostics, again.diagnostics) && out.policies.size() == again.policies.size(),
             "parsing is deterministic");
  (void)parse_duration(text.substr(0, std::min<std::size_t>(text.size(), 32)));
  return 0;
}
