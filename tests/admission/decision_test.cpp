// decision_test.cpp: how verdicts become one admission answer: enforce denies with kubectl's
// message, warn admits with warnings, audit admits and records, break-glass admits only where the
// policy allows it and always says so. Verdicts are built here; policies are parsed from YAML.
#include <catch2/catch.hpp>

#include <chrono>
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
  DecisionContext ctx;

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
    ctx.requester.username = "alice@acme.com";
    ctx.requester.groups = {"system:authenticated"};
    ctx.now = std::chrono::system_clock::from_time_t(1'790'000'000);
    ctx.matched = {ref.policy};
  }

  Decision decide(policy::RuleStatus status = policy::RuleStatus::kFail) {
    auto v = std::make_shared<Verdict>();
    v->evaluation.policy = "p";
    v->evaluation.rules.push_back(
        policy::RuleResult{"signature", status, "signature.digest_mismatch", "file \"w\" does not match the signed digest"});
    ModelVerdict mv{&ref, VerifyOutcome{VerifyState::kDone, v, false, false, 0, 0}};
    return decide_admission("uid-1", workload, {mv}, {}, ctx);
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
  Case c("enforce", "  breakGlass: {allowed: true, allowedUsers: [alice@acme.com]}\n");
  c.workload.annotations["modelgate.dev/break-glass"] = "INC-1234";
  Decision d = c.decide();
  CHECK(d.response.allowed);
  REQUIRE(d.response.warnings.size() == 1);
  CHECK(d.response.warnings[0] == "break-glass: policy \"p\" overridden (INC-1234); this admission is audited");
  CHECK(d.response.audit_annotations.at("break-glass") == "p");
  CHECK(d.response.audit_annotations.at("break-glass-user") == "alice@acme.com");
  CHECK(d.response.audit_annotations.at("break-glass-reason") == "INC-1234");
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
  Case c("enforce", "  breakGlass: {allowed: true, annotation: acme.com/override, allowedGroups: [system:authenticated]}\n");
  c.workload.pod->annotations["acme.com/override"] = "rollback";
  CHECK(c.decide().response.allowed);
}

// --- Door 5: break-glass by anyone. Each of these admitted the tampered model before #12. ---------

TEST_CASE("break-glass set by a user the policy does not name is refused at apply time, naming the user",
          "[admission][decision][gate]") {
  Case c("enforce", "  breakGlass: {allowed: true, allowedUsers: [oncall@acme.com]}\n");
  c.workload.annotations["modelgate.dev/break-glass"] = "INC-1234";
  Decision d = c.decide();
  CHECK_FALSE(d.response.allowed);
  CHECK_THAT(d.response.message,
             Catch::StartsWith("break-glass annotation \"modelgate.dev/break-glass\" violates policy \"p\":\n"
                               "  - break-glass: user \"alice@acme.com\" may not override this policy"));
  CHECK(d.summary.break_glass.empty());
  CHECK(d.response.audit_annotations.count("break-glass") == 0);
}

TEST_CASE("break-glass with an empty or blank reason is refused even for an authorised user",
          "[admission][decision][gate]") {
  for (const char* reason : {"", "  ", "\t\n"}) {
    Case c("enforce", "  breakGlass: {allowed: true, allowedUsers: [alice@acme.com]}\n");
    c.workload.annotations["modelgate.dev/break-glass"] = reason;
    Decision d = c.decide();
    CHECK_FALSE(d.response.allowed);
    CHECK_THAT(d.response.message, Catch::Contains("needs a reason as its value"));
    CHECK(d.response.audit_annotations.at("reasons").find("break_glass.no_reason") != std::string::npos);
  }
}

TEST_CASE("break-glass authorised by group membership is honoured", "[admission][decision][gate]") {
  Case c("enforce", "  breakGlass: {allowed: true, allowedGroups: [ml-oncall]}\n");
  c.workload.annotations["modelgate.dev/break-glass"] = "INC-7";
  CHECK_FALSE(c.decide().response.allowed);  // alice is not in ml-oncall
  c.ctx.requester.groups.push_back("ml-oncall");
  CHECK(c.decide().response.allowed);
}

TEST_CASE("a pod a workload controller creates from an admitted template keeps its break-glass",
          "[admission][decision][gate]") {
  Case c("enforce", "  breakGlass: {allowed: true, allowedUsers: [oncall@acme.com]}\n");
  c.workload.pod->annotations["modelgate.dev/break-glass"] = "INC-9";
  c.ctx.requester.username = "system:serviceaccount:kube-system:replicaset-controller";
  c.ctx.requester.groups = {"system:serviceaccounts", "system:serviceaccounts:kube-system"};
  Decision d = c.decide();
  CHECK(d.response.allowed);
  CHECK(d.summary.break_glass == std::vector<std::string>{"p"});
  // The same pod created by a user who impersonates nothing is judged as that user's.
  c.ctx.requester.username = "system:serviceaccount:ml-serving:default";
  CHECK_FALSE(c.decide().response.allowed);
}

