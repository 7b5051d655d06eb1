#include "crypto/manifest.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "base/limits.h"
#include "crypto/encoding.h"
#include "test_support.h"

namespace crypto = modelgate::crypto;
namespace fs = std::filesystem;
using crypto::HashType;
using crypto::Manifest;
using crypto::Resource;
using crypto::SerializationConfig;
using crypto::SerializationMethod;
using modelgate::Code;
using modelgate::testing::TempDir;
using modelgate::testing::to_hex;
using modelgate::testing::write_file;

namespace {

constexpr std::size_t kW = modelgate::limits::kHashWindowBytes;
constexpr const char* kEmptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fs::path ms_vectors() { return modelgate::testing::vectors_dir() / "model_signing"; }

// OpenSSL EVP is the independent oracle for every digest computed here.
std::string openssl_hex(const EVP_MD* md, const void* p, std::size_t n) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  REQUIRE(EVP_Digest(p, n, out, &len, md, nullptr) == 1);
  return to_hex(out, len);
}
std::string openssl_hex(const EVP_MD* md, const std::string& s) { return openssl_hex(md, s.data(), s.size()); }

std::vector<std::uint8_t> unhex(const std::string& h) {
  auto r = crypto::from_hex(h);
  REQUIRE(r.ok());
  return r.value();
}

// The root per §1.5, computed with OpenSSL over the hex digests in the order given.
std::string openssl_root(const std::vector<std::string>& hex_digests) {
  std::string cat;
  for (const auto& h : hex_digests) {
    const auto b = unhex(h);
    cat.append(b.begin(), b.end());
  }
  return openssl_hex(EVP_sha256(), cat);
}

std::string root_hex(const Manifest& m) {
  const auto r = m.root_digest();
  return to_hex(r);
}

std::vector<std::pair<std::string, std::string>> name_digests(const Manifest& m) {
  std::vector<std::pair<std::string, std::string>> v;
  for (const auto& r : m.resources) {
    v.emplace_back(r.name, to_hex(r.digest));
  }
  return v;
}

Manifest hash_ok(const fs::path& model, const SerializationConfig& config, const crypto::HashOptions& options = {}) {
  auto m = crypto::hash_model(model, config, options);
  if (!m.ok()) {
    FAIL_CHECK(m.error().message);
  }
  REQUIRE(m.ok());
  return std::move(m).value();
}

SerializationConfig files_config(bool allow_symlinks = false) {
  SerializationConfig c;
  c.allow_symlinks = allow_symlinks;
  return c;
}

SerializationConfig shards_config(std::uint64_t shard_size, bool allow_symlinks = false) {
  SerializationConfig c;
  c.method = SerializationMethod::kShards;
  c.shard_size = shard_size;
  c.allow_symlinks = allow_symlinks;
  return c;
}

// Fixtures provides upstream's conftest models from generated_fixture_models/. Two cannot be read
// in place: git drops the empty directory of empty_model_folder, and the vector copy stores the
// symlink of symlink_model_folder as a regular file holding the link text; both are rebuilt in a
// temporary directory (only when the copy is not already right).
class Fixtures {
 public:
  fs::path path(const std::string& model) {
    const fs::path gen = ms_vectors() / "generated_fixture_models";
    fs::path p;
    if (model == "sample_model_file") {
      p = gen / "sample_model_file/file_model";
    } else if (model == "empty_model_file") {
      p = gen / "empty_model_file/empty_file_model";
    } else if (model == "sample_model_folder") {
      p = gen / "sample_model_folder/sample_model";
    } else if (model == "deep_model_folder") {
      p = gen / "deep_model_folder/deep_model";
    } else if (model == "model_folder_with_empty_file") {
      p = gen / "model_folder_with_empty_file/empty_file_inside_model";
    } else if (model == "empty_model_folder") {
      p = tmp_ / "empty_folder_model";  // the name upstream's payload records
      fs::create_directories(p);
    } else if (model == "symlink_model_folder") {
      p = symlink_model(gen / "symlink_model_folder");
    } else {
      FAIL("unknown fixture model " << model);
    }
    REQUIRE(fs::exists(fs::symlink_status(p)));
    return p;
  }

