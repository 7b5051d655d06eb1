// decision_test.cpp: how verdicts become one admission answer: enforce denies with kubectl's
// message, warn admits with warnings, audit admits and records, break-glass admits only where the
// policy allows it and always says so. Verdicts are built here; policies are parsed from YAML.
#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "admission/decision.h"
#include "policy/evidence_fixtures.h"
#include "test_support.h"

namespace {

using namespace modelgate;
using namespace modelgate::admission;
using namespace modelgate::testing;

std::string policy_yaml(const std::string& mode, const std::string& break_glass) {
  return "apiVersion: modelgate.dev/v1alpha1\nkind: ModelPolicy\nmetadata: {name: p}\nspec:\n  mode: " + mode +
         "\n  match: {namespaces: [ns]}\n  sources: [{name: s, pvc: {claimName: models}, root: /m}]\n"
         "  trust: {signers: [{name: k, publicKey: k.pub}]}\n  require: {signature: {signers: [k]}}\n" +
         break_glass;
}

struct Case {
  TempDir tmp;
  std::shared_ptr<const policy::TrustedPolicySet> set;
  ModelRef ref;
  Workload workload;

  Case(const std::string& mode, const std::string& break_glass = "") {
    auto k = evidence::make_key(tmp.path(), "k");
    set = evidence::load_policies(tmp.path(), policy_yaml(mode, break_glass));
    ref.policy = &set->policies().front();
    ref.source = &ref.policy->policy->sources.front();
    ref.volume = "weights";
    ref.volume_desc = "pvc models";
    ref.path = "llama";
    ref.model_name = "llama";
    workload.kind = "Pod";
    workload.pod = PodTemplate{};
  }

  Decision decide(policy::RuleStatus status = policy::RuleStatus::kFail) {
    auto v = std::make_shared<Verdict>();
    v->evaluation.policy = "p";
    v->evaluation.rules.push_back(
        policy::RuleResult{"signature", status, "signature.digest_mismatch", "file \"w\" does not match the signed digest"});
    ModelVerdict mv{&ref, VerifyOutcome{VerifyState::kDone, v, false, false, 0, 0}};
    return decide_admission("uid-1", workload, {mv}, {});
  }
};

}  // namespace

TEST_CASE("enforce mode denies with the model, volume, path, policy and rule, as kubectl prints it",
          "[admission][decision]") {
  Case c("enforce");
  Decision d = c.decide();
  CHECK_FALSE(d.response.allowed);
  CHECK(d.response.code == 403);
  CHECK(d.response.uid == "uid-1");
  CHECK(d.response.message ==
        "model \"llama\" (volume \"weights\", pvc models, path llama) violates policy \"p\":\n"
        "  - signature: file \"w\" does not match the signed digest");
  CHECK(d.response.audit_annotations.at("reason") == "signature.digest_mismatch");
  CHECK(d.summary.decision == "deny");
  CHECK(d.summary.mode == "enforce");
}

TEST_CASE("an error (could not check) denies in enforce mode too", "[admission][decision]") {
  Case c("enforce");
  CHECK_FALSE(c.decide(policy::RuleStatus::kError).response.allowed);
}

TEST_CASE("warn mode admits with one warning per failing rule", "[admission][decision]") {
  Case c("warn");
  Decision d = c.decide();
  CHECK(d.response.allowed);
  REQUIRE(d.response.warnings.size() == 1);
  CHECK_THAT(d.response.warnings[0], Catch::StartsWith("policy \"p\" (warn): \"llama\": signature: file"));
  CHECK(d.summary.decision == "warn");
}

TEST_CASE("audit mode admits silently and records the finding", "[admission][decision]") {
  Case c("audit");
  Decision d = c.decide();
  CHECK(d.response.allowed);
  CHECK(d.response.warnings.empty());
  CHECK(d.response.audit_annotations.at("findings") == "p: audit: signature.digest_mismatch");
}

TEST_CASE("break-glass admits a violation where the policy allows it, with a warning and an audit record",
          "[admission][decision]") {
  Case c("enforce", "  breakGlass: {allowed: true}\n");
  c.workload.annotations["modelgate.dev/break-glass"] = "INC-1234";
  Decision d = c.decide();
  CHECK(d.response.allowed);
  REQUIRE(d.response.warnings.size() == 1);
  CHECK(d.response.warnings[0] == "break-glass: policy \"p\" overridden (INC-1234); this admission is audited");
  CHECK(d.response.audit_annotations.at("break-glass") == "p");
  CHECK(d.summary.break_glass == std::vector<std::string>{"p"});
}

TEST_CASE("break-glass is ignored where the policy does not allow it", "[admission][decision]") {
  Case c("enforce");
  c.workload.annotations["modelgate.dev/break-glass"] = "INC-1234";
  Decision d = c.decide();
  CHECK_FALSE(d.response.allowed);
  CHECK(d.summary.break_glass.empty());
}

TEST_CASE("a pod-template annotation requests break-glass as well as the workload's own", "[admission][decision]") {
  Case c("enforce", "  breakGlass: {allowed: true, annotation: acme.com/override}\n");
  c.workload.pod->annotations["acme.com/override"] = "rollback";
  CHECK(c.decide().response.allowed);
}
