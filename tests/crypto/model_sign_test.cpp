// Tests for crypto/model_sign (and model_verify on what it produces): byte-level compatibility
// with upstream (statement layout, key hint, root digests and resources equal to upstream's
// signing goldens), signatures checked independently with the openssl CLI, and a tamper matrix
// on models signed here with keys and certificates made by the openssl CLI.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "crypto/encoding.h"
#include "crypto/json.h"
#include "crypto/keys.h"
#include "crypto/model_sign.h"
#include "crypto/model_verify.h"
#include "crypto/x509.h"
#include "test_support.h"

namespace fs = std::filesystem;
using modelgate::Code;
using namespace modelgate::crypto;
using modelgate::testing::random_bytes;
using modelgate::testing::read_file;
using modelgate::testing::run;
using modelgate::testing::TempDir;
using modelgate::testing::vectors_dir;
using modelgate::testing::write_file;
using OJson = nlohmann::ordered_json;

namespace {

fs::path upstream_keys() { return vectors_dir() / "model_signing/scripts/tests/keys/certificate"; }

void sh(const std::vector<std::string>& argv) {
  auto r = run(argv);
  INFO(argv[0] << " " << argv[1] << ": " << r.err);
  REQUIRE(r.exit_code == 0);
}

// Pki is key and certificate material made once per process with the openssl CLI (independent of
// the code under test): P-256 and P-384 keys, a CA, a leaf valid now, an expired leaf (2020-2021,
// via `openssl ca -startdate/-enddate`), a second unrelated CA, and an Ed25519 key.
struct Pki {
  TempDir dir;
  fs::path p256, p256_pub, p384, p384_pub, ed25519, ed25519_pub;
  fs::path ca, ca_key, other_ca, leaf_key, leaf, expired_leaf, leaf_no_usage;

