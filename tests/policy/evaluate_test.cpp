// evaluate_test.cpp: every BAB rule judged on real evidence: models hashed from disk, signatures
// and attestations made in the test with keys from the openssl CLI, gathered by collect_model_facts
// and judged by evaluate. Digests in messages are checked against sha256sum.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <string>

#include "crypto/approval.h"
#include "crypto/encoding.h"
#include "crypto/slsa_provenance.h"
#include "crypto/test_result.h"
#include "policy/evaluate.h"
#include "policy/evidence.h"
#include "policy/evidence_fixtures.h"
#include "test_support.h"

namespace {

namespace fs = std::filesystem;
using namespace modelgate;
using namespace modelgate::testing;
using namespace modelgate::testing::evidence;
using crypto::Json;
using policy::RuleStatus;

constexpr std::int64_t kNow = 1'790'000'000;  // 2026-09-21: the fixed clock of these tests

const char* kPolicy = R"(apiVersion: modelgate.dev/v1alpha1
kind: ModelPolicy
metadata: {name: prod}
spec:
  match: {namespaces: [".*"]}
  sources:
  - {name: models, pvc: {claimName: models}, root: /mnt/models}
  trust:
    signers:
    - {name: team, publicKey: keys/team.pub}
    - {name: trainer, publicKey: keys/trainer.pub}
    - {name: evals, publicKey: keys/evals.pub}
    reviewers:
    - {name: leads, publicKeys: keys/leads/}
  require:
    signature: {signers: [team]}
    provenance: {signers: [trainer], builders: ["https://builder\\.acme/v2"]}
    reviews: {minApprovals: 2, from: [leads]}
    datasets: {catalog: catalog.yaml, allowClassifications: [public, internal]}
    baseModels: {maxDepth: 2}
    evaluations: [{name: safety, signers: [evals]}]
    maxAge: 30d
)";

const char* kCatalog = R"(apiVersion: modelgate.dev/v1alpha1
kind: DatasetCatalog
datasets:
- {name: tickets, versionId: "1", created: 2026-01-01, format: parquet, location: s3://d/t, classification: internal,
   owner: data@acme.com, sha256: 1111111111111111111111111111111111111111111111111111111111111111, license: Apache-2.0}
- {name: pii, versionId: "1", created: 2026-01-01, format: parquet, location: s3://d/p, classification: restricted,
   owner: data@acme.com, sha256: 2222222222222222222222222222222222222222222222222222222222222222, license: Apache-2.0}
)";

const std::string kTickets = std::string(64, '1');
const std::string kPii = std::string(64, '2');

// World is a policy directory with keys, a catalog, a store and one model.
struct World {
  TempDir tmp;
  KeyPair team = make_key(tmp / "keys", "team");
  KeyPair trainer = make_key(tmp / "keys", "trainer");
  KeyPair evals = make_key(tmp / "keys", "evals");
  KeyPair alice = make_key(tmp / "keys/leads", "alice");
  KeyPair bob = make_key(tmp / "keys/leads", "bob");
  KeyPair stranger = make_key(tmp / "other", "stranger");
  fs::path model = tmp / "models" / "llama";
  fs::path store = tmp / "store";
  crypto::Sha256Digest root{};
  std::string policy_text = kPolicy;

  World() {
    write_file(tmp / "catalog.yaml", kCatalog);
    write_model(model, 7);
    root = sign(model, team);
  }

