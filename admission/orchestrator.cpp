#include "admission/orchestrator.h"

#include <ctime>
#include <system_error>

#include "base/limits.h"
#include "base/read_file.h"
#include "crypto/encoding.h"
#include "crypto/model_walk.h"
#include "policy/evidence.h"

namespace modelgate::admission {

namespace fs = std::filesystem;

namespace {

// A verdict is reused for at most this long even when nothing changed, so that maxAge, certificate
// validity windows and a policy's notion of "now" are re-judged.
constexpr std::int64_t kVerdictTtlSeconds = 300;

std::string stamp_line(const crypto::FileStamp& s) {
  return std::to_string(s.dev) + ':' + std::to_string(s.ino) + ':' + std::to_string(s.size) + ':' +
         std::to_string(s.mtime_ns) + ':' + std::to_string(s.ctime_ns);
}

// tree_fingerprint hashes every file's name and stamp under `dir` (no bytes are read). Any change
// to any file — contents, size, replacement, a new or removed file — changes it.
std::string tree_fingerprint(const fs::path& dir) {
  crypto::WalkOptions w;
  w.allow_symlinks = true;  // links are recorded, not judged, here; verification judges them
  auto tree = crypto::walk_model(dir, w);
  if (!tree.ok()) {
    return "unwalkable:" + tree.error().message;
  }
  crypto::Sha256 h;
  for (const crypto::ModelFile& f : tree->files) {
    h.update(f.name);
    h.update(std::string_view("\0", 1));
    h.update(stamp_line(f.stamp));
    h.update(std::string_view("\n", 1));
  }
  return crypto::to_hex(h.final());
}

std::string signature_fingerprint(const fs::path& sig) {
  auto bytes = read_regular_file(sig, limits::kMaxBundleBytes);
  if (!bytes.ok()) {
    return "absent:" + std::string(code_name(bytes.error().code));
  }
  crypto::Sha256 h;
  h.update(bytes.value());
  return crypto::to_hex(h.final());
}

}  // namespace

struct Orchestrator::Job {
  std::string key;
  ModelRef ref;
  std::shared_ptr<const policy::TrustedPolicySet> set;  // keeps ref.policy alive
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::shared_ptr<const Verdict> verdict;
  std::atomic<std::uint64_t> bytes_done{0};
  std::atomic<std::uint64_t> bytes_total{0};
};

Orchestrator::Orchestrator(OrchestratorOptions options, std::shared_ptr<Metrics> metrics)
    : options_(std::move(options)),
      metrics_(std::move(metrics)),
      files_(options_.file_digest_cache_entries, metrics_.get()),
      verdicts_(options_.verdict_cache_entries) {
  const std::size_t n = std::max<std::size_t>(1, options_.max_concurrent_jobs);
  for (std::size_t i = 0; i < n; ++i) {
    workers_.emplace_back([this] { worker(); });
  }
}

Orchestrator::~Orchestrator() { shutdown(); }

std::int64_t Orchestrator::now() const {
  return options_.now != 0 ? options_.now : static_cast<std::int64_t>(std::time(nullptr));
}

void Orchestrator::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) {
      return;
    }
    stopped_ = true;
    cancel_.store(true);
  }
  work_cv_.notify_all();
  for (std::thread& t : workers_) {
    t.join();
  }
  // Wake anyone still waiting on a job that will now never run.
  std::deque<std::shared_ptr<Job>> left;
  {
    std::lock_guard<std::mutex> lock(mu_);
    left.swap(queue_);
  }
  for (auto& job : left) {
    std::lock_guard<std::mutex> lock(job->mu);
    job->done = true;
    job->cv.notify_all();
  }
}

void Orchestrator::worker() {
  for (;;) {
    std::shared_ptr<Job> job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [&] { return stopped_ || !queue_.empty(); });
      if (stopped_) {
        return;
      }
      job = queue_.front();
      queue_.pop_front();
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
      v = bad;
    }
    running_.fetch_sub(1);
    if (metrics_) {
      metrics_->set_jobs_in_flight(running_.load());
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      in_flight_.erase(job->key);
    }
    {
      std::lock_guard<std::mutex> lock(job->mu);
      job->verdict = std::move(v);
      job->done = true;
    }
    job->cv.notify_all();
  }
}

