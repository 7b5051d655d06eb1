// metrics.h: the webhook's Prometheus metrics (prometheus-cpp registry, text exposition at
// GET /metrics). Every metric name and label is a stable interface (docs/operations.md lists them).
// Not logging, and not HTTP: the server calls serialize() to answer a scrape.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace modelgate::admission {

class MetricsImpl;

// KubeCacheSample is one informer's counters (kube/informer.h) at scrape time.
struct KubeCacheSample {
  std::string resource;  // "persistentvolumeclaims", "persistentvolumes", "namespaces"
  bool synced = false;
  std::uint64_t objects = 0;
  std::uint64_t relists = 0;
  std::uint64_t watch_restarts = 0;
  std::uint64_t errors = 0;
  std::optional<double> last_sync_age_seconds;  // nullopt before the first sync
};

// Metrics is thread-safe; one instance per process, shared by the server and the orchestrator.
// Label values are bounded by the callers (kinds, operations, decisions and reason tokens are
// fixed vocabularies; unknown kinds are reported as "other").
class Metrics {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // modelgate_admission_requests_total{kind,operation,decision} (decision: allow|deny|warn|error)
  // and modelgate_admission_duration_seconds{kind} (histogram, buckets 0.5 ms .. 30 s).
  void observe_request(std::string_view kind, std::string_view operation, std::string_view decision,
                       double seconds);
  // modelgate_http_requests_total{path,code}: every HTTP answer, including 400/404/413.
  void observe_http(std::string_view path, int code);
  // modelgate_hashed_bytes_total: bytes read and hashed (cache misses only).
  void add_hashed_bytes(std::uint64_t bytes);
  // modelgate_cache_requests_total{cache,result} (cache: file|verdict, result: hit|miss) and
  // modelgate_cache_entries{cache} (gauge).
  void observe_cache(std::string_view cache, bool hit);
  void set_cache_entries(std::string_view cache, std::size_t entries);
  // modelgate_verification_failures_total{reason}: one per failing rule reason token
  // (e.g. "signature.digest_mismatch").
  void add_verification_failure(std::string_view reason);
  // modelgate_hash_jobs_in_flight (gauge) and modelgate_hash_jobs_rejected_total (queue full).
  void set_jobs_in_flight(std::int64_t jobs);
  void add_job_rejected();
  // modelgate_hash_jobs_abandoned_total: jobs cancelled because no request waited for them any
  // more (deadline + hashing.abandonGrace passed).
  void add_job_abandoned();
  // modelgate_model_walks_total: walks of a model's tree (names and stamps) to decide whether a
  // cached verdict still holds; at most one per model per cache.revalidateWindow.
  void add_model_walk();
  // modelgate_policy_reloads_total{result} (result: success|failure), modelgate_policies_loaded
  // (gauge), modelgate_policy_last_reload_success (gauge 0/1).
  void observe_policy_reload(bool success, std::size_t policies_loaded);
  // modelgate_tls_reloads_total{result}: certificate rotation.
  void observe_tls_reload(bool success);
  // modelgate_connections_closed_total{reason}: connections the server cut itself (reason:
  // slow_client — handshake or request not received within readTimeout, or stalled past the
  // slow-client grace while every worker was taken; idle_evicted — an idle keep-alive connection
  // closed to free a worker; too_large — more bytes than the request budget).
  void add_connection_closed(std::string_view reason);
  // modelgate_break_glass_total{policy}: admissions allowed by a break-glass override.
  void add_break_glass(std::string_view policy);

  // modelgate_sha256_kernel_info{kernel,lanes,selected_by} = 1: the SHA-256 kernel chosen at
  // first use (set by the constructor, which runs the self-benchmark if nothing has yet).

  // set_kube_collector installs the function read at every scrape for the cluster-state caches
  // (nullptr removes it; the webhook removes it before it goes): modelgate_kube_cache_objects
  // {resource}, modelgate_kube_cache_synced{resource} (0/1), modelgate_kube_cache_last_sync_age_seconds
  // {resource} (-1 before the first sync), modelgate_kube_relists_total{resource},
  // modelgate_kube_watch_restarts_total{resource}, modelgate_kube_errors_total{resource}.
  void set_kube_collector(std::function<std::vector<KubeCacheSample>()> collector);

  // serialize returns the Prometheus text exposition (format 0.0.4) of every metric.
  std::string serialize() const;

 private:
  std::unique_ptr<MetricsImpl> impl_;
};

}  // namespace modelgate::admission
