// webhook.h: the decision path of one AdmissionReview, as the server and `modelgate review` run
// it: decode → workload → model references → verification (cached, single-flight, bounded by a
// deadline) → policy evaluation → AdmissionResponse; plus the live policy/trust state that reloads
// when its files change. Not HTTP (server.h) and not the CLI.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "admission/config.h"
#include "admission/metrics.h"
#include "admission/review_codec.h"
#include "base/result.h"

namespace modelgate::admission {

// HttpReply is what the HTTP layer sends back for one /validate POST.
struct HttpReply {
  int status = 200;                          // 200 with an AdmissionReview; 400 undecodable body
  std::string content_type = "application/json";
  std::string body;
};

// Readiness: ready once a policy set and its trust material loaded; `detail` is one line per
// component ("policies: 3 loaded (generation 2)", "policies: last reload failed: p.yaml:3:1: ...").
struct Readiness {
  bool ready = false;
  std::string detail;
};

class WebhookImpl;
struct DecisionTrace;

// Webhook is thread-safe: validate() runs concurrently on server workers; reload_if_changed() on
// a timer thread. It owns the hashing pool, the caches and the prewarm thread.
class Webhook {
 public:
  // create loads policies and trust named by `config` (errors: the policy diagnostics folded into
  // an Error; a webhook that cannot load its first policy set does not start) and starts the
  // background workers. `metrics` may be null (review CLI).
  [[nodiscard]] static Result<std::unique_ptr<Webhook>> create(const ServerConfig& config,
                                                               std::shared_ptr<Metrics> metrics);
  ~Webhook();

  // validate answers one AdmissionReview body: 400 + plain-text reason when it cannot be decoded,
  // else 200 + AdmissionReview JSON (denials included). Never throws.
  HttpReply validate(std::string_view body);
  // decide is validate() for an already decoded request (review CLI). When `trace` is not null it
  // also records what the decision saw (explain.h), for `review --explain`.
  AdmissionResponse decide(const AdmissionRequest& request, DecisionTrace* trace = nullptr);
  // readiness reports the loaded state.
  Readiness readiness() const;
  // reload_if_changed re-reads policies and trust material when any file changed; a bad new set
  // keeps the last good one, logs, counts a failed reload and shows in readiness().detail.
  void reload_if_changed();
  // shutdown stops background work (prewarm, queued hashing); in-flight validate calls finish.
  void shutdown();

 private:
  explicit Webhook(std::unique_ptr<WebhookImpl> impl);
  std::unique_ptr<WebhookImpl> impl_;
};

}  // namespace modelgate::admission
