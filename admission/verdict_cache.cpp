#include "admission/verdict_cache.h"

#include <time.h>

#include <algorithm>

namespace modelgate::admission {

namespace {

inline void mix(std::size_t& h, std::uint64_t v) {
  // 64-bit mix (splitmix64 finaliser) folded into the running hash.
  v += 0x9e3779b97f4a7c15ULL;
  v = (v ^ (v >> 30)) * 0xbf58476d1ce4e5b9ULL;
  v = (v ^ (v >> 27)) * 0x94d049bb133111ebULL;
  v ^= v >> 31;
  h ^= static_cast<std::size_t>(v) + 0x9e3779b9 + (h << 6) + (h >> 2);
}

}  // namespace

std::size_t DigestKeyHash::operator()(const crypto::DigestKey& k) const {
  std::size_t h = 0;
  mix(h, k.stamp.dev);
  mix(h, k.stamp.ino);
  mix(h, k.stamp.size);
  mix(h, static_cast<std::uint64_t>(k.stamp.mtime_ns));
  mix(h, static_cast<std::uint64_t>(k.stamp.ctime_ns));
  mix(h, k.start);
  mix(h, k.end);
  mix(h, static_cast<std::uint64_t>(k.type));
  return h;
}

std::int64_t wall_clock_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

FileDigestCache::FileDigestCache(FileDigestCacheOptions opts, Metrics* metrics)
    : opts_(std::move(opts)), lru_(opts_.capacity), sizes_(opts_.capacity), metrics_(metrics) {}

std::int64_t FileDigestCache::now_ns() { return opts_.clock_ns ? opts_.clock_ns() : wall_clock_ns(); }

bool FileDigestCache::settled(const crypto::FileStamp& stamp, std::int64_t at_ns) const {
  const std::int64_t changed = std::max(stamp.mtime_ns, stamp.ctime_ns);
  return at_ns - changed >= opts_.settle_ns;
}

std::optional<FileDigestCache::Entry> FileDigestCache::lookup_entry(const crypto::DigestKey& key) {
  auto v = lru_.get(key);
  if (v && now_ns() - v->hashed_at_ns > opts_.max_trust_age_ns) {
    v.reset();  // too old to trust: hashed again (and replaced) by the caller
  }
  (v ? hits_ : misses_).fetch_add(1, std::memory_order_relaxed);
  if (metrics_ != nullptr) {
    metrics_->observe_cache("file", v.has_value());
  }
  return v;
}

std::optional<crypto::FileDigest> FileDigestCache::lookup(const crypto::DigestKey& key) {
  auto e = lookup_entry(key);
  if (!e) {
    return std::nullopt;
  }
  return std::move(e->digest);
}

void FileDigestCache::store(const crypto::DigestKey& key, const crypto::FileDigest& digest, std::int64_t read_from_ns) {
  std::string size_key(1, static_cast<char>(key.type));
  size_key.append(digest.begin(), digest.end());
  sizes_.put(size_key, key.end - key.start);
  if (!settled(key.stamp, read_from_ns)) {
    // Written too recently: a still-dirty shared mapping may change these bytes without a new stamp.
    unsettled_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  lru_.put(key, Entry{digest, read_from_ns});
}

std::optional<std::uint64_t> FileDigestCache::known_size(std::span<const std::uint8_t> digest, crypto::HashType type) {
  std::string size_key(1, static_cast<char>(type));
  size_key.append(digest.begin(), digest.end());
  return sizes_.get(size_key);
}

}  // namespace modelgate::admission
