#include "admission/webhook.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <thread>

#include "admission/break_glass.h"
#include "admission/cluster_state.h"
#include "admission/decision.h"
#include "admission/explain.h"
#include "admission/model_refs.h"
#include "admission/orchestrator.h"
#include "admission/workload.h"
#include "base/join.h"
#include "base/log.h"
#include "base/log_keys.h"
#include "kube/config.h"
#include "policy/trust_material.h"

namespace modelgate::admission {

namespace fs = std::filesystem;
namespace lk = log_keys;

namespace {

// files_fingerprint: every policy file (directories re-listed, so a new file counts) and every
// trust file, with its stamp. A change anywhere means "reload".
std::string files_fingerprint(const std::vector<fs::path>& policy_paths, const std::vector<fs::path>& trust_files) {
  std::vector<policy::Diagnostic> ignored;
  std::vector<fs::path> all = policy::list_policy_files(policy_paths, ignored);
  all.insert(all.end(), trust_files.begin(), trust_files.end());
  std::string out;
  for (const fs::path& p : all) {
    struct stat st {};
    out += p.string();
    if (::stat(p.c_str(), &st) == 0) {
      out += ':' + std::to_string(st.st_ino) + ':' + std::to_string(st.st_size) + ':' +
             std::to_string(st.st_mtim.tv_sec) + '.' + std::to_string(st.st_mtim.tv_nsec) + ':' +
             std::to_string(st.st_ctim.tv_nsec);
    } else {
      out += ":missing";
    }
    out += '\n';
  }
  return out;
}

std::string first_lines(const std::vector<policy::Diagnostic>& ds, std::size_t max) {
  std::string out;
  std::size_t n = 0;
  for (const policy::Diagnostic& d : ds) {
    if (d.severity != policy::Severity::kError) {
      continue;
    }
    if (n == max) {
      out += "; ...";
      break;
    }
    out += (n == 0 ? "" : "; ") + policy::format_diagnostic(d);
    ++n;
  }
  return out;
}

bool is_pod_template_subresource(const std::string& sub) { return sub.empty() || sub == "ephemeralcontainers"; }

// break_glass_keys: the override annotation of every policy in the set.
std::vector<std::string> break_glass_keys(const policy::TrustedPolicySet& set) {
  std::vector<std::string> keys;
  for (const policy::CompiledPolicy& p : set.policies()) {
    keys.push_back(p.policy->break_glass.annotation.value);
  }
  return keys;
}

// carries_break_glass: some matched policy allows an override and the object names one, so the
// request is judged even with no model volumes (an unauthorised override is refused at apply).
bool carries_break_glass(const std::vector<const policy::CompiledPolicy*>& matched, const Workload& w) {
  for (const policy::CompiledPolicy* p : matched) {
    const policy::BreakGlass& bg = p->policy->break_glass;
    if (!bg.allowed.value) {
      continue;
    }
    if (w.annotations.count(bg.annotation.value) != 0 || (w.pod && w.pod->annotations.count(bg.annotation.value) != 0)) {
      return true;
    }
  }
  return false;
}

}  // namespace

class WebhookImpl {
 public:
  WebhookImpl(const ServerConfig& config, std::shared_ptr<Metrics> metrics)
      : config_(config),
        metrics_(std::move(metrics)),
        log_(stderr, config.log_level),
        orchestrator_(orchestrator_options(config), metrics_) {}

  static OrchestratorOptions orchestrator_options(const ServerConfig& c) {
    OrchestratorOptions o;
    o.evidence_stores = c.evidence_stores;
    o.file_digest_cache_entries = c.file_digest_cache_entries;
    o.verdict_cache_entries = c.verdict_cache_entries;
    o.hash_threads = c.hash_threads;
    o.max_concurrent_jobs = c.max_concurrent_jobs;
    o.max_queued_jobs = c.max_queued_jobs;
    o.now = c.now;
    o.settle_interval = c.settle_interval;
    o.max_trust_age = c.max_trust_age;
    o.revalidate_window = c.revalidate_window;
    o.abandon_grace = c.abandon_grace;
    o.wall_clock_ns = c.wall_clock_ns;
    return o;
  }

