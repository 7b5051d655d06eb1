// test_result.h: the in-toto Test Result predicate (https://in-toto.io/attestation/test-result/v0.1)
// that records an evaluation run over a model: the suite (configuration), the result and the tests.
// Not verification (attestation.h) and not the evaluations rule (policy/evaluate.h).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "crypto/json.h"

namespace modelgate::crypto {

inline constexpr std::string_view kTestResultPredicateV01 = "https://in-toto.io/attestation/test-result/v0.1";

enum class TestOutcome { kPassed, kWarned, kFailed };

// test_outcome_name is "PASSED", "WARNED" or "FAILED" (the spec's spelling).
std::string_view test_outcome_name(TestOutcome o);

// TestResult: {"result", "configuration": [ResourceDescriptor], "url"?, "passedTests"?,
// "warnedTests"?, "failedTests"?}. configuration names identify the suite that ran.
struct TestResult {
  TestOutcome result = TestOutcome::kFailed;
  std::vector<std::string> configuration_names;  // configuration[].name (or uri when no name)
  std::string url;
  std::vector<std::string> passed_tests;
  std::vector<std::string> warned_tests;
  std::vector<std::string> failed_tests;
};

// parse_test_result reads the predicate. result must be PASSED, WARNED or FAILED; configuration a
// non-empty list of ResourceDescriptors with a name or uri; test lists strings; each list ≤
// limits::kMaxTestResultEntries. Unknown fields are ignored. Errors: kMalformed, kLimit.
[[nodiscard]] Result<TestResult> parse_test_result(const Json& predicate);

// test_result_predicate renders `t` (configuration entries as {"name": ...}). Pure.
Json test_result_predicate(const TestResult& t);

}  // namespace modelgate::crypto
