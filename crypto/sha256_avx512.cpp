// sha256_avx512.cpp: a 16-lane multi-buffer SHA-256 kernel for AVX-512 (F + BW): sixteen
// independent streams, one per 32-bit lane of a zmm register, the message schedule transposed so
// each vector holds one word of 16 blocks. Written from FIPS 180-4 §4.1.2 and §6.2.2: rotations
// are vprord, and Ch, Maj and the three-term XORs of the Σ/σ functions are one vpternlogd each.
// Not a single-stream kernel (rounds are serial) and not dispatch: only called after CPUID and
// XGETBV report usable AVX-512 F and BW (sha256_dispatch.cpp).
//
// Compiled with -mavx512f -mavx512bw (crypto/CMakeLists.txt, this file only), like the other
// kernels: nothing here is called before dispatch has checked the CPU.
#include "crypto/sha256_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#if defined(__GNUC__) && !defined(__clang__)
// GCC 12's AVX-512 intrinsics build their "undefined" pass-through operand as `__m512i __Y = __Y`,
// which -Wuninitialized reports once inlined here (GCC bug 105593, fixed in GCC 13).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace modelgate::crypto::detail {
namespace {

inline __m512i add(__m512i a, __m512i b) { return _mm512_add_epi32(a, b); }

// xor3 is a ^ b ^ c in one instruction: vpternlogd's immediate is the truth table of the result
// indexed by (a << 2 | b << 1 | c); parity of the three bits is 0x96.
inline __m512i xor3(__m512i a, __m512i b, __m512i c) { return _mm512_ternarylogic_epi32(a, b, c, 0x96); }

// §4.1.2 (4.2): Ch(e, f, g) = (e AND f) XOR (NOT e AND g), i.e. "e ? f : g" per bit: 0xCA.
inline __m512i ch(__m512i e, __m512i f, __m512i g) { return _mm512_ternarylogic_epi32(e, f, g, 0xCA); }

// §4.1.2 (4.3): Maj(a, b, c) = (a AND b) XOR (a AND c) XOR (b AND c), the majority bit: 0xE8.
inline __m512i maj(__m512i a, __m512i b, __m512i c) { return _mm512_ternarylogic_epi32(a, b, c, 0xE8); }

// §4.1.2 (4.4)-(4.7).
inline __m512i big_sigma0(__m512i x) {
  return xor3(_mm512_ror_epi32(x, 2), _mm512_ror_epi32(x, 13), _mm512_ror_epi32(x, 22));
}
inline __m512i big_sigma1(__m512i x) {
  return xor3(_mm512_ror_epi32(x, 6), _mm512_ror_epi32(x, 11), _mm512_ror_epi32(x, 25));
}
inline __m512i small_sigma0(__m512i x) {
  return xor3(_mm512_ror_epi32(x, 7), _mm512_ror_epi32(x, 18), _mm512_srli_epi32(x, 3));
}
inline __m512i small_sigma1(__m512i x) {
  return xor3(_mm512_ror_epi32(x, 17), _mm512_ror_epi32(x, 19), _mm512_srli_epi32(x, 10));
}

// transpose16 turns 16 rows of 16 dwords (row i = 64 bytes of lane i) into 16 columns (column j =
// dword j of every lane, lane i in element i); it is its own inverse.
inline void transpose16(__m512i r[16]) {
  // Within each 128-bit quarter k of every row: pairs of rows interleaved by dword, then groups of
  // four rows by qword, so u[g][j] quarter k = dword 4k+j of rows 4g..4g+3.
  __m512i u[4][4];
#pragma GCC unroll 4
  for (int g = 0; g < 4; ++g) {
    const __m512i t0 = _mm512_unpacklo_epi32(r[4 * g], r[4 * g + 1]);
    const __m512i t1 = _mm512_unpackhi_epi32(r[4 * g], r[4 * g + 1]);
    const __m512i t2 = _mm512_unpacklo_epi32(r[4 * g + 2], r[4 * g + 3]);
    const __m512i t3 = _mm512_unpackhi_epi32(r[4 * g + 2], r[4 * g + 3]);
    u[g][0] = _mm512_unpacklo_epi64(t0, t2);
    u[g][1] = _mm512_unpackhi_epi64(t0, t2);
    u[g][2] = _mm512_unpacklo_epi64(t1, t3);
    u[g][3] = _mm512_unpackhi_epi64(t1, t3);
  }
  // Then a 4x4 transpose of 128-bit quarters for each j: column 4k+j = quarter k of u[0..3][j].
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {
    const __m512i v0 = _mm512_shuffle_i32x4(u[0][j], u[1][j], 0x44);  // u0.q0 u0.q1 u1.q0 u1.q1
    const __m512i v1 = _mm512_shuffle_i32x4(u[0][j], u[1][j], 0xEE);  // u0.q2 u0.q3 u1.q2 u1.q3
    const __m512i v2 = _mm512_shuffle_i32x4(u[2][j], u[3][j], 0x44);
    const __m512i v3 = _mm512_shuffle_i32x4(u[2][j], u[3][j], 0xEE);
    r[j] = _mm512_shuffle_i32x4(v0, v2, 0x88);       // quarter 0 of u0..u3
    r[4 + j] = _mm512_shuffle_i32x4(v0, v2, 0xDD);   // quarter 1
    r[8 + j] = _mm512_shuffle_i32x4(v1, v3, 0x88);   // quarter 2
    r[12 + j] = _mm512_shuffle_i32x4(v1, v3, 0xDD);  // quarter 3
  }
}

// round is FIPS 180-4 §6.2.2 step 3 for one round in all 16 lanes. Callers rotate the variable
// names instead of moving values: the new A is written to h and the new E to d.
inline void round(__m512i a, __m512i b, __m512i c, __m512i& d, __m512i e, __m512i f, __m512i g,
                  __m512i& h, __m512i kw) {
  const __m512i t1 = add(add(h, big_sigma1(e)), add(ch(e, f, g), kw));
  d = add(d, t1);
  h = add(t1, add(big_sigma0(a), maj(a, b, c)));
}

}  // namespace

