// lint.cpp: run the policy loader for humans and CI: all diagnostics, optional file checks.
#include "policy/lint.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <system_error>

#include "base/limits.h"
#include "policy/dataset_catalog.h"
#include "policy/document.h"
#include "policy/policy_set.h"
#include "policy/yaml_reader.h"

namespace modelgate::policy {

namespace {

class FileChecker {
 public:
  explicit FileChecker(LintReport& report) : report_(report) {}

  // A file the webhook will read later: readable, regular, within its bound.
  void file(const PathRef& ref, std::string_view what, std::size_t max_bytes) {
    auto r = yaml::read_text_file(ref.resolved, max_bytes);
    if (!r.ok()) {
      missing(ref, what, r.error().message);
    }
  }

  void directory(const PathRef& ref, std::string_view what) {
    std::error_code ec;
    std::filesystem::directory_iterator it(ref.resolved, ec);
    if (ec) {
      missing(ref, what, "cannot list: " + ec.message());
    }
  }

  void catalog(const PathRef& ref) {
    const std::string key = ref.resolved.string();
    auto found = catalogs_.find(key);
    if (found == catalogs_.end()) {
      CatalogOutcome c = load_dataset_catalog(ref.resolved);
      const bool unreadable = !c.diagnostics.empty() && !c.diagnostics.front().position.known() &&
                              c.diagnostics.front().code == Code::kIo;
      std::string why = unreadable ? c.diagnostics.front().message : std::string();
      if (!unreadable) {
        report_.catalogs.push_back(ref.resolved);
        for (Diagnostic& d : c.diagnostics) {
          report_.diagnostics.push_back(std::move(d));
        }
      }
      found = catalogs_.emplace(key, why).first;
    }
    if (!found->second.empty()) {
      missing(ref, "dataset catalog", found->second);
    }
  }

 private:
  void missing(const PathRef& ref, std::string_view what, const std::string& why) {
    std::string hint;
    if (ref.resolved.string() != ref.written) {
      hint = "resolved to " + quote(ref.resolved.string()) +
             (!ref.written.empty() && ref.written[0] == '/' ? " (--root)" : ", relative to the policy file");
    }
    report_.diagnostics.push_back(Diagnostic{ref.position, Severity::kError, Code::kNotFound,
                                             std::string(what) + " " + quote(ref.written) + ": " + why,
                                             std::move(hint)});
  }

