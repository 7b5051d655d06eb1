// Tests of `modelgate policy test`, `modelgate review` and `modelgate attest`, run as real
// processes on the shipped examples and on fixtures made here with the openssl CLI.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

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
  sources: [{name: m, pvc: {claimName: models}, root: /mnt/models}]
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
               "/mnt/models=" + (t / "models").string(), "-f", (t / "pod.yaml").string()});
  }
};

}  // namespace

TEST_CASE("policy test passes every case of the shipped example policies", "[cli][policy-test]") {
  auto r = mg({"policy", "test", (examples() / "policy-tests").string()});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("22 passed, 0 failed"));
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
  CHECK_THAT(r.out, Catch::Contains("21 passed, 1 failed"));
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