  static const std::set<std::string>& models() {
    static const std::set<std::string> m{"sample_model_file",   "empty_model_file",  "sample_model_folder",
                                         "deep_model_folder",   "empty_model_folder", "model_folder_with_empty_file",
                                         "symlink_model_folder"};
    return m;
  }

 private:
  fs::path symlink_model(const fs::path& src) {
    const fs::path link = src / "symlink_model/symlink_file";
    if (fs::is_symlink(link)) {
      return src / "symlink_model";
    }
    if (!rebuilt_symlink_model_.empty()) {
      return rebuilt_symlink_model_;
    }
    const std::string target = modelgate::testing::read_file(link);
    REQUIRE(target == "../external/file");
    const fs::path dst = tmp_ / "symlink_model_folder";
    write_file(dst / "external/file", modelgate::testing::read_file(src / "external/file"));
    fs::create_directories(dst / "symlink_model");
    fs::create_symlink(target, dst / "symlink_model/symlink_file");
    rebuilt_symlink_model_ = dst / "symlink_model";
    return rebuilt_symlink_model_;
  }

  TempDir tmp_;
  fs::path rebuilt_symlink_model_;
};

// split_model_key maps a golden's file name to (model, shard size or 0 for the default).
std::pair<std::string, std::uint64_t> split_model_key(std::string name) {
  for (const auto& [suffix, size] : std::vector<std::pair<std::string, std::uint64_t>>{
           {"_small_shards", 8}, {"_shard", crypto::kDefaultShardSize}}) {
    if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return {name.substr(0, name.size() - suffix.size()), size};
    }
  }
  return {name, 0};
}

std::vector<fs::path> sorted_entries(const fs::path& dir) {
  std::vector<fs::path> v;
  for (const auto& e : fs::directory_iterator(dir)) {
    v.push_back(e.path());
  }
  std::sort(v.begin(), v.end());
  return v;
}

// require_keys fails on any key of `obj` outside `known` (the loader reads every field).
void require_keys(const nlohmann::json& obj, std::set<std::string> known) {
  REQUIRE(obj.is_object());
  for (const auto& [k, v] : obj.items()) {
    INFO("field " << k);
    REQUIRE(known.count(k) == 1);
  }
}

}  // namespace

TEST_CASE("upstream's serialization goldens are reproduced on the fixture models, files and shards") {
  Fixtures fixtures;
  const fs::path data = ms_vectors() / "tests/_serialization/testdata";
  std::map<std::string, int> read;
  for (const std::string mode : {"file", "file_shard"}) {
    for (const fs::path& golden : sorted_entries(data / mode / "TestSerializer")) {
      const std::string key = golden.filename().string();
      INFO(mode << "/" << key);
      auto [model, shard] = split_model_key(key);
      REQUIRE(Fixtures::models().count(model) == 1);
      REQUIRE(shard != crypto::kDefaultShardSize);  // serialization goldens spell the default as no suffix
      SerializationConfig config =
          mode == "file" ? files_config(true) : shards_config(shard == 0 ? crypto::kDefaultShardSize : shard, true);
      REQUIRE((mode == "file_shard" || shard == 0));
      if (model == "symlink_model_folder") {
        // Upstream follows symlink_file -> ../external/file out of the model; OMS v1.0 and we do not.
        auto refused = crypto::hash_model(fixtures.path(model), config);
        REQUIRE_FALSE(refused.ok());
        CHECK(refused.error().message == "symlink_file: is a symlink to a file outside the model");
        ++read[mode];
        continue;
      }
      const Manifest m = hash_ok(fixtures.path(model), config);

      std::vector<std::pair<std::string, std::string>> expected;
      std::istringstream lines(modelgate::testing::read_file(golden));
      std::string line;
      while (std::getline(lines, line)) {
        if (line.empty()) {
          continue;
        }
        const std::size_t colon = line.rfind(':');
        REQUIRE(colon != std::string::npos);
        expected.emplace_back(line.substr(0, colon), line.substr(colon + 1));
      }
      CHECK(name_digests(m) == expected);
      for (const auto& r : m.resources) {
        CHECK(r.algorithm == crypto::resource_algorithm(config));
      }
      ++read[mode];
    }
  }
  // Every golden was read: 7 models in files mode; 7 x (default, shard_size 8) in shards mode.
  CHECK(read["file"] == 7);
  CHECK(read["file_shard"] == 14);
}

