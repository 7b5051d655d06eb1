// keys_test.cpp: keys and signature schemes, cross-checked against the openssl CLI in both directions.
#include "crypto/keys.h"

#include <catch2/catch.hpp>

#include "crypto/encoding.h"
#include "crypto/sigstore_fixtures.h"
#include "test_support.h"

namespace {

using namespace modelgate;
using namespace modelgate::crypto;
using namespace modelgate::testing;
using namespace modelgate::testing::sigstore;

struct KeyFiles {
  fs::path priv;
  fs::path pub;
};

KeyFiles openssl_key(const TempDir& dir, const std::string& name, std::vector<std::string> genpkey_args) {
  KeyFiles k{dir / (name + ".pem"), dir / (name + ".pub.pem")};
  std::vector<std::string> args = {"genpkey"};
  args.insert(args.end(), genpkey_args.begin(), genpkey_args.end());
  args.insert(args.end(), {"-out", k.priv.string()});
  openssl(args);
  openssl({"pkey", "-in", k.priv.string(), "-pubout", "-out", k.pub.string()});
  return k;
}

std::vector<std::uint8_t> bytes_of(std::string_view s) {
  return {s.begin(), s.end()};
}

}  // namespace

TEST_CASE("public_key_hint of the model_signing test key is the upstream value", "[sigstore][keys]") {
  auto key = load_public_key_file(vectors_dir() / "model_signing/scripts/tests/keys/certificate/signing-key-pub.pem");
  REQUIRE(key.ok());
  CHECK(public_key_hint(*key) == "e8450dec4eb99dae995da9af1bc2cc9f76ed669ee2e744f57abba763df3e3f8e");
}

TEST_CASE("canonical_pem is what openssl writes for the same key", "[sigstore][keys]") {
  TempDir dir;
  for (std::string curve : {"P-256", "P-384", "P-521"}) {
    auto k = openssl_key(dir, curve, {"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:" + curve});
    auto key = load_public_key_file(k.pub);
    REQUIRE(key.ok());
    CHECK(key->canonical_pem() == read_file(k.pub));
    // DER input gives the same key.
    fs::path der = dir / (curve + ".der");
    openssl({"pkey", "-pubin", "-in", k.pub.string(), "-outform", "DER", "-out", der.string()});
    auto from_der = load_public_key_file(der);
    REQUIRE(from_der.ok());
    CHECK(from_der->equals(*key));
    CHECK(from_der->spki_der() == read_bytes(der));
  }
}

TEST_CASE("key types and curve hashes follow the curve", "[sigstore][keys]") {
  TempDir dir;
  struct Case {
    std::vector<std::string> args;
    KeyType type;
    HashAlg hash;
  } cases[] = {
      {{"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"}, KeyType::kEcdsaP256, HashAlg::kSha256},
      {{"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"}, KeyType::kEcdsaP384, HashAlg::kSha384},
      {{"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"}, KeyType::kEcdsaP521, HashAlg::kSha512},
      {{"-algorithm", "ED25519"}, KeyType::kEd25519, HashAlg::kSha256},
      {{"-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"}, KeyType::kRsa, HashAlg::kSha256},
      {{"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:secp256k1"}, KeyType::kOther, HashAlg::kSha256},
  };
  int n = 0;
  for (const auto& c : cases) {
    auto k = openssl_key(dir, "k" + std::to_string(n++), c.args);
    auto pub = load_public_key_file(k.pub);
    auto priv = load_private_key_file(k.priv, std::nullopt);
    REQUIRE(pub.ok());
    REQUIRE(priv.ok());
    CHECK(pub->type() == c.type);
    CHECK(priv->type() == c.type);
    CHECK(curve_hash(*pub) == c.hash);
    CHECK(priv->public_key().equals(*pub));
  }
}