  Pki() {
    auto p = [&](const char* n) { return dir / n; };
    p256 = p("p256.pem");
    p256_pub = p("p256.pub");
    p384 = p("p384.pem");
    p384_pub = p("p384.pub");
    ed25519 = p("ed.pem");
    ed25519_pub = p("ed.pub");
    sh({"openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", p256.string()});
    sh({"openssl", "pkey", "-in", p256.string(), "-pubout", "-out", p256_pub.string()});
    sh({"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", p384.string()});
    sh({"openssl", "pkey", "-in", p384.string(), "-pubout", "-out", p384_pub.string()});
    sh({"openssl", "genpkey", "-algorithm", "ed25519", "-out", ed25519.string()});
    sh({"openssl", "pkey", "-in", ed25519.string(), "-pubout", "-out", ed25519_pub.string()});

    ca = p("ca.pem");
    ca_key = p("ca.key");
    auto make_ca = [&](const fs::path& cert, const fs::path& key, const std::string& cn) {
      sh({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
          key.string(), "-out", cert.string(), "-days", "3650", "-subj", "/CN=" + cn, "-addext",
          "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"});
    };
    other_ca = p("other-ca.pem");
    make_ca(other_ca, p("other-ca.key"), "someone-else-root");
    // The main root must predate the expired leaf (2020), so it is self-signed with `openssl ca
    // -selfsign` and explicit dates (OpenSSL 3.0's `req -x509` has no -not_before).
    write_file(p("index.txt"), "");
    write_file(p("serial"), "10\n");
    write_file(p("ca.cnf"), "[ ca ]\ndefault_ca = d\n[ d ]\ndatabase = " + p("index.txt").string() +
                                "\nnew_certs_dir = " + dir.path().string() + "\nserial = " + p("serial").string() +
                                "\ndefault_md = sha256\npolicy = any\nunique_subject = no\n[ any ]\ncommonName = supplied\n");
    write_file(p("ca-ext.cnf"), "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
                                "subjectKeyIdentifier=hash\n");
    sh({"openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", ca_key.string()});
    sh({"openssl", "req", "-new", "-key", ca_key.string(), "-subj", "/CN=modelgate-test-root", "-out",
        p("ca.csr").string()});
    sh({"openssl", "ca", "-batch", "-selfsign", "-config", p("ca.cnf").string(), "-keyfile", ca_key.string(), "-in",
        p("ca.csr").string(), "-out", ca.string(), "-startdate", "20190101000000Z", "-enddate", "20450101000000Z",
        "-extfile", p("ca-ext.cnf").string(), "-notext"});

    leaf_key = p("leaf.key");
    sh({"openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", leaf_key.string()});
    sh({"openssl", "req", "-new", "-key", leaf_key.string(), "-subj", "/CN=model-signer", "-out", p("leaf.csr").string()});
    write_file(p("ext.cnf"), "keyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\nbasicConstraints=CA:FALSE\n");
    write_file(p("ext-none.cnf"), "basicConstraints=CA:FALSE\n");
    leaf = p("leaf.pem");
    sh({"openssl", "x509", "-req", "-in", p("leaf.csr").string(), "-CA", ca.string(), "-CAkey", ca_key.string(),
        "-set_serial", "2", "-days", "30", "-extfile", p("ext.cnf").string(), "-out", leaf.string()});
    leaf_no_usage = p("leaf-no-usage.pem");
    sh({"openssl", "x509", "-req", "-in", p("leaf.csr").string(), "-CA", ca.string(), "-CAkey", ca_key.string(),
        "-set_serial", "3", "-days", "30", "-extfile", p("ext-none.cnf").string(), "-out", leaf_no_usage.string()});
    expired_leaf = p("expired.pem");
    sh({"openssl", "ca", "-batch", "-config", p("ca.cnf").string(), "-cert", ca.string(), "-keyfile", ca_key.string(),
        "-in", p("leaf.csr").string(), "-out", expired_leaf.string(), "-startdate", "20200101000000Z", "-enddate",
        "20210101000000Z", "-extfile", p("ext.cnf").string(), "-notext"});
  }
};

const Pki& pki() {
  static Pki instance;
  return instance;
}

PrivateKey private_key(const fs::path& p) {
  auto k = load_private_key_file(p, std::nullopt);
  REQUIRE(k.ok());
  return k.value();
}
PublicKey public_key(const fs::path& p) {
  auto k = load_public_key_file(p);
  REQUIRE(k.ok());
  return k.value();
}
Certificate certificate(const fs::path& p) {
  auto c = load_certificates_file(p);
  REQUIRE(c.ok());
  return c.value()[0];
}

std::string sha256sum(const fs::path& p) {
  auto r = run({"sha256sum", p.string()});
  REQUIRE(r.exit_code == 0);
  return r.out.substr(0, 64);
}

// make_model writes a small model: weights (10000 random bytes), a config, a nested file and a
// dotfile, plus git files that the defaults ignore.
void make_model(const fs::path& m) {
  auto w = random_bytes(10000, 42);
  write_file(m / "weights.bin", std::string(w.begin(), w.end()));
  write_file(m / "config.json", "{\"layers\": 2}\n");
  write_file(m / "sub/tokenizer.json", "{\"vocab\": []}\n");
  write_file(m / ".hidden", "dot\n");
  write_file(m / ".git/HEAD", "ref: refs/heads/main\n");
  write_file(m / ".gitattributes", "*.bin filter=lfs\n");
}

struct Signed {
  std::string bundle;
  std::string payload;
};

Signed sign_to(const fs::path& model, const fs::path& sig, const ModelSigner& signer, const SignOptions& o = {}) {
  auto r = sign_model(model, sig, signer, o);
  INFO((r.ok() ? std::string() : r.error().message));
  REQUIRE(r.ok());
  write_file(sig, r.value().bundle_json);
  return {r.value().bundle_json, r.value().payload};
}

modelgate::Result<VerifiedModel> verify_key(const fs::path& model, const fs::path& sig, const fs::path& pub,
                                             ModelVerifyOptions o = {}) {
  return verify_model(model, sig, KeyMethod{public_key(pub)}, o);
}

void require_fails(const modelgate::Result<VerifiedModel>& r, Code code, const std::vector<std::string>& texts) {
  REQUIRE_FALSE(r.ok());
  INFO(r.error().message);
  CHECK(r.error().code == code);
  for (const auto& t : texts) {
    CHECK_THAT(r.error().message, Catch::Contains(t));
  }
}

std::vector<std::uint8_t> b64(const std::string& s) {
  auto r = base64_decode(s);
  REQUIRE(r.ok());
  return r.value();
}

// A signed model in a temp dir, with model.sig inside it (the usual layout).
struct Fixture {
  TempDir t;
  fs::path model;
  fs::path sig;
  Signed s;
  explicit Fixture(const fs::path& key = pki().p256, SignOptions o = {}) {
    model = t / "model";
    sig = model / "model.sig";
    make_model(model);
    s = sign_to(model, sig, KeySigner{private_key(key)}, o);
  }
};

}  // namespace

TEST_CASE("a model signed with a key verifies with the matching public key", "[model_signing]") {
  Fixture f;
  auto r = verify_key(f.model, f.sig, pki().p256_pub);
  INFO((r.ok() ? std::string() : r.error().message));
  REQUIRE(r.ok());
  // weights.bin, config.json, sub/tokenizer.json, .hidden; .git, .gitattributes, model.sig ignored
  CHECK(r.value().manifest().resources.size() == 4);
  CHECK(r.value().signed_model().serialization.ignore_paths ==
        std::vector<std::string>{".git", ".gitattributes", ".github", ".gitignore", "model.sig"});
}