TEST_CASE("upstream's full signing statements are reproduced: serialization, resources, subject name and digest") {
  Fixtures fixtures;
  int read = 0;
  for (const fs::path& file : sorted_entries(ms_vectors() / "tests/_signing/testdata/signing/TestPayload")) {
    const std::string key = file.filename().string();
    INFO(key);
    auto [model, shard] = split_model_key(key);
    REQUIRE(Fixtures::models().count(model) == 1);
    const auto st = nlohmann::json::parse(modelgate::testing::read_file(file));
    require_keys(st, {"_type", "subject", "predicateType", "predicate"});
    CHECK(st["_type"] == "https://in-toto.io/Statement/v1");
    CHECK(st["predicateType"] == "https://model_signing/signature/v1.0");
    require_keys(st["predicate"], {"serialization", "resources"});
    const auto& ser = st["predicate"]["serialization"];
    const bool shards = ser["method"] == "shards";
    require_keys(ser, shards ? std::set<std::string>{"method", "hash_type", "allow_symlinks", "shard_size"}
                             : std::set<std::string>{"method", "hash_type", "allow_symlinks"});
    REQUIRE(ser["hash_type"] == "sha256");
    SerializationConfig config = files_config(ser["allow_symlinks"].get<bool>());
    if (shards) {
      REQUIRE(shard != 0);
      const double size = ser["shard_size"].get<double>();  // Python writes 1000000000.0
      REQUIRE(size == static_cast<double>(shard));
      config = shards_config(shard, config.allow_symlinks);
    } else {
      REQUIRE(ser["method"] == "files");
      REQUIRE(shard == 0);
    }
    if (model == "symlink_model_folder") {
      // Upstream follows symlink_file -> ../external/file out of the model; OMS v1.0 and we do not.
      auto refused = crypto::hash_model(fixtures.path(model), config);
      REQUIRE_FALSE(refused.ok());
      CHECK(refused.error().code == modelgate::Code::kUnsupported);
      CHECK(refused.error().message == "symlink_file: is a symlink to a file outside the model");
      ++read;
      continue;
    }
    const Manifest m = hash_ok(fixtures.path(model), config);

    std::vector<std::tuple<std::string, std::string, std::string>> expected, actual;
    for (const auto& r : st["predicate"]["resources"]) {
      require_keys(r, {"name", "algorithm", "digest"});
      expected.emplace_back(r["name"], r["algorithm"], r["digest"]);
    }
    for (const auto& r : m.resources) {
      actual.emplace_back(r.name, r.algorithm, to_hex(r.digest));
    }
    CHECK(actual == expected);
    REQUIRE(st["subject"].size() == 1);
    require_keys(st["subject"][0], {"name", "digest"});
    require_keys(st["subject"][0]["digest"], {"sha256"});
    CHECK(root_hex(m) == st["subject"][0]["digest"]["sha256"].get<std::string>());
    CHECK(m.model_name == st["subject"][0]["name"].get<std::string>());
    ++read;
  }
  CHECK(read == 21);  // 7 models x {files, default shards, shard_size 8}
}