std::shared_ptr<const Verdict> Orchestrator::run_job(Job& job) {
  const ModelRef& ref = job.ref;
  policy::EvidenceOptions eo;
  eo.stores = options_.evidence_stores;
  eo.now = now();
  eo.hash.threads = options_.hash_threads;
  eo.hash.cache = &files_;
  eo.hash.cancel = &cancel_;
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
  auto dir = open_model_dir(ref);
  if (!dir.ok()) {
    facts.model_error = std::move(dir).error();
    facts.now = eo.now;
  } else {
    facts = policy::collect_model_facts(*ref.policy, dir.value(), ref.source->signature_file.value, eo);
  }
  v->root = facts.root;
  v->evaluation = policy::evaluate(*ref.policy, facts);
  v->cacheable = !facts.model_error.has_value();
  if (facts.root) {
    v->evidence_fingerprint = policy::evidence_fingerprint(options_.evidence_stores, crypto::to_hex(*facts.root));
  }
  if (v->cacheable) {
    verdicts_.put(job.key, v);
    if (metrics_) {
      metrics_->set_cache_entries("verdict", verdicts_.size());
      metrics_->set_cache_entries("file", files_.size());
    }
  }
  return v;
}

VerifyOutcome Orchestrator::verify(const ModelRef& ref, std::shared_ptr<const policy::TrustedPolicySet> set,
                                   std::chrono::steady_clock::time_point deadline) {
  VerifyOutcome out;
  // The key names everything the verdict depends on; computing it reads no model bytes.
  const fs::path sig = ref.dir / ref.source->signature_file.value;
  const std::string key = std::to_string(set->generation()) + '\n' + ref.policy->policy->name.value + '\n' +
                          ref.dir.string() + '\n' + signature_fingerprint(sig) + '\n' + tree_fingerprint(ref.dir);
  if (auto hit = verdicts_.get(key)) {
    const Verdict& v = **hit;
    const bool fresh = now() - v.made_at <= kVerdictTtlSeconds;
    const bool same_evidence =
        !v.root || policy::evidence_fingerprint(options_.evidence_stores, crypto::to_hex(*v.root)) == v.evidence_fingerprint;
    if (fresh && same_evidence) {
      if (metrics_) {
        metrics_->observe_cache("verdict", true);
      }
      out.verdict = *hit;
      out.cache_hit = true;
      return out;
    }
  }
  if (metrics_) {
    metrics_->observe_cache("verdict", false);
  }
  std::shared_ptr<Job> job;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) {
      out.state = VerifyState::kOverloaded;
      return out;
    }
    auto it = in_flight_.find(key);
    if (it != in_flight_.end()) {
      job = it->second;
      out.joined = true;
    } else {
      // in_flight_ holds the running jobs and the queued ones: refuse only when every worker is
      // taken and max_queued_jobs wait already (0 = no waiting, not "nothing runs").
      if (in_flight_.size() >= workers_.size() + options_.max_queued_jobs) {
        if (metrics_) {
          metrics_->add_job_rejected();
        }
        out.state = VerifyState::kOverloaded;
        return out;
      }
      job = std::make_shared<Job>();
      job->key = key;
      job->ref = ref;
      job->set = std::move(set);
      in_flight_.emplace(key, job);
      queue_.push_back(job);
      work_cv_.notify_one();
    }
  }
  std::unique_lock<std::mutex> lock(job->mu);
  if (!job->cv.wait_until(lock, deadline, [&] { return job->done; })) {
    out.state = VerifyState::kPending;
    out.bytes_done = job->bytes_done.load();
    out.bytes_total = job->bytes_total.load();
    return out;
  }
  if (!job->verdict) {
    out.state = VerifyState::kOverloaded;  // shut down before it ran
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
