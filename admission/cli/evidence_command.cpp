// evidence_command.cpp: `modelgate evidence ls (MODEL | --digest sha256:HEX) --store DIR...`: every
// file filed for a model's root digest — what it is, who signed it (as the bundle claims), what it
// is about. `modelgate evidence explain ... --policy P`: for each policy, what each file counts
// for, why it does not verify, or why the policy ignores it; then the rules. Exit 0 when listed, 2
// on usage errors. Nothing here decides admission (review does).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "admission/cli/cli_common.h"
#include "admission/cli/commands.h"
#include "base/limits.h"
#include "base/read_file.h"
#include "crypto/approval.h"
#include "crypto/bundle.h"
#include "crypto/encoding.h"
#include "crypto/model_signature.h"
#include "crypto/slsa_provenance.h"
#include "crypto/statement.h"
#include "crypto/test_result.h"
#include "crypto/x509.h"
#include "policy/evaluate.h"
#include "policy/evidence.h"
#include "policy/trust_material.h"

namespace modelgate::cli {

namespace {

namespace fs = std::filesystem;
using namespace modelgate::crypto;

// The SLSA verification summary: recognised so it is named, though no rule reads it yet.
constexpr std::string_view kVsaV1 = "https://slsa.dev/verification_summary/v1";

struct EvidenceArgs {
  bool explain = false;
  std::string model;
  std::string digest;
  std::string signature_file = std::string(kDefaultSignatureFile);
  std::vector<std::string> stores;
  std::vector<std::string> policies;
  std::vector<std::string> roots;
  std::string now;
};

std::string kind_of(std::string_view predicate_type) {
  if (predicate_type == kModelSigningPredicateV1) {
    return "signature";
  }
  if (predicate_type == kSlsaProvenanceV1 || predicate_type == kSlsaProvenanceV02) {
    return "provenance";
  }
  if (predicate_type == kApprovalPredicateV1) {
    return "approval";
  }
  if (predicate_type == kTestResultPredicateV01) {
    return "test-result";
  }
  if (predicate_type == kVsaV1) {
    return "vsa";
  }
  return "other";
}

// Row is what a file claims about itself (nothing here is verified).
struct Row {
  std::string file;
  std::string kind;     // signature, provenance, approval, test-result, vsa, other, unreadable
  std::string signer;   // "key 1a2b3c4d5e6f…", "certificate CN=…", or "-"
  std::string about;    // "this model", "sha256:… (another model)", or why it cannot be read
};

Row describe(const std::string& label, const std::string& bytes, const std::string& hex) {
  Row row{label, "unreadable", "-", ""};
  auto bundle = parse_bundle(bytes);
  if (!bundle.ok()) {
    row.about = "not a Sigstore bundle: " + bundle.error().message;
    return row;
  }
  if (bundle->public_key_hint) {
    row.signer = "key " + bundle->public_key_hint->substr(0, 12) + "…";
  } else if (!bundle->certificates_der.empty()) {
    auto cert = Certificate::from_der(bundle->certificates_der.front());
    row.signer = cert.ok() ? "certificate " + quote_for_message(cert->subject()) : "certificate (unreadable)";
  }
  if (!bundle->dsse) {
    row.about = "not a DSSE attestation";
    return row;
  }
  auto st = parse_statement(bundle->dsse->payload);
  if (!st.ok()) {
    row.about = "statement: " + st.error().message;
    return row;
  }
  row.kind = kind_of(st->predicate_type);
  row.about = "another digest";
  for (const StatementSubject& s : st->subjects) {
    auto it = s.digest.find("sha256");
    if (it == s.digest.end()) {
      continue;
    }
    if (it->second == hex) {
      row.about = "this model";
      break;
    }
    if (it->second.size() == 64 && is_lower_hex(it->second)) {
      row.about = "sha256:" + it->second.substr(0, 12) + "… (another model)";
    }
  }
  if (row.kind == "other") {
    row.about += ", predicate type " + quote_for_message(st->predicate_type);
  }
  return row;
}

std::string pad(std::string s, std::size_t w) { return s.size() >= w ? s + "  " : s + std::string(w + 2 - s.size(), ' '); }

// rows lists model.sig (for a model) and every store file for `hex`.
std::vector<Row> list_rows(const EvidenceArgs& a, const std::string& hex, const std::vector<fs::path>& stores) {
  std::vector<Row> rows;
  if (!a.model.empty()) {
    const fs::path sig = fs::path(a.model) / a.signature_file;
    auto bytes = read_regular_file(sig, limits::kMaxBundleBytes);
    if (bytes.ok()) {
      rows.push_back(describe(a.signature_file, bytes.value(), hex));
    } else {
      rows.push_back(Row{a.signature_file, "missing", "-", "no signature file in the model directory"});
    }
  }
  std::vector<policy::Rejection> unreadable;
  auto listed = policy::find_evidence(stores, hex, unreadable, [&](const policy::EvidenceFile& f) {
    rows.push_back(describe(f.path.filename().string(), f.bytes, hex));
  });
  if (!listed.ok()) {
    rows.push_back(Row{"(rest)", "unread", "-", listed.error().message});
  }
  for (const policy::Rejection& r : unreadable) {
    rows.push_back(Row{r.file, "unreadable", "-", r.error.message});
  }
  return rows;
}

// fate says what `policy`'s facts made of `file`.
std::string fate(const policy::ModelFacts& f, const std::string& file) {
  std::vector<std::string> out;
  for (const policy::VerifiedSignatureFact& s : f.signatures) {
    if (s.file == file) {
      out.push_back("counts for signature (" + s.signer + ")");
    }
  }
  for (const policy::ProvenanceFact& p : f.provenance) {
    if (p.file == file) {
      out.push_back("counts for provenance (" + p.signer + "): builder " + quote_for_message(p.provenance.builder_id));
    }
  }
  for (const policy::ApprovalFact& p : f.approvals) {
    if (p.file == file) {
      out.push_back("counts for reviews (" + p.group + "): " + quote_for_message(p.approval.reviewer) + " " +
                    (p.approval.decision == ApprovalDecision::kApproved ? "approved" : "rejected"));
    }
  }
  for (const policy::TestResultFact& t : f.test_results) {
    if (t.file == file) {
      out.push_back("counts for evaluations (" + t.signer + "): " + std::string(test_outcome_name(t.result.result)));
    }
  }
  for (const policy::Rejection& r : f.rejected) {
    if (r.file == file) {
      out.push_back("does not verify: " + r.error.message);
    }
  }
  for (const policy::IgnoredEvidence& i : f.ignored) {
    if (i.file == file) {
      out.push_back("ignored: " + i.why);
    }
  }
  if (file == f.signature_file && !f.from_store) {
    for (const auto& [signer, e] : f.signature_failures) {
      out.push_back("does not verify for " + signer + ": " + e.message);
    }
    if (f.model_error) {
      out.push_back("cannot verify: " + f.model_error->message);
    }
  }
  if (out.empty()) {
    return "not read";
  }
  std::string s;
  for (const std::string& x : out) {
    s += (s.empty() ? "" : "; ") + x;
  }
  return s;
}

int run_evidence(const EvidenceArgs& a) {
  if (a.model.empty() == a.digest.empty()) {
    return usage_error("give either MODEL or --digest sha256:HEX");
  }
  if (a.stores.empty()) {
    return usage_error("--store: give the evidence store(s) to read");
  }
  std::vector<fs::path> stores(a.stores.begin(), a.stores.end());
  std::string hex;
  if (!a.digest.empty()) {
    if (a.digest.size() != 71 || a.digest.compare(0, 7, "sha256:") != 0 || !is_lower_hex(a.digest.substr(7))) {
      return usage_error("--digest: expected sha256:<64 lowercase hex digits>");
    }
    hex = a.digest.substr(7);
  } else {
    auto root = model_root_digest(a.model, a.signature_file);
    if (!root.ok()) {
      const Error& e = root.error();
      if (e.code == Code::kNotFound || e.code == Code::kIo) {
        return usage_error(e.message);
      }
      print_error(e.message);
      return kExitFailed;
    }
    hex = to_hex(root.value());
  }
  const std::vector<Row> rows = list_rows(a, hex, stores);
  std::printf("evidence for sha256:%s\n", hex.c_str());
  std::size_t wf = 4;
  for (const Row& r : rows) {
    wf = std::max(wf, std::min<std::size_t>(quote_for_message(r.file).size(), 48));
  }
  if (!a.explain) {
    std::printf("  %s%s%s%s\n", pad("FILE", wf).c_str(), pad("KIND", 11).c_str(), pad("SIGNER", 22).c_str(), "ABOUT");
    for (const Row& r : rows) {
      std::printf("  %s%s%s%s\n", pad(quote_for_message(r.file), wf).c_str(), pad(r.kind, 11).c_str(),
                  pad(r.signer, 22).c_str(), r.about.c_str());
    }
    if (rows.empty()) {
      std::printf("  (nothing filed under sha256:%s in %zu store%s)\n", hex.c_str(), stores.size(),
                  stores.size() == 1 ? "" : "s");
    }
    return kExitOk;
  }

  if (a.policies.empty()) {
    return usage_error("evidence explain needs --policy (the trust that decides what verifies)");
  }
  std::vector<policy::RootOverride> overrides;
  for (const std::string& r : a.roots) {
    auto o = parse_root_flag(r);
    if (!o.ok()) {
      return usage_error(o.error().message);
    }
    overrides.push_back(policy::RootOverride{o->first, o->second});
  }
  policy::EvidenceOptions options;
  options.stores = stores;
  if (!a.now.empty()) {
    auto now = parse_now_flag(a.now);
    if (!now.ok()) {
      return usage_error(now.error().message);
    }
    options.now = now.value();
  }
  std::vector<fs::path> policy_paths(a.policies.begin(), a.policies.end());
  policy::TrustOutcome trust = policy::load_trusted_policies(policy_paths, 1, overrides);
  for (const policy::Diagnostic& d : trust.diagnostics) {
    std::fprintf(stderr, "%s\n", policy::format_diagnostic(d).c_str());
  }
  if (!trust.ok()) {
    return kExitUsage;
  }
  for (const policy::CompiledPolicy& c : trust.trusted->policies()) {
    policy::ModelFacts f = a.model.empty() ? policy::collect_store_facts(c, hex, {}, options)
                                           : policy::collect_model_facts(c, a.model, a.signature_file, options);
    std::printf("policy %s:\n", quote_for_message(c.policy->name.value).c_str());
    for (const Row& r : rows) {
      std::printf("  %s%s%s%s\n", pad(quote_for_message(r.file), wf).c_str(), pad(r.kind, 11).c_str(),
                  pad(r.signer, 22).c_str(), fate(f, r.file).c_str());
    }
    const policy::PolicyEvaluation e = policy::evaluate(c, f);
    for (const policy::RuleResult& rr : e.rules) {
      std::printf("  rule %s: %s: %s%s\n", rr.rule.c_str(), std::string(policy::rule_status_name(rr.status)).c_str(),
                  rr.reason.empty() ? "" : (rr.reason + ": ").c_str(), rr.message.c_str());
    }
  }
  return kExitOk;
}

void add_common(CLI::App* sub, EvidenceArgs& a) {
  sub->add_option("model", a.model, "model directory (its root digest is computed as attest does)");
  sub->add_option("--digest", a.digest, "the model's root digest instead of MODEL (sha256:HEX)");
  sub->add_option("--signature-file", a.signature_file, "signature file name inside MODEL (default model.sig)");
  sub->add_option("--store", a.stores, "evidence store directory (repeatable)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->expected(1)
      ->allow_extra_args(false);
}

}  // namespace

void register_evidence(CLI::App& app, Runner& run) {
  auto args = std::make_shared<EvidenceArgs>();
  CLI::App* evidence = app.add_subcommand("evidence", "see what the evidence store holds for a model, and why it counts");
  evidence->require_subcommand(1);

  CLI::App* ls = evidence->add_subcommand("ls", "list every file filed for a model: kind, claimed signer, subject");
  add_common(ls, *args);
  ls->callback([args, &run] {
    args->explain = false;
    run = [args] { return run_evidence(*args); };
  });

  CLI::App* explain = evidence->add_subcommand(
      "explain", "for each policy: what each file counts for, why it does not verify, or why it is ignored");
  add_common(explain, *args);
  explain->add_option("--policy", args->policies, "policy file or directory (repeatable)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->expected(1)
      ->allow_extra_args(false);
  explain->add_option("--root", args->roots, "read what policies name under FROM from a local directory: FROM=DIR")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->expected(1)
      ->allow_extra_args(false);
  explain->add_option("--now", args->now, "judge times at this RFC 3339 time instead of the clock");
  explain->callback([args, &run] {
    args->explain = true;
    run = [args] { return run_evidence(*args); };
  });
}

}  // namespace modelgate::cli