void sha256_avx512_compress_lanes(std::uint32_t* const* states, const std::uint8_t* const* data,
                                  std::size_t nblocks) {
  constexpr int kLanes = static_cast<int>(kAvx512Lanes);
  // The chaining state goes through memory once per call (not per block): s[j] = variable j of
  // every lane. Calls carry many blocks (the driver passes whole windows), so this is noise.
  alignas(64) std::uint32_t columns[8][kLanes];
  for (int i = 0; i < kLanes; ++i) {
    for (int j = 0; j < 8; ++j) {
      columns[j][i] = states[i][j];
    }
  }
  __m512i s[8];
  for (int j = 0; j < 8; ++j) {
    s[j] = _mm512_load_si512(columns[j]);
  }
  const std::uint8_t* in[kLanes];
  for (int i = 0; i < kLanes; ++i) {
    in[i] = data[i];
  }
  // Message words are big-endian (FIPS 180-4 §3.1): reverse the bytes of each dword.
  const __m512i byte_swap = _mm512_broadcast_i32x4(_mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL));
  for (std::size_t block = 0; block < nblocks; ++block) {
    __m512i w[16];  // W[t] for the last 16 t, indexed t mod 16
#pragma GCC unroll 16
    for (int i = 0; i < kLanes; ++i) {
      w[i] = _mm512_shuffle_epi8(_mm512_loadu_si512(in[i]), byte_swap);
      in[i] += 64;
    }
    transpose16(w);
    __m512i a = s[0];
    __m512i b = s[1];
    __m512i c = s[2];
    __m512i d = s[3];
    __m512i e = s[4];
    __m512i f = s[5];
    __m512i g = s[6];
    __m512i h = s[7];
#pragma GCC unroll 8
    for (int t = 0; t < 64; t += 8) {
      __m512i kw[8];
#pragma GCC unroll 8
      for (int j = 0; j < 8; ++j) {
        const int r = t + j;
        if (r >= 16) {
          // §6.2.2 step 1: W[r] = σ1(W[r-2]) + W[r-7] + σ0(W[r-15]) + W[r-16].
          w[r & 15] = add(add(small_sigma1(w[(r - 2) & 15]), w[(r - 7) & 15]),
                          add(small_sigma0(w[(r - 15) & 15]), w[r & 15]));
        }
        kw[j] = add(w[r & 15], _mm512_set1_epi32(static_cast<int>(kSha256RoundConstants[r])));
      }
      round(a, b, c, d, e, f, g, h, kw[0]);
      round(h, a, b, c, d, e, f, g, kw[1]);
      round(g, h, a, b, c, d, e, f, kw[2]);
      round(f, g, h, a, b, c, d, e, kw[3]);
      round(e, f, g, h, a, b, c, d, kw[4]);
      round(d, e, f, g, h, a, b, c, kw[5]);
      round(c, d, e, f, g, h, a, b, kw[6]);
      round(b, c, d, e, f, g, h, a, kw[7]);
    }
    s[0] = add(s[0], a);
    s[1] = add(s[1], b);
    s[2] = add(s[2], c);
    s[3] = add(s[3], d);
    s[4] = add(s[4], e);
    s[5] = add(s[5], f);
    s[6] = add(s[6], g);
    s[7] = add(s[7], h);
  }
  for (int j = 0; j < 8; ++j) {
    _mm512_store_si512(columns[j], s[j]);
  }
  for (int i = 0; i < kLanes; ++i) {
    for (int j = 0; j < 8; ++j) {
      states[i][j] = columns[j][i];
    }
  }
}

}  // namespace modelgate::crypto::detail

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#endif