TEST_CASE("the root digest of every upstream-signed model equals the subject digest in its model.sig") {
  int v1 = 0;
  int legacy = 0;
  for (const fs::path& dir : sorted_entries(ms_vectors() / "scripts/tests")) {
    if (dir.filename() == "keys") {
      continue;
    }
    INFO(dir.filename().string());
    const auto bundle = nlohmann::json::parse(modelgate::testing::read_file(dir / "model.sig"));
    auto payload_bytes = crypto::base64_decode(bundle["dsseEnvelope"]["payload"].get<std::string>());
    REQUIRE(payload_bytes.ok());
    const auto st = nlohmann::json::parse(std::string(payload_bytes->begin(), payload_bytes->end()));
    const std::string type = st["predicateType"];
    if (type == "https://model_signing/Digests/v0.1") {
      // §1.6: no root; one subject per file with its SHA-256 (v0.2 ignored only the signature).
      SerializationConfig c = files_config();
      c.ignore_paths = {"model.sig"};
      const Manifest m = hash_ok(dir, c);
      std::vector<std::pair<std::string, std::string>> expected;
      for (const auto& s : st["subject"]) {
        expected.emplace_back(s["name"], s["digest"]["sha256"]);
      }
      CHECK(name_digests(m) == expected);
      ++legacy;
      continue;
    }
    REQUIRE(type == "https://model_signing/signature/v1.0");
    const auto& pred = st["predicate"];
    const auto& ser = pred["serialization"];
    require_keys(ser, {"method", "hash_type", "allow_symlinks", "ignore_paths"});
    REQUIRE(ser["method"] == "files");
    REQUIRE(ser["hash_type"] == "sha256");
    SerializationConfig c = files_config(ser["allow_symlinks"].get<bool>());
    if (ser.contains("ignore_paths")) {
      c.ignore_paths = ser["ignore_paths"].get<std::vector<std::string>>();  // v1.1+: recorded
    } else {
      // Before v1.1 the verifier repeats the signer's ignores (INDEX.md §2): git defaults, the
      // signature, and for v1.0.1 --ignore-paths ignore-me.
      c.ignore_paths = {".git", ".gitattributes", ".github", ".gitignore", "model.sig"};
      if (fs::exists(dir / "ignore-me")) {
        c.ignore_paths.push_back("ignore-me");
      }
    }
    const auto& subject = st["subject"][0];
    const bool single_file = pred["resources"].size() == 1 && pred["resources"][0]["name"] == ".";
    const fs::path model = single_file ? dir / subject["name"].get<std::string>() : dir;
    const Manifest m = hash_ok(model, c);
    std::vector<std::tuple<std::string, std::string, std::string>> expected, actual;
    for (const auto& r : pred["resources"]) {
      expected.emplace_back(r["name"], r["algorithm"], r["digest"]);
    }
    for (const auto& r : m.resources) {
      actual.emplace_back(r.name, r.algorithm, to_hex(r.digest));
    }
    CHECK(actual == expected);
    CHECK(root_hex(m) == subject["digest"]["sha256"].get<std::string>());
    CHECK(m.model_name == subject["name"].get<std::string>());
    ++v1;
  }
  CHECK(v1 == 12);
  CHECK(legacy == 1);
}

TEST_CASE("resources come in upstream's canonical order: path components by code point") {
  TempDir dir;
  // model_signing.md §2.5 [checked]: .hidden < B < a/b < a-c < a.txt < empty.txt < weights.bin < été.bin
  const std::vector<std::string> order{".hidden", "B", "a/b", "a-c", "a.txt", "empty.txt", "weights.bin",
                                       "\xc3\xa9t\xc3\xa9.bin"};
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    write_file(dir / "m" / *it, *it == "empty.txt" ? "" : "content of " + *it);
  }
  const Manifest m = hash_ok(dir / "m", files_config());
  std::vector<std::string> names;
  std::vector<std::string> digests;
  for (const auto& r : m.resources) {
    names.push_back(r.name);
    digests.push_back(to_hex(r.digest));
    const std::string content = r.name == "empty.txt" ? "" : "content of " + r.name;
    CHECK(to_hex(r.digest) == openssl_hex(EVP_sha256(), content));
    CHECK(r.algorithm == "sha256");
  }
  CHECK(names == order);
  CHECK(root_hex(m) == openssl_root(digests));
}

TEST_CASE("shards are named path:start:end, ordered by path then numeric offsets, and hash their slices") {
  TempDir dir;
  const auto w = modelgate::testing::random_bytes(11000, 21);
  const auto w2 = modelgate::testing::random_bytes(1500, 22);
  write_file(dir / "m/w", std::string(w.begin(), w.end()));
  write_file(dir / "m/w2", std::string(w2.begin(), w2.end()));
  write_file(dir / "m/empty", "");
  const Manifest m = hash_ok(dir / "m", shards_config(1000));
  std::vector<std::pair<std::string, std::string>> expected;
  for (std::size_t s = 0; s < 11000; s += 1000) {
    expected.emplace_back("w:" + std::to_string(s) + ":" + std::to_string(s + 1000),
                          openssl_hex(EVP_sha256(), w.data() + s, 1000));
  }
  expected.emplace_back("w2:0:1000", openssl_hex(EVP_sha256(), w2.data(), 1000));
  expected.emplace_back("w2:1000:1500", openssl_hex(EVP_sha256(), w2.data() + 1000, 500));
  CHECK(name_digests(m) == expected);  // the empty file has no shard
  for (const auto& r : m.resources) {
    CHECK(r.algorithm == "sha256-sharded-1000");
  }
  CHECK(m.total_bytes == 12500);
}

