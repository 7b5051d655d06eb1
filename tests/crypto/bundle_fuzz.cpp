// fuzz-dict: json.dict
// fuzz-max-len: 65536
// bundle_fuzz.cpp: parse_bundle on arbitrary bytes. Properties: never kInternal; a bundle that
// parses keeps every list within its limit and every "non-empty" field non-empty; its DSSE
// envelope re-encodes (dsse_envelope_to_json) to JSON that parses back to the same envelope; and
// the same document re-serialised by nlohmann (no duplicates, canonical spacing) parses the same.
#include <cstdint>
#include <string>

#include "base/limits.h"
#include "crypto/bundle.h"
#include "crypto/dsse.h"
#include "crypto/json.h"
#include "fuzz/fuzz_check.h"

namespace {

using namespace modelgate;
using namespace modelgate::crypto;

void check_shape(const Bundle& b) {
  FUZZ_CHECK(b.message_signature.has_value() != b.dsse.has_value(), "exactly one content");
  FUZZ_CHECK(b.tlog_entries.size() <= limits::kMaxTlogEntries, "tlog entries bound");
  FUZZ_CHECK(b.rfc3161_timestamps.size() <= limits::kMaxTimestamps, "timestamps bound");
  FUZZ_CHECK(b.certificates_der.size() <= limits::kMaxChainCertificates, "chain bound");
  if (b.material == MaterialKind::kPublicKey) {
    FUZZ_CHECK(b.certificates_der.empty(), "a key bundle carries no certificates");
  } else {
    FUZZ_CHECK(!b.certificates_der.empty(), "a certificate bundle carries a certificate");
  }
  for (const auto& c : b.certificates_der) {
    FUZZ_CHECK(!c.empty() && c.size() <= limits::kMaxCertificateBytes, "certificate size");
  }
  for (const auto& e : b.tlog_entries) {
    FUZZ_CHECK(e.log_index >= 0, "logIndex >= 0");
    FUZZ_CHECK(!e.log_id.empty(), "logId non-empty");
    FUZZ_CHECK(!e.canonicalized_body.empty(), "canonicalizedBody non-empty");
    if (b.version == BundleVersion::kV01) {
      FUZZ_CHECK(e.signed_entry_timestamp.has_value(), "v0.1 entries carry a SET");
    } else {
      FUZZ_CHECK(e.inclusion_proof.has_value(), "v0.2+ entries carry an inclusion proof");
    }
    if (e.inclusion_proof) {
      FUZZ_CHECK(e.inclusion_proof->log_index >= 0 && e.inclusion_proof->tree_size >= 0, "proof indices");
      FUZZ_CHECK(e.inclusion_proof->hashes.size() <= limits::kMaxInclusionProofHashes, "audit path bound");
      FUZZ_CHECK(!e.inclusion_proof->checkpoint.empty(), "proof carries a checkpoint");
      FUZZ_CHECK(e.inclusion_proof->checkpoint.size() <= limits::kMaxCheckpointBytes, "checkpoint bound");
    }
  }
  if (b.message_signature) {
    FUZZ_CHECK(!b.message_signature->signature.empty(), "messageSignature.signature non-empty");
  }
  if (b.dsse) {
    FUZZ_CHECK(!b.dsse->payload_type.empty(), "payloadType non-empty");
    FUZZ_CHECK(!b.dsse->signatures.empty() && b.dsse->signatures.size() <= limits::kMaxDsseSignatures,
               "DSSE signatures bound");
    FUZZ_CHECK(b.dsse->payload.size() <= limits::kMaxDssePayloadBytes, "DSSE payload bound");
  }
  FUZZ_CHECK(!bundle_version_name(b.version).empty(), "version name");
}

bool same_envelope(const DsseEnvelope& a, const DsseEnvelope& b) {
  if (a.payload_type != b.payload_type || a.payload != b.payload || a.signatures.size() != b.signatures.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.signatures.size(); ++i) {
    // keyid "" and absent both mean "no key id"; the encoder writes what it was given.
    if (a.signatures[i].sig != b.signatures[i].sig || a.signatures[i].keyid != b.signatures[i].keyid) {
      return false;
    }
  }
  return true;
}

bool same_bundle(const Bundle& a, const Bundle& b) {
  return a.media_type == b.media_type && a.version == b.version && a.material == b.material &&
         a.public_key_hint == b.public_key_hint && a.public_key_raw_bytes == b.public_key_raw_bytes &&
         a.certificates_der == b.certificates_der && a.tlog_entries.size() == b.tlog_entries.size() &&
         a.rfc3161_timestamps == b.rfc3161_timestamps && a.message_signature.has_value() == b.message_signature.has_value() &&
         a.dsse.has_value() == b.dsse.has_value() && (!a.dsse || same_envelope(*a.dsse, *b.dsse));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto text = fuzz::as_text(data, size);
  auto r = parse_bundle(text);
  fuzz::check_not_internal(r, "parse_bundle");
  if (!r.ok()) {
    return 0;
  }
  const Bundle& b = *r;
  check_shape(b);

  if (b.dsse) {
    std::string encoded = dsse_envelope_to_json(*b.dsse).dump();
    auto j = parse_json(encoded, {limits::kMaxBundleBytes, limits::kMaxJsonDepth});
    FUZZ_CHECK(j.ok(), "re-encoded envelope is JSON");
    auto again = parse_dsse_envelope(*j, "reencoded");
    FUZZ_CHECK(again.ok(), "re-encoded envelope parses: " + (again.ok() ? std::string() : again.error().message));
    FUZZ_CHECK(same_envelope(*b.dsse, *again), "envelope round-trips");
  }

  // The same document, re-serialised, is the same bundle: the parser reads values, not spelling.
  auto doc = parse_json(text, {limits::kMaxBundleBytes, limits::kMaxJsonDepth});
  FUZZ_CHECK(doc.ok(), "a parsed bundle is JSON");
  auto again = parse_bundle(doc->dump());
  FUZZ_CHECK(again.ok(), "re-serialised bundle parses: " + (again.ok() ? std::string() : again.error().message));
  FUZZ_CHECK(same_bundle(b, *again), "re-serialised bundle is the same bundle");
  return 0;
}
