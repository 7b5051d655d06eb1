// writer_test.cpp: a storage writer against the real `modelgate serve` stack over TLS: bytes
// changed through a shared mapping (the file keeps its stamp), a tampered directory swapped in and
// out while the queue is busy, sparse-file impostors with a copied model.sig, and a burst of pods
// for one model. Pods are the real apiserver's Pod request, mounting one subPath of the PVC.
#include <httplib.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <thread>

#include "../admission/prometheus_text.h"
#include "../admission/shared_write.h"
#include "admission/server.h"
#include "admission/webhook.h"
#include "base/log.h"
#include "crypto/json.h"
#include "policy/evidence_fixtures.h"
#include "test_support.h"
#include "webhook_stack.h"

namespace {

namespace fs = std::filesystem;
using namespace modelgate;
using namespace modelgate::admission;
using namespace modelgate::testing;
using namespace modelgate::testing::evidence;
using namespace std::chrono_literals;
namespace integration = modelgate::testing::integration;
using crypto::Json;

const char* kPolicy = R"(apiVersion: modelgate.dev/v1alpha1
kind: ModelPolicy
metadata: {name: serving}
spec:
  match: {namespaces: ["ml-serving"]}
  sources:
  - {name: models, pvc: {claimName: "^models$", volumeName: "^models-ro-pv$"}, root: @ROOT@}
  trust:
    signers:
    - {name: team, publicKey: keys/team.pub}
  require:
    signature: {signers: [team]}
)";
const char* kWeights = "model-00001-of-00002.safetensors";

// pod is the apiserver's Pod CREATE with one container mounting `sub_path` of the PVC "models".
Json pod(const std::string& sub_path) {
  auto j = crypto::parse_json(read_file(vectors_dir() / "admission" / "pod-create-llm-server.json"), {8u << 20, 64});
  REQUIRE(j.ok());
  Json req = j.value();
  Json& spec = req["request"]["object"]["spec"];
  spec.erase("initContainers");
  spec["containers"][0]["volumeMounts"][0]["subPath"] = sub_path;
  return req;
}

// Stack is the webhook behind the real server (integration::Stack, with this file's policy);
// "m" is a signed model. Unlike the other integration tests, the cache settings are the defaults
// (settle interval included) unless a test states what its attack needs.
struct Stack : integration::Stack {
  Stack() : integration::Stack(kPolicy) {
    write_model(pvc / "m", 1);
    sign(pvc / "m", team);
    config.settle_interval = ServerConfig{}.settle_interval;
    config.revalidate_window = 0ms;
  }
};

std::string message(const Json& resp) { return resp["status"]["message"].get<std::string>(); }

// until_decided repeats `req` (every 10 ms, at most 30 s) while it is answered "still being
// verified"; the last answer.
Json until_decided(Stack& s, const Json& req) {
  Json last;
  const auto until = std::chrono::steady_clock::now() + 30s;
  do {
    last = s.review(req);
    if (last["allowed"] == true || last["auditAnnotations"]["reason"] != "verification.pending") {
      break;
    }
    std::this_thread::sleep_for(10ms);
  } while (std::chrono::steady_clock::now() < until);
  return last;
}

}  // namespace

TEST_CASE("a model byte rewritten through a shared mapping, which keeps the file's stamp, is denied on the next "
          "request rather than allowed from cache",
          "[integration][writer]") {
  Stack s;  // the default settle interval: what was just written is not served from a cache
  s.start();
  const fs::path w = s.pvc / "m" / kWeights;
  SharedWriter map(w);
  map.put(100, map.get(100));  // the signed byte: the page is dirty, mtime moved once
  Json req = pod("m");
  REQUIRE(s.review(req)["allowed"] == true);

  const crypto::FileStamp before = stamp_of_path(w);
  map.put(100, static_cast<char>(map.get(100) ^ 0x40));
  REQUIRE(stamp_of_path(w) == before);  // device, inode, size, mtime, ctime: all the same
  // The CLI, which caches nothing, sees it.
  auto cli = run({modelgate_binary().string(), "verify", "key", (s.pvc / "m").string(), "--signature",
                  (s.pvc / "m/model.sig").string(), "--public-key", (s.tmp / "keys/team.pub").string()});
  CHECK(cli.exit_code == 1);

  Json resp = s.review(req);
  CHECK(resp["allowed"] == false);
  CHECK(resp["auditAnnotations"]["reason"] == "signature.digest_mismatch");
  CHECK_THAT(message(resp), Catch::Contains(std::string("file \"") + kWeights + "\" does not match the signed digest"));
}

