// lint_test.cpp: the policy and catalog diagnostics, case by case from tests/data/policy/<case>/
// (input files + expect.yaml), plus the lint report's formats and file handling.
#include <catch2/catch.hpp>
#include <sys/stat.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "base/limits.h"
#include "policy/dataset_catalog.h"
#include "policy/lint.h"
#include "policy/policy_set.h"
#include "test_support.h"

namespace fs = std::filesystem;
using modelgate::Code;
using modelgate::code_name;
using namespace modelgate::policy;
using modelgate::testing::TempDir;
using modelgate::testing::write_file;

namespace {

struct ExpectedDiagnostic {
  std::string at;  // "file:line:col" relative to the case directory
  std::string severity = "error";
  std::string code;  // empty: not checked
  std::string message;  // substring
  std::string hint;     // substring, empty: not checked
};

struct Case {
  fs::path dir;
  std::string description;
  std::string run = "lint";
  std::vector<std::string> inputs;
  bool check_files = false;
  std::string outcome;
  std::vector<ExpectedDiagnostic> diagnostics;
};

// A mapping reader that fails on every key the test did not read (STYLE.md §6).
class Strict {
 public:
  Strict(const YAML::Node& node, std::string where) : node_(node), where_(std::move(where)) {
    if (!node.IsMap()) {
      FAIL(where_ << ": expected a mapping");
    }
  }
  // done fails on every key that was never read.
  void done() const {
    for (const auto& kv : node_) {
      const std::string key = kv.first.as<std::string>();
      if (read_.count(key) == 0) {
        FAIL(where_ << ": unknown key " << key);
      }
    }
  }
  YAML::Node get(const std::string& key) {
    read_.insert(key);
    const YAML::Node& n = node_;  // const: operator[] must not insert
    return n[key];
  }
  std::string str(const std::string& key, const std::string& fallback = {}) {
    YAML::Node n = get(key);
    return n ? n.as<std::string>() : fallback;
  }

 private:
  YAML::Node node_;
  std::string where_;
  std::set<std::string> read_;
};

Case load_case(const fs::path& dir) {
  Case c;
  c.dir = dir;
  const YAML::Node root = YAML::LoadFile((dir / "expect.yaml").string());
  Strict s(root, (dir / "expect.yaml").string());
  c.description = s.str("description");
  REQUIRE_FALSE(c.description.empty());
  c.run = s.str("run", "lint");
  REQUIRE((c.run == "lint" || c.run == "catalog"));
  if (YAML::Node in = s.get("inputs")) {
    for (const auto& i : in) {
      c.inputs.push_back(i.as<std::string>());
    }
  }
  if (YAML::Node cf = s.get("check_files")) {
    c.check_files = cf.as<bool>();
  }
  c.outcome = s.str("outcome");
  REQUIRE((c.outcome == "ok" || c.outcome == "error"));
  if (YAML::Node ds = s.get("diagnostics")) {
    for (const auto& d : ds) {
      Strict e(d, dir.filename().string() + ": diagnostics[]");
      ExpectedDiagnostic x;
      x.at = e.str("at");
      x.severity = e.str("severity", "error");
      x.code = e.str("code");
      x.message = e.str("message");
      x.hint = e.str("hint");
      e.done();
      REQUIRE_FALSE(x.at.empty());
      REQUIRE_FALSE(x.message.empty());
      c.diagnostics.push_back(x);
    }
  }
  s.done();
  if (c.inputs.empty()) {
    for (const auto& e : fs::directory_iterator(dir)) {
      const std::string name = e.path().filename().string();
      if (e.is_regular_file() && name != "expect.yaml" && (e.path().extension() == ".yaml")) {
        c.inputs.push_back(name);
      }
    }
    std::sort(c.inputs.begin(), c.inputs.end());
  }
  REQUIRE_FALSE(c.inputs.empty());
  return c;
}

std::string relative_at(const Position& p, const fs::path& dir) {
  std::string file = p.file;
  const std::string prefix = dir.string() + "/";
  if (file.rfind(prefix, 0) == 0) {
    file = file.substr(prefix.size());
  }
  return format_position(Position{file, p.line, p.column});
}

std::vector<Diagnostic> run_case(const Case& c) {
  if (c.run == "catalog") {
    REQUIRE(c.inputs.size() == 1);
    CatalogOutcome out = load_dataset_catalog(c.dir / c.inputs[0]);
    CHECK(out.ok() == !has_errors(out.diagnostics));
    return out.diagnostics;
  }
  std::vector<fs::path> paths;
  for (const auto& i : c.inputs) {
    paths.push_back(c.dir / i);
  }
  LintReport report = lint_policies(paths, LintOptions{c.check_files, {}});
  if (!c.check_files) {
    // Without --check-files lint is exactly the webhook's loader: same verdict, same diagnostics.
    PolicySetOutcome set = load_policy_set(paths, 1);
    CHECK(set.ok() == (report.errors() == 0));
    std::vector<std::string> a;
    std::vector<std::string> b;
    for (const auto& d : report.diagnostics) {
      a.push_back(format_diagnostic(d));
    }
    for (const auto& d : set.diagnostics) {
      b.push_back(format_diagnostic(d));
    }
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    CHECK(a == b);
  }
  return report.diagnostics;
}

}  // namespace

