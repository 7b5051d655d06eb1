// fuzz-max-len: 16384
// keys_fuzz.cpp: public keys from arbitrary bytes into OpenSSL: PEM (SPKI), DER SPKI and PKCS#1
// RSAPublicKey, then every verifier over junk. Properties: never kInternal; a key that parses
// round-trips through spki_der() and canonical_pem() to an equal key with the same type and hint;
// its hint is 64 lowercase hex; a junk signature never verifies and fails as kBadSignature or
// kUnsupported (kMalformed only for a pre-hashed digest of the wrong length).
#include <cstdint>
#include <string>
#include <vector>

#include "crypto/keys.h"
#include "fuzz/fuzz_check.h"

namespace {

using namespace modelgate;
using namespace modelgate::crypto;

void check_junk_fails(const Result<void>& r, std::string_view what) {
  FUZZ_CHECK(!r.ok(), std::string(what) + ": a junk signature verified");
  fuzz::check_not_internal(r, what);
  FUZZ_CHECK(r.error().code == Code::kBadSignature || r.error().code == Code::kUnsupported ||
                 r.error().code == Code::kMalformed,
             std::string(what) + ": " + r.error().message);
}

void check_key(const PublicKey& key, std::span<const std::uint8_t> junk) {
  FUZZ_CHECK(key.get() != nullptr, "key present");
  (void)key_type_name(key.type());
  auto der = key.spki_der();
  FUZZ_CHECK(!der.empty(), "SPKI encodes");
  auto from_der = parse_public_key_der(der);
  FUZZ_CHECK(from_der.ok(), "spki_der() parses: " + (from_der.ok() ? std::string() : from_der.error().message));
  FUZZ_CHECK(from_der->equals(key) && from_der->type() == key.type(), "spki_der() round-trips");
  const std::string pem = key.canonical_pem();
  auto from_pem = parse_public_key_pem(pem);
  FUZZ_CHECK(from_pem.ok(), "canonical_pem() parses");
  FUZZ_CHECK(from_pem->equals(key) && from_pem->canonical_pem() == pem, "canonical_pem() round-trips");
  const std::string hint = public_key_hint(key);
  FUZZ_CHECK(hint.size() == 64 && hint.find_first_not_of("0123456789abcdef") == std::string::npos, "hint is hex");
  FUZZ_CHECK(public_key_hint(*from_pem) == hint, "hint is stable");

  const HashAlg alg = curve_hash(key);
  check_junk_fails(verify_signature(key, alg, junk, junk), "verify_signature");
  check_junk_fails(verify_signature_rsa_pss(key, HashAlg::kSha256, junk, junk), "verify_signature_rsa_pss");
  auto d = digest(alg, junk);
  check_junk_fails(verify_prehashed(key, alg, d, junk), "verify_prehashed");
  check_junk_fails(verify_prehashed(key, HashAlg::kSha512, junk.first(std::min<std::size_t>(junk.size(), 63)), junk),
                   "verify_prehashed (short digest)");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto bytes = fuzz::as_bytes(data, size);
  auto junk = bytes.first(std::min<std::size_t>(size, 72));

  auto pem = parse_public_key_pem(fuzz::as_text(data, size));
  fuzz::check_not_internal(pem, "parse_public_key_pem");
  if (pem.ok()) {
    check_key(*pem, junk);
  }
  auto der = parse_public_key_der(bytes);
  fuzz::check_not_internal(der, "parse_public_key_der");
  if (der.ok()) {
    check_key(*der, junk);
    FUZZ_CHECK(der->spki_der() == std::vector<std::uint8_t>(bytes.begin(), bytes.end()) ||
                   parse_public_key_der(der->spki_der()).ok(),
               "a DER key re-encodes");
  }
  auto rsa = parse_rsa_public_key_pkcs1(bytes);
  fuzz::check_not_internal(rsa, "parse_rsa_public_key_pkcs1");
  if (rsa.ok()) {
    FUZZ_CHECK(rsa->type() == KeyType::kRsa, "PKCS#1 gives an RSA key");
    check_key(*rsa, junk);
  }
  return 0;
}
