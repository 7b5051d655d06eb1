// Tests of `modelgate policy test`, `modelgate review` and `modelgate attest`, run as real
// processes on the shipped examples and on fixtures made here with the openssl CLI.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "cluster_fixture.h"
#include "test_support.h"

namespace fs = std::filesystem;
using modelgate::testing::read_file;
using modelgate::testing::run;
using modelgate::testing::TempDir;
using modelgate::testing::write_file;

namespace {

modelgate::testing::ProcessResult mg(std::vector<std::string> args) {
  args.insert(args.begin(), modelgate::testing::modelgate_binary().string());
  return run(args);
}

fs::path examples() { return fs::path(MODELGATE_SOURCE_DIR) / "examples"; }

void keypair(const fs::path& dir, const std::string& name) {
  fs::create_directories(dir);
  REQUIRE(run({"openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out",
               (dir / (name + ".key")).string()}).exit_code == 0);
  REQUIRE(run({"openssl", "ec", "-in", (dir / (name + ".key")).string(), "-pubout", "-out",
               (dir / (name + ".pub")).string()}).exit_code == 0);
}

const char* kPolicy = R"(apiVersion: modelgate.dev/v1alpha1
kind: ModelPolicy
metadata: {name: serving}
spec:
  match: {namespaces: [ml-serving]}
  sources: [{name: m, pvc: {claimName: models, volumeName: models-ro-pv}, root: /mnt/models}]
  trust:
    signers: [{name: team, publicKey: keys/team.pub}]
    reviewers: [{name: leads, publicKeys: [keys/alice.pub]}]
  require:
    signature: {signers: [team]}
    reviews: {minApprovals: 1, from: [leads]}
)";

const char* kPod = R"(apiVersion: v1
kind: Pod
metadata: {name: p, namespace: ml-serving}
spec:
  containers:
  - name: c
    image: x
    volumeMounts: [{name: w, mountPath: /m, subPath: llama, readOnly: true}]
  volumes: [{name: w, persistentVolumeClaim: {claimName: models}}]
)";

// Published is a signed model with an approval made through the CLI itself.
struct Published {
  TempDir t;
  Published() {
    keypair(t / "keys", "team");
    keypair(t / "keys", "alice");
    write_file(t / "models/llama/config.json", "{}\n");
    write_file(t / "models/llama/weights.bin", std::string(5000, 'w'));
    write_file(t / "policy.yaml", kPolicy);
    write_file(t / "pod.yaml", kPod);
    REQUIRE(mg({"sign", "key", (t / "models/llama").string(), "--private-key", (t / "keys/team.key").string()})
                .exit_code == 0);
  }
  modelgate::testing::ProcessResult review() {
    return mg({"review", "--policy", (t / "policy.yaml").string(), "--evidence", (t / "store").string(), "--root",
               "/mnt/models=" + (t / "models").string(), "-f", (t / "pod.yaml").string(), "--cluster-state",
               modelgate::testing::write_cluster_state(t.path(), "ml-serving").string()});
  }
};

}  // namespace

TEST_CASE("policy test passes every case of the shipped example policies", "[cli][policy-test]") {
  auto r = mg({"policy", "test", (examples() / "policy-tests").string()});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("23 passed, 0 failed"));
}

TEST_CASE("policy test fails with exit 1 and says why when a case's expectation is not met", "[cli][policy-test]") {
  TempDir t;
  const fs::path src = examples() / "policy-tests";
  std::string text = read_file(src / "modelgate-test.yaml");
  // Claim the tampered model would be admitted: the runner must say it was not.
  const std::string from = "resource: workloads/tampered.yaml\n  expect:\n    allowed: false";
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  text.replace(at, from.size(), "resource: workloads/tampered.yaml\n  expect:\n    allowed: true");
  fs::copy(src, t / "copy", fs::copy_options::recursive);
  fs::create_directories(t / "policies");
  fs::copy(examples() / "policies", t / "policies", fs::copy_options::recursive);
  write_file(t / "copy/modelgate-test.yaml", text);
  // ../policies/ relative to the copy is t/policies.
  auto r = mg({"policy", "test", (t / "copy").string()});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.out, Catch::Contains("FAIL"));
  CHECK_THAT(r.out, Catch::Contains("22 passed, 1 failed"));
  CHECK_THAT(r.out, Catch::Contains("deny (signature.digest_mismatch)"));
}