TEST_CASE("a tampered directory swapped in for a request and out before its queued job runs does not leave an "
          "allow under the tampered files' key",
          "[integration][writer]") {
  Stack s;
  s.config.settle_interval = 0s;  // cache at once: the attack needs the cache
  s.config.max_concurrent_jobs = 1;
  s.config.max_queued_jobs = 4;
  s.config.hash_threads = 1;
  s.config.deadline = 300ms;
  // busy: the signed names, a 64 GiB sparse weights file: only hashing can tell, for minutes.
  fs::copy(s.pvc / "m", s.pvc / "busy", fs::copy_options::recursive);
  fs::remove(s.pvc / "busy" / kWeights);
  make_sparse(s.pvc / "busy" / kWeights, 64ull << 30);
  // tampered: the same files, one byte different.
  fs::copy(s.pvc / "m", s.tmp / "tampered", fs::copy_options::recursive);
  std::string bytes = read_file(s.tmp / "tampered" / kWeights);
  bytes[100] ^= 0x40;
  write_file(s.tmp / "tampered" / kWeights, bytes);
  s.start();

  CHECK(s.review(pod("busy"))["auditAnnotations"]["reason"] == "verification.pending");  // the worker is taken
  fs::rename(s.pvc / "m", s.tmp / "original");
  fs::rename(s.tmp / "tampered", s.pvc / "m");
  CHECK(s.review(pod("m"))["auditAnnotations"]["reason"] == "verification.pending");  // queued: key = tampered files
  fs::rename(s.pvc / "m", s.tmp / "tampered");
  fs::rename(s.tmp / "original", s.pvc / "m");
  fs::resize_file(s.pvc / "busy" / kWeights, 0);  // frees the worker: "changed while hashing"

  CHECK(until_decided(s, pod("m"))["allowed"] == true);  // the original, verified by the queued job
  fs::rename(s.pvc / "m", s.tmp / "original");
  fs::rename(s.tmp / "tampered", s.pvc / "m");
  Json resp = until_decided(s, pod("m"));
  CHECK(resp["allowed"] == false);
  CHECK(resp["auditAnnotations"]["reason"] == "signature.digest_mismatch");
}

TEST_CASE("sparse-file impostors with a copied model.sig are denied without hashing their 50 GiB",
          "[integration][writer]") {
  Stack s;
  s.config.settle_interval = 0s;
  s.start();
  // Another name than the signed files': the lists differ.
  fs::create_directories(s.pvc / "renamed");
  fs::copy_file(s.pvc / "m/model.sig", s.pvc / "renamed/model.sig");
  make_sparse(s.pvc / "renamed/weights.bin", 50ull << 30);
  Json renamed = s.review(pod("renamed"));
  CHECK(renamed["allowed"] == false);
  CHECK(renamed["auditAnnotations"]["reason"] == "signature.digest_mismatch");
  CHECK_THAT(message(renamed), Catch::Contains("file \"weights.bin\" is not signed"));
  CHECK(s.metric("modelgate_hashed_bytes_total") == 0);

  // The signed name, once the webhook has hashed the signed file: its size rules it out.
  REQUIRE(s.review(pod("m"))["allowed"] == true);
  const double hashed = s.metric("modelgate_hashed_bytes_total");
  fs::copy(s.pvc / "m", s.pvc / "same-name", fs::copy_options::recursive);
  fs::remove(s.pvc / "same-name" / kWeights);
  make_sparse(s.pvc / "same-name" / kWeights, 50ull << 30);
  Json same = s.review(pod("same-name"));
  CHECK(same["allowed"] == false);
  CHECK_THAT(message(same), Catch::Contains("its size differs from the signed file's, so it was not read"));
  CHECK(s.metric("modelgate_hashed_bytes_total") == hashed);
}

TEST_CASE("a burst of pods for one model verified a moment ago walks its tree once", "[integration][writer]") {
  Stack s;
  s.config.settle_interval = 0s;
  s.config.revalidate_window = 60s;
  s.start();
  Json req = pod("m");
  REQUIRE(s.review(req)["allowed"] == true);
  CHECK(s.metric("modelgate_model_walks_total") == 1);
  for (int i = 0; i < 20; ++i) {
    CHECK(s.review(req)["allowed"] == true);
  }
  CHECK(s.metric("modelgate_model_walks_total") == 1);
}