TEST_CASE("our bundle and statement have upstream's layout", "[model_signing]") {
  Fixture f;
  OJson b = OJson::parse(f.s.bundle);
  std::vector<std::string> keys;
  for (auto it = b.begin(); it != b.end(); ++it) {
    keys.push_back(it.key());
  }
  CHECK(keys == std::vector<std::string>{"mediaType", "verificationMaterial", "dsseEnvelope"});
  CHECK(b["mediaType"] == "application/vnd.dev.sigstore.bundle.v0.3+json");
  CHECK(b["verificationMaterial"] ==
        OJson::parse(R"({"publicKey":{"hint":")" + public_key_hint(public_key(pki().p256_pub)) + R"("},"tlogEntries":[]})"));
  CHECK(b["dsseEnvelope"]["payloadType"] == "application/vnd.in-toto+json");
  REQUIRE(b["dsseEnvelope"]["signatures"].size() == 1);
  CHECK(b["dsseEnvelope"]["signatures"][0]["keyid"] == "");
  auto payload = b64(b["dsseEnvelope"]["payload"].get<std::string>());
  std::string text(payload.begin(), payload.end());
  CHECK(text == f.s.payload);
  CHECK_THAT(text, Catch::StartsWith("{\n  \"_type\": \"https://in-toto.io/Statement/v1\",\n  \"subject\": [\n    {\n"
                                     "      \"name\": \"model\",\n"));
  CHECK(text.back() == '}');  // no trailing newline, as MessageToJson
  OJson st = OJson::parse(text);
  std::vector<std::string> top;
  for (auto it = st.begin(); it != st.end(); ++it) {
    top.push_back(it.key());
  }
  CHECK(top == std::vector<std::string>{"_type", "subject", "predicateType", "predicate"});
  CHECK(st["predicateType"] == "https://model_signing/signature/v1.0");
  CHECK(st["predicate"]["serialization"] ==
        OJson::parse(R"({"method":"files","hash_type":"sha256","allow_symlinks":false,
                         "ignore_paths":[".git",".gitattributes",".github",".gitignore","model.sig"]})"));
  // Canonical order: path components by code point (.hidden < config.json < sub/... < weights.bin).
  std::vector<std::string> names;
  for (const auto& r : st["predicate"]["resources"]) {
    names.push_back(r["name"].get<std::string>());
    CHECK(r["algorithm"] == "sha256");
  }
  CHECK(names == std::vector<std::string>{".hidden", "config.json", "sub/tokenizer.json", "weights.bin"});
  CHECK(st["predicate"]["resources"][3]["digest"] == sha256sum(f.model / "weights.bin"));
}

TEST_CASE("our signature verifies with the openssl CLI over an independently built PAE", "[model_signing]") {
  for (const auto& [key, pub, dgst] : std::vector<std::tuple<fs::path, fs::path, std::string>>{
           {pki().p256, pki().p256_pub, "-sha256"}, {pki().p384, pki().p384_pub, "-sha384"}}) {
    INFO(dgst);
    Fixture f(key);
    OJson b = OJson::parse(f.s.bundle);
    // DSSE v1 PAE, written here from the spec: "DSSEv1" SP len(type) SP type SP len(body) SP body.
    std::string pae = "DSSEv1 28 application/vnd.in-toto+json " + std::to_string(f.s.payload.size()) + " " + f.s.payload;
    write_file(f.t / "pae.bin", pae);
    auto sig = b64(b["dsseEnvelope"]["signatures"][0]["sig"].get<std::string>());
    write_file(f.t / "sig.der", std::string(sig.begin(), sig.end()));
    auto v = run({"openssl", "dgst", dgst, "-verify", pub.string(), "-signature", (f.t / "sig.der").string(),
                  (f.t / "pae.bin").string()});
    CHECK(v.exit_code == 0);
    CHECK_THAT(v.out, Catch::Contains("Verified OK"));
  }
}

TEST_CASE("signing with upstream's test key writes upstream's key hint", "[model_signing]") {
  TempDir t;
  make_model(t / "m");
  Signed s = sign_to(t / "m", t / "m.sig", KeySigner{private_key(upstream_keys() / "signing-key.pem")});
  OJson b = OJson::parse(s.bundle);
  CHECK(b["verificationMaterial"]["publicKey"]["hint"] ==
        "e8450dec4eb99dae995da9af1bc2cc9f76ed669ee2e744f57abba763df3e3f8e");
  // Independent: sha256 of the PEM that `openssl pkey -pubout` writes for our P-256 key.
  auto pem = run({"openssl", "pkey", "-in", pki().p256.string(), "-pubout"});
  REQUIRE(pem.exit_code == 0);
  write_file(t / "pub.pem", pem.out);
  CHECK(public_key_hint(private_key(pki().p256).public_key()) == sha256sum(t / "pub.pem"));
  // And upstream's verifier input: the v1.1.0 key vector's own hint equals ours for that key.
  CHECK(public_key_hint(public_key(upstream_keys() / "signing-key-pub.pem")) ==
        "e8450dec4eb99dae995da9af1bc2cc9f76ed669ee2e744f57abba763df3e3f8e");
}

