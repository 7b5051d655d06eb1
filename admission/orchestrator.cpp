// orchestrator.cpp: requests (revalidation window, shared walks, single flight) and jobs (snapshots
// before and after, the verdict keyed by what the job saw). The queue is orchestrator_queue.cpp.
#include "admission/orchestrator.h"

#include <algorithm>
#include <climits>
#include <ctime>
#include <system_error>

#include "admission/orchestrator_jobs.h"
#include "base/limits.h"
#include "crypto/encoding.h"
#include "crypto/model_walk.h"
#include "policy/evidence.h"

namespace modelgate::admission {

namespace fs = std::filesystem;

namespace {

// A job whose model changed between its snapshots is run again this many times before it denies.
constexpr int kJobAttempts = 2;

std::int64_t ns(std::chrono::nanoseconds d) { return static_cast<std::int64_t>(d.count()); }

// JobCache is one job's view of the file-digest cache: it remembers the oldest digest the job
// rested on (for the verdict's trust age) and, for a background re-verification, serves nothing so
// that every byte is read again (fresh digests replace the old ones).
class JobCache final : public crypto::DigestCache {
 public:
  JobCache(FileDigestCache& files, bool bypass) : files_(files), bypass_(bypass) {}
  std::optional<crypto::FileDigest> lookup(const crypto::DigestKey& key) override {
    if (bypass_) {
      return std::nullopt;
    }
    auto e = files_.lookup_entry(key);
    if (!e) {
      return std::nullopt;
    }
    note(e->hashed_at_ns);
    return std::move(e->digest);
  }
  std::int64_t now_ns() override { return files_.now_ns(); }
  void store(const crypto::DigestKey& key, const crypto::FileDigest& digest, std::int64_t read_from_ns) override {
    files_.store(key, digest, read_from_ns);
    note(read_from_ns);
  }
  std::optional<std::uint64_t> known_size(std::span<const std::uint8_t> digest, crypto::HashType type) override {
    return files_.known_size(digest, type);
  }
  std::int64_t oldest() const { return oldest_.load(); }

 private:
  void note(std::int64_t t) {
    std::int64_t cur = oldest_.load();
    while (t < cur && !oldest_.compare_exchange_weak(cur, t)) {
    }
  }
  FileDigestCache& files_;
  bool bypass_;
  std::atomic<std::int64_t> oldest_{INT64_MAX};
};

FileDigestCacheOptions file_cache_options(const OrchestratorOptions& o) {
  FileDigestCacheOptions f;
  f.capacity = o.file_digest_cache_entries;
  f.settle_ns = ns(o.settle_interval);
  f.max_trust_age_ns = ns(o.max_trust_age);
  f.clock_ns = o.wall_clock_ns;
  return f;
}

std::string source_of(const ModelRef& ref) { return ref.policy->policy->name.value + '/' + ref.source->name.value; }

}  // namespace

Orchestrator::Orchestrator(OrchestratorOptions options, std::shared_ptr<Metrics> metrics)
    : options_(std::move(options)),
      metrics_(std::move(metrics)),
      files_(file_cache_options(options_), metrics_.get()),
      verdicts_(options_.verdict_cache_entries) {
  worker_count_ = std::max<std::size_t>(1, options_.max_concurrent_jobs);
  for (std::size_t i = 0; i < worker_count_; ++i) {
    workers_.emplace_back([this] { worker(); });
  }
  maintainer_ = std::thread([this] { maintain(); });
}

Orchestrator::~Orchestrator() { shutdown(); }

std::int64_t Orchestrator::now() const {
  return options_.now != 0 ? options_.now : static_cast<std::int64_t>(std::time(nullptr));
}

void Orchestrator::finish(Job& job, std::shared_ptr<const Verdict> v) {
  {
    std::lock_guard<std::mutex> lock(job.mu);
    job.verdict = std::move(v);
    job.done = true;
  }
  job.cv.notify_all();
}

void Orchestrator::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) {
      return;
    }
    stopped_ = true;
    cancel_.store(true);
    for (auto& [key, job] : in_flight_) {
      job->cancel.store(true);
    }
  }
  work_cv_.notify_all();
  stop_cv_.notify_all();
  for (std::thread& t : workers_) {
    t.join();
  }
  maintainer_.join();
  // Wake anyone still waiting on a job that will now never run.
  std::vector<std::shared_ptr<Job>> left;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [source, q] : queues_) {
      left.insert(left.end(), q.begin(), q.end());
    }
    queues_.clear();
  }
  for (auto& job : left) {
    finish(*job, nullptr);
  }
}

