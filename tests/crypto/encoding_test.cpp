#include <openssl/evp.h>

#include <catch2/catch.hpp>

#include "crypto/encoding.h"
#include "test_support.h"

using modelgate::Code;
namespace crypto = modelgate::crypto;

namespace {

// OpenSSL's EVP_EncodeBlock is the independent oracle for standard base64 with padding.
std::string openssl_b64(const std::vector<std::uint8_t>& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), in.data(), static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

}  // namespace

TEST_CASE("base64 encoding matches OpenSSL for every length up to 300", "[encoding]") {
  for (std::size_t n = 0; n <= 300; ++n) {
    auto data = modelgate::testing::random_bytes(n, n + 1);
    std::string ours = crypto::base64_encode(data);
    REQUIRE(ours == openssl_b64(data));
    auto back = crypto::base64_decode(openssl_b64(data));
    REQUIRE(back.ok());
    REQUIRE(*back == data);
  }
}

TEST_CASE("base64 decoding accepts url-safe, unpadded and line-wrapped input", "[encoding]") {
  // 0xfb 0xff 0xfe encodes to "+//+" (standard) and "-__-" (url-safe).
  std::vector<std::uint8_t> want = {0xfb, 0xff, 0xfe};
  REQUIRE(*crypto::base64_decode("+//+") == want);
  REQUIRE(*crypto::base64_decode("-__-") == want);
  REQUIRE(*crypto::base64_decode("aGk") == std::vector<std::uint8_t>{'h', 'i'});
  REQUIRE(*crypto::base64_decode("aGk=") == std::vector<std::uint8_t>{'h', 'i'});
  REQUIRE(*crypto::base64_decode("aG\r\nk=") == std::vector<std::uint8_t>{'h', 'i'});
}

TEST_CASE("base64 decoding rejects junk, misplaced padding and non-canonical tails", "[encoding]") {
  for (const char* bad : {"INVALID!!!BASE64!!!ENCODING====", "aGk= ", "a", "aGk==", "aG=k", "aGl=", "aR==", " aGk="}) {
    auto r = crypto::base64_decode(bad);
    INFO(bad);
    REQUIRE_FALSE(r.ok());
    REQUIRE(r.error().code == Code::kMalformed);
  }
}

TEST_CASE("base64 decoding stops at the output bound", "[encoding]") {
  auto r = crypto::base64_decode("AAAAAAAA", 5);
  REQUIRE_FALSE(r.ok());
  REQUIRE(r.error().code == Code::kLimit);
  REQUIRE(crypto::base64_decode("AAAAAAAA", 6).ok());
}

TEST_CASE("hex round-trips and rejects odd or non-hex input", "[encoding]") {
  auto data = modelgate::testing::random_bytes(100, 7);
  std::string hex = crypto::to_hex(data);
  REQUIRE(hex == modelgate::testing::to_hex(data));
  REQUIRE(*crypto::from_hex(hex) == data);
  REQUIRE(crypto::from_hex("abc").error().code == Code::kMalformed);
  REQUIRE(crypto::from_hex("zz").error().code == Code::kMalformed);
  REQUIRE(crypto::is_lower_hex("00ff"));
  REQUIRE_FALSE(crypto::is_lower_hex("00FF"));
  REQUIRE_FALSE(crypto::is_lower_hex(""));
}

TEST_CASE("constant-time comparison distinguishes content and length", "[encoding]") {
  std::vector<std::uint8_t> a = {1, 2, 3}, b = {1, 2, 3}, c = {1, 2, 4}, d = {1, 2};
  REQUIRE(crypto::constant_time_equal(a, b));
  REQUIRE_FALSE(crypto::constant_time_equal(a, c));
  REQUIRE_FALSE(crypto::constant_time_equal(a, d));
}