  Result<void> load_initial() {
    policy::TrustOutcome t = policy::load_trusted_policies(config_.policies, 1, overrides());
    if (!t.ok()) {
      return policy::diagnostics_error(t.diagnostics);
    }
    std::lock_guard<std::mutex> lock(mu_);
    set_ = t.trusted;
    fingerprint_ = files_fingerprint(config_.policies, set_->files());
    generation_ = 1;
    if (metrics_) {
      metrics_->observe_policy_reload(true, set_->policies().size());
    }
    log_.info("policies_loaded").num(lk::kPolicies, static_cast<std::int64_t>(set_->policies().size()))
        .num(lk::kGeneration, 1);
    return ok_status();
  }

  // start_cluster_state: a frozen state from --cluster-state files (CLI; none given: null, which
  // denies pvc sources with "pass --cluster-state"), live informers when clusterState is enabled,
  // or a disabled state that denies them with "enable clusterState".
  Result<void> start_cluster_state() {
    if (config_.cluster_state_files) {
      if (!config_.cluster_state_files->empty()) {
        MG_ASSIGN_OR_RETURN(cluster_, load_cluster_state(*config_.cluster_state_files));
      }
      return ok_status();
    }
    if (!config_.cluster_state.enabled) {
      cluster_ = std::make_shared<DisabledClusterState>(
          "the webhook runs without cluster state; set clusterState.enabled: true in its config (chart value "
          "clusterState.enabled) so that it may read claims, volumes and namespaces");
      return ok_status();
    }
    const auto& cs = config_.cluster_state;
    Result<kube::ClusterConfig> kc =
        cs.kubeconfig.empty() ? kube::in_cluster_config() : kube::load_kubeconfig(cs.kubeconfig, cs.context);
    if (!kc.ok()) {
      return make_error(kc.error().code, "clusterState: " + kc.error().message);
    }
    MG_ASSIGN_OR_RETURN(std::shared_ptr<kube::Client> client, kube::Client::create(std::move(kc).value()));
    kube::InformerOptions opts;
    opts.watch_timeout_min_seconds = static_cast<std::uint32_t>(cs.watch_timeout.count());
    live_ = std::make_shared<LiveClusterState>(std::move(client), opts, &log_);
    live_->start();
    cluster_ = live_;
    log_.info("cluster_state_started").str(lk::kPath, cs.kubeconfig.empty() ? "in-cluster" : cs.kubeconfig.string());
    if (metrics_) {
      std::weak_ptr<LiveClusterState> weak = live_;
      metrics_->set_kube_collector([weak] {
        std::vector<KubeCacheSample> out;
        auto live = weak.lock();
        if (!live) {
          return out;
        }
        auto sample = [&](const char* resource, const kube::InformerMetrics& m, bool synced) {
          KubeCacheSample k;
          k.resource = resource;
          k.synced = synced;
          k.objects = m.objects.load(std::memory_order_relaxed);
          k.relists = m.relists.load(std::memory_order_relaxed);
          k.watch_restarts = m.watch_restarts.load(std::memory_order_relaxed);
          k.errors = m.errors.load(std::memory_order_relaxed);
          if (auto age = m.last_sync_age()) {
            k.last_sync_age_seconds = static_cast<double>(age->count()) / 1000.0;
          }
          out.push_back(std::move(k));
        };
        sample("persistentvolumeclaims", live->pvc_metrics(), live->pvc_metrics().lists.load() > 0);
        sample("persistentvolumes", live->pv_metrics(), live->pv_metrics().lists.load() > 0);
        sample("namespaces", live->namespace_metrics(), live->namespace_metrics().lists.load() > 0);
        return out;
      });
    }
    return ok_status();
  }