TEST_CASE("signing upstream's fixture models reproduces upstream's resources and root digests",
          "[model_signing]") {
  fs::path goldens = vectors_dir() / "model_signing/tests/_signing/testdata/signing/TestPayload";
  fs::path fixtures = vectors_dir() / "model_signing/generated_fixture_models";
  TempDir t;
  fs::create_directories(t / "empty_folder_model");
  // The stored copy of the symlink fixture lost its link (symlink_file holds the link text), so it
  // is rebuilt here as INDEX.md §3 describes: symlink_file -> ../external/file.
  write_file(t / "symlink_model_folder/external/file",
             read_file(fixtures / "symlink_model_folder/external/file"));
  fs::create_directories(t / "symlink_model_folder/symlink_model");
  fs::create_symlink("../external/file", t / "symlink_model_folder/symlink_model/symlink_file");
  std::map<std::string, fs::path> models = {
      {"sample_model_folder", fixtures / "sample_model_folder/sample_model"},
      {"deep_model_folder", fixtures / "deep_model_folder/deep_model"},
      {"sample_model_file", fixtures / "sample_model_file/file_model"},
      {"empty_model_file", fixtures / "empty_model_file/empty_file_model"},
      {"model_folder_with_empty_file", fixtures / "model_folder_with_empty_file/empty_file_inside_model"},
      {"symlink_model_folder", t / "symlink_model_folder/symlink_model"},
      {"empty_model_folder", t / "empty_folder_model"},
  };
  std::size_t seen = 0;
  std::size_t refused = 0;
  std::size_t left_model = 0;
  for (const auto& e : fs::directory_iterator(goldens)) {
    ++seen;
    std::string name = e.path().filename().string();
    INFO(name);
    SignOptions o;
    o.serialization.allow_symlinks = true;
    std::string base = name;
    for (const auto& [suffix, size] : std::vector<std::pair<std::string, std::uint64_t>>{
             {"_small_shards", 8}, {"_shard", 1000000000}}) {
      if (base.size() > suffix.size() && base.compare(base.size() - suffix.size(), suffix.size(), suffix) == 0) {
        base.resize(base.size() - suffix.size());
        o.serialization.method = SerializationMethod::kShards;
        o.serialization.shard_size = size;
        break;
      }
    }
    REQUIRE(models.count(base) == 1);
    // Object key order is not significant (upstream's own order is random, §1.3): compare as Json.
    Json golden = Json::parse(read_file(e.path()));
    auto r = sign_model(models.at(base), t / "unused.sig", KeySigner{private_key(pki().p256)}, o);
    if (golden["predicate"]["resources"].empty()) {
      ++refused;
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().code == Code::kMalformed);
      CHECK_THAT(r.error().message, Catch::Contains("nothing to sign"));
      continue;
    }
    if (base == "symlink_model_folder") {
      // Upstream follows symlink_file -> ../external/file out of the model; OMS v1.0 and we do not.
      ++left_model;
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().code == Code::kUnsupported);
      CHECK(r.error().message == "model: symlink_file: is a symlink to a file outside the model");
      continue;
    }
    INFO((r.ok() ? std::string() : r.error().message));
    REQUIRE(r.ok());
    Json ours = Json::parse(r.value().payload);
    CHECK(ours["subject"] == golden["subject"]);  // name and root digest
    CHECK(ours["predicate"]["resources"] == golden["predicate"]["resources"]);
    CHECK(to_hex(r.value().root_digest) == golden["subject"][0]["digest"]["sha256"].get<std::string>());
  }
  CHECK(seen == 21);
  CHECK(refused == 7);
  CHECK(left_model == 3);
}

