#include "crypto/encoding.h"

#include <cctype>

#include <openssl/crypto.h>

#include <array>

namespace modelgate::crypto {

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr char kB64Std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// Decoding table for both alphabets ('+' and '-' are 62, '/' and '_' are 63); -1 = invalid.
constexpr std::array<std::int8_t, 256> make_b64_table() {
  std::array<std::int8_t, 256> t{};
  for (auto& v : t) {
    v = -1;
  }
  for (int i = 0; i < 64; ++i) {
    t[static_cast<unsigned char>(kB64Std[i])] = static_cast<std::int8_t>(i);
  }
  t[static_cast<unsigned char>('-')] = 62;
  t[static_cast<unsigned char>('_')] = 63;
  return t;
}
constexpr auto kB64Table = make_b64_table();

}  // namespace

std::string url_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
  std::string s;
  s.reserve(bytes.size() * 2);
  for (std::uint8_t b : bytes) {
    s.push_back(kHexDigits[b >> 4]);
    s.push_back(kHexDigits[b & 15]);
  }
  return s;
}

Result<std::vector<std::uint8_t>> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) {
    return make_error(Code::kMalformed, "hex string has odd length " + std::to_string(hex.size()));
  }
  std::vector<std::uint8_t> out(hex.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    int hi = hex_value(hex[2 * i]);
    int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return make_error(Code::kMalformed, "invalid hex character at offset " + std::to_string(hi < 0 ? 2 * i : 2 * i + 1));
    }
    out[i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return out;
}

bool is_lower_hex(std::string_view s) {
  if (s.empty() || s.size() % 2 != 0) {
    return false;
  }
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

std::string base64_encode(std::span<const std::uint8_t> bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out.push_back(kB64Std[(v >> 18) & 63]);
    out.push_back(kB64Std[(v >> 12) & 63]);
    out.push_back(kB64Std[(v >> 6) & 63]);
    out.push_back(kB64Std[v & 63]);
  }
  std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    std::uint32_t v = bytes[i] << 16;
    out.push_back(kB64Std[(v >> 18) & 63]);
    out.push_back(kB64Std[(v >> 12) & 63]);
    out.append("==");
  } else if (rest == 2) {
    std::uint32_t v = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out.push_back(kB64Std[(v >> 18) & 63]);
    out.push_back(kB64Std[(v >> 12) & 63]);
    out.push_back(kB64Std[(v >> 6) & 63]);
    out.push_back('=');
  }
  return out;
}

Result<std::vector<std::uint8_t>> base64_decode(std::string_view text, std::size_t max_bytes) {
  // Collect sextets, skipping CR/LF only; padding may appear only at the very end.
  std::vector<std::uint8_t> out;
  out.reserve(text.size() / 4 * 3 + 3);
  std::uint32_t acc = 0;
  int nbits_groups = 0;  // sextets in the current quantum
  std::size_t padding = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\r' || c == '\n') {
      continue;
    }
    if (c == '=') {
      ++padding;
      continue;
    }
    if (padding > 0) {
      return make_error(Code::kMalformed, "base64: data after padding at offset " + std::to_string(i));
    }
    std::int8_t v = kB64Table[static_cast<unsigned char>(c)];
    if (v < 0) {
      return make_error(Code::kMalformed, "base64: invalid character at offset " + std::to_string(i));
    }
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    if (++nbits_groups == 4) {
      if (out.size() + 3 > max_bytes) {
        return make_error(Code::kLimit, "base64: decoded data exceeds " + std::to_string(max_bytes) + " bytes");
      }
      out.push_back(static_cast<std::uint8_t>(acc >> 16));
      out.push_back(static_cast<std::uint8_t>(acc >> 8));
      out.push_back(static_cast<std::uint8_t>(acc));
      acc = 0;
      nbits_groups = 0;
    }
  }
  if (nbits_groups == 1) {
    return make_error(Code::kMalformed, "base64: truncated final group");
  }
  if (padding > 0 && (nbits_groups == 0 || padding != static_cast<std::size_t>(4 - nbits_groups))) {
    return make_error(Code::kMalformed, "base64: wrong amount of padding");
  }
  if (nbits_groups == 2) {
    if ((acc & 0xF) != 0) {
      return make_error(Code::kMalformed, "base64: non-zero trailing bits");
    }
    out.push_back(static_cast<std::uint8_t>(acc >> 4));
  } else if (nbits_groups == 3) {
    if ((acc & 0x3) != 0) {
      return make_error(Code::kMalformed, "base64: non-zero trailing bits");
    }
    out.push_back(static_cast<std::uint8_t>(acc >> 10));
    out.push_back(static_cast<std::uint8_t>(acc >> 2));
  }
  if (out.size() > max_bytes) {
    return make_error(Code::kLimit, "base64: decoded data exceeds " + std::to_string(max_bytes) + " bytes");
  }
  return out;
}

bool constant_time_equal(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  if (a.size() != b.size()) {
    return false;
  }
  if (a.empty()) {
    return true;
  }
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace modelgate::crypto
