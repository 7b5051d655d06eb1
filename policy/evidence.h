// evidence.h: gather the facts one policy needs about one model: verify its model_signing
// signature (re-hashing its files, through the caller's digest cache), then read the attestations
// filed under its root digest in content-addressed stores (<store>/sha256/<hex>/*.json) and keep
// those that verify under the policy's signers and reviewer groups; base models recursively.
// Not judgement (evaluate.h) and not caching or deadlines (admission/orchestrator.h).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "crypto/manifest.h"
#include "policy/facts.h"
#include "policy/trust_material.h"

namespace modelgate::policy {

// kModelMismatchPrefix starts the message of crypto::verify_model's kMismatch when the files on
// disk differ from the signed manifest (as opposed to a key mismatch).
inline constexpr std::string_view kModelMismatchPrefix = "model does not match its signature";

struct EvidenceOptions {
  std::vector<std::filesystem::path> stores;  // content-addressed stores, searched in order
  crypto::HashOptions hash;                   // threads, cache, cancel, progress
  std::int64_t now = 0;                       // unix seconds; 0 = the system clock
};

// EvidenceFile is one attestation file found for a digest.
struct EvidenceFile {
  std::filesystem::path path;
  std::string bytes;
};

// find_evidence visits the regular *.json files of <store>/sha256/<hex>/ in every store (dot-files
// skipped), one at a time and smallest first (then in store order and by name), so that junk can
// neither hide small real attestations behind big files nor hold more than one file in memory.
// Bounds: at most limits::kMaxEvidenceFiles listed in all, each ≤ limits::kMaxAttestationBytes,
// limits::kMaxEvidenceBytes read in all; a file whose bytes equal an earlier one's is not visited
// again (it would decide the same). A missing directory is no evidence, not an error. Files that
// cannot be read are appended to `unreadable` with the reason; a bound that stops the reading
// returns kLimit (the evidence is incomplete). Thread-safe if `visit` is.
[[nodiscard]] Result<void> find_evidence(const std::vector<std::filesystem::path>& stores, std::string_view hex,
                                         std::vector<Rejection>& unreadable,
                                         const std::function<void(const EvidenceFile&)>& visit);

// evidence_fingerprint is a SHA-256 over each evidence directory's identity and mtime/ctime (an
// added or removed file) and the names, sizes, inodes, mtimes and ctimes of the files find_evidence
// would list for `hex`: equal fingerprints mean the same evidence set (verdict cache keys). Costs
// one stat per listed file (≤ limits::kMaxEvidenceFiles). Thread-safe.
std::string evidence_fingerprint(const std::vector<std::filesystem::path>& stores, std::string_view hex);

// collect_model_facts gathers `policy`'s facts about the model directory `model_dir` whose
// signature file is `signature_file` (a plain name inside it). Never fails: problems become
// ModelFacts::model_error, signature_failures, rejected entries or evidence_error (find_evidence
// stopped by a bound). Thread-safe (hashing uses options.hash).
ModelFacts collect_model_facts(const CompiledPolicy& policy, const std::filesystem::path& model_dir,
                               const std::string& signature_file, const EvidenceOptions& options);

// collect_store_facts gathers facts about a model known only by its root digest `hex` (a base
// model): its signature is a model_signing bundle in the store whose subject is that digest (no
// files are hashed), the rest as above. `lineage` holds the digests above it (cycle detection);
// base models below are followed while lineage.size() < max depth. Thread-safe.
ModelFacts collect_store_facts(const CompiledPolicy& policy, std::string_view hex,
                               std::vector<std::string> lineage, const EvidenceOptions& options);

}  // namespace modelgate::policy
