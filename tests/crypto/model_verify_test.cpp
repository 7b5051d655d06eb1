// Tests for crypto/model_verify against every upstream signed model (vectors/model_signing,
// INDEX.md §2 with its expected outcomes), the OMS spec vectors (§5), the certificate time policy,
// and the legacy v0.2 PAE (cross-checked with the openssl CLI on upstream's own signature).
#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "crypto/encoding.h"
#include "crypto/json.h"
#include "crypto/keys.h"
#include "crypto/model_verify.h"
#include "crypto/trusted_root.h"
#include "crypto/x509.h"
#include "test_support.h"

namespace fs = std::filesystem;
using modelgate::Code;
using namespace modelgate::crypto;
using modelgate::testing::read_file;
using modelgate::testing::run;
using modelgate::testing::TempDir;
using modelgate::testing::vectors_dir;
using modelgate::testing::write_file;

namespace {

fs::path tests_dir() { return vectors_dir() / "model_signing/scripts/tests"; }
fs::path keys_dir() { return tests_dir() / "keys/certificate"; }
fs::path oms_dir() { return vectors_dir() / "model_signing/oms_spec/test-vectors/v1.0"; }
fs::path roots_dir() { return vectors_dir() / "model_signing/trust_roots"; }

const std::string kIdentity = "stefanb@us.ibm.com";
const std::string kIssuer = "https://sigstore.verify.ibm.com/oauth2";

VerifyMethod key_method(const fs::path& pub = keys_dir() / "signing-key-pub.pem") {
  auto k = load_public_key_file(pub);
  REQUIRE(k.ok());
  return KeyMethod{k.value()};
}

VerifyMethod cert_method(const fs::path& anchors = keys_dir() / "ca-cert.pem") {
  auto c = load_certificates_file(anchors);
  REQUIRE(c.ok());
  return CertificateMethod{c.value()};
}

VerifyMethod sigstore_method(const std::string& identity = kIdentity, const std::string& issuer = kIssuer,
                             const fs::path& root = roots_dir() / "sigstore-production-trusted_root.json") {
  SigstoreMethod m;
  m.identity.identity = identity;
  m.identity.issuer = issuer;
  if (!root.empty()) {
    auto r = load_trusted_root_file(root);
    REQUIRE(r.ok());
    m.trusted_root = std::make_shared<const TrustedRoot>(r.value());
  }
  return m;
}

ModelVerifyOptions with_ignores(std::vector<std::string> ignores) {
  ModelVerifyOptions o;
  o.ignore_paths = std::move(ignores);
  return o;
}

void require_fails(const modelgate::Result<VerifiedModel>& r, Code code, const std::string& text) {
  REQUIRE_FALSE(r.ok());
  INFO(r.error().message);
  CHECK(r.error().code == code);
  CHECK_THAT(r.error().message, Catch::Contains(text));
}

// Method is how a case verifies; the key material is the upstream test key/CA.
enum class M { kKey, kCert, kSigstore };

VerifyMethod method_for(M m) {
  switch (m) {
    case M::kKey: return key_method();
    case M::kCert: return cert_method();
    default: return sigstore_method();
  }
}

struct Case {
  std::string dir;
  std::string model;  // relative to the case dir ("" = the dir itself)
  M method;
  std::vector<std::string> ignores;
  bool ok;
  Code code = Code::kMismatch;
  std::string text;  // substring of the failure
};

}  // namespace

