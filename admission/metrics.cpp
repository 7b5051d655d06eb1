// metrics.cpp: the webhook's metric families on one prometheus-cpp registry, label values folded
// into fixed vocabularies so that no request can grow the number of series.
#include "admission/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <array>
#include <map>
#include <mutex>

#include "crypto/sha256.h"

namespace modelgate::admission {

namespace {

constexpr std::string_view kOther = "other";

std::string one_of(std::string_view v, std::initializer_list<std::string_view> vocabulary) {
  for (std::string_view w : vocabulary) {
    if (v == w) {
      return std::string(v);
    }
  }
  return std::string(kOther);
}

// token keeps a caller's snake_case token ("signature.digest_mismatch", a policy name) when it
// looks like one, else "other": a reason or name is never an arbitrary string from a request.
std::string token(std::string_view v) {
  constexpr std::size_t kMaxTokenBytes = 64;
  if (v.empty() || v.size() > kMaxTokenBytes) {
    return std::string(kOther);
  }
  for (char c : v) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    if (!ok) {
      return std::string(kOther);
    }
  }
  return std::string(v);
}

std::string kind_label(std::string_view kind) {
  return one_of(kind, {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job",
                       "CronJob"});
}

}  // namespace

class MetricsImpl {
 public:
  MetricsImpl()
      : registry_(std::make_shared<prometheus::Registry>()),
        requests_(prometheus::BuildCounter()
                      .Name("modelgate_admission_requests_total")
                      .Help("AdmissionReview requests answered, by workload kind, operation and decision")
                      .Register(*registry_)),
        duration_(prometheus::BuildHistogram()
                      .Name("modelgate_admission_duration_seconds")
                      .Help("Time to decide one AdmissionReview, by workload kind")
                      .Register(*registry_)),
        http_(prometheus::BuildCounter()
                  .Name("modelgate_http_requests_total")
                  .Help("HTTP answers by route and status code, including rejected requests")
                  .Register(*registry_)),
        hashed_(prometheus::BuildCounter()
                    .Name("modelgate_hashed_bytes_total")
                    .Help("Bytes of model files read and hashed (cache misses only)")
                    .Register(*registry_)
                    .Add({})),
        cache_requests_(prometheus::BuildCounter()
                            .Name("modelgate_cache_requests_total")
                            .Help("Cache lookups by cache (file, verdict) and result (hit, miss)")
                            .Register(*registry_)),
        cache_entries_(prometheus::BuildGauge()
                           .Name("modelgate_cache_entries")
                           .Help("Entries held by each cache")
                           .Register(*registry_)),
        failures_(prometheus::BuildCounter()
                      .Name("modelgate_verification_failures_total")
                      .Help("Failing rules by reason token")
                      .Register(*registry_)),
        jobs_in_flight_(prometheus::BuildGauge()
                            .Name("modelgate_hash_jobs_in_flight")
                            .Help("Hashing jobs running or queued")
                            .Register(*registry_)
                            .Add({})),
        jobs_rejected_(prometheus::BuildCounter()
                           .Name("modelgate_hash_jobs_rejected_total")
                           .Help("Hashing jobs refused because the queue was full")
                           .Register(*registry_)
                           .Add({})),
        jobs_abandoned_(prometheus::BuildCounter()
                            .Name("modelgate_hash_jobs_abandoned_total")
                            .Help("Hashing jobs cancelled because no request waited for them any more")
                            .Register(*registry_)
                            .Add({})),
        model_walks_(prometheus::BuildCounter()
                         .Name("modelgate_model_walks_total")
                         .Help("Walks of a model tree to revalidate a cached verdict")
                         .Register(*registry_)
                         .Add({})),
        policy_reloads_(prometheus::BuildCounter()
                            .Name("modelgate_policy_reloads_total")
                            .Help("Policy and trust reloads by result (success, failure)")
                            .Register(*registry_)),
        policies_loaded_(prometheus::BuildGauge()
                             .Name("modelgate_policies_loaded")
                             .Help("Policies in the active set")
                             .Register(*registry_)
                             .Add({})),
        last_reload_ok_(prometheus::BuildGauge()
                            .Name("modelgate_policy_last_reload_success")
                            .Help("1 when the last policy reload succeeded, 0 when the last good set is kept")
                            .Register(*registry_)
                            .Add({})),
        tls_reloads_(prometheus::BuildCounter()
                         .Name("modelgate_tls_reloads_total")
                         .Help("TLS certificate reloads by result (success, failure)")
                         .Register(*registry_)),
        connections_closed_(prometheus::BuildCounter()
                                .Name("modelgate_connections_closed_total")
                                .Help("Connections the server closed itself, by reason (slow_client, idle_evicted, "
                                      "too_large)")
                                .Register(*registry_)),
        break_glass_(prometheus::BuildCounter()
                         .Name("modelgate_break_glass_total")
                         .Help("Admissions allowed by a break-glass override, by policy")
                         .Register(*registry_)),
        kube_objects_(prometheus::BuildGauge()
                          .Name("modelgate_kube_cache_objects")
                          .Help("Objects in the cluster-state cache, by resource")
                          .Register(*registry_)),
        kube_synced_(prometheus::BuildGauge()
                         .Name("modelgate_kube_cache_synced")
                         .Help("1 once the cluster-state cache of the resource has listed it completely")
                         .Register(*registry_)),
        kube_age_(prometheus::BuildGauge()
                      .Name("modelgate_kube_cache_last_sync_age_seconds")
                      .Help("Seconds since the cache was last known to match the API server (-1: never)")
                      .Register(*registry_)),
        kube_relists_(prometheus::BuildCounter()
                          .Name("modelgate_kube_relists_total")
                          .Help("Lists after the first (410 Expired, recovery), by resource")
                          .Register(*registry_)),
        kube_watch_restarts_(prometheus::BuildCounter()
                                 .Name("modelgate_kube_watch_restarts_total")
                                 .Help("Watches begun after the first, by resource")
                                 .Register(*registry_)),
        kube_errors_(prometheus::BuildCounter()
                         .Name("modelgate_kube_errors_total")
                         .Help("Failed lists and watches and undecodable objects, by resource")
                         .Register(*registry_)) {
    // Series that exist from the start, so dashboards and alerts see 0 rather than nothing.
    for (const char* result : {"success", "failure"}) {
      policy_reloads_.Add({{"result", result}});
      tls_reloads_.Add({{"result", result}});
    }
    for (const char* reason : {"slow_client", "idle_evicted", "too_large"}) {
      connections_closed_.Add({{"reason", reason}});
    }
    for (const char* cache : {"file", "verdict"}) {
      cache_entries_.Add({{"cache", cache}});
      for (const char* result : {"hit", "miss"}) {
        cache_requests_.Add({{"cache", cache}, {"result", result}});
      }
    }
    // The SHA-256 kernel this process hashes with, chosen once (crypto/sha256.h); label values
    // are backend names, a fixed vocabulary.
    const crypto::Sha256Selection& sha = crypto::sha256_selection();
    prometheus::BuildGauge()
        .Name("modelgate_sha256_kernel_info")
        .Help("1 for the SHA-256 kernel in use: kernel name, lanes in flight per worker, selected_by "
              "(benchmark or environment)")
        .Register(*registry_)
        .Add({{"kernel", std::string(sha.backend->name)},
              {"lanes", std::to_string(sha.backend->lanes)},
              {"selected_by", std::string(sha.selected_by)}})
        .Set(1);
  }

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& duration_;
  prometheus::Family<prometheus::Counter>& http_;
  prometheus::Counter& hashed_;
  prometheus::Family<prometheus::Counter>& cache_requests_;
  prometheus::Family<prometheus::Gauge>& cache_entries_;
  prometheus::Family<prometheus::Counter>& failures_;
  prometheus::Gauge& jobs_in_flight_;
  prometheus::Counter& jobs_rejected_;
  prometheus::Counter& jobs_abandoned_;
  prometheus::Counter& model_walks_;
  prometheus::Family<prometheus::Counter>& policy_reloads_;
  prometheus::Gauge& policies_loaded_;
  prometheus::Gauge& last_reload_ok_;
  prometheus::Family<prometheus::Counter>& tls_reloads_;
  prometheus::Family<prometheus::Counter>& connections_closed_;
  prometheus::Family<prometheus::Counter>& break_glass_;
  prometheus::Family<prometheus::Gauge>& kube_objects_;
  prometheus::Family<prometheus::Gauge>& kube_synced_;
  prometheus::Family<prometheus::Gauge>& kube_age_;
  prometheus::Family<prometheus::Counter>& kube_relists_;
  prometheus::Family<prometheus::Counter>& kube_watch_restarts_;
  prometheus::Family<prometheus::Counter>& kube_errors_;
  std::mutex kube_mu_;
  std::function<std::vector<KubeCacheSample>()> kube_collector_;
  // The informers' counters as last exported, so the Prometheus counters advance by the difference.
  std::map<std::string, std::array<std::uint64_t, 3>> kube_seen_;

