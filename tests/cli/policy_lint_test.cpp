// Tests of `modelgate policy lint`, run as a real process: exit codes, where output goes, formats.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "test_support.h"

namespace fs = std::filesystem;
using modelgate::testing::run;
using modelgate::testing::TempDir;
using modelgate::testing::write_file;

namespace {

modelgate::testing::ProcessResult lint(std::vector<std::string> args) {
  args.insert(args.begin(), {modelgate::testing::modelgate_binary().string(), "policy", "lint"});
  return run(args);
}

constexpr const char* kPolicy = R"(apiVersion: modelgate.dev/v1alpha1
kind: ModelPolicy
metadata: {name: p}
spec:
  match: {namespaces: [x]}
  sources: [{name: m, pvc: {claimName: m, volumeName: m-pv}, root: /m}]
  trust: {signers: [{name: k, publicKey: keys/k.pub}]}
  require:
    reviews: {minAprovals: 2, from: [leads]}
    signature: {signers: [k]}
)";

}  // namespace

TEST_CASE("policy lint passes the example policies shipped in examples/policies", "[policy]") {
  const fs::path examples = fs::path(MODELGATE_SOURCE_DIR) / "examples" / "policies";
  auto r = lint({examples.string()});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK_THAT(r.out, Catch::EndsWith("\n4 policies in 3 files: 0 errors, 0 warnings\n"));
  // Each policy that keeps the default otherVolumes is told what that admits.
  CHECK_THAT(r.out, Catch::Contains("note: policy \"production-serving\" (" + (examples / "production-serving.yaml").string() +
                                    "): a matched pod's volumes that no source claims are denied unless of a kind in "
                                    "spec.otherVolumes.allow, by default: configMap, secret, projected, downwardAPI, "
                                    "emptyDir\n"));
}

TEST_CASE("policy lint warns that an enforce policy scoped by pod labels binds no pod author", "[policy]") {
  TempDir t;
  const std::string scoped = R"(apiVersion: modelgate.dev/v1alpha1
kind: ModelPolicy
metadata: {name: p}
spec:
  match:
    namespaces: [prod]
    labels: {app.kubernetes.io/component: inference}
  sources: [{name: s, pvc: {claimName: models, volumeName: models-ro-pv}, root: /m}]
  otherVolumes: {allow: [configMap]}
  trust: {signers: [{name: k, publicKey: k.pub}]}
  require: {signature: {signers: [k]}}
)";
  write_file(t / "p.yaml", scoped);
  auto r = lint({(t / "p.yaml").string()});
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.err, Catch::StartsWith((t / "p.yaml").string() + ":7:14: warning: spec.match.labels: an enforce policy "
                                      "scoped by pod labels does not bind a pod author"));
  CHECK(r.out == "1 policy in 1 file: 0 errors, 1 warning\n");  // otherVolumes written: no note
  // The same scope on a warn policy is what labels are for.
  std::string warn = scoped;
  warn.replace(warn.find("spec:\n"), 6, "spec:\n  mode: warn\n");
  write_file(t / "p.yaml", warn);
  r = lint({(t / "p.yaml").string()});
  CHECK(r.err.empty());
}

TEST_CASE("policy lint prints every error compiler-style on stderr and exits 1", "[policy]") {
  TempDir t;
  write_file(t / "p.yaml", kPolicy);
  auto r = lint({(t / "p.yaml").string()});
  CHECK(r.exit_code == 1);
  const std::string f = (t / "p.yaml").string();
  CHECK(r.err == f + ":9:5: error: spec.require.reviews: missing required field \"minApprovals\"\n" +
                     f + ":9:15: error: unknown field \"minAprovals\" (did you mean \"minApprovals\"?)\n" +
                     f + ":9:38: error: spec.require.reviews.from: reviewer group \"leads\" is not defined in "
                         "spec.trust.reviewers (spec.trust.reviewers defines none)\n");
  CHECK_THAT(r.out, Catch::EndsWith("0 policies in 1 file: 3 errors, 0 warnings\n"));
}

TEST_CASE("policy lint --output json writes the versioned report to stdout only", "[policy]") {
  TempDir t;
  write_file(t / "p.yaml", kPolicy);
  auto r = lint({"--output", "json", (t / "p.yaml").string()});
  CHECK(r.exit_code == 1);
  CHECK(r.err.empty());
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["schema"] == "modelgate.dev/policy-lint/v1");
  CHECK(j["ok"] == false);
  CHECK(j["errors"] == 3);
  REQUIRE(j["diagnostics"].size() == 3);
  CHECK(j["diagnostics"][1]["line"] == 9);
  CHECK(j["diagnostics"][1]["column"] == 15);
  CHECK(j["diagnostics"][1]["hint"] == "did you mean \"minApprovals\"?");
}

TEST_CASE("policy lint --check-files reports a missing key at the path that names it", "[policy]") {
  TempDir t;
  std::string fixed = kPolicy;
  fixed.replace(fixed.find("    reviews: {minAprovals: 2, from: [leads]}\n"),
                std::string("    reviews: {minAprovals: 2, from: [leads]}\n").size(), "");
  write_file(t / "p.yaml", fixed);
  auto clean = lint({(t / "p.yaml").string()});
  CHECK(clean.exit_code == 0);
  auto r = lint({"--check-files", (t / "p.yaml").string()});
  CHECK(r.exit_code == 1);
  CHECK(r.err == (t / "p.yaml").string() + ":7:42: error: public key \"keys/k.pub\": cannot open: No such file or "
                                           "directory (resolved to \"" + (t / "keys/k.pub").string() +
                     "\", relative to the policy file)\n");
  write_file(t / "keys/k.pub", "-----BEGIN PUBLIC KEY-----\n");
  auto present = lint({"--check-files", (t / "p.yaml").string()});
  CHECK(present.exit_code == 0);
}

TEST_CASE("policy lint exits 2 for a path that cannot be read and for usage errors", "[policy]") {
  TempDir t;
  auto missing = lint({(t / "nope.yaml").string()});
  CHECK(missing.exit_code == 2);
  CHECK(missing.err == (t / "nope.yaml").string() + ": error: cannot open: No such file or directory\n");
  auto none = lint({});
  CHECK(none.exit_code == 2);
  auto bad_output = lint({"--output", "xml", (t / "nope.yaml").string()});
  CHECK(bad_output.exit_code == 2);
  auto bare = run({modelgate::testing::modelgate_binary().string(), "policy"});
  CHECK(bare.exit_code == 2);
}

TEST_CASE("policy lint reads several files and directories in one run", "[policy]") {
  TempDir t;
  std::string fixed = kPolicy;
  fixed.replace(fixed.find("    reviews: {minAprovals: 2, from: [leads]}\n"),
                std::string("    reviews: {minAprovals: 2, from: [leads]}\n").size(), "");
  write_file(t / "dir/a.yaml", fixed);
  write_file(t / "b.yaml", fixed);  // same name "p" as dir/a.yaml: a cross-file error
  auto r = lint({(t / "dir").string(), (t / "b.yaml").string()});
  CHECK(r.exit_code == 1);
  CHECK(r.err == (t / "b.yaml").string() + ":3:18: error: duplicate policy name \"p\" (first defined at " +
                     (t / "dir/a.yaml").string() + ":3:18)\n");
  CHECK_THAT(r.out, Catch::EndsWith("2 policies in 2 files: 1 error, 0 warnings\n"));
}