  void provenance(const KeyPair& k, const std::string& builder, std::vector<crypto::Dependency> deps,
                  std::int64_t finished = kNow - 86400, const std::string& name = "provenance") {
    crypto::Provenance p;
    p.builder_id = builder;
    p.build_type = "https://acme/ft/v1";
    p.dependencies = std::move(deps);
    p.finished_on = finished;
    attest(store, root, k, crypto::kSlsaProvenanceV1, crypto::provenance_v1_predicate(p), name);
  }
  void approval(const KeyPair& k, const std::string& who, bool approved = true) {
    crypto::Approval a{who, approved ? crypto::ApprovalDecision::kApproved : crypto::ApprovalDecision::kRejected,
                       kNow - 3600, "lgtm"};
    attest(store, root, k, crypto::kApprovalPredicateV1, crypto::approval_predicate(a), "approval-" + who);
  }
  void evaluation(const KeyPair& k, crypto::TestOutcome outcome) {
    crypto::TestResult t;
    t.result = outcome;
    t.configuration_names = {"safety"};
    t.failed_tests = outcome == crypto::TestOutcome::kFailed ? std::vector<std::string>{"jailbreak-17"}
                                                             : std::vector<std::string>{};
    attest(store, root, k, crypto::kTestResultPredicateV01, crypto::test_result_predicate(t), "eval");
  }
  // everything the policy asks for
  void complete() {
    provenance(trainer, "https://builder.acme/v2", {dataset("tickets", kTickets)});
    approval(alice, "alice");
    approval(bob, "bob");
    evaluation(evals, crypto::TestOutcome::kPassed);
  }
  static crypto::Dependency dataset(const std::string& name, const std::string& sha) {
    return crypto::Dependency{name, "s3://d/" + name, sha, "dataset"};
  }

  policy::PolicyEvaluation judge() {
    auto set = load_policies(tmp.path(), policy_text);
    policy::EvidenceOptions o;
    o.stores = {store};
    o.now = kNow;
    const policy::CompiledPolicy& c = set->policies().front();
    policy::ModelFacts f = policy::collect_model_facts(c, model, "model.sig", o);
    return policy::evaluate(c, f);
  }
};

const policy::RuleResult& rule(const policy::PolicyEvaluation& e, const std::string& name) {
  auto it = std::find_if(e.rules.begin(), e.rules.end(), [&](const policy::RuleResult& r) { return r.rule == name; });
  REQUIRE(it != e.rules.end());
  return *it;
}

std::string sha256sum(const fs::path& p) {
  auto r = run({"sha256sum", p.string()});
  REQUIRE(r.exit_code == 0);
  return r.out.substr(0, 64);
}

}  // namespace

TEST_CASE("a signed model with provenance, two approvals, catalogued data and a passing evaluation passes every rule",
          "[policy][evaluate]") {
  World w;
  w.complete();
  auto e = w.judge();
  for (const auto& r : e.rules) {
    INFO(r.rule << ": " << r.message);
    CHECK(r.status == RuleStatus::kPass);
  }
  CHECK(e.passed());
  CHECK(e.rules.size() == 7);
}

TEST_CASE("an unsigned model fails the signature rule as missing and nothing else is judged", "[policy][evaluate]") {
  World w;
  w.complete();
  fs::remove(w.model / "model.sig");
  auto e = w.judge();
  CHECK(rule(e, "signature").status == RuleStatus::kFail);
  CHECK(rule(e, "signature").reason == "signature.missing");
  CHECK(rule(e, "reviews").status == RuleStatus::kSkip);
  CHECK(rule(e, "provenance").status == RuleStatus::kSkip);
}

TEST_CASE("a model signed by a key no listed signer holds is untrusted", "[policy][evaluate]") {
  World w;
  sign(w.model, w.stranger);
  auto e = w.judge();
  CHECK(rule(e, "signature").reason == "signature.untrusted");
  CHECK_THAT(rule(e, "signature").message, Catch::Contains("is not signed by team"));
}

TEST_CASE("a changed weight file fails with the signed and the found digest, as sha256sum computes it",
          "[policy][evaluate]") {
  World w;
  w.complete();
  const fs::path shard = w.model / "model-00002-of-00002.safetensors";
  const std::string before = sha256sum(shard);
  std::string bytes = read_file(shard);
  bytes[4321] ^= 0x01;
  write_file(shard, bytes);
  const std::string after = sha256sum(shard);
  auto e = w.judge();
  const auto& r = rule(e, "signature");
  CHECK(r.reason == "signature.digest_mismatch");
  CHECK_THAT(r.message, Catch::Contains("file \"model-00002-of-00002.safetensors\" does not match the signed digest"));
  CHECK_THAT(r.message, Catch::Contains("signed sha256:" + before));
  CHECK_THAT(r.message, Catch::Contains("found sha256:" + after));
}