TEST_CASE("policy test reports an unknown field in a test file with its position", "[cli][policy-test]") {
  TempDir t;
  write_file(t / "t.yaml", "apiVersion: modelgate.dev/v1alpha1\nkind: PolicyTest\npolicies: [p]\ncases: []\nexpcet: {}\n");
  auto r = mg({"policy", "test", (t / "t.yaml").string()});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("t.yaml:5:1: error: unknown field \"expcet\""));
}

TEST_CASE("review denies an unapproved model (exit 1) and admits it once attest approval filed one (exit 0)",
          "[cli][review]") {
  Published p;
  auto denied = p.review();
  CHECK(denied.exit_code == 1);
  CHECK_THAT(denied.out, Catch::Contains("DENIED  Pod/p in namespace ml-serving"));
  CHECK_THAT(denied.out, Catch::Contains("  - reviews: 0 approvals from leads; 1 required"));

  auto attest = mg({"attest", "approval", (p.t / "models/llama").string(), "--private-key",
                    (p.t / "keys/alice.key").string(), "--reviewer", "alice@acme.com", "--store",
                    (p.t / "store").string()});
  INFO(attest.err);
  REQUIRE(attest.exit_code == 0);
  CHECK_THAT(attest.out, Catch::Contains("approval attestation for sha256:"));
  auto allowed = p.review();
  INFO(allowed.out << allowed.err);
  CHECK(allowed.exit_code == 0);
  CHECK_THAT(allowed.out, Catch::Contains("ALLOWED Pod/p in namespace ml-serving"));
}

