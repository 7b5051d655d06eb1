// webhook_test.cpp: the real `modelgate serve` stack in-process — Server over real TLS on
// 127.0.0.1:0 with certificates made by the openssl CLI, the Webhook decision path, real policies,
// models signed in the test and evidence in a store — fed the AdmissionReviews a real apiserver
// sent (../shared/vectors/admission/), adapted only in uid. Asserts what the apiserver would read.
#include <httplib.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../admission/prometheus_text.h"
#include "admission/server.h"
#include "admission/webhook.h"
#include "base/log.h"
#include "crypto/approval.h"
#include "crypto/encoding.h"
#include "crypto/json.h"
#include "crypto/model_signature.h"
#include "crypto/slsa_provenance.h"
#include "policy/evidence_fixtures.h"
#include "webhook_stack.h"
#include "test_support.h"
#include "wait_until.h"

namespace {

using namespace modelgate;
using namespace modelgate::testing;
using namespace modelgate::testing::integration;

}  // namespace

TEST_CASE("a signed, approved model in a real apiserver's Pod request is admitted, echoing the uid", "[integration]") {
  Stack s;
  s.start();
  Json req = fixture("pod-create-llm-server.json");
  const std::string uid = req["request"]["uid"];
  Json resp = s.review(req);
  CHECK(resp["uid"] == uid);
  INFO(resp.dump());
  CHECK(resp["allowed"] == true);
  CHECK(resp["status"]["code"] == 200);
  const std::string models = resp["auditAnnotations"]["models"];
  CHECK_THAT(models, Catch::Contains("llama-3-8b=sha256:"));
}

TEST_CASE("a flipped byte is denied over TLS with the model, volume, path, policy and file named", "[integration]") {
  Stack s;
  flip_byte(s.pvc / "llama-3-8b" / "model-00001-of-00002.safetensors", 100, 0x40);
  s.start();
  Json resp = s.review(fixture("pod-create-llm-server.json"));
  CHECK(resp["allowed"] == false);
  CHECK(resp["status"]["code"] == 403);
  const std::string msg = resp["status"]["message"];
  // The init container reads the whole claim, so the claim's own signature fails too (first).
  CHECK_THAT(msg, Catch::StartsWith("model \"weights\" (volume \"weights\", pvc models, path /) violates policy"));
  CHECK_THAT(msg, Catch::Contains("model \"llama-3-8b\" (volume \"weights\", pvc models, path llama-3-8b) violates "
                                    "policy \"serving\":\n  - signature: file \"model-00001-of-00002.safetensors\" "
                                    "does not match the signed digest"));
  CHECK(resp["auditAnnotations"]["reason"] == "signature.digest_mismatch");
}

TEST_CASE("a missing approval is denied with the reviews rule", "[integration]") {
  Stack s;
  fs::remove_all(s.store);
  s.start();
  Json resp = s.review(fixture("pod-create-llm-server.json"));
  CHECK(resp["allowed"] == false);
  CHECK_THAT(resp["status"]["message"].get<std::string>(), Catch::Contains("  - reviews: 0 approvals from leads; 1 required"));
}

TEST_CASE("every workload kind the apiserver sent is answered with its uid, and the ones we do not judge are allowed",
          "[integration]") {
  Stack s;
  s.start();
  std::size_t n = 0;
  for (const auto& e : fs::directory_iterator(vectors_dir() / "admission")) {
    if (e.path().extension() != ".json") {
      continue;
    }
    ++n;
    Json req = fixture(e.path().filename().string());
    Json resp = s.review(req);
    INFO(e.path().filename().string() << ": " << resp.dump());
    CHECK(resp["uid"] == req["request"]["uid"]);
    // Every fixture is in namespace ml-serving; those whose volumes the policy does not claim
    // (hostPath, NFS, CSI) and unchanged UPDATEs are not ours to judge.
    if (req["request"]["namespace"] != "ml-serving") {
      CHECK(resp["allowed"] == true);
    }
  }
  CHECK(n == 19);
}

TEST_CASE("a second request is answered from cache without re-hashing, and touching a file re-hashes it",
          "[integration]") {
  Stack s;
  s.start();
  Json req = fixture("pod-create-llm-server.json");
  CHECK(s.review(req)["allowed"] == true);
  const std::uint64_t first = s.hashed_bytes();
  CHECK(first > 0);
  CHECK(s.review(req)["allowed"] == true);
  CHECK(s.hashed_bytes() == first);
  // Same bytes, new identity (mtime/ctime): the file is hashed again, nothing else is.
  const fs::path cfg = s.pvc / "llama-3-8b" / "config.json";
  const std::string content = read_file(cfg);
  write_file(cfg, content);
  CHECK(s.review(req)["allowed"] == true);
  const std::uint64_t again = s.hashed_bytes();
  CHECK(again > first);
  CHECK(again - first < 1000);  // config.json (twice: its model and the claim root), not the weights
}