TEST_CASE("every policy vector case in tests/data/policy produces exactly its expected diagnostics", "[policy]") {
  const fs::path root = modelgate::testing::test_data_dir() / "policy";
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(root)) {
    if (e.is_directory()) {
      dirs.push_back(e.path());
    }
  }
  std::sort(dirs.begin(), dirs.end());
  REQUIRE(dirs.size() >= 60);
  std::size_t read = 0;
  for (const fs::path& dir : dirs) {
    INFO("case " << dir.filename().string());
    REQUIRE(fs::exists(dir / "expect.yaml"));
    const Case c = load_case(dir);
    const std::vector<Diagnostic> got = run_case(c);
    std::string listing;
    for (const auto& d : got) {
      listing += "  " + relative_at(d.position, dir) + ": " + format_diagnostic(d) + "\n";
    }
    INFO("got:\n" << listing);
    CHECK(has_errors(got) == (c.outcome == "error"));
    CHECK(got.size() == c.diagnostics.size());
    for (std::size_t i = 0; i < std::min(got.size(), c.diagnostics.size()); ++i) {
      const ExpectedDiagnostic& want = c.diagnostics[i];
      const Diagnostic& d = got[i];
      INFO("diagnostic " << i << ": " << format_diagnostic(d));
      CHECK(relative_at(d.position, dir) == want.at);
      CHECK(std::string(d.severity == Severity::kError ? "error" : "warning") == want.severity);
      if (!want.code.empty()) {
        CHECK(std::string(code_name(d.code)) == want.code);
      }
      CHECK_THAT(d.message, Catch::Matchers::Contains(want.message));
      if (!want.hint.empty()) {
        CHECK_THAT(d.hint, Catch::Matchers::Contains(want.hint));
      }
    }
    ++read;
  }
  CHECK(read == dirs.size());
}

TEST_CASE("lint formats diagnostics compiler-style with the hint in parentheses", "[policy]") {
  Diagnostic d{Position{"p.yaml", 14, 7}, Severity::kError, Code::kMalformed, "unknown field \"minAprovals\"",
               "did you mean \"minApprovals\"?"};
  CHECK(format_diagnostic(d) == "p.yaml:14:7: error: unknown field \"minAprovals\" (did you mean \"minApprovals\"?)");
  d.hint.clear();
  d.severity = Severity::kWarning;
  CHECK(format_diagnostic(d) == "p.yaml:14:7: warning: unknown field \"minAprovals\"");
  d.position = Position{"dir/missing.yaml", 0, 0};
  CHECK(format_diagnostic(d) == "dir/missing.yaml: warning: unknown field \"minAprovals\"");
}

TEST_CASE("lint of a directory reads *.yaml and *.yml at its top only, skipping hidden entries", "[policy]") {
  TempDir t;
  const std::string policy = R"(apiVersion: modelgate.dev/v1alpha1
kind: ModelPolicy
metadata: {name: NAME}
spec:
  match: {namespaces: [x]}
  sources: [{name: m, pvc: {claimName: m, volumeName: m-pv}, root: /m}]
  trust: {signers: [{name: k, publicKey: /k.pub}]}
  require: {signature: {signers: [k]}}
)";
  auto named = [&](const std::string& n) {
    std::string s = policy;
    s.replace(s.find("NAME"), 4, n);
    return s;
  };
  write_file(t / "b.yaml", named("b"));
  write_file(t / "a.yml", named("a"));
  write_file(t / "notes.txt", "not a policy: {");
  write_file(t / ".hidden.yaml", "not: [a, policy");
  write_file(t / "sub/c.yaml", "also: [ignored");
  write_file(t / "..data/d.yaml", "configmap: [internals");
  const std::vector<fs::path> paths{t.path()};
  LintReport r = lint_policies(paths, {});
  INFO(format_lint_diagnostics(r));
  CHECK(r.errors() == 0);
  REQUIRE(r.files.size() == 2);
  CHECK(r.files[0].filename() == "a.yml");
  CHECK(r.files[1].filename() == "b.yaml");
  CHECK(r.policies == 2);
  // Named twice, directly and through its directory: read once, no duplicate-name error.
  const std::vector<fs::path> twice{t.path(), t / "a.yml", t.path() / "." / "b.yaml"};
  LintReport again = lint_policies(twice, {});
  CHECK(again.errors() == 0);
  CHECK(again.files.size() == 2);
  PolicySetOutcome set = load_policy_set(paths, 7);
  REQUIRE(set.ok());
  CHECK(set.set->generation() == 7);
  REQUIRE(set.set->policies().size() == 2);
  CHECK(set.set->policies()[0].name.value == "a");
  CHECK(set.set->find("b") == &set.set->policies()[1]);
  CHECK(set.set->find("c") == nullptr);
}

