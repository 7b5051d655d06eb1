// encoding.h: strict hex and base64 codecs for untrusted input, and constant-time comparison.
// Not a JSON or PEM parser: these only turn text into bytes and back.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace modelgate::crypto {

// to_hex returns lowercase hex.
std::string to_hex(std::span<const std::uint8_t> bytes);

// from_hex decodes hex (either case). Errors: kMalformed on odd length or a non-hex character.
[[nodiscard]] Result<std::vector<std::uint8_t>> from_hex(std::string_view hex);

// is_lower_hex is true when `s` is non-empty, even-length lowercase hex.
bool is_lower_hex(std::string_view s);

// base64_encode returns standard base64 with padding (proto3 JSON `bytes`).
std::string base64_encode(std::span<const std::uint8_t> bytes);

// url_encode percent-encodes everything outside RFC 3986's unreserved set (query values: continue
// tokens, label selectors, token-endpoint scopes). Pure.
std::string url_encode(std::string_view s);

// base64_decode accepts the standard and URL-safe alphabets, with or without padding, and skips
// CR/LF (sigstore_verify.md §1). Anything else — other whitespace, '!' , misplaced '=', non-zero
// trailing bits, a 1-char final group — is kMalformed. Output is bounded by `max_bytes` (kLimit).
[[nodiscard]] Result<std::vector<std::uint8_t>> base64_decode(std::string_view text,
                                                              std::size_t max_bytes = SIZE_MAX);

// constant_time_equal compares with CRYPTO_memcmp; different lengths are unequal (the length is
// not secret). Use it for digests and MACs taken from untrusted input.
bool constant_time_equal(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b);

// as_bytes views a string's bytes.
inline std::span<const std::uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace modelgate::crypto
