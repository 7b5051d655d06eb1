#include "crypto/keys.h"

#include "base/read_file.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <climits>
#include <fstream>
#include <iterator>

#include "base/limits.h"
#include "crypto/encoding.h"
#include "crypto/ossl.h"

namespace modelgate::crypto {

namespace {

const EVP_MD* evp_md(HashAlg alg) {
  switch (alg) {
    case HashAlg::kSha256: return EVP_sha256();
    case HashAlg::kSha384: return EVP_sha384();
    case HashAlg::kSha512: return EVP_sha512();
  }
  return EVP_sha256();
}

std::size_t digest_size(HashAlg alg) {
  switch (alg) {
    case HashAlg::kSha256: return 32;
    case HashAlg::kSha384: return 48;
    case HashAlg::kSha512: return 64;
  }
  return 32;
}

KeyType classify(EVP_PKEY* pkey) {
  if (EVP_PKEY_is_a(pkey, "ED25519")) {
    return KeyType::kEd25519;
  }
  if (EVP_PKEY_is_a(pkey, "RSA")) {
    return KeyType::kRsa;
  }
  if (EVP_PKEY_is_a(pkey, "EC")) {
    char group[64] = {0};
    std::size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) != 1) {
      ossl::clear_errors();
      return KeyType::kOther;
    }
    std::string_view g(group, len);
    if (g == "prime256v1" || g == "P-256") {
      return KeyType::kEcdsaP256;
    }
    if (g == "secp384r1" || g == "P-384") {
      return KeyType::kEcdsaP384;
    }
    if (g == "secp521r1" || g == "P-521") {
      return KeyType::kEcdsaP521;
    }
  }
  return KeyType::kOther;
}

std::shared_ptr<EVP_PKEY> share(EVP_PKEY* p) {
  return std::shared_ptr<EVP_PKEY>(p, EVP_PKEY_free);
}

Result<std::string> read_small_file(const std::filesystem::path& path) {
  auto r = read_regular_file(path, limits::kMaxKeyFileBytes);
  if (!r.ok()) {
    return std::move(r).error().context(path.string());
  }
  return std::move(r).value();
}

bool looks_like_pem(std::string_view text) {
  return text.find("-----BEGIN ") != std::string_view::npos;
}

// One-shot EVP_DigestVerify with optional RSA-PSS padding.
Result<void> digest_verify(const PublicKey& key, const EVP_MD* md, std::span<const std::uint8_t> data,
                           std::span<const std::uint8_t> sig, bool pss) {
  ossl::Ptr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  if (!ctx) {
    return ossl::take_error(Code::kInternal, "cannot allocate digest context");
  }
  EVP_PKEY_CTX* pctx = nullptr;
  if (EVP_DigestVerifyInit(ctx.get(), &pctx, md, nullptr, key.get()) != 1) {
    return ossl::take_error(Code::kUnsupported, "cannot verify with this key");
  }
  if (pss) {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) != 1) {
      return ossl::take_error(Code::kInternal, "cannot set RSA-PSS parameters");
    }
  }
  int rc = EVP_DigestVerify(ctx.get(), sig.data(), sig.size(), data.data(), data.size());
  if (rc != 1) {
    ossl::clear_errors();
    return make_error(Code::kBadSignature, "signature does not verify");
  }
  return ok_status();
}

}  // namespace

std::string_view hash_name(HashAlg alg) {
  switch (alg) {
    case HashAlg::kSha256: return "sha256";
    case HashAlg::kSha384: return "sha384";
    case HashAlg::kSha512: return "sha512";
  }
  return "sha256";
}

std::string_view key_type_name(KeyType type) {
  switch (type) {
    case KeyType::kEcdsaP256: return "ECDSA P-256";
    case KeyType::kEcdsaP384: return "ECDSA P-384";
    case KeyType::kEcdsaP521: return "ECDSA P-521";
    case KeyType::kEd25519: return "Ed25519";
    case KeyType::kRsa: return "RSA";
    case KeyType::kOther: return "other";
  }
  return "other";
}

std::vector<std::uint8_t> digest(HashAlg alg, std::span<const std::uint8_t> data) {
  std::vector<std::uint8_t> out(digest_size(alg));
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, evp_md(alg), nullptr) != 1 || len != out.size()) {
    // Only fails on allocation failure; a digest we cannot compute is a broken invariant.
    std::abort();
  }
  return out;
}

PublicKey::PublicKey(std::shared_ptr<EVP_PKEY> pkey) : pkey_(std::move(pkey)) {
  if (!pkey_) {
    std::abort();
  }
  type_ = classify(pkey_.get());
}

