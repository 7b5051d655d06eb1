// facts.h: what was verified about one model, for one policy — the only input evaluate() judges.
// Every entry here came out of a verifier (crypto::VerifiedModel, crypto::VerifiedAttestation)
// under the policy's own trust material; failures are kept as reasons, never as facts.
// Not verification (evidence.h collects these) and not judgement (evaluate.h).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "crypto/approval.h"
#include "crypto/sha256.h"
#include "crypto/slsa_provenance.h"
#include "crypto/test_result.h"
#include "policy/dataset_catalog.h"

namespace modelgate::policy {

// VerifiedSignatureFact: a model_signing signature over exactly these files (or, for a base model
// found by digest, over its root digest), verified under the named policy signer.
struct VerifiedSignatureFact {
  std::string signer;    // policy signer name
  std::string identity;  // who signed: "key <hint>", certificate subject, Sigstore identity
  std::string file;      // where it came from ("model.sig", or the evidence file name)
  std::vector<std::int64_t> times;  // trusted signing times (may be empty for bare keys)
};

// Rejection: a piece of evidence that did not verify under any trusted method, and why. Kept so a
// denial can say "approval bob.json is not signed by a member of ml-leads" instead of "missing".
struct Rejection {
  std::string file;
  Error error;
  std::string predicate_type;  // what the file claims to be, when it could be read that far ("" if not)
};

// IgnoredEvidence: a readable attestation this policy did not try to verify, and why ("policy
// \"p\" has no provenance rule"), so `modelgate evidence explain` can account for every file.
struct IgnoredEvidence {
  std::string file;
  std::string predicate_type;
  std::string why;
};

struct ProvenanceFact {
  std::string signer;    // policy signer name
  std::string identity;
  std::string file;
  crypto::Provenance provenance;
  std::vector<std::int64_t> times;  // trusted times of the bundle (Sigstore), may be empty
};

struct ApprovalFact {
  std::string group;     // reviewer group name
  std::string identity;  // verified signer identity (what makes reviewers distinct)
  std::string file;
  crypto::Approval approval;
};

struct TestResultFact {
  std::string signer;
  std::string identity;
  std::string file;
  crypto::TestResult result;
  std::vector<std::int64_t> times;  // trusted signing times (Sigstore, certificate); empty for bare keys
};

struct ModelFacts;

// BaseModelFacts: one base-model dependency's own facts (gathered from the evidence store by its
// digest), or why they could not be gathered (depth limit, cycle).
struct BaseModelFacts {
  crypto::Dependency dependency;
  std::shared_ptr<const ModelFacts> facts;  // null when `problem` is set
  std::string problem;                      // "cycle: ..." / "depth limit ..." / ""
};

// ModelFacts is everything verified about one model for one policy.
struct ModelFacts {
  // model_error: the model itself could not be read or hashed, or its signature file could not be
  // read (fail closed). When set, only signature-independent rules can be judged.
  std::optional<Error> model_error;
  // root is the model's root digest: the signed one when a signature verified; otherwise the
  // digest of the files on disk (provenance-only policies); nullopt when neither is known.
  std::optional<crypto::Sha256Digest> root;
  bool root_signed = false;
  // from_store: a base model judged only by its evidence (no files to hash).
  bool from_store = false;
  // signature_file is the signature file's name; signature_present says whether it existed.
  std::string signature_file;
  bool signature_present = false;
  std::vector<VerifiedSignatureFact> signatures;  // one per distinct policy signer
  // signature_failures: why each required signer did not verify model.sig (signer name → error).
  std::map<std::string, Error> signature_failures;
  std::vector<ProvenanceFact> provenance;
  std::vector<ApprovalFact> approvals;
  std::vector<TestResultFact> test_results;
  std::vector<Rejection> rejected;  // evidence for this root that no trusted method verified
  // evidence_error: the evidence for this root could not be read in full (a limit was reached), so
  // what is missing may be a rejection: the model cannot pass (fail closed).
  std::optional<Error> evidence_error;
  std::vector<IgnoredEvidence> ignored;  // evidence no rule of this policy reads
  std::vector<BaseModelFacts> base_models;
  std::shared_ptr<const DatasetCatalog> catalog;
  std::int64_t now = 0;  // unix seconds the facts were gathered at (maxAge is measured from it)
};

}  // namespace modelgate::policy
