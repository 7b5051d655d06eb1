// sha256_dispatch.cpp: which SHA-256 kernels this CPU can run (CPUID, XGETBV), the backend table,
// the bounded self-benchmark at first use, and the choices made from it: the default backend
// (fastest by a margin over the fixed baseline, or MODELGATE_SHA256) and, per backend, the kernel
// for fewer streams than lanes. Not the kernels themselves and not buffering; nothing here changes
// after first use.
#include <time.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include "crypto/sha256.h"
#include "crypto/sha256_kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace modelgate::crypto {
namespace {

constexpr Sha256Backend kScalar{"scalar", 1, &detail::sha256_scalar_compress1,
                                &detail::sha256_scalar_compress_lanes};
#if defined(__x86_64__) || defined(__i386__)
// AVX2 has no single-stream advantage (rounds are serial), so one stream uses the scalar kernel.
constexpr Sha256Backend kAvx2{"avx2", detail::kAvx2Lanes, &detail::sha256_scalar_compress1,
                              &detail::sha256_avx2_compress_lanes};
// The SHA-NI interleaves as backends of their own: which one is fastest depends on the core
// (sha256rnds2's latency and throughput, register pressure), so the self-benchmark picks.
constexpr Sha256Backend kShaniX1{"shani-x1", 1, &detail::sha256_shani_compress1,
                                 &detail::sha256_shani_compress_x1};
constexpr Sha256Backend kShaniX2{"shani-x2", 2, &detail::sha256_shani_compress1,
                                 &detail::sha256_shani_compress_x2};
constexpr Sha256Backend kShaniX3{"shani-x3", 3, &detail::sha256_shani_compress1,
                                 &detail::sha256_shani_compress_x3};
constexpr Sha256Backend kShani{"shani", detail::kShaniLanes, &detail::sha256_shani_compress1,
                               &detail::sha256_shani_compress_lanes};
#endif
#if defined(__x86_64__)
// One stream goes through SHA-NI where the CPU has it (a 16-lane kernel cannot speed up one
// stream), else scalar. Two objects with one name: the table holds the one that fits the CPU.
constexpr Sha256Backend kAvx512Scalar{"avx512", detail::kAvx512Lanes, &detail::sha256_scalar_compress1,
                                      &detail::sha256_avx512_compress_lanes};
constexpr Sha256Backend kAvx512Shani{"avx512", detail::kAvx512Lanes, &detail::sha256_shani_compress1,
                                     &detail::sha256_avx512_compress_lanes};
#endif

constexpr std::string_view kKnownNames = "scalar, avx2, shani, shani-x1, shani-x2, shani-x3 or avx512";
constexpr std::string_view kNames[] = {"scalar", "avx2", "shani", "shani-x1", "shani-x2", "shani-x3", "avx512"};
constexpr std::size_t kMaxBackends = 8;
constexpr std::size_t kMaxLanes = 16;  // the widest kernel (AVX-512)

struct CpuFeatures {
  bool avx2 = false;
  bool shani = false;
  bool avx512 = false;  // F and BW, with the OS saving opmask and zmm state
};

#if defined(__x86_64__) || defined(__i386__)
// xcr0 reads XCR0: which register states the OS saves on a context switch (and so lets programs
// use). Only call when CPUID.1:ECX.OSXSAVE. Spelled as asm so this file needs no -mxsave.
std::uint32_t xcr0() {
  std::uint32_t eax = 0;
  std::uint32_t edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return eax;
}

CpuFeatures detect_features() {
  CpuFeatures features;
  unsigned eax = 0;
  unsigned ebx = 0;
  unsigned ecx = 0;
  unsigned edx = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) {
    return features;
  }
  const bool ssse3 = (ecx & (1u << 9)) != 0;
  const bool sse41 = (ecx & (1u << 19)) != 0;
  const bool osxsave = (ecx & (1u << 27)) != 0;
  const bool avx = (ecx & (1u << 28)) != 0;
  if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) == 0) {
    return features;
  }
  // CPUID.(EAX=7,ECX=0):EBX bit 5 = AVX2, 16 = AVX512F, 29 = SHA, 30 = AVX512BW.
  const bool cpu_avx2 = (ebx & (1u << 5)) != 0;
  const bool cpu_avx512f = (ebx & (1u << 16)) != 0;
  const bool cpu_sha = (ebx & (1u << 29)) != 0;
  const bool cpu_avx512bw = (ebx & (1u << 30)) != 0;
  const std::uint32_t saved = osxsave ? xcr0() : 0;
  // XCR0 bits 1-2: SSE and AVX (ymm) state; bits 5-7: opmask, upper halves of zmm0-15, zmm16-31.
  // Without them the instructions fault even on a CPU that has them.
  const bool os_ymm = (saved & 0x6) == 0x6;
  const bool os_zmm = (saved & 0xE6) == 0xE6;
  features.avx2 = cpu_avx2 && avx && os_ymm;
  features.avx512 = cpu_avx512f && cpu_avx512bw && avx && os_zmm;
  // The SHA-NI kernel also uses pshufb (SSSE3) and SSE4.1; XMM state is always enabled on x86-64.
  features.shani = cpu_sha && ssse3 && sse41;
  return features;
}
#else
CpuFeatures detect_features() { return {}; }
#endif

