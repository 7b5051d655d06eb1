// json.h: strict JSON for untrusted documents (bundles, statements, trusted roots, AdmissionReview):
// a size cap, a depth cap, duplicate keys rejected, and typed field accessors whose errors name the
// JSON path. Not a schema validator: callers check shapes with the accessors.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace modelgate::crypto {

using Json = nlohmann::json;

struct JsonLimits {
  std::size_t max_bytes;
  std::size_t max_depth;
};

// parse_json parses `text` as one JSON value. Errors: kLimit (bigger than max_bytes, nested deeper
// than max_depth), kMalformed (syntax, with the byte offset; duplicate object key; invalid UTF-8; a NUL
// byte anywhere, which nlohmann would take for the end of input).
// Thread-safe.
[[nodiscard]] Result<Json> parse_json(std::string_view text, const JsonLimits& limits);

// Field accessors for protobuf-JSON style objects. `path` is where `obj` sits ("bundle.
// verificationMaterial"); error messages read "<path>.<key>: expected string". A JSON null counts
// as absent (proto3 JSON).
const Json* find_field(const Json& obj, std::string_view key);
[[nodiscard]] Result<std::string> get_string(const Json& obj, std::string_view key, std::string_view path);
[[nodiscard]] Result<const Json*> get_object(const Json& obj, std::string_view key, std::string_view path);
[[nodiscard]] Result<const Json*> get_array(const Json& obj, std::string_view key, std::string_view path);
[[nodiscard]] Result<bool> get_bool(const Json& obj, std::string_view key, std::string_view path);
// get_int64 accepts a JSON integer or a decimal string (proto3 int64), rejecting fractions,
// exponents, overflow and signs other than a leading '-'.
[[nodiscard]] Result<std::int64_t> get_int64(const Json& obj, std::string_view key, std::string_view path);
// get_bytes decodes a base64 `bytes` field (encoding.h rules), bounded by max_bytes.
[[nodiscard]] Result<std::vector<std::uint8_t>> get_bytes(const Json& obj, std::string_view key,
                                                          std::string_view path, std::size_t max_bytes);

// check_known_fields rejects (kMalformed) any key of `obj` not in `known`, naming it.
[[nodiscard]] Result<void> check_known_fields(const Json& obj, std::initializer_list<std::string_view> known,
                                              std::string_view path);

}  // namespace modelgate::crypto
