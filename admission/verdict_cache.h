// verdict_cache.h: the webhook's two bounded LRU caches — file digests keyed by file identity
// (device, inode, size, mtime ns, ctime ns, range, hash type), stored only for files left alone
// for a settle interval and trusted for a bounded age, and verdicts keyed by everything a
// verdict depends on (policy generation and name, model directory, signature bytes, the stamps of
// every file, and the evidence set). Not the orchestration that fills them (orchestrator.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <atomic>
#include <functional>
#include <span>
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

// FileDigestCacheOptions: how long a file must have been left alone before its digest may be
// cached, and how long a cached digest is trusted.
struct FileDigestCacheOptions {
  std::size_t capacity = 200'000;
  // settle_ns: a digest is stored only when every byte was read at least this long after the
  // file's last mtime/ctime change. A page written through a shared mapping stays writable without
  // moving mtime until the kernel writes it back (vm.dirty_expire_centisecs, 30 s by default); once
  // clean, the next write faults and moves mtime (ext4, xfs, btrfs: filesystems with writeback).
  std::int64_t settle_ns = 60'000'000'000;
  // max_trust_age_ns: a stored digest older than this is not served (hashed again instead). On
  // filesystems without writeback (tmpfs) mtime never moves for a mapped page, so this is the bound.
  std::int64_t max_trust_age_ns = 600'000'000'000;
  // clock_ns: unix ns; empty = CLOCK_REALTIME (file times come from the same clock).
  std::function<std::int64_t()> clock_ns;
};

// FileDigestCache is the crypto::DigestCache the webhook hashes through. Counts hits and misses.
class FileDigestCache final : public crypto::DigestCache {
 public:
  // Entry is a stored digest and when its bytes were read (from; unix ns).
  struct Entry {
    crypto::FileDigest digest;
    std::int64_t hashed_at_ns = 0;
  };
  // metrics (may be null) counts every lookup as modelgate_cache_requests_total{cache="file"}.
  FileDigestCache(FileDigestCacheOptions opts, Metrics* metrics);
  std::optional<crypto::FileDigest> lookup(const crypto::DigestKey& key) override;
  // lookup_entry is lookup() with the time the bytes were read. Counted like lookup.
  std::optional<Entry> lookup_entry(const crypto::DigestKey& key);
  std::int64_t now_ns() override;
  // store keeps the digest only when the file had settled before `read_from_ns` (see
  // FileDigestCacheOptions::settle_ns); it always remembers the range's size for known_size.
  void store(const crypto::DigestKey& key, const crypto::FileDigest& digest, std::int64_t read_from_ns) override;
  std::optional<std::uint64_t> known_size(std::span<const std::uint8_t> digest, crypto::HashType type) override;
  // settled is true when `stamp` had not changed for settle_ns at `at_ns`.
  bool settled(const crypto::FileStamp& stamp, std::int64_t at_ns) const;
  std::int64_t max_trust_age_ns() const { return opts_.max_trust_age_ns; }
  std::size_t size() const { return lru_.size(); }
  std::uint64_t hits() const { return hits_.load(); }
  std::uint64_t misses() const { return misses_.load(); }
  // unsettled counts digests not stored because their file was too young.
  std::uint64_t unsettled() const { return unsettled_.load(); }

 private:
  FileDigestCacheOptions opts_;
  Lru<crypto::DigestKey, Entry, DigestKeyHash> lru_;
  Lru<std::string, std::uint64_t> sizes_;  // hash type + digest -> bytes of the range
  std::atomic<std::uint64_t> hits_{0};
  std::atomic<std::uint64_t> misses_{0};
  std::atomic<std::uint64_t> unsettled_{0};
  Metrics* metrics_;
};

// wall_clock_ns reads CLOCK_REALTIME in unix ns (the clock file times are written with).
std::int64_t wall_clock_ns();

// Verdict is one model's judgement under one policy, as cached.
struct Verdict {
  std::optional<crypto::Sha256Digest> root;
  policy::PolicyEvaluation evaluation;
  std::string evidence_fingerprint;  // of the root's evidence when the verdict was made
  std::int64_t made_at = 0;          // unix seconds
  // trusted_until_ns: the oldest file digest it rests on plus the trust age (unix ns); the verdict
  // is not served from cache past it.
  std::int64_t trusted_until_ns = INT64_MAX;
  bool cacheable = true;             // false when the model could not be read (may be transient)
};

// VerdictCache maps a verdict key (see orchestrator.cpp) to a shared, immutable Verdict.
using VerdictCache = Lru<std::string, std::shared_ptr<const Verdict>>;

}  // namespace modelgate::admission