TEST_CASE("provenance signed by someone other than the listed builder signer does not count", "[policy][evaluate]") {
  World w;
  w.complete();
  fs::remove_all(w.store / "sha256" / crypto::to_hex(w.root) / "provenance.json");
  w.provenance(w.stranger, "https://builder.acme/v2", {World::dataset("tickets", kTickets)}, kNow - 86400, "forged");
  auto e = w.judge();
  const auto& r = rule(e, "provenance");
  CHECK(r.reason == "provenance.missing");
  CHECK_THAT(r.message, Catch::Contains("\"forged.json\""));
  CHECK_THAT(r.message, Catch::Contains("not a key of trainer"));
  CHECK(rule(e, "datasets").status == RuleStatus::kSkip);
}

TEST_CASE("provenance from a builder outside the allowlist fails and names both", "[policy][evaluate]") {
  World w;
  w.complete();
  w.provenance(w.trainer, "https://laptop.example/notebook", {World::dataset("tickets", kTickets)});
  auto e = w.judge();
  const auto& r = rule(e, "provenance");
  CHECK(r.reason == "provenance.builder");
  CHECK_THAT(r.message, Catch::Contains("\"https://laptop.example/notebook\" is not an approved builder"));
  CHECK_THAT(r.message, Catch::Contains("https://builder\\\\.acme/v2"));
}

TEST_CASE("one approval when two are required fails with who approved", "[policy][evaluate]") {
  World w;
  w.provenance(w.trainer, "https://builder.acme/v2", {World::dataset("tickets", kTickets)});
  w.approval(w.alice, "alice");
  w.evaluation(w.evals, crypto::TestOutcome::kPassed);
  auto e = w.judge();
  const auto& r = rule(e, "reviews");
  CHECK(r.reason == "reviews.insufficient");
  CHECK_THAT(r.message, Catch::StartsWith("1 approval from leads (alice); 2 required"));
}

TEST_CASE("the same reviewer approving twice counts once", "[policy][evaluate]") {
  World w;
  w.provenance(w.trainer, "https://builder.acme/v2", {World::dataset("tickets", kTickets)});
  w.approval(w.alice, "alice");
  attest(w.store, w.root, w.alice, crypto::kApprovalPredicateV1,
         crypto::approval_predicate({"alice-again", crypto::ApprovalDecision::kApproved, kNow, ""}), "again");
  auto e = w.judge();
  CHECK(rule(e, "reviews").reason == "reviews.insufficient");
}

TEST_CASE("an approval by the model's own signer does not count (no unilateral change)", "[policy][evaluate]") {
  World w;
  // The team key is also an ML lead's key: it signed the model, so its approval is excluded.
  fs::copy_file(w.team.public_pem, w.tmp / "keys/leads/team.pub");
  w.provenance(w.trainer, "https://builder.acme/v2", {World::dataset("tickets", kTickets)});
  w.approval(w.alice, "alice");
  w.approval(w.team, "team-lead");
  auto e = w.judge();
  const auto& r = rule(e, "reviews");
  CHECK(r.reason == "reviews.insufficient");
  CHECK_THAT(r.message, Catch::Contains("approvals by the model's own signer or builder do not count (\"team-lead\")"));

  SECTION("unless the policy relaxes it") {
    w.policy_text = replace_all(w.policy_text, "from: [leads]}", "from: [leads], excludeSigner: false}");
    CHECK(rule(w.judge(), "reviews").status == RuleStatus::kPass);
  }
}

TEST_CASE("a reviewer's rejection blocks the model whatever the approvals", "[policy][evaluate]") {
  World w;
  w.complete();
  fs::copy_file(w.stranger.public_pem, w.tmp / "keys/leads/carol.pub");
  w.approval(w.stranger, "carol", false);
  auto e = w.judge();
  CHECK(rule(e, "reviews").reason == "reviews.rejected");
  CHECK_THAT(rule(e, "reviews").message, Catch::Contains("rejected by \"carol\": \"lgtm\""));
}

