// sha256_shani.cpp: SHA-256 compression with the x86 SHA extensions (sha256rnds2, sha256msg1/2),
// for one stream and for several independent streams interleaved on one core.
// Not dispatch: sha256_dispatch.cpp calls these only after CPUID reports SHA, SSSE3 and SSE4.1.
#include "crypto/sha256_kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

namespace modelgate::crypto::detail {
namespace {

// Why interleave: one sha256rnds2 does two rounds but its result feeds the next one, so a single
// stream is bound by the instruction's latency while the SHA unit sits idle between issues.
// Independent streams fill those gaps. Measured with bench/sha256_bench on the development
// machine (AMD Zen 4 VM with SHA-NI and AVX-512, GCC 12 -O2, one thread; GB/s in cache and over
// 64 MiB, ratio to OpenSSL 3.0 EVP SHA-256 at 1.83 GB/s):
//   1 stream 1.83 (1.00x) | 2 interleaved 3.52 (1.92x) | 3: 3.64 (1.99x) | 4: 3.77 (2.06x)
// 4 wins although it spills (16 xmm registers hold ~2.5 streams; the SHA instructions have no
// VEX/EVEX form, so AVX-512's extra registers cannot help). The numbers suggest sha256rnds2
// issues about once per 2 cycles with about 4 cycles of latency: 2 streams nearly fill the unit
// and 4 also hide the per-block work around the rounds. Hence kShaniLanes = 4 (the "shani"
// backend). Other cores differ (a Sapphire Rapids Xeon measured 3-way fastest, issue 18), so each
// interleave is also a backend of its own and the self-benchmark in sha256_dispatch.cpp picks per
// CPU; the narrower kernels also serve the multi-stream driver when fewer streams remain.

// The SHA instructions keep the state as two registers, ABEF and CDGH, with A (resp. C) in the
// most significant dword (Intel SDM, SHA256RNDS2). FIPS order in memory is A..H, low to high.
inline void load_state(const std::uint32_t* state, __m128i& abef, __m128i& cdgh) {
  const __m128i dcba =
      _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(state)), 0x1B);
  const __m128i hgfe =
      _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(state + 4)), 0x1B);
  abef = _mm_unpackhi_epi64(hgfe, dcba);  // dwords low to high: F E B A
  cdgh = _mm_unpacklo_epi64(hgfe, dcba);  // dwords low to high: H G D C
}

inline void store_state(std::uint32_t* state, __m128i abef, __m128i cdgh) {
  const __m128i dcba = _mm_unpackhi_epi64(cdgh, abef);
  const __m128i hgfe = _mm_unpacklo_epi64(cdgh, abef);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(state), _mm_shuffle_epi32(dcba, 0x1B));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(state + 4), _mm_shuffle_epi32(hgfe, 0x1B));
}

// schedule returns W[t..t+3] from the previous 16 words (FIPS 180-4 §6.2.2 step 1):
// W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16]. msg1 adds the s0 terms, the alignr picks
// W[t-7..t-4], msg2 adds the s1 terms (which depend on the words being produced).
inline __m128i schedule(__m128i w16, __m128i w12, __m128i w8, __m128i w4) {
  const __m128i partial = _mm_add_epi32(_mm_sha256msg1_epu32(w16, w12), _mm_alignr_epi8(w4, w8, 4));
  return _mm_sha256msg2_epu32(partial, w4);
}

// compress_interleaved runs N independent streams through the same 64 rounds, instruction group
// by instruction group, so that the N dependency chains overlap. Everything is fully unrolled so
// that the per-lane arrays live in registers (as far as 16 xmm registers allow).
template <int N>
[[gnu::always_inline]] inline void compress_interleaved(std::uint32_t* const* states,
                                                        const std::uint8_t* const* data,
                                                        std::size_t nblocks) {
  // Message words are big-endian (FIPS 180-4 §3.1): reverse the bytes of each dword.
  const __m128i byte_swap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
  __m128i abef[N];
  __m128i cdgh[N];
  const std::uint8_t* in[N];
#pragma GCC unroll 4
  for (int i = 0; i < N; ++i) {
    load_state(states[i], abef[i], cdgh[i]);
    in[i] = data[i];
  }
  for (std::size_t block = 0; block < nblocks; ++block) {
    __m128i abef_in[N];
    __m128i cdgh_in[N];
    __m128i w[N][4];  // rolling window of the last 16 message words, 4 per register
#pragma GCC unroll 4
    for (int i = 0; i < N; ++i) {
      abef_in[i] = abef[i];
      cdgh_in[i] = cdgh[i];
    }
#pragma GCC unroll 16
    for (int g = 0; g < 16; ++g) {
      const __m128i k =
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(kSha256RoundConstants + 4 * g));
#pragma GCC unroll 4
      for (int i = 0; i < N; ++i) {
        if (g < 4) {
          w[i][g] = _mm_shuffle_epi8(
              _mm_loadu_si128(reinterpret_cast<const __m128i*>(in[i] + 16 * g)), byte_swap);
        } else {
          w[i][g & 3] =
              schedule(w[i][g & 3], w[i][(g + 1) & 3], w[i][(g + 2) & 3], w[i][(g + 3) & 3]);
        }
        // Rounds 4g..4g+3: rnds2 consumes W+K for two rounds from the low 64 bits of its third
        // operand and returns the new ABEF; the old ABEF is then the new CDGH.
        const __m128i wk = _mm_add_epi32(w[i][g & 3], k);
        cdgh[i] = _mm_sha256rnds2_epu32(cdgh[i], abef[i], wk);
        abef[i] = _mm_sha256rnds2_epu32(abef[i], cdgh[i], _mm_shuffle_epi32(wk, 0x0E));
      }
    }
#pragma GCC unroll 4
    for (int i = 0; i < N; ++i) {
      abef[i] = _mm_add_epi32(abef[i], abef_in[i]);
      cdgh[i] = _mm_add_epi32(cdgh[i], cdgh_in[i]);
      in[i] += 64;
    }
  }
#pragma GCC unroll 4
  for (int i = 0; i < N; ++i) {
    store_state(states[i], abef[i], cdgh[i]);
  }
}

}  // namespace

void sha256_shani_compress1(std::uint32_t state[8], const std::uint8_t* data, std::size_t nblocks) {
  std::uint32_t* const states[1] = {state};
  const std::uint8_t* const inputs[1] = {data};
  compress_interleaved<1>(states, inputs, nblocks);
}

void sha256_shani_compress_lanes(std::uint32_t* const* states, const std::uint8_t* const* data,
                                 std::size_t nblocks) {
  compress_interleaved<static_cast<int>(kShaniLanes)>(states, data, nblocks);
}

void sha256_shani_compress_x1(std::uint32_t* const* states, const std::uint8_t* const* data,
                              std::size_t nblocks) {
  compress_interleaved<1>(states, data, nblocks);
}

void sha256_shani_compress_x2(std::uint32_t* const* states, const std::uint8_t* const* data,
                              std::size_t nblocks) {
  compress_interleaved<2>(states, data, nblocks);
}

void sha256_shani_compress_x3(std::uint32_t* const* states, const std::uint8_t* const* data,
                              std::size_t nblocks) {
  compress_interleaved<3>(states, data, nblocks);
}

}  // namespace modelgate::crypto::detail

#endif