// BackendList is the immutable, once-built list of runnable backends, in table order.
struct BackendList {
  const Sha256Backend* items[kMaxBackends] = {};
  std::size_t count = 0;
  const Sha256Backend* baseline = &kScalar;  // the fixed choice before the self-benchmark existed
};

BackendList build_available() {
  BackendList list;
  list.items[list.count++] = &kScalar;
#if defined(__x86_64__) || defined(__i386__)
  const CpuFeatures features = detect_features();
  if (features.avx2) {
    list.items[list.count++] = &kAvx2;
    list.baseline = &kAvx2;
  }
  if (features.shani) {
    list.items[list.count++] = &kShaniX1;
    list.items[list.count++] = &kShaniX2;
    list.items[list.count++] = &kShaniX3;
    list.items[list.count++] = &kShani;
    list.baseline = &kShani;
  }
#if defined(__x86_64__)
  if (features.avx512) {
    list.items[list.count++] = features.shani ? &kAvx512Shani : &kAvx512Scalar;
  }
#endif
#endif
  return list;
}

const BackendList& available() {
  static const BackendList list = build_available();  // thread-safe initialisation (C++11 statics)
  return list;
}

// --- the self-benchmark ---------------------------------------------------------------------

// Each round runs every candidate once over kBenchBytes split across its lanes (in L1/L2, so
// the kernels are measured, not memory; large enough that reading the thread CPU clock, a system
// call in some VMs, costs little beside it), round-robin so that a disturbance (another process,
// a frequency change) spreads over all of them; each keeps its fastest round. At least
// kBenchMinRounds, at most kBenchMaxRounds, and no new round after kBenchBudgetSeconds of wall
// time (an instrumented or emulated build stays bounded). About 3 ms on the development VM.
constexpr std::size_t kBenchBytes = 32u << 10;
constexpr int kBenchMinRounds = 4;
constexpr int kBenchMaxRounds = 12;
constexpr double kBenchBudgetSeconds = 0.02;

double clock_seconds(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Benchmark {
  std::array<Sha256Candidate, kMaxBackends> rates{};
  double wall_ms = 0;
  double cpu_ms = 0;
};

Benchmark run_benchmark(const BackendList& list) {
  Benchmark out;
  const double wall0 = clock_seconds(CLOCK_MONOTONIC);
  const double cpu0 = clock_seconds(CLOCK_THREAD_CPUTIME_ID);
  std::vector<std::uint8_t> data(kBenchBytes);
  std::uint32_t x = 0x9e3779b9u;
  for (std::uint8_t& byte : data) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    byte = static_cast<std::uint8_t>(x);
  }
  std::uint32_t states[kMaxLanes][8] = {};
  std::uint32_t* state_ptrs[kMaxLanes];
  for (std::size_t i = 0; i < kMaxLanes; ++i) {
    state_ptrs[i] = states[i];
  }
  // Lane i of a `lanes`-wide kernel reads its own slice of the buffer.
  std::array<std::array<const std::uint8_t*, kMaxLanes>, kMaxBackends> data_ptrs{};
  std::array<std::size_t, kMaxBackends> blocks{};
  for (std::size_t b = 0; b < list.count; ++b) {
    const std::size_t lanes = list.items[b]->lanes;
    blocks[b] = kBenchBytes / 64 / lanes;
    for (std::size_t i = 0; i < lanes; ++i) {
      data_ptrs[b][i] = data.data() + i * blocks[b] * 64;
    }
  }
  std::array<double, kMaxBackends> best{};
  best.fill(1e30);
  for (int round = 0; round < kBenchMaxRounds; ++round) {
    for (std::size_t b = 0; b < list.count; ++b) {
      const Sha256Backend& backend = *list.items[b];
      const double t0 = clock_seconds(CLOCK_THREAD_CPUTIME_ID);
      backend.compress_lanes(state_ptrs, data_ptrs[b].data(), blocks[b]);
      const double t = clock_seconds(CLOCK_THREAD_CPUTIME_ID) - t0;
      if (round > 0) {  // round 0 warms caches, branch predictors and wide execution units
        best[b] = std::min(best[b], t);
      }
    }
    if (round + 1 >= kBenchMinRounds && clock_seconds(CLOCK_MONOTONIC) - wall0 > kBenchBudgetSeconds) {
      break;
    }
  }
  for (std::size_t b = 0; b < list.count; ++b) {
    const double bytes = static_cast<double>(list.items[b]->lanes * blocks[b] * 64);
    // A clock too coarse to see one round (never seen on Linux) would give 0 s: treat the kernel
    // as very fast rather than divide by zero; the margin rule below still needs a clear winner.
    out.rates[b] = {list.items[b], bytes / std::max(best[b], 1e-9) / 1e9};
  }
  // Keep the states observable so the rounds cannot be optimised away.
  volatile std::uint32_t sink = states[0][0];
  (void)sink;
  out.wall_ms = (clock_seconds(CLOCK_MONOTONIC) - wall0) * 1e3;
  out.cpu_ms = (clock_seconds(CLOCK_THREAD_CPUTIME_ID) - cpu0) * 1e3;
  return out;
}

