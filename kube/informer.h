// informer.h: a list-then-watch cache of one resource kept in memory as small typed objects
// (objects.h). A Reflector lists every page, swaps the result in whole, watches from the list's
// resourceVersion with bookmarks, re-watches when the server ends a watch (timeoutSeconds,
// jittered), relists on 410 Expired (in-stream ERROR or HTTP), and backs off with jitter on other
// failures. The cache says when it has synced (the first complete list), and counts objects,
// relists, watch restarts and errors for whoever exports metrics. Not a work queue, no resync
// handlers, no indexes beyond the key: modelgate reads it, it never acts on it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>

#include "base/log.h"
#include "kube/client.h"

namespace modelgate::kube {

// InformerMetrics are plain counters (no Prometheus here); the admission layer exports them.
// Every field is safe to read from any thread at any time.
struct InformerMetrics {
  std::atomic<std::uint64_t> objects{0};         // in the cache now
  std::atomic<std::uint64_t> lists{0};           // complete lists (the first sync included)
  std::atomic<std::uint64_t> relists{0};         // lists after the first (410 Expired, recovery)
  std::atomic<std::uint64_t> watch_restarts{0};  // watches begun after the first
  std::atomic<std::uint64_t> events{0};          // watch events applied (bookmarks included)
  std::atomic<std::uint64_t> errors{0};          // failed lists and watches, undecodable objects
  // last_sync_ns: steady-clock time (ns since its epoch) of the last list, event or clean watch
  // end: the moment the cache was last known to match the server. 0 before the first sync.
  std::atomic<std::int64_t> last_sync_ns{0};

  // last_sync_age returns the time since last_sync_ns (nullopt before the first sync).
  std::optional<std::chrono::milliseconds> last_sync_age() const;
};

struct InformerOptions {
  std::uint32_t page_size = 500;
  // Each watch asks for timeoutSeconds drawn uniformly from [min, 2*min) so replicas do not
  // restart their watches in step (client-go uses 5-10 minutes too).
  std::uint32_t watch_timeout_min_seconds = 300;
  // Backoff after a failure: initial, doubling to max, each wait drawn from [d/2, d] (jitter).
  std::chrono::milliseconds backoff_initial{500};
  std::chrono::milliseconds backoff_max{30'000};
  std::string label_selector;
  std::string field_selector;
};

// ReflectorSink receives what a Reflector reads. Calls come from the Reflector's one thread.
class ReflectorSink {
 public:
  virtual ~ReflectorSink() = default;
  // begin_list starts a new generation; list_item adds to it (an undecodable object returns
  // false and is left out: it is unknown to readers, which therefore deny); commit_list swaps it
  // in whole; abandon_list drops it (the old generation stays).
  virtual void begin_list() = 0;
  virtual bool list_item(const Json& obj) = 0;
  virtual void commit_list() = 0;
  virtual void abandon_list() = 0;
  // apply applies one ADDED/MODIFIED/DELETED event (bookmarks never reach it). False: the object
  // did not decode (an ADDED/MODIFIED one is then removed, so no stale state survives).
  virtual bool apply(EventType type, const Json& obj) = 0;
};

// Reflector runs the list/watch loop for one resource on its own thread. Thread-safe: start and
// stop from any thread; stop() returns once the thread has ended (within one poll of the
// connection).
class Reflector {
 public:
  Reflector(std::shared_ptr<Client> client, Resource resource, InformerOptions opts, ReflectorSink* sink,
            InformerMetrics* metrics, std::atomic<bool>* synced, log::Logger* logger);
  ~Reflector();
  Reflector(const Reflector&) = delete;
  Reflector& operator=(const Reflector&) = delete;
  void start();
  void stop();

