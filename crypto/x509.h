// x509.h: X.509 certificates (DER/PEM parsing, the extensions Sigstore's Fulcio writes) and path
// validation at a caller-chosen time with OpenSSL's X509_STORE. Not a policy engine: which anchors
// to trust, at which time and which identity to accept is decided by the callers.
#pragma once

#include <openssl/x509.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "crypto/keys.h"

namespace modelgate::crypto {

// Certificate is an immutable X.509 certificate. Copies share the X509 object. Thread-safe.
class Certificate {
 public:
  // from_der parses exactly one DER certificate (trailing bytes are kMalformed).
  // Errors: kMalformed, kLimit (> limits::kMaxCertificateBytes).
  [[nodiscard]] static Result<Certificate> from_der(std::span<const std::uint8_t> der);

  // from_x509 shares `x509` (X509_up_ref); it must be non-null.
  static Certificate from_x509(X509* x509);

  X509* get() const { return x509_.get(); }
  std::vector<std::uint8_t> der() const;
  // pem returns "-----BEGIN CERTIFICATE-----\n" + base64 wrapped at 64 + "\n-----END CERTIFICATE-----\n".
  std::string pem() const;
  // not_before / not_after are unix seconds.
  std::int64_t not_before() const { return not_before_; }
  std::int64_t not_after() const { return not_after_; }
  PublicKey public_key() const;
  bool key_usage_digital_signature() const;
  bool eku_code_signing() const;
  bool is_ca() const;
  bool self_signed() const;
  // san_values lists URI, rfc822Name (email) and otherName 1.3.6.1.4.1.57264.1.7 (UTF8String)
  // subject alternative names, in certificate order.
  std::vector<std::string> san_values() const;
  // extension_value returns the raw extnValue octets of the extension with dotted `oid`, or nullopt.
  std::optional<std::vector<std::uint8_t>> extension_value(std::string_view oid) const;
  // fulcio_issuer returns the OIDC issuer: extension 1.3.6.1.4.1.57264.1.8 decoded as a DER
  // UTF8String when present, else 1.3.6.1.4.1.57264.1.1 taken as raw octets, else nullopt. Also
  // nullopt when 1.8 is not a valid UTF8String or when both are present and differ (ambiguous).
  std::optional<std::string> fulcio_issuer() const;
  // subject returns a one-line RFC 2253 subject for messages ("" for an empty DN).
  std::string subject() const;
  // sha256_fingerprint returns the lowercase hex SHA-256 over der().
  std::string sha256_fingerprint() const;

 private:
  explicit Certificate(std::shared_ptr<X509> x509);
  std::shared_ptr<X509> x509_;
  std::int64_t not_before_ = 0;
  std::int64_t not_after_ = 0;
};

// parse_pem_certificates reads every "CERTIFICATE" PEM block in `pem` (other blocks ignored).
// Errors: kMalformed (no certificate, bad block), kLimit (> limits::kMaxChainCertificates blocks or
// > limits::kMaxKeyFileBytes of text). Thread-safe.
[[nodiscard]] Result<std::vector<Certificate>> parse_pem_certificates(std::string_view pem);
// load_certificates_file reads a PEM file (every block) or a single DER certificate.
// Errors: kNotFound, kIo, kLimit, kMalformed.
[[nodiscard]] Result<std::vector<Certificate>> load_certificates_file(const std::filesystem::path& path);

struct ChainOptions {
  std::int64_t at_time = 0;          // unix seconds; the clock every certificate is checked against
  bool allow_partial_chain = false;  // anchors need not be self-signed (X509_V_FLAG_PARTIAL_CHAIN)
};

// verify_chain builds a path leaf → `untrusted`... → one of `anchors`, validating signatures,
// validity at `at_time`, basicConstraints and critical extensions (no purpose / EKU check: callers
// check the leaf profile). Returns the validated path, leaf first, anchor last. Errors: kUntrusted
// (no path, expired, not yet valid; the message names the subject, the time and OpenSSL's reason),
// kInternal. Thread-safe.
[[nodiscard]] Result<std::vector<Certificate>> verify_chain(const Certificate& leaf,
                                                            std::span<const Certificate> untrusted,
                                                            std::span<const Certificate> anchors,
                                                            const ChainOptions& options);

// format_time renders unix seconds as RFC 3339 UTC ("2026-03-01T10:00:00Z"), clamped to years
// 0000-9999 (so INT64_MIN renders as 0000-01-01T00:00:00Z).
std::string format_time(std::int64_t unix_seconds);

// parse_rfc3339 reads "2022-04-13T20:06:15Z" with an optional fraction of up to 9 digits
// (google.protobuf.Timestamp JSON; 'Z' only) into unix milliseconds (fraction truncated).
// Errors: kMalformed.
[[nodiscard]] Result<std::int64_t> parse_rfc3339_ms(std::string_view text);

}  // namespace modelgate::crypto