TEST_CASE("every upstream signed model verifies or fails exactly as INDEX.md says", "[model_signing]") {
  const std::string not_signed = "file \"ignore-me\" is not signed (found sha256:"
                                 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855)";
  std::vector<Case> cases = {
      {"v0.2.0-certificate", "", M::kCert, {}, true, Code::kMismatch, ""},
      {"v0.3.1-certificate", "", M::kCert, {}, true, Code::kMismatch, ""},
      {"v0.3.1-elliptic-key", "signme-1", M::kKey, {}, true, Code::kMismatch, ""},
      {"v0.3.1-elliptic-key", "", M::kKey, {}, false, Code::kMismatch, "file \".\" is missing"},
      {"v0.3.1-sigstore", "", M::kSigstore, {}, true, Code::kMismatch, ""},
      {"v1.0.0-certificate", "", M::kCert, {}, true, Code::kMismatch, ""},
      {"v1.0.0-elliptic-key", "signme-1", M::kKey, {}, true, Code::kMismatch, ""},
      {"v1.0.0-elliptic-key", "", M::kKey, {}, false, Code::kMismatch, "file \"signme-1\" is not signed"},
      {"v1.0.0-sigstore", "", M::kSigstore, {}, true, Code::kMismatch, ""},
      {"v1.0.1-certificate", "", M::kCert, {"ignore-me"}, true, Code::kMismatch, ""},
      {"v1.0.1-certificate", "", M::kCert, {}, false, Code::kMismatch, not_signed},
      {"v1.0.1-elliptic-key", "", M::kKey, {"ignore-me"}, true, Code::kMismatch, ""},
      {"v1.0.1-elliptic-key", "", M::kKey, {}, false, Code::kMismatch, not_signed},
      {"v1.0.1-sigstore", "", M::kSigstore, {"ignore-me"}, true, Code::kMismatch, ""},
      {"v1.0.1-sigstore", "", M::kSigstore, {}, false, Code::kMismatch, not_signed},
      {"v1.1.0-certificate", "", M::kCert, {}, true, Code::kMismatch, ""},
      {"v1.1.0-certificate", "", M::kCert, {"ignore-me"}, true, Code::kMismatch, ""},
      {"v1.1.0-elliptic-key", "", M::kKey, {}, true, Code::kMismatch, ""},
      {"v1.1.0-sigstore", "", M::kSigstore, {}, true, Code::kMismatch, ""},
  };
  // The loader fails on any directory it does not know (pinned: 13 signed models + keys/).
  std::set<std::string> on_disk;
  for (const auto& e : fs::directory_iterator(tests_dir())) {
    on_disk.insert(e.path().filename().string());
  }
  std::set<std::string> covered{"keys"};
  for (const Case& c : cases) {
    covered.insert(c.dir);
  }
  CHECK(on_disk == covered);
  CHECK(on_disk.size() == 14);

  for (const Case& c : cases) {
    INFO(c.dir << " model=" << c.model << " ignores=" << c.ignores.size());
    fs::path dir = tests_dir() / c.dir;
    fs::path model = c.model.empty() ? dir : dir / c.model;
    auto r = verify_model(model, dir / "model.sig", method_for(c.method), with_ignores(c.ignores));
    if (c.ok) {
      INFO((r.ok() ? std::string() : r.error().message));
      REQUIRE(r.ok());
      CHECK(r.value().method() == (c.method == M::kKey ? "key" : c.method == M::kCert ? "certificate" : "sigstore"));
    } else {
      require_fails(r, c.code, c.text);
    }
  }
}

TEST_CASE("upstream verified models report their signed root digest and signer", "[model_signing]") {
  auto r = verify_model(tests_dir() / "v1.1.0-elliptic-key", tests_dir() / "v1.1.0-elliptic-key/model.sig",
                        key_method(), {});
  REQUIRE(r.ok());
  CHECK(to_hex(r.value().root_digest()) == "92745110b1ab4368471cbe31664e10174e954b113a3df333db860317b2c6dec4");
  CHECK(r.value().key_hint() == "e8450dec4eb99dae995da9af1bc2cc9f76ed669ee2e744f57abba763df3e3f8e");
  CHECK(r.value().signed_model().ignore_paths_recorded);
  CHECK(r.value().manifest().resources.size() == 2);

  auto s = verify_model(tests_dir() / "v1.1.0-sigstore", tests_dir() / "v1.1.0-sigstore/model.sig",
                        sigstore_method(), {});
  REQUIRE(s.ok());
  CHECK(s.value().signer() == kIdentity);
  CHECK(s.value().issuer() == kIssuer);
  CHECK(to_hex(s.value().root_digest()) == "61d4849d9d90076d6215f4d525f13d6574af8e3f67aef3e6f36fc40a14fdd226");
}