  void start_prewarm() {
    if (!config_.prewarm) {
      return;
    }
    prewarm_ = std::thread([this] {
      for (;;) {
        auto set = current();
        std::vector<fs::path> roots;
        for (const policy::CompiledPolicy& p : set->policies()) {
          for (const policy::Source& s : p.policy->sources) {
            if (std::find(roots.begin(), roots.end(), s.root.value) == roots.end()) {
              roots.emplace_back(s.root.value);
            }
          }
        }
        for (const fs::path& r : roots) {
          std::uint64_t n = orchestrator_.prewarm(r);
          log_.info("prewarm").str(lk::kPath, r.string()).num(lk::kBytes, static_cast<std::int64_t>(n));
        }
        std::unique_lock<std::mutex> lock(stop_mu_);
        if (stop_cv_.wait_for(lock, config_.prewarm_interval, [&] { return stopping_; })) {
          return;
        }
      }
    });
  }

  std::vector<policy::RootOverride> overrides() const {
    std::vector<policy::RootOverride> out;
    for (const auto& [from, to] : config_.root_overrides) {
      out.push_back(policy::RootOverride{from, to});
    }
    return out;
  }

  std::shared_ptr<const policy::TrustedPolicySet> current() const {
    std::lock_guard<std::mutex> lock(mu_);
    return set_;
  }

  void reload_if_changed() {
    std::string fp;
    {
      auto set = current();
      fp = files_fingerprint(config_.policies, set->files());
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (fp == fingerprint_ || fp == failed_fingerprint_) {
        return;
      }
    }
    const std::uint64_t gen = generation_ + 1;
    policy::TrustOutcome t = policy::load_trusted_policies(config_.policies, gen, overrides());
    std::lock_guard<std::mutex> lock(mu_);
    if (!t.ok()) {
      failed_fingerprint_ = fp;
      last_error_ = first_lines(t.diagnostics, 3);
      if (metrics_) {
        metrics_->observe_policy_reload(false, set_->policies().size());
      }
      log_.error("policy_reload_failed").str(lk::kError, last_error_).num(lk::kGeneration, static_cast<std::int64_t>(generation_));
      return;
    }
    set_ = t.trusted;
    generation_ = gen;
    fingerprint_ = files_fingerprint(config_.policies, set_->files());
    failed_fingerprint_.clear();
    last_error_.clear();
    if (metrics_) {
      metrics_->observe_policy_reload(true, set_->policies().size());
    }
    log_.info("policies_loaded").num(lk::kPolicies, static_cast<std::int64_t>(set_->policies().size()))
        .num(lk::kGeneration, static_cast<std::int64_t>(gen));
  }

  Readiness readiness() const {
    std::lock_guard<std::mutex> lock(mu_);
    Readiness r;
    r.ready = set_ != nullptr;
    r.detail = "policies: " + std::to_string(set_ ? set_->policies().size() : 0) + " loaded (generation " +
               std::to_string(generation_) + ")";
    if (cluster_) {
      // A fresh replica never judges blind: not ready until every cache has listed once.
      r.ready = r.ready && (live_ == nullptr || live_->synced());
      r.detail += "\n" + cluster_->status();
    }
    if (!last_error_.empty()) {
      r.detail += "\npolicies: last reload failed, keeping generation " + std::to_string(generation_) + ": " +
                  last_error_;
    }
    return r;
  }

