#include "admission/policy_test.h"

#include <algorithm>
#include <system_error>

#include "admission/config.h"
#include "admission/explain.h"
#include "admission/review_input.h"
#include "admission/webhook.h"
#include "base/limits.h"
#include "policy/dataset_catalog.h"
#include "policy/yaml_reader.h"

namespace modelgate::admission {

namespace fs = std::filesystem;
namespace y = policy::yaml;

namespace {

fs::path resolve(const fs::path& base, const std::string& p) {
  fs::path q(p);
  return (q.is_absolute() ? q : base / q).lexically_normal();
}

std::vector<std::string> strings(y::Reader& r, const y::Map& m, std::string_view key) {
  std::vector<std::string> out;
  if (auto f = m.get(key)) {
    if (auto list = r.string_list(*f, limits::kMaxPolicyListItems)) {
      for (auto& s : *list) {
        out.push_back(s.value);
      }
    }
  }
  return out;
}

std::optional<PolicyTestFile> parse_test_doc(y::Reader& r, const YAML::Node& doc, const fs::path& file) {
  const fs::path base = file.parent_path();
  y::Field root = r.root(doc);
  y::Map top(r, root,
             {"apiVersion", "kind", "metadata", "policies", "evidence", "clusterState", "paths", "now", "namespace",
              "cases"});
  if (!top.ok()) {
    return std::nullopt;
  }
  PolicyTestFile t;
  t.file = file;
  for (const std::string& p : strings(r, top, "policies")) {
    t.policies.push_back(resolve(base, p));
  }
  if (!top.has("policies")) {
    top.required("policies");
  }
  for (const std::string& e : strings(r, top, "evidence")) {
    t.evidence.push_back(resolve(base, e));
  }
  for (const std::string& e : strings(r, top, "clusterState")) {
    t.cluster_state.push_back(resolve(base, e));
  }
  if (auto f = top.get("now")) {
    if (auto s = r.string(*f)) {
      auto ts = policy::parse_timestamp(s->value);
      if (ts.ok()) {
        t.now = ts->time_since_epoch().count();
      } else {
        r.error(*f, "expected an RFC 3339 time (2026-06-01T00:00:00Z)");
      }
    }
  }
  if (auto f = top.get("paths")) {
    y::Map roots = y::Map::any_keys(r, *f);
    for (const auto& [k, v] : roots.entries()) {
      if (auto dir = r.string(v)) {
        t.roots.emplace_back(k.value, resolve(base, dir->value));
      }
    }
  }
  if (auto f = top.get("namespace")) {
    if (auto ns = r.string(*f)) {
      t.namespace_name = ns->value;
    }
  }
  auto cases_f = top.required("cases");
  if (!cases_f) {
    return std::nullopt;
  }
  auto items = r.list(*cases_f, limits::kMaxPolicyListItems);
  if (!items) {
    return std::nullopt;
  }
  for (const y::Field& item : *items) {
    y::Map c(r, item, {"name", "resource", "namespace", "userInfo", "expect"});
    if (!c.ok()) {
      continue;
    }
    TestCase tc;
    tc.position = c.position();
    if (auto f = c.required("name")) {
      if (auto s = r.string(*f)) {
        tc.name = s->value;
      }
    }
    if (auto f = c.required("resource")) {
      if (auto s = r.string(*f)) {
        tc.resource = resolve(base, s->value);
      }
    }
    if (auto f = c.get("namespace")) {
      if (auto s = r.string(*f)) {
        tc.namespace_name = s->value;
      }
    }
    if (auto f = c.get("userInfo")) {
      // Who applies the resource (the AdmissionReview's userInfo): decides break-glass.
      y::Map u(r, *f, {"username", "groups"});
      if (auto n = u.required("username")) {
        if (auto s = r.string(*n)) {
          tc.username = s->value;
        }
      }
      tc.groups = strings(r, u, "groups");
    }
    if (auto f = c.required("expect")) {
      y::Map e(r, *f, {"allowed", "reasons", "messageContains", "warningsContain"});
      if (auto a = e.required("allowed")) {
        if (auto b = r.boolean(*a)) {
          tc.expect.allowed = b->value;
        }
      }
      tc.expect.reasons = strings(r, e, "reasons");
      tc.expect.message_contains = strings(r, e, "messageContains");
      tc.expect.warnings_contain = strings(r, e, "warningsContain");
    }
    t.cases.push_back(std::move(tc));
  }
  return t;
}

std::vector<fs::path> find_test_files(const std::vector<fs::path>& paths, std::vector<policy::Diagnostic>& diags) {
  std::vector<fs::path> out;
  for (const fs::path& p : paths) {
    std::error_code ec;
    if (fs::is_regular_file(p, ec)) {
      out.push_back(p);
      continue;
    }
    if (!fs::is_directory(p, ec)) {
      diags.push_back(policy::Diagnostic{policy::Position{p.string(), 0, 0}, policy::Severity::kError, Code::kIo,
                                         "cannot read: no such file or directory", ""});
      continue;
    }
    std::vector<fs::path> found;
    for (fs::recursive_directory_iterator it(p, ec), end; !ec && it != end; it.increment(ec)) {
      if (found.size() > limits::kMaxPolicyFiles) {
        break;
      }
      const fs::path& f = it->path();
      if (!it->is_regular_file(ec) || (f.extension() != ".yaml" && f.extension() != ".yml")) {
        continue;
      }
      // Cheap filter: only files that declare kind: PolicyTest are test files.
      auto text = y::read_text_file(f, limits::kMaxPolicyFileBytes);
      if (text.ok() && text->find("kind: PolicyTest") != std::string::npos) {
        found.push_back(f);
      }
    }
    std::sort(found.begin(), found.end());
    if (found.empty()) {
      diags.push_back(policy::Diagnostic{policy::Position{p.string(), 0, 0}, policy::Severity::kError,
                                         Code::kNotFound, "no PolicyTest files (kind: PolicyTest) found", ""});
    }
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

std::string describe_expectation(const TestExpectation& e) {
  std::string s = e.allowed ? "allow" : "deny";
  if (!e.reasons.empty()) {
    std::string list;
    for (const std::string& r : e.reasons) {
      list += (list.empty() ? "" : ",") + r;
    }
    s += " (" + list + ")";
  }
  return s;
}

CaseResult run_case(Webhook& webhook, const PolicyTestFile& t, const TestCase& tc, bool explain) {
  CaseResult res;
  res.file = t.file.string();
  res.name = tc.name;
  res.expected = describe_expectation(tc.expect);
  auto reqs = read_review_input(tc.resource, tc.namespace_name.empty() ? t.namespace_name : tc.namespace_name);
  if (!reqs.ok()) {
    res.got = "error";
    res.detail = reqs.error().message;
    return res;
  }
  // A case is allowed only when every object in its resource file is.
  bool allowed = true;
  std::string message;
  std::vector<std::string> warnings;
  std::string reasons;
  for (AdmissionRequest& r : reqs.value()) {
    if (!tc.namespace_name.empty()) {
      r.namespace_name = tc.namespace_name;
    }
    if (!tc.username.empty()) {
      r.username = tc.username;
      r.groups = tc.groups;
    }
    DecisionTrace trace;
    AdmissionResponse resp = webhook.decide(r, explain ? &trace : nullptr);
    if (explain) {
      res.explanation += format_explanation(trace, "    ");
    }
    allowed = allowed && resp.allowed;
    message += resp.message;
    warnings.insert(warnings.end(), resp.warnings.begin(), resp.warnings.end());
    auto it = resp.audit_annotations.find("reasons");
    if (it != resp.audit_annotations.end()) {
      reasons += (reasons.empty() ? "" : ",") + it->second;
    }
  }
  res.got = std::string(allowed ? "allow" : "deny") + (reasons.empty() ? "" : " (" + reasons + ")");
  if (allowed != tc.expect.allowed) {
    res.detail = message.empty() ? "" : "message: " + message;
    return res;
  }
  const std::string padded = "," + reasons + ",";
  for (const std::string& r : tc.expect.reasons) {
    if (padded.find("," + r + ",") == std::string::npos) {
      res.detail = "reason " + r + " not among the failing rules";
      return res;
    }
  }
  for (const std::string& m : tc.expect.message_contains) {
    if (message.find(m) == std::string::npos) {
      res.detail = "message does not contain " + policy::quote(m) + "; it is: " + message;
      return res;
    }
  }
  for (const std::string& w : tc.expect.warnings_contain) {
    bool found = std::any_of(warnings.begin(), warnings.end(), [&](const std::string& x) { return x.find(w) != std::string::npos; });
    if (!found) {
      res.detail = "no warning contains " + policy::quote(w);
      return res;
    }
  }
  res.passed = true;
  return res;
}

}  // namespace

std::size_t PolicyTestReport::failed() const {
  return static_cast<std::size_t>(std::count_if(results.begin(), results.end(), [](const CaseResult& r) { return !r.passed; }));
}

PolicyTestReport run_policy_tests(const std::vector<fs::path>& paths, bool explain,
                                  const std::vector<fs::path>& cluster_state) {
  PolicyTestReport report;
  for (const fs::path& file : find_test_files(paths, report.diagnostics)) {
    policy::Diagnostics diags;
    auto text = y::read_text_file(file, limits::kMaxPolicyFileBytes);
    if (!text.ok()) {
      report.diagnostics.push_back(policy::Diagnostic{policy::Position{file.string(), 0, 0}, policy::Severity::kError,
                                                      text.error().code, text.error().message, ""});
      continue;
    }
    y::ReadLimits rl{limits::kMaxPolicyFileBytes, limits::kMaxPolicyNodes, limits::kMaxPolicyDepth,
                     limits::kMaxPolicyExpandedBytes};
    std::vector<YAML::Node> docs = y::load_documents(text.value(), file.string(), rl, diags);
    std::vector<PolicyTestFile> tests;
    y::Reader reader(file.string(), diags);
    for (const YAML::Node& doc : docs) {
      if (auto t = parse_test_doc(reader, doc, file)) {
        tests.push_back(std::move(*t));
      }
    }
    std::vector<policy::Diagnostic> ds = diags.take();
    const bool bad = policy::has_errors(ds);
    report.diagnostics.insert(report.diagnostics.end(), ds.begin(), ds.end());
    if (bad) {
      continue;
    }
    for (const PolicyTestFile& t : tests) {
      ServerConfig config;
      config.policies = t.policies;
      config.evidence_stores = t.evidence;
      config.root_overrides = t.roots;
      config.cluster_state_files = t.cluster_state;
      config.cluster_state_files->insert(config.cluster_state_files->end(), cluster_state.begin(), cluster_state.end());
      config.now = t.now;
      config.log_level = log::Level::kError;
      config.max_concurrent_jobs = 1;
      config.deadline = std::chrono::milliseconds(60'000);  // offline: no apiserver timeout to meet
      auto webhook = Webhook::create(config, nullptr);
      if (!webhook.ok()) {
        for (const TestCase& tc : t.cases) {
          report.results.push_back(CaseResult{file.string(), tc.name, false, describe_expectation(tc.expect), "error",
                                              webhook.error().message, ""});
        }
        continue;
      }
      for (const TestCase& tc : t.cases) {
        report.results.push_back(run_case(*webhook.value(), t, tc, explain));
      }
    }
  }
  return report;
}

std::string format_policy_test_table(const PolicyTestReport& report) {
  std::size_t w_name = 4;
  std::size_t w_exp = 8;
  for (const CaseResult& r : report.results) {
    w_name = std::max(w_name, std::min<std::size_t>(r.name.size(), 60));
    w_exp = std::max(w_exp, std::min<std::size_t>(r.expected.size(), 48));
  }
  auto pad = [](std::string s, std::size_t w) {
    if (s.size() > w) {
      s = s.substr(0, w - 1) + "~";
    }
    return s + std::string(w - s.size() + 2, ' ');
  };
  std::string out = pad("CASE", w_name) + pad("RESULT", 6) + pad("EXPECTED", w_exp) + "GOT\n";
  for (const CaseResult& r : report.results) {
    out += pad(r.name, w_name) + pad(r.passed ? "pass" : "FAIL", 6) + pad(r.expected, w_exp) + r.got + "\n";
    if (!r.passed && !r.detail.empty()) {
      out += "    " + r.detail + "\n";
    }
    out += r.explanation;
  }
  const std::size_t failed = report.failed();
  out += std::to_string(report.results.size() - failed) + " passed, " + std::to_string(failed) + " failed\n";
  return out;
}

}  // namespace modelgate::admission