TEST_CASE("tamper matrix: every change to a signed model is rejected with a reason naming it",
          "[model_signing]") {
  Fixture f;
  const fs::path pub = pki().p256_pub;
  std::string w_signed = sha256sum(f.model / "weights.bin");
  std::string c_signed = sha256sum(f.model / "config.json");

  SECTION("flipped bit") {
    std::string w = read_file(f.model / "weights.bin");
    w[5000] = static_cast<char>(w[5000] ^ 0x01);
    write_file(f.model / "weights.bin", w);
    require_fails(verify_key(f.model, f.sig, pub), Code::kMismatch,
                  {"model does not match its signature: file \"weights.bin\" does not match the signed digest (signed "
                   "sha256:" + w_signed + ", found sha256:" + sha256sum(f.model / "weights.bin") + ")"});
  }
  SECTION("truncated file") {
    fs::resize_file(f.model / "weights.bin", 9999);
    require_fails(verify_key(f.model, f.sig, pub), Code::kMismatch,
                  {"file \"weights.bin\" does not match the signed digest (signed sha256:" + w_signed +
                   ", found sha256:" + sha256sum(f.model / "weights.bin") + ")"});
  }
  SECTION("extra file") {
    write_file(f.model / "sub/extra.txt", "surprise\n");
    require_fails(verify_key(f.model, f.sig, pub), Code::kMismatch,
                  {"file \"sub/extra.txt\" is not signed (found sha256:" + sha256sum(f.model / "sub/extra.txt") + ")"});
    // --ignore-unsigned-files tolerates it; signed files are still checked.
    ModelVerifyOptions o;
    o.ignore_unsigned_files = true;
    CHECK(verify_key(f.model, f.sig, pub, o).ok());
    write_file(f.model / "config.json", "{\"layers\": 3}\n");
    require_fails(verify_key(f.model, f.sig, pub, o), Code::kMismatch, {"file \"config.json\" does not match"});
  }
  SECTION("missing file") {
    fs::remove(f.model / "config.json");
    require_fails(verify_key(f.model, f.sig, pub), Code::kMismatch,
                  {"file \"config.json\" is missing (signed sha256:" + c_signed + ")"});
    ModelVerifyOptions o;
    o.ignore_unsigned_files = true;
    require_fails(verify_key(f.model, f.sig, pub, o), Code::kMismatch, {"file \"config.json\" is missing"});
  }
  SECTION("renamed file") {
    fs::rename(f.model / "config.json", f.model / "config2.json");
    require_fails(verify_key(f.model, f.sig, pub), Code::kMismatch,
                  {"file \"config.json\" is missing (signed sha256:" + c_signed + ")",
                   "file \"config2.json\" is not signed (found sha256:" + c_signed + ")"});
  }
  SECTION("replaced signature value") {
    TempDir t2;
    make_model(t2 / "other");
    write_file(t2 / "other/config.json", "{\"layers\": 99}\n");
    Signed other = sign_to(t2 / "other", t2 / "other.sig", KeySigner{private_key(pki().p256)});
    OJson b = OJson::parse(f.s.bundle);
    b["dsseEnvelope"]["signatures"][0]["sig"] = OJson::parse(other.bundle)["dsseEnvelope"]["signatures"][0]["sig"];
    write_file(f.sig, b.dump());
    require_fails(verify_key(f.model, f.sig, pub), Code::kBadSignature,
                  {"model.sig: signature: does not verify with the ECDSA P-256 key"});
  }
  SECTION("replaced signature file from another model") {
    TempDir t2;
    make_model(t2 / "other");
    write_file(t2 / "other/config.json", "{\"layers\": 99}\n");
    sign_to(t2 / "other", t2 / "other.sig", KeySigner{private_key(pki().p256)});
    fs::copy_file(t2 / "other.sig", f.sig, fs::copy_options::overwrite_existing);
    require_fails(verify_key(f.model, f.sig, pub), Code::kMismatch,
                  {"file \"config.json\" does not match the signed digest (signed sha256:" +
                   sha256sum(t2 / "other/config.json") + ", found sha256:" + c_signed + ")"});
  }
  SECTION("payload edited: one digest changed and the subject recomputed") {
    OJson b = OJson::parse(f.s.bundle);
    OJson st = OJson::parse(f.s.payload);
    std::string forged = sha256sum(f.model / "config.json");
    forged[0] = forged[0] == 'a' ? 'b' : 'a';
    st["predicate"]["resources"][1]["digest"] = forged;
    // Recompute the root so the statement is self-consistent; only the signature can catch it.
    std::string cat;
    for (const auto& r : st["predicate"]["resources"]) {
      auto d = *from_hex(r["digest"].get<std::string>());
      cat.append(d.begin(), d.end());
    }
    write_file(f.t / "cat.bin", cat);
    st["subject"][0]["digest"]["sha256"] = sha256sum(f.t / "cat.bin");
    std::string text = st.dump(2);
    b["dsseEnvelope"]["payload"] = base64_encode(as_bytes(text));
    write_file(f.sig, b.dump());
    require_fails(verify_key(f.model, f.sig, pub), Code::kBadSignature, {"signature: does not verify"});
  }
  SECTION("payload re-serialized without any change is still refused (only the signed bytes count)") {
    OJson b = OJson::parse(f.s.bundle);
    std::string compact = OJson::parse(f.s.payload).dump();
    b["dsseEnvelope"]["payload"] = base64_encode(as_bytes(compact));
    write_file(f.sig, b.dump());
    require_fails(verify_key(f.model, f.sig, pub), Code::kBadSignature, {"signature: does not verify"});
  }
  SECTION("wrong key") {
    require_fails(verify_key(f.model, f.sig, pki().p384_pub), Code::kMismatch,
                  {"key mismatch: the signature names key \"" + public_key_hint(public_key(pub)) + "\"",
                   "the configured key is " + public_key_hint(public_key(pki().p384_pub))});
  }
  SECTION("hint removed: the wrong key then fails on the signature itself") {
    OJson b = OJson::parse(f.s.bundle);
    b["verificationMaterial"]["publicKey"].erase("hint");
    write_file(f.sig, b.dump());
    TempDir t2;
    sh({"openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", (t2 / "k.pem").string()});
    sh({"openssl", "pkey", "-in", (t2 / "k.pem").string(), "-pubout", "-out", (t2 / "k.pub").string()});
    require_fails(verify_key(f.model, f.sig, t2 / "k.pub"), Code::kBadSignature, {"does not verify"});
    auto ok = verify_key(f.model, f.sig, pub);
    REQUIRE(ok.ok());
    CHECK_THAT(ok.value().warnings()[0], Catch::Contains("does not name its key"));
  }
  SECTION("an Ed25519 verification key is refused cleanly") {
    require_fails(verify_key(f.model, f.sig, pki().ed25519_pub), Code::kUnsupported,
                  {"Ed25519 keys are not supported (ECDSA P-256, P-384, P-521)"});
  }
  SECTION("git files are ignored only at the root") {
    write_file(f.model / ".git/objects/xx", "new object\n");
    write_file(f.model / ".github/workflows/ci.yml", "on: push\n");
    CHECK(verify_key(f.model, f.sig, pub).ok());
    write_file(f.model / "sub/.git/HEAD", "nested\n");
    require_fails(verify_key(f.model, f.sig, pub), Code::kMismatch, {"file \"sub/.git/HEAD\" is not signed"});
  }
  SECTION("with git ignores disabled, the .git directory is unsigned content") {
    ModelVerifyOptions o;
    o.ignore_git_paths = false;
    // Recorded ignore_paths still hold the git paths the signer ignored: the signature wins.
    CHECK(verify_key(f.model, f.sig, pub, o).ok());
  }
}