  void collect_kube() {
    std::lock_guard<std::mutex> lock(kube_mu_);
    if (!kube_collector_) {
      return;
    }
    for (const KubeCacheSample& k : kube_collector_()) {
      const std::map<std::string, std::string> labels{{"resource", k.resource}};
      kube_objects_.Add(labels).Set(static_cast<double>(k.objects));
      kube_synced_.Add(labels).Set(k.synced ? 1 : 0);
      kube_age_.Add(labels).Set(k.last_sync_age_seconds ? *k.last_sync_age_seconds : -1);
      auto& seen = kube_seen_[k.resource];
      const std::array<std::uint64_t, 3> now{k.relists, k.watch_restarts, k.errors};
      prometheus::Family<prometheus::Counter>* fams[3] = {&kube_relists_, &kube_watch_restarts_, &kube_errors_};
      for (std::size_t i = 0; i < 3; ++i) {
        auto& c = fams[i]->Add(labels);
        if (now[i] > seen[i]) {
          c.Increment(static_cast<double>(now[i] - seen[i]));
        }
      }
      seen = now;
    }
  }
};

Metrics::Metrics() : impl_(std::make_unique<MetricsImpl>()) {}
Metrics::~Metrics() = default;

void Metrics::observe_request(std::string_view kind, std::string_view operation, std::string_view decision,
                              double seconds) {
  // 0.5 ms (a cache hit) to 30 s (the apiserver's longest webhook timeout).
  static const prometheus::Histogram::BucketBoundaries kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                                   0.05,   0.1,   0.25,   0.5,   1,    2.5,
                                                                   5,      10,    30};
  const std::string k = kind_label(kind);
  impl_->requests_
      .Add({{"kind", k},
            {"operation", one_of(operation, {"CREATE", "UPDATE", "DELETE", "CONNECT"})},
            {"decision", one_of(decision, {"allow", "deny", "warn", "error"})}})
      .Increment();
  impl_->duration_.Add({{"kind", k}}, kBuckets).Observe(std::max(0.0, seconds));
}