TEST_CASE("a ConfigMap-style symlinked policy file is followed", "[policy]") {
  TempDir t;
  write_file(t / "..2024_01_01/p.yaml", R"(apiVersion: modelgate.dev/v1alpha1
kind: ModelPolicy
metadata: {name: p}
spec:
  match: {namespaces: [x]}
  sources: [{name: m, pvc: {claimName: m, volumeName: m-pv}, root: /m}]
  trust: {signers: [{name: k, publicKey: /k.pub}]}
  require: {signature: {signers: [k]}}
)");
  fs::create_directory_symlink("..2024_01_01", t / "..data");
  fs::create_symlink("..data/p.yaml", t / "p.yaml");
  const std::vector<fs::path> paths{t.path()};
  LintReport r = lint_policies(paths, {});
  CHECK(r.errors() == 0);
  CHECK(r.policies == 1);
}

TEST_CASE("a path that does not exist is an unreadable input, an empty directory an error", "[policy]") {
  TempDir t;
  fs::create_directory(t / "empty");
  const std::vector<fs::path> missing{t / "nope.yaml"};
  LintReport r = lint_policies(missing, {});
  REQUIRE(r.diagnostics.size() == 1);
  CHECK(r.unreadable_input());
  CHECK(r.diagnostics[0].code == Code::kIo);
  CHECK(format_diagnostic(r.diagnostics[0]) == (t / "nope.yaml").string() + ": error: cannot open: No such file or directory");

  const std::vector<fs::path> empty{t / "empty"};
  r = lint_policies(empty, {});
  REQUIRE(r.diagnostics.size() == 1);
  CHECK_FALSE(r.unreadable_input());
  CHECK(r.diagnostics[0].code == Code::kNotFound);
  CHECK_THAT(r.diagnostics[0].message, Catch::Matchers::Contains("no policy files"));
}

TEST_CASE("a FIFO named as a policy is refused without blocking", "[policy]") {
  TempDir t;
  const fs::path fifo = t / "p.yaml";
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  const std::vector<fs::path> paths{fifo};
  LintReport r = lint_policies(paths, {});
  REQUIRE(r.diagnostics.size() == 1);
  CHECK(r.diagnostics[0].code == Code::kIo);
  CHECK(r.diagnostics[0].message == "not a regular file");
}

TEST_CASE("a policy file over the size bound is refused before parsing", "[policy]") {
  TempDir t;
  std::string big = "# " + std::string(modelgate::limits::kMaxPolicyFileBytes, 'x') + "\n";
  write_file(t / "big.yaml", big);
  const std::vector<fs::path> paths{t / "big.yaml"};
  LintReport r = lint_policies(paths, {});
  REQUIRE(r.diagnostics.size() == 1);
  CHECK(r.diagnostics[0].code == Code::kLimit);
  CHECK_THAT(r.diagnostics[0].message, Catch::Matchers::StartsWith("file too large ("));
}

TEST_CASE("lint JSON output is versioned and carries every diagnostic field", "[policy]") {
  TempDir t;
  write_file(t / "p.yaml", "apiVersion: modelgate.dev/v1alpha1\nkind: ModelPolicy\nmetadata: {name: p, labels: {}}\n");
  const std::vector<fs::path> paths{t / "p.yaml"};
  LintReport r = lint_policies(paths, {});
  const auto j = nlohmann::json::parse(format_lint_json(r));
  CHECK(j["schema"] == "modelgate.dev/policy-lint/v1");
  CHECK(j["ok"] == false);
  CHECK(j["policies"] == 0);
  CHECK(j["errors"] == r.errors());
  REQUIRE(j["diagnostics"].size() == r.diagnostics.size());
  // metadata.labels is unknown (3:21), spec is missing (reported at the document, 1:1).
  const auto& d0 = j["diagnostics"][0];
  CHECK(d0["file"] == (t / "p.yaml").string());
  CHECK(d0["line"] == 1);
  CHECK(d0["column"] == 1);
  CHECK(d0["message"] == "missing required field \"spec\"");
  const auto& d1 = j["diagnostics"][1];
  CHECK(d1["line"] == 3);
  CHECK(d1["column"] == 21);
  CHECK(d1["severity"] == "error");
  CHECK(d1["code"] == "malformed");
  CHECK(d1["message"] == "unknown field \"labels\"");
  CHECK(d1["hint"] == "fields of metadata: name");
  CHECK(format_lint_summary(r) == "0 policies in 1 file: 2 errors, 0 warnings\n");
}