// --- jobs --------------------------------------------------------------------------------------

std::shared_ptr<const Verdict> Orchestrator::run_job(Job& job) {
  std::shared_ptr<const Verdict> v;
  for (int attempt = 0; attempt < kJobAttempts; ++attempt) {
    bool consistent = true;
    v = run_job_once(job, consistent);
    if (consistent) {
      return v;
    }
  }
  return v;  // changed under every attempt: a deny naming the change, not cached
}

// run_job_once verifies the model between two snapshots of it. The verdict is cached under the key
// the first snapshot gives — what this job saw, not what the request saw — and only when the
// second snapshot is the same, every file hashed carried the stamp the first one recorded, and no
// file had changed within the settle interval. `consistent` is false when the model changed.
std::shared_ptr<const Verdict> Orchestrator::run_job_once(Job& job, bool& consistent) {
  const ModelRef& ref = job.ref;
  const std::string& sig_name = ref.source->signature_file.value;
  const Clock::time_point started = Clock::now();
  const std::int64_t started_ns = files_.now_ns();
  JobCache cache(files_, job.background);
  policy::EvidenceOptions eo;
  eo.stores = options_.evidence_stores;
  eo.now = now();
  eo.hash.threads = options_.hash_threads;
  eo.hash.cache = &cache;
  eo.hash.cancel = &job.cancel;
  eo.hash.on_progress = [&job](const crypto::HashProgress& p) {
    job.bytes_done.store(p.bytes_done, std::memory_order_relaxed);
    job.bytes_total.store(p.bytes_total, std::memory_order_relaxed);
  };
  eo.hash.on_hashed = [this](std::uint64_t n) {
    hashed_bytes_.fetch_add(n);
    if (metrics_) {
      metrics_->add_hashed_bytes(n);
    }
  };
  auto v = std::make_shared<Verdict>();
  v->made_at = eo.now;
  policy::ModelFacts facts;
  auto before = take_snapshot(ref.dir, sig_name, true, std::nullopt, &job.cancel);
  // Every file the verification hashes must be the one the snapshot recorded: checked after each
  // walk, before a byte is read (and the hasher holds each file to that stamp until its last byte).
  eo.hash.before_hashing = [&before, &consistent](const crypto::ModelTree& tree) -> Result<void> {
    for (const crypto::ModelFile& f : tree.files) {
      auto it = before->stamps.find(f.name);
      if (it == before->stamps.end() || it->second != f.stamp) {
        consistent = false;
        return make_error(Code::kIo, crypto::quote_file_name(f.name) + ": changed while the model was verified");
      }
    }
    return ok_status();
  };
  auto dir = before.ok() ? open_model_dir(ref) : Result<fs::path>(std::move(before).error());
  if (!dir.ok()) {
    facts.model_error = std::move(dir).error();
    facts.now = eo.now;
  } else {
    facts = policy::collect_model_facts(*ref.policy, dir.value(), sig_name, eo);
  }
  bool unchanged = false;
  Clock::time_point confirmed = started;
  if (before.ok() && !facts.model_error) {
    auto after = take_snapshot(ref.dir, sig_name, false, std::nullopt, &job.cancel);
    confirmed = Clock::now();
    unchanged = after.ok() && after->same_as(*before);
    if (after.ok() && !unchanged) {
      consistent = false;
      facts.model_error = make_error(Code::kIo, "the model changed while it was verified; retry");
    } else if (!after.ok()) {
      facts.model_error = std::move(after).error();
    }
  }
  v->root = facts.root;
  v->evaluation = policy::evaluate(*ref.policy, facts);
  // A verdict resting on a file changed within the settle interval is not cached (see verdict_cache.h).
  const bool settled = before.ok() && (before->files == 0 || started_ns - before->newest_change_ns >= ns(options_.settle_interval));
  v->cacheable = !facts.model_error.has_value() && unchanged && settled;
  v->trusted_until_ns = std::min(cache.oldest(), started_ns) + files_.max_trust_age_ns();
  if (facts.root) {
    v->evidence_fingerprint = policy::evidence_fingerprint(options_.evidence_stores, crypto::to_hex(*facts.root));
  }
  if (v->cacheable) {
    const std::string key = job.base + '\n' + before->signature_fingerprint + '\n' + before->tree_fingerprint;
    verdicts_.put(key, v);
    remember(job.base, key, job, confirmed, v->trusted_until_ns);
    if (metrics_) {
      metrics_->set_cache_entries("verdict", verdicts_.size());
      metrics_->set_cache_entries("file", files_.size());
    }
  }
  return v;
}

