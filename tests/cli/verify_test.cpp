// Tests of `modelgate verify` and `modelgate sign`, run as real processes: exit codes 0/1/2, the
// "Verification succeeded" / "Verification failed: ..." lines, the checks on stderr, upstream's
// flag spellings, and sign → verify round trips cross-checked with `modelgate digest` and sha256sum.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "test_support.h"

namespace fs = std::filesystem;
using modelgate::testing::ProcessResult;
using modelgate::testing::random_bytes;
using modelgate::testing::read_file;
using modelgate::testing::run;
using modelgate::testing::TempDir;
using modelgate::testing::vectors_dir;
using modelgate::testing::write_file;

namespace {

fs::path tests_dir() { return vectors_dir() / "model_signing/scripts/tests"; }
fs::path keys_dir() { return tests_dir() / "keys/certificate"; }
fs::path roots_dir() { return vectors_dir() / "model_signing/trust_roots"; }

const std::string kIdentity = "stefanb@us.ibm.com";
const std::string kIssuer = "https://sigstore.verify.ibm.com/oauth2";

ProcessResult mg(std::vector<std::string> args) {
  args.insert(args.begin(), modelgate::testing::modelgate_binary().string());
  return run(args);
}

void sh(const std::vector<std::string>& argv) {
  auto r = run(argv);
  INFO(argv[0] << ": " << r.err);
  REQUIRE(r.exit_code == 0);
}

std::string sha256sum(const fs::path& p) {
  auto r = run({"sha256sum", p.string()});
  REQUIRE(r.exit_code == 0);
  return r.out.substr(0, 64);
}

void require_ok(const ProcessResult& r) {
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::StartsWith("Verification succeeded\n"));
}

void require_failed(const ProcessResult& r, const std::string& text) {
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.out, Catch::StartsWith("Verification failed: "));
  CHECK_THAT(r.out, Catch::Contains(text));
}

void require_usage(const ProcessResult& r, const std::string& err_text) {
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK_THAT(r.err, Catch::Contains(err_text));
}

void make_model(const fs::path& m) {
  auto w = random_bytes(50000, 7);
  write_file(m / "weights.bin", std::string(w.begin(), w.end()));
  write_file(m / "config.json", "{\"layers\": 2}\n");
  write_file(m / "sub/vocab.txt", "a\nb\n");
}

}  // namespace

TEST_CASE("verify key succeeds on upstream's v1.1.0 model and lists its checks on stderr", "[model_signing]") {
  fs::path d = tests_dir() / "v1.1.0-elliptic-key";
  auto r = mg({"verify", "key", d.string(), "--signature", (d / "model.sig").string(), "--public-key",
               (keys_dir() / "signing-key-pub.pem").string()});
  require_ok(r);
  CHECK_THAT(r.out, Catch::Contains("root digest: sha256:92745110b1ab4368471cbe31664e10174e954b113a3df333db860317b2c6dec4"));
  CHECK_THAT(r.err, Catch::Contains("check: key: the bundle's key hint matches the configured key e8450dec"));
  CHECK_THAT(r.err, Catch::Contains("check: signature: ECDSA P-384 with sha384 over the DSSE PAE verifies"));
  CHECK_THAT(r.err, Catch::Contains("check: model: 2 resources"));
}

TEST_CASE("verify fails with exit 1 naming the unsigned file, and --ignore-paths fixes v1.0.1", "[model_signing]") {
  fs::path d = tests_dir() / "v1.0.1-certificate";
  std::vector<std::string> base{"verify", "certificate", d.string(), "--signature", (d / "model.sig").string(),
                                "--certificate-chain", (keys_dir() / "ca-cert.pem").string()};
  require_failed(mg(base), "file \"ignore-me\" is not signed (found sha256:"
                           "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855)");
  // upstream's spelling: a path as seen from the cwd, given before the model
  auto with = base;
  with.insert(with.begin() + 2, {"--ignore-paths", (d / "ignore-me").string()});
  require_ok(mg(with));
  // a model-relative path with upstream ≤ 1.1.1's underscore flag names
  require_ok(mg({"verify", "certificate", d.string(), "--signature", (d / "model.sig").string(), "--certificate_chain",
                 (keys_dir() / "ca-cert.pem").string(), "--ignore_paths", "ignore-me"}));
}