  LintReport& report_;
  std::map<std::string, std::string> catalogs_;  // resolved path → why it cannot be read ("" = read)
};

void check_keyless(FileChecker& check, const KeylessIdentity& id) {
  if (id.trusted_root) {
    check.file(*id.trusted_root, "trusted root", limits::kMaxTrustedRootBytes);
  }
}

void check_policy_files(FileChecker& check, const Policy& p) {
  for (const Signer& s : p.trust.signers) {
    if (const auto* k = std::get_if<PublicKeyTrust>(&s.method)) {
      check.file(k->path, "public key", limits::kMaxKeyFileBytes);
    } else if (const auto* c = std::get_if<CertificateTrust>(&s.method)) {
      check.file(c->roots, "certificate roots", limits::kMaxKeyFileBytes);
    } else if (const auto* id = std::get_if<KeylessIdentity>(&s.method)) {
      check_keyless(check, *id);
    }
  }
  for (const ReviewerGroup& g : p.trust.reviewers) {
    for (const PathRef& k : g.public_keys) {
      check.file(k, "public key", limits::kMaxKeyFileBytes);
    }
    if (g.public_key_dir) {
      check.directory(*g.public_key_dir, "public key directory");
    }
    for (const KeylessIdentity& id : g.keyless) {
      check_keyless(check, id);
    }
  }
  if (p.require.datasets) {
    check.catalog(p.require.datasets->catalog);
  }
}

std::string_view severity_name(Severity s) { return s == Severity::kError ? "error" : "warning"; }

std::string plural(std::size_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

// check_claim_identity: a pvc source without volumeName trusts a claim's name, which any user who
// may create claims in the namespace can reuse for a claim bound to their own volume. The webhook
// denies pods such a source claims; lint says so before it is deployed.
void check_claim_identity(const Policy& p, std::vector<Diagnostic>& out) {
  for (const Source& s : p.sources) {
    const auto* pvc = std::get_if<PvcSource>(&s.volume);
    if (pvc == nullptr || pvc->volume_name) {
      continue;
    }
    out.push_back(Diagnostic{pvc->claim_name.position, Severity::kError, Code::kMalformed,
                             "source " + quote(s.name.value) + ": pvc needs volumeName",
                             "a claim name proves nothing: anyone who may create PersistentVolumeClaims in the "
                             "namespace can create one of that name bound to a volume they control; name the "
                             "PersistentVolume(s) that hold the models, e.g. volumeName: \"^models-ro-pv$\" "
                             "(pods this source claims are denied until then)"});
  }
}

}  // namespace

bool LintReport::unreadable_input() const {
  return std::any_of(diagnostics.begin(), diagnostics.end(), [](const Diagnostic& d) { return d.code == Code::kIo; });
}

LintReport lint_policies(std::span<const std::filesystem::path> paths, const LintOptions& options) {
  LintReport report;
  report.files = list_policy_files(paths, report.diagnostics);
  std::vector<Policy> policies;
  std::vector<std::filesystem::path> good_files;
  std::size_t expanded = 0;
  for (const std::filesystem::path& f : report.files) {
    ParseOutcome one = load_policy_file(f);
    for (Diagnostic& d : one.diagnostics) {
      report.diagnostics.push_back(std::move(d));
    }
    if (one.ok()) {
      good_files.push_back(f);
    }
    for (Policy& p : one.policies) {
      policies.push_back(std::move(p));
    }
    if (!within_set_budget(f, one.expanded_bytes, expanded, report.diagnostics)) {
      break;
    }
  }
  report.policies = policies.size();
  for (const Policy& p : policies) {
    check_claim_identity(p, report.diagnostics);
    if (p.other_volumes.defaulted) {
      std::string kinds;
      for (std::string_view k : kDefaultNotModelVolumeKinds) {
        kinds += (kinds.empty() ? "" : ", ") + std::string(k);
      }
      report.notes.push_back("policy " + quote(p.name.value) + " (" + p.name.position.file +
                             "): a matched pod's volumes that no source claims are denied unless of a kind in "
                             "spec.otherVolumes.allow, by default: " + kinds);
    }
  }
  if (options.check_files) {
    FileChecker check(report);
    std::vector<Policy> local = policies;  // the set below is built from what the files say
    apply_root_overrides(local, options.root_overrides);
    for (const Policy& p : local) {
      check_policy_files(check, p);
    }
  }
  // Cross-file checks over every file that parsed: the same ones the webhook's loader makes.
  PolicySetOutcome set = build_policy_set(std::move(policies), std::move(good_files), 0);
  for (Diagnostic& d : set.diagnostics) {
    report.diagnostics.push_back(std::move(d));
  }
  sort_diagnostics(report.diagnostics);
  return report;
}

std::string format_lint_diagnostics(const LintReport& report) {
  std::string out;
  for (const Diagnostic& d : report.diagnostics) {
    out += format_diagnostic(d);
    out += '\n';
  }
  return out;
}

std::string format_lint_notes(const LintReport& report) {
  std::string out;
  for (const std::string& n : report.notes) {
    out += "note: " + n + "\n";
  }
  return out;
}

std::string format_lint_summary(const LintReport& report) {
  return plural(report.policies, "policy", "policies") + " in " + plural(report.files.size(), "file", "files") + ": " +
         plural(report.errors(), "error", "errors") + ", " + plural(report.warnings(), "warning", "warnings") + "\n";
}

std::string format_lint_json(const LintReport& report) {
  nlohmann::json j;
  j["schema"] = "modelgate.dev/policy-lint/v1";
  j["ok"] = report.errors() == 0;
  j["files"] = nlohmann::json::array();
  for (const auto& f : report.files) {
    j["files"].push_back(f.string());
  }
  j["policies"] = report.policies;
  j["errors"] = report.errors();
  j["warnings"] = report.warnings();
  j["notes"] = report.notes;
  j["diagnostics"] = nlohmann::json::array();
  for (const Diagnostic& d : report.diagnostics) {
    nlohmann::json e;
    e["file"] = d.position.file;
    e["line"] = d.position.line;
    e["column"] = d.position.column;
    e["severity"] = severity_name(d.severity);
    e["code"] = code_name(d.code);
    e["message"] = d.message;
    e["hint"] = d.hint;
    j["diagnostics"].push_back(std::move(e));
  }
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace modelgate::policy