TEST_CASE("an empty file is an entry in files mode and no entry in shards mode") {
  TempDir dir;
  write_file(dir / "m/empty", "");
  const Manifest files = hash_ok(dir / "m", files_config());
  REQUIRE(files.resources.size() == 1);
  CHECK(files.resources[0].name == "empty");
  CHECK(to_hex(files.resources[0].digest) == kEmptySha256);
  const Manifest shards = hash_ok(dir / "m", shards_config(crypto::kDefaultShardSize));
  CHECK(shards.resources.empty());
  CHECK(root_hex(shards) == kEmptySha256);
}

TEST_CASE("one thread and many threads, and every SHA-256 backend, give the same manifest as OpenSSL") {
  TempDir dir;
  std::map<std::string, std::vector<std::uint8_t>> contents;
  const std::vector<std::size_t> sizes{0, 1, 64, 1000, 65536, 65537, 300000, kW - 1, kW + 1, 2 * kW + 99};
  for (std::size_t i = 0; i < 30; ++i) {
    const std::string name = "d" + std::to_string(i % 4) + "/f" + std::to_string(i);
    contents[name] = modelgate::testing::random_bytes(sizes[i % sizes.size()] + i, 100 + i);
    write_file(dir / "m" / name, std::string(contents[name].begin(), contents[name].end()));
  }
  for (const SerializationConfig& config : {files_config(), shards_config(3 * 65536 + 1)}) {
    INFO((config.method == SerializationMethod::kShards ? "shards" : "files"));
    crypto::HashOptions one;
    one.threads = 1;
    const Manifest reference = hash_ok(dir / "m", config, one);
    // The independent check: every resource digest is OpenSSL over its bytes.
    for (const auto& r : reference.resources) {
      std::string path = r.name;
      std::uint64_t start = 0, end = 0;
      if (config.method == SerializationMethod::kShards) {
        const std::size_t p2 = path.rfind(':');
        const std::size_t p1 = path.rfind(':', p2 - 1);
        start = std::stoull(path.substr(p1 + 1, p2 - p1 - 1));
        end = std::stoull(path.substr(p2 + 1));
        path = path.substr(0, p1);
      } else {
        end = contents.at(path).size();
      }
      CHECK(to_hex(r.digest) == openssl_hex(EVP_sha256(), contents.at(path).data() + start, end - start));
    }
    for (std::size_t threads : {2, 3, 7}) {
      crypto::HashOptions many;
      many.threads = threads;
      const Manifest m = hash_ok(dir / "m", config, many);
      CHECK(m.resources == reference.resources);
    }
    for (const auto* backend : crypto::sha256_available_backends()) {
      INFO("backend " << backend->name);
      crypto::HashOptions forced;
      forced.backend = backend;
      forced.threads = 2;
      const Manifest m = hash_ok(dir / "m", config, forced);
      CHECK(m.resources == reference.resources);
    }
  }
}

TEST_CASE("a blake2b manifest has 64-byte digests and a SHA-256 root over them") {
  TempDir dir;
  write_file(dir / "m/a", "alpha");
  write_file(dir / "m/b", std::string(200000, 'b'));
  SerializationConfig c = files_config();
  c.hash_type = HashType::kBlake2b;
  const Manifest m = hash_ok(dir / "m", c);
  REQUIRE(m.resources.size() == 2);
  CHECK(m.resources[0].algorithm == "blake2b");
  CHECK(to_hex(m.resources[0].digest) == openssl_hex(EVP_blake2b512(), std::string("alpha")));
  CHECK(to_hex(m.resources[1].digest) == openssl_hex(EVP_blake2b512(), std::string(200000, 'b')));
  CHECK(root_hex(m) == openssl_root({to_hex(m.resources[0].digest), to_hex(m.resources[1].digest)}));

  c = shards_config(100000);
  c.hash_type = HashType::kBlake2b;
  const Manifest s = hash_ok(dir / "m", c);
  REQUIRE(s.resources.size() == 3);
  CHECK(s.resources[1].name == "b:0:100000");
  CHECK(s.resources[1].algorithm == "blake2b-sharded-100000");
  CHECK(to_hex(s.resources[1].digest) == openssl_hex(EVP_blake2b512(), std::string(100000, 'b')));
}