TEST_CASE("an undecodable body is answered 400 with a reason, and the server keeps serving", "[integration]") {
  Stack s;
  s.start();
  auto c = s.client();
  auto res = c->Post("/validate", "{\"kind\":\"AdmissionReview\"", "application/json");
  REQUIRE(res);
  CHECK(res->status == 400);
  CHECK_THAT(res->body, Catch::Contains("cannot decode AdmissionReview"));
  auto deep = c->Post("/validate", std::string(100, '[') + std::string(100, ']'), "application/json");
  REQUIRE(deep);
  CHECK(deep->status == 400);
  CHECK(s.review(fixture("pod-create-llm-server.json"))["allowed"] == true);
}

TEST_CASE("a policy change is picked up on reload; a broken one keeps the last good set and shows in /readyz",
          "[integration]") {
  Stack s;
  s.start();
  Json req = fixture("pod-create-llm-server.json");
  CHECK(s.review(req)["allowed"] == true);
  const fs::path p = s.tmp / "policies" / "serving.yaml";
  // Good change: two approvals required now.
  write_file(p, replace_all(replace_all(kPolicy, "@ROOT@", s.pvc.string()), "minApprovals: 1", "minApprovals: 2"));
  s.webhook->reload_if_changed();
  Json denied = s.review(req);
  CHECK(denied["allowed"] == false);
  CHECK_THAT(denied["status"]["message"].get<std::string>(), Catch::Contains("2 required"));
  // Broken change: the last good set (two approvals) keeps deciding.
  write_file(p, "apiVersion: modelgate.dev/v1alpha1\nkind: ModelPolicy\nmetadata: {name: serving}\nspec: {mode: loud}\n");
  s.webhook->reload_if_changed();
  CHECK(s.review(req)["allowed"] == false);
  auto c = s.client();
  auto ready = c->Get("/readyz");
  REQUIRE(ready);
  CHECK(ready->status == 200);
  CHECK_THAT(ready->body, Catch::Contains("last reload failed, keeping generation 2"));
  CHECK_THAT(ready->body, Catch::Contains("serving.yaml"));
}

TEST_CASE("300 junk files in a model's evidence directory do not hide its approval from the real server",
          "[integration][evidence]") {
  Stack s;
  // An evidence writer floods both signed directories the pod mounts, with names sorting first.
  for (const fs::path& model : {s.pvc / "llama-3-8b", s.pvc}) {
    auto b = crypto::parse_bundle(read_file(model / "model.sig"));
    REQUIRE(b.ok());
    auto sm = crypto::parse_signed_model(b->dsse->payload);
    REQUIRE(sm.ok());
    const fs::path dir = s.store / "sha256" / crypto::to_hex(sm->root_digest);
    for (int i = 0; i < 300; ++i) {
      write_file(dir / ("0000-junk-" + std::to_string(1000 + i) + ".json"), "{}");
    }
  }
  s.start();
  Json r = s.review(fixture("pod-create-llm-server.json"));
  INFO(r.dump());
  CHECK(r["allowed"] == true);
}

TEST_CASE("a model still hashing when the deadline passes is denied with progress, and the retry is answered",
          "[integration]") {
  Stack s;
  // A model big enough that hashing outlasts a 1 ms deadline.
  write_model(s.pvc / "llama-3-8b", 2, 64u << 20);
  sign(s.pvc / "llama-3-8b", s.team);
  s.approve(s.pvc / "llama-3-8b");
  sign(s.pvc, s.team);
  s.approve(s.pvc);
  s.config.deadline = std::chrono::milliseconds(1);
  s.config.hash_threads = 1;
  s.start();
  Json req = fixture("pod-create-llm-server.json");
  Json first = s.review(req);
  CHECK(first["allowed"] == false);
  CHECK_THAT(first["status"]["message"].get<std::string>(), Catch::Contains("is still being verified ("));
  CHECK_THAT(first["status"]["message"].get<std::string>(), Catch::EndsWith("; retry shortly"));
  CHECK(first["auditAnnotations"]["reason"] == "verification.pending");
  // Controllers retry; the job went on in the background, so a retry eventually gets the verdict,
  // and the retries in between report how far hashing got. (Whether the first answer already
  // shows bytes depends on whether the job began within 1 ms.)
  Json last;
  bool saw_progress = false;
  wait_until([&] {
    last = s.review(req);
    if (last["allowed"] == false) {
      const std::string m = last["status"]["message"];
      saw_progress = saw_progress || m.find(" bytes hashed); retry shortly") != std::string::npos;
    }
    return last["allowed"] == true;
  }, std::chrono::seconds(300), std::chrono::milliseconds(5));
  CHECK(last["allowed"] == true);
  CHECK(saw_progress);
}