TEST_CASE("verify key with another key fails as a key mismatch", "[model_signing]") {
  TempDir t;
  sh({"openssl", "ecparam", "-name", "secp384r1", "-genkey", "-noout", "-out", (t / "k.pem").string()});
  sh({"openssl", "pkey", "-in", (t / "k.pem").string(), "-pubout", "-out", (t / "k.pub").string()});
  fs::path d = tests_dir() / "v1.1.0-elliptic-key";
  require_failed(mg({"verify", "key", d.string(), "--signature", (d / "model.sig").string(), "--public_key",
                     (t / "k.pub").string()}),
                 "model.sig: key mismatch");
}

TEST_CASE("verify sigstore checks identity, issuer and trust root", "[model_signing]") {
  fs::path d = tests_dir() / "v1.1.0-sigstore";
  std::vector<std::string> base{"verify", "sigstore", d.string(), "--signature", (d / "model.sig").string()};
  auto with = [&](std::vector<std::string> extra) {
    auto a = base;
    a.insert(a.end(), extra.begin(), extra.end());
    return mg(a);
  };
  auto ok = with({"--identity", kIdentity, "--identity-provider", kIssuer});
  require_ok(ok);
  CHECK_THAT(ok.out, Catch::Contains("signer: \"stefanb@us.ibm.com\""));
  CHECK_THAT(ok.out, Catch::Contains("issuer: \"https://sigstore.verify.ibm.com/oauth2\""));
  require_ok(with({"--identity", kIdentity, "--identity_provider", kIssuer, "--trusted-root",
                   (roots_dir() / "sigstore-production-trusted_root.json").string()}));
  require_ok(with({"--identity", "^stefanb@.*$", "--identity-regex", "--identity-provider", kIssuer}));
  require_failed(with({"--identity", "someone@example.com", "--identity-provider", kIssuer}), "identity does not match");
  require_failed(with({"--identity", kIdentity, "--identity-provider", "https://accounts.google.com"}),
                 "issuer does not match");
  require_failed(with({"--identity", kIdentity, "--identity-provider", kIssuer, "--trusted-root",
                       (roots_dir() / "sigstore-staging-trusted_root.json").string()}),
                 "model.sig: sigstore: ");
}

TEST_CASE("the legacy v0.2 certificate model verifies with a warning", "[model_signing]") {
  fs::path d = tests_dir() / "v0.2.0-certificate";
  auto r = mg({"verify", "certificate", d.string(), "--signature", (d / "model.sig").string(), "--certificate-chain",
               (keys_dir() / "ca-cert.pem").string()});
  require_ok(r);
  CHECK_THAT(r.err, Catch::Contains("modelgate: warning: signature uses model_signing v0.2's legacy encoding"));
}

TEST_CASE("an unopenable key or certificate file is named once, after its flag", "[model_signing]") {
  fs::path d = tests_dir() / "v1.1.0-elliptic-key";
  std::string pub = (d / "absent.pub").string();
  auto r = mg({"verify", "key", d.string(), "--signature", (d / "model.sig").string(), "--public-key", pub});
  REQUIRE(r.exit_code == 2);
  CHECK(r.err == "modelgate: error: --public-key " + pub + ": cannot open: No such file or directory\n");
  std::string chain = (d / "absent-chain.pem").string();
  auto c = mg({"verify", "certificate", d.string(), "--signature", (d / "model.sig").string(), "--certificate-chain",
               chain});
  REQUIRE(c.exit_code == 2);
  CHECK(c.err == "modelgate: error: --certificate-chain " + chain + ": cannot open: No such file or directory\n");
}

TEST_CASE("unopenable files and usage errors exit 2 without a verification line", "[model_signing]") {
  fs::path d = tests_dir() / "v1.1.0-elliptic-key";
  std::string pub = (keys_dir() / "signing-key-pub.pem").string();
  require_usage(mg({"verify", "key", d.string(), "--signature", (d / "absent.sig").string(), "--public-key", pub}),
                "modelgate: error: absent.sig: cannot open");
  require_usage(mg({"verify", "key", d.string(), "--signature", (d / "model.sig").string(), "--public-key",
                    (d / "absent.pub").string()}),
                "--public-key");
  require_usage(mg({"verify", "key", (d / "absent-model").string(), "--signature", (d / "model.sig").string(),
                    "--public-key", pub}),
                "modelgate: error: ");
  require_usage(mg({"verify", "key", d.string(), "--public-key", pub}), "--signature");
  require_usage(mg({"verify", d.string(), "--signature", (d / "model.sig").string()}), "");
  require_usage(mg({"verify", "certificate", d.string(), "--signature", (d / "model.sig").string()}),
                "--certificate-chain");
  require_usage(mg({"verify", "key", d.string(), "--signature", (d / "model.sig").string(), "--public-key", pub,
                    "--ignore-paths", "../escape"}),
                "\"..\" component");
}

