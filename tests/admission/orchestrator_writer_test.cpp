// orchestrator_writer_test.cpp: a storage writer against the orchestrator's caches and queue:
// bytes changed through a shared mapping (same stamp), the trust age's background re-hash, bursts
// of requests within the revalidation window, sparse-file impostors decided from the file list,
// abandoned jobs, and one source flooding the queue. Sparse files: nothing big is written.
#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <future>
#include <string>
#include <thread>

#include "admission/orchestrator_fixture.h"
#include "admission/shared_write.h"

namespace {

namespace fs = std::filesystem;
using namespace modelgate;
using namespace modelgate::admission;
using namespace modelgate::testing;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::uint64_t k50GiB = 50ull << 30;
const char* kWeights = "model-00001-of-00002.safetensors";

// impostor copies the model "m" (its model.sig included) to `name` and replaces its first weights
// file with a sparse one of `bytes` (nothing is written).
fs::path impostor(const Setup& s, const std::string& name, std::uint64_t bytes) {
  const fs::path dir = s.tmp / "pvc" / name;
  fs::copy(s.tmp / "pvc/m", dir, fs::copy_options::recursive);
  fs::remove(dir / kWeights);
  make_sparse(dir / kWeights, bytes);
  return dir;
}

std::string first_reason(const VerifyOutcome& r) {
  const auto* p = r.verdict->evaluation.first_problem();
  return p == nullptr ? "" : p->reason;
}
std::string first_message(const VerifyOutcome& r) {
  const auto* p = r.verdict->evaluation.first_problem();
  return p == nullptr ? "" : p->message;
}

// eventually polls `done` (every 10 ms, at most 30 s): for events another thread causes.
template <class F>
bool eventually(F done) {
  const auto until = Clock::now() + 30s;
  while (!done()) {
    if (Clock::now() > until) {
      return false;
    }
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

}  // namespace

TEST_CASE("bytes rewritten through a shared mapping keep the file's stamp, and a young file is hashed again, "
          "not served from cache",
          "[admission][orchestrator][writer]") {
  Setup s;
  const fs::path w = s.tmp / "pvc/m" / kWeights;
  OrchestratorOptions opt;  // the default settle interval
  opt.revalidate_window = 0s;
  Orchestrator o(opt, nullptr);
  SharedWriter map(w);
  map.put(100, map.get(100));  // the signed byte: the page is dirty, mtime moved once
  auto first = o.verify(s.ref(), s.set, later());
  REQUIRE(first.state == VerifyState::kDone);
  CHECK(first.verdict->evaluation.passed());

  const crypto::FileStamp before = stamp_of_path(w);
  map.put(100, static_cast<char>(map.get(100) ^ 0x40));
  REQUIRE(stamp_of_path(w) == before);  // the attack: other bytes, same identity

  auto second = o.verify(s.ref(), s.set, later());
  REQUIRE(second.state == VerifyState::kDone);
  CHECK_FALSE(second.cache_hit);
  CHECK(first_reason(second) == "signature.digest_mismatch");
  CHECK(o.jobs_started() == 2);
  CHECK(o.file_cache().unsettled() > 0);
}

TEST_CASE("a settled file's digest is cached, and a change its stamp cannot show is found by the background "
          "re-hash before the trust age runs out",
          "[admission][orchestrator][writer]") {
  Setup s;
  const fs::path w = s.tmp / "pvc/m" / kWeights;
  std::atomic<std::int64_t> ahead{0};
  OrchestratorOptions opt;
  opt.revalidate_window = 0s;
  opt.max_trust_age = 10min;
  opt.maintenance_interval = 10ms;
  opt.wall_clock_ns = [&ahead] { return wall_clock_ns() + ahead.load(); };
  Orchestrator o(opt, nullptr);
  SharedWriter map(w);
  map.put(100, map.get(100));
  // Two minutes on: settled as far as stamps can tell. On tmpfs (no writeback) a mapped page never
  // moves mtime again, however long one waits: only the trust age bounds that.
  ahead = std::chrono::nanoseconds(2min).count();
  REQUIRE(o.verify(s.ref(), s.set, later()).verdict->evaluation.passed());
  const std::uint64_t hashed = o.hashed_bytes();
  auto cached = o.verify(s.ref(), s.set, later());
  CHECK(cached.cache_hit);
  CHECK(o.hashed_bytes() == hashed);

  const crypto::FileStamp before = stamp_of_path(w);
  map.put(100, static_cast<char>(map.get(100) ^ 0x40));
  REQUIRE(stamp_of_path(w) == before);
  auto blind = o.verify(s.ref(), s.set, later());
  CHECK(blind.cache_hit);  // what the trust age bounds: the stamp cannot show this change
  CHECK(blind.verdict->evaluation.passed());

  // Eight minutes later the digests near the trust age: re-hashed in the background, every byte.
  ahead = std::chrono::nanoseconds(10min).count();
  CHECK(eventually([&] {
    auto r = o.verify(s.ref(), s.set, later());
    return r.state == VerifyState::kDone && first_reason(r) == "signature.digest_mismatch";
  }));
  CHECK(o.refreshes_started() >= 1);
}

TEST_CASE("a burst of requests for a model verified a moment ago costs one walk of its tree",
          "[admission][orchestrator][writer]") {
  Setup s;
  OrchestratorOptions opt = trusting();
  opt.revalidate_window = 1h;
  Orchestrator o(opt, nullptr);
  REQUIRE(o.verify(s.ref(), s.set, later()).verdict->evaluation.passed());
  CHECK(o.tree_walks() == 1);
  std::vector<std::future<VerifyOutcome>> burst;
  for (int i = 0; i < 100; ++i) {
    burst.push_back(std::async(std::launch::async, [&] { return o.verify(s.ref(), s.set, later()); }));
  }
  int hits = 0;
  for (auto& f : burst) {
    VerifyOutcome r = f.get();
    hits += r.state == VerifyState::kDone && r.cache_hit && r.verdict->evaluation.passed() ? 1 : 0;
  }
  CHECK(hits == 100);
  CHECK(o.tree_walks() == 1);
  CHECK(o.jobs_started() == 1);
  // The trade (docs/threat-model.md): inside the window a change is not looked for.
  write_file(s.tmp / "pvc/m/config.json", "{\"seed\": 4}\n");
  CHECK(o.verify(s.ref(), s.set, later()).cache_hit);
  CHECK(o.tree_walks() == 1);
}

TEST_CASE("a walk of a model that outlasts the request's deadline answers pending and starts no job",
          "[admission][orchestrator][writer]") {
  Setup s;
  for (int i = 0; i < 2000; ++i) {
    write_file(s.tmp / "pvc/wide" / ("f" + std::to_string(i)), "");
  }
  ModelRefs wide = s.refs_for("models", "wide");
  REQUIRE(wide.refs.size() == 1);
  Orchestrator o(trusting(), nullptr);
  auto r = o.verify(wide.refs.front(), s.set, Clock::now() - 1ms);
  CHECK(r.state == VerifyState::kPending);
  CHECK(o.tree_walks() == 1);
  CHECK(o.jobs_started() == 0);
}

TEST_CASE("a sparse impostor whose file list differs from its copied signature is denied without reading a byte",
          "[admission][orchestrator][writer]") {
  Setup s;
  const fs::path dir = s.tmp / "pvc/imp";
  fs::create_directories(dir);
  fs::copy_file(s.tmp / "pvc/m/model.sig", dir / "model.sig");
  make_sparse(dir / "weights.bin", k50GiB);
  ModelRefs imp = s.refs_for("models", "imp");
  Orchestrator o(trusting(), nullptr);
  auto r = o.verify(imp.refs.front(), s.set, later());
  REQUIRE(r.state == VerifyState::kDone);
  CHECK(first_reason(r) == "signature.digest_mismatch");
  CHECK_THAT(first_message(r), Catch::Contains("file \"weights.bin\" is not signed"));
  CHECK_THAT(first_message(r), Catch::Contains("file \"config.json\" is missing"));
  CHECK(o.hashed_bytes() == 0);
}

TEST_CASE("once the signed file was hashed, an impostor under its name with another size is denied without "
          "reading a byte",
          "[admission][orchestrator][writer]") {
  Setup s;
  Orchestrator o(trusting(), nullptr);
  REQUIRE(o.verify(s.ref(), s.set, later()).verdict->evaluation.passed());
  const std::uint64_t hashed = o.hashed_bytes();
  impostor(s, "imp", k50GiB);
  ModelRefs imp = s.refs_for("models", "imp");
  auto r = o.verify(imp.refs.front(), s.set, later());
  REQUIRE(r.state == VerifyState::kDone);
  CHECK(first_reason(r) == "signature.digest_mismatch");
  CHECK_THAT(first_message(r), Catch::Contains(std::string("file \"") + kWeights +
                                               "\" does not match the signed digest (signed sha256:"));
  CHECK_THAT(first_message(r), Catch::Contains("its size differs from the signed file's, so it was not read"));
  CHECK(o.hashed_bytes() == hashed);
}

TEST_CASE("a job no request waits for any more is cancelled once its deadline and the grace have passed",
          "[admission][orchestrator][writer]") {
  Setup s;
  impostor(s, "slow", 64ull << 30);  // signed names, sizes never seen: only hashing can tell
  ModelRefs slow = s.refs_for("models", "slow");
  OrchestratorOptions opt = trusting();
  opt.max_concurrent_jobs = 1;
  opt.max_queued_jobs = 0;
  opt.hash_threads = 1;
  opt.abandon_grace = 0s;
  opt.maintenance_interval = 10ms;
  Orchestrator o(opt, nullptr);
  CHECK(o.verify(slow.refs.front(), s.set, Clock::now()).state == VerifyState::kPending);
  CHECK(eventually([&] { return o.jobs_abandoned() == 1; }));
  // The one worker is free again (it would otherwise hash 64 GiB of zeros for minutes).
  VerifyOutcome good;
  CHECK(eventually([&] {
    good = o.verify(s.ref(), s.set, later());
    return good.state == VerifyState::kDone;
  }));
  REQUIRE(good.verdict);
  CHECK(good.verdict->evaluation.passed());
}

TEST_CASE("a writer flooding one source with slow models cannot take every worker or queue slot from another source",
          "[admission][orchestrator][writer]") {
  Setup s;
  evidence::write_model(s.tmp / "pvc2/g", 7);
  evidence::sign(s.tmp / "pvc2/g", s.team);
  ModelRefs good = s.refs_for("other", "g");
  REQUIRE(good.refs.size() == 1);
  std::vector<ModelRefs> slow;
  for (int i = 0; i < 4; ++i) {
    impostor(s, "slow" + std::to_string(i), 64ull << 30);
    slow.push_back(s.refs_for("models", "slow" + std::to_string(i)));
  }
  OrchestratorOptions opt = trusting();
  opt.max_concurrent_jobs = 2;
  opt.max_queued_jobs = 2;
  opt.hash_threads = 1;
  auto metrics = std::make_shared<Metrics>();
  Orchestrator o(opt, metrics);
  // Four slow models fill both workers' worth of slots and the queue (nobody waits for them).
  for (const ModelRefs& r : slow) {
    CHECK(o.verify(r.refs.front(), s.set, Clock::now()).state == VerifyState::kPending);
  }
  // Another source's model still gets a slot and a worker, at once.
  auto r = o.verify(good.refs.front(), s.set, later());
  REQUIRE(r.state == VerifyState::kDone);
  CHECK(r.verdict->evaluation.passed());
  CHECK_THAT(metrics->serialize(), Catch::Contains("modelgate_hash_jobs_rejected_total 1"));  // one slow slot given up
}