TEST_CASE("an UPDATE that only changes annotations is allowed without re-verifying, even of a tampered model",
          "[integration]") {
  Stack s;
  flip_byte(s.pvc / "llama-3-8b" / "model-00002-of-00002.safetensors", 7, 0x01);
  s.start();
  // The CREATE of the same pod is denied...
  CHECK(s.review(fixture("pod-create-llm-server.json"))["allowed"] == false);
  const std::uint64_t hashed = s.hashed_bytes();
  // ...but `kubectl annotate` (an UPDATE whose pod spec did not change) is not this webhook's to
  // refuse: it neither re-verifies (no bytes hashed) nor denies an admitted workload.
  for (const char* name : {"pod-update-llm-server.json", "pod-update-llm-server-dryrun.json"}) {
    Json resp = s.review(fixture(name));
    INFO(name << ": " << resp.dump());
    CHECK(resp["allowed"] == true);
  }
  CHECK(s.hashed_bytes() == hashed);
}

TEST_CASE("a dry-run CREATE is judged like a real one", "[integration]") {
  Stack s;
  fs::remove_all(s.store);
  s.start();
  Json req = fixture("pod-create-llm-server.json");
  req["request"]["dryRun"] = true;
  Json resp = s.review(req);
  CHECK(resp["allowed"] == false);
  CHECK(resp["auditAnnotations"]["reason"] == "reviews.insufficient");
}

TEST_CASE("an ephemeral container added with kubectl debug is judged like a new pod", "[integration]") {
  Stack s;
  flip_byte(s.pvc / "llama-3-8b" / "model-00001-of-00002.safetensors", 11, 0x02);
  s.start();
  Json req = fixture("pod-update-llm-server.json");
  req["request"]["subResource"] = "ephemeralcontainers";
  req["request"]["object"]["spec"]["ephemeralContainers"] = Json::array(
      {{{"name", "debugger"}, {"image", "busybox"},
        {"volumeMounts", Json::array({{{"name", "weights"}, {"mountPath", "/w"}, {"subPath", "llama-3-8b"}}})}}});
  Json resp = s.review(req);
  INFO(resp.dump());
  // New mounts are model-relevant: the UPDATE is verified, and the changed shard is found.
  CHECK(resp["allowed"] == false);
  CHECK(resp["auditAnnotations"]["reason"] == "signature.digest_mismatch");
}

// ---- under load: rotation, reloads and overload ----

namespace {

// serving is the fixture's Pod with only its server container, mounting `subpath` of the claim.
Json serving(const std::string& subpath, const std::string& uid) {
  Json req = fixture("pod-create-llm-server.json");
  Json& spec = req["request"]["object"]["spec"];
  spec.erase("initContainers");
  spec["containers"][0]["volumeMounts"][0]["subPath"] = subpath;
  req["request"]["uid"] = uid;
  return req;
}


// Outcomes counts what load clients saw.
struct Outcomes {
  std::atomic<int> answered{0};
  std::atomic<int> transport_errors{0};
  std::atomic<int> not_200{0};
  std::atomic<int> wrong{0};
  std::mutex mu;
  std::string first_problem;

  void problem(const std::string& what) {
    std::lock_guard<std::mutex> lock(mu);
    if (first_problem.empty()) {
      first_problem = what;
    }
  }
};

double metric(const Stack& s, const std::string& name, const std::map<std::string, std::string>& labels) {
  return modelgate::testing::parse_prometheus_text(s.metrics->serialize()).value(name, labels).value_or(-1);
}

}  // namespace

