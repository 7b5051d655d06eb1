// timestamp.h: RFC 3161 timestamp tokens as Sigstore bundles carry them (DER TimeStampResp over the
// signature bytes), verified with OpenSSL's TS code against the trusted root's timestamp
// authorities at the token's own genTime. Not a TSA client: tokens are never requested here.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "crypto/trusted_root.h"

namespace modelgate::crypto {

// verify_timestamp checks one DER TimeStampResp: status granted, TSTInfo v1, message imprint
// (SHA-256/384/512 only) over `signed_data`, CMS signature and ESS signer binding, the signer's
// path (EKU timeStamping) to some root.timestamp_authorities entry's last certificate, validated at
// genTime, and genTime ∈ that entry's validFor. Certificates embedded in the token are only ever
// intermediates. Returns genTime in unix seconds. Errors: kMalformed (not a TimeStampResp),
// kUnsupported (imprint hash), kUntrusted (no authority accepts it; the message carries the last
// reason), kMismatch (imprint). Thread-safe.
[[nodiscard]] Result<std::int64_t> verify_timestamp(std::span<const std::uint8_t> token_der,
                                                    std::span<const std::uint8_t> signed_data, const TrustedRoot& root);

// TimestampResults is the outcome of checking every token of a bundle.
struct TimestampResults {
  std::vector<std::int64_t> times;  // genTime of each token that verified, in bundle order
  std::vector<Error> rejected;      // why each other token did not count ("timestamp 2: ...")
};

// verify_timestamps runs verify_timestamp over `tokens` (the bundle parser already bounded their
// number and rejected duplicates). Invalid tokens do not count but are reported. Thread-safe.
TimestampResults verify_timestamps(const std::vector<std::vector<std::uint8_t>>& tokens,
                                   std::span<const std::uint8_t> signed_data, const TrustedRoot& root);

}  // namespace modelgate::crypto
