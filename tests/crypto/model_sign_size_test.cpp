// model_sign_size_test.cpp: one signature-size limit for sign and verify. Whatever sign writes,
// verification reads (limits::kMaxBundleBytes, limits::kMaxDssePayloadBytes), and what
// verification would refuse, sign refuses before it hashes a byte. The oracle for "verification
// refuses" is parse_bundle itself on a bundle built from a generated manifest.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "base/limits.h"
#include "crypto/bundle.h"
#include "crypto/keys.h"
#include "crypto/model_sign.h"
#include "test_support.h"

namespace fs = std::filesystem;
using modelgate::Code;
using namespace modelgate::crypto;
using modelgate::testing::run;
using modelgate::testing::TempDir;

namespace {

PrivateKey p256(const TempDir& t) {
  const fs::path key = t / "k.pem";
  REQUIRE(run({"openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key.string()}).exit_code == 0);
  auto k = load_private_key_file(key, std::nullopt);
  REQUIRE(k.ok());
  return k.value();
}

// names_of_model: `n` resource names of a plausible checkpoint layout (~30 bytes each), or each
// padded to `pad` bytes (fewer, longer names make the same bytes of statement faster).
std::vector<std::string> names_of_model(std::size_t n, std::size_t pad = 0) {
  std::vector<std::string> names;
  names.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::string name = "layers/" + std::to_string(i / 1000) + "/tensor-" + std::to_string(i) + ".bin";
    if (name.size() < pad) {
      name.insert(7, std::string(pad - name.size(), 'x'));
    }
    names.push_back(std::move(name));
  }
  return names;
}

// bundle_for signs a statement over `names` (zero digests) the way sign_model would.
std::string bundle_for(const std::vector<std::string>& names, const PrivateKey& key) {
  Manifest m;
  m.model_name = "big";
  for (const std::string& n : names) {
    m.resources.push_back(Resource{n, "sha256", std::vector<std::uint8_t>(32, 0)});
  }
  const std::string payload = build_statement_payload(m, {".git", "model.sig"});
  auto b = sign_statement_bundle(payload, KeySigner{key});
  REQUIRE(b.ok());
  return b.value();
}

}  // namespace

TEST_CASE("sign refuses the resources verification could not read back, and accepts those it can, at one limit",
          "[model_signing][limits]") {
  TempDir t;
  const PrivateKey key = p256(t);
  // 330,000 files: the model of the report, whose 70 MB signature verify refused (the CLI test
  // shows verify refusing such a signature as the binary wrote it before).
  auto refused = check_signature_size(names_of_model(330'000), HashType::kSha256);
  REQUIRE(!refused.ok());
  CHECK(refused.error().code == Code::kLimit);
  CHECK_THAT(refused.error().message, Catch::StartsWith("too many resources for one signature (330000 need at least"));

  // At the limit: the check uses verification's own bounds, so the most it lets through is what
  // verification reads back. 11,400 4 kB names (~47 MB of statement, a ~63 MB bundle) pass and
  // parse; 800 more do not pass (the statement would be past 48 MiB).
  const std::vector<std::string> fits = names_of_model(11'400, 4000);
  CHECK(check_signature_size(fits, HashType::kSha256).ok());
  CHECK_FALSE(check_signature_size(names_of_model(12'200, 4000), HashType::kSha256).ok());
  const std::string ok = bundle_for(fits, key);
  CHECK(ok.size() <= modelgate::limits::kMaxBundleBytes);
  auto read_back = parse_bundle(ok);
  INFO((read_back.ok() ? std::string() : read_back.error().message));
  CHECK(read_back.ok());
  // One more resource's worth past the bundle bound is what parse_bundle refuses first.
  auto past = parse_bundle(ok + std::string(modelgate::limits::kMaxBundleBytes - ok.size() + 1, ' '));
  REQUIRE(!past.ok());
  CHECK(past.error().code == Code::kLimit);
}

TEST_CASE("sign_model refuses a model whose signature would be too large before hashing it",
          "[model_signing][limits]") {
  TempDir t;
  const PrivateKey key = p256(t);
  // One 400 kB file in 1-byte shards is 400,000 resources: as many as a 400,000-file model.
  modelgate::testing::write_file(t / "model/weights.bin", "");
  fs::resize_file(t / "model/weights.bin", 400'000);
  SignOptions o;
  o.serialization.method = SerializationMethod::kShards;
  o.serialization.shard_size = 1;
  bool hashed = false;
  o.hash.on_hashed = [&](std::uint64_t) { hashed = true; };
  auto r = sign_model(t / "model", t / "model.sig", KeySigner{key}, o);
  REQUIRE(!r.ok());
  CHECK(r.error().code == Code::kLimit);
  CHECK_THAT(r.error().message, Catch::Contains("too many resources for one signature (400000"));
  CHECK(!hashed);
}

TEST_CASE("the size sign holds to the limits before hashing is the real statement's, but for its fixed header",
          "[model_signing][limits]") {
  for (HashType type : {HashType::kSha256, HashType::kBlake2b}) {
    Manifest m;
    m.model_name = "m";
    m.config.hash_type = type;
    std::vector<std::string> names = names_of_model(2000);
    for (const std::string& n : names) {
      m.resources.push_back(
          Resource{n, std::string(hash_type_name(type)), std::vector<std::uint8_t>(hash_digest_size(type), 7)});
    }
    const std::string payload = build_statement_payload(m, {});
    const std::size_t floor = statement_size_floor(names, type);
    INFO(hash_type_name(type) << ": payload " << payload.size() << ", floor " << floor);
    CHECK(floor <= payload.size());
    CHECK(payload.size() - floor < 512);  // _type, subject, predicateType, serialization
  }
}