// --- requests ----------------------------------------------------------------------------------

std::shared_ptr<const Verdict> Orchestrator::serve(const std::string& key) {
  auto hit = verdicts_.get(key);
  if (!hit) {
    return nullptr;
  }
  const Verdict& v = **hit;
  const bool fresh = now() - v.made_at <= kVerdictTtlSeconds && files_.now_ns() <= v.trusted_until_ns;
  const bool same_evidence =
      !v.root || policy::evidence_fingerprint(options_.evidence_stores, crypto::to_hex(*v.root)) == v.evidence_fingerprint;
  return fresh && same_evidence ? *hit : nullptr;
}

void Orchestrator::remember(const std::string& base, const std::string& key, const Job& job, Clock::time_point walked_at,
                            std::int64_t trusted_until_ns) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = recent_.find(base);
  if (it == recent_.end()) {
    if (recent_.size() >= std::max<std::size_t>(1, options_.verdict_cache_entries)) {
      recent_.erase(recent_.begin());  // bounded; the maintainer prunes unused ones first
    }
    it = recent_.emplace(base, Recent{key, job.ref, job.set, walked_at, Clock::now(), trusted_until_ns, false}).first;
    return;
  }
  it->second.last_used = Clock::now();
  if (walked_at < it->second.walked_at) {
    return;  // an older walk finishing late must not pass its key off as the newer walk's
  }
  it->second.key = key;
  it->second.walked_at = walked_at;
  it->second.trusted_until_ns = trusted_until_ns;
}

// walk_once takes the snapshot a request's key needs; concurrent requests for one directory share
// one walk, and none waits past its deadline. `ended` is when the shared walk finished: the
// revalidation window runs from there (a model whose walk outlasts the window still costs one
// walk per burst, not one per request).
Result<TreeSnapshot> Orchestrator::walk_once(const ModelRef& ref, Clock::time_point deadline,
                                             Clock::time_point& ended) {
  const std::string id = ref.dir.string() + '\n' + ref.source->signature_file.value;
  std::shared_ptr<WalkFlight> flight;
  bool mine = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = walks_.find(id);
    if (it == walks_.end()) {
      flight = std::make_shared<WalkFlight>();
      walks_.emplace(id, flight);
      mine = true;
    } else {
      flight = it->second;
    }
  }
  if (mine) {
    tree_walks_.fetch_add(1);
    if (metrics_) {
      metrics_->add_model_walk();
    }
    Result<TreeSnapshot> r = take_snapshot(ref.dir, ref.source->signature_file.value, false, deadline, &cancel_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      walks_.erase(id);
    }
    {
      std::lock_guard<std::mutex> lock(flight->mu);
      flight->result.emplace(r);
      flight->ended = Clock::now();
      flight->done = true;
      ended = flight->ended;
    }
    flight->cv.notify_all();
    return r;
  }
  std::unique_lock<std::mutex> lock(flight->mu);
  if (!flight->cv.wait_until(lock, deadline, [&] { return flight->done; })) {
    return make_error(Code::kDeadline, "deadline passed while the model was listed");
  }
  ended = flight->ended;
  return *flight->result;
}

