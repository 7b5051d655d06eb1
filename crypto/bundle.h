// bundle.h: the Sigstore bundle (dev.sigstore.bundle.v1.Bundle, media types v0.1-v0.3) read from
// proto3 JSON into typed, decoded fields. Not a verifier: nothing here is trusted or checked
// cryptographically (bundle_verify.h does that); this enforces shape, encodings and limits only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "crypto/dsse.h"

namespace modelgate::crypto {

enum class BundleVersion { kV01, kV02, kV03 };
enum class MaterialKind { kPublicKey, kCertificateChain, kCertificate };

// InclusionProof is dev.sigstore.rekor.v1.InclusionProof, decoded.
struct InclusionProof {
  std::int64_t log_index = 0;                     // index within the tree (shard), ≥ 0
  std::vector<std::uint8_t> root_hash;            // as given (length checked by tlog.h)
  std::int64_t tree_size = 0;                     // ≥ 0
  std::vector<std::vector<std::uint8_t>> hashes;  // audit path, leaf → root (≤ kMaxInclusionProofHashes)
  std::string checkpoint;                         // checkpoint.envelope text; non-empty
};

// TlogEntry is dev.sigstore.rekor.v1.TransparencyLogEntry, decoded (sigstore_verify.md §2.3).
struct TlogEntry {
  std::int64_t log_index = 0;                                       // global index, ≥ 0
  std::vector<std::uint8_t> log_id;                                 // logId.keyId, non-empty
  std::string kind;                                                 // kindVersion.kind
  std::string version;                                              // kindVersion.version
  std::int64_t integrated_time = 0;                                 // 0 when absent (Rekor v2)
  std::optional<std::vector<std::uint8_t>> signed_entry_timestamp;  // inclusionPromise (SET)
  std::optional<InclusionProof> inclusion_proof;
  std::vector<std::uint8_t> canonicalized_body;  // decoded bytes (JSON text), non-empty
};

// MessageSignature is dev.sigstore.common.v1.MessageSignature.
struct MessageSignature {
  std::optional<std::vector<std::uint8_t>> digest;  // messageDigest.digest (unauthenticated hint)
  std::string digest_algorithm;                     // messageDigest.algorithm ("" if absent)
  std::vector<std::uint8_t> signature;              // non-empty
};

struct Bundle {
  std::string media_type;
  BundleVersion version = BundleVersion::kV03;
  MaterialKind material = MaterialKind::kCertificate;
  std::optional<std::string> public_key_hint;                     // publicKey.hint
  std::optional<std::vector<std::uint8_t>> public_key_raw_bytes;  // legacy model_signing: PEM text!
  std::optional<std::string> public_key_details;                  // legacy publicKey.keyDetails
  std::vector<std::vector<std::uint8_t>> certificates_der;        // leaf first; empty for kPublicKey
  std::vector<TlogEntry> tlog_entries;
  std::vector<std::vector<std::uint8_t>> rfc3161_timestamps;  // DER TimeStampResp each
  std::optional<MessageSignature> message_signature;          // exactly one of these two is set
  std::optional<DsseEnvelope> dsse;
};

// parse_bundle reads a Sigstore bundle from `json` (≤ limits::kMaxBundleBytes; duplicate keys and
// unknown fields rejected). Shape rules of sigstore_verify.md §1-2: the four known media types,
// exactly one verification material and one content, non-empty certificate lists, base64 and
// int64 fields, logIndex ≥ 0, ≤ kMaxTlogEntries entries and ≤ kMaxTimestamps distinct timestamps,
// v0.1 entries carry a SET, v0.2+ entries carry an inclusion proof, a proof carries a checkpoint.
// v0.3 with x509CertificateChain parses (model_signing's certificate method writes it);
// verify_bundle_keyless refuses it. Nothing is verified. The result owns its bytes.
// Errors: kMalformed, kUnsupported (unknown media type), kLimit. Thread-safe.
[[nodiscard]] Result<Bundle> parse_bundle(std::string_view json);

// bundle_version_name returns "0.1", "0.2" or "0.3".
std::string_view bundle_version_name(BundleVersion version);

}  // namespace modelgate::crypto
