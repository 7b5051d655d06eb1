// verdict_cache.h: the webhook's two bounded LRU caches — file digests keyed by file identity
// (device, inode, size, mtime ns, ctime ns, range, hash type), and verdicts keyed by everything a
// verdict depends on (policy generation and name, model directory, signature bytes, the stamps of
// every file, and the evidence set). Not the orchestration that fills them (orchestrator.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <atomic>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "admission/metrics.h"
#include "crypto/manifest.h"
#include "crypto/sha256.h"
#include "policy/evaluate.h"
#include "policy/facts.h"

namespace modelgate::admission {

// Lru is a mutex-guarded map that keeps at most `capacity` entries, evicting the least recently
// used. Thread-safe.
template <class K, class V, class Hash = std::hash<K>>
class Lru {
 public:
  explicit Lru(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  // get returns a copy of the value and marks it recently used.
  std::optional<V> get(const K& key) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = index_.find(key);
    if (it == index_.end()) {
      return std::nullopt;
    }
    order_.splice(order_.begin(), order_, it->second);
    return it->second->second;
  }

  void put(const K& key, V value) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = index_.find(key);
    if (it != index_.end()) {
      it->second->second = std::move(value);
      order_.splice(order_.begin(), order_, it->second);
      return;
    }
    order_.emplace_front(key, std::move(value));
    index_.emplace(key, order_.begin());
    while (index_.size() > capacity_) {
      index_.erase(order_.back().first);
      order_.pop_back();
    }
  }

  std::size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return index_.size();
  }

 private:
  std::size_t capacity_;
  mutable std::mutex mu_;
  std::list<std::pair<K, V>> order_;
  std::unordered_map<K, typename std::list<std::pair<K, V>>::iterator, Hash> index_;
};

struct DigestKeyHash {
  std::size_t operator()(const crypto::DigestKey& k) const;
};

// FileDigestCache is the crypto::DigestCache the webhook hashes through. Counts hits and misses.
class FileDigestCache final : public crypto::DigestCache {
 public:
  // metrics (may be null) counts every lookup as modelgate_cache_requests_total{cache="file"}.
  FileDigestCache(std::size_t capacity, Metrics* metrics) : lru_(capacity), metrics_(metrics) {}
  std::optional<crypto::FileDigest> lookup(const crypto::DigestKey& key) override;
  void store(const crypto::DigestKey& key, const crypto::FileDigest& digest) override;
  std::size_t size() const { return lru_.size(); }
  std::uint64_t hits() const { return hits_.load(); }
  std::uint64_t misses() const { return misses_.load(); }

 private:
  Lru<crypto::DigestKey, crypto::FileDigest, DigestKeyHash> lru_;
  std::atomic<std::uint64_t> hits_{0};
  std::atomic<std::uint64_t> misses_{0};
  Metrics* metrics_;
};

// Verdict is one model's judgement under one policy, as cached.
struct Verdict {
  std::optional<crypto::Sha256Digest> root;
  policy::PolicyEvaluation evaluation;
  std::string evidence_fingerprint;  // of the root's evidence when the verdict was made
  std::int64_t made_at = 0;          // unix seconds
  bool cacheable = true;             // false when the model could not be read (may be transient)
};

// VerdictCache maps a verdict key (see orchestrator.cpp) to a shared, immutable Verdict.
using VerdictCache = Lru<std::string, std::shared_ptr<const Verdict>>;

}  // namespace modelgate::admission