VerifyOutcome Orchestrator::verify(const ModelRef& ref, std::shared_ptr<const policy::TrustedPolicySet> set,
                                   std::chrono::steady_clock::time_point deadline) {
  VerifyOutcome out;
  const std::string base =
      std::to_string(set->generation()) + '\n' + ref.policy->policy->name.value + '\n' + ref.dir.string();
  // Within the revalidation window the last walk stands: no walk, no signature read.
  std::optional<std::string> recent_key;
  const Clock::time_point arrived = Clock::now();
  if (options_.revalidate_window.count() > 0) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = recent_.find(base);
    if (it != recent_.end() && arrived - it->second.walked_at <= options_.revalidate_window) {
      recent_key = it->second.key;
      it->second.last_used = arrived;
    }
  }
  if (recent_key) {
    if (auto v = serve(*recent_key)) {
      if (metrics_) {
        metrics_->observe_cache("verdict", true);
      }
      out.verdict = std::move(v);
      out.cache_hit = true;
      return out;
    }
  }
  // The key names everything the verdict depends on; computing it reads no model bytes.
  Clock::time_point walked_at;  // when the walk ended
  auto snap = walk_once(ref, deadline, walked_at);
  if (!snap.ok()) {
    out.state = VerifyState::kPending;  // the walk itself outlasted the deadline
    return out;
  }
  const std::string key = base + '\n' + snap->signature_fingerprint + '\n' + snap->tree_fingerprint;
  if (auto v = serve(key)) {
    if (metrics_) {
      metrics_->observe_cache("verdict", true);
    }
    Job j;
    j.ref = ref;
    j.set = set;
    remember(base, key, j, walked_at, v->trusted_until_ns);
    out.verdict = std::move(v);
    out.cache_hit = true;
    return out;
  }
  if (metrics_) {
    metrics_->observe_cache("verdict", false);
  }
  std::shared_ptr<Job> job;
  std::vector<std::shared_ptr<Job>> evicted;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) {
      out.state = VerifyState::kOverloaded;
      return out;
    }
    auto it = in_flight_.find(key);
    if (it != in_flight_.end() && it->second->cancel.load()) {
      in_flight_.erase(it);  // abandoned and ending: a new job, not a cancelled answer
      it = in_flight_.end();
    }
    if (it != in_flight_.end()) {
      job = it->second;
      job->deadline = std::max(job->deadline, deadline);
      out.joined = true;
    } else {
      job = std::make_shared<Job>();
      job->key = key;
      job->base = base;
      job->source = source_of(ref);
      job->ref = ref;
      job->set = std::move(set);
      job->deadline = deadline;
      // in_flight_ holds the running jobs and the queued ones: refuse only when every worker is
      // taken and max_queued_jobs wait already (0 = no waiting, not "nothing runs").
      if (!admit_locked(job, evicted)) {
        if (metrics_) {
          metrics_->add_job_rejected();
        }
        out.state = VerifyState::kOverloaded;
        return out;
      }
    }
  }
  for (auto& e : evicted) {
    if (metrics_) {
      metrics_->add_job_rejected();
    }
    finish(*e, nullptr);
  }
  std::unique_lock<std::mutex> lock(job->mu);
  if (!job->cv.wait_until(lock, deadline, [&] { return job->done; })) {
    out.state = VerifyState::kPending;
    out.bytes_done = job->bytes_done.load();
    out.bytes_total = job->bytes_total.load();
    return out;
  }
  if (!job->verdict) {
    out.state = VerifyState::kOverloaded;  // shut down or evicted before it ran
    return out;
  }
  out.verdict = job->verdict;
  return out;
}

std::uint64_t Orchestrator::prewarm(const fs::path& root) {
  std::uint64_t before = hashed_bytes_.load();
  std::error_code ec;
  std::vector<fs::path> models;
  for (fs::directory_iterator it(root, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) {
      models.push_back(it->path());
    }
  }
  for (const fs::path& m : models) {
    if (cancel_.load()) {
      break;
    }
    crypto::SerializationConfig config;  // files + sha256: model_signing's default
    crypto::HashOptions h;
    h.threads = options_.hash_threads;
    h.cache = &files_;
    h.cancel = &cancel_;
    h.on_hashed = [this](std::uint64_t n) {
      hashed_bytes_.fetch_add(n);
      if (metrics_) {
        metrics_->add_hashed_bytes(n);
      }
    };
    (void)crypto::hash_model(m, config, h);  // failures surface at admission, with reasons
  }
  return hashed_bytes_.load() - before;
}

}  // namespace modelgate::admission
