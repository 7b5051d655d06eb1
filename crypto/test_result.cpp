#include "crypto/test_result.h"

#include "base/limits.h"

namespace modelgate::crypto {

namespace {

Result<std::vector<std::string>> string_list(const Json& obj, std::string_view key) {
  std::vector<std::string> out;
  if (find_field(obj, key) == nullptr) {
    return out;
  }
  MG_ASSIGN_OR_RETURN(const Json* list, get_array(obj, key, "predicate"));
  if (list->size() > limits::kMaxTestResultEntries) {
    return make_error(Code::kLimit, "predicate." + std::string(key) + ": too many entries");
  }
  for (const Json& item : *list) {
    if (!item.is_string()) {
      return make_error(Code::kMalformed, "predicate." + std::string(key) + ": expected strings");
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

}  // namespace

std::string_view test_outcome_name(TestOutcome o) {
  switch (o) {
    case TestOutcome::kPassed: return "PASSED";
    case TestOutcome::kWarned: return "WARNED";
    case TestOutcome::kFailed: return "FAILED";
  }
  return "FAILED";
}

Result<TestResult> parse_test_result(const Json& predicate) {
  if (!predicate.is_object()) {
    return make_error(Code::kMalformed, "predicate: expected an object");
  }
  TestResult t;
  MG_ASSIGN_OR_RETURN(std::string result, get_string(predicate, "result", "predicate"));
  if (result == "PASSED") {
    t.result = TestOutcome::kPassed;
  } else if (result == "WARNED") {
    t.result = TestOutcome::kWarned;
  } else if (result == "FAILED") {
    t.result = TestOutcome::kFailed;
  } else {
    return make_error(Code::kMalformed, "predicate.result: expected PASSED, WARNED or FAILED");
  }
  MG_ASSIGN_OR_RETURN(const Json* config, get_array(predicate, "configuration", "predicate"));
  if (config->empty()) {
    return make_error(Code::kMalformed, "predicate.configuration: must name the suite that ran");
  }
  if (config->size() > limits::kMaxTestResultEntries) {
    return make_error(Code::kLimit, "predicate.configuration: too many entries");
  }
  for (std::size_t i = 0; i < config->size(); ++i) {
    const Json& item = (*config)[i];
    const std::string path = "predicate.configuration[" + std::to_string(i) + "]";
    if (!item.is_object()) {
      return make_error(Code::kMalformed, path + ": expected an object");
    }
    std::string name;
    if (find_field(item, "name") != nullptr) {
      MG_ASSIGN_OR_RETURN(name, get_string(item, "name", path));
    } else if (find_field(item, "uri") != nullptr) {
      MG_ASSIGN_OR_RETURN(name, get_string(item, "uri", path));
    }
    if (name.empty()) {
      return make_error(Code::kMalformed, path + ": needs a name or uri");
    }
    t.configuration_names.push_back(std::move(name));
  }
  if (find_field(predicate, "url") != nullptr) {
    MG_ASSIGN_OR_RETURN(t.url, get_string(predicate, "url", "predicate"));
  }
  MG_ASSIGN_OR_RETURN(t.passed_tests, string_list(predicate, "passedTests"));
  MG_ASSIGN_OR_RETURN(t.warned_tests, string_list(predicate, "warnedTests"));
  MG_ASSIGN_OR_RETURN(t.failed_tests, string_list(predicate, "failedTests"));
  return t;
}

Json test_result_predicate(const TestResult& t) {
  Json config = Json::array();
  for (const std::string& n : t.configuration_names) {
    config.push_back({{"name", n}});
  }
  Json j = {{"result", std::string(test_outcome_name(t.result))}, {"configuration", config}};
  if (!t.url.empty()) {
    j["url"] = t.url;
  }
  j["passedTests"] = t.passed_tests;
  j["warnedTests"] = t.warned_tests;
  j["failedTests"] = t.failed_tests;
  return j;
}

}  // namespace modelgate::crypto
