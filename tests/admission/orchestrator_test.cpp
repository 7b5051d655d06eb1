// orchestrator_test.cpp: verification jobs on real files: the verdict cache answers repeats, a
// changed file is re-hashed, concurrent requests share one job, prewarm fills the file cache,
// a full queue is refused rather than piled up. The hostile-writer cases (shared-mapping writes,
// sparse impostors, floods, bursts) are in orchestrator_writer_test.cpp.
#include <catch2/catch.hpp>

#include <filesystem>
#include <future>
#include <string>
#include <thread>

#include "admission/orchestrator_fixture.h"

namespace fs = std::filesystem;
using namespace modelgate;
using namespace modelgate::admission;
using namespace modelgate::testing;
using Clock = std::chrono::steady_clock;

TEST_CASE("a repeated verification is a verdict-cache hit and reads no bytes; a changed file is re-hashed",
          "[admission][orchestrator]") {
  Setup s;
  Orchestrator o(trusting(), nullptr);
  auto first = o.verify(s.ref(), s.set, later());
  REQUIRE(first.state == VerifyState::kDone);
  CHECK(first.verdict->evaluation.passed());
  CHECK_FALSE(first.cache_hit);
  const std::uint64_t bytes = o.hashed_bytes();
  CHECK(bytes > 100'000);
  auto second = o.verify(s.ref(), s.set, later());
  CHECK(second.cache_hit);
  CHECK(o.jobs_started() == 1);
  CHECK(o.hashed_bytes() == bytes);

  // Rewrite one file with other bytes: a new verdict, and only that file is read again.
  write_file(s.tmp / "pvc/m/config.json", "{\"seed\": 4}\n");
  auto third = o.verify(s.ref(), s.set, later());
  CHECK_FALSE(third.cache_hit);
  CHECK(third.verdict->evaluation.first_problem()->reason == "signature.digest_mismatch");
  CHECK(o.hashed_bytes() - bytes == fs::file_size(s.tmp / "pvc/m/config.json") * 1);
}

TEST_CASE("concurrent requests for one model share one job", "[admission][orchestrator]") {
  Setup s(32u << 20);
  OrchestratorOptions opt = trusting();
  opt.hash_threads = 1;
  Orchestrator o(opt, nullptr);
  std::vector<std::future<VerifyOutcome>> calls;
  for (int i = 0; i < 8; ++i) {
    calls.push_back(std::async(std::launch::async, [&] { return o.verify(s.ref(), s.set, later()); }));
  }
  int joined_or_hit = 0;
  for (auto& c : calls) {
    VerifyOutcome r = c.get();
    REQUIRE(r.state == VerifyState::kDone);
    CHECK(r.verdict->evaluation.passed());
    joined_or_hit += (r.joined || r.cache_hit) ? 1 : 0;
  }
  CHECK(o.jobs_started() == 1);
  CHECK(joined_or_hit == 7);
}

TEST_CASE("a deadline that passes answers pending with progress, and the job still completes",
          "[admission][orchestrator]") {
  Setup s(64u << 20);
  OrchestratorOptions opt = trusting();
  opt.hash_threads = 1;
  Orchestrator o(opt, nullptr);
  auto pending = o.verify(s.ref(), s.set, Clock::now());
  CHECK(pending.state == VerifyState::kPending);
  auto done = o.verify(s.ref(), s.set, later());
  REQUIRE(done.state == VerifyState::kDone);
  CHECK(done.verdict->evaluation.passed());
  CHECK(o.jobs_started() == 1);
}

TEST_CASE("prewarm hashes a source root ahead of admission so the first verification reads nothing",
          "[admission][orchestrator]") {
  Setup s;
  Orchestrator o(trusting(), nullptr);
  const std::uint64_t warmed = o.prewarm(s.tmp / "pvc");
  CHECK(warmed > 100'000);
  auto r = o.verify(s.ref(), s.set, later());
  REQUIRE(r.state == VerifyState::kDone);
  CHECK(r.verdict->evaluation.passed());
  // model.sig was hashed by prewarm (it does not know it is a signature) but never by verify.
  CHECK(o.hashed_bytes() == warmed);
}

TEST_CASE("with the one worker busy and no queue a new model is refused as overloaded instead of queued",
          "[admission][orchestrator]") {
  Setup big(64u << 20);
  Setup other;
  OrchestratorOptions opt = trusting();
  opt.max_concurrent_jobs = 1;
  opt.max_queued_jobs = 0;
  opt.hash_threads = 1;
  auto metrics = std::make_shared<Metrics>();
  Orchestrator o(opt, metrics);
  // No queue still lets a job run when a worker is free.
  CHECK(o.verify(big.ref(), big.set, Clock::now()).state == VerifyState::kPending);
  // The worker is hashing 64 MiB: another model is refused at once, not queued (a queued one
  // would have waited for the worker and been verified within its 60 s deadline).
  CHECK(o.verify(other.ref(), other.set, later()).state == VerifyState::kOverloaded);
  // A request for the running job joins it rather than being refused.
  auto joined = o.verify(big.ref(), big.set, later());
  REQUIRE(joined.state == VerifyState::kDone);
  CHECK(joined.verdict->evaluation.passed());
  // With the worker free again the refused model is verified.
  auto retried = o.verify(other.ref(), other.set, later());
  REQUIRE(retried.state == VerifyState::kDone);
  CHECK(retried.verdict->evaluation.passed());
  CHECK(o.jobs_started() == 2);
  CHECK_THAT(metrics->serialize(), Catch::Contains("modelgate_hash_jobs_rejected_total 1"));
}
