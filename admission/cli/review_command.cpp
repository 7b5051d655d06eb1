// review_command.cpp: `modelgate review (--config CONFIG | --policy P...) -f FILE`: run the
// webhook's decision path offline on a workload manifest or an AdmissionReview and print each
// decision with its reasons, as kubectl would show them. Exit 0 all allowed, 1 any denied.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "admission/cli/cli_common.h"
#include "admission/cli/commands.h"
#include "admission/config.h"
#include "admission/explain.h"
#include "admission/review_input.h"
#include "admission/webhook.h"
#include "crypto/json.h"

namespace modelgate::cli {

namespace {

namespace fs = std::filesystem;
using namespace modelgate::admission;

struct ReviewArgs {
  std::string config;
  std::vector<std::string> policies;
  std::vector<std::string> evidence;
  std::vector<std::string> roots;
  std::vector<std::string> files;
  std::vector<std::string> cluster_state;
  std::string namespace_name = "default";
  std::string output = "text";
  std::string now;
  std::string as_user;                  // --as: the requesting user (userInfo.username)
  std::vector<std::string> as_groups;   // --as-group: their groups
  bool explain = false;
};

int run_review(const ReviewArgs& a) {
  ServerConfig config;
  if (!a.config.empty()) {
    ConfigOutcome c = load_server_config(a.config);
    for (const policy::Diagnostic& d : c.diagnostics) {
      std::fprintf(stderr, "%s\n", policy::format_diagnostic(d).c_str());
    }
    if (!c.ok()) {
      return kExitUsage;
    }
    config = std::move(c.config);
  }
  for (const std::string& p : a.policies) {
    config.policies.emplace_back(p);
  }
  for (const std::string& e : a.evidence) {
    config.evidence_stores.emplace_back(e);
  }
  for (const std::string& r : a.roots) {
    auto o = parse_root_flag(r);
    if (!o.ok()) {
      return usage_error(o.error().message);
    }
    config.root_overrides.push_back(std::move(o).value());
  }
  if (!a.now.empty()) {
    // Like PolicyTest's `now:`: maxAge and certificate validity are judged at this time.
    auto now = parse_now_flag(a.now);
    if (!now.ok()) {
      return usage_error(now.error().message);
    }
    config.now = now.value();
  }
  if (config.policies.empty()) {
    return usage_error("no policies: give --config or --policy");
  }
  // Offline: never the live API, whatever --config says; without files, pvc sources deny with
  // "pass --cluster-state".
  config.cluster_state_files = std::vector<fs::path>(a.cluster_state.begin(), a.cluster_state.end());
  config.log_level = log::Level::kWarn;  // the decision is printed; logs stay for problems
  config.prewarm = false;                 // one offline decision: nothing to hash ahead of time
  auto webhook = Webhook::create(config, nullptr);
  if (!webhook.ok()) {
    print_error(webhook.error().message);
    return webhook.error().code == Code::kIo || webhook.error().code == Code::kNotFound ? kExitUsage : kExitFailed;
  }
  bool any_denied = false;
  crypto::Json all = crypto::Json::array();
  for (const std::string& f : a.files) {
    auto reqs = read_review_input(f, a.namespace_name);
    if (!reqs.ok()) {
      return reqs.error().code == Code::kNotFound || reqs.error().code == Code::kIo
                 ? usage_error(reqs.error().message)
                 : (print_error(reqs.error().message), kExitFailed);
    }
    for (AdmissionRequest& r : reqs.value()) {
      // Who applies the object decides break-glass (breakGlass.allowedUsers/allowedGroups), as
      // kubectl --as would make the apiserver say.
      if (!a.as_user.empty()) {
        r.username = a.as_user;
        r.groups = a.as_groups;
      }
      DecisionTrace trace;
      AdmissionResponse resp = webhook.value()->decide(r, a.explain ? &trace : nullptr);
      any_denied = any_denied || !resp.allowed;
      if (a.output == "json") {
        all.push_back(crypto::Json::parse(encode_admission_review(resp)));
        continue;
      }
      const std::string who = r.kind.kind + "/" + (r.name.empty() ? "(generated)" : r.name) + " in namespace " +
                              r.namespace_name;
      if (resp.allowed) {
        std::printf("ALLOWED %s\n", who.c_str());
      } else {
        std::printf("DENIED  %s\n  admission webhook \"verify.modelgate.dev\" denied the request: %s\n", who.c_str(),
                    resp.message.c_str());
      }
      for (const std::string& w : resp.warnings) {
        std::printf("  Warning: %s\n", w.c_str());
      }
      if (a.explain) {
        std::printf("%s", format_explanation(trace, "  ").c_str());
      }
      for (const auto& [k, v] : resp.audit_annotations) {
        std::fprintf(stderr, "  audit: %s=%s\n", k.c_str(), v.c_str());
      }
    }
  }
  if (a.output == "json") {
    std::printf("%s\n", crypto::Json{{"schema", "modelgate.dev/review/v1"}, {"reviews", all}}.dump(2).c_str());
  }
  return any_denied ? kExitFailed : kExitOk;
}

}  // namespace

void register_review(CLI::App& app, Runner& run) {
  auto args = std::make_shared<ReviewArgs>();
  CLI::App* review = app.add_subcommand(
      "review", "decide workloads offline exactly as the webhook would (exit 0 allowed, 1 denied)");
  review->add_option("--config", args->config, "the webhook's ServerConfig file");
  review->add_option("--policy", args->policies, "policy file or directory (repeatable; adds to --config)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)->expected(1)->allow_extra_args(false);
  review->add_option("--evidence", args->evidence, "evidence store directory (repeatable)")->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)->expected(1)->allow_extra_args(false);
  review->add_option("--root", args->roots,
                     "read a source root from a local directory: /mnt/models=./models (repeatable)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)->expected(1)->allow_extra_args(false);
  review->add_option("-f,--filename", args->files, "workload manifest(s) or AdmissionReview JSON")
      ->required()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)->expected(1)->allow_extra_args(false);
  review->add_option("--cluster-state", args->cluster_state,
                     "claims, volumes and namespaces to judge against: `kubectl get pvc,pv,ns -A -o yaml` output "
                     "(repeatable; a List or several documents)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)->expected(1)->allow_extra_args(false);
  review->add_option("--namespace,-n", args->namespace_name, "namespace for objects that name none");
  review->add_flag("--explain", args->explain,
                   "also print every policy that matched (or why none did) and every rule that ran, allows too");
  review->add_option("--now", args->now, "judge at this time instead of the clock (RFC 3339), as PolicyTest's now:");
  review->add_option("--as", args->as_user, "judge as this user applied the objects (userInfo.username), as kubectl --as");
  review->add_option("--as-group", args->as_groups, "a group of the --as user (repeatable)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)->expected(1)->allow_extra_args(false);
  review->add_option("--output", args->output, "text (default) or json")->check(CLI::IsMember({"text", "json"}));
  review->callback([args, &run] { run = [args] { return run_review(*args); }; });
}

}  // namespace modelgate::cli
