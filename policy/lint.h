// lint.h: `modelgate policy lint`: every diagnostic of a set of policy files and directories at
// once (the same checks the webhook's loader makes, plus cross-file ones), optionally checking
// that the key, trusted-root and catalog files policies name exist and parse. Not evaluation
// (`policy test`) and not trust loading: keys are checked for readability, not parsed.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "policy/diagnostic.h"
#include "policy/trust_material.h"

namespace modelgate::policy {

struct LintOptions {
  // check_files: every referenced key/certificate/trusted-root file must be a readable regular
  // file within its size bound, reviewer key directories must be listable directories, and each
  // dataset catalog must parse (its own diagnostics are reported in the catalog file).
  bool check_files = false;
  // root_overrides: read the files policies name under an absolute prefix from a local directory
  // instead (`--root /etc/modelgate=DIR`, as `review` and `policy test` do), so CI can check
  // policies written for the cluster. Only check_files reads them.
  std::vector<RootOverride> root_overrides;
};

struct LintReport {
  std::vector<Diagnostic> diagnostics;       // files in argument order, then by position
  std::vector<std::filesystem::path> files;  // policy files read
  std::vector<std::filesystem::path> catalogs;  // catalogs parsed (check_files only)
  std::size_t policies = 0;                  // policies in files without errors
  // notes: what each policy does that its file does not spell out (today: the default
  // otherVolumes list), one line each, "policy \"p\" (file): ...". Not diagnostics: not counted.
  std::vector<std::string> notes;

  std::size_t errors() const { return count_severity(diagnostics, Severity::kError); }
  std::size_t warnings() const { return count_severity(diagnostics, Severity::kWarning); }
  // unreadable_input: a path given to lint (or a file in a given directory) could not be read.
  bool unreadable_input() const;
};

// lint_policies runs the policy loader over `paths` (files and directories, see
// list_policy_files) and collects everything it reports, never stopping at the first error.
// Thread-safe.
LintReport lint_policies(std::span<const std::filesystem::path> paths, const LintOptions& options);

// format_lint_diagnostics: one compiler-style line per diagnostic, each ending in '\n'.
std::string format_lint_diagnostics(const LintReport& report);
// format_lint_notes: "note: " + each note + '\n'.
std::string format_lint_notes(const LintReport& report);
// format_lint_summary: "4 policies in 3 files: 0 errors, 1 warning\n".
std::string format_lint_summary(const LintReport& report);
// format_lint_json: the versioned JSON report (schema "modelgate.dev/policy-lint/v1"): ok,
// files, policies, errors, warnings, notes[string], diagnostics[{file, line, column, severity, code, message,
// hint}]. Invalid UTF-8 in paths is replaced, never thrown on.
std::string format_lint_json(const LintReport& report);

}  // namespace modelgate::policy