TEST_CASE("sign key writes a signature that verify accepts, with the root `modelgate digest` prints",
          "[model_signing]") {
  TempDir t;
  fs::path m = t / "model";
  make_model(m);
  sh({"openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", (t / "k.pem").string()});
  sh({"openssl", "pkey", "-in", (t / "k.pem").string(), "-pubout", "-out", (t / "k.pub").string()});
  auto digest = mg({"digest", m.string()});  // before model.sig exists in the model
  REQUIRE(digest.exit_code == 0);
  std::string root = digest.out.substr(0, digest.out.find('\n'));
  REQUIRE(root.size() == 7 + 64);
  auto s = mg({"sign", "key", m.string(), "--private-key", (t / "k.pem").string()});
  INFO(s.err);
  REQUIRE(s.exit_code == 0);
  // Default location: model.sig inside a directory model.
  CHECK_THAT(s.out, Catch::StartsWith("Signature written to \"" + (m / "model.sig").string() + "\"\n"));
  REQUIRE(fs::exists(m / "model.sig"));
  CHECK_THAT(s.out, Catch::Contains("root digest: " + root + "\n"));

  std::vector<std::string> verify{"verify", "key", m.string(), "--signature", (m / "model.sig").string(),
                                  "--public-key", (t / "k.pub").string()};
  auto v = mg(verify);
  require_ok(v);
  CHECK_THAT(v.out, Catch::Contains("root digest: " + root));

  std::string signed_digest = sha256sum(m / "config.json");
  write_file(m / "config.json", "{\"layers\": 3}\n");
  write_file(m / "extra.bin", "x");
  fs::remove(m / "sub/vocab.txt");
  auto bad = mg(verify);
  require_failed(bad, "file \"config.json\" does not match the signed digest (signed sha256:" + signed_digest +
                          ", found sha256:" + sha256sum(m / "config.json") + ")");
  CHECK_THAT(bad.out, Catch::Contains("file \"sub/vocab.txt\" is missing (signed sha256:"));
  CHECK_THAT(bad.out, Catch::Contains("file \"extra.bin\" is not signed (found sha256:" + sha256sum(m / "extra.bin")));

  // --ignore-unsigned-files tolerates extra.bin but not the other two.
  auto a = verify;
  a.push_back("--ignore-unsigned-files");
  auto tolerant = mg(a);
  require_failed(tolerant, "file \"config.json\" does not match");
  CHECK_THAT(tolerant.out, !Catch::Contains("extra.bin"));
}

TEST_CASE("sign with shards, blake2b and an encrypted key round-trips through the CLI", "[model_signing]") {
  TempDir t;
  fs::path m = t / "model";
  make_model(m);
  sh({"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521", "-aes256", "-pass",
      "pass:s3cret", "-out", (t / "k.pem").string()});
  sh({"openssl", "pkey", "-in", (t / "k.pem").string(), "-passin", "pass:s3cret", "-pubout", "-out",
      (t / "k.pub").string()});
  for (const auto& extra : std::vector<std::vector<std::string>>{
           {"--shard-size", "16384"}, {"--hash", "blake2b"}, {"--shard_size", "1000", "--hash", "blake2b"}}) {
    INFO(extra[0]);
    std::vector<std::string> sign{"sign", "key", m.string(), "--private-key", (t / "k.pem").string(), "--password",
                                  "s3cret", "--signature", (t / "m.sig").string()};
    sign.insert(sign.end(), extra.begin(), extra.end());
    auto s = mg(sign);
    INFO(s.err);
    REQUIRE(s.exit_code == 0);
    require_ok(mg({"verify", "key", m.string(), "--signature", (t / "m.sig").string(), "--public-key",
                   (t / "k.pub").string()}));
  }
  auto wrong = mg({"sign", "key", m.string(), "--private-key", (t / "k.pem").string(), "--password", "nope"});
  CHECK(wrong.exit_code == 2);
  CHECK_THAT(wrong.err, Catch::Contains("--private-key"));
}