TEST_CASE("an UPDATE that keeps an admitted override is honoured; one that changes it is judged anew",
          "[admission][decision][gate]") {
  Case c("enforce", "  breakGlass: {allowed: true, allowedUsers: [oncall@acme.com]}\n");
  Workload old = c.workload;
  old.annotations["modelgate.dev/break-glass"] = "INC-9";
  c.workload.annotations["modelgate.dev/break-glass"] = "INC-9";
  c.ctx.requester.operation = Operation::kUpdate;
  c.ctx.old = &old;
  c.ctx.old_matched = {c.ref.policy};  // the old object was in scope: its override was judged
  CHECK(c.decide().response.allowed);
  c.workload.annotations["modelgate.dev/break-glass"] = "INC-10";
  Decision d = c.decide();
  CHECK_FALSE(d.response.allowed);
  CHECK_THAT(d.response.message, Catch::Contains("may not override"));
}

TEST_CASE("break-glass expiry: required under maxDuration, RFC 3339, in the future and within the bound",
          "[admission][decision][gate]") {
  const std::string bg = "  breakGlass: {allowed: true, allowedUsers: [alice@acme.com], maxDuration: 24h}\n";
  auto with_expiry = [&](const char* expires) {
    Case c("enforce", bg);
    c.workload.annotations["modelgate.dev/break-glass"] = "INC-1";
    if (expires != nullptr) {
      c.workload.annotations["modelgate.dev/break-glass-expires"] = expires;
    }
    return c.decide();
  };
  // now = 1790000000 = 2026-09-21T14:13:20Z
  CHECK_THAT(with_expiry(nullptr).response.message, Catch::Contains("needs \"modelgate.dev/break-glass-expires\""));
  CHECK_THAT(with_expiry("tomorrow").response.message, Catch::Contains("not an RFC 3339 time"));
  CHECK_THAT(with_expiry("2026-09-21T14:00:00Z").response.message, Catch::Contains("expired at 2026-09-21T14:00:00Z"));
  CHECK_THAT(with_expiry("2026-09-23T14:00:00Z").response.message, Catch::Contains("more than 1d ahead"));
  CHECK(with_expiry("2026-09-22T08:00:00Z").response.allowed);
}

TEST_CASE("an unauthorised break-glass is refused even when every model passes", "[admission][decision][gate]") {
  Case c("enforce", "  breakGlass: {allowed: true, allowedUsers: [oncall@acme.com]}\n");
  c.workload.annotations["modelgate.dev/break-glass"] = "INC-1";
  CHECK_FALSE(c.decide(policy::RuleStatus::kPass).response.allowed);
}

// --- Found by the attacker pass over #12 -------------------------------------------------------

TEST_CASE("an UPDATE by an unauthorised user that keeps the override but changes the model is refused",
          "[admission][decision][gate]") {
  Case c("enforce", "  breakGlass: {allowed: true, allowedUsers: [oncall@acme.com]}\n");
  c.workload.pod->volumes.push_back(Volume{});
  c.workload.pod->volumes.back().name = "weights";
  c.workload.pod->containers.push_back(Container{});
  c.workload.pod->containers.back().mounts.push_back(VolumeMount{"weights", "/m", "approved", "", "", true});
  c.workload.annotations["modelgate.dev/break-glass"] = "INC-9";
  Workload old = c.workload;  // as on-call admitted it
  c.workload.pod->containers.back().mounts.back().sub_path = "tampered";
  c.ctx.requester.operation = Operation::kUpdate;
  c.ctx.old = &old;
  c.ctx.old_matched = {c.ref.policy};
  Decision d = c.decide();
  CHECK_FALSE(d.response.allowed);
  CHECK_THAT(d.response.message, Catch::Contains("user \"alice@acme.com\" may not override"));
  // The same UPDATE without the model change keeps the override.
  c.workload.pod->containers.back().mounts.back().sub_path = "approved";
  CHECK(c.decide().response.allowed);
}

TEST_CASE("an override placed while the object was outside the policy's scope is not carried into it",
          "[admission][decision][gate]") {
  Case c("enforce", "  breakGlass: {allowed: true, allowedUsers: [oncall@acme.com]}\n");
  c.workload.annotations["modelgate.dev/break-glass"] = "self-service";
  Workload old = c.workload;
  c.ctx.requester.operation = Operation::kUpdate;
  c.ctx.old = &old;
  c.ctx.old_matched = {};  // e.g. the label that brings it into scope was just added
  CHECK_FALSE(c.decide().response.allowed);
  c.ctx.old_matched = {c.ref.policy};
  CHECK(c.decide().response.allowed);
}

TEST_CASE("an expiry centuries ahead is too far, not wrapped into the past of a nanosecond clock",
          "[admission][decision][gate]") {
  Case c("enforce", "  breakGlass: {allowed: true, allowedUsers: [alice@acme.com], maxDuration: 24h}\n");
  c.workload.annotations["modelgate.dev/break-glass"] = "INC-1";
  for (const char* far : {"2611-06-22T11:34:33Z", "2262-04-12T00:00:00Z", "9999-12-31T23:59:59Z"}) {
    c.workload.annotations["modelgate.dev/break-glass-expires"] = far;
    Decision d = c.decide();
    INFO(far);
    CHECK_FALSE(d.response.allowed);
    CHECK_THAT(d.response.message, Catch::Contains("more than 1d ahead"));
  }
}
