// policy_command.cpp: `modelgate policy lint FILE|DIR... [--check-files [--root FROM=DIR]...]
// [--output text|json]`. `modelgate policy test [--explain] FILE|DIR...`: run PolicyTest cases
// through the webhook's decision path.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "admission/cli/cli_common.h"
#include "admission/cli/commands.h"
#include "admission/policy_test.h"
#include "policy/lint.h"

namespace modelgate::cli {

namespace {

struct LintArgs {
  std::vector<std::string> paths;
  bool check_files = false;
  std::vector<std::string> roots;
  std::string output = "text";
};

int run_lint(const LintArgs& args) {
  std::vector<std::filesystem::path> paths(args.paths.begin(), args.paths.end());
  policy::LintOptions options;
  options.check_files = args.check_files;
  for (const std::string& r : args.roots) {
    auto o = parse_root_flag(r);
    if (!o.ok()) {
      return usage_error(o.error().message);
    }
    options.root_overrides.push_back(policy::RootOverride{o->first, o->second});
  }
  const policy::LintReport report = policy::lint_policies(paths, options);
  if (args.output == "json") {
    const std::string json = policy::format_lint_json(report);
    std::fwrite(json.data(), 1, json.size(), stdout);
  } else {
    // Diagnostics on stderr, the one-line result on stdout (STYLE.md §9).
    const std::string diags = policy::format_lint_diagnostics(report);
    std::fwrite(diags.data(), 1, diags.size(), stderr);
    // Notes (what a policy does by default) and the one-line result on stdout.
    const std::string summary = policy::format_lint_notes(report) + policy::format_lint_summary(report);
    std::fwrite(summary.data(), 1, summary.size(), stdout);
  }
  std::fflush(stdout);
  if (report.unreadable_input()) {
    return kExitUsage;
  }
  return report.errors() > 0 ? kExitFailed : kExitOk;
}

struct TestArgs {
  std::vector<std::string> paths;
  std::vector<std::string> cluster_state;
  bool explain = false;
};

int run_test(const TestArgs& args) {
  std::vector<std::filesystem::path> paths(args.paths.begin(), args.paths.end());
  std::vector<std::filesystem::path> cluster(args.cluster_state.begin(), args.cluster_state.end());
  const admission::PolicyTestReport report = admission::run_policy_tests(paths, args.explain, cluster);
  for (const policy::Diagnostic& d : report.diagnostics) {
    std::fprintf(stderr, "%s\n", policy::format_diagnostic(d).c_str());
  }
  const std::string table = admission::format_policy_test_table(report);
  std::fwrite(table.data(), 1, table.size(), stdout);
  std::fflush(stdout);
  if (policy::has_errors(report.diagnostics)) {
    bool io = std::any_of(report.diagnostics.begin(), report.diagnostics.end(),
                          [](const policy::Diagnostic& d) { return d.code == Code::kIo || d.code == Code::kNotFound; });
    return io && report.results.empty() ? kExitUsage : kExitFailed;
  }
  return report.failed() > 0 ? kExitFailed : kExitOk;
}

}  // namespace

void register_policy(CLI::App& app, Runner& run) {
  CLI::App* policy = app.add_subcommand("policy", "Write and check model policies");
  policy->require_subcommand(1);

  auto args = std::make_shared<LintArgs>();
  CLI::App* lint = policy->add_subcommand(
      "lint", "Check policy files and directories: every error at once as file:line:col; exit 1 on any");
  lint->add_option("paths", args->paths, "Policy files, or directories of *.yaml / *.yml files")
      ->required()
      ->type_name("FILE|DIR");
  lint->add_flag("--check-files", args->check_files,
                 "Also check that referenced keys, trusted roots and dataset catalogs exist and read");
  lint->add_option("--root", args->roots,
                   "With --check-files, read what policies name under FROM from a local directory: "
                   "/etc/modelgate=./etc (repeatable)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->expected(1)
      ->allow_extra_args(false);
  lint->add_option("--output", args->output, "Result format: text (default) or json")
      ->check(CLI::IsMember({"text", "json"}));
  lint->callback([args, &run] { run = [args] { return run_lint(*args); }; });

  auto targs = std::make_shared<TestArgs>();
  CLI::App* test = policy->add_subcommand(
      "test", "Run PolicyTest cases (workloads + model fixtures + expected decisions); exit 1 on a mismatch");
  test->add_option("paths", targs->paths, "PolicyTest files, or directories searched for them")
      ->required()
      ->type_name("FILE|DIR");
  test->add_option("--cluster-state", targs->cluster_state,
                   "claims, volumes and namespaces to judge against: `kubectl get pvc,pv,ns -A -o yaml` output "
                   "(repeatable; added to each file's clusterState)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)->expected(1)->allow_extra_args(false);
  test->add_flag("--explain", targs->explain, "Print under each case every policy and rule that ran, passes too");
  test->callback([targs, &run] { run = [targs] { return run_test(*targs); }; });
}

}  // namespace modelgate::cli
