// sct.h: RFC 6962 signed certificate timestamps embedded in X.509 certificates (Fulcio leaves),
// verified offline against the trusted root's CT logs. Not a CT client and not a CT policy engine
// beyond "at least one valid SCT from a trusted log".
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/result.h"
#include "crypto/trusted_root.h"
#include "crypto/x509.h"

namespace modelgate::crypto {

// EmbeddedSct is one SCT of the TLS-encoded SignedCertificateTimestampList (RFC 6962 §3.3).
struct EmbeddedSct {
  std::uint8_t version = 0;
  std::vector<std::uint8_t> log_id;  // 32 bytes
  std::uint64_t timestamp_ms = 0;
  std::vector<std::uint8_t> extensions;  // kept verbatim: they are covered by the signature
  std::uint8_t hash_algorithm = 0;       // TLS HashAlgorithm (4 = sha256)
  std::uint8_t signature_algorithm = 0;  // TLS SignatureAlgorithm (1 = rsa, 3 = ecdsa)
  std::vector<std::uint8_t> signature;
};

// parse_embedded_scts reads extension 1.3.6.1.4.1.11129.2.4.2 of `cert` (≤ limits::kMaxScts).
// Errors: kNotFound (no SCT extension), kMalformed (bad DER/TLS framing), kLimit. Thread-safe.
[[nodiscard]] Result<std::vector<EmbeddedSct>> parse_embedded_scts(const Certificate& cert);

// verify_embedded_scts requires at least one embedded v1 SCT whose log is in root.ctlogs, whose
// timestamp is inside that log key's validFor, and whose signature verifies over the precert entry
// (TBS without the SCT extension, `issuer`'s SPKI hash). `issuer` is the certificate that signed
// `leaf` in the validated path. SCTs from unknown logs are ignored. Returns how many verified.
// Errors: kNotFound, kMalformed, kUntrusted (none verified; the message says why). Thread-safe.
[[nodiscard]] Result<std::size_t> verify_embedded_scts(const Certificate& leaf, const Certificate& issuer,
                                                       const TrustedRoot& root);

}  // namespace modelgate::crypto