TEST_CASE("the embedded production trusted root verifies the upstream Sigstore models", "[model_signing]") {
  auto r = verify_model(tests_dir() / "v1.0.0-sigstore", tests_dir() / "v1.0.0-sigstore/model.sig",
                        sigstore_method(kIdentity, kIssuer, fs::path()), {});
  INFO((r.ok() ? std::string() : r.error().message));
  CHECK(r.ok());
}

TEST_CASE("Sigstore models are rejected for another identity, another issuer or the staging root",
          "[model_signing]") {
  fs::path dir = tests_dir() / "v1.1.0-sigstore";
  require_fails(verify_model(dir, dir / "model.sig", sigstore_method("someone@example.com"), {}), Code::kUntrusted,
                "identity does not match");
  require_fails(verify_model(dir, dir / "model.sig", sigstore_method(kIdentity, "https://accounts.google.com"), {}),
                Code::kUntrusted, "issuer does not match");
  for (const char* d : {"v0.3.1-sigstore", "v1.1.0-sigstore"}) {
    INFO(d);
    fs::path sd = tests_dir() / d;
    auto r = verify_model(sd, sd / "model.sig",
                          sigstore_method(kIdentity, kIssuer, roots_dir() / "sigstore-staging-trusted_root.json"), {});
    require_fails(r, Code::kUntrusted, "model.sig: sigstore: ");
  }
}

TEST_CASE("Sigstore identity can be an RE2 full-match regex", "[model_signing]") {
  fs::path dir = tests_dir() / "v1.1.0-sigstore";
  auto m = sigstore_method("^[a-z]+@us\\.ibm\\.com$");
  std::get<SigstoreMethod>(m).identity.identity_is_regex = true;
  CHECK(verify_model(dir, dir / "model.sig", m, {}).ok());
  std::get<SigstoreMethod>(m).identity.identity = "stefanb@us";
  CHECK_FALSE(verify_model(dir, dir / "model.sig", m, {}).ok());
}

TEST_CASE("another P-384 key is a key mismatch naming both hints", "[model_signing]") {
  TempDir t;
  auto gen = run({"openssl", "ecparam", "-name", "secp384r1", "-genkey", "-noout", "-out", (t / "k.pem").string()});
  REQUIRE(gen.exit_code == 0);
  auto pub = run({"openssl", "ec", "-in", (t / "k.pem").string(), "-pubout", "-out", (t / "k.pub").string()});
  REQUIRE(pub.exit_code == 0);
  fs::path dir = tests_dir() / "v1.1.0-elliptic-key";
  auto r = verify_model(dir, dir / "model.sig", key_method(t / "k.pub"), {});
  require_fails(r, Code::kMismatch, "key mismatch: the signature names key \"e8450dec4eb99dae995da9af1bc2cc9f76ed669ee2e744f57abba763df3e3f8e\"");
  // A legacy bundle without a hint cannot say which key: the signature itself fails.
  fs::path old = tests_dir() / "v1.0.1-elliptic-key";
  require_fails(verify_model(old, old / "model.sig", key_method(t / "k.pub"), with_ignores({"ignore-me"})),
                Code::kBadSignature, "signature: does not verify with the ECDSA P-384 key");
}

TEST_CASE("a bundle verified with the wrong method says which method it needs", "[model_signing]") {
  fs::path key_dir = tests_dir() / "v1.1.0-elliptic-key";
  fs::path cert_dir = tests_dir() / "v1.1.0-certificate";
  require_fails(verify_model(key_dir, key_dir / "model.sig", cert_method(), {}), Code::kMismatch,
                "signed with a bare public key, not a certificate");
  require_fails(verify_model(key_dir, key_dir / "model.sig", sigstore_method(), {}), Code::kMismatch,
                "signed with a bare public key");
  require_fails(verify_model(cert_dir, cert_dir / "model.sig", key_method(), {}), Code::kMismatch,
                "signed with a certificate, not a public key");
}