TEST_CASE("ignore paths chosen at signing are recorded and need no flag to verify", "[model_signing]") {
  TempDir t;
  fs::path m = t / "m";
  make_model(m);
  write_file(m / "logs/run.txt", "step 1\n");
  SignOptions o;
  o.serialization.ignore_paths = {"logs"};
  sign_to(m, t / "m.sig", KeySigner{private_key(pki().p256)}, o);
  write_file(m / "logs/run.txt", "step 2\n");
  write_file(m / "logs/more.txt", "step 3\n");
  auto r = verify_key(m, t / "m.sig", pki().p256_pub);
  INFO((r.ok() ? std::string() : r.error().message));
  REQUIRE(r.ok());
  CHECK(r.value().signed_model().serialization.ignore_paths ==
        std::vector<std::string>{".git", ".gitattributes", ".github", ".gitignore", "logs", "model.sig"});
  SignOptions bad;
  bad.serialization.ignore_paths = {"../escape"};
  auto s = sign_model(m, t / "x.sig", KeySigner{private_key(pki().p256)}, bad);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().code == Code::kMalformed);
}

TEST_CASE("certificate signing round-trips and the time policy is strict by default", "[model_signing]") {
  TempDir t;
  fs::path m = t / "m";
  make_model(m);
  auto anchors = std::vector<Certificate>{certificate(pki().ca)};
  CertificateSigner cs{private_key(pki().leaf_key), certificate(pki().leaf), {}};
  Signed s = sign_to(m, m / "model.sig", cs);
  OJson b = OJson::parse(s.bundle);
  REQUIRE(b["verificationMaterial"]["x509CertificateChain"]["certificates"].size() == 1);
  CHECK(b["verificationMaterial"]["tlogEntries"] == OJson::array());
  CHECK(b64(b["verificationMaterial"]["x509CertificateChain"]["certificates"][0]["rawBytes"].get<std::string>()) ==
        certificate(pki().leaf).der());

  SECTION("valid leaf verifies") {
    auto r = verify_model(m, m / "model.sig", CertificateMethod{anchors}, {});
    INFO((r.ok() ? std::string() : r.error().message));
    REQUIRE(r.ok());
    CHECK_THAT(r.value().signer(), Catch::Contains("model-signer"));
  }
  SECTION("untrusted CA") {
    auto r = verify_model(m, m / "model.sig", CertificateMethod{{certificate(pki().other_ca)}}, {});
    require_fails(r, Code::kUntrusted, {"model.sig: certificate: "});
  }
  SECTION("expired leaf is rejected now and accepted only with the unsafe option") {
    CertificateSigner old{private_key(pki().leaf_key), certificate(pki().expired_leaf), {}};
    sign_to(m, m / "model.sig", old);
    require_fails(verify_model(m, m / "model.sig", CertificateMethod{anchors}, {}), Code::kUntrusted,
                  {"model.sig: certificate: "});
    ModelVerifyOptions o;
    o.allow_unsafe_expired_certificate = true;
    auto r = verify_model(m, m / "model.sig", CertificateMethod{anchors}, o);
    INFO((r.ok() ? std::string() : r.error().message));
    REQUIRE(r.ok());
    CHECK_THAT(r.value().warnings()[0], Catch::Contains("2020-01-01T00:00:00Z"));
  }
  SECTION("a leaf without digitalSignature or codeSigning is refused") {
    CertificateSigner bare{private_key(pki().leaf_key), certificate(pki().leaf_no_usage), {}};
    sign_to(m, m / "model.sig", bare);
    require_fails(verify_model(m, m / "model.sig", CertificateMethod{anchors}, {}), Code::kUntrusted,
                  {"neither key usage digitalSignature nor extended key usage codeSigning"});
  }
  SECTION("a certificate that does not certify the private key cannot sign") {
    CertificateSigner wrong{private_key(pki().p256), certificate(pki().leaf), {}};
    auto r = sign_model(m, m / "model.sig", wrong, {});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Code::kMismatch);
    CHECK_THAT(r.error().message, Catch::Contains("does not certify the private key"));
  }
  SECTION("a tampered file is still caught after the chain verifies") {
    write_file(m / "config.json", "{}\n");
    require_fails(verify_model(m, m / "model.sig", CertificateMethod{anchors}, {}), Code::kMismatch,
                  {"file \"config.json\" does not match the signed digest"});
  }
}