TEST_CASE("certificate rotation and policy reloads, good and broken, under load: no request fails or is wrongly "
          "answered",
          "[integration][faults]") {
  Stack s;
  // A second model whose weights changed after signing: it must be denied throughout.
  write_model(s.pvc / "tampered", 3);
  sign(s.pvc / "tampered", s.team);
  s.approve(s.pvc / "tampered");
  flip_byte(s.pvc / "tampered" / "model-00001-of-00002.safetensors", 7, 0x01);
  // Two serving identities; clients trust both, as an apiserver does while a caBundle rotates.
  make_tls(s.tmp.path(), "a");
  make_tls(s.tmp.path(), "b");
  const std::string cert_a = read_file(s.tmp / "a.crt"), key_a = read_file(s.tmp / "a.key");
  const std::string cert_b = read_file(s.tmp / "b.crt"), key_b = read_file(s.tmp / "b.key");
  write_file(s.tmp / "bundle.pem", cert_a + cert_b);
  replace_file(s.tmp / "tls.crt", cert_a);
  replace_file(s.tmp / "tls.key", key_a);
  s.start();
  const fs::path policy = s.tmp / "policies" / "serving.yaml";
  const std::string good_policy = read_file(policy);

  // The serve loop's reloads, much faster than its 2 s default.
  std::atomic<bool> stop{false};
  std::thread reloader([&] {
    while (!stop) {
      s.webhook->reload_if_changed();
      (void)s.server->reload_tls_if_changed();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });

  // Built here: the client threads must not call Catch2 (fixture() asserts).
  const Json good_request = serving("llama-3-8b", "");
  const Json tampered_request = serving("tampered", "");
  Outcomes out;
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      std::unique_ptr<httplib::SSLClient> c;
      for (int i = 0; !stop; ++i) {
        if (i % 5 == 0) {  // new connections meet whatever certificate is current
          c = std::make_unique<httplib::SSLClient>("127.0.0.1", s.server->port());
          c->set_ca_cert_path((s.tmp / "bundle.pem").string().c_str());
          c->enable_server_certificate_verification(true);
          c->set_keep_alive(true);
          c->set_read_timeout(30, 0);
        }
        const bool tampered = (i + t) % 2 == 1;
        const std::string uid = "load-" + std::to_string(t) + "-" + std::to_string(i);
        Json request = tampered ? tampered_request : good_request;
        request["request"]["uid"] = uid;
        auto res = c->Post("/validate", request.dump(), "application/json");
        if (!res) {
          ++out.transport_errors;
          out.problem(uid + ": " + httplib::to_string(res.error()));
          continue;
        }
        if (res->status != 200) {
          ++out.not_200;
          out.problem(uid + ": HTTP " + std::to_string(res->status) + " " + res->body);
          continue;
        }
        auto j = crypto::parse_json(res->body, {8u << 20, 64});
        const bool right = j.ok() && j.value()["response"]["uid"] == uid &&
                           j.value()["response"]["allowed"] == !tampered &&
                           (!tampered || j.value()["response"]["auditAnnotations"]["reason"] ==
                                             "signature.digest_mismatch");
        if (!right) {
          ++out.wrong;
          out.problem(uid + ": " + res->body);
        }
        ++out.answered;
      }
    });
  }

  // Each change is followed by the reload it must cause (counted by result), whatever the
  // machine's speed: the next change is made only once the reloader has seen this one.
  const auto changed = [&](const char* metric_name, const char* result, const std::function<void()>& change) {
    const double before = metric(s, metric_name, {{"result", result}});
    change();
    return wait_until([&] { return metric(s, metric_name, {{"result", result}}) > before; });
  };
  const char* tls = "modelgate_tls_reloads_total";
  const std::string broken_cert = "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n";
  const std::string broken_policy =
      "apiVersion: modelgate.dev/v1alpha1\nkind: ModelPolicy\nmetadata: {name: serving}\nspec: {mode: [\n";
  const char* pol = "modelgate_policy_reloads_total";
  int rounds = 0;
  for (int round = 0; round < 6; ++round) {
    // Rotate to b (cert first: for a moment the pair does not match, and must not be taken).
    if (!changed(tls, "failure", [&] { replace_file(s.tmp / "tls.crt", cert_b); }) ||
        !changed(tls, "success", [&] { replace_file(s.tmp / "tls.key", key_b); }) ||
        // A broken certificate file: the current one stays.
        !changed(tls, "failure", [&] { replace_file(s.tmp / "tls.crt", broken_cert); }) ||
        !changed(tls, "success", [&] {
          replace_file(s.tmp / "tls.key", key_a);
          replace_file(s.tmp / "tls.crt", cert_a);
        }) ||
        // A good policy change that decides the same, then a broken one, then the original.
        !changed(pol, "success", [&] { replace_file(policy, good_policy + "# " + std::to_string(round) + "\n"); }) ||
        !changed(pol, "failure", [&] { replace_file(policy, broken_policy); }) ||
        !changed(pol, "success", [&] { replace_file(policy, good_policy); })) {
      break;
    }
    ++rounds;
  }
  // Enough requests to have met every state; a busy machine answers them later, not fewer.
  const bool enough =
      wait_until([&] { return out.answered >= 100 || out.transport_errors + out.not_200 + out.wrong > 0; });
  stop = true;
  for (auto& t : clients) {
    t.join();
  }
  reloader.join();
  CHECK(rounds == 6);  // every change was reloaded as expected (else: which one is in the metrics)
  CHECK(enough);

  INFO("answered " << out.answered << "; first problem: " << out.first_problem);
  CHECK(out.transport_errors == 0);
  CHECK(out.not_200 == 0);
  CHECK(out.wrong == 0);
  CHECK(out.answered >= 100);
  // The reloads really happened while requests flowed.
  CHECK(metric(s, tls, {{"result", "success"}}) >= 12);
  CHECK(metric(s, tls, {{"result", "failure"}}) >= 12);
  CHECK(metric(s, pol, {{"result", "success"}}) >= 12);
  CHECK(metric(s, pol, {{"result", "failure"}}) >= 6);
}