TEST_CASE("ECDSA P-384 signatures made by openssl verify, and ours verify in openssl", "[sigstore][keys]") {
  TempDir dir;
  auto k = openssl_key(dir, "p384", {"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"});
  auto data = random_bytes(1000, 7);
  write_file(dir / "data", std::string(data.begin(), data.end()));
  openssl({"dgst", "-sha384", "-sign", k.priv.string(), "-out", (dir / "sig").string(), (dir / "data").string()});
  auto pub = load_public_key_file(k.pub);
  REQUIRE(pub.ok());
  auto sig = read_bytes(dir / "sig");
  CHECK(verify_signature(*pub, HashAlg::kSha384, data, sig).ok());

  auto wrong_hash = verify_signature(*pub, HashAlg::kSha256, data, sig);
  REQUIRE_FALSE(wrong_hash.ok());
  CHECK(wrong_hash.error().code == Code::kBadSignature);
  auto tampered = data;
  tampered[500] ^= 1;
  auto bad = verify_signature(*pub, HashAlg::kSha384, tampered, sig);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == Code::kBadSignature);
  CHECK(bad.error().message == "signature does not verify");
  // A signature that is not even DER is a bad signature, not a crash or a parse error.
  auto junk = verify_signature(*pub, HashAlg::kSha384, data, bytes_of("not a signature"));
  REQUIRE_FALSE(junk.ok());
  CHECK(junk.error().code == Code::kBadSignature);

  auto priv = load_private_key_file(k.priv, std::nullopt);
  REQUIRE(priv.ok());
  auto ours = sign_data(*priv, HashAlg::kSha384, data);
  REQUIRE(ours.ok());
  write_file(dir / "ours.sig", std::string(ours->begin(), ours->end()));
  CHECK(openssl({"dgst", "-sha384", "-verify", k.pub.string(), "-signature", (dir / "ours.sig").string(),
                 (dir / "data").string()})
            .find("Verified OK") != std::string::npos);
}

TEST_CASE("a pre-hashed ECDSA signature verifies against the sha256sum of the data", "[sigstore][keys]") {
  TempDir dir;
  auto k = openssl_key(dir, "p256", {"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"});
  write_file(dir / "data", "artifact bytes");
  openssl({"dgst", "-sha256", "-sign", k.priv.string(), "-out", (dir / "sig").string(), (dir / "data").string()});
  auto pub = load_public_key_file(k.pub);
  REQUIRE(pub.ok());
  auto digest_bytes = from_hex(sha256sum_hex(dir / "data"));
  REQUIRE(digest_bytes.ok());
  CHECK(verify_prehashed(*pub, HashAlg::kSha256, *digest_bytes, read_bytes(dir / "sig")).ok());
  auto other = *digest_bytes;
  other[0] ^= 1;
  auto r = verify_prehashed(*pub, HashAlg::kSha256, other, read_bytes(dir / "sig"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Code::kBadSignature);
  auto short_digest = verify_prehashed(*pub, HashAlg::kSha384, *digest_bytes, read_bytes(dir / "sig"));
  REQUIRE_FALSE(short_digest.ok());
  CHECK(short_digest.error().code == Code::kMalformed);
}

TEST_CASE("Ed25519 signatures interoperate with openssl pkeyutl -rawin", "[sigstore][keys]") {
  TempDir dir;
  auto k = openssl_key(dir, "ed", {"-algorithm", "ED25519"});
  write_file(dir / "data", "DSSEv1 28 application/vnd.in-toto+json 2 {}");
  openssl({"pkeyutl", "-sign", "-rawin", "-inkey", k.priv.string(), "-in", (dir / "data").string(), "-out",
           (dir / "sig").string()});
  auto pub = load_public_key_file(k.pub);
  REQUIRE(pub.ok());
  auto data = read_bytes(dir / "data");
  CHECK(verify_signature(*pub, HashAlg::kSha512, data, read_bytes(dir / "sig")).ok());
  auto pre = verify_prehashed(*pub, HashAlg::kSha256, digest(HashAlg::kSha256, data), read_bytes(dir / "sig"));
  REQUIRE_FALSE(pre.ok());
  CHECK(pre.error().code == Code::kUnsupported);

  auto priv = load_private_key_file(k.priv, std::nullopt);
  REQUIRE(priv.ok());
  auto ours = sign_data(*priv, HashAlg::kSha256, data);
  REQUIRE(ours.ok());
  write_file(dir / "ours.sig", std::string(ours->begin(), ours->end()));
  CHECK(openssl({"pkeyutl", "-verify", "-rawin", "-pubin", "-inkey", k.pub.string(), "-in", (dir / "data").string(),
                 "-sigfile", (dir / "ours.sig").string()})
            .find("Signature Verified Successfully") != std::string::npos);
}

TEST_CASE("RSA PKCS#1 v1.5 and PSS signatures from openssl verify only under their own padding", "[sigstore][keys]") {
  TempDir dir;
  auto k = openssl_key(dir, "rsa", {"-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"});
  write_file(dir / "data", "rsa data");
  openssl({"dgst", "-sha256", "-sign", k.priv.string(), "-out", (dir / "pkcs1.sig").string(), (dir / "data").string()});
  openssl({"dgst", "-sha256", "-sign", k.priv.string(), "-sigopt", "rsa_padding_mode:pss", "-sigopt",
           "rsa_pss_saltlen:digest", "-out", (dir / "pss.sig").string(), (dir / "data").string()});
  auto pub = load_public_key_file(k.pub);
  REQUIRE(pub.ok());
  auto data = read_bytes(dir / "data");
  CHECK(verify_signature(*pub, HashAlg::kSha256, data, read_bytes(dir / "pkcs1.sig")).ok());
  CHECK(verify_signature_rsa_pss(*pub, HashAlg::kSha256, data, read_bytes(dir / "pss.sig")).ok());
  auto crossed = verify_signature(*pub, HashAlg::kSha256, data, read_bytes(dir / "pss.sig"));
  REQUIRE_FALSE(crossed.ok());
  CHECK(crossed.error().code == Code::kBadSignature);
  auto crossed2 = verify_signature_rsa_pss(*pub, HashAlg::kSha256, data, read_bytes(dir / "pkcs1.sig"));
  REQUIRE_FALSE(crossed2.ok());
  CHECK(crossed2.error().code == Code::kBadSignature);

  // PKCS#1 RSAPublicKey DER (trusted-root keyDetails PKCS1_RSA_PKCS1V5) is the same key.
  fs::path pkcs1 = dir / "rsa.pkcs1.der";
  openssl({"rsa", "-pubin", "-in", k.pub.string(), "-RSAPublicKey_out", "-outform", "DER", "-out", pkcs1.string()});
  auto from_pkcs1 = parse_rsa_public_key_pkcs1(read_bytes(pkcs1));
  REQUIRE(from_pkcs1.ok());
  CHECK(from_pkcs1->equals(*pub));
  // ...and is not an SPKI.
  auto as_spki = parse_public_key_der(read_bytes(pkcs1));
  REQUIRE_FALSE(as_spki.ok());
  CHECK(as_spki.error().code == Code::kMalformed);
}

TEST_CASE("an encrypted private key needs the right password", "[sigstore][keys]") {
  TempDir dir;
  fs::path enc = dir / "enc.pem";
  openssl({"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-aes256", "-pass", "pass:s3cret",
           "-out", enc.string()});
  CHECK(load_private_key_file(enc, std::string("s3cret")).ok());
  auto wrong = load_private_key_file(enc, std::string("nope"));
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().code == Code::kMalformed);
  auto none = load_private_key_file(enc, std::nullopt);
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().code == Code::kMalformed);
}

