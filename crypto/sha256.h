// sha256.h: SHA-256 (FIPS 180-4) with runtime CPU dispatch between a portable scalar kernel,
// AVX2 8-lane and AVX-512 16-lane multi-buffer kernels and x86 SHA-NI (one stream, or 2-4 streams
// interleaved per core to hide the latency of sha256rnds2), chosen per CPU by a short
// self-benchmark at first use. A streaming API and a multi-stream API.
// Not a general hash library: SHA-256 only; BLAKE2b and friends go through OpenSSL EVP.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace modelgate::crypto {

using Sha256Digest = std::array<std::uint8_t, 32>;

// Sha256Backend is one compression implementation. `lanes` is how many independent streams its
// multi-lane kernel compresses at once (1 = no multi-lane kernel). Backends are immutable,
// static-lifetime objects; pointers to them stay valid for the life of the process.
struct Sha256Backend {
  // stable: "scalar", "avx2", "shani" (4-way), "shani-x1", "shani-x2", "shani-x3", "avx512";
  // used by MODELGATE_SHA256, logs, /metrics and `modelgate digest --json`
  std::string_view name;
  std::size_t lanes;  // interleave width of compress_lanes (scalar 1, shani-xN N, shani 4, avx2 8,
                      // avx512 16): the streams the file driver keeps in flight per worker
  // compress1 runs `nblocks` (may be 0) 64-byte blocks of `data` (any alignment) through
  // `state` (A..H as native integers, FIPS 180-4 §6.2.2). No padding: that is Sha256's job.
  void (*compress1)(std::uint32_t state[8], const std::uint8_t* data, std::size_t nblocks);
  // compress_lanes runs `nblocks` (may be 0) blocks through each of exactly `lanes` states, lane i
  // reading data[i] (any alignment). Lanes are independent: the states must be distinct and
  // overlap no data; several lanes may read the same data.
  void (*compress_lanes)(std::uint32_t* const* states, const std::uint8_t* const* data,
                         std::size_t nblocks);
};

// sha256_available_backends lists every backend this CPU can run, in the fixed order scalar,
// avx2, shani-x1, shani-x2, shani-x3, shani, avx512 (those the CPU lacks left out). Thread-safe.
std::span<const Sha256Backend* const> sha256_available_backends();

// sha256_backend_by_name returns the backend called `name` if this CPU can run it, else nullptr.
const Sha256Backend* sha256_backend_by_name(std::string_view name);

// Sha256Candidate is one backend's speed in the self-benchmark: bytes hashed per second of thread
// CPU time (1e9 B/s) with all of its lanes busy, on data in cache.
struct Sha256Candidate {
  const Sha256Backend* backend;
  double gbps;
};

// Sha256Selection records how the default backend was chosen. At first use a bounded
// self-benchmark (a few ms: short rounds of every available kernel, round-robin, the fastest of
// each kept) measures every candidate. The pick is the fastest, but it replaces `baseline` (the
// fixed choice of earlier versions: shani, else avx2, else scalar) only when it is faster by
// kSha256SwitchMargin, so noise cannot trade a known-good kernel for a slower one. The same
// measurements choose the narrower kernels for fewer streams than lanes (sha256_kernels.h).
inline constexpr double kSha256SwitchMargin = 1.10;
struct Sha256Selection {
  const Sha256Backend* backend = nullptr;   // the default backend
  const Sha256Backend* baseline = nullptr;  // the fixed pre-benchmark choice on this CPU
  std::string_view selected_by;             // "benchmark" or "environment" (MODELGATE_SHA256)
  std::span<const Sha256Candidate> candidates;  // one per available backend, in table order
  double benchmark_ms = 0;                  // wall time the self-benchmark took
  double benchmark_cpu_ms = 0;              // its thread CPU time
};

// sha256_selection returns the once-made choice (running the self-benchmark on first call).
// MODELGATE_SHA256 (any name above), when set and non-empty, overrides the pick; the benchmark
// still runs, since its figures also choose the kernels for fewer streams than lanes. An unknown or
// unavailable name aborts at first use with a message on stderr (a misconfigured benchmark or
// test must not silently measure the wrong thing). Thread-safe; the result lives forever.
const Sha256Selection& sha256_selection();

// sha256_default_backend is sha256_selection().backend. Thread-safe.
const Sha256Backend& sha256_default_backend();

// Sha256 is a streaming hasher (FIPS 180-4 padding, any message split). Not thread-safe; cheap to
// copy (a copy continues the same message independently).
class Sha256 {
 public:
  explicit Sha256(const Sha256Backend& backend = sha256_default_backend());
  void update(std::span<const std::uint8_t> data);
  void update(std::string_view data);
  // final returns the digest of everything updated since construction or the last
  // reset()/final(), and leaves the hasher reset (ready for a new message). Messages of 2^61
  // bytes or more are outside SHA-256's domain (the length wraps).
  Sha256Digest final();
  // reset returns the hasher to the empty message, keeping its backend.
  void reset();

  // Whole-block view for the multi-stream driver: true when no partial block is buffered.
  bool block_aligned() const { return buffered_ == 0; }
  const Sha256Backend& backend() const { return *backend_; }

  // hash is a one-shot convenience.
  static Sha256Digest hash(std::span<const std::uint8_t> data,
                           const Sha256Backend& backend = sha256_default_backend());

 private:
  friend void sha256_update_many(std::span<Sha256* const>,
                                 std::span<const std::span<const std::uint8_t>>);
  const Sha256Backend* backend_;
  std::uint32_t state_[8];
  std::uint64_t total_bytes_ = 0;
  std::array<std::uint8_t, 64> buffer_{};
  std::size_t buffered_ = 0;
};

// sha256_update_many feeds data[i] into *hashers[i] for every i (the spans must have equal
// counts; unequal counts are a caller bug and abort). The results are exactly those of calling
// hashers[i]->update(data[i]) one by one, in order (a hasher listed twice gets both inputs);
// the point is speed: once each hasher's partial block is topped up, the whole blocks of
// `lanes` hashers at a time go through the multi-lane kernel of hashers[0]'s backend (used for
// all), longest first; when fewer streams than lanes remain, they take what the self-benchmark
// measured fastest for that many among the backend's kernels (the full kernel with idle lanes, a
// narrower one, or one at a time). Any number of hashers; allocates O(count). Not thread-safe with
// respect to the hashers; distinct calls on distinct hashers may run concurrently.
void sha256_update_many(std::span<Sha256* const> hashers,
                        std::span<const std::span<const std::uint8_t>> data);

// sha256_many hashes each input independently, `lanes` at a time with the multi-lane kernel
// (via sha256_update_many), and returns the digests in input order. Thread-safe.
std::vector<Sha256Digest> sha256_many(std::span<const std::span<const std::uint8_t>> inputs,
                                      const Sha256Backend& backend = sha256_default_backend());

}  // namespace modelgate::crypto
