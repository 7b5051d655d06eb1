// Tests of the platform team's evidence workflow (issue #20), run as real processes: a publisher
// signs, a second signer files a signature in the evidence store, reviewers and evaluators attest,
// and `evidence`, `review --explain` and `policy lint --root` show what the webhook will do.
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

// Two signers, two of two required; one ML lead must approve; the safety suite must pass.
const char* kPolicy = R"(apiVersion: modelgate.dev/v1alpha1
kind: ModelPolicy
metadata: {name: serving}
spec:
  match: {namespaces: [ml-serving]}
  sources: [{name: m, pvc: {claimName: models, volumeName: models-ro-pv}, root: /mnt/models}]
  trust:
    signers:
    - {name: team, publicKey: keys/team.pub}
    - {name: second, publicKey: keys/second.pub}
    - {name: evals, publicKey: keys/evals.pub}
    - {name: trainer, publicKey: keys/trainer.pub}
    reviewers: [{name: leads, publicKeys: [keys/alice.pub]}]
  require:
    signature: {signers: [team, second], threshold: 2}
    reviews: {minApprovals: 1, from: [leads]}
    evaluations: [{name: safety, signers: [evals]}]
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

// Workflow: a model signed by the publisher (model.sig), approved by alice, evaluated PASSED.
// The second signature is up to each test.
struct Workflow {
  TempDir t;
  Workflow(const std::string& policy = kPolicy) {
    for (const char* k : {"team", "second", "alice", "evals", "trainer", "other"}) {
      keypair(t / "keys", k);
    }
    write_file(t / "models/llama/config.json", "{}\n");
    write_file(t / "models/llama/weights.bin", std::string(5000, 'w'));
    write_file(t / "models/other/weights.bin", std::string(3000, 'o'));
    write_file(t / "policy.yaml", policy);
    write_file(t / "pod.yaml", kPod);
    auto s = mg({"sign", "key", model(), "--private-key", key("team")});
    INFO(s.err);
    REQUIRE(s.exit_code == 0);
    REQUIRE(attest({"approval", model(), "--private-key", key("alice"), "--reviewer", "alice@acme.com"}).exit_code ==
            0);
    REQUIRE(attest({"test-result", model(), "--private-key", key("evals"), "--suite", "safety", "--result", "PASSED"})
                .exit_code == 0);
  }
  std::string model() const { return (t / "models/llama").string(); }
  std::string key(const std::string& name) const { return (t / "keys" / (name + ".key")).string(); }
  std::string store() const { return (t / "store").string(); }
  modelgate::testing::ProcessResult attest(std::vector<std::string> args) {
    args.insert(args.begin(), "attest");
    args.insert(args.end(), {"--store", store()});
    auto r = mg(args);
    INFO(r.err);
    return r;
  }
  std::string root() {
    auto d = mg({"digest", model()});
    REQUIRE(d.exit_code == 0);
    REQUIRE(d.out.size() == 72);
    return d.out.substr(7, 64);
  }
  modelgate::testing::ProcessResult review(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"review", "--policy", (t / "policy.yaml").string(), "--evidence", store(),
                                     "--root", "/mnt/models=" + (t / "models").string(), "-f",
                                     (t / "pod.yaml").string(), "--cluster-state",
                                     modelgate::testing::write_cluster_state(t.path(), "ml-serving").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return mg(args);
  }
};

}  // namespace

// ---- item 1: the signature file is never hashed; foreign bundles are reported -----------------

TEST_CASE("digest leaves model.sig out, so a signed model has the digest it had before signing", "[cli][workflow]") {
  TempDir t;
  keypair(t / "keys", "k");
  write_file(t / "m/weights.bin", std::string(4000, 'x'));
  auto before = mg({"digest", (t / "m").string()});
  REQUIRE(before.exit_code == 0);
  REQUIRE(mg({"sign", "key", (t / "m").string(), "--private-key", (t / "keys/k.key").string()}).exit_code == 0);
  auto after = mg({"digest", (t / "m").string()});
  REQUIRE(after.exit_code == 0);
  CHECK(after.out == before.out);
  // An independent oracle: one file, so the root is SHA-256 over the file's own SHA-256.
  auto file = run({"sha256sum", (t / "m/weights.bin").string()});
  REQUIRE(file.exit_code == 0);
  auto json = nlohmann::json::parse(mg({"digest", "--json", (t / "m").string()}).out);
  REQUIRE(json["resources"].size() == 1);
  CHECK(json["resources"][0]["digest"] == file.out.substr(0, 64));
}

