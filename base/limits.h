// limits.h: every bound modelgate enforces on untrusted input, each with the reason for its value.
// Not configuration: operators cannot raise these; they exist so that hostile input fails early.
#pragma once

#include <cstddef>
#include <cstdint>

namespace modelgate::limits {

// --- JSON / documents -------------------------------------------------------------------------
// A model.sig for a 100k-file model is ~15 MB of resources; 64 MiB leaves room and stops abuse.
inline constexpr std::size_t kMaxBundleBytes = 64u << 20;
// Trusted roots are ~10 KB today; 4 MiB allows years of key rotation.
inline constexpr std::size_t kMaxTrustedRootBytes = 4u << 20;
// Protobuf-JSON and in-toto documents nest < 10 deep; 64 stops stack exhaustion.
inline constexpr std::size_t kMaxJsonDepth = 64;
// DSSE payload (the in-toto statement), decoded.
inline constexpr std::size_t kMaxDssePayloadBytes = 48u << 20;
// sigstore-go's limit on tlog entries and on RFC 3161 timestamps per bundle.
inline constexpr std::size_t kMaxTlogEntries = 32;
inline constexpr std::size_t kMaxTimestamps = 32;
// DSSE signatures per envelope: Sigstore needs exactly one; a few more for multi-signer envelopes.
inline constexpr std::size_t kMaxDsseSignatures = 16;
// in-toto subjects per statement and digests per subject (sigstore-go's limits).
inline constexpr std::size_t kMaxStatementSubjects = 1024;
inline constexpr std::size_t kMaxSubjectDigests = 32;
// Signed-note signature lines in one checkpoint (log + witness cosignatures).
inline constexpr std::size_t kMaxCheckpointSignatures = 64;
// SCTs in one certificate's embedded list (Fulcio embeds 1; CT policies ask for 2-3).
inline constexpr std::size_t kMaxScts = 16;
// Entries of each kind (tlogs, ctlogs, CAs, TSAs) in a trusted root.
inline constexpr std::size_t kMaxTrustedRootInstances = 256;
// Certificates in a chain (bundle or PEM anchor file); real chains have 2-4.
inline constexpr std::size_t kMaxChainCertificates = 16;
inline constexpr std::size_t kMaxCertificateBytes = 64u << 10;
// Merkle audit path: a log of 2^64 entries needs 64 hashes.
inline constexpr std::size_t kMaxInclusionProofHashes = 64;
// A checkpoint is a few lines; witnesses add a line each.
inline constexpr std::size_t kMaxCheckpointBytes = 64u << 10;
// A PEM or DER key/cert file given on the command line or in config.
inline constexpr std::size_t kMaxKeyFileBytes = 1u << 20;

// --- model trees ------------------------------------------------------------------------------
// Files in one model (HF checkpoints have < 1k; 1M stops inode-bomb directories).
inline constexpr std::size_t kMaxModelFiles = 1'000'000;
// Directory depth below the model root.
inline constexpr std::size_t kMaxModelDepth = 128;
// One path component (NAME_MAX on Linux) and a whole relative path (PATH_MAX).
inline constexpr std::size_t kMaxNameBytes = 255;
inline constexpr std::size_t kMaxPathBytes = 4096;
// Resources in one signature's manifest (shards of a 1 PB model at 1 GB each is 1M).
inline constexpr std::size_t kMaxResources = 1'000'000;
// Entries in serialization.ignore_paths.
inline constexpr std::size_t kMaxIgnorePaths = 4096;
// Smallest shard size accepted from a signature: smaller shards make a manifest explode.
inline constexpr std::uint64_t kMinShardSize = 1;

// --- hashing ----------------------------------------------------------------------------------
// mmap window per stream: large enough to amortise the syscall, small enough that K streams x
// workers stay well under 1 GiB of address space and RSS stays flat (windows are unmapped).
inline constexpr std::size_t kHashWindowBytes = 8u << 20;
// Hashing worker threads, whatever --threads says.
inline constexpr std::size_t kMaxHashThreads = 256;

}  // namespace modelgate::limits