TEST_CASE("sign refuses keys other than ECDSA as a usage error (exit 2) before reading the model",
          "[model_signing]") {
  TempDir t;
  make_model(t / "m");
  sh({"openssl", "genpkey", "-algorithm", "ed25519", "-out", (t / "ed.pem").string()});
  auto r = mg({"sign", "key", (t / "m").string(), "--private-key", (t / "ed.pem").string()});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("--private-key: private key: Ed25519 keys are not supported"));
  CHECK_FALSE(fs::exists(t / "m/model.sig"));
}

TEST_CASE("sign certificate: an expired leaf fails verification unless --allow-unsafe-expired-certificate",
          "[model_signing]") {
  TempDir t;
  fs::path m = t / "model";
  make_model(m);
  // A root valid 2019-2045 and a leaf valid only in 2020, made with `openssl ca` (explicit dates).
  write_file(t / "index.txt", "");
  write_file(t / "serial", "10\n");
  write_file(t / "ca.cnf", "[ ca ]\ndefault_ca = d\n[ d ]\ndatabase = " + (t / "index.txt").string() +
                               "\nnew_certs_dir = " + t.path().string() + "\nserial = " + (t / "serial").string() +
                               "\ndefault_md = sha256\npolicy = any\nunique_subject = no\n[ any ]\ncommonName = supplied\n");
  write_file(t / "ca-ext.cnf", "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n");
  write_file(t / "leaf-ext.cnf", "keyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n");
  sh({"openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", (t / "ca.key").string()});
  sh({"openssl", "req", "-new", "-key", (t / "ca.key").string(), "-subj", "/CN=cli-root", "-out", (t / "ca.csr").string()});
  sh({"openssl", "ca", "-batch", "-selfsign", "-config", (t / "ca.cnf").string(), "-keyfile", (t / "ca.key").string(),
      "-in", (t / "ca.csr").string(), "-out", (t / "ca.pem").string(), "-startdate", "20190101000000Z", "-enddate",
      "20450101000000Z", "-extfile", (t / "ca-ext.cnf").string(), "-notext"});
  sh({"openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", (t / "leaf.key").string()});
  sh({"openssl", "req", "-new", "-key", (t / "leaf.key").string(), "-subj", "/CN=old-signer", "-out",
      (t / "leaf.csr").string()});
  sh({"openssl", "ca", "-batch", "-config", (t / "ca.cnf").string(), "-cert", (t / "ca.pem").string(), "-keyfile",
      (t / "ca.key").string(), "-in", (t / "leaf.csr").string(), "-out", (t / "leaf.pem").string(), "-startdate",
      "20200101000000Z", "-enddate", "20210101000000Z", "-extfile", (t / "leaf-ext.cnf").string(), "-notext"});

  auto s = mg({"sign", "certificate", m.string(), "--private-key", (t / "leaf.key").string(), "--signing-certificate",
               (t / "leaf.pem").string()});
  INFO(s.err);
  REQUIRE(s.exit_code == 0);
  std::vector<std::string> verify{"verify", "certificate", m.string(), "--signature", (m / "model.sig").string(),
                                  "--certificate-chain", (t / "ca.pem").string()};
  require_failed(mg(verify), "model.sig: certificate: ");
  verify.push_back("--allow-unsafe-expired-certificate");
  auto r = mg(verify);
  require_ok(r);
  CHECK_THAT(r.err, Catch::Contains("not now (--allow-unsafe-expired-certificate)"));
  // A signing certificate for another key is refused before anything is written.
  fs::remove(m / "model.sig");
  auto wrong = mg({"sign", "certificate", m.string(), "--private-key", (t / "ca.key").string(), "--signing-certificate",
                   (t / "leaf.pem").string()});
  CHECK(wrong.exit_code == 2);  // flags that do not fit together: a usage error
  CHECK_THAT(wrong.err, Catch::Contains("--signing-certificate: signing certificate"));
  CHECK_THAT(wrong.err, Catch::Contains("does not certify the private key"));
  CHECK_FALSE(fs::exists(m / "model.sig"));
}

