// config.h: the webhook's one YAML config file (kind ServerConfig): listen address, TLS files,
// policy and evidence locations, cache sizes, deadlines, prewarm, reload and log level, typed with
// file:line:col diagnostics like policies. Not policies (policy/) and not the server itself.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/log.h"
#include "policy/diagnostic.h"

namespace modelgate::admission {

inline constexpr std::string_view kServerConfigKind = "ServerConfig";

// ServerConfig: every field has a default, so an empty document is a valid config for a demo
// (TLS files are then required by `serve`, not by the parser). Paths are resolved against the
// directory of the config file when relative.
struct ServerConfig {
  // listen: the TLS port the apiserver calls (POST /validate, GET /healthz, /readyz, /metrics).
  std::string address = "0.0.0.0";
  std::uint16_t port = 8443;  // 0 = any free port (tests); the chosen port is logged
  // metricsPort: a second, plain-HTTP listener for /metrics, /healthz, /readyz (0 = disabled).
  std::uint16_t metrics_port = 0;
  std::filesystem::path tls_cert_file;  // PEM chain, leaf first
  std::filesystem::path tls_key_file;   // PEM private key
  // policies: files and directories (policy::load_policy_set semantics).
  std::vector<std::filesystem::path> policies;
  // evidence: content-addressed attestation stores, <store>/sha256/<hex>/*.json.
  std::vector<std::filesystem::path> evidence_stores;
  // caches (entries, LRU).
  std::size_t file_digest_cache_entries = 200'000;
  std::size_t verdict_cache_entries = 10'000;
  // settle_interval: a file whose mtime or ctime is younger than this when it is read is never
  // served from a cache (a shared-mapping writer can change bytes without moving them until the
  // kernel writes the dirty page back). Keep it above vm.dirty_expire_centisecs + writeback.
  std::chrono::seconds settle_interval{60};
  // max_trust_age: a cached file digest older than this is not served; models in use are re-hashed
  // in the background (bypassing every cache) before their digests reach it.
  std::chrono::seconds max_trust_age{600};
  // revalidate_window: after a model's tree was walked and found unchanged, requests for it within
  // this window are answered from the verdict without walking it again (one walk per burst).
  std::chrono::milliseconds revalidate_window{2000};
  // deadline: how long one admission may spend verifying before it answers "still verifying".
  // Keep it below the webhook's timeoutSeconds (the chart sets timeoutSeconds = deadline + 2s).
  std::chrono::milliseconds deadline{8000};
  // hashing: threads per job (0 = all cores) and concurrent hashing jobs (the rest queue, bounded).
  std::size_t hash_threads = 0;
  std::size_t max_concurrent_jobs = 2;
  std::size_t max_queued_jobs = 64;
  // abandon_grace: a job that no request waits for any more is cancelled this long after the last
  // waiting request's deadline (prewarm and background re-verification are not).
  std::chrono::milliseconds abandon_grace{30'000};
  // prewarm: walk and hash every source root at start and then every interval (0 = off).
  bool prewarm = false;
  std::chrono::seconds prewarm_interval{600};
  // reload: how often policy, trust and TLS files are checked for changes.
  std::chrono::milliseconds reload_interval{2000};
  // server: bounds and worker pool.
  std::size_t max_body_bytes = 8u << 20;      // ≤ limits::kMaxAdmissionReviewBytes
  std::size_t max_header_count = 64;
  std::chrono::seconds read_timeout{10};
  std::chrono::seconds write_timeout{10};
  std::chrono::seconds idle_timeout{60};      // keep-alive
  std::size_t worker_threads = 16;
  std::chrono::seconds drain_timeout{20};     // graceful shutdown on SIGTERM
  log::Level log_level = log::Level::kInfo;
  // clusterState: read PersistentVolumeClaims, PersistentVolumes and Namespaces from the API
  // (get/list/watch only) to prove which volume a claim is bound to and to evaluate
  // namespaceSelector. Off: pods that mount a pvc source, and policies with a namespaceSelector,
  // are denied with a message saying to turn it on.
  struct ClusterStateConfig {
    bool enabled = false;
    // kubeconfig: empty = in-cluster (service account token, KUBERNETES_SERVICE_HOST); otherwise
    // a kubeconfig file (its current context, or `context`).
    std::filesystem::path kubeconfig;
    std::string context;
    // watchTimeout: the shortest timeoutSeconds a watch asks for (each draws from [t, 2t)).
    std::chrono::seconds watch_timeout{300};
  } cluster_state;
  // cluster_state_files: `clusterState.files` (with enabled false), or what `review` and `policy
  // test` set (possibly empty) from --cluster-state: judge with a frozen cluster state (kubectl
  // get pvc,pv,ns -A -o yaml), never the live API. Set = frozen. For demos, tests and offline
  // review; a frozen state never learns of a claim recreated on another volume.
  std::optional<std::vector<std::filesystem::path>> cluster_state_files;
  // root_overrides: not read from YAML; `modelgate review --root FROM=TO` sets it to read a
  // source's storage from a local directory.
  std::vector<std::pair<std::string, std::filesystem::path>> root_overrides;
  // now: not read from YAML; `policy test` fixes the clock (unix seconds) so fixtures do not age.
  std::int64_t now = 0;
  // wall_clock_ns: not read from YAML; tests replace the clock (unix ns) the caches use to judge
  // the settle interval and trust ages. Empty = CLOCK_REALTIME.
  std::function<std::int64_t()> wall_clock_ns;
};

// ConfigOutcome: the config, or has_errors(diagnostics).
struct ConfigOutcome {
  ServerConfig config;
  std::vector<policy::Diagnostic> diagnostics;
  bool ok() const { return !policy::has_errors(diagnostics); }
};

// parse_server_config parses one ServerConfig document (`filename` for positions and to resolve
// relative paths). Unknown fields (did-you-mean hint), wrong types, out-of-range values are
// diagnostics. Never throws. Thread-safe.
ConfigOutcome parse_server_config(std::string_view text, std::string_view filename);

// load_server_config reads `path` (bounded) and parses it; unreadable = one kIo diagnostic.
ConfigOutcome load_server_config(const std::filesystem::path& path);

}  // namespace modelgate::admission