TEST_CASE("certificate chains are validated now by default and at notBefore only when allowed",
          "[model_signing]") {
  fs::path dir = tests_dir() / "v1.1.0-certificate";
  auto leaf = load_certificates_file(keys_dir() / "signing-key-cert.pem");
  REQUIRE(leaf.ok());
  std::int64_t not_before = leaf.value()[0].not_before();
  std::int64_t not_after = leaf.value()[0].not_after();
  ModelVerifyOptions o;
  o.now = not_after + 86400;  // a day after the leaf expired (2035)
  require_fails(verify_model(dir, dir / "model.sig", cert_method(), o), Code::kUntrusted, "certificate");
  o.allow_unsafe_expired_certificate = true;
  auto r = verify_model(dir, dir / "model.sig", cert_method(), o);
  REQUIRE(r.ok());
  REQUIRE_FALSE(r.value().warnings().empty());
  CHECK_THAT(r.value().warnings()[0], Catch::Contains("notBefore 2025-05-02T23:36:28Z"));
  o = {};
  o.now = not_before - 86400;  // not yet valid
  require_fails(verify_model(dir, dir / "model.sig", cert_method(), o), Code::kUntrusted, "certificate");
}

TEST_CASE("an intermediate CA alone is not a trust anchor; unrelated roots are untrusted", "[model_signing]") {
  fs::path dir = tests_dir() / "v1.1.0-certificate";
  require_fails(verify_model(dir, dir / "model.sig", cert_method(keys_dir() / "int-ca-cert.pem"), {}),
                Code::kUntrusted, "certificate");
  require_fails(verify_model(dir, dir / "model.sig", CertificateMethod{}, {}), Code::kUntrusted,
                "no trust anchors configured");
}

TEST_CASE("the legacy v0.2 signature is over Python's repr PAE, as the openssl CLI confirms", "[model_signing]") {
  TempDir t;
  fs::path sig_file = tests_dir() / "v0.2.0-certificate/model.sig";
  Json b = Json::parse(read_file(sig_file));
  auto payload = base64_decode(b["dsseEnvelope"]["payload"].get<std::string>());
  auto sig = base64_decode(b["dsseEnvelope"]["signatures"][0]["sig"].get<std::string>());
  REQUIRE(payload.ok());
  REQUIRE(sig.ok());
  std::vector<std::uint8_t> pae = legacy_v02_pae(payload.value());
  std::string pae_text(pae.begin(), pae.end());
  CHECK_THAT(pae_text, Catch::StartsWith("DSSEV1 28 application/vnd.in-toto+json " +
                                         std::to_string(payload.value().size()) + " b'{\\n  \"_type\""));
  write_file(t / "pae.bin", pae_text);
  write_file(t / "sig.der", std::string(sig.value().begin(), sig.value().end()));
  auto pub = run({"openssl", "x509", "-in", (keys_dir() / "signing-key-cert.pem").string(), "-pubkey", "-noout", "-out",
                  (t / "pub.pem").string()});
  REQUIRE(pub.exit_code == 0);
  auto v = run({"openssl", "dgst", "-sha256", "-verify", (t / "pub.pem").string(), "-signature",
                (t / "sig.der").string(), (t / "pae.bin").string()});
  CHECK(v.exit_code == 0);
  CHECK_THAT(v.out, Catch::Contains("Verified OK"));

  ModelVerifyOptions o;
  std::vector<std::string> checks;
  o.on_check = [&](std::string_view s) { checks.emplace_back(s); };
  auto r = verify_model(tests_dir() / "v0.2.0-certificate", sig_file, cert_method(), o);
  REQUIRE(r.ok());
  CHECK(r.value().signed_model().version == PredicateVersion::kLegacyDigestsV01);
  bool legacy_check = false;
  for (const auto& c : checks) {
    legacy_check = legacy_check || c.find("legacy model_signing v0.2 PAE verifies") != std::string::npos;
  }
  CHECK(legacy_check);
}

