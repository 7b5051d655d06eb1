// gate_bench: what "Close the gate" (#12) costs an admission, against baselines measured in the
// same run, through the webhook's own decide() (no HTTP) on a real apiserver Pod request
// (../shared/vectors/admission/pod-create-llm-server.json) whose two model directories are
// verified and cached:
//   1. a cache-hit admission of that pod, and the part of it spent resolving mounts (effective
//      paths, claims, default deny, overlays: find_model_refs) — the ratio is what the new checks
//      add to a cache hit;
//   2. (#17 item 3) the same pod with its server container mounting the claim 1,000 times with
//      distinct subPaths (4 containers: 4,000 mounts, under the 4,096 cap) and with 20,000 mounts
//      (over the cap, refused while typing the pod): decision time against the plain pod's.
// Not a test: asserts nothing about speed. Usage: gate_bench [iterations=20000]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "admission/config.h"
#include "admission/model_refs.h"
#include "admission/review_codec.h"
#include "admission/webhook.h"
#include "admission/workload.h"
#include "bench_support.h"
#include "crypto/json.h"
#include "policy/trust_material.h"

namespace {

using namespace modelgate;
using namespace modelgate::admission;
using bench::Clock;
using bench::seconds_since;
using bench::write;
using crypto::Json;

void die(const std::string& what) { bench::die("gate_bench", what); }

std::string read(const bench::fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

AdmissionRequest decode(const Json& review) {
  auto r = decode_admission_review(review.dump());
  if (!r.ok()) {
    die("cannot decode: " + r.error().message);
  }
  return std::move(r).value();
}

// with_mounts is `pod` with `containers` server containers each mounting the claim `per` times.
Json with_mounts(Json review, int containers, int per) {
  Json& spec = review["request"]["object"]["spec"];
  Json server = spec["containers"][0];
  spec["containers"] = Json::array();
  for (int c = 0; c < containers; ++c) {
    Json one = server;
    one["name"] = "server-" + std::to_string(c);
    for (int i = 0; i < per; ++i) {
      one["volumeMounts"].push_back({{"name", "weights"}, {"readOnly", true},
                                     {"mountPath", "/extra/" + std::to_string(i)},
                                     {"subPath", "missing-" + std::to_string(c * per + i)}});
    }
    spec["containers"].push_back(std::move(one));
  }
  return review;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const int n = argc > 1 ? std::atoi(argv[1]) : 20'000;
  bench::Scratch s("gate_bench");
  const bench::fs::path pvc = s.work / "pvc";
  write(pvc / "llama-3-8b" / "config.json", "{}\n");
  write(pvc / "llama-3-8b" / "model.safetensors", std::string(1 << 20, 'w'));
  s.sign(pvc / "llama-3-8b");
  s.sign(pvc);  // the init container "warm" mounts the whole claim
  write(s.work / "policies/p.yaml",
        "apiVersion: modelgate.dev/v1alpha1\nkind: ModelPolicy\nmetadata: {name: serving}\nspec:\n"
        "  match: {namespaces: [ml-serving]}\n  sources: [{name: s, pvc: {claimName: models, volumeName: models-ro-pv}, root: " + pvc.string() +
            "}]\n  trust: {signers: [{name: team, publicKey: " + (s.work / "k.pub").string() +
            "}]}\n  require: {signature: {signers: [team]}}\n");
  // The claim's binding comes from the captured kube-apiserver lists, namespace ml-prod renamed
  // ml-serving (the pod's): claim "models" is bound both ways to "models-ro-pv".
  std::string state;
  for (const char* f : {"list-pvcs.json", "list-pvs.json", "list-namespaces.json"}) {
    std::string t = read(bench::fs::path(MODELGATE_SHARED_DIR) / "vectors/kube-api" / f);
    for (std::size_t i = t.find("ml-prod"); i != std::string::npos; i = t.find("ml-prod", i + 10)) {
      t.replace(i, 7, "ml-serving");
    }
    state += (state.empty() ? "" : "\n---\n") + t;
  }
  write(s.work / "cluster-state.yaml", state);
  ServerConfig config;
  config.policies = {s.work / "policies"};
  config.cluster_state_files = std::vector<bench::fs::path>{s.work / "cluster-state.yaml"};
  config.log_level = log::Level::kError;
  config.settle_interval = std::chrono::seconds(0);
  config.prewarm = false;
  auto webhook = Webhook::create(config, nullptr);
  if (!webhook.ok()) {
    die("webhook: " + webhook.error().message);
  }
  Webhook& w = *webhook.value();
  const Json pod = crypto::parse_json(read(bench::fs::path(MODELGATE_SHARED_DIR) / "vectors/admission/pod-create-llm-server.json"),
                                      {8u << 20, 64})
                       .value();
  const AdmissionRequest req = decode(pod);
  if (!w.decide(req).allowed) {
    die("the signed model is not admitted");
  }

  // 1. Cache hits: whole decision vs the resolver alone.
  auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    if (!w.decide(req).allowed) {
      die("a cache hit was denied");
    }
  }
  const double hit = seconds_since(t0) / n;
  auto typed = extract_workload(req.kind, req.object);
  const std::vector<bench::fs::path> dirs{s.work / "policies"};
  const policy::TrustOutcome trust = policy::load_trusted_policies(dirs, 1);
  if (!trust.ok()) {
    die("policy does not load");
  }
  const auto& set = trust.trusted;
  t0 = Clock::now();
  std::size_t refs = 0;
  for (int i = 0; i < n; ++i) {
    refs += find_model_refs(*typed->pod, "ml-serving", *set, nullptr).refs.size();  // resolution alone
  }
  const double resolve = seconds_since(t0) / n;
  if (refs != static_cast<std::size_t>(n) * 2) {
    die("the pod does not resolve to its two models");
  }
  std::printf("1. cache-hit admission of the real Pod request: %.1f us per decision; resolving its mounts "
              "(effective paths, claims, default deny, overlays) %.2f us of it, ratio %.4f\n",
              hit * 1e6, resolve * 1e6, resolve / hit);

  // 2. Many mounts.
  for (const auto& [containers, per] : {std::pair{4, 1000}, std::pair{20, 1000}}) {
    const AdmissionRequest big = decode(with_mounts(pod, containers, per));
    const int reps = 20;
    t0 = Clock::now();
    AdmissionResponse r;
    for (int i = 0; i < reps; ++i) {
      r = w.decide(big);
    }
    const double t = seconds_since(t0) / reps;
    const std::string first = r.message.substr(0, r.message.find('\n'));
    std::printf("2. %d mounts with distinct subPaths: %s in %.2f ms per decision (ratio %.0f to the plain pod's "
                "cache hit); \"%s\"\n",
                containers * per + 5, r.allowed ? "allowed" : "denied", t * 1e3, t / hit, first.c_str());
  }
  return 0;
}
