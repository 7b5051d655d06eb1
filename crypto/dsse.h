// dsse.h: DSSE v1 envelopes (JSON shape inside Sigstore bundles and model.sig files) and the
// pre-authentication encoding that is actually signed. Not a verifier: keys and policy live in
// bundle_verify.h; this only reads, writes and encodes.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "crypto/json.h"

namespace modelgate::crypto {

struct DsseSignature {
  std::vector<std::uint8_t> sig;     // decoded signature bytes (DER for ECDSA)
  std::optional<std::string> keyid;  // "" / absent / null all accepted; never used
};

struct DsseEnvelope {
  std::string payload_type;
  std::vector<std::uint8_t> payload;  // decoded payload bytes, exactly as signed
  std::vector<DsseSignature> signatures;
};

// parse_dsse_envelope reads {"payload","payloadType","signatures":[{"sig","keyid"?}]} from `obj`
// (`path` names it in errors, e.g. "bundle.dsseEnvelope"). Strict: unknown fields, invalid base64,
// an empty payloadType, no signatures or an empty sig are kMalformed; more than
// limits::kMaxDsseSignatures signatures or a payload over limits::kMaxDssePayloadBytes is kLimit.
// The "exactly one signature" rule is the verifier's. Thread-safe.
[[nodiscard]] Result<DsseEnvelope> parse_dsse_envelope(const Json& obj, std::string_view path);

// dsse_pae returns "DSSEv1" SP len(type) SP type SP len(payload) SP payload (DSSE v1 PAE; lengths
// are ASCII decimal byte counts).
std::vector<std::uint8_t> dsse_pae(std::string_view payload_type, std::span<const std::uint8_t> payload);

// dsse_envelope_to_json renders the envelope in proto3 JSON (standard padded base64; "keyid"
// written only when set).
Json dsse_envelope_to_json(const DsseEnvelope& envelope);

}  // namespace modelgate::crypto