TEST_CASE("datasets must be catalogued, pinned and of an allowed classification", "[policy][evaluate]") {
  World w;
  w.approval(w.alice, "alice");
  w.approval(w.bob, "bob");
  w.evaluation(w.evals, crypto::TestOutcome::kPassed);
  SECTION("a dataset the catalog does not know") {
    w.provenance(w.trainer, "https://builder.acme/v2", {World::dataset("scraped", std::string(64, 'a'))});
    CHECK(rule(w.judge(), "datasets").reason == "datasets.not_in_catalog");
  }
  SECTION("a known dataset name pinned to another digest is not the catalogued one") {
    w.provenance(w.trainer, "https://builder.acme/v2", {World::dataset("tickets", std::string(64, 'b'))});
    CHECK(rule(w.judge(), "datasets").reason == "datasets.not_in_catalog");
  }
  SECTION("a restricted dataset") {
    w.provenance(w.trainer, "https://builder.acme/v2",
                 {World::dataset("tickets", kTickets), World::dataset("pii", kPii)});
    const auto r = rule(w.judge(), "datasets");
    CHECK(r.reason == "datasets.classification");
    CHECK_THAT(r.message, Catch::Contains("\"pii\" is classified \"restricted\""));
  }
  SECTION("a dataset without a digest") {
    w.provenance(w.trainer, "https://builder.acme/v2", {World::dataset("tickets", "")});
    CHECK(rule(w.judge(), "datasets").reason == "datasets.unpinned");
  }
  SECTION("a denied dataset") {
    w.policy_text = replace_all(w.policy_text, "allowClassifications: [public, internal]}",
                                "allowClassifications: [public, internal], denyDatasets: [tickets]}");
    w.provenance(w.trainer, "https://builder.acme/v2", {World::dataset("tickets", kTickets)});
    CHECK(rule(w.judge(), "datasets").reason == "datasets.denied");
  }
}

TEST_CASE("a base model is judged by the same policy from its own evidence", "[policy][evaluate]") {
  World w;
  w.approval(w.alice, "alice");
  w.approval(w.bob, "bob");
  w.evaluation(w.evals, crypto::TestOutcome::kPassed);
  // The base model exists only as evidence: its signature and attestations are in the store.
  const fs::path base = w.tmp / "models" / "base";
  write_model(base, 99);
  const crypto::Sha256Digest base_root = sign(base, w.team);
  const std::string base_hex = crypto::to_hex(base_root);
  crypto::Dependency dep{"llama-base", "hf://acme/base", base_hex, "base-model"};
  w.provenance(w.trainer, "https://builder.acme/v2", {World::dataset("tickets", kTickets), dep});
  fs::create_directories(w.store / "sha256" / base_hex);

  SECTION("without evidence of its own it fails") {
    const auto r = rule(w.judge(), "baseModels");
    CHECK(r.reason == "base_models.failed:signature.missing");  // the base model's own reason is kept
    CHECK_THAT(r.message, Catch::Contains("base model \"llama-base\""));
    CHECK_THAT(r.message, Catch::Contains("signature: no model_signing signature"));
  }
  SECTION("with a signature, provenance, approvals and evaluation filed under its digest it passes") {
    fs::copy_file(base / "model.sig", w.store / "sha256" / base_hex / "signature.json",
                  fs::copy_options::overwrite_existing);
    const crypto::Sha256Digest saved = w.root;
    w.root = base_root;
    w.complete();
    w.root = saved;
    CHECK(rule(w.judge(), "baseModels").status == RuleStatus::kPass);
  }
  SECTION("a lineage that loops back is a cycle") {
    // The base model's provenance names the fine-tune as its own base model.
    fs::copy_file(base / "model.sig", w.store / "sha256" / base_hex / "signature.json");
    const crypto::Sha256Digest saved = w.root;
    w.root = base_root;
    w.provenance(w.trainer, "https://builder.acme/v2",
                 {World::dataset("tickets", kTickets), crypto::Dependency{"ft", "", crypto::to_hex(saved), "base-model"}});
    w.approval(w.alice, "alice");
    w.approval(w.bob, "bob");
    w.evaluation(w.evals, crypto::TestOutcome::kPassed);
    w.root = saved;
    const auto r = rule(w.judge(), "baseModels");
    CHECK(r.reason == "base_models.cycle");  // one token per cause, however long the loop
    CHECK_THAT(r.message, Catch::Contains("cycle"));
  }
}