TEST_CASE("malformed and missing key inputs fail with precise codes", "[sigstore][keys]") {
  TempDir dir;
  auto missing = load_public_key_file(dir / "absent.pem");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == Code::kNotFound);

  auto no_block = parse_public_key_pem("hello");
  REQUIRE_FALSE(no_block.ok());
  CHECK(no_block.error().code == Code::kMalformed);

  auto k = openssl_key(dir, "p256", {"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"});
  auto good = load_public_key_file(k.pub);
  REQUIRE(good.ok());
  auto der = good->spki_der();
  der.push_back(0);
  auto trailing = parse_public_key_der(der);
  REQUIRE_FALSE(trailing.ok());
  CHECK(trailing.error().code == Code::kMalformed);
  CHECK(trailing.error().message.find("trailing bytes") != std::string::npos);

  std::string huge(2u << 20, 'A');
  auto big = parse_public_key_pem(huge);
  REQUIRE_FALSE(big.ok());
  CHECK(big.error().code == Code::kLimit);
}

TEST_CASE("generated keys sign and verify with their own public key only", "[sigstore][keys]") {
  for (KeyType t : {KeyType::kEcdsaP256, KeyType::kEcdsaP384, KeyType::kEcdsaP521, KeyType::kEd25519}) {
    auto a = generate_private_key(t);
    auto b = generate_private_key(t);
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(a->type() == t);
    auto data = bytes_of("payload");
    auto sig = sign_data(*a, curve_hash(a->public_key()), data);
    REQUIRE(sig.ok());
    CHECK(verify_signature(a->public_key(), curve_hash(a->public_key()), data, *sig).ok());
    auto other = verify_signature(b->public_key(), curve_hash(b->public_key()), data, *sig);
    REQUIRE_FALSE(other.ok());
    CHECK(other.error().code == Code::kBadSignature);
  }
  auto other = generate_private_key(KeyType::kOther);
  REQUIRE_FALSE(other.ok());
  CHECK(other.error().code == Code::kUnsupported);
}
