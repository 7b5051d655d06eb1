// tlog.h: transparency-log evidence: RFC 6962 Merkle inclusion proofs, C2SP signed-note checkpoints
// (Rekor v1 ECDSA, Rekor v2 Ed25519, witness cosignature lines ignored), and Rekor v1 signed entry
// timestamps (SET). Not body matching (tlog_body.h) and not log selection policy (bundle_verify.h).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "crypto/bundle.h"
#include "crypto/trusted_root.h"

namespace modelgate::crypto {

// LogGeneration: Rekor v1 (hashedrekord/dsse 0.0.1, intoto 0.0.2) or Rekor v2 (hashedrekord 0.0.2).
enum class LogGeneration { kRekorV1, kRekorV2 };

// log_generation decides by kindVersion (sigstore_verify.md §4.C1). Errors: kUnsupported.
[[nodiscard]] Result<LogGeneration> log_generation(const TlogEntry& entry);

using MerkleHash = std::array<std::uint8_t, 32>;

// merkle_leaf_hash is SHA-256(0x00 || leaf) (RFC 6962 §2.1).
MerkleHash merkle_leaf_hash(std::span<const std::uint8_t> leaf);

// verify_inclusion_proof checks that `leaf_hash` sits at `index` of a tree of `tree_size` leaves
// whose root is `root_hash`, given the audit path `hashes` (leaf to root; RFC 9162 §2.1.3.2).
// Errors: kMalformed (index ≥ size, negative values, a hash that is not 32 bytes, wrong path
// length), kMismatch (computed root differs). Thread-safe.
[[nodiscard]] Result<void> verify_inclusion_proof(const MerkleHash& leaf_hash, std::int64_t index,
                                                  std::int64_t tree_size,
                                                  const std::vector<std::vector<std::uint8_t>>& hashes,
                                                  std::span<const std::uint8_t> root_hash);

// NoteSignature is one "— <name> <base64(hint || signature)>" line of a signed note.
struct NoteSignature {
  std::string name;
  std::array<std::uint8_t, 4> key_hint{};
  std::vector<std::uint8_t> signature;
};

// Checkpoint is a parsed C2SP tlog-checkpoint inside a signed note.
struct Checkpoint {
  std::string origin;
  std::int64_t tree_size = 0;
  std::vector<std::uint8_t> root_hash;   // 32 bytes
  std::vector<std::string> extra_lines;  // e.g. Rekor v1 "Timestamp: <ns>"
  std::string body;                      // the signed text: every body line with its '\n'
  std::vector<NoteSignature> signatures;
};

// parse_checkpoint reads a signed-note checkpoint (≤ limits::kMaxCheckpointBytes): exactly one blank
// line; ≥ 3 body lines (non-empty origin, decimal size, base64 32-byte root); ≥ 1 signature line
// "— name base64" (em dash U+2014) decoding to ≥ 5 bytes, ≤ kMaxCheckpointSignatures lines.
// Errors: kMalformed, kLimit. Thread-safe.
[[nodiscard]] Result<Checkpoint> parse_checkpoint(std::string_view envelope);

// note_key_hint returns the 4-byte signed-note key hint `log` signs checkpoints with: for Rekor v1
// the first 4 bytes of the log ID (SHA-256 of the SPKI); for Rekor v2 SHA-256(origin || 0x0A ||
// 0x01 || raw Ed25519 key)[:4] (ECDSA: SHA-256(SPKI)[:4]; RSA: SHA-256(origin || 0x0A || 0xFF ||
// "PKIX-RSA-PKCS#1v1.5" || SPKI)[:4]). Errors: kUnsupported (no usable key).
[[nodiscard]] Result<std::array<std::uint8_t, 4>> note_key_hint(const TransparencyLog& log, LogGeneration gen,
                                                                std::string_view origin);

// verify_checkpoint checks that `checkpoint` carries a valid signature by `log` (§4.C5): Rekor v2
// additionally requires origin == log host and signer name == origin. Lines from other keys
// (witnesses) are ignored; a line that claims the log's key but does not verify fails.
// Errors: kUntrusted (no line from the log; origin mismatch), kBadSignature. Thread-safe.
[[nodiscard]] Result<void> verify_checkpoint(const Checkpoint& checkpoint, const TransparencyLog& log,
                                             LogGeneration gen);

// verify_set checks a Rekor v1 inclusion promise: the log's signature over the canonical JSON
// {"body","integratedTime","logID","logIndex"} (global logIndex), then integratedTime ∈ the log
// key's validFor. Errors: kMalformed (no SET), kBadSignature, kUntrusted (outside validity).
[[nodiscard]] Result<void> verify_set(const TlogEntry& entry, const TransparencyLog& log);

// verify_entry_inclusion checks entry.inclusion_proof for leaf bytes `leaf` (the canonicalized
// body), its checkpoint signature by `log`, and that the checkpoint's size and root equal the
// proof's. Rekor v2 also needs proof.logIndex == entry.logIndex. Errors: kMalformed (no proof),
// kMismatch, kUntrusted, kBadSignature. Thread-safe.
[[nodiscard]] Result<void> verify_entry_inclusion(const TlogEntry& entry, const TransparencyLog& log, LogGeneration gen,
                                                  std::span<const std::uint8_t> leaf);

}  // namespace modelgate::crypto