TEST_CASE("attest files evidence under the root digest that modelgate digest and the signature agree on",
          "[cli][attest]") {
  Published p;
  auto digest = mg({"digest", (p.t / "models/llama").string()});  // model.sig is never hashed
  REQUIRE(digest.exit_code == 0);
  auto attest = mg({"attest", "provenance", (p.t / "models/llama").string(), "--private-key",
                    (p.t / "keys/team.key").string(), "--builder-id", "https://b", "--build-type", "t", "--dataset",
                    "d=sha256:" + std::string(64, 'a'), "--store", (p.t / "store").string()});
  INFO(attest.err);
  REQUIRE(attest.exit_code == 0);
  // The store directory is named by the digest `modelgate digest` prints (an independent path
  // through the walker) and the file holds a DSSE bundle whose statement names it.
  std::string root;
  for (const auto& e : fs::directory_iterator(p.t / "store/sha256")) {
    root = e.path().filename().string();
  }
  CHECK_THAT(digest.out, Catch::Contains(root));
  for (const auto& e : fs::directory_iterator(p.t / "store/sha256" / root)) {
    auto bundle = nlohmann::json::parse(read_file(e.path()));
    CHECK(bundle["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json");
    CHECK(bundle["dsseEnvelope"]["payloadType"] == "application/vnd.in-toto+json");
  }
}

TEST_CASE("attest refuses a malformed dataset flag as a usage error", "[cli][attest]") {
  Published p;
  auto r = mg({"attest", "provenance", (p.t / "models/llama").string(), "--private-key",
               (p.t / "keys/team.key").string(), "--builder-id", "b", "--build-type", "t", "--dataset", "no-digest"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("--dataset \"no-digest\": expected NAME=sha256:HEX"));
}

TEST_CASE("review without --cluster-state denies a pod that mounts a pvc source and says to pass it",
          "[cli][policy-test]") {
  Published p;
  auto r = mg({"review", "--policy", (p.t / "policy.yaml").string(), "--evidence", (p.t / "store").string(), "--root",
               "/mnt/models=" + (p.t / "models").string(), "-f", (p.t / "pod.yaml").string()});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.out, Catch::Contains("claim-binding: model volume \"w\" (pvc \"models\", source \"m\"): cannot check "
                                    "which volume claim \"models\" in namespace \"ml-serving\" is bound to: no cluster "
                                    "state; pass --cluster-state FILE (kubectl get pvc,pv,ns -A -o yaml)"));
  CHECK_THAT(r.err, Catch::Contains("reason=cluster.state_missing"));
}

TEST_CASE("review --cluster-state reads what kubectl get -o yaml prints, a List, and refuses a claim bound elsewhere",
          "[cli][policy-test]") {
  Published p;
  // The captured claims as one kubectl-style `kind: List` whose items carry kind and apiVersion,
  // the captured claim "models" given spec.volumeName "scratch-pv" (a user's own claim of that
  // name); the captured volume and namespace lists as two more documents.
  auto pvcs = nlohmann::json::parse(modelgate::testing::kube_capture("list-pvcs.json"));
  pvcs["kind"] = "List";
  for (auto& item : pvcs["items"]) {
    item["kind"] = "PersistentVolumeClaim";  // kubectl's List items carry their kind
    item["apiVersion"] = "v1";
    if (item["metadata"]["name"] == "models" && item["metadata"]["namespace"] == "ml-prod") {
      item["spec"]["volumeName"] = "scratch-pv";
    }
  }
  write_file(p.t / "state/pvcs.yaml", modelgate::testing::rename_all(pvcs.dump(2), "ml-prod", "ml-serving"));
  write_file(p.t / "state/rest.yaml",
             modelgate::testing::rename_all(modelgate::testing::kube_capture("list-pvs.json"), "ml-prod", "ml-serving") +
                 "\n---\n" +
                 modelgate::testing::rename_all(modelgate::testing::kube_capture("list-namespaces.json"), "ml-prod",
                                                "ml-serving"));
  auto r = mg({"review", "--policy", (p.t / "policy.yaml").string(), "--evidence", (p.t / "store").string(), "--root",
               "/mnt/models=" + (p.t / "models").string(), "-f", (p.t / "pod.yaml").string(), "--cluster-state",
               (p.t / "state/pvcs.yaml").string(), "--cluster-state", (p.t / "state/rest.yaml").string()});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.out, Catch::Contains("claim \"models\" in namespace \"ml-serving\" is bound to volume \"scratch-pv\", "
                                    "which does not match \"models-ro-pv\""));
}

TEST_CASE("policy lint errors on a pvc source without volumeName and says why", "[cli][policy-test]") {
  TempDir t;
  std::string policy = kPolicy;
  policy.replace(policy.find(", volumeName: models-ro-pv"), std::string(", volumeName: models-ro-pv").size(), "");
  write_file(t / "p.yaml", policy);
  auto r = mg({"policy", "lint", (t / "p.yaml").string()});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("error: source \"m\": pvc needs volumeName (a claim name proves nothing: anyone who "
                                    "may create PersistentVolumeClaims in the namespace can create one of that name "
                                    "bound to a volume they control"));
}

TEST_CASE("policy lint reads namespaceSelector and reports a bad operator at its position", "[cli][policy-test]") {
  TempDir t;
  std::string policy = kPolicy;
  policy.replace(policy.find("match: {namespaces: [ml-serving]}"), std::string("match: {namespaces: [ml-serving]}").size(),
                 "match: {namespaceSelector: {matchExpressions: [{key: team, operator: Within, values: [ml]}]}}");
  write_file(t / "p.yaml", policy);
  auto r = mg({"policy", "lint", (t / "p.yaml").string()});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("unknown operator \"Within\" (use In, NotIn, Exists or DoesNotExist)"));
  policy.replace(policy.find("operator: Within"), std::string("operator: Within").size(), "operator: In");
  write_file(t / "p.yaml", policy);
  auto ok = mg({"policy", "lint", (t / "p.yaml").string()});
  INFO(ok.err);
  CHECK(ok.exit_code == 0);
}