std::vector<std::uint8_t> PublicKey::spki_der() const {
  int len = i2d_PUBKEY(pkey_.get(), nullptr);
  if (len <= 0) {
    std::abort();
  }
  std::vector<std::uint8_t> out(static_cast<std::size_t>(len));
  unsigned char* p = out.data();
  if (i2d_PUBKEY(pkey_.get(), &p) != len) {
    std::abort();
  }
  return out;
}

std::string PublicKey::canonical_pem() const {
  std::string b64 = base64_encode(spki_der());
  std::string out = "-----BEGIN PUBLIC KEY-----\n";
  for (std::size_t i = 0; i < b64.size(); i += 64) {
    out.append(b64, i, 64).push_back('\n');
  }
  out += "-----END PUBLIC KEY-----\n";
  return out;
}

bool PublicKey::equals(const PublicKey& other) const {
  return spki_der() == other.spki_der();
}

PrivateKey::PrivateKey(std::shared_ptr<EVP_PKEY> pkey) : pkey_(std::move(pkey)) {
  if (!pkey_) {
    std::abort();
  }
  type_ = classify(pkey_.get());
}

PublicKey PrivateKey::public_key() const {
  int len = i2d_PUBKEY(pkey_.get(), nullptr);
  std::vector<std::uint8_t> der(static_cast<std::size_t>(len > 0 ? len : 0));
  unsigned char* p = der.data();
  if (len <= 0 || i2d_PUBKEY(pkey_.get(), &p) != len) {
    std::abort();
  }
  auto pub = parse_public_key_der(der);
  if (!pub.ok()) {
    std::abort();
  }
  return std::move(pub).value();
}

Result<PublicKey> parse_public_key_der(std::span<const std::uint8_t> spki) {
  if (spki.size() > limits::kMaxKeyFileBytes) {
    return make_error(Code::kLimit, "public key is " + std::to_string(spki.size()) + " bytes");
  }
  const unsigned char* p = spki.data();
  EVP_PKEY* raw = d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.size()));
  if (raw == nullptr) {
    return ossl::take_error(Code::kMalformed, "public key: not a DER SubjectPublicKeyInfo");
  }
  auto key = share(raw);
  if (p != spki.data() + spki.size()) {
    return make_error(Code::kMalformed, "public key: trailing bytes after the SubjectPublicKeyInfo");
  }
  return PublicKey(std::move(key));
}

Result<PublicKey> parse_rsa_public_key_pkcs1(std::span<const std::uint8_t> der) {
  if (der.size() > limits::kMaxKeyFileBytes) {
    return make_error(Code::kLimit, "public key is " + std::to_string(der.size()) + " bytes");
  }
  const unsigned char* p = der.data();
  EVP_PKEY* raw = d2i_PublicKey(EVP_PKEY_RSA, nullptr, &p, static_cast<long>(der.size()));
  if (raw == nullptr) {
    return ossl::take_error(Code::kMalformed, "public key: not a DER PKCS#1 RSAPublicKey");
  }
  auto key = share(raw);
  if (p != der.data() + der.size()) {
    return make_error(Code::kMalformed, "public key: trailing bytes after the RSAPublicKey");
  }
  return PublicKey(std::move(key));
}

Result<PublicKey> parse_public_key_pem(std::string_view pem) {
  if (pem.size() > limits::kMaxKeyFileBytes) {
    return make_error(Code::kLimit, "public key PEM is " + std::to_string(pem.size()) + " bytes");
  }
  auto bio = ossl::mem_bio(pem);
  if (!bio) {
    return ossl::take_error(Code::kInternal, "cannot allocate BIO");
  }
  EVP_PKEY* raw = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  if (raw == nullptr) {
    return ossl::take_error(Code::kMalformed, "public key: no valid PEM \"PUBLIC KEY\" block");
  }
  return PublicKey(share(raw));
}

Result<PublicKey> load_public_key_file(const std::filesystem::path& path) {
  MG_ASSIGN_OR_RETURN(std::string data, read_small_file(path));
  auto r = looks_like_pem(data) ? parse_public_key_pem(data) : parse_public_key_der(as_bytes(data));
  if (!r.ok()) {
    return std::move(r).error().context(path.string());
  }
  return std::move(r).value();
}

Result<PrivateKey> load_private_key_file(const std::filesystem::path& path,
                                         const std::optional<std::string>& password) {
  MG_ASSIGN_OR_RETURN(std::string data, read_small_file(path));
  auto bio = ossl::mem_bio(data);
  if (!bio) {
    return ossl::take_error(Code::kInternal, "cannot allocate BIO");
  }
  // A null passphrase callback with a null u would prompt on the terminal; pass "" instead so an
  // encrypted key without --password fails cleanly.
  std::string pass = password.value_or("");
  EVP_PKEY* raw = nullptr;
  if (looks_like_pem(data)) {
    raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, pass.data());
  } else {
    raw = d2i_PrivateKey_bio(bio.get(), nullptr);
  }
  if (raw == nullptr) {
    return ossl::take_error(Code::kMalformed, path.string() + ": cannot read private key (wrong format or password)");
  }
  return PrivateKey(share(raw));
}