// --- choices made from the measurements -------------------------------------------------------

struct Choices {
  BackendList list;
  std::array<Sha256Candidate, kMaxBackends> candidates{};
  // partial[b][k]: how backend b runs k streams (2 <= k < lanes).
  std::array<std::array<detail::PartialKernel, kMaxLanes + 1>, kMaxBackends> partial{};
  Sha256Selection selection;
};

double rate_of_kernel(const Choices& c, detail::LanesKernel kernel) {
  for (std::size_t b = 0; b < c.list.count; ++b) {
    if (c.list.items[b]->compress_lanes == kernel) {
      return c.candidates[b].gbps;
    }
  }
  return 0;
}

// family lists the kernels `backend` may use for fewer streams than lanes: its own (idle lanes
// padded), and for the SHA-NI backends the narrower interleaves; the avx512 backend also takes the
// AVX2 and SHA-NI kernels where the CPU has them (its single stream is SHA-NI there too). A
// forced avx2 or scalar backend never runs SHA-NI.
std::vector<detail::PartialKernel> family(const Choices& c, const Sha256Backend& backend) {
  std::vector<detail::PartialKernel> out;
  auto add_if_available = [&](detail::LanesKernel kernel, std::size_t width) {
    if (rate_of_kernel(c, kernel) > 0 && width <= backend.lanes) {
      out.push_back({kernel, width});
    }
  };
  add_if_available(backend.compress_lanes, backend.lanes);
#if defined(__x86_64__) || defined(__i386__)
  const bool shani_family = backend.compress1 == &detail::sha256_shani_compress1;
  if (shani_family) {
    add_if_available(&detail::sha256_shani_compress_x2, 2);
    add_if_available(&detail::sha256_shani_compress_x3, 3);
    add_if_available(&detail::sha256_shani_compress_lanes, detail::kShaniLanes);
  }
#if defined(__x86_64__)
  if (backend.compress_lanes == &detail::sha256_avx512_compress_lanes) {
    add_if_available(&detail::sha256_avx2_compress_lanes, detail::kAvx2Lanes);
  }
#endif
#endif
  return out;
}

// plan_partials fills c.partial[b] by dynamic programming over the measured speeds: the cost of k
// equal streams is the cheapest of one at a time (k x compress1), one call of a kernel at least k
// wide (idle lanes padded), or a narrower kernel on some of them plus the best plan for the rest.
void plan_partials(Choices& c, std::size_t b) {
  const Sha256Backend& backend = *c.list.items[b];
  if (backend.lanes <= 2) {
    return;
  }
  double one_rate = 0;
  for (std::size_t i = 0; i < c.list.count; ++i) {
    if (c.list.items[i]->lanes == 1 && c.list.items[i]->compress1 == backend.compress1) {
      one_rate = c.candidates[i].gbps;
    }
  }
  if (one_rate <= 0) {
    return;
  }
  const std::vector<detail::PartialKernel> kernels = family(c, backend);
  // cost[k]: time per block-step of k streams, in units of 1 / GB/s.
  std::array<double, kMaxLanes + 1> cost{};
  for (std::size_t k = 1; k < backend.lanes && k <= kMaxLanes; ++k) {
    cost[k] = static_cast<double>(k) / one_rate;
    detail::PartialKernel pick{};
    for (const detail::PartialKernel& kernel : kernels) {
      const double rate = rate_of_kernel(c, kernel.kernel);
      const double call = static_cast<double>(kernel.width) / rate;
      const double total = kernel.width >= k ? call : call + cost[k - kernel.width];
      if (k >= 2 && total < cost[k]) {
        cost[k] = total;
        pick = kernel;
      }
    }
    c.partial[b][k] = pick;
  }
}