TEST_CASE("a second signer's bundle written with --signature into the store counts toward the threshold",
          "[cli][workflow]") {
  Workflow w;
  const std::string root = w.root();
  const fs::path sig = fs::path(w.store()) / "sha256" / root / "signature-second.json";
  fs::create_directories(sig.parent_path());
  auto s = mg({"sign", "key", w.model(), "--private-key", w.key("second"), "--signature", sig.string()});
  INFO(s.err);
  REQUIRE(s.exit_code == 0);
  CHECK_THAT(s.out, Catch::Contains("root digest: sha256:" + root));
  auto r = w.review();
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("ALLOWED Pod/p"));
}

TEST_CASE("sign --store files the bundle under the model's root digest where the webhook finds it",
          "[cli][workflow]") {
  Workflow w;
  auto denied = w.review();
  CHECK(denied.exit_code == 1);
  CHECK_THAT(denied.out, Catch::Contains("signed by 1 of the listed signers"));
  auto s = mg({"sign", "key", w.model(), "--private-key", w.key("second"), "--store", w.store()});
  INFO(s.err);
  REQUIRE(s.exit_code == 0);
  const std::string root = w.root();
  CHECK_THAT(s.out, Catch::Contains(fs::path(w.store()) / "sha256" / root / "signature-"));
  CHECK(fs::exists(w.t / "models/llama/model.sig"));  // the publisher's signature is untouched
  auto r = w.review();
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
}

TEST_CASE("sign refuses --store together with --signature as a usage error", "[cli][workflow]") {
  Workflow w;
  auto s = mg({"sign", "key", w.model(), "--private-key", w.key("second"), "--store", w.store(), "--signature",
               (w.t / "x.sig").string()});
  CHECK(s.exit_code == 2);
}

TEST_CASE("a store bundle that signs another model is reported as did not verify, with both digests",
          "[cli][workflow]") {
  Workflow w;
  const std::string root = w.root();
  auto other = mg({"digest", (w.t / "models/other").string()});
  REQUIRE(other.exit_code == 0);
  const fs::path sig = fs::path(w.store()) / "sha256" / root / "signature-second.json";
  fs::create_directories(sig.parent_path());
  REQUIRE(mg({"sign", "key", (w.t / "models/other").string(), "--private-key", w.key("second"), "--signature",
              sig.string()}).exit_code == 0);
  auto r = w.review();
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.out, Catch::Contains("signature-second.json"));
  CHECK_THAT(r.out, Catch::Contains("did not verify"));
  CHECK_THAT(r.out, Catch::Contains("signs " + other.out.substr(0, 19)));
  CHECK_THAT(r.out, Catch::Contains("the model is sha256:" + root.substr(0, 12)));
}

// ---- item 2: evidence ls / explain -------------------------------------------------------------

TEST_CASE("evidence ls lists every file in the store for a model with its kind and signer", "[cli][workflow]") {
  Workflow w;
  REQUIRE(mg({"sign", "key", w.model(), "--private-key", w.key("second"), "--store", w.store()}).exit_code == 0);
  write_file(fs::path(w.store()) / "sha256" / w.root() / "junk.json", "{not json");
  auto r = mg({"evidence", "ls", w.model(), "--store", w.store()});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("signature"));
  CHECK_THAT(r.out, Catch::Contains("approval"));
  CHECK_THAT(r.out, Catch::Contains("test-result"));
  CHECK_THAT(r.out, Catch::Contains("junk.json"));
  CHECK_THAT(r.out, Catch::Contains("unreadable"));
  auto by_digest = mg({"evidence", "ls", "--digest", "sha256:" + w.root(), "--store", w.store()});
  CHECK(by_digest.exit_code == 0);
  // By digest there is no model directory, so no model.sig row; the store's rows are the same.
  CHECK(by_digest.out == r.out.substr(0, r.out.find('\n', r.out.find('\n') + 1) + 1) +
                             r.out.substr(r.out.find('\n', r.out.find("model.sig")) + 1));
}

