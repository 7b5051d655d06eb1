// Tests of `modelgate digest`, run as a real process.
#include <openssl/evp.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "crypto/encoding.h"
#include "test_support.h"

namespace fs = std::filesystem;
using modelgate::testing::run;
using modelgate::testing::TempDir;
using modelgate::testing::write_file;

namespace {

fs::path signed_models() { return modelgate::testing::vectors_dir() / "model_signing/scripts/tests"; }

modelgate::testing::ProcessResult digest(std::vector<std::string> args) {
  args.insert(args.begin(), {modelgate::testing::modelgate_binary().string(), "digest"});
  return run(args);
}

// subject_digest decodes model.sig's DSSE payload and returns subject[0].digest.sha256.
std::string subject_digest(const fs::path& sig) {
  const auto bundle = nlohmann::json::parse(modelgate::testing::read_file(sig));
  auto payload = modelgate::crypto::base64_decode(bundle["dsseEnvelope"]["payload"].get<std::string>());
  REQUIRE(payload.ok());
  const auto st = nlohmann::json::parse(std::string(payload->begin(), payload->end()));
  return st["subject"][0]["digest"]["sha256"];
}

std::string openssl_sha256_hex(const std::string& s) {
  unsigned char out[32];
  unsigned int len = 0;
  REQUIRE(EVP_Digest(s.data(), s.size(), out, &len, EVP_sha256(), nullptr) == 1);
  return modelgate::testing::to_hex(out, len);
}

int count_lines(const std::string& s) {
  int n = 0;
  for (char c : s) {
    n += c == '\n';
  }
  return n;
}

}  // namespace

TEST_CASE("digest prints sha256:<root> equal to the subject digest upstream signed") {
  for (const std::string model : {"v1.0.1-certificate", "v1.1.0-elliptic-key", "v0.3.1-sigstore"}) {
    INFO(model);
    const fs::path dir = signed_models() / model;
    // The signer ignored its signature and (v1.0.1, v1.1.0) the file ignore-me. One path per
    // flag: the model after a flag is not taken for a second path.
    std::vector<std::string> args{"--ignore-paths", (dir / "model.sig").string(), dir.string()};
    if (fs::exists(dir / "ignore-me")) {
      args.insert(args.end(), {"--ignore-paths", (dir / "ignore-me").string()});
    }
    auto r = digest(args);
    CHECK(r.err.empty());
    REQUIRE(r.exit_code == 0);
    CHECK(r.out == "sha256:" + subject_digest(dir / "model.sig") + "\n");
  }
}

TEST_CASE("digest of a single-file model equals the subject digest of its signature") {
  const fs::path dir = signed_models() / "v1.0.0-elliptic-key";
  auto r = digest({(dir / "signme-1").string()});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == "sha256:" + subject_digest(dir / "model.sig") + "\n");
}

TEST_CASE("ignore paths given relative to the cwd are applied when they lie inside the model") {
  TempDir dir;
  write_file(dir / "m/keep", "k");
  write_file(dir / "m/drop", "d");
  write_file(dir / "m/.git/HEAD", "ref");
  // root = SHA-256 over the one raw digest left, SHA-256("k") (model_signing.md §1.5).
  unsigned char d[32];
  unsigned int n = 0;
  REQUIRE(EVP_Digest("k", 1, d, &n, EVP_sha256(), nullptr) == 1);
  const std::string keep_only = "sha256:" + openssl_sha256_hex(std::string(reinterpret_cast<char*>(d), n));
  const fs::path old_cwd = fs::current_path();
  fs::current_path(dir.path());
  auto r = digest({"m", "--ignore-paths", "m/drop"});
  fs::current_path(old_cwd);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == keep_only + "\n");  // .git ignored by default, m/drop by the flag

  // --no-ignore-git-paths: .git/HEAD is hashed too, first in canonical order.
  auto raw = [](const std::string& s) {
    unsigned char out[32];
    unsigned int len = 0;
    REQUIRE(EVP_Digest(s.data(), s.size(), out, &len, EVP_sha256(), nullptr) == 1);
    return std::string(reinterpret_cast<char*>(out), len);
  };
  auto with_git = digest({(dir / "m").string(), "--no-ignore-git-paths", "--ignore-paths", (dir / "m/drop").string()});
  REQUIRE(with_git.exit_code == 0);
  CHECK(with_git.out == "sha256:" + openssl_sha256_hex(raw("ref") + raw("k")) + "\n");
}

