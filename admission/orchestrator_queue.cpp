// orchestrator_queue.cpp: the orchestrator's fair queue (one FIFO per policy source), its workers,
// and the maintenance thread (abandoned jobs, background re-verification at the trust age).
#include <algorithm>

#include "admission/orchestrator.h"
#include "admission/orchestrator_jobs.h"

namespace modelgate::admission {

// --- the fair queue (mu_ held) -----------------------------------------------------------------

// pick_locked takes the front job of the source with the fewest running jobs (the oldest front
// job breaks ties). With two or more workers no source may run on all of them: the last one is
// kept for the other sources, so a writer whose storage holds slow models cannot starve the rest
// (each job already hashes on every core, so one source loses little by it).
std::shared_ptr<Orchestrator::Job> Orchestrator::pick_locked() {
  const std::size_t cap = worker_count_ > 1 ? worker_count_ - 1 : 1;
  std::deque<std::shared_ptr<Job>>* best = nullptr;
  std::size_t best_running = 0;
  for (auto& [source, q] : queues_) {
    if (q.empty()) {
      continue;
    }
    auto running = running_by_source_.find(source);
    const std::size_t r = running == running_by_source_.end() ? 0 : running->second;
    if (r >= cap) {
      continue;
    }
    if (best == nullptr || r < best_running || (r == best_running && q.front()->seq < best->front()->seq)) {
      best = &q;
      best_running = r;
    }
  }
  if (best == nullptr) {
    return nullptr;
  }
  std::shared_ptr<Job> job = best->front();
  best->pop_front();
  job->running = true;
  ++running_by_source_[job->source];
  return job;
}

void Orchestrator::erase_locked(const std::shared_ptr<Job>& job) {
  auto it = in_flight_.find(job->key);
  if (it != in_flight_.end() && it->second == job) {
    in_flight_.erase(it);
  }
  if (job->background) {
    auto r = recent_.find(job->base);
    if (r != recent_.end()) {
      r->second.refreshing = false;  // done, evicted or dropped: the next tick may start another
    }
  }
  if (--held_by_source_[job->source] == 0) {
    held_by_source_.erase(job->source);
  }
  if (job->running) {
    if (--running_by_source_[job->source] == 0) {
      running_by_source_.erase(job->source);
    }
  } else {
    auto q = queues_.find(job->source);
    if (q != queues_.end()) {
      q->second.erase(std::remove(q->second.begin(), q->second.end(), job), q->second.end());
      if (q->second.empty()) {
        queues_.erase(q);
      }
    }
  }
}

// admit_locked queues `job` when there is room. When every slot is taken, a source holding fewer
// slots than the busiest one takes that source's newest queued slot (its waiters are told
// "overloaded"): one writer flooding its storage cannot keep the other sources out.
bool Orchestrator::admit_locked(const std::shared_ptr<Job>& job, std::vector<std::shared_ptr<Job>>& evicted) {
  const std::size_t capacity = worker_count_ + options_.max_queued_jobs;
  if (in_flight_.size() >= capacity) {
    const std::size_t mine = held_by_source_.count(job->source) ? held_by_source_[job->source] : 0;
    std::string hog;
    std::size_t most = 0;
    for (auto& [source, held] : held_by_source_) {
      auto q = queues_.find(source);
      if (held > most && q != queues_.end() && !q->second.empty()) {
        hog = source;
        most = held;
      }
    }
    if (hog.empty() || hog == job->source || most <= mine + 1) {
      return false;
    }
    std::shared_ptr<Job> victim = queues_[hog].back();
    erase_locked(victim);
    evicted.push_back(std::move(victim));
  }
  job->seq = ++seq_;
  in_flight_.emplace(job->key, job);
  ++held_by_source_[job->source];
  queues_[job->source].push_back(job);
  work_cv_.notify_one();
  return true;
}

// --- workers -----------------------------------------------------------------------------------

void Orchestrator::worker() {
  for (;;) {
    std::shared_ptr<Job> job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [&] { return stopped_ || (job = pick_locked()) != nullptr; });
      if (stopped_) {
        if (job) {
          // Taken while stopping: hand it back so shutdown() answers its waiters.
          job->running = false;
          --running_by_source_[job->source];
          queues_[job->source].push_front(job);
        }
        return;
      }
    }
    running_.fetch_add(1);
    if (metrics_) {
      metrics_->set_jobs_in_flight(running_.load());
    }
    jobs_started_.fetch_add(1);
    std::shared_ptr<const Verdict> v;
    try {
      v = run_job(*job);
    } catch (const std::exception& e) {
      // Our bug; the request still gets a clean, fail-closed answer.
      auto bad = std::make_shared<Verdict>();
      bad->evaluation.policy = job->ref.policy->policy->name.value;
      bad->evaluation.mode = job->ref.policy->policy->mode.value;
      bad->evaluation.rules.push_back(policy::RuleResult{"signature", policy::RuleStatus::kError, "internal",
                                                         std::string("internal error: ") + e.what()});
      bad->cacheable = false;
      v = bad;
    }
    running_.fetch_sub(1);
    if (metrics_) {
      metrics_->set_jobs_in_flight(running_.load());
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      erase_locked(job);
      work_cv_.notify_all();  // the source's share of workers is free again
    }
    finish(*job, std::move(v));
  }
}

// --- maintenance -------------------------------------------------------------------------------

// maintain cancels jobs nobody waits for (deadline + grace passed) and starts background
// re-verifications of models in use whose digests near the trust age.
void Orchestrator::maintain() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_cv_.wait_for(lock, options_.maintenance_interval, [&] { return stopped_; })) {
    const Clock::time_point t = Clock::now();
    std::vector<std::shared_ptr<Job>> dropped;
    for (auto& [key, job] : in_flight_) {
      if (job->background || job->cancel.load() || t <= job->deadline + options_.abandon_grace) {
        continue;
      }
      job->cancel.store(true);
      jobs_abandoned_.fetch_add(1);
      if (metrics_) {
        metrics_->add_job_abandoned();
      }
      if (!job->running) {
        dropped.push_back(job);
      }
    }
    for (auto& job : dropped) {
      erase_locked(job);
    }
    const std::int64_t wall = files_.now_ns();
    const std::int64_t early = files_.max_trust_age_ns() / 4;
    const std::size_t capacity = worker_count_ + options_.max_queued_jobs;
    std::vector<std::shared_ptr<Job>> evicted;
    for (auto it = recent_.begin(); it != recent_.end();) {
      Recent& r = it->second;
      if (t - r.last_used > std::chrono::seconds(kVerdictTtlSeconds)) {
        it = recent_.erase(it);
        continue;
      }
      if (!r.refreshing && wall >= r.trusted_until_ns - early && in_flight_.size() < capacity) {
        auto job = std::make_shared<Job>();
        job->key = "refresh\n" + it->first;
        job->base = it->first;
        job->source = "(background)";
        job->ref = r.ref;
        job->set = r.set;
        job->background = true;
        if (in_flight_.count(job->key) == 0 && admit_locked(job, evicted)) {
          r.refreshing = true;
          refreshes_started_.fetch_add(1);
        }
      }
      ++it;
    }
    lock.unlock();
    for (auto& job : dropped) {
      finish(*job, nullptr);
    }
    for (auto& job : evicted) {
      finish(*job, nullptr);
    }
    lock.lock();
  }
}

}  // namespace modelgate::admission
