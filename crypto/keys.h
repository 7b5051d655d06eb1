// keys.h: public and private keys (ECDSA P-256/384/521, Ed25519, RSA) and the signature schemes
// Sigstore and model_signing use, on top of OpenSSL 3.0 EVP. Not a key store and not a signer
// service: keys come from files or DER handed in by the caller; no key generation policy lives here.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace modelgate::crypto {

enum class HashAlg { kSha256, kSha384, kSha512 };
enum class KeyType { kEcdsaP256, kEcdsaP384, kEcdsaP521, kEd25519, kRsa, kOther };

// hash_name returns "sha256" / "sha384" / "sha512" (the in-toto / hashedrekord 0.0.1 spelling).
std::string_view hash_name(HashAlg alg);
// is_ecdsa is true for the ECDSA curves (P-256/384/521): the only keys model_signing signs with.
constexpr bool is_ecdsa(KeyType t) {
  return t == KeyType::kEcdsaP256 || t == KeyType::kEcdsaP384 || t == KeyType::kEcdsaP521;
}

// key_type_name returns a short human name ("ECDSA P-256", "Ed25519", "RSA", "other").
std::string_view key_type_name(KeyType type);
// digest returns Hash(data) with OpenSSL EVP (32/48/64 bytes). Thread-safe.
std::vector<std::uint8_t> digest(HashAlg alg, std::span<const std::uint8_t> data);

// PublicKey is an immutable public key. Copies share the underlying EVP_PKEY (which OpenSSL
// allows to be used from several threads at once for verification). Thread-safe.
class PublicKey {
 public:
  // PublicKey takes shared ownership of `pkey` (must be non-null; holds a public key).
  explicit PublicKey(std::shared_ptr<EVP_PKEY> pkey);
  KeyType type() const { return type_; }
  EVP_PKEY* get() const { return pkey_.get(); }
  // spki_der returns the DER SubjectPublicKeyInfo.
  std::vector<std::uint8_t> spki_der() const;
  // canonical_pem returns "-----BEGIN PUBLIC KEY-----\n" + base64(SPKI) wrapped at 64 columns +
  // "\n-----END PUBLIC KEY-----\n" (what PEM_write_PUBKEY and Go's pem.EncodeToMemory produce).
  std::string canonical_pem() const;
  // equals compares the SPKI encodings.
  bool equals(const PublicKey& other) const;

 private:
  std::shared_ptr<EVP_PKEY> pkey_;
  KeyType type_;
};

// PrivateKey is an immutable private key. Copies share the EVP_PKEY. Thread-safe.
class PrivateKey {
 public:
  explicit PrivateKey(std::shared_ptr<EVP_PKEY> pkey);
  KeyType type() const { return type_; }
  EVP_PKEY* get() const { return pkey_.get(); }
  // public_key returns the matching public key (a separate EVP_PKEY holding no secret).
  PublicKey public_key() const;

 private:
  std::shared_ptr<EVP_PKEY> pkey_;
  KeyType type_;
};

// parse_public_key_pem reads one PEM "PUBLIC KEY" (SPKI) block; text around it is ignored.
// Errors: kMalformed (no block, bad base64/DER), kLimit (> limits::kMaxKeyFileBytes). Thread-safe.
[[nodiscard]] Result<PublicKey> parse_public_key_pem(std::string_view pem);
// parse_public_key_der reads a DER SubjectPublicKeyInfo; trailing bytes are kMalformed.
[[nodiscard]] Result<PublicKey> parse_public_key_der(std::span<const std::uint8_t> spki);
// parse_rsa_public_key_pkcs1 reads a DER PKCS#1 RSAPublicKey (trusted-root keyDetails
// PKCS1_RSA_PKCS1V5). Errors: kMalformed.
[[nodiscard]] Result<PublicKey> parse_rsa_public_key_pkcs1(std::span<const std::uint8_t> der);
// load_public_key_file reads a PEM or DER SPKI file. Errors: kNotFound, kIo, kLimit, kMalformed.
[[nodiscard]] Result<PublicKey> load_public_key_file(const std::filesystem::path& path);
// load_private_key_file reads a PEM (PKCS#8, SEC1 or PKCS#1; encrypted if `password` is given) or
// DER PKCS#8 private key. Errors: kNotFound, kIo, kLimit, kMalformed (also a wrong password).
[[nodiscard]] Result<PrivateKey> load_private_key_file(const std::filesystem::path& path,
                                                       const std::optional<std::string>& password);
// generate_private_key makes a fresh key of `type` (ECDSA curves, Ed25519; RSA = 3072 bits).
// Errors: kUnsupported for kOther, kInternal if OpenSSL fails.
[[nodiscard]] Result<PrivateKey> generate_private_key(KeyType type);

// public_key_hint is the lowercase hex SHA-256 of canonical_pem() (model_signing.md §3.1).
std::string public_key_hint(const PublicKey& key);

// curve_hash: P-256 → SHA-256, P-384 → SHA-384, P-521 → SHA-512, anything else → SHA-256.
HashAlg curve_hash(const PublicKey& key);

// verify_signature checks `sig` over `data`: ECDSA (DER signature) and RSA PKCS#1 v1.5 with Hash
// `alg`; Ed25519 is pure RFC 8032 (`alg` ignored). Errors: kBadSignature when the math says no
// (including a signature that is not valid DER), kUnsupported for other key types. Thread-safe.
[[nodiscard]] Result<void> verify_signature(const PublicKey& key, HashAlg alg, std::span<const std::uint8_t> data,
                                            std::span<const std::uint8_t> sig);
// verify_signature_rsa_pss checks an RSASSA-PSS signature (MGF1 with `alg`, salt length = digest
// length). Errors: kBadSignature, kUnsupported for non-RSA keys.
[[nodiscard]] Result<void> verify_signature_rsa_pss(const PublicKey& key, HashAlg alg,
                                                    std::span<const std::uint8_t> data,
                                                    std::span<const std::uint8_t> sig);
// verify_prehashed checks `sig` over an already computed `digest` (which must be the length of
// `alg`'s output, else kMalformed). ECDSA and RSA PKCS#1 v1.5 only; Ed25519 → kUnsupported.
[[nodiscard]] Result<void> verify_prehashed(const PublicKey& key, HashAlg alg, std::span<const std::uint8_t> digest,
                                            std::span<const std::uint8_t> sig);
// sign_data signs `data`: ECDSA (DER output) and RSA PKCS#1 v1.5 with Hash `alg`, Ed25519 pure.
// Errors: kUnsupported, kInternal. Thread-safe.
[[nodiscard]] Result<std::vector<std::uint8_t>> sign_data(const PrivateKey& key, HashAlg alg,
                                                          std::span<const std::uint8_t> data);

}  // namespace modelgate::crypto
