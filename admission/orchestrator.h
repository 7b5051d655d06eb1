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
#include "admission/tree_snapshot.h"
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
  // settle_interval: files changed more recently than this (mtime/ctime) when read are never
  // served from a cache, and a verdict resting on one is not cached (FileDigestCacheOptions).
  std::chrono::nanoseconds settle_interval = std::chrono::seconds(60);
  // max_trust_age: no cached digest or verdict older than this is served; models in use are
  // re-hashed in the background (every cache bypassed) when their digests reach 3/4 of it.
  std::chrono::nanoseconds max_trust_age = std::chrono::minutes(10);
  // revalidate_window: a model walked and found unchanged is answered from its verdict without a
  // new walk for this long after that walk ended (a burst of pods costs one walk). Zero walks
  // every time.
  std::chrono::nanoseconds revalidate_window = std::chrono::seconds(2);
  // abandon_grace: a job is cancelled this long after the deadline of the last request that
  // waited for it (background re-verification and prewarm excepted).
  std::chrono::nanoseconds abandon_grace = std::chrono::seconds(30);
  // maintenance_interval: how often abandoned jobs are looked for and refreshes started.
  std::chrono::nanoseconds maintenance_interval = std::chrono::seconds(1);
  // wall_clock_ns: unix ns for the settle interval and trust ages (tests); empty = CLOCK_REALTIME.
  std::function<std::int64_t()> wall_clock_ns;
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
  // key) waited for until `deadline`. Whether anything changed is decided by a walk of the model
  // (names and stamps, no bytes), shared by concurrent requests for one model and skipped within
  // revalidate_window of the last one; a walk that outlasts `deadline` answers kPending. A job
  // keys its verdict only by what it observed itself (a snapshot before and after hashing, the
  // hashed files' stamps inside it), and caches nothing when they differ or a file had not
  // settled. Jobs share the workers fairly between policy sources. `set` must outlive the call
  // and any job it starts (jobs keep their own reference to it). Never throws.
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
  // tree_walks counts walks of a model for a request (not those inside jobs).
  std::uint64_t tree_walks() const { return tree_walks_.load(); }
  // jobs_abandoned counts jobs cancelled because no request waited for them any more.
  std::uint64_t jobs_abandoned() const { return jobs_abandoned_.load(); }
  // refreshes_started counts background re-verifications (maxTrustAge).
  std::uint64_t refreshes_started() const { return refreshes_started_.load(); }
  const FileDigestCache& file_cache() const { return files_; }

 private:
  struct Job;
  struct WalkFlight;
  struct Recent;
  using Clock = std::chrono::steady_clock;
  std::shared_ptr<const Verdict> run_job(Job& job);
  std::shared_ptr<const Verdict> run_job_once(Job& job, bool& consistent);
  std::shared_ptr<const Verdict> serve(const std::string& key);
  Result<TreeSnapshot> walk_once(const ModelRef& ref, Clock::time_point deadline, Clock::time_point& ended);
  void remember(const std::string& base, const std::string& key, const Job& job, Clock::time_point walked_at,
                std::int64_t trusted_until_ns);
  std::shared_ptr<Job> pick_locked();
  bool admit_locked(const std::shared_ptr<Job>& job, std::vector<std::shared_ptr<Job>>& evicted);
  void erase_locked(const std::shared_ptr<Job>& job);
  void worker();
  void maintain();
  static void finish(Job& job, std::shared_ptr<const Verdict> v);
  std::int64_t now() const;

  OrchestratorOptions options_;
  std::shared_ptr<Metrics> metrics_;
  FileDigestCache files_;
  VerdictCache verdicts_;

  std::mutex mu_;
  std::condition_variable work_cv_;
  // Fair queue: one FIFO per source (policy/source name); a free worker takes the front job of
  // the source with the fewest running jobs.
  std::map<std::string, std::deque<std::shared_ptr<Job>>> queues_;
  std::map<std::string, std::size_t> running_by_source_;
  std::map<std::string, std::size_t> held_by_source_;       // running + queued
  std::map<std::string, std::shared_ptr<Job>> in_flight_;  // single flight, by verdict key
  std::map<std::string, std::shared_ptr<WalkFlight>> walks_;  // single flight, by directory
  std::map<std::string, Recent> recent_;                     // by generation, policy, directory
  std::uint64_t seq_ = 0;
  std::size_t worker_count_ = 0;  // set before any worker starts (workers_ grows while they run)
  std::vector<std::thread> workers_;
  std::thread maintainer_;
  std::condition_variable stop_cv_;
  std::atomic<bool> cancel_{false};
  bool stopped_ = false;
  std::atomic<std::uint64_t> jobs_started_{0};
  std::atomic<std::uint64_t> hashed_bytes_{0};
  std::atomic<std::uint64_t> tree_walks_{0};
  std::atomic<std::uint64_t> jobs_abandoned_{0};
  std::atomic<std::uint64_t> refreshes_started_{0};
  std::atomic<std::int64_t> running_{0};
};

}  // namespace modelgate::admission