[[noreturn]] void bad_override(std::string_view name) {
  const bool known = std::find(std::begin(kNames), std::end(kNames), name) != std::end(kNames);
  // Quote at most 64 bytes and replace control and non-ASCII bytes (STYLE.md §5).
  char shown[65] = {};
  for (std::size_t i = 0; i < name.size() && i < 64; ++i) {
    const unsigned char ch = static_cast<unsigned char>(name[i]);
    shown[i] = (ch >= 0x20 && ch < 0x7f && ch != '"') ? static_cast<char>(ch) : '?';
  }
  if (known) {
    std::fprintf(stderr, "modelgate: MODELGATE_SHA256=\"%s\" is not supported by this CPU\n", shown);
  } else {
    std::fprintf(stderr, "modelgate: MODELGATE_SHA256=\"%s\" is unknown (expected %.*s)\n", shown,
                 static_cast<int>(kKnownNames.size()), kKnownNames.data());
  }
  std::abort();
}

Choices make_choices() {
  Choices c;
  c.list = available();
  // The override is read (and a bad one fatal) before any measuring: a misconfigured run stops
  // at once.
  const char* forced = std::getenv("MODELGATE_SHA256");
  const Sha256Backend* forced_backend = nullptr;
  // Set but empty counts as unset: that is how templated environments say "no override".
  if (forced != nullptr && *forced != '\0') {
    forced_backend = sha256_backend_by_name(forced);
    if (forced_backend == nullptr) {
      bad_override(forced);
    }
  }
  const Benchmark bench = run_benchmark(c.list);
  c.candidates = bench.rates;
  for (std::size_t b = 0; b < c.list.count; ++b) {
    plan_partials(c, b);
  }
  Sha256Selection& s = c.selection;
  s.baseline = c.list.baseline;
  s.candidates = std::span<const Sha256Candidate>(c.candidates.data(), c.list.count);
  s.benchmark_ms = bench.wall_ms;
  s.benchmark_cpu_ms = bench.cpu_ms;
  if (forced_backend != nullptr) {
    s.backend = forced_backend;
    s.selected_by = "environment";
    return c;
  }
  s.selected_by = "benchmark";
  s.backend = detail::sha256_pick(s.candidates, s.baseline);
  return c;
}

const Choices& choices() {
  static const Choices c = make_choices();  // thread-safe initialisation (C++11 statics)
  return c;
}

}  // namespace

std::span<const Sha256Backend* const> sha256_available_backends() {
  const BackendList& list = available();
  return {list.items, list.count};
}

const Sha256Backend* sha256_backend_by_name(std::string_view name) {
  for (const Sha256Backend* backend : sha256_available_backends()) {
    if (backend->name == name) {
      return backend;
    }
  }
  return nullptr;
}

const Sha256Selection& sha256_selection() { return choices().selection; }

const Sha256Backend& sha256_default_backend() { return *choices().selection.backend; }

namespace detail {

const Sha256Backend* sha256_pick(std::span<const Sha256Candidate> candidates,
                                 const Sha256Backend* baseline) {
  double baseline_rate = 0;
  const Sha256Candidate* fastest = nullptr;
  for (const Sha256Candidate& cand : candidates) {
    if (cand.backend == baseline) {
      baseline_rate = cand.gbps;
    }
    if (fastest == nullptr || cand.gbps > fastest->gbps) {
      fastest = &cand;
    }
  }
  if (fastest == nullptr || !(baseline_rate > 0) || !(fastest->gbps >= kSha256SwitchMargin * baseline_rate)) {
    return baseline;
  }
  return fastest->backend;
}

PartialKernel sha256_partial_kernel(const Sha256Backend& backend, std::size_t streams) {
  if (streams < 2 || streams >= backend.lanes || streams > kMaxLanes) {
    return {};
  }
  const Choices& c = choices();
  for (std::size_t b = 0; b < c.list.count; ++b) {
    if (c.list.items[b] == &backend) {
      return c.partial[b][streams];
    }
  }
  return {};
}

}  // namespace detail

}  // namespace modelgate::crypto