  AdmissionResponse decide(const AdmissionRequest& req, DecisionTrace* trace) {
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + config_.deadline;
    AdmissionResponse resp;
    resp.uid = req.uid;
    resp.allowed = true;
    resp.code = 200;
    std::string decision = "allow";
    DecisionSummary summary;
    std::string skip_reason;

    auto finish = [&](AdmissionResponse r) {
      if (trace != nullptr) {
        trace->namespace_name = req.namespace_name;
        trace->skip_reason = skip_reason;
      }
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (metrics_) {
        metrics_->observe_request(req.kind.kind, operation_name(req.operation), decision, secs);
        for (const std::string& reason : summary.reasons) {
          metrics_->add_verification_failure(reason);
        }
        for (const std::string& p : summary.break_glass) {
          metrics_->add_break_glass(p);
        }
      }
      auto line = log_.info("admission_decision");
      line.str(lk::kUid, req.uid).str(lk::kKind, req.kind.kind).str(lk::kNamespace, req.namespace_name)
          .str(lk::kName, req.name).str(lk::kOperation, operation_name(req.operation)).str(lk::kUser, req.username)
          .str(lk::kDecision, decision).str(lk::kMode, summary.mode).str(lk::kPolicy, summary.policy)
          .str(lk::kRule, summary.rule)
          .str(lk::kModel, summary.model).str(lk::kReason, summary.reason.empty() ? skip_reason : summary.reason)
          .str(lk::kCache, summary.cache).real(lk::kDurationMs, secs * 1000.0)
          .boolean(lk::kDryRun, req.dry_run);
      auto models = r.audit_annotations.find("models");
      if (models != r.audit_annotations.end()) {
        line.str(lk::kRootDigest, models->second);
      }
      if (!summary.paths.empty()) {
        line.str(lk::kPath, join(summary.paths, ","));
      }
      if (!summary.break_glass.empty()) {
        line.str(lk::kBreakGlass, r.audit_annotations["break-glass"]).str(lk::kBreakGlassReason, summary.break_glass_reason);
      }
      return r;
    };

    if (req.operation == Operation::kDelete || req.operation == Operation::kConnect) {
      skip_reason = "operation_not_checked";
      return finish(resp);
    }
    if (!is_pod_carrying_kind(req.kind) || !is_pod_template_subresource(req.sub_resource)) {
      skip_reason = "kind_not_checked";
      return finish(resp);
    }
    auto workload = extract_workload(req.kind, req.object);
    if (!workload.ok()) {
      decision = "deny";
      summary.reason = "request.malformed";
      resp.allowed = false;
      resp.code = 400;
      resp.message = "cannot read the " + sanitize_for_user(req.kind.kind) + ": " + workload.error().message;
      return finish(resp);
    }
    if (!workload->pod) {
      skip_reason = "no_pod_template";
      return finish(resp);
    }
    auto set = current();
    std::optional<Workload> old;
    if (req.operation == Operation::kUpdate && req.old_object && is_pod_template_subresource(req.sub_resource)) {
      auto o = extract_workload(req.kind, *req.old_object);
      if (o.ok() && o->pod) {
        old = std::move(o).value();
        // Skipped only when nothing that decides what runs, or which policies judge it, changed: a
        // label change can bring the object into a policy's scope (match.labels), so it is judged.
        if (model_relevant_equal(*old->pod, *workload->pod) && old->pod->labels == workload->pod->labels &&
            break_glass_annotations_equal(*old, *workload, break_glass_keys(*set))) {
          skip_reason = "update_not_model_relevant";
          return finish(resp);
        }
      }
    }
    ModelRefs refs = find_model_refs(*workload->pod, req.namespace_name, *set, cluster_.get());
    if (trace != nullptr) {
      *trace = DecisionTrace{req.namespace_name, "", set, workload->pod, refs, {}};
    }
    if (refs.refs.empty() && refs.problems.empty() && !carries_break_glass(refs.matched, *workload)) {
      skip_reason = refs.matched.empty() ? "no_matching_policy" : "no_model_volumes";
      return finish(resp);
    }
    std::vector<ModelVerdict> verdicts;
    verdicts.reserve(refs.refs.size());
    for (const ModelRef& ref : refs.refs) {
      // The deadline bounds the whole decision: verify() waits for nothing past it (a walk stops
      // at it, a job goes on in the background and the answer is "retry"), and there are at most
      // limits::kMaxModelRefsPerObject refs. A ref reached after the deadline is still handed to
      // verify(), so that its job starts and the controller's retry finds progress.
      verdicts.push_back(ModelVerdict{&ref, orchestrator_.verify(ref, set, deadline)});
      if (trace != nullptr) {
        trace->outcomes.push_back(verdicts.back().outcome);
      }
    }
    DecisionContext ctx;
    ctx.requester = Requester{req.username, req.groups, req.operation};
    ctx.old = old ? &*old : nullptr;
    ctx.now = config_.now != 0 ? std::chrono::system_clock::time_point(std::chrono::seconds(config_.now))
                               : std::chrono::system_clock::now();
    ctx.matched = refs.matched;
    if (old) {
      // An override is carried from the old object only where the old object was in the policy's
      // scope, i.e. where its override was judged when it was placed.
      for (const policy::CompiledPolicy* p : refs.matched) {
        if (policy_matches(*p->policy, req.namespace_name, old->pod->labels)) {
          ctx.old_matched.push_back(p);
        }
      }
    }
    Decision d = decide_admission(req.uid, *workload, verdicts, refs.problems, ctx);
    decision = d.summary.decision;
    summary = d.summary;
    return finish(std::move(d.response));
  }

