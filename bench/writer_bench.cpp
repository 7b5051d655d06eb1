// writer_bench: the admission orchestrator against the shapes a storage writer or a burst of pods
// makes, each against a baseline measured in the same run:
//   1. a burst of 100 concurrent requests for one 200,000-file model already verified: walks and
//      time with the revalidation window (default 2 s) vs without it (every request walks, as
//      before the window existed);
//   2. a sparse impostor (50 GiB file, copied model.sig): time to a deny vs hashing 1 GiB of it;
//   3. a cache hit for a small model: per-request time with the window off (the walk every
//      request did before) and on.
// Not a test: asserts nothing about speed. Writes ~200k empty files under $TMPDIR (removed).
// Usage: writer_bench [files=200000]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "admission/model_refs.h"
#include "admission/orchestrator.h"
#include "admission/workload.h"
#include "crypto/keys.h"
#include "crypto/model_sign.h"
#include "policy/trust_material.h"
#include "bench_support.h"

namespace {

namespace fs = std::filesystem;
using namespace modelgate;
using namespace modelgate::admission;
using Clock = std::chrono::steady_clock;

void die(const std::string& what) { bench::die("writer_bench", what); }
using bench::seconds_since;
using bench::write;

struct Bench : bench::Scratch {
  std::shared_ptr<const policy::TrustedPolicySet> set;

  Bench() : Scratch("writer_bench") {
    write(work / "policy.yaml", "apiVersion: modelgate.dev/v1alpha1\nkind: ModelPolicy\nmetadata: {name: p}\nspec:\n"
                                "  match: {namespaces: [ns]}\n  sources: [{name: s, pvc: {claimName: models}, root: " +
                                    (work / "pvc").string() +
                                    "}]\n  trust: {signers: [{name: team, publicKey: k.pub}]}\n"
                                    "  require: {signature: {signers: [team]}}\n");
    fs::create_directories(work / "pvc");
    const std::vector<fs::path> paths{work / "policy.yaml"};
    policy::TrustOutcome t = policy::load_trusted_policies(paths, 1);
    if (!t.ok()) {
      die("policy does not load");
    }
    set = t.trusted;
  }