TEST_CASE("overload under load: with one hashing job and no queue, new models are denied as overloaded at once, "
          "never queued or wrongly admitted, and retries get their verdicts",
          "[integration][faults]") {
  Stack s;
  // A model big enough (sparse, so cheap to make) to keep the one hashing slot busy for a while.
  write_model(s.pvc / "big", 9);
  fs::resize_file(s.pvc / "big" / "model-00002-of-00002.safetensors", std::uintmax_t{1} << 30);
  sign(s.pvc / "big", s.team);
  s.approve(s.pvc / "big");
  std::vector<std::string> names;
  for (int i = 0; i < 6; ++i) {
    names.push_back("m" + std::to_string(i));
    write_model(s.pvc / names.back(), 20 + i);
    sign(s.pvc / names.back(), s.team);
    s.approve(s.pvc / names.back());
  }
  // m5 is tampered: whatever the load, it is never admitted.
  flip_byte(s.pvc / "m5" / "model-00001-of-00002.safetensors", 3, 0x10);
  s.config.max_concurrent_jobs = 1;
  s.config.max_queued_jobs = 0;
  s.config.hash_threads = 1;
  s.config.deadline = std::chrono::milliseconds(200);
  s.start();

  // The big model takes the only slot (its request answers "pending" at the deadline).
  Json first = s.review(serving("big", "big-0"));
  CHECK(first["allowed"] == false);
  CHECK(first["auditAnnotations"]["reason"] == "verification.pending");

  // Every other model, six clients at once, while the slot is taken.
  std::vector<Json> requests;
  for (const std::string& name : names) {
    requests.push_back(serving(name, "burst-" + name));
  }
  std::vector<Json> answers(names.size());
  std::vector<std::thread> burst;
  for (std::size_t i = 0; i < names.size(); ++i) {
    burst.emplace_back([&, i] { answers[i] = s.try_review(requests[i]); });
  }
  for (auto& t : burst) {
    t.join();
  }
  int overloaded = 0;
  for (std::size_t i = 0; i < names.size(); ++i) {
    INFO(names[i] << ": " << answers[i].dump());
    REQUIRE(answers[i].is_object());
    CHECK(answers[i]["allowed"] == false);  // nothing is verified yet, so nothing is admitted
    const std::string reason = answers[i]["auditAnnotations"]["reason"];
    // Answered at once (overloaded) or at the deadline (pending), never left waiting for the slot
    // (that would be a verdict). No clock is read: a busy machine is slower, not wrong.
    CHECK((reason == "verification.overloaded" || reason == "verification.pending"));
    overloaded += reason == "verification.overloaded" ? 1 : 0;
  }
  CHECK(overloaded >= 1);
  CHECK(metric(s, "modelgate_hash_jobs_rejected_total", {}) >= overloaded);

  // Retried as controllers do, every model reaches its verdict once the slot frees.
  names.push_back("big");
  for (const std::string& name : names) {
    Json last;
    int attempt = 0;
    wait_until([&] {
      last = s.review(serving(name, "retry-" + name + "-" + std::to_string(attempt++)));
      const std::string reason = last["auditAnnotations"].value("reason", "");
      return reason != "verification.overloaded" && reason != "verification.pending";
    }, std::chrono::seconds(300), std::chrono::milliseconds(50));
    INFO(name << ": " << last.dump());
    if (name == "m5") {
      CHECK(last["allowed"] == false);
      CHECK(last["auditAnnotations"]["reason"] == "signature.digest_mismatch");
    } else {
      CHECK(last["allowed"] == true);
    }
  }
}