TEST_CASE("evidence explain says which files count, which do not verify and which are ignored", "[cli][workflow]") {
  Workflow w;
  const std::string root = w.root();
  // mallory's "approval" is not by an ML lead; a provenance nobody asked for is ignored.
  REQUIRE(w.attest({"approval", w.model(), "--private-key", w.key("other"), "--reviewer", "mallory@x"}).exit_code ==
          0);
  REQUIRE(w.attest({"provenance", w.model(), "--private-key", w.key("trainer"), "--builder-id", "b", "--build-type",
                    "t"}).exit_code == 0);
  auto r = mg({"evidence", "explain", w.model(), "--store", w.store(), "--policy", (w.t / "policy.yaml").string()});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("model.sig"));
  CHECK_THAT(r.out, Catch::Contains("counts for signature (team)"));
  CHECK_THAT(r.out, Catch::Contains("counts for reviews (leads)"));
  CHECK_THAT(r.out, Catch::Contains("counts for evaluations (evals)"));
  CHECK_THAT(r.out, Catch::Contains("does not verify"));
  CHECK_THAT(r.out, Catch::Contains("not a key of leads"));
  CHECK_THAT(r.out, Catch::Contains("ignored: policy \"serving\" has no provenance rule"));
}

// ---- item 3: explain allows and denies --------------------------------------------------------

TEST_CASE("review --explain shows every rule that ran for an allow and why it passed", "[cli][workflow]") {
  Workflow w;
  REQUIRE(mg({"sign", "key", w.model(), "--private-key", w.key("second"), "--store", w.store()}).exit_code == 0);
  auto r = w.review({"--explain"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("ALLOWED Pod/p"));
  CHECK_THAT(r.out, Catch::Contains("policy \"serving\""));
  CHECK_THAT(r.out, Catch::Contains("signature: pass: signed by"));
  CHECK_THAT(r.out, Catch::Contains("reviews: pass: 1 approval"));
  CHECK_THAT(r.out, Catch::Contains("evaluations: pass: \"safety\" PASSED"));
}

TEST_CASE("review --explain says why no policy matched a pod instead of a bare ALLOWED", "[cli][workflow]") {
  Workflow w;
  std::string pod = kPod;
  pod.replace(pod.find("namespace: ml-serving"), 21, "namespace: batch");
  write_file(w.t / "pod.yaml", pod);
  auto r = w.review({"--explain"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("no policy matched: namespace \"batch\""));
  // A matched pod whose only volume is a config map says why it holds no model.
  pod = kPod;
  pod.replace(pod.find("persistentVolumeClaim: {claimName: models}"), 42, "configMap: {name: server-config}");
  write_file(w.t / "pod.yaml", pod);
  r = w.review({"--explain"});
  INFO(r.out);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("no model volume: volume \"w\" (\"configMap\") is claimed by no source of policy "
                                    "\"serving\"; its kind \"configMap\" is in spec.otherVolumes.allow"));
  // A claim of another name is a volume no source claims: denied, with the two ways out.
  pod = kPod;
  pod.replace(pod.find("claimName: models"), 17, "claimName: scratch");
  write_file(w.t / "pod.yaml", pod);
  r = w.review({"--explain"});
  INFO(r.out);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.out, Catch::Contains("volume \"w\": volume.unclaimed: volume \"w\" (pvc scratch, kind "
                                    "\"persistentVolumeClaim\") is not a model source of this policy"));
  CHECK_THAT(r.out, Catch::Contains("add a source that claims it, or add \"persistentVolumeClaim\" to "
                                    "spec.otherVolumes.allow"));
}

TEST_CASE("policy test --explain prints each case's rules", "[cli][workflow]") {
  auto r = mg({"policy", "test", "--explain", (examples() / "policy-tests").string()});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("datasets: pass:"));
  CHECK_THAT(r.out, Catch::Contains("\"support-tickets-2024\""));
  CHECK_THAT(r.out, Catch::Contains("reviews: fail: reviews.insufficient:"));
}

// ---- item 4: lint --root, review --now --------------------------------------------------------

TEST_CASE("policy lint --check-files --root reads what policies name under /etc/modelgate from a local directory",
          "[cli][workflow]") {
  const std::string policies = (examples() / "policies").string();
  auto without = mg({"policy", "lint", "--check-files", policies});
  CHECK(without.exit_code == 1);
  auto with = mg({"policy", "lint", "--check-files", "--root",
                  "/etc/modelgate=" + (examples() / "policy-tests/fixtures/etc").string(), policies});
  INFO(with.out << with.err);
  CHECK(with.exit_code == 0);
  CHECK(with.err.empty());
  auto bad = mg({"policy", "lint", "--root", "etc=x", policies});
  CHECK(bad.exit_code == 2);
}