TEST_CASE("the root digest hashes digests in the order given and never re-sorts") {
  CHECK(to_hex(crypto::root_digest_of({})) == kEmptySha256);
  const std::string d1 = openssl_hex(EVP_sha256(), std::string("one"));
  const std::string d2 = openssl_hex(EVP_sha256(), std::string("two"));
  const std::vector<Resource> forward{{"b", "sha256", unhex(d1)}, {"a", "sha256", unhex(d2)}};
  const std::vector<Resource> backward{{"a", "sha256", unhex(d2)}, {"b", "sha256", unhex(d1)}};
  CHECK(to_hex(crypto::root_digest_of(forward)) == openssl_root({d1, d2}));
  CHECK(to_hex(crypto::root_digest_of(backward)) == openssl_root({d2, d1}));
}

TEST_CASE("canonical order compares shard offsets as numbers and file names with ':' as plain paths") {
  const Resource s200{"w:200:1000", "sha256-sharded-800", {}};
  const Resource s1000{"w:1000:1800", "sha256-sharded-800", {}};
  const Resource w2{"w2:0:800", "sha256-sharded-800", {}};
  CHECK(crypto::canonical_less(s200, s1000));
  CHECK(!crypto::canonical_less(s1000, s200));
  CHECK(crypto::canonical_less(s1000, w2));  // path "w" before "w2", though ':' > '2' bytewise
  const Resource colon{"x:1:2", "sha256", {}};
  const Resource dash{"x-y", "sha256", {}};
  CHECK(crypto::canonical_less(dash, colon));  // files mode: "x-y" < "x:1:2" by code point
  CHECK(crypto::canonical_less(Resource{"a/b", "sha256", {}}, Resource{"a-c", "sha256", {}}));
  CHECK(crypto::canonical_less(s200, s1000, SerializationMethod::kShards));
  CHECK(!crypto::canonical_less(s200, s1000, SerializationMethod::kFiles));
}

TEST_CASE("a file truncated while hash_model reads it is a clean kIo error") {
  TempDir dir;
  const auto big = modelgate::testing::random_bytes(3 * kW, 31);
  write_file(dir / "m/big", std::string(big.begin(), big.end()));
  write_file(dir / "m/small", "small");
  std::atomic<bool> cut{false};
  crypto::HashOptions o;
  o.threads = 1;
  o.on_progress = [&](const crypto::HashProgress& p) {
    CHECK(p.bytes_total == 3 * kW + 5);
    if (!cut.exchange(true)) {
      REQUIRE(::truncate((dir / "m/big").c_str(), static_cast<off_t>(kW + 4096 + 17)) == 0);
    }
  };
  auto r = crypto::hash_model(dir / "m", files_config(), o);
  REQUIRE(cut);
  REQUIRE(!r.ok());
  CHECK(r.error().code == Code::kIo);
  CHECK(r.error().message == "big: changed while hashing (truncated)");
}

