// fuzz-dict: json.dict
// fuzz-max-len: 65536
// dsse_fuzz.cpp: parse_dsse_envelope on arbitrary JSON. Properties: never kInternal; no text with a
// NUL byte parses as JSON (nothing after it is ignored); an envelope
// that parses is within its limits, re-encodes with dsse_envelope_to_json to JSON that parses back
// to the same envelope, and that encoding is a fixed point; dsse_pae is exactly DSSE v1's
// "DSSEv1 <len> <type> <len> <payload>" byte for byte.
#include <cstdint>
#include <string>

#include "base/limits.h"
#include "crypto/dsse.h"
#include "crypto/json.h"
#include "fuzz/fuzz_check.h"

namespace {

using namespace modelgate;
using namespace modelgate::crypto;

bool same(const DsseEnvelope& a, const DsseEnvelope& b) {
  if (a.payload_type != b.payload_type || a.payload != b.payload || a.signatures.size() != b.signatures.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.signatures.size(); ++i) {
    if (a.signatures[i].sig != b.signatures[i].sig || a.signatures[i].keyid != b.signatures[i].keyid) {
      return false;
    }
  }
  return true;
}

void check_pae(const DsseEnvelope& e) {
  auto pae = dsse_pae(e.payload_type, e.payload);
  std::string head = "DSSEv1 " + std::to_string(e.payload_type.size()) + " " + e.payload_type + " " +
                     std::to_string(e.payload.size()) + " ";
  FUZZ_CHECK(pae.size() == head.size() + e.payload.size(), "PAE length");
  FUZZ_CHECK(std::equal(head.begin(), head.end(), pae.begin(),
                        [](char h, std::uint8_t p) { return static_cast<std::uint8_t>(h) == p; }),
             "PAE header");
  FUZZ_CHECK(std::equal(e.payload.begin(), e.payload.end(), pae.begin() + static_cast<std::ptrdiff_t>(head.size())),
             "PAE body");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto doc = parse_json(fuzz::as_text(data, size), {limits::kMaxBundleBytes, limits::kMaxJsonDepth});
  fuzz::check_not_internal(doc, "parse_json");
  if (!doc.ok()) {
    return 0;
  }
  // JSON has no raw NUL; a parser that stops there would ignore whatever follows it.
  FUZZ_CHECK(fuzz::as_text(data, size).find('\0') == std::string_view::npos, "parsed JSON holds no NUL byte");
  auto env = parse_dsse_envelope(*doc, "envelope");
  fuzz::check_not_internal(env, "parse_dsse_envelope");
  if (!env.ok()) {
    return 0;
  }
  FUZZ_CHECK(!env->payload_type.empty(), "payloadType non-empty");
  FUZZ_CHECK(!env->signatures.empty() && env->signatures.size() <= limits::kMaxDsseSignatures, "signatures bound");
  FUZZ_CHECK(env->payload.size() <= limits::kMaxDssePayloadBytes, "payload bound");
  for (const auto& s : env->signatures) {
    FUZZ_CHECK(!s.sig.empty() && s.sig.size() <= limits::kMaxCertificateBytes, "sig size");
  }
  check_pae(*env);

  const std::string encoded = dsse_envelope_to_json(*env).dump();
  auto doc2 = parse_json(encoded, {limits::kMaxBundleBytes, limits::kMaxJsonDepth});
  FUZZ_CHECK(doc2.ok(), "the encoding is JSON");
  auto env2 = parse_dsse_envelope(*doc2, "envelope");
  FUZZ_CHECK(env2.ok(), "the encoding parses: " + (env2.ok() ? std::string() : env2.error().message));
  FUZZ_CHECK(same(*env, *env2), "parse -> encode -> parse is the identity");
  FUZZ_CHECK(dsse_envelope_to_json(*env2).dump() == encoded, "the encoding is a fixed point");
  return 0;
}