TEST_CASE("python_bytes_repr matches CPython's repr of bytes", "[model_signing]") {
  auto repr = [](const std::string& s) { return python_bytes_repr(as_bytes(s)); };
  // Expected strings printed by python3 -c 'print(repr(b...))'.
  CHECK(repr("") == "b''");
  CHECK(repr("abc") == "b'abc'");
  CHECK(repr("it's") == "b\"it's\"");
  CHECK(repr("say \"hi\"") == "b'say \"hi\"'");
  CHECK(repr("both ' and \"") == "b'both \\' and \"'");
  CHECK(repr("tab\there\nnl\rcr\\bs") == "b'tab\\there\\nnl\\rcr\\\\bs'");
  CHECK(repr(std::string("\x00\x01\x1f\x7f\x80\xff", 6)) == "b'\\x00\\x01\\x1f\\x7f\\x80\\xff'");
  CHECK(repr("\xc3\xa9") == "b'\\xc3\\xa9'");
}

TEST_CASE("OMS valid key and certificate vectors verify against the v1.1.0-elliptic-key model", "[model_signing]") {
  fs::path model = tests_dir() / "v1.1.0-elliptic-key";
  // The OMS bundles live outside the model; the model's own model.sig is never hashed (issue #20),
  // with or without naming it.
  auto k = verify_model(model, oms_dir() / "valid/key.bundle.json", key_method(), with_ignores({"model.sig"}));
  INFO((k.ok() ? std::string() : k.error().message));
  CHECK(k.ok());
  auto c = verify_model(model, oms_dir() / "valid/certificate.bundle.json", cert_method(), with_ignores({"model.sig"}));
  INFO((c.ok() ? std::string() : c.error().message));
  CHECK(c.ok());
  auto bare = verify_model(model, oms_dir() / "valid/key.bundle.json", key_method(), {});
  INFO((bare.ok() ? std::string() : bare.error().message));
  CHECK(bare.ok());
  // Any other unsigned file still fails: only the default signature file is left out.
  TempDir t;
  fs::copy(model, t / "m", fs::copy_options::recursive);
  write_file(t / "m/model.sig.bak", "x");
  require_fails(verify_model(t / "m", oms_dir() / "valid/key.bundle.json", key_method(), {}), Code::kMismatch,
                "file \"model.sig.bak\" is not signed");
  auto s = verify_model(tests_dir() / "v1.1.0-sigstore", oms_dir() / "valid/sigstore.bundle.json", sigstore_method(),
                        with_ignores({"model.sig"}));
  INFO((s.ok() ? std::string() : s.error().message));
  CHECK(s.ok());
}

TEST_CASE("OMS invalid bundles are rejected at the bundle layer", "[model_signing]") {
  // Each is checked with the method its material claims (the tlog-less one is a keyless bundle).
  struct Invalid {
    Code code;
    std::string text;
    M method;
  };
  std::map<std::string, Invalid> expected = {
      {"empty.bundle.json", {Code::kMalformed, "empty.bundle.json: bundle: ", M::kKey}},
      {"missing-envelope.bundle.json", {Code::kMalformed, "missing-envelope.bundle.json: bundle: ", M::kKey}},
      {"missing-verification-material.bundle.json",
       {Code::kMalformed, "missing-verification-material.bundle.json: bundle: ", M::kKey}},
      {"missing-tlog-entries.bundle.json",
       {Code::kUntrusted, "missing-tlog-entries.bundle.json: sigstore: bundle has no transparency log entry",
        M::kSigstore}},
  };
  fs::path model = tests_dir() / "v1.1.0-elliptic-key";
  std::size_t seen = 0;
  for (const auto& e : fs::directory_iterator(oms_dir() / "invalid")) {
    ++seen;
    std::string name = e.path().filename().string();
    INFO(name);
    REQUIRE(expected.count(name) == 1);  // a new vector must be added here
    const Invalid& x = expected.at(name);
    auto r = verify_model(model, e.path(), method_for(x.method), with_ignores({"model.sig"}));
    require_fails(r, x.code, x.text);
  }
  CHECK(seen == expected.size());
}

