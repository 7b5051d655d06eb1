// tlog_body.h: matching a transparency-log entry's canonicalized body against the bundle it came
// with (hashedrekord 0.0.1/0.0.2, dsse 0.0.1, intoto 0.0.2; sigstore_verify.md §2.6, §4.C2), so a
// valid log entry for some other signature cannot be passed off as evidence for this one.
// Not proof checking (tlog.h) and not signature verification (bundle_verify.h).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "crypto/bundle.h"
#include "crypto/keys.h"
#include "crypto/x509.h"

namespace modelgate::crypto {

// LoggedSignature is what the bundle claims the log recorded. Views must outlive the call.
struct LoggedSignature {
  std::span<const std::uint8_t> signature;   // messageSignature.signature or the DSSE sig
  const Certificate* certificate = nullptr;  // the signer: exactly one of certificate / key
  const PublicKey* key = nullptr;
  // messageSignature: the artifact's SHA-256 (required) and, when known, its bytes (needed for
  // Rekor v2 entries signed with P-384/P-521 keys, whose digest is SHA-384/512).
  std::optional<std::vector<std::uint8_t>> artifact_sha256;
  std::optional<std::span<const std::uint8_t>> artifact_bytes;
  // DSSE: the envelope (set = DSSE bundle).
  const DsseEnvelope* dsse = nullptr;
};

// match_tlog_body checks that entry.canonicalized_body records exactly `expected` (kind/apiVersion
// = kindVersion; digest or payload hash, signature bytes, signer certificate DER or key SPKI) and
// returns the Merkle leaf bytes (the canonicalized body). Rekor v2 bodies are rebuilt as RFC 8785
// JSON and must be byte-identical. Errors: kMismatch (anything differs, including a DSSE bundle
// with a hashedrekord 0.0.1 entry and vice versa), kMalformed (body unreadable), kUnsupported
// (kind/version or signer key type). Thread-safe.
[[nodiscard]] Result<std::vector<std::uint8_t>> match_tlog_body(const TlogEntry& entry,
                                                                const LoggedSignature& expected);

}  // namespace modelgate::crypto