void Metrics::observe_http(std::string_view path, int code) {
  const std::string p = one_of(path, {"/validate", "/healthz", "/readyz", "/metrics"});
  const int c = code >= 100 && code <= 599 ? code : 0;
  impl_->http_.Add({{"path", p}, {"code", std::to_string(c)}}).Increment();
}

void Metrics::add_hashed_bytes(std::uint64_t bytes) { impl_->hashed_.Increment(static_cast<double>(bytes)); }

void Metrics::observe_cache(std::string_view cache, bool hit) {
  impl_->cache_requests_.Add({{"cache", one_of(cache, {"file", "verdict"})}, {"result", hit ? "hit" : "miss"}})
      .Increment();
}

void Metrics::set_cache_entries(std::string_view cache, std::size_t entries) {
  impl_->cache_entries_.Add({{"cache", one_of(cache, {"file", "verdict"})}}).Set(static_cast<double>(entries));
}

void Metrics::add_verification_failure(std::string_view reason) {
  impl_->failures_.Add({{"reason", token(reason)}}).Increment();
}

void Metrics::set_jobs_in_flight(std::int64_t jobs) { impl_->jobs_in_flight_.Set(static_cast<double>(jobs)); }

void Metrics::add_job_rejected() { impl_->jobs_rejected_.Increment(); }

void Metrics::add_job_abandoned() { impl_->jobs_abandoned_.Increment(); }

void Metrics::add_model_walk() { impl_->model_walks_.Increment(); }

void Metrics::observe_policy_reload(bool success, std::size_t policies_loaded) {
  impl_->policy_reloads_.Add({{"result", success ? "success" : "failure"}}).Increment();
  impl_->last_reload_ok_.Set(success ? 1 : 0);
  if (success) {
    impl_->policies_loaded_.Set(static_cast<double>(policies_loaded));
  }
}

void Metrics::observe_tls_reload(bool success) {
  impl_->tls_reloads_.Add({{"result", success ? "success" : "failure"}}).Increment();
}

void Metrics::add_connection_closed(std::string_view reason) {
  impl_->connections_closed_.Add({{"reason", one_of(reason, {"slow_client", "idle_evicted", "too_large"})}}).Increment();
}

void Metrics::add_break_glass(std::string_view policy) {
  impl_->break_glass_.Add({{"policy", token(policy)}}).Increment();
}

void Metrics::set_kube_collector(std::function<std::vector<KubeCacheSample>()> collector) {
  std::lock_guard<std::mutex> lock(impl_->kube_mu_);
  impl_->kube_collector_ = std::move(collector);
}

std::string Metrics::serialize() const {
  impl_->collect_kube();
  const prometheus::TextSerializer serializer;
  return serializer.Serialize(impl_->registry_->Collect());
}

}  // namespace modelgate::admission