 private:
  void run();
  void note_error(std::string_view event, const ApiError& e);
  // pause waits for `d` or until stopped; false when stopped.
  bool pause(std::chrono::milliseconds d);
  std::shared_ptr<Client> client_;
  Resource resource_;
  InformerOptions opts_;
  ReflectorSink* sink_;
  InformerMetrics* metrics_;
  std::atomic<bool>* synced_;
  log::Logger* logger_;
  Canceller cancel_;
  std::thread thread_;
};

// Informer<T> is the cache of one resource of objects T (PvcInfo, PvInfo, NamespaceInfo: any type
// with `static Result<T> from_json(const Json&)` and `std::string key() const`). Reads are
// thread-safe and never block on the network; the cache is bounded by
// limits::kMaxKubeCacheObjects (further objects are left out and counted as errors).
template <class T>
class Informer final : private ReflectorSink {
 public:
  Informer(std::shared_ptr<Client> client, Resource resource, InformerOptions opts = {}, log::Logger* logger = nullptr)
      : reflector_(std::move(client), std::move(resource), std::move(opts), this, &metrics_, &synced_, logger) {}
  ~Informer() override { reflector_.stop(); }

  void start() { reflector_.start(); }
  void stop() { reflector_.stop(); }

  // synced is true once a complete list has been swapped in (and stays true across relists: the
  // previous generation serves reads meanwhile).
  bool synced() const { return synced_.load(std::memory_order_acquire); }
  // get returns a copy of the object at `key`, or nullopt.
  std::optional<T> get(const std::string& key) const {
    std::shared_lock lock(mu_);
    auto it = items_.find(key);
    return it == items_.end() ? std::nullopt : std::optional<T>(it->second);
  }
  std::size_t size() const {
    std::shared_lock lock(mu_);
    return items_.size();
  }
  // for_each calls f(const T&) for every object under the read lock (f must not call back in).
  template <class F>
  void for_each(F&& f) const {
    std::shared_lock lock(mu_);
    for (const auto& [k, v] : items_) {
      f(v);
    }
  }
  const InformerMetrics& metrics() const { return metrics_; }

 private:
  void begin_list() override { next_.clear(); }
  bool list_item(const Json& obj) override {
    auto t = T::from_json(obj);
    if (!t.ok() || next_.size() >= limits::kMaxKubeCacheObjects) {
      return false;
    }
    std::string k = t->key();
    next_.insert_or_assign(std::move(k), std::move(t).value());
    return true;
  }
  void commit_list() override {
    std::unique_lock lock(mu_);
    items_.swap(next_);
    next_.clear();
    metrics_.objects.store(items_.size(), std::memory_order_relaxed);
  }
  void abandon_list() override { next_.clear(); }
  bool apply(EventType type, const Json& obj) override {
    auto t = T::from_json(obj);
    if (!t.ok()) {
      // Do not keep a state the server no longer has: drop what we hold under that key, if the
      // key itself can be read.
      erase_undecodable(obj);
      return false;
    }
    std::string k = t->key();
    std::unique_lock lock(mu_);
    if (type == EventType::kDeleted) {
      items_.erase(k);
    } else if (items_.size() < limits::kMaxKubeCacheObjects || items_.count(k) != 0) {
      items_.insert_or_assign(std::move(k), std::move(t).value());
    } else {
      return false;
    }
    metrics_.objects.store(items_.size(), std::memory_order_relaxed);
    return true;
  }
  void erase_undecodable(const Json& obj) {
    const Json* md = obj.is_object() ? crypto::find_field(obj, "metadata") : nullptr;
    if (md == nullptr || !md->is_object()) {
      return;
    }
    const Json* name = crypto::find_field(*md, "name");
    const Json* ns = crypto::find_field(*md, "namespace");
    if (name == nullptr || !name->is_string()) {
      return;
    }
    std::string key = name->get<std::string>();
    if (ns != nullptr && ns->is_string()) {
      key = ns->get<std::string>() + "/" + key;
    }
    std::unique_lock lock(mu_);
    items_.erase(key);
    metrics_.objects.store(items_.size(), std::memory_order_relaxed);
  }

  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, T> items_;
  std::unordered_map<std::string, T> next_;  // the generation being listed (Reflector thread only)
  InformerMetrics metrics_;
  std::atomic<bool> synced_{false};
  Reflector reflector_;  // last: its thread must stop before the members above go
};

}  // namespace modelgate::kube