Result<PrivateKey> generate_private_key(KeyType type) {
  EVP_PKEY* raw = nullptr;
  switch (type) {
    case KeyType::kEcdsaP256: raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"); break;
    case KeyType::kEcdsaP384: raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"); break;
    case KeyType::kEcdsaP521: raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-521"); break;
    case KeyType::kEd25519: raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"); break;
    case KeyType::kRsa: raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(3072)); break;
    case KeyType::kOther: return make_error(Code::kUnsupported, "cannot generate a key of type other");
  }
  if (raw == nullptr) {
    return ossl::take_error(Code::kInternal, "cannot generate key");
  }
  return PrivateKey(share(raw));
}

std::string public_key_hint(const PublicKey& key) {
  std::string pem = key.canonical_pem();
  return to_hex(digest(HashAlg::kSha256, as_bytes(pem)));
}

HashAlg curve_hash(const PublicKey& key) {
  switch (key.type()) {
    case KeyType::kEcdsaP384: return HashAlg::kSha384;
    case KeyType::kEcdsaP521: return HashAlg::kSha512;
    default: return HashAlg::kSha256;
  }
}

Result<void> verify_signature(const PublicKey& key, HashAlg alg, std::span<const std::uint8_t> data,
                              std::span<const std::uint8_t> sig) {
  if (key.type() == KeyType::kEd25519) {
    return digest_verify(key, nullptr, data, sig, false);
  }
  if (is_ecdsa(key.type()) || key.type() == KeyType::kRsa) {
    return digest_verify(key, evp_md(alg), data, sig, false);
  }
  return make_error(Code::kUnsupported, "unsupported key type for signatures");
}

Result<void> verify_signature_rsa_pss(const PublicKey& key, HashAlg alg, std::span<const std::uint8_t> data,
                                      std::span<const std::uint8_t> sig) {
  if (key.type() != KeyType::kRsa) {
    return make_error(Code::kUnsupported, "RSA-PSS needs an RSA key, got " + std::string(key_type_name(key.type())));
  }
  return digest_verify(key, evp_md(alg), data, sig, true);
}

Result<void> verify_prehashed(const PublicKey& key, HashAlg alg, std::span<const std::uint8_t> digest_bytes,
                              std::span<const std::uint8_t> sig) {
  if (!is_ecdsa(key.type()) && key.type() != KeyType::kRsa) {
    return make_error(Code::kUnsupported,
                      "cannot verify a pre-hashed " + std::string(key_type_name(key.type())) + " signature");
  }
  if (digest_bytes.size() != digest_size(alg)) {
    return make_error(Code::kMalformed, "digest is " + std::to_string(digest_bytes.size()) + " bytes, " +
                                            std::string(hash_name(alg)) + " needs " + std::to_string(digest_size(alg)));
  }
  ossl::Ptr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new(key.get(), nullptr));
  if (!ctx || EVP_PKEY_verify_init(ctx.get()) != 1) {
    return ossl::take_error(Code::kInternal, "cannot initialise verification");
  }
  if (key.type() == KeyType::kRsa && EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1) {
    return ossl::take_error(Code::kInternal, "cannot set RSA padding");
  }
  if (EVP_PKEY_CTX_set_signature_md(ctx.get(), evp_md(alg)) != 1) {
    return ossl::take_error(Code::kInternal, "cannot set the signature digest");
  }
  if (EVP_PKEY_verify(ctx.get(), sig.data(), sig.size(), digest_bytes.data(), digest_bytes.size()) != 1) {
    ossl::clear_errors();
    return make_error(Code::kBadSignature, "signature does not verify");
  }
  return ok_status();
}

Result<std::vector<std::uint8_t>> sign_data(const PrivateKey& key, HashAlg alg, std::span<const std::uint8_t> data) {
  const EVP_MD* md = nullptr;
  if (key.type() == KeyType::kEd25519) {
    md = nullptr;
  } else if (is_ecdsa(key.type()) || key.type() == KeyType::kRsa) {
    md = evp_md(alg);
  } else {
    return make_error(Code::kUnsupported, "unsupported key type for signing");
  }
  ossl::Ptr<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key.get()) != 1) {
    return ossl::take_error(Code::kInternal, "cannot initialise signing");
  }
  std::size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, data.data(), data.size()) != 1) {
    return ossl::take_error(Code::kInternal, "cannot size signature");
  }
  std::vector<std::uint8_t> sig(len);
  if (EVP_DigestSign(ctx.get(), sig.data(), &len, data.data(), data.size()) != 1) {
    return ossl::take_error(Code::kInternal, "cannot sign");
  }
  sig.resize(len);
  return sig;
}

}  // namespace modelgate::crypto