TEST_CASE("the OMS wrong-predicate payload fails its signature, and its statement is refused on its own",
          "[model_signing]") {
  fs::path f = oms_dir() / "invalid-payload/wrong-predicate.bundle.json";
  fs::path model = tests_dir() / "v1.1.0-elliptic-key";
  // The vector reuses the valid bundle's signature over another payload.
  require_fails(verify_model(model, f, key_method(), with_ignores({"model.sig"})), Code::kBadSignature,
                "signature: does not verify");
  Json b = Json::parse(read_file(f));
  auto payload = base64_decode(b["dsseEnvelope"]["payload"].get<std::string>());
  REQUIRE(payload.ok());
  auto s = parse_signed_model(payload.value());
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().code == Code::kUnsupported);
  CHECK_THAT(s.error().message, Catch::Contains("\"https://example.com/wrong-predicate/v1.0\" is not a model signature"));
}

TEST_CASE("a missing signature file or model is a not-found error, not a verification result", "[model_signing]") {
  fs::path dir = tests_dir() / "v1.1.0-elliptic-key";
  auto r = verify_model(dir, dir / "nope.sig", key_method(), {});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Code::kNotFound);
  CHECK_THAT(r.error().message, Catch::StartsWith("nope.sig: cannot open"));
  TempDir t;
  auto m = verify_model(t / "absent", dir / "model.sig", key_method(), {});
  REQUIRE_FALSE(m.ok());
  CHECK(m.error().code == Code::kNotFound);
}

TEST_CASE("verification reports each check it performed", "[model_signing]") {
  fs::path dir = tests_dir() / "v1.1.0-elliptic-key";
  std::vector<std::string> checks;
  ModelVerifyOptions o;
  o.on_check = [&](std::string_view s) { checks.emplace_back(s); };
  REQUIRE(verify_model(dir, dir / "model.sig", key_method(), o).ok());
  std::string all;
  for (const auto& c : checks) {
    all += c + "\n";
  }
  CHECK_THAT(all, Catch::Contains("key: the bundle's key hint matches the configured key e8450dec"));
  CHECK_THAT(all, Catch::Contains("signature: ECDSA P-384 with sha384 over the DSSE PAE verifies"));
  CHECK_THAT(all, Catch::Contains("subject digest sha256:92745110b1ab4368471cbe31664e10174e954b113a3df333db860317b2c6dec4"));
  CHECK_THAT(all, Catch::Contains("2 resources (17 bytes) match the signed manifest exactly"));
}

TEST_CASE("random mutations of a key bundle never crash, never yield kInternal, and never verify another payload",
          "[model_signing]") {
  fs::path dir = tests_dir() / "v1.1.0-elliptic-key";
  std::string original = read_file(dir / "model.sig");
  Json ob = Json::parse(original);
  std::string original_payload = ob["dsseEnvelope"]["payload"].get<std::string>();
  TempDir t;
  auto rnd = modelgate::testing::random_bytes(3 * 600, 7);
  VerifyMethod m = key_method();
  std::size_t verified = 0;
  for (std::size_t i = 0; i < 600; ++i) {
    std::string b = original;
    std::size_t pos = (static_cast<std::size_t>(rnd[3 * i]) << 8 | rnd[3 * i + 1]) % b.size();
    b[pos] = static_cast<char>(rnd[3 * i + 2]);
    write_file(t / "model.sig", b);
    auto r = verify_model(dir, t / "model.sig", m, with_ignores({"model.sig"}));
    if (!r.ok()) {
      CHECK(r.error().code != Code::kInternal);
      continue;
    }
    ++verified;
    // Only changes outside the signed bytes can still verify (e.g. base64 padding bits are refused,
    // so in practice: none that alter the payload).
    Json mb = Json::parse(b);
    auto p1 = base64_decode(mb["dsseEnvelope"]["payload"].get<std::string>());
    auto p0 = base64_decode(original_payload);
    REQUIRE(p1.ok());
    CHECK(p1.value() == p0.value());
  }
  CHECK(verified < 600);
}