TEST_CASE("review --now judges maxAge at a fixed time", "[cli][workflow]") {
  const fs::path pt = examples() / "policy-tests";
  auto at = [&](const std::string& now) {
    return mg({"review", "--policy", (examples() / "policies").string(), "--evidence", (pt / "fixtures/evidence").string(),
               "--root", "/mnt/models=" + (pt / "fixtures/models").string(), "--root",
               "/etc/modelgate=" + (pt / "fixtures/etc").string(), "--now", now, "--cluster-state",
               (pt / "fixtures/cluster-state.yaml").string(), "-f", (pt / "workloads/approved.yaml").string()});
  };
  auto fresh = at("2026-12-01T00:00:00Z");
  INFO(fresh.out << fresh.err);
  CHECK(fresh.exit_code == 0);
  auto stale = at("2027-06-01T00:00:00Z");
  CHECK(stale.exit_code == 1);
  CHECK_THAT(stale.out, Catch::Contains("maxAge"));
  CHECK(at("tomorrow").exit_code == 2);
}

// ---- items 5 and 6: rules without surprises ---------------------------------------------------

TEST_CASE("a FAILED test result is not outweighed by a PASSED one that is not provably newer", "[cli][workflow]") {
  Workflow w;
  REQUIRE(mg({"sign", "key", w.model(), "--private-key", w.key("second"), "--store", w.store()}).exit_code == 0);
  REQUIRE(w.review().exit_code == 0);
  const fs::path failed = fs::path(w.store()) / "sha256" / w.root() / "test-result-rerun.json";
  REQUIRE(mg({"attest", "test-result", w.model(), "--private-key", w.key("evals"), "--suite", "safety", "--result",
              "FAILED", "--failed-test", "jailbreak-17", "--output", failed.string()}).exit_code == 0);
  auto r = w.review();
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.out, Catch::Contains("evaluations: evaluation \"safety\" result is FAILED"));
  CHECK_THAT(r.err, Catch::Contains("evaluations.failed"));
}

TEST_CASE("maxAge refuses a provenance finished in the future", "[cli][workflow]") {
  std::string policy = kPolicy;
  policy.replace(policy.find("    signature:"), 0,
                 "    provenance: {signers: [trainer], builders: [\"^b$\"]}\n    maxAge: 30d\n");
  Workflow w(policy);
  REQUIRE(mg({"sign", "key", w.model(), "--private-key", w.key("second"), "--store", w.store()}).exit_code == 0);
  REQUIRE(w.attest({"provenance", w.model(), "--private-key", w.key("trainer"), "--builder-id", "b", "--build-type",
                    "t", "--finished-on", "2027-06-01T00:00:00Z"}).exit_code == 0);
  auto r = w.review({"--now", "2026-12-01T00:00:00Z"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.out, Catch::Contains("in the future"));
  CHECK_THAT(r.err, Catch::Contains("max_age.future"));
}

// ---- item 8: key types ------------------------------------------------------------------------

TEST_CASE("sign and attest refuse Ed25519 and RSA keys as usage errors (exit 2) naming the key type",
          "[cli][workflow]") {
  TempDir t;
  write_file(t / "m/weights.bin", "w");
  REQUIRE(run({"openssl", "genpkey", "-algorithm", "ed25519", "-out", (t / "ed.key").string()}).exit_code == 0);
  REQUIRE(run({"openssl", "genpkey", "-algorithm", "rsa", "-pkeyopt", "rsa_keygen_bits:2048", "-out",
               (t / "rsa.key").string()}).exit_code == 0);
  for (const char* k : {"ed.key", "rsa.key"}) {
    auto s = mg({"sign", "key", (t / "m").string(), "--private-key", (t / k).string()});
    INFO(k << ": " << s.err);
    CHECK(s.exit_code == 2);
    CHECK_THAT(s.err, Catch::Contains("--private-key"));
    CHECK_THAT(s.err, Catch::Contains("ECDSA"));
    CHECK_FALSE(fs::exists(t / "m/model.sig"));
    auto a = mg({"attest", "approval", "--digest", "sha256:" + std::string(64, 'a'), "--private-key",
                 (t / k).string(), "--reviewer", "r"});
    CHECK(a.exit_code == 2);
    CHECK_THAT(a.err, Catch::Contains("ECDSA"));
  }
}
