#include "admission/verdict_cache.h"

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

std::optional<crypto::FileDigest> FileDigestCache::lookup(const crypto::DigestKey& key) {
  auto v = lru_.get(key);
  (v ? hits_ : misses_).fetch_add(1, std::memory_order_relaxed);
  if (metrics_ != nullptr) {
    metrics_->observe_cache("file", v.has_value());
  }
  return v;
}

void FileDigestCache::store(const crypto::DigestKey& key, const crypto::FileDigest& digest) { lru_.put(key, digest); }

}  // namespace modelgate::admission