namespace {

// copy_model copies an upstream signed model (read-only files) to a writable directory.
fs::path copy_model(const TempDir& tmp, const std::string& name) {
  const fs::path dir = tmp / name;
  fs::copy(tests_dir() / name, dir, fs::copy_options::recursive);
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    fs::permissions(e.path(), fs::perms::owner_write, fs::perm_options::add);
  }
  fs::permissions(dir, fs::perms::owner_write, fs::perm_options::add);
  return dir;
}

// sparse makes `p` a sparse file of `bytes` (nothing written).
void sparse(const fs::path& p, std::uint64_t bytes) {
  write_file(p, "");
  fs::resize_file(p, bytes);
}

// SizesOnly is a digest cache that knows only what size a digest's bytes have.
class SizesOnly final : public DigestCache {
 public:
  SizesOnly(std::vector<std::uint8_t> digest, std::uint64_t size) : digest_(std::move(digest)), size_(size) {}
  std::optional<FileDigest> lookup(const DigestKey&) override { return std::nullopt; }
  std::int64_t now_ns() override { return 0; }
  void store(const DigestKey&, const FileDigest&, std::int64_t) override {}
  std::optional<std::uint64_t> known_size(std::span<const std::uint8_t> d, HashType) override {
    return std::equal(d.begin(), d.end(), digest_.begin(), digest_.end()) ? std::optional(size_) : std::nullopt;
  }

 private:
  std::vector<std::uint8_t> digest_;
  std::uint64_t size_;
};

}  // namespace

TEST_CASE("a model whose file list differs from the signed one is refused before a byte of its 50 GiB is read",
          "[model_signing]") {
  TempDir tmp;
  const fs::path dir = copy_model(tmp, "v1.0.1-elliptic-key");
  sparse(dir / "weights.bin", 50ull << 30);
  std::uint64_t hashed = 0;
  ModelVerifyOptions o = with_ignores({"ignore-me"});
  o.hash.on_hashed = [&hashed](std::uint64_t n) { hashed += n; };
  auto r = verify_model(dir, dir / "model.sig", key_method(), o);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Code::kMismatch);
  CHECK(r.error().message == "model does not match its signature: file \"weights.bin\" is not signed");
  CHECK(hashed == 0);
}

TEST_CASE("a signed file whose size differs from the one its digest was found in is refused unread",
          "[model_signing]") {
  TempDir tmp;
  const fs::path dir = copy_model(tmp, "v1.0.1-elliptic-key");
  // What the digest of signme-1's 9 signed bytes is, per sha256sum (an independent oracle).
  auto sum = run({"sha256sum", (tests_dir() / "v1.0.1-elliptic-key/signme-1").string()});
  REQUIRE(sum.exit_code == 0);
  auto digest = from_hex(sum.out.substr(0, 64));
  REQUIRE(digest.ok());
  fs::remove(dir / "signme-1");
  sparse(dir / "signme-1", 50ull << 30);
  SizesOnly cache(digest.value(), 9);
  std::uint64_t hashed = 0;
  ModelVerifyOptions o = with_ignores({"ignore-me"});
  o.hash.cache = &cache;
  o.hash.on_hashed = [&hashed](std::uint64_t n) { hashed += n; };
  auto r = verify_model(dir, dir / "model.sig", key_method(), o);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Code::kMismatch);
  CHECK_THAT(r.error().message, Catch::Contains("file \"signme-1\" does not match the signed digest (signed sha256:" +
                                                sum.out.substr(0, 64) + "; its size differs"));
  CHECK(hashed == 0);
}
