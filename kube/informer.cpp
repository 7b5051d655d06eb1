#include "kube/informer.h"

#include <poll.h>
#include <pthread.h>

#include <csignal>

#include <random>

#include "base/log_keys.h"

namespace modelgate::kube {

namespace {

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

// Each thread its own generator: jitter needs no cryptographic quality, only independence
// between replicas (seeded from random_device).
std::uint64_t random_below(std::uint64_t n) {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  return n == 0 ? 0 : std::uniform_int_distribution<std::uint64_t>(0, n - 1)(gen);
}

}  // namespace

std::optional<std::chrono::milliseconds> InformerMetrics::last_sync_age() const {
  const std::int64_t t = last_sync_ns.load(std::memory_order_relaxed);
  if (t == 0) {
    return std::nullopt;
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::nanoseconds(now_ns() - t));
}

Reflector::Reflector(std::shared_ptr<Client> client, Resource resource, InformerOptions opts, ReflectorSink* sink,
                     InformerMetrics* metrics, std::atomic<bool>* synced, log::Logger* logger)
    : client_(std::move(client)),
      resource_(std::move(resource)),
      opts_(std::move(opts)),
      sink_(sink),
      metrics_(metrics),
      synced_(synced),
      logger_(logger) {}

Reflector::~Reflector() { stop(); }

void Reflector::start() {
  if (!thread_.joinable() && !cancel_.cancelled()) {
    thread_ = std::thread([this] {
      // A write to a connection the apiserver closed raises SIGPIPE in the writing thread;
      // blocked here, the write fails with EPIPE instead and the loop retries.
      sigset_t pipe;
      sigemptyset(&pipe);
      sigaddset(&pipe, SIGPIPE);
      pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
      run();
    });
  }
}

void Reflector::stop() {
  cancel_.cancel();
  if (thread_.joinable()) {
    thread_.join();
  }
}

bool Reflector::pause(std::chrono::milliseconds d) {
  pollfd fds[1] = {{cancel_.fd(), POLLIN, 0}};
  const Deadline until = Clock::now() + d;
  while (!cancel_.cancelled()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (left <= 0) {
      return true;
    }
    ::poll(fds, 1, static_cast<int>(std::min<long long>(left, 60'000)));
  }
  return false;
}

void Reflector::note_error(std::string_view event, const ApiError& e) {
  metrics_->errors.fetch_add(1, std::memory_order_relaxed);
  if (logger_ != nullptr) {
    // A 403 is an installation error (RBAC) that no retry fixes: say it loudly.
    auto line = e.forbidden() ? logger_->error(event) : logger_->warn(event);
    line.str(log_keys::kResource, resource_.plural)
        .str(log_keys::kCode, code_name(e.code))
        .num(log_keys::kStatus, e.http_status)
        .str(log_keys::kReason, e.reason)
        .str(log_keys::kError, e.message);
  }
}

void Reflector::run() {
  std::string rv;
  bool need_list = true;
  bool first_watch = true;
  std::chrono::milliseconds backoff = opts_.backoff_initial;
  auto back_off = [&]() -> bool {
    // Full jitter in [d/2, d]: replicas that failed together retry apart.
    const auto d = backoff / 2 + std::chrono::milliseconds(random_below(static_cast<std::uint64_t>(backoff.count() / 2) + 1));
    backoff = std::min(backoff * 2, opts_.backoff_max);
    return pause(d);
  };
  while (!cancel_.cancelled()) {
    if (need_list) {
      ListOptions lo;
      lo.limit = opts_.page_size;
      lo.label_selector = opts_.label_selector;
      lo.field_selector = opts_.field_selector;
      sink_->begin_list();
      std::uint64_t skipped = 0;
      auto listed = client_->list(resource_, "", lo, [&](Json&& item) -> ApiStatus {
        if (!sink_->list_item(item)) {
          ++skipped;
        }
        return Done{};
      }, &cancel_);
      if (!listed.ok()) {
        sink_->abandon_list();
        if (cancel_.cancelled()) {
          break;
        }
        note_error("kube_list_failed", listed.error());
        // A retry-after from the server (504 ResourceVersionTooLarge, 429) is a floor.
        const std::chrono::milliseconds floor(listed.error().retry_after);
        if (floor > backoff / 2 && !pause(floor)) {
          break;
        }
        if (!back_off()) {
          break;
        }
        continue;
      }
      sink_->commit_list();
      if (skipped != 0) {
        metrics_->errors.fetch_add(skipped, std::memory_order_relaxed);
        if (logger_ != nullptr) {
          logger_->warn("kube_objects_skipped")
              .str(log_keys::kResource, resource_.plural)
              .num(log_keys::kObjects, static_cast<std::int64_t>(skipped));
        }
      }
      if (metrics_->lists.fetch_add(1, std::memory_order_relaxed) != 0) {
        metrics_->relists.fetch_add(1, std::memory_order_relaxed);
      }
      metrics_->last_sync_ns.store(now_ns(), std::memory_order_relaxed);
      synced_->store(true, std::memory_order_release);
      rv = std::move(listed).value();
      need_list = false;
      backoff = opts_.backoff_initial;
    }
    if (!first_watch) {
      metrics_->watch_restarts.fetch_add(1, std::memory_order_relaxed);
    }
    first_watch = false;
    WatchOptions wo;
    wo.resource_version = rv;
    const std::uint32_t min = std::max<std::uint32_t>(opts_.watch_timeout_min_seconds, 1);
    wo.timeout_seconds = min + static_cast<std::uint32_t>(random_below(min));
    wo.label_selector = opts_.label_selector;
    wo.field_selector = opts_.field_selector;
    const Deadline began = Clock::now();
    auto watched = client_->watch(resource_, "", wo, [&](WatchEvent&& ev) -> ApiStatus {
      if (ev.type != EventType::kBookmark && !sink_->apply(ev.type, ev.object)) {
        metrics_->errors.fetch_add(1, std::memory_order_relaxed);
      }
      rv = ev.resource_version;  // opaque: only ever sent back
      metrics_->events.fetch_add(1, std::memory_order_relaxed);
      metrics_->last_sync_ns.store(now_ns(), std::memory_order_relaxed);
      return Done{};
    }, &cancel_);
    if (watched.ok()) {
      metrics_->last_sync_ns.store(now_ns(), std::memory_order_relaxed);
      if (watched->events == 0 && Clock::now() - began < std::chrono::seconds(1)) {
        // A server (or proxy) that ends every watch at once must not make us spin.
        if (!back_off()) {
          break;
        }
        continue;
      }
      backoff = opts_.backoff_initial;
      continue;  // the server ended it (timeoutSeconds): re-watch from the last RV at once
    }
    if (cancel_.cancelled()) {
      break;
    }
    const ApiError& e = watched.error();
    if (e.expired()) {
      // 410: our RV left the watch cache window. Only a fresh list restores a consistent view.
      if (logger_ != nullptr) {
        logger_->info("kube_watch_expired").str(log_keys::kResource, resource_.plural).str(log_keys::kError, e.message);
      }
      need_list = true;
      continue;
    }
    note_error("kube_watch_failed", e);
    // A stream we could not read (garbage, an object over the cap) may have carried an event we
    // missed: relist rather than resume. A cut or timed-out connection resumes from the last RV.
    if (e.code == Code::kMalformed || e.code == Code::kLimit || e.http_status != 0) {
      need_list = true;
    }
    if (!back_off()) {
      break;
    }
  }
}

}  // namespace modelgate::kube
