// sha256_kernels.h: the SHA-256 compression kernels behind sha256.h, one set per instruction set,
// and the FIPS 180-4 constants they share. Internal to crypto/ (and its tests and benchmarks).
// Not a public API: no dispatch, no buffering or padding here; callers pass whole 64-byte blocks.
#pragma once

#include "crypto/sha256.h"

#include <cstddef>
#include <cstdint>

namespace modelgate::crypto::detail {

// kSha256RoundConstants is K[0..63] of FIPS 180-4 §4.2.2.
extern const std::uint32_t kSha256RoundConstants[64];

// Every compress* function below runs `nblocks` (may be 0) consecutive 64-byte blocks through
// the chaining state (A..H as native integers, FIPS 180-4 §6.2.2). Data may have any alignment.
// The *_lanes functions take exactly their stated number of independent (state, data) pairs;
// states must be distinct and overlap no data; several lanes may read the same data. Thread-safe
// on distinct states.

void sha256_scalar_compress1(std::uint32_t state[8], const std::uint8_t* data, std::size_t nblocks);
// sha256_scalar_compress_lanes is the 1-lane form of compress1, for the backend table.
void sha256_scalar_compress_lanes(std::uint32_t* const* states, const std::uint8_t* const* data,
                                  std::size_t nblocks);

// SHA-NI kernels; only callable when the CPU has SHA, SSSE3 and SSE4.1. compress_lanes is the
// 4-way interleave (the "shani" backend, today's default on SHA-NI CPUs); _x1, _x2 and _x3 are the
// narrower interleaves: backends of their own ("shani-x1".."shani-x3", for CPUs where they beat
// 4-way) and the multi-stream driver's choice when fewer streams remain.
inline constexpr std::size_t kShaniLanes = 4;
void sha256_shani_compress1(std::uint32_t state[8], const std::uint8_t* data, std::size_t nblocks);
void sha256_shani_compress_lanes(std::uint32_t* const* states, const std::uint8_t* const* data,
                                 std::size_t nblocks);
void sha256_shani_compress_x1(std::uint32_t* const* states, const std::uint8_t* const* data,
                              std::size_t nblocks);
void sha256_shani_compress_x2(std::uint32_t* const* states, const std::uint8_t* const* data,
                              std::size_t nblocks);
void sha256_shani_compress_x3(std::uint32_t* const* states, const std::uint8_t* const* data,
                              std::size_t nblocks);

// AVX2 kernel: 8 streams, one per 32-bit lane; only callable when the CPU and OS support AVX2.
inline constexpr std::size_t kAvx2Lanes = 8;
void sha256_avx2_compress_lanes(std::uint32_t* const* states, const std::uint8_t* const* data,
                                std::size_t nblocks);

// AVX-512 kernel: 16 streams, one per 32-bit lane of a zmm register; only callable when the CPU
// and OS support AVX-512 F and BW (XCR0 opmask and zmm state).
inline constexpr std::size_t kAvx512Lanes = 16;
void sha256_avx512_compress_lanes(std::uint32_t* const* states, const std::uint8_t* const* data,
                                  std::size_t nblocks);

using LanesKernel = void (*)(std::uint32_t* const* states, const std::uint8_t* const* data,
                             std::size_t nblocks);

// PartialKernel is how to run `streams` streams (2 <= streams < backend.lanes): `kernel` takes
// exactly `width` lanes. width >= streams: the caller pads the extra lanes with scratch states and
// any readable data; width < streams: the caller runs `width` of the streams now and asks again
// for the rest. kernel == nullptr: none is faster than one stream at a time (compress1).
struct PartialKernel {
  LanesKernel kernel = nullptr;
  std::size_t width = 0;
};

// sha256_partial_kernel picks the PartialKernel for `backend` (one of the table's) and `streams`:
// the fastest way to advance that many equal streams by the kernel speeds the self-benchmark
// measured (sha256_dispatch.cpp), among the kernels of the backend's own family. Thread-safe.
PartialKernel sha256_partial_kernel(const Sha256Backend& backend, std::size_t streams);

// sha256_pick is the self-benchmark's rule: the fastest candidate if it beats `baseline`'s
// measured speed by kSha256SwitchMargin, else `baseline` (also when the baseline has no
// measurement). Pure; thread-safe.
const Sha256Backend* sha256_pick(std::span<const Sha256Candidate> candidates,
                                 const Sha256Backend* baseline);

}  // namespace modelgate::crypto::detail