  ModelRefs refs(const std::string& sub) {
    PodTemplate pod;
    Volume v;
    v.name = "w";
    v.source = VolumeSource::kPersistentVolumeClaim;
    v.claim_name = "models";
    pod.volumes.push_back(v);
    Container c;
    c.name = "c";
    c.mounts.push_back(VolumeMount{"w", "/m", sub, "", "", true});
    pod.containers.push_back(c);
    ModelRefs r = find_model_refs(pod, "ns", *set, nullptr);  // refs only: claim problems are not looked at
    if (r.refs.size() != 1) {
      die("no model reference for " + sub);
    }
    return r;
  }
};

OrchestratorOptions options(std::chrono::nanoseconds window) {
  OrchestratorOptions o;
  o.settle_interval = std::chrono::seconds(0);  // the bench's files are all new
  o.revalidate_window = window;
  return o;
}

// burst sends n concurrent requests; returns seconds for all of them.
double burst(Orchestrator& o, const ModelRef& ref, const std::shared_ptr<const policy::TrustedPolicySet>& set, int n) {
  const auto t0 = Clock::now();
  std::vector<std::future<VerifyOutcome>> f;
  for (int i = 0; i < n; ++i) {
    f.push_back(std::async(std::launch::async, [&] { return o.verify(ref, set, Clock::now() + std::chrono::seconds(30)); }));
  }
  for (auto& x : f) {
    VerifyOutcome r = x.get();
    if (r.state != VerifyState::kDone || !r.verdict->evaluation.passed()) {
      die("a burst request was not allowed");
    }
  }
  return seconds_since(t0);
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const int files = argc > 1 ? std::atoi(argv[1]) : 200'000;
  Bench b;

  // 1. The 200,000-file model.
  const fs::path wide = b.work / "pvc/wide";
  for (int i = 0; i < files; ++i) {
    write(wide / ("d" + std::to_string(i / 1000)) / ("f" + std::to_string(i)), "");
  }
  write(wide / "config.json", "{}\n");
  b.sign(wide);
  ModelRefs wide_ref = b.refs("wide");
  std::printf("1. requests for a verified %d-file model\n", files);
  double per_walk = 0;
  for (const bool window : {false, true}) {
    Orchestrator o(options(window ? std::chrono::seconds(2) : std::chrono::seconds(0)), nullptr);
    auto t0 = Clock::now();
    if (!o.verify(wide_ref.refs.front(), b.set, Clock::now() + std::chrono::seconds(60)).verdict->evaluation.passed()) {
      die("the wide model does not verify");
    }
    const double cold = seconds_since(t0);
    if (!window) {
      // Baseline: what every cache hit cost before the window, one walk each.
      const std::uint64_t walks = o.tree_walks();
      t0 = Clock::now();
      for (int i = 0; i < 5; ++i) {
        (void)o.verify(wide_ref.refs.front(), b.set, Clock::now() + std::chrono::seconds(60));
      }
      per_walk = seconds_since(t0) / 5;
      std::printf("   window off: cold %.2f s; 5 sequential hits %.3f s each, %llu walks\n", cold, per_walk,
                  static_cast<unsigned long long>(o.tree_walks() - walks));
      continue;
    }
    // The window of the cold verification over: a burst of 100 concurrent requests, then 100 more
    // inside the window the burst's walk opened.
    std::this_thread::sleep_for(std::chrono::milliseconds(2100));
    std::uint64_t walks = o.tree_walks();
    const double t = burst(o, wide_ref.refs.front(), b.set, 100);
    const std::uint64_t burst_walks = o.tree_walks() - walks;
    walks = o.tree_walks();
    t0 = Clock::now();
    for (int i = 0; i < 100; ++i) {
      (void)o.verify(wide_ref.refs.front(), b.set, Clock::now() + std::chrono::seconds(60));
    }
    const double follow = seconds_since(t0);
    std::printf("   window 2s: cold %.2f s; burst of 100 concurrent %.3f s, %llu walk(s) (vs 100 x %.3f s = %.1f s "
                "walking one by one; ratio %.4f); 100 more within the window %.4f s, %llu walks\n",
                cold, t, static_cast<unsigned long long>(burst_walks), per_walk, 100 * per_walk, t / (100 * per_walk),
                follow, static_cast<unsigned long long>(o.tree_walks() - walks));
  }

  // 2. The sparse impostor.
  const fs::path small = b.work / "pvc/small";
  write(small / "config.json", "{}\n");
  write(small / "model.safetensors", std::string(4 << 20, 'x'));
  b.sign(small);
  const fs::path imp = b.work / "pvc/imp";
  fs::create_directories(imp);
  fs::copy_file(small / "model.sig", imp / "model.sig");
  write(imp / "weights.bin", "");
  fs::resize_file(imp / "weights.bin", 50ull << 30);
  ModelRefs imp_ref = b.refs("imp");
  {
    Orchestrator o(options(std::chrono::seconds(0)), nullptr);
    auto t0 = Clock::now();
    auto r = o.verify(imp_ref.refs.front(), b.set, Clock::now() + std::chrono::seconds(60));
    const double decided = seconds_since(t0);
    if (r.state != VerifyState::kDone || r.verdict->evaluation.passed()) {
      die("the impostor was not denied");
    }
    // Baseline: hashing 1 GiB of the sparse file's zeros, as deciding by content would.
    crypto::HashJob job;
    job.rel_path = (imp / "weights.bin").string();
    job.end = 1ull << 30;
    t0 = Clock::now();
    (void)crypto::hash_file(job, crypto::HashType::kSha256);
    const double gib = seconds_since(t0);
    std::printf("2. sparse impostor (50 GiB, copied model.sig): denied in %.2f ms, %llu bytes read; hashing it would "
                "take ~%.0f s (1 GiB: %.2f s); ratio %.5f\n",
                decided * 1e3, static_cast<unsigned long long>(o.hashed_bytes()), gib * 50, gib, decided / (gib * 50));
  }

  // 3. A cache hit for a small model.
  ModelRefs small_ref = b.refs("small");
  std::printf("3. cache hit for a small model, 20,000 sequential requests\n");
  double base = 0;
  for (const bool window : {false, true}) {
    Orchestrator o(options(window ? std::chrono::seconds(2) : std::chrono::seconds(0)), nullptr);
    (void)o.verify(small_ref.refs.front(), b.set, Clock::now() + std::chrono::seconds(60));
    const auto t0 = Clock::now();
    for (int i = 0; i < 20'000; ++i) {
      auto r = o.verify(small_ref.refs.front(), b.set, Clock::now() + std::chrono::seconds(10));
      if (!r.cache_hit) {
        die("not a cache hit");
      }
    }
    const double per = seconds_since(t0) / 20'000;
    if (!window) {
      base = per;
    }
    std::printf("   window %-4s %.1f us per request (ratio %.2f to window off: the walk every hit did before)\n",
                window ? "2s" : "off", per * 1e6, per / base);
  }
  return 0;
}
