// policy_test.h: `modelgate policy test DIR`: run the test cases of PolicyTest files (like
// `kyverno test`) — each case a workload manifest or AdmissionReview decided by the webhook's own
// decision path against model fixtures and evidence, compared with the expected decision, reason
// tokens and message fragments. Not the policy language (policy/) and not the CLI printing.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "policy/diagnostic.h"

namespace modelgate::admission {

inline constexpr std::string_view kPolicyTestKind = "PolicyTest";

// TestExpectation: what a case must produce. Lists are "each must appear".
struct TestExpectation {
  bool allowed = true;
  std::vector<std::string> reasons;           // reason tokens (auditAnnotations reasons)
  std::vector<std::string> message_contains;  // substrings of status.message
  std::vector<std::string> warnings_contain;  // substrings that some warning must contain
};

struct TestCase {
  std::string name;
  std::filesystem::path resource;  // resolved against the test file's directory
  std::string namespace_name;      // "" = the file's default
  std::string username;            // userInfo.username ("" = modelgate-review, or the review's own)
  std::vector<std::string> groups;  // userInfo.groups
  TestExpectation expect;
  policy::Position position;
};

// PolicyTestFile is one parsed PolicyTest document.
struct PolicyTestFile {
  std::filesystem::path file;
  std::vector<std::filesystem::path> policies;
  std::vector<std::filesystem::path> evidence;
  // cluster_state (`clusterState:`): files as `kubectl get pvc,pv,ns -A -o yaml` prints them, the
  // claims, volumes and namespaces the cases are judged against (none: pvc sources deny).
  std::vector<std::filesystem::path> cluster_state;
  // roots (`paths:`): absolute paths policies name (source roots, key/trust/catalog prefixes) →
  // local fixture directories.
  std::vector<std::pair<std::string, std::filesystem::path>> roots;
  std::int64_t now = 0;  // `now:` fixed clock (unix seconds); 0 = the system clock
  std::string namespace_name = "default";
  std::vector<TestCase> cases;
};

// CaseResult is one case's outcome.
struct CaseResult {
  std::string file;
  std::string name;
  bool passed = false;
  std::string expected;  // "deny (signature.digest_mismatch)"
  std::string got;       // "allow"
  std::string detail;    // why it failed: the missing reason / fragment, or the error
  std::string explanation;  // with explain: format_explanation of each object, indented
};

struct PolicyTestReport {
  std::vector<policy::Diagnostic> diagnostics;  // test files that did not parse
  std::vector<CaseResult> results;
  std::size_t failed() const;
};

// run_policy_tests finds PolicyTest files in `paths` (files, or directories searched recursively
// for *.yaml / *.yml with kind PolicyTest, sorted), parses them (unknown fields are errors with
// positions) and runs every case; with `explain`, each result carries the explanation of its
// decision (explain.h). `cluster_state` files (--cluster-state) are added to every file's
// clusterState. Never throws. Not thread-safe with respect to the files it reads.
PolicyTestReport run_policy_tests(const std::vector<std::filesystem::path>& paths, bool explain = false,
                                  const std::vector<std::filesystem::path>& cluster_state = {});

// format_policy_test_table renders the results as a table plus a summary line (explanations, when
// present, under their rows).
std::string format_policy_test_table(const PolicyTestReport& report);

}  // namespace modelgate::admission