TEST_CASE("evaluations must be signed by a listed signer and PASSED", "[policy][evaluate]") {
  World w;
  w.provenance(w.trainer, "https://builder.acme/v2", {World::dataset("tickets", kTickets)});
  w.approval(w.alice, "alice");
  w.approval(w.bob, "bob");
  SECTION("missing") { CHECK(rule(w.judge(), "evaluations").reason == "evaluations.missing"); }
  SECTION("failed") {
    w.evaluation(w.evals, crypto::TestOutcome::kFailed);
    const auto r = rule(w.judge(), "evaluations");
    CHECK(r.reason == "evaluations.failed");
    CHECK_THAT(r.message, Catch::Contains("jailbreak-17"));
  }
  SECTION("passed, but signed by the trainer instead of the eval harness") {
    w.evaluation(w.trainer, crypto::TestOutcome::kPassed);
    CHECK(rule(w.judge(), "evaluations").reason == "evaluations.missing");
  }
}

TEST_CASE("of several results for a suite the newest by trusted time wins; an untimed FAILED always denies",
          "[policy][evaluate]") {
  World w;
  w.complete();  // a PASSED result ("eval.json")
  crypto::TestResult failed;
  failed.result = crypto::TestOutcome::kFailed;
  failed.configuration_names = {"safety"};
  failed.failed_tests = {"jailbreak-17"};
  attest(w.store, w.root, w.evals, crypto::kTestResultPredicateV01, crypto::test_result_predicate(failed), "rerun");
  auto set = load_policies(w.tmp.path(), w.policy_text);
  policy::EvidenceOptions o;
  o.stores = {w.store};
  o.now = kNow;
  const policy::CompiledPolicy& c = set->policies().front();
  policy::ModelFacts f = policy::collect_model_facts(c, w.model, "model.sig", o);
  REQUIRE(f.test_results.size() == 2);
  auto judged = [&] { return rule(policy::evaluate(c, f), "evaluations"); };
  SECTION("bare keys give no trusted time: the FAILED is not superseded") {
    const auto r = judged();
    CHECK(r.reason == "evaluations.failed");
    CHECK_THAT(r.message, Catch::Contains("does not supersede it"));
  }
  // Trusted times come from Sigstore or certificates; here they are set on the facts directly.
  auto& passed = f.test_results[0].result.result == crypto::TestOutcome::kPassed ? f.test_results[0] : f.test_results[1];
  auto& stale = &passed == &f.test_results[0] ? f.test_results[1] : f.test_results[0];
  SECTION("a PASSED signed after the FAILED wins") {
    stale.times = {kNow - 7200};
    passed.times = {kNow - 3600};
    const auto r = judged();
    CHECK(r.status == RuleStatus::kPass);
    CHECK_THAT(r.message, Catch::Contains("newer than the 1 earlier non-PASSED result"));
  }
  SECTION("a FAILED signed after the PASSED denies") {
    stale.times = {kNow - 3600};
    passed.times = {kNow - 7200};
    const auto r = judged();
    CHECK(r.reason == "evaluations.failed");
    CHECK_THAT(r.message, Catch::Contains("is not older than the PASSED result"));
  }
  SECTION("a PASSED with a time does not outrank a FAILED without one") {
    passed.times = {kNow - 60};
    CHECK(judged().reason == "evaluations.failed");
  }
}

TEST_CASE("maxAge refuses evidence from the future beyond the clock-skew allowance", "[policy][evaluate]") {
  World w;
  w.approval(w.alice, "alice");
  w.approval(w.bob, "bob");
  w.evaluation(w.evals, crypto::TestOutcome::kPassed);
  SECTION("an hour ahead") {
    w.provenance(w.trainer, "https://builder.acme/v2", {World::dataset("tickets", kTickets)}, kNow + 3600);
    const auto r = rule(w.judge(), "maxAge");
    CHECK(r.reason == "max_age.future");
    CHECK_THAT(r.message, Catch::Contains("in the future"));
  }
  SECTION("a minute ahead is clock skew") {
    w.provenance(w.trainer, "https://builder.acme/v2", {World::dataset("tickets", kTickets)}, kNow + 60);
    CHECK(rule(w.judge(), "maxAge").status == RuleStatus::kPass);
  }
}