TEST_CASE("a file rewritten while hash_model reads it (same size, new mtime) is a kIo error") {
  TempDir dir;
  const auto big = modelgate::testing::random_bytes(2 * kW + 3, 32);
  write_file(dir / "m/big", std::string(big.begin(), big.end()));
  std::atomic<bool> done{false};
  crypto::HashOptions o;
  o.threads = 1;
  o.on_progress = [&](const crypto::HashProgress&) {
    if (done.exchange(true)) {
      return;
    }
    const int fd = ::open((dir / "m/big").c_str(), O_WRONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    const char c = static_cast<char>(big[kW + 10] ^ 1);
    REQUIRE(::pwrite(fd, &c, 1, static_cast<off_t>(kW + 10)) == 1);
    const struct timespec times[2] = {{0, UTIME_OMIT}, {978307200, 0}};
    REQUIRE(::futimens(fd, times) == 0);
    ::close(fd);
  };
  auto r = crypto::hash_model(dir / "m", shards_config(kW + kW / 2), o);
  REQUIRE(done);
  REQUIRE(!r.ok());
  CHECK(r.error().code == Code::kIo);
  CHECK(r.error().message == "big: changed while hashing (modified)");
}

TEST_CASE("cancelling stops hashing with kDeadline and says how far it got") {
  TempDir dir;
  for (int i = 0; i < 4; ++i) {
    write_file(dir / "m" / ("f" + std::to_string(i)), std::string(2 * kW, static_cast<char>('a' + i)));
  }
  std::atomic<bool> cancel{false};
  crypto::HashOptions o;
  o.threads = 1;
  o.cancel = &cancel;
  o.on_progress = [&](const crypto::HashProgress&) { cancel = true; };
  auto r = crypto::hash_model(dir / "m", files_config(), o);
  REQUIRE(!r.ok());
  CHECK(r.error().code == Code::kDeadline);
  CHECK(r.error().message.rfind("cancelled: ", 0) == 0);
  CHECK(r.error().message.find(" of " + std::to_string(8 * kW) + " bytes hashed") != std::string::npos);
}

TEST_CASE("hash_named_resources hashes exactly the names given, in canonical order") {
  TempDir dir;
  write_file(dir / "m/b", "bee");
  write_file(dir / "m/a/x", "ex");
  write_file(dir / "m/unsigned-extra", "whatever");
  const std::vector<std::string> names{"b", "a/x"};
  auto m = crypto::hash_named_resources(dir / "m", names, files_config());
  REQUIRE(m.ok());
  CHECK(name_digests(m.value()) ==
        std::vector<std::pair<std::string, std::string>>{{"a/x", openssl_hex(EVP_sha256(), std::string("ex"))},
                                                         {"b", openssl_hex(EVP_sha256(), std::string("bee"))}});
  auto shards = crypto::hash_named_resources(dir / "m", names, shards_config(2));
  REQUIRE(shards.ok());
  CHECK(shards->resources.size() == 3);  // a/x:0:2, b:0:2, b:2:3
  CHECK(shards->resources[2].name == "b:2:3");

  write_file(dir / "single", "one file");
  const std::vector<std::string> dot{"."};
  auto single = crypto::hash_named_resources(dir / "single", dot, files_config());
  REQUIRE(single.ok());
  REQUIRE(single->resources.size() == 1);
  CHECK(single->resources[0].name == ".");
  CHECK(to_hex(single->resources[0].digest) == openssl_hex(EVP_sha256(), std::string("one file")));
}

TEST_CASE("hash_named_resources refuses names that escape the model") {
  TempDir dir;
  write_file(dir / "m/a", "a");
  write_file(dir / "secret", "s");
  for (const std::string bad : {"../secret", "/etc/passwd", "a/../../secret", ""}) {
    INFO(bad);
    const std::vector<std::string> names{bad};
    auto r = crypto::hash_named_resources(dir / "m", names, files_config());
    REQUIRE(!r.ok());
    CHECK(r.error().code == Code::kMalformed);
  }
}

TEST_CASE("a shard size of zero is malformed and a manifest with too many shards is refused before hashing") {
  TempDir dir;
  write_file(dir / "m/f", "x");
  auto zero = crypto::hash_model(dir / "m", shards_config(0));
  REQUIRE(!zero.ok());
  CHECK(zero.error().code == Code::kMalformed);
  CHECK(zero.error().message == "shard size must be at least 1 byte");

  // A sparse file: 2 MB of hole, i.e. 2M one-byte shards > limits::kMaxResources.
  const int fd = ::open((dir / "m/sparse").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  REQUIRE(fd >= 0);
  REQUIRE(::ftruncate(fd, 2'000'000) == 0);
  ::close(fd);
  auto many = crypto::hash_model(dir / "m", shards_config(1));
  REQUIRE(!many.ok());
  CHECK(many.error().code == Code::kLimit);
  CHECK(many.error().message == "too many shards (more than 1000000)");
}

TEST_CASE("hash type names parse and print as written in signatures") {
  CHECK(crypto::hash_type_name(HashType::kSha256) == "sha256");
  CHECK(crypto::hash_type_name(HashType::kBlake2b) == "blake2b");
  CHECK(crypto::parse_hash_type("blake2b").value() == HashType::kBlake2b);
  CHECK(crypto::hash_digest_size(HashType::kBlake2b) == 64);
  CHECK(crypto::hash_digest_size(HashType::kSha256) == 32);
  auto bad = crypto::parse_hash_type("blake3");
  REQUIRE(!bad.ok());
  CHECK(bad.error().code == Code::kUnsupported);
  CHECK(bad.error().message == "unsupported hash type \"blake3\" (expected sha256 or blake2b)");
}
