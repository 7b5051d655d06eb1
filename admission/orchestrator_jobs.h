// orchestrator_jobs.h: the orchestrator's internal records (a job, a shared walk, a recently
// walked model), shared by orchestrator.cpp (requests, jobs) and orchestrator_queue.cpp (the fair
// queue, workers, maintenance). Not a public interface.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "admission/orchestrator.h"

namespace modelgate::admission {

// A verdict is reused for at most this long even when nothing changed, so that maxAge, certificate
// validity windows and a policy's notion of "now" are re-judged.
inline constexpr std::int64_t kVerdictTtlSeconds = 300;

struct Orchestrator::Job {
  std::string key;     // the verdict key the requests computed (single flight)
  std::string base;    // generation, policy and directory: the part of the key not observed
  std::string source;  // fairness lane
  ModelRef ref;
  std::shared_ptr<const policy::TrustedPolicySet> set;  // keeps ref.policy alive
  bool background = false;  // re-verification: bypasses the caches, never abandoned
  std::uint64_t seq = 0;
  bool running = false;                 // guarded by Orchestrator::mu_
  Clock::time_point deadline;           // latest deadline of a waiting request (Orchestrator::mu_)
  std::atomic<bool> cancel{false};
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::shared_ptr<const Verdict> verdict;
  std::atomic<std::uint64_t> bytes_done{0};
  std::atomic<std::uint64_t> bytes_total{0};
};

struct Orchestrator::WalkFlight {
  Clock::time_point ended;  // set with done
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::optional<Result<TreeSnapshot>> result;
};

// Recent is the last time a model was walked and found to have a verdict (the revalidation
// window), and what a background re-verification needs to re-run it.
struct Orchestrator::Recent {
  std::string key;
  ModelRef ref;
  std::shared_ptr<const policy::TrustedPolicySet> set;
  Clock::time_point walked_at;
  Clock::time_point last_used;
  std::int64_t trusted_until_ns = INT64_MAX;
  bool refreshing = false;
};

}  // namespace modelgate::admission
