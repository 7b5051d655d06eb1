// utf8.h: the one UTF-8 validator every module uses for untrusted names (file names, resource
// names, policy text, log values). Not a transcoder: it only decodes to check and classify.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace modelgate {

// utf8_decode decodes the sequence at s[i] (i < s.size()) when it is well-formed per Unicode
// table 3-7 (RFC 3629: shortest form, no surrogates, at most U+10FFFF): sets `cp` and returns its
// length 1-4. Returns 0 for an ill-formed or truncated sequence (`cp` is then unspecified).
constexpr std::size_t utf8_decode(std::string_view s, std::size_t i, std::uint32_t& cp) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) {
    cp = c;
    return 1;
  }
  std::size_t len = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
    cp = c & 0x1Fu;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    cp = c & 0x0Fu;
    lo = c == 0xE0 ? 0xA0 : 0x80;  // no overlongs
    hi = c == 0xED ? 0x9F : 0xBF;  // no surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    cp = c & 0x07u;
    lo = c == 0xF0 ? 0x90 : 0x80;  // no overlongs
    hi = c == 0xF4 ? 0x8F : 0xBF;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  if (i + len > s.size()) {
    return 0;
  }
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) {
      return 0;
    }
    cp = (cp << 6) | (b & 0x3Fu);
  }
  return len;
}

// utf8_sequence_length is utf8_decode without the code point.
constexpr std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  std::uint32_t cp = 0;
  return utf8_decode(s, i, cp);
}

// first_invalid_utf8 returns the offset of the first byte that does not start a well-formed
// sequence, or std::string_view::npos when all of `s` is valid UTF-8.
constexpr std::size_t first_invalid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = utf8_sequence_length(s, i);
    if (n == 0) {
      return i;
    }
    i += n;
  }
  return std::string_view::npos;
}

constexpr bool is_valid_utf8(std::string_view s) { return first_invalid_utf8(s) == std::string_view::npos; }

// The table 3-7 boundaries, checked at compile time.
static_assert(is_valid_utf8("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF"));
static_assert(!is_valid_utf8("\xC0\xAF"));          // overlong '/'
static_assert(!is_valid_utf8("\xE0\x80\xAF"));      // overlong
static_assert(!is_valid_utf8("\xED\xA0\x80"));      // surrogate U+D800
static_assert(!is_valid_utf8("\xF4\x90\x80\x80"));  // U+110000
static_assert(!is_valid_utf8("\xE2\x82"));          // truncated

}  // namespace modelgate