TEST_CASE("aliases cannot multiply memory across a policy set", "[policy]") {
  // Each file stays under the per-file budget (4 MB of expanded text in 6 KB), but nine of them
  // exceed the set budget (32 MiB): the ninth is where reading stops.
  TempDir t;
  const std::string big(4000, 'm');
  std::string aliases;
  for (int i = 0; i < 1000; ++i) {
    aliases += i == 0 ? "*big" : ", *big";
  }
  std::vector<fs::path> paths;
  for (int f = 0; f < 10; ++f) {
    const fs::path p = t / ("p" + std::to_string(f) + ".yaml");
    write_file(p, "apiVersion: modelgate.dev/v1alpha1\nkind: ModelPolicy\nmetadata:\n  name: &big \"" + big +
                      "\"\nspec:\n  match:\n    namespaces: [" + aliases + "]\n");
    paths.push_back(p);
  }
  const std::vector<fs::path> dir{t.path()};
  for (const LintReport& r : {lint_policies(dir, {}), lint_policies(paths, {})}) {
    const auto limit = std::find_if(r.diagnostics.begin(), r.diagnostics.end(), [](const Diagnostic& d) {
      return d.message.rfind("policy set too large once aliases are expanded", 0) == 0;
    });
    REQUIRE(limit != r.diagnostics.end());
    CHECK(limit->code == Code::kLimit);
    CHECK(limit->position == Position{(t / "p8.yaml").string(), 0, 0});
    // Nothing from p9.yaml: it was never read.
    for (const Diagnostic& d : r.diagnostics) {
      CHECK(d.position.file != (t / "p9.yaml").string());
    }
  }
  PolicySetOutcome set = load_policy_set(dir, 1);
  CHECK_FALSE(set.ok());
  CHECK(std::any_of(set.diagnostics.begin(), set.diagnostics.end(), [](const Diagnostic& d) {
    return d.message.rfind("policy set too large once aliases are expanded", 0) == 0;
  }));
}

TEST_CASE("did-you-mean suggests near names only: typos, transpositions, case", "[policy]") {
  const std::vector<std::string_view> fields{"minApprovals", "from", "excludeSigner", "excludeProvenanceSigner"};
  CHECK(closest_match("minAprovals", fields) == "minApprovals");   // deletion
  CHECK(closest_match("minapprovals", fields) == "minApprovals");  // case only
  CHECK(closest_match("form", fields) == "from");                  // transposition
  CHECK(closest_match("excludeSigners", fields) == "excludeSigner");
  CHECK(closest_match("reviewers", fields).empty());
  CHECK(closest_match("", fields).empty());
  CHECK(did_you_mean("fro", fields) == "did you mean \"from\"?");
  CHECK(did_you_mean("colour", fields).empty());
}

TEST_CASE("diagnostics fold into one Error for Result-style callers", "[policy]") {
  std::vector<Diagnostic> ds{
      {Position{"p.yaml", 2, 1}, Severity::kWarning, Code::kMalformed, "a warning", {}},
      {Position{"p.yaml", 3, 5}, Severity::kError, Code::kNotFound, "signer \"x\" is not defined", "did you mean \"y\"?"},
      {Position{"p.yaml", 9, 1}, Severity::kError, Code::kMalformed, "second", {}},
      {Position{"p.yaml", 10, 1}, Severity::kError, Code::kMalformed, "third", {}},
  };
  const modelgate::Error e = diagnostics_error(ds);
  CHECK(e.code == Code::kNotFound);
  CHECK(e.message == "p.yaml:3:5: error: signer \"x\" is not defined (did you mean \"y\"?) (and 2 more errors)");
}

TEST_CASE("quoted strings in messages are escaped and cut at a character boundary", "[policy]") {
  CHECK(quote("a\"b\\c\n\t\x01") == "\"a\\\"b\\\\c\\n\\t\\x01\"");
  // 119 ASCII bytes then a 2-byte character straddling the 120-byte cap: kept whole.
  const std::string s = std::string(119, 'a') + "\xc3\xa9" + "tail";
  CHECK(quote(s) == "\"" + std::string(119, 'a') + "\xc3\xa9...\"");
}