TEST_CASE("upstream's certificate chain signs a bundle carrying leaf then chain, verifiable with ca-cert.pem",
          "[model_signing]") {
  TempDir t;
  make_model(t / "m");
  CertificateSigner cs{private_key(upstream_keys() / "signing-key.pem"),
                       certificate(upstream_keys() / "signing-key-cert.pem"),
                       {certificate(upstream_keys() / "int-ca-cert.pem")}};
  Signed s = sign_to(t / "m", t / "m.sig", cs);
  OJson b = OJson::parse(s.bundle);
  REQUIRE(b["verificationMaterial"]["x509CertificateChain"]["certificates"].size() == 2);
  CHECK(b64(b["verificationMaterial"]["x509CertificateChain"]["certificates"][1]["rawBytes"].get<std::string>()) ==
        certificate(upstream_keys() / "int-ca-cert.pem").der());
  auto r = verify_model(t / "m", t / "m.sig", CertificateMethod{{certificate(upstream_keys() / "ca-cert.pem")}}, {});
  INFO((r.ok() ? std::string() : r.error().message));
  CHECK(r.ok());
}

TEST_CASE("shards mode round-trips and a changed shard is named by its offsets", "[model_signing]") {
  SignOptions o;
  o.serialization.method = SerializationMethod::kShards;
  o.serialization.shard_size = 4096;
  Fixture f(pki().p256, o);
  OJson st = OJson::parse(f.s.payload);
  CHECK(st["predicate"]["serialization"]["shard_size"] == 4096);
  CHECK(st["predicate"]["serialization"]["shard_size"].is_number_unsigned());
  std::vector<std::string> names;
  for (const auto& r : st["predicate"]["resources"]) {
    names.push_back(r["name"].get<std::string>());
    CHECK(r["algorithm"] == "sha256-sharded-4096");
  }
  CHECK(names == std::vector<std::string>{".hidden:0:4", "config.json:0:14", "sub/tokenizer.json:0:14",
                                          "weights.bin:0:4096", "weights.bin:4096:8192", "weights.bin:8192:10000"});
  // The middle shard's digest is SHA-256 of bytes [4096, 8192) (dd + sha256sum as the oracle).
  std::string w = read_file(f.model / "weights.bin");
  write_file(f.t / "shard1", w.substr(4096, 4096));
  CHECK(st["predicate"]["resources"][4]["digest"] == sha256sum(f.t / "shard1"));
  REQUIRE(verify_key(f.model, f.sig, pki().p256_pub).ok());

  w[5000] = static_cast<char>(w[5000] ^ 0x80);
  write_file(f.model / "weights.bin", w);
  write_file(f.t / "shard1", w.substr(4096, 4096));
  require_fails(verify_key(f.model, f.sig, pki().p256_pub), Code::kMismatch,
                {"shard \"weights.bin:4096:8192\" does not match the signed digest (signed sha256:" +
                 st["predicate"]["resources"][4]["digest"].get<std::string>() + ", found sha256:" +
                 sha256sum(f.t / "shard1") + ")"});
  ModelVerifyOptions unsigned_ok;
  unsigned_ok.ignore_unsigned_files = true;
  require_fails(verify_key(f.model, f.sig, pki().p256_pub, unsigned_ok), Code::kUnsupported,
                {"--ignore-unsigned-files works with files-mode signatures only"});
}

