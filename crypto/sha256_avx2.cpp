// sha256_avx2.cpp: an 8-lane multi-buffer SHA-256 kernel for AVX2: eight independent streams, one
// per 32-bit lane, with the message schedule transposed so each vector holds one word of 8 blocks.
// Not a single-stream kernel (SHA-256 rounds are serial; the avx2 backend uses scalar for one
// stream) and not dispatch: only called after CPUID and XGETBV report usable AVX2.
#include "crypto/sha256_kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

namespace modelgate::crypto::detail {
namespace {

template <int N>
inline __m256i rotr(__m256i x) {
  return _mm256_or_si256(_mm256_srli_epi32(x, N), _mm256_slli_epi32(x, 32 - N));
}

inline __m256i add(__m256i a, __m256i b) { return _mm256_add_epi32(a, b); }

// transpose8 turns 8 rows of 8 dwords (row i = 32 bytes of lane i) into 8 columns (column j = dword
// j of every lane); it is its own inverse.
inline void transpose8(__m256i r[8]) {
  const __m256i t0 = _mm256_unpacklo_epi32(r[0], r[1]);
  const __m256i t1 = _mm256_unpackhi_epi32(r[0], r[1]);
  const __m256i t2 = _mm256_unpacklo_epi32(r[2], r[3]);
  const __m256i t3 = _mm256_unpackhi_epi32(r[2], r[3]);
  const __m256i t4 = _mm256_unpacklo_epi32(r[4], r[5]);
  const __m256i t5 = _mm256_unpackhi_epi32(r[4], r[5]);
  const __m256i t6 = _mm256_unpacklo_epi32(r[6], r[7]);
  const __m256i t7 = _mm256_unpackhi_epi32(r[6], r[7]);
  // u0 = dword 0 of rows 0-3 | dword 4 of rows 0-3, u1 = dwords 1|5, u2 = 2|6, u3 = 3|7; u4-u7
  // the same for rows 4-7.
  const __m256i u0 = _mm256_unpacklo_epi64(t0, t2);
  const __m256i u1 = _mm256_unpackhi_epi64(t0, t2);
  const __m256i u2 = _mm256_unpacklo_epi64(t1, t3);
  const __m256i u3 = _mm256_unpackhi_epi64(t1, t3);
  const __m256i u4 = _mm256_unpacklo_epi64(t4, t6);
  const __m256i u5 = _mm256_unpackhi_epi64(t4, t6);
  const __m256i u6 = _mm256_unpacklo_epi64(t5, t7);
  const __m256i u7 = _mm256_unpackhi_epi64(t5, t7);
  r[0] = _mm256_permute2x128_si256(u0, u4, 0x20);
  r[1] = _mm256_permute2x128_si256(u1, u5, 0x20);
  r[2] = _mm256_permute2x128_si256(u2, u6, 0x20);
  r[3] = _mm256_permute2x128_si256(u3, u7, 0x20);
  r[4] = _mm256_permute2x128_si256(u0, u4, 0x31);
  r[5] = _mm256_permute2x128_si256(u1, u5, 0x31);
  r[6] = _mm256_permute2x128_si256(u2, u6, 0x31);
  r[7] = _mm256_permute2x128_si256(u3, u7, 0x31);
}

// load_words fills w[0..7] with big-endian dwords [offset/4, offset/4 + 8) of each lane's block.
inline void load_words(__m256i w[8], const std::uint8_t* const in[8], std::size_t offset) {
  // Message words are big-endian (FIPS 180-4 §3.1): reverse the bytes of each dword.
  const __m256i byte_swap = _mm256_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL,
                                              0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
  for (int i = 0; i < 8; ++i) {
    w[i] = _mm256_shuffle_epi8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(in[i] + offset)),
                               byte_swap);
  }
  transpose8(w);
}

// round is FIPS 180-4 §6.2.2 step 3 for one round in all 8 lanes. Callers rotate the variable
// names instead of moving values: the new A is written to h and the new E to d.
inline void round(__m256i a, __m256i b, __m256i c, __m256i& d, __m256i e, __m256i f, __m256i g,
                  __m256i& h, __m256i kw) {
  const __m256i big_sigma1 =
      _mm256_xor_si256(_mm256_xor_si256(rotr<6>(e), rotr<11>(e)), rotr<25>(e));
  const __m256i ch = _mm256_xor_si256(_mm256_and_si256(e, f), _mm256_andnot_si256(e, g));
  const __m256i t1 = add(add(h, big_sigma1), add(ch, kw));
  const __m256i big_sigma0 =
      _mm256_xor_si256(_mm256_xor_si256(rotr<2>(a), rotr<13>(a)), rotr<22>(a));
  // Maj(a,b,c) = b ^ ((a ^ b) & (b ^ c)).
  const __m256i maj =
      _mm256_xor_si256(b, _mm256_and_si256(_mm256_xor_si256(a, b), _mm256_xor_si256(b, c)));
  d = add(d, t1);
  h = add(t1, add(big_sigma0, maj));
}

inline __m256i small_sigma0(__m256i x) {
  return _mm256_xor_si256(_mm256_xor_si256(rotr<7>(x), rotr<18>(x)), _mm256_srli_epi32(x, 3));
}
inline __m256i small_sigma1(__m256i x) {
  return _mm256_xor_si256(_mm256_xor_si256(rotr<17>(x), rotr<19>(x)), _mm256_srli_epi32(x, 10));
}

}  // namespace

void sha256_avx2_compress_lanes(std::uint32_t* const* states, const std::uint8_t* const* data,
                                std::size_t nblocks) {
  // Row i of the state matrix is lane i's A..H; transposed, s[j] is variable j of every lane.
  __m256i s[8];
  for (int i = 0; i < 8; ++i) {
    s[i] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(states[i]));
  }
  transpose8(s);
  const std::uint8_t* in[8];
  for (int i = 0; i < 8; ++i) {
    in[i] = data[i];
  }
  for (std::size_t block = 0; block < nblocks; ++block) {
    __m256i w[16];  // W[t] for the last 16 t, indexed t mod 16
    load_words(w, in, 0);
    load_words(w + 8, in, 32);
    __m256i a = s[0];
    __m256i b = s[1];
    __m256i c = s[2];
    __m256i d = s[3];
    __m256i e = s[4];
    __m256i f = s[5];
    __m256i g = s[6];
    __m256i h = s[7];
#pragma GCC unroll 8
    for (int t = 0; t < 64; t += 8) {
      __m256i kw[8];
#pragma GCC unroll 8
      for (int j = 0; j < 8; ++j) {
        const int r = t + j;
        if (r >= 16) {
          // §6.2.2 step 1: W[r] = s1(W[r-2]) + W[r-7] + s0(W[r-15]) + W[r-16].
          w[r & 15] = add(add(small_sigma1(w[(r - 2) & 15]), w[(r - 7) & 15]),
                          add(small_sigma0(w[(r - 15) & 15]), w[r & 15]));
        }
        kw[j] = add(w[r & 15], _mm256_set1_epi32(static_cast<int>(kSha256RoundConstants[r])));
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
    for (int i = 0; i < 8; ++i) {
      in[i] += 64;
    }
  }
  transpose8(s);
  for (int i = 0; i < 8; ++i) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(states[i]), s[i]);
  }
}

}  // namespace modelgate::crypto::detail

#endif
