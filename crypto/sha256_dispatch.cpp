// sha256_dispatch.cpp: which SHA-256 kernels this CPU can run (CPUID, XGETBV), the backend table,
// and the once-made default choice (fastest, or MODELGATE_SHA256 when set).
// Not the kernels themselves and not buffering; nothing here changes after first use.
#include <cstdio>
#include <cstdlib>
#include <string_view>

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
constexpr Sha256Backend kShani{"shani", detail::kShaniLanes, &detail::sha256_shani_compress1,
                               &detail::sha256_shani_compress_lanes};
#endif

struct CpuFeatures {
  bool avx2 = false;
  bool shani = false;
};

#if defined(__x86_64__) || defined(__i386__)
// os_saves_ymm reports whether the OS has enabled SSE and AVX state in XCR0 (bits 1 and 2), without
// which AVX instructions fault even on a CPU that has them. Only call when CPUID.1:ECX.OSXSAVE.
bool os_saves_ymm() {
  std::uint32_t eax = 0;
  std::uint32_t edx = 0;
  // xgetbv with ECX=0 reads XCR0; spelled as asm so this file needs no -mxsave.
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (eax & 0x6) == 0x6;
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
  // CPUID.(EAX=7,ECX=0):EBX bit 5 = AVX2, bit 29 = SHA.
  const bool cpu_avx2 = (ebx & (1u << 5)) != 0;
  const bool cpu_sha = (ebx & (1u << 29)) != 0;
  features.avx2 = cpu_avx2 && avx && osxsave && os_saves_ymm();
  // The SHA-NI kernel also uses pshufb (SSSE3) and SSE4.1; XMM state is always enabled on x86-64.
  features.shani = cpu_sha && ssse3 && sse41;
  return features;
}
#else
CpuFeatures detect_features() { return {}; }
#endif

// BackendList is the immutable, once-built list of runnable backends, slowest first.
struct BackendList {
  const Sha256Backend* items[3] = {};
  std::size_t count = 0;
};

BackendList build_available() {
  BackendList list;
  list.items[list.count++] = &kScalar;
#if defined(__x86_64__) || defined(__i386__)
  const CpuFeatures features = detect_features();
  if (features.avx2) {
    list.items[list.count++] = &kAvx2;
  }
  if (features.shani) {
    list.items[list.count++] = &kShani;
  }
#endif
  return list;
}

const BackendList& available() {
  static const BackendList list = build_available();  // thread-safe initialisation (C++11 statics)
  return list;
}

const Sha256Backend& choose_default() {
  const char* forced = std::getenv("MODELGATE_SHA256");
  // Set but empty counts as unset: that is how templated environments say "no override".
  if (forced == nullptr || *forced == '\0') {
    const BackendList& list = available();
    return *list.items[list.count - 1];
  }
  if (const Sha256Backend* backend = sha256_backend_by_name(forced); backend != nullptr) {
    return *backend;
  }
  // A silently substituted kernel would make a benchmark or a per-backend test measure the wrong
  // thing, so a bad override is fatal rather than ignored.
  const std::string_view name(forced);
  const std::string_view why = (name == "scalar" || name == "avx2" || name == "shani")
                                   ? "is not supported by this CPU"
                                   : "is unknown (expected scalar, avx2 or shani)";
  // Quote at most 64 bytes and replace control and non-ASCII bytes (STYLE.md §5).
  char shown[65] = {};
  for (std::size_t i = 0; i < name.size() && i < 64; ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    shown[i] = (c >= 0x20 && c < 0x7f && c != '"') ? static_cast<char>(c) : '?';
  }
  std::fprintf(stderr, "modelgate: MODELGATE_SHA256=\"%s\" %.*s\n", shown,
               static_cast<int>(why.size()), why.data());
  std::abort();
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

namespace detail {

PartialKernel sha256_partial_kernel(const Sha256Backend& backend, std::size_t streams) {
  if (streams < 2 || streams >= backend.lanes) {
    return {};
  }
#if defined(__x86_64__) || defined(__i386__)
  if (&backend == &kShani) {
    // Narrower interleaves still overlap sha256rnds2 latency (x2 ~1.9x, x3 ~2.0x one stream).
    return streams == 2 ? PartialKernel{&sha256_shani_compress_x2, 2}
                        : PartialKernel{&sha256_shani_compress_x3, 3};
  }
  if (&backend == &kAvx2) {
    // The 8-lane kernel costs about what 5 scalar blocks do (bench/sha256_bench: ~0.9x vs
    // ~0.18x OpenSSL), so with 2 or more real lanes it beats scalar even with the rest idle.
    return {&sha256_avx2_compress_lanes, kAvx2Lanes};
  }
#endif
  return {};
}

}  // namespace detail

const Sha256Backend& sha256_default_backend() {
  static const Sha256Backend& chosen = choose_default();
  return chosen;
}

}  // namespace modelgate::crypto
