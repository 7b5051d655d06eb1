// trusted_root.h: the Sigstore trusted root (dev.sigstore.trustroot.v1.TrustedRoot): transparency
// logs, CT logs, Fulcio CAs and timestamp authorities with their validity windows. Not TUF: the
// root is configuration (a file, or the production copy embedded in the binary), never fetched.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "crypto/keys.h"
#include "crypto/x509.h"

namespace modelgate::crypto {

// ValidityPeriod is a closed interval [start, end] in unix milliseconds; no end = open-ended.
struct ValidityPeriod {
  std::int64_t start_ms = 0;
  std::optional<std::int64_t> end_ms;
  bool contains_ms(std::int64_t t_ms) const { return t_ms >= start_ms && (!end_ms || t_ms <= *end_ms); }
  bool contains(std::int64_t t_seconds) const { return contains_ms(t_seconds * 1000); }
};

// TransparencyLog is one tlogs[] or ctlogs[] entry.
struct TransparencyLog {
  std::string base_url;
  std::string key_details;       // enum name, e.g. "PKIX_ECDSA_P256_SHA_256"
  std::optional<PublicKey> key;  // nullopt when key_details is not supported (skipped)
  ValidityPeriod valid_for;
  std::vector<std::uint8_t> log_id;  // logId.keyId
  // host returns the host name of base_url ("https://log2025-1.rekor.sigstore.dev" →
  // "log2025-1.rekor.sigstore.dev"; no port, path or userinfo).
  std::string host() const;
};

// CertificateAuthority is one certificateAuthorities[] or timestampAuthorities[] entry.
struct CertificateAuthority {
  std::string uri;
  std::vector<Certificate> chain;  // as listed: leaf/intermediates first, anchor last; non-empty
  ValidityPeriod valid_for;
};

struct TrustedRoot {
  std::string media_type;
  std::vector<TransparencyLog> tlogs;
  std::vector<TransparencyLog> ctlogs;
  std::vector<CertificateAuthority> certificate_authorities;
  std::vector<CertificateAuthority> timestamp_authorities;

  // find_tlog / find_ctlog return the instance whose log_id equals `log_id` exactly, or nullptr.
  const TransparencyLog* find_tlog(std::span<const std::uint8_t> log_id) const;
  const TransparencyLog* find_ctlog(std::span<const std::uint8_t> log_id) const;
};

// verify_log_signature checks `sig` over `data` with a log's key, using the scheme its keyDetails
// names (§3.2): ECDSA P-256/384/521 with SHA-256/384/512 (DER signature), pure Ed25519, RSA
// PKCS#1 v1.5 or PSS with SHA-256. Errors: kBadSignature, kUnsupported (no usable key). Thread-safe.
[[nodiscard]] Result<void> verify_log_signature(const TransparencyLog& log, std::span<const std::uint8_t> data,
                                                std::span<const std::uint8_t> sig);

// parse_trusted_root reads a trusted root (≤ limits::kMaxTrustedRootBytes; the media types
// ...trustedroot+json;version=0.1, ...trustedroot.v0.1+json, ...trustedroot.v0.2+json). Rules of
// sigstore_verify.md §3: tlog/ctlog keys need validFor.start, tlog hashAlgorithm SHA2_256, CA
// chains non-empty; keys of unsupported keyDetails are kept with key = nullopt (never match).
// Unknown fields are ignored (forward compatibility); JSON null = absent. Errors: kMalformed,
// kUnsupported (media type, tlog hash), kLimit. Thread-safe.
[[nodiscard]] Result<TrustedRoot> parse_trusted_root(std::string_view json);
// load_trusted_root_file reads and parses a file. Errors: as above plus kNotFound, kIo.
[[nodiscard]] Result<TrustedRoot> load_trusted_root_file(const std::filesystem::path& path);

// default_trusted_root returns Sigstore's production public-good trusted root, embedded in the
// binary at build time (crypto/data/trusted_root_public_good.json) and parsed once on first use
// (aborts if the embedded copy does not parse: a build defect). Thread-safe; static lifetime.
const TrustedRoot& default_trusted_root();

}  // namespace modelgate::crypto