TEST_CASE("sign certificate with upstream's chain verifies against upstream's root", "[model_signing]") {
  TempDir t;
  make_model(t / "m");
  auto s = mg({"sign", "certificate", (t / "m").string(), "--private_key", (keys_dir() / "signing-key.pem").string(),
               "--signing_certificate", (keys_dir() / "signing-key-cert.pem").string(), "--certificate-chain",
               (keys_dir() / "int-ca-cert.pem").string(), "--signature", (t / "m.sig").string()});
  INFO(s.err);
  REQUIRE(s.exit_code == 0);
  require_ok(mg({"verify", "certificate", (t / "m").string(), "--signature", (t / "m.sig").string(),
                 "--certificate-chain", (keys_dir() / "ca-cert.pem").string()}));
  // The same bundle is no good for the key method.
  require_failed(mg({"verify", "key", (t / "m").string(), "--signature", (t / "m.sig").string(), "--public-key",
                     (keys_dir() / "signing-key-pub.pem").string()}),
                 "signed with a certificate, not a public key");
}

namespace {

// signed_with_symlinks makes a P-256 key pair in `t` and signs `m` with --allow-symlinks (the
// signature records allow_symlinks: true). Returns the verify command line for it.
std::vector<std::string> signed_with_symlinks(const TempDir& t, const fs::path& m) {
  sh({"openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", (t / "k.pem").string()});
  sh({"openssl", "pkey", "-in", (t / "k.pem").string(), "-pubout", "-out", (t / "k.pub").string()});
  auto s = mg({"sign", "key", m.string(), "--private-key", (t / "k.pem").string(), "--allow-symlinks"});
  INFO(s.err);
  REQUIRE(s.exit_code == 0);
  return {"verify", "key", m.string(), "--signature", (m / "model.sig").string(), "--public-key",
          (t / "k.pub").string(), "--allow-symlinks"};
}

}  // namespace

TEST_CASE("verify --allow-symlinks refuses a directory link added after signing that leaves the model",
          "[model_signing][symlinks]") {
  TempDir t;
  fs::path m = t / "model";
  make_model(m);
  const auto verify = signed_with_symlinks(t, m);
  require_ok(mg(verify));
  write_file(t / "outside/evil.py", "import os; os.system('curl evil')\n");
  fs::create_directory_symlink(t / "outside", m / "plugins");
  require_failed(mg(verify), "plugins: is a symlink to a directory outside the model");
  fs::remove(m / "plugins");
  // A loop is refused too, not skipped.
  fs::create_directory_symlink("..", m / "sub/loop");
  require_failed(mg(verify), "sub/loop: is a symlink cycle (its target directory contains it)");
}

TEST_CASE("verify --allow-symlinks refuses a signed file link whose target leaves the model, and sign refuses it",
          "[model_signing][symlinks]") {
  TempDir t;
  fs::path m = t / "model";
  make_model(m);
  // Signed as a regular file with the outside file's bytes, then turned into a link to it: the
  // bytes still match, only the link leaves the model.
  write_file(t / "hostname", "build-host-7\n");
  write_file(m / "hostname", "build-host-7\n");
  const auto verify = signed_with_symlinks(t, m);
  require_ok(mg(verify));
  fs::remove(m / "hostname");
  fs::create_symlink(t / "hostname", m / "hostname");
  require_failed(mg(verify), "hostname: is a symlink to a file outside the model");
  auto s = mg({"sign", "key", m.string(), "--private-key", (t / "k.pem").string(), "--allow-symlinks", "--signature",
               (t / "again.sig").string()});
  INFO(s.err);
  CHECK(s.exit_code == 1);
  CHECK_THAT(s.err, Catch::Contains("hostname: is a symlink to a file outside the model"));
  CHECK(!fs::exists(t / "again.sig"));
  // A link to a file inside the model verifies as the file's bytes under the link's name.
  fs::remove(m / "hostname");
  fs::create_symlink("weights.bin", m / "hostname");
  require_failed(mg(verify), "file \"hostname\" does not match the signed digest");
}

TEST_CASE("sign refuses up front a model whose signature verify would refuse as too large", "[model_signing][limits]") {
  TempDir t;
  // One 400 kB file in 1-byte shards: 400,000 resources, a ~90 MB signature, as many as a
  // 400,000-file model (330,000 files made the 70 MB signature of the report).
  write_file(t / "model/weights.bin", "");
  fs::resize_file(t / "model/weights.bin", 400'000);
  sh({"openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", (t / "k.pem").string()});
  auto s = mg({"sign", "key", (t / "model").string(), "--private-key", (t / "k.pem").string(), "--shard-size", "1",
               "--signature", (t / "model.sig").string()});
  INFO(s.err);
  CHECK(s.exit_code == 1);
  CHECK_THAT(s.err, Catch::Contains("too many resources for one signature (400000"));
  CHECK(!fs::exists(t / "model.sig"));
}