  HttpReply validate(std::string_view body) {
    HttpReply reply;
    auto req = decode_admission_review(body);
    if (!req.ok()) {
      reply.status = 400;
      reply.content_type = "text/plain; charset=utf-8";
      reply.body = "cannot decode AdmissionReview: " + req.error().message + "\n";
      log_.warn("bad_request").str(lk::kError, req.error().message).str(lk::kCode, code_name(req.error().code));
      return reply;
    }
    reply.body = encode_admission_review(decide(req.value(), nullptr));
    return reply;
  }

  void shutdown() {
    {
      std::lock_guard<std::mutex> lock(stop_mu_);
      stopping_ = true;
    }
    stop_cv_.notify_all();
    if (live_) {
      if (metrics_) {
        metrics_->set_kube_collector(nullptr);
      }
      live_->stop();
    }
    orchestrator_.shutdown();
    if (prewarm_.joinable()) {
      prewarm_.join();
    }
  }

 private:
  ServerConfig config_;
  std::shared_ptr<Metrics> metrics_;
  log::Logger log_;
  Orchestrator orchestrator_;
  mutable std::mutex mu_;
  std::shared_ptr<const policy::TrustedPolicySet> set_;
  std::uint64_t generation_ = 0;
  std::string fingerprint_;
  std::string failed_fingerprint_;
  std::string last_error_;
  std::shared_ptr<const ClusterState> cluster_;  // set before the first request; never replaced
  std::shared_ptr<LiveClusterState> live_;       // when cluster_ is live
  std::thread prewarm_;
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
};

Webhook::Webhook(std::unique_ptr<WebhookImpl> impl) : impl_(std::move(impl)) {}
Webhook::~Webhook() {
  if (impl_) {
    impl_->shutdown();
  }
}

Result<std::unique_ptr<Webhook>> Webhook::create(const ServerConfig& config, std::shared_ptr<Metrics> metrics) {
  auto impl = std::make_unique<WebhookImpl>(config, std::move(metrics));
  MG_TRY_CTX(impl->load_initial(), "policies");
  MG_TRY_CTX(impl->start_cluster_state(), "cluster state");
  impl->start_prewarm();
  return std::unique_ptr<Webhook>(new Webhook(std::move(impl)));
}

HttpReply Webhook::validate(std::string_view body) {
  try {
    return impl_->validate(body);
  } catch (const std::exception& e) {
    // Fail closed and clearly: a 500 makes the apiserver apply failurePolicy (Fail by default).
    HttpReply r;
    r.status = 500;
    r.content_type = "text/plain; charset=utf-8";
    r.body = std::string("internal error: ") + e.what() + "\n";
    return r;
  }
}
AdmissionResponse Webhook::decide(const AdmissionRequest& request, DecisionTrace* trace) {
  return impl_->decide(request, trace);
}
Readiness Webhook::readiness() const { return impl_->readiness(); }
void Webhook::reload_if_changed() { impl_->reload_if_changed(); }
void Webhook::shutdown() { impl_->shutdown(); }

}  // namespace modelgate::admission