TEST_CASE("blake2b signatures round-trip with digests equal to openssl's BLAKE2b-512", "[model_signing]") {
  SignOptions o;
  o.serialization.hash_type = HashType::kBlake2b;
  Fixture f(pki().p384, o);
  OJson st = OJson::parse(f.s.payload);
  CHECK(st["predicate"]["serialization"]["hash_type"] == "blake2b");
  const OJson& w = st["predicate"]["resources"][3];
  CHECK(w["name"] == "weights.bin");
  CHECK(w["algorithm"] == "blake2b");
  auto d = run({"openssl", "dgst", "-blake2b512", "-r", (f.model / "weights.bin").string()});
  REQUIRE(d.exit_code == 0);
  CHECK(w["digest"] == d.out.substr(0, 128));
  REQUIRE(verify_key(f.model, f.sig, pki().p384_pub).ok());
  write_file(f.model / "config.json", "{}\n");
  require_fails(verify_key(f.model, f.sig, pki().p384_pub), Code::kMismatch,
                {"file \"config.json\" does not match the signed digest (signed blake2b:"});
}

TEST_CASE("symlinks are refused unless both signer and verifier allow them", "[model_signing]") {
  TempDir t;
  fs::path m = t / "m";
  make_model(m);
  write_file(m / "data/linked.txt", "linked content\n");
  fs::create_symlink("data/linked.txt", m / "link.txt");
  auto refused = sign_model(m, m / "model.sig", KeySigner{private_key(pki().p256)}, {});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == Code::kUnsupported);
  CHECK_THAT(refused.error().message, Catch::Contains("link.txt"));

  SignOptions o;
  o.serialization.allow_symlinks = true;
  sign_to(m, m / "model.sig", KeySigner{private_key(pki().p256)}, o);
  auto no = verify_key(m, m / "model.sig", pki().p256_pub);
  REQUIRE_FALSE(no.ok());
  CHECK(no.error().code == Code::kUnsupported);
  CHECK_THAT(no.error().message, Catch::Contains("link.txt"));
  ModelVerifyOptions yes;
  yes.allow_symlinks = true;
  auto r = verify_key(m, m / "model.sig", pki().p256_pub, yes);
  INFO((r.ok() ? std::string() : r.error().message));
  REQUIRE(r.ok());
  // The link is hashed with its target's bytes under its own name.
  bool found = false;
  for (const auto& res : r.value().manifest().resources) {
    if (res.name == "link.txt") {
      found = true;
      CHECK(to_hex(res.digest) == sha256sum(m / "data/linked.txt"));
    }
  }
  CHECK(found);
  // A symlink added to a model signed without them is refused even with --allow-symlinks.
  TempDir t2;
  make_model(t2 / "m");
  sign_to(t2 / "m", t2 / "m.sig", KeySigner{private_key(pki().p256)});
  fs::create_symlink(t2 / "m/config.json", t2 / "m/alias.json");
  auto added = verify_key(t2 / "m", t2 / "m.sig", pki().p256_pub, yes);
  REQUIRE_FALSE(added.ok());
  CHECK(added.error().code == Code::kUnsupported);
  CHECK_THAT(added.error().message, Catch::Contains("alias.json"));
}

TEST_CASE("a single-file model is signed as '.' and verifies", "[model_signing]") {
  TempDir t;
  write_file(t / "weights.safetensors", "tensor bytes\n");
  Signed s = sign_to(t / "weights.safetensors", t / "model.sig", KeySigner{private_key(pki().p256)});
  OJson st = OJson::parse(s.payload);
  CHECK(st["subject"][0]["name"] == "weights.safetensors");
  CHECK(st["predicate"]["resources"][0]["name"] == ".");
  CHECK(st["predicate"]["resources"][0]["digest"] == sha256sum(t / "weights.safetensors"));
  CHECK(verify_key(t / "weights.safetensors", t / "model.sig", pki().p256_pub).ok());
  write_file(t / "weights.safetensors", "tensor bytes!\n");
  require_fails(verify_key(t / "weights.safetensors", t / "model.sig", pki().p256_pub), Code::kMismatch,
                {"file \"weights.safetensors\" does not match the signed digest"});
}

TEST_CASE("keys other than ECDSA P-256/384/521 and empty models cannot sign", "[model_signing]") {
  TempDir t;
  make_model(t / "m");
  auto ed = sign_model(t / "m", t / "m.sig", KeySigner{private_key(pki().ed25519)}, {});
  REQUIRE_FALSE(ed.ok());
  CHECK(ed.error().code == Code::kUnsupported);
  CHECK_THAT(ed.error().message, Catch::Contains("Ed25519 keys are not supported"));
  fs::create_directories(t / "empty/.git");
  write_file(t / "empty/.git/HEAD", "x\n");
  auto empty = sign_model(t / "empty", t / "e.sig", KeySigner{private_key(pki().p256)}, {});
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.error().code == Code::kMalformed);
  CHECK_THAT(empty.error().message, Catch::Contains("nothing to sign"));
}
