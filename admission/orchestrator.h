// orchestrator.h: verification of model references under deadlines: a bounded pool of hashing
// jobs, single flight (concurrent requests for one model share one job), a file-digest cache and a
// verdict cache, and a "still verifying" answer when a deadline would be missed while the job goes
// on, so the retry is answered from cache. Not policy evaluation rules (policy/) and not HTTP.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "admission/metrics.h"
#include "admission/model_refs.h"
#include "admission/verdict_cache.h"
#include "policy/evaluate.h"
#include "policy/trust_material.h"

namespace modelgate::admission {

struct OrchestratorOptions {
  std::vector<std::filesystem::path> evidence_stores;
  std::size_t file_digest_cache_entries = 200'000;
  std::size_t verdict_cache_entries = 10'000;
  std::size_t hash_threads = 0;         // per job; 0 = all cores
  std::size_t max_concurrent_jobs = 2;  // worker threads
  std::size_t max_queued_jobs = 64;     // jobs waiting for a worker; more are refused (overload)
  std::int64_t now = 0;                 // fixed clock for tests (unix seconds); 0 = system clock
};

// VerifyState says what a caller got back.
enum class VerifyState {
  kDone,        // `verdict` is set
  kPending,     // the deadline passed first; hashing goes on (bytes_done of bytes_total)
  kOverloaded,  // the job queue is full: nothing was started
};

struct VerifyOutcome {
  VerifyState state = VerifyState::kDone;
  std::shared_ptr<const Verdict> verdict;
  bool cache_hit = false;    // answered from the verdict cache
  bool joined = false;       // joined a job another request had started (single flight)
  std::uint64_t bytes_done = 0;
  std::uint64_t bytes_total = 0;
};

// Orchestrator is thread-safe. The destructor (or shutdown()) cancels queued and running jobs.
class Orchestrator {
 public:
  Orchestrator(OrchestratorOptions options, std::shared_ptr<Metrics> metrics);
  ~Orchestrator();
  Orchestrator(const Orchestrator&) = delete;
  Orchestrator& operator=(const Orchestrator&) = delete;

  // verify returns the verdict on `ref` (its policy, directory and signature file), from cache
  // when nothing it depends on changed, else from a job (new, or already running for the same
  // key) waited for until `deadline`. `set` must outlive the call and any job it starts (jobs
  // keep their own reference to it). Never throws.
  VerifyOutcome verify(const ModelRef& ref, std::shared_ptr<const policy::TrustedPolicySet> set,
                       std::chrono::steady_clock::time_point deadline);

  // prewarm hashes every file under `root` (files mode, sha256: what model_signing writes by
  // default) into the file-digest cache, on the calling thread. Returns the bytes hashed.
  std::uint64_t prewarm(const std::filesystem::path& root);

  // shutdown cancels queued and running jobs and joins the workers. Idempotent.
  void shutdown();

  std::size_t file_cache_entries() const { return files_.size(); }
  std::size_t verdict_cache_entries() const { return verdicts_.size(); }
  // jobs_started counts jobs actually run (tests assert single flight and cache hits with it).
  std::uint64_t jobs_started() const { return jobs_started_.load(); }
  // hashed_bytes counts bytes read and hashed (cache misses) over the orchestrator's life.
  std::uint64_t hashed_bytes() const { return hashed_bytes_.load(); }

 private:
  struct Job;
  std::shared_ptr<const Verdict> run_job(Job& job);
  void worker();
  std::int64_t now() const;

  OrchestratorOptions options_;
  std::shared_ptr<Metrics> metrics_;
  FileDigestCache files_;
  VerdictCache verdicts_;

  std::mutex mu_;
  std::condition_variable work_cv_;
  std::deque<std::shared_ptr<Job>> queue_;
  std::map<std::string, std::shared_ptr<Job>> in_flight_;  // single flight, by verdict key
  std::vector<std::thread> workers_;
  std::atomic<bool> cancel_{false};
  bool stopped_ = false;
  std::atomic<std::uint64_t> jobs_started_{0};
  std::atomic<std::uint64_t> hashed_bytes_{0};
  std::atomic<std::int64_t> running_{0};
};

}  // namespace modelgate::admission