TEST_CASE("evidence older than maxAge fails; evidence without any trusted time cannot be judged", "[policy][evaluate]") {
  World w;
  w.approval(w.alice, "alice");
  w.approval(w.bob, "bob");
  w.evaluation(w.evals, crypto::TestOutcome::kPassed);
  SECTION("built 40 days ago, 30 allowed") {
    w.provenance(w.trainer, "https://builder.acme/v2", {World::dataset("tickets", kTickets)}, kNow - 40 * 86400);
    const auto r = rule(w.judge(), "maxAge");
    CHECK(r.reason == "max_age.expired");
    CHECK_THAT(r.message, Catch::Contains("40d ago; at most 30d allowed"));
  }
  SECTION("no build time and a bare-key signature") {
    crypto::Provenance p;
    p.builder_id = "https://builder.acme/v2";
    p.build_type = "t";
    p.dependencies = {World::dataset("tickets", kTickets)};
    attest(w.store, w.root, w.trainer, crypto::kSlsaProvenanceV1, crypto::provenance_v1_predicate(p), "provenance");
    const auto r = rule(w.judge(), "maxAge");
    CHECK(r.status == RuleStatus::kError);
    CHECK(r.reason == "max_age.no_time");
  }
}

TEST_CASE("an attestation filed under the wrong digest is rejected, not counted", "[policy][evaluate]") {
  World w;
  w.complete();
  // Move alice's approval (subject = this model) under another model's digest directory and back
  // under this one with a statement about a different digest.
  crypto::Sha256Digest other{};
  other[0] = 1;
  const std::string st = crypto::build_statement("m", other, crypto::kApprovalPredicateV1,
                                                 crypto::approval_predicate({"alice", crypto::ApprovalDecision::kApproved, kNow, ""}));
  auto b = crypto::sign_statement_bundle(st, crypto::KeySigner{w.alice.key});
  REQUIRE(b.ok());
  fs::remove(w.store / "sha256" / crypto::to_hex(w.root) / "approval-alice.json");
  write_file(w.store / "sha256" / crypto::to_hex(w.root) / "approval-alice.json", b.value());
  const auto r = rule(w.judge(), "reviews");
  CHECK(r.reason == "reviews.insufficient");
  CHECK_THAT(r.message, Catch::Contains("\"approval-alice.json\": signs sha256:010000000000…, the model is sha256:" +
                                        crypto::to_hex(w.root).substr(0, 12)));
}

TEST_CASE("threshold 2 needs a second listed signer's signature over the same files in the store",
          "[policy][evaluate]") {
  World w;
  w.complete();
  w.policy_text = replace_all(w.policy_text, "signature: {signers: [team]}",
                              "signature: {signers: [team, trainer], threshold: 2}");
  CHECK(rule(w.judge(), "signature").reason == "signature.threshold");
  // The trainer signs the same model too; its bundle goes to the store under the root digest.
  crypto::SignOptions o;
  auto b = crypto::sign_model(w.model, w.model / "model.sig", crypto::KeySigner{w.trainer.key}, o);
  REQUIRE(b.ok());
  write_file(w.store / "sha256" / crypto::to_hex(w.root) / "trainer-signature.json", b->bundle_json);
  const auto r = rule(w.judge(), "signature");
  CHECK(r.status == RuleStatus::kPass);
  CHECK_THAT(r.message, Catch::Contains("team"));
  CHECK_THAT(r.message, Catch::Contains("trainer"));
}

TEST_CASE("SLSA v0.2 provenance satisfies the builder rule but cannot tell datasets apart", "[policy][evaluate]") {
  World w;
  w.approval(w.alice, "alice");
  w.approval(w.bob, "bob");
  w.evaluation(w.evals, crypto::TestOutcome::kPassed);
  Json v02 = {{"builder", {{"id", "https://builder.acme/v2"}}},
              {"buildType", "https://acme/ft/v1"},
              {"materials", Json::array({{{"uri", "s3://d/tickets"}, {"digest", {{"sha256", kTickets}}}}})},
              {"metadata", {{"buildFinishedOn", "2026-09-20T00:00:00Z"}}}};
  attest(w.store, w.root, w.trainer, crypto::kSlsaProvenanceV02, v02, "provenance");
  auto e = w.judge();
  CHECK(rule(e, "provenance").status == RuleStatus::kPass);
  CHECK(rule(e, "datasets").reason == "datasets.no_roles");
  CHECK(rule(e, "maxAge").status == RuleStatus::kPass);
}