TEST_CASE("digest --json prints the manifest with serialization, resources and root digest") {
  TempDir dir;
  write_file(dir / "m/b", "bee");
  write_file(dir / "m/a", "a");
  auto text = digest({(dir / "m").string()});
  REQUIRE(text.exit_code == 0);
  auto r = digest({(dir / "m").string(), "--json"});
  REQUIRE(r.exit_code == 0);
  const auto doc = nlohmann::json::parse(r.out);
  REQUIRE(doc.size() == 4);
  const auto& ser = doc.at("serialization");
  CHECK(ser.size() == 4);
  CHECK(ser.at("method") == "files");
  CHECK(ser.at("hash_type") == "sha256");
  CHECK(ser.at("allow_symlinks") == false);
  // The default signature file is never hashed in a directory model, signed or not (issue #20).
  CHECK(ser.at("ignore_paths") ==
        nlohmann::json::array({".git", ".gitattributes", ".github", ".gitignore", "model.sig"}));
  const auto& res = doc.at("resources");
  REQUIRE(res.size() == 2);
  CHECK(res[0] == nlohmann::json{{"name", "a"}, {"algorithm", "sha256"}, {"digest", openssl_sha256_hex("a")}});
  CHECK(res[1] == nlohmann::json{{"name", "b"}, {"algorithm", "sha256"}, {"digest", openssl_sha256_hex("bee")}});
  CHECK(doc.at("root_digest").get<std::string>() + "\n" == text.out);

  auto shards = digest({(dir / "m").string(), "--json", "--shard-size", "2", "--no-ignore-git-paths"});
  REQUIRE(shards.exit_code == 0);
  const auto sdoc = nlohmann::json::parse(shards.out);
  CHECK(sdoc.at("serialization").at("method") == "shards");
  CHECK(sdoc.at("serialization").at("shard_size") == 2);
  CHECK(sdoc.at("serialization").at("ignore_paths") == nlohmann::json::array({"model.sig"}));
  REQUIRE(sdoc.at("resources").size() == 3);
  CHECK(sdoc.at("resources")[2] ==
        nlohmann::json{{"name", "b:2:3"}, {"algorithm", "sha256-sharded-2"}, {"digest", openssl_sha256_hex("e")}});

  auto blake = digest({(dir / "m").string(), "--json", "--hash", "blake2b", "--threads", "1"});
  REQUIRE(blake.exit_code == 0);
  const auto bdoc = nlohmann::json::parse(blake.out);
  CHECK(bdoc.at("serialization").at("hash_type") == "blake2b");
  CHECK(bdoc.at("resources")[0].at("digest").get<std::string>().size() == 128);
}

TEST_CASE("digest --json names the SHA-256 kernel, how it was chosen and every candidate's speed") {
  TempDir dir;
  write_file(dir / "m/a", "a");
  auto r = digest({(dir / "m").string(), "--json"});
  REQUIRE(r.exit_code == 0);
  const auto k = nlohmann::json::parse(r.out).at("sha256_kernel");
  CHECK(k.at("selected_by") == "benchmark");
  CHECK(k.at("benchmark_ms").get<double>() > 0);
  CHECK(k.at("benchmark_cpu_ms").get<double>() > 0);
  const auto& candidates = k.at("candidates");
  REQUIRE(candidates.size() >= 1);
  CHECK(candidates[0].at("name") == "scalar");
  bool chosen_listed = false;
  bool baseline_listed = false;
  for (const auto& c : candidates) {
    CHECK(c.at("gbps").get<double>() > 0);
    chosen_listed = chosen_listed || (c.at("name") == k.at("name") && c.at("lanes") == k.at("lanes"));
    baseline_listed = baseline_listed || c.at("name") == k.at("baseline");
  }
  CHECK(chosen_listed);
  CHECK(baseline_listed);

  // MODELGATE_SHA256 forces the kernel, and says so; the digest does not change.
  auto forced = run({"env", "MODELGATE_SHA256=scalar", modelgate::testing::modelgate_binary().string(), "digest",
                     (dir / "m").string(), "--json"});
  REQUIRE(forced.exit_code == 0);
  const auto fdoc = nlohmann::json::parse(forced.out);
  CHECK(fdoc.at("sha256_kernel").at("name") == "scalar");
  CHECK(fdoc.at("sha256_kernel").at("lanes") == 1);
  CHECK(fdoc.at("sha256_kernel").at("selected_by") == "environment");
  CHECK(fdoc.at("root_digest") == nlohmann::json::parse(r.out).at("root_digest"));
}

TEST_CASE("digest of a missing model is a usage error with one line on stderr") {
  TempDir dir;
  auto r = digest({(dir / "nope").string()});
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(count_lines(r.err) == 1);
  CHECK(r.err == "modelgate: error: \"" + (dir / "nope").string() + "\": no such file or directory\n");
}

TEST_CASE("digest of a model that cannot be hashed exits 1 with one line naming the file") {
  TempDir dir;
  write_file(dir / "m/f", "f");
  fs::create_symlink("f", dir / "m/link");
  auto r = digest({(dir / "m").string()});
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK(r.err == "modelgate: error: \"" + (dir / "m").string() + "\": link: is a symlink and symlinks are not allowed\n");
  auto allowed = digest({(dir / "m").string(), "--allow-symlinks"});
  CHECK(allowed.exit_code == 0);
}

TEST_CASE("digest rejects an unknown hash, a zero shard size and too many threads as usage errors") {
  TempDir dir;
  write_file(dir / "m/f", "f");
  auto hash = digest({(dir / "m").string(), "--hash", "md5"});
  CHECK(hash.exit_code == 2);
  CHECK(hash.err == "modelgate: error: --hash: unsupported hash type \"md5\" (expected sha256 or blake2b)\n");
  auto shard = digest({(dir / "m").string(), "--shard-size", "0"});
  CHECK(shard.exit_code == 2);
  CHECK(shard.err == "modelgate: error: --shard-size: must be at least 1\n");
  auto threads = digest({(dir / "m").string(), "--threads", "100000"});
  CHECK(threads.exit_code == 2);
  CHECK(threads.err == "modelgate: error: --threads: too many threads (100000 > 256)\n");
}
