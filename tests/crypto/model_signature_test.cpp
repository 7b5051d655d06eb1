// Tests for crypto/model_signature: the model_signing predicate parser (every hardening rule of
// model_signing.md §6), manifest comparison and the path helpers. Root digests are recomputed here
// with OpenSSL's SHA-256 as an independent oracle; upstream payloads are read in place.
#include <catch2/catch.hpp>
#include <openssl/sha.h>

#include <filesystem>
#include <string>
#include <vector>

#include "crypto/encoding.h"
#include "crypto/json.h"
#include "crypto/model_signature.h"
#include "test_support.h"

namespace fs = std::filesystem;
using modelgate::Code;
using namespace modelgate::crypto;
using modelgate::testing::read_file;
using modelgate::testing::TempDir;
using modelgate::testing::vectors_dir;

namespace {

const std::string kD1 = "f6310066c7320497ea554260c32c43660bff648cb2a61194832cc086077085e1";
const std::string kD2 = "32dcb1f8e1ae52d5963e56a6ba06ab58b424c15ed2a6b70d2feca1d089370028";

std::vector<std::uint8_t> unhex(const std::string& hex) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

// root_hex is the §1.5 root computed with OpenSSL over the digests in the given order.
std::string root_hex(const std::vector<std::string>& digests) {
  std::vector<std::uint8_t> cat;
  for (const auto& d : digests) {
    auto b = unhex(d);
    cat.insert(cat.end(), b.begin(), b.end());
  }
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(cat.data(), cat.size(), md);
  return modelgate::testing::to_hex(std::vector<std::uint8_t>(md, md + 32));
}

Json resource(const std::string& name, const std::string& digest, const std::string& alg = "sha256") {
  return Json{{"name", name}, {"algorithm", alg}, {"digest", digest}};
}

// statement builds a v1.0 statement whose subject digest is the true root of `resources` (unless
// the caller overrides it afterwards).
Json statement(Json resources, Json serialization = Json{{"method", "files"}, {"hash_type", "sha256"},
                                                         {"allow_symlinks", false}}) {
  std::vector<std::string> digests;
  for (const auto& r : resources) {
    if (r.is_object() && r.contains("digest") && r["digest"].is_string()) {
      digests.push_back(r["digest"].get<std::string>());
    }
  }
  return Json{{"_type", "https://in-toto.io/Statement/v1"},
              {"subject", Json::array({Json{{"name", "model"}, {"digest", {{"sha256", root_hex(digests)}}}}})},
              {"predicateType", "https://model_signing/signature/v1.0"},
              {"predicate", {{"serialization", serialization}, {"resources", resources}}}};
}

Json two_files() { return Json::array({resource("signme-1", kD1), resource("signme-2", kD2)}); }

modelgate::Result<SignedModel> parse(const Json& st) {
  std::string s = st.dump();
  return parse_signed_model(as_bytes(s));
}

modelgate::Result<SignedModel> parse_text(const std::string& s) { return parse_signed_model(as_bytes(s)); }

void require_error(const modelgate::Result<SignedModel>& r, Code code, const std::string& text) {
  REQUIRE_FALSE(r.ok());
  INFO(r.error().message);
  CHECK(r.error().code == code);
  CHECK_THAT(r.error().message, Catch::Contains(text));
}

Json with_name(const std::string& name) { return statement(Json::array({resource(name, kD1)})); }

// payload_of decodes the DSSE payload of a model.sig (shape only; signatures are model_verify's).
std::vector<std::uint8_t> payload_of(const fs::path& sig) {
  Json b = Json::parse(read_file(sig));
  auto r = base64_decode(b["dsseEnvelope"]["payload"].get<std::string>());
  REQUIRE(r.ok());
  return r.value();
}

}  // namespace

TEST_CASE("a well-formed v1.0 statement parses into the recorded serialization and payload-order resources",
          "[model_signing]") {
  Json ser{{"method", "files"}, {"hash_type", "sha256"}, {"allow_symlinks", true},
           {"ignore_paths", {"model.sig", ".git", "model.sig"}}};
  // Payload order is signme-2 then signme-1: the root is taken in that order, never re-sorted.
  auto r = parse(statement(Json::array({resource("signme-2", kD2), resource("signme-1", kD1)}), ser));
  REQUIRE(r.ok());
  const SignedModel& m = r.value();
  CHECK(m.version == PredicateVersion::kV1);
  CHECK(m.model_name == "model");
  CHECK(m.serialization.method == SerializationMethod::kFiles);
  CHECK(m.serialization.hash_type == HashType::kSha256);
  CHECK(m.serialization.allow_symlinks);
  CHECK(m.ignore_paths_recorded);
  CHECK(m.serialization.ignore_paths == std::vector<std::string>{".git", "model.sig"});
  REQUIRE(m.resources.size() == 2);
  CHECK(m.resources[0].name == "signme-2");
  CHECK(m.resources[1].name == "signme-1");
  CHECK(m.resources[0].digest == unhex(kD2));
  CHECK(modelgate::testing::to_hex(m.root_digest) == root_hex({kD2, kD1}));
}

TEST_CASE("a subject digest taken over re-sorted resources does not match", "[model_signing]") {
  Json st = statement(Json::array({resource("signme-2", kD2), resource("signme-1", kD1)}));
  st["subject"][0]["digest"]["sha256"] = root_hex({kD1, kD2});
  require_error(parse(st), Code::kMismatch, "does not match the root digest of the resources " + root_hex({kD2, kD1}));
}

TEST_CASE("a subject digest of another manifest is a mismatch naming both digests", "[model_signing]") {
  Json st = statement(two_files());
  std::string other = root_hex({kD1});
  st["subject"][0]["digest"]["sha256"] = other;
  require_error(parse(st), Code::kMismatch, other);
  require_error(parse(st), Code::kMismatch, root_hex({kD1, kD2}));
}

TEST_CASE("subject shape is enforced: one subject, lowercase sha256", "[model_signing]") {
  Json st = statement(two_files());
  st["subject"].push_back(st["subject"][0]);
  require_error(parse(st), Code::kMalformed, "expected exactly one subject (the model), found 2");

  st = statement(two_files());
  std::string upper = root_hex({kD1, kD2});
  for (auto& c : upper) {
    c = static_cast<char>(std::toupper(c));
  }
  st["subject"][0]["digest"]["sha256"] = upper;
  require_error(parse(st), Code::kMalformed, "subject[0].digest.sha256: must be 64 lowercase hex digits");

  st = statement(two_files());
  st["subject"][0]["digest"] = Json{{"sha512", std::string(128, 'a')}};
  require_error(parse(st), Code::kMalformed, "digest.sha256 is missing");
}

TEST_CASE("statement and predicate types other than in-toto v1 and model_signing are unsupported",
          "[model_signing]") {
  Json st = statement(two_files());
  st["_type"] = "https://in-toto.io/Statement/v0.1";
  require_error(parse(st), Code::kUnsupported, "is not https://in-toto.io/Statement/v1");

  st = statement(two_files());
  st["predicateType"] = "https://slsa.dev/provenance/v1";
  require_error(parse(st), Code::kUnsupported, "is not a model signature");
}

TEST_CASE("unknown serialization methods and hash types are unsupported", "[model_signing]") {
  Json ser{{"method", "tree"}, {"hash_type", "sha256"}, {"allow_symlinks", false}};
  require_error(parse(statement(two_files(), ser)), Code::kUnsupported, "method: \"tree\" is not supported");
  ser = Json{{"method", "files"}, {"hash_type", "blake3"}, {"allow_symlinks", false}};
  require_error(parse(statement(Json::array({resource("a", kD1, "blake3")}), ser)), Code::kUnsupported,
                "hash type \"blake3\" is not supported");
  ser = Json{{"method", "files"}, {"hash_type", "md5"}, {"allow_symlinks", false}};
  require_error(parse(statement(two_files(), ser)), Code::kUnsupported, "\"md5\"");
}

TEST_CASE("allow_symlinks is required and must be a boolean", "[model_signing]") {
  Json ser{{"method", "files"}, {"hash_type", "sha256"}};
  require_error(parse(statement(two_files(), ser)), Code::kMalformed, "allow_symlinks");
  ser["allow_symlinks"] = "false";
  require_error(parse(statement(two_files(), ser)), Code::kMalformed, "allow_symlinks");
}

TEST_CASE("shard_size accepts integral JSON numbers including Python's 1000000000.0", "[model_signing]") {
  auto shards = [](const std::string& size_json, const std::string& alg) {
    std::string d = kD1;
    std::string text = R"({"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"m","digest":{"sha256":")" +
                       root_hex({d}) +
                       R"("}}],"predicateType":"https://model_signing/signature/v1.0","predicate":{"serialization":)"
                       R"({"method":"shards","hash_type":"sha256","allow_symlinks":false,"shard_size":)" +
                       size_json + R"(},"resources":[{"name":"w:0:8","algorithm":")" + alg +
                       R"(","digest":")" + d + R"("}]}})";
    return parse_text(text);
  };
  auto r = shards("1000000000.0", "sha256-sharded-1000000000");
  REQUIRE(r.ok());
  CHECK(r.value().serialization.method == SerializationMethod::kShards);
  CHECK(r.value().serialization.shard_size == 1000000000u);
  r = shards("8", "sha256-sharded-8");
  REQUIRE(r.ok());
  CHECK(r.value().serialization.shard_size == 8u);
  // The OMS schema's plain algorithm is accepted and normalised to what manifest.h writes.
  r = shards("8.0", "sha256");
  REQUIRE(r.ok());
  CHECK(r.value().resources[0].algorithm == "sha256-sharded-8");

  require_error(shards("8.5", "sha256"), Code::kMalformed, "shard_size: must be an integral number > 0");
  require_error(shards("0", "sha256"), Code::kMalformed, "shard_size: must be > 0");
  require_error(shards("-8", "sha256"), Code::kMalformed, "shard_size: must be > 0");
  require_error(shards("1e300", "sha256"), Code::kMalformed, "shard_size: must be an integral number > 0");
  require_error(shards("\"8\"", "sha256"), Code::kMalformed, "shard_size: expected a number");
  require_error(shards("8", "sha256-sharded-16"), Code::kMalformed, "does not match the serialization");

  Json ser{{"method", "shards"}, {"hash_type", "sha256"}, {"allow_symlinks", false}};
  require_error(parse(statement(Json::array({resource("w:0:8", kD1)}), ser)), Code::kMalformed,
                "shard_size: is required in shards mode");
}

TEST_CASE("v0.3's mangled shard hash_type is read as the plain hash", "[model_signing]") {
  Json ser{{"method", "shards"}, {"hash_type", "sha256-sharded-8"}, {"allow_symlinks", false}, {"shard_size", 8}};
  auto r = parse(statement(Json::array({resource("w:0:8", kD1, "sha256-sharded-8")}), ser));
  REQUIRE(r.ok());
  CHECK(r.value().serialization.hash_type == HashType::kSha256);
  ser["hash_type"] = "sha256-sharded-16";
  require_error(parse(statement(Json::array({resource("w:0:8", kD1, "sha256-sharded-8")}), ser)),
                Code::kUnsupported, "\"sha256-sharded-16\" is not supported");
}

TEST_CASE("shard names must be <path>:<start>:<end> with aligned canonical offsets", "[model_signing]") {
  Json ser{{"method", "shards"}, {"hash_type", "sha256"}, {"allow_symlinks", false}, {"shard_size", 8}};
  auto one = [&](const std::string& name) { return parse(statement(Json::array({resource(name, kD1)}), ser)); };
  CHECK(one("w:0:8").ok());
  CHECK(one("w:8:11").ok());
  // The path may itself contain ':' (split at the last two, as the OMS spec says).
  auto r = one("a:b:16:24");
  REQUIRE(r.ok());
  CHECK(r.value().resources[0].name == "a:b:16:24");
  require_error(one("w"), Code::kMalformed, "is not \"<path>:<start>:<end>\"");
  require_error(one("w:8"), Code::kMalformed, "is not \"<path>:<start>:<end>\"");
  require_error(one("w:8:0"), Code::kMalformed, "do not fit shard_size 8");
  require_error(one("w:0:9"), Code::kMalformed, "do not fit shard_size 8");
  require_error(one("w:3:8"), Code::kMalformed, "do not fit shard_size 8");
  require_error(one("w:00:8"), Code::kMalformed, "not canonical decimal");
  require_error(one("w:+0:8"), Code::kMalformed, "not canonical decimal");
  require_error(one("../w:0:8"), Code::kMalformed, "\"..\" component");
  require_error(one(":0:8"), Code::kMalformed, "is empty");
}

TEST_CASE("hostile resource names are rejected, each with its own reason", "[model_signing]") {
  require_error(parse(with_name("")), Code::kMalformed, "is empty");
  require_error(parse(with_name("/etc/passwd")), Code::kMalformed, "\"/etc/passwd\": is absolute");
  require_error(parse(with_name("../outside")), Code::kMalformed, "\"..\" component (escapes the model)");
  require_error(parse(with_name("a/../../b")), Code::kMalformed, "\"..\" component");
  require_error(parse(with_name("a/./b")), Code::kMalformed, "has a \".\" component");
  require_error(parse(with_name("./a")), Code::kMalformed, "has a \".\" component");
  require_error(parse(with_name("a//b")), Code::kMalformed, "has an empty component");
  require_error(parse(with_name("a/")), Code::kMalformed, "has an empty component");
  require_error(parse(with_name("a\\b")), Code::kMalformed, "contains a backslash");
  require_error(parse(with_name(std::string("a\0b", 3))), Code::kMalformed, "contains a control character");
  require_error(parse(with_name("a\nb")), Code::kMalformed, "contains a control character");
  require_error(parse(with_name(std::string(256, 'x'))), Code::kMalformed, "component longer than 255 bytes");
  // Non-UTF-8 bytes cannot even be carried by JSON: the parser refuses them first.
  std::string text = statement(two_files()).dump();
  text.replace(text.find("signme-1"), 8, "signme-\xff");
  CHECK(parse_text(text).error().code == Code::kMalformed);
  // Unicode names are fine (they reach JSON as \uXXXX escapes upstream).
  CHECK(parse(with_name("été.bin")).ok());
}

TEST_CASE("duplicate names and a '.' mixed with other names are rejected", "[model_signing]") {
  require_error(parse(statement(Json::array({resource("a", kD1), resource("a", kD2)}))), Code::kMalformed,
                "\"a\": is listed twice");
  require_error(parse(statement(Json::array({resource(".", kD1), resource("a", kD2)}))), Code::kMalformed,
                "mixes the single-file name \".\" with other names");
  auto r = parse(with_name("."));
  REQUIRE(r.ok());
  CHECK(r.value().resources[0].name == ".");
}

TEST_CASE("an empty resources list is rejected (it would verify an empty directory)", "[model_signing]") {
  require_error(parse(statement(Json::array())), Code::kMalformed, "predicate.resources: is empty");
}

TEST_CASE("dangerous ignore_paths are rejected", "[model_signing]") {
  auto with_ignore = [](Json paths) {
    Json ser{{"method", "files"}, {"hash_type", "sha256"}, {"allow_symlinks", false}, {"ignore_paths", paths}};
    return parse(statement(two_files(), ser));
  };
  require_error(with_ignore({"."}), Code::kMalformed, "ignore_paths[0] \".\": has a \".\" component");
  require_error(with_ignore({".git", ""}), Code::kMalformed, "ignore_paths[1] \"\": is empty");
  require_error(with_ignore({"/"}), Code::kMalformed, "is absolute");
  require_error(with_ignore({".."}), Code::kMalformed, "\"..\" component");
  require_error(with_ignore({"a/../.."}), Code::kMalformed, "\"..\" component");
  require_error(with_ignore({1}), Code::kMalformed, "ignore_paths[0]: expected string");
  require_error(with_ignore(Json::array({std::string("a\0", 2)})), Code::kMalformed, "control character");
  std::vector<std::string> many;
  for (int i = 0; i < 4097; ++i) {
    many.push_back("p" + std::to_string(i));
  }
  require_error(with_ignore(many), Code::kLimit, "too many entries (4097 > 4096)");
}

TEST_CASE("a resource under a path the signature ignores is rejected", "[model_signing]") {
  Json ser{{"method", "files"}, {"hash_type", "sha256"}, {"allow_symlinks", false}, {"ignore_paths", {"weights"}}};
  require_error(parse(statement(Json::array({resource("weights/a.bin", kD1)}), ser)), Code::kMalformed,
                "lies under a path the signature itself ignores");
  // A sibling sharing the prefix is not under it.
  CHECK(parse(statement(Json::array({resource("weights2/a.bin", kD1)}), ser)).ok());
}

TEST_CASE("resource algorithms and digests must fit the recorded hash", "[model_signing]") {
  require_error(parse(statement(Json::array({resource("a", kD1, "sha256-sharded-8")}))), Code::kMalformed,
                "algorithm: \"sha256-sharded-8\" does not match the serialization (expected \"sha256\")");
  require_error(parse(statement(Json::array({resource("a", kD1, "sha512")}))), Code::kMalformed,
                "does not match the serialization");
  std::string upper = kD1;
  upper[0] = 'F';
  require_error(parse(statement(Json::array({resource("a", upper)}))), Code::kMalformed,
                "digest: must be 64 lowercase hex digits (sha256)");
  require_error(parse(statement(Json::array({resource("a", kD1.substr(2))}))), Code::kMalformed,
                "must be 64 lowercase hex digits");
  Json ser{{"method", "files"}, {"hash_type", "blake2b"}, {"allow_symlinks", false}};
  require_error(parse(statement(Json::array({resource("a", kD1, "blake2b")}), ser)), Code::kMalformed,
                "must be 128 lowercase hex digits (blake2b)");
  std::string b2 = kD1 + kD2;
  auto r = parse(statement(Json::array({resource("a", b2, "blake2b")}), ser));
  REQUIRE(r.ok());
  CHECK(r.value().resources[0].digest.size() == 64);
  // The root is SHA-256 over the raw 64-byte digests even for blake2b (§1.5).
  CHECK(modelgate::testing::to_hex(r.value().root_digest) == root_hex({b2}));
}

TEST_CASE("missing or mistyped predicate fields are malformed, unknown extra keys are ignored",
          "[model_signing]") {
  Json st = statement(two_files());
  st["predicate"].erase("serialization");
  require_error(parse(st), Code::kMalformed, "serialization");
  st = statement(two_files());
  st["predicate"]["resources"][0].erase("digest");
  require_error(parse(st), Code::kMalformed, "resources[0]");
  st = statement(two_files());
  st["predicate"]["resources"][1] = "signme-2";
  require_error(parse(st), Code::kMalformed, "predicate.resources[1]: expected object");
  st = statement(two_files());
  st["predicate"]["future"] = {{"x", 1}};
  st["predicate"]["resources"][0]["size"] = 8;
  st["predicate"]["serialization"]["future"] = true;
  CHECK(parse(st).ok());
}

TEST_CASE("every upstream model.sig payload parses with its recorded serialization", "[model_signing]") {
  struct Case {
    std::string dir;
    PredicateVersion version;
    std::size_t resources;
    bool ignore_paths_recorded;
    std::string root;  // from INDEX.md / the payloads (v1 only)
  };
  const std::string r2 = "61d4849d9d90076d6215f4d525f13d6574af8e3f67aef3e6f36fc40a14fdd226";
  const std::string rk = "92745110b1ab4368471cbe31664e10174e954b113a3df333db860317b2c6dec4";
  const std::string r1 = "afa48c8674afe334b8a7dea34f7b46ab256e9255edf8da2132792341b667a45b";
  std::vector<Case> cases = {
      {"v0.2.0-certificate", PredicateVersion::kLegacyDigestsV01, 2, false, ""},
      {"v0.3.1-certificate", PredicateVersion::kV1, 2, false, r2},
      {"v0.3.1-elliptic-key", PredicateVersion::kV1, 1, false, r1},
      {"v0.3.1-sigstore", PredicateVersion::kV1, 2, false, r2},
      {"v1.0.0-certificate", PredicateVersion::kV1, 2, false, r2},
      {"v1.0.0-elliptic-key", PredicateVersion::kV1, 1, false, r1},
      {"v1.0.0-sigstore", PredicateVersion::kV1, 2, false, r2},
      {"v1.0.1-certificate", PredicateVersion::kV1, 2, false, r2},
      {"v1.0.1-elliptic-key", PredicateVersion::kV1, 2, false, rk},
      {"v1.0.1-sigstore", PredicateVersion::kV1, 2, false, r2},
      {"v1.1.0-certificate", PredicateVersion::kV1, 2, true, r2},
      {"v1.1.0-elliptic-key", PredicateVersion::kV1, 2, true, rk},
      {"v1.1.0-sigstore", PredicateVersion::kV1, 2, true, r2},
  };
  fs::path base = vectors_dir() / "model_signing/scripts/tests";
  for (const Case& c : cases) {
    INFO(c.dir);
    auto r = parse_signed_model(payload_of(base / c.dir / "model.sig"));
    REQUIRE(r.ok());
    CHECK(r.value().version == c.version);
    CHECK(r.value().resources.size() == c.resources);
    CHECK(r.value().ignore_paths_recorded == c.ignore_paths_recorded);
    CHECK(r.value().serialization.method == SerializationMethod::kFiles);
    CHECK_FALSE(r.value().serialization.allow_symlinks);
    if (!c.root.empty()) {
      CHECK(modelgate::testing::to_hex(r.value().root_digest) == c.root);
    }
  }
  auto legacy = parse_signed_model(payload_of(base / "v0.2.0-certificate/model.sig"));
  REQUIRE(legacy.ok());
  CHECK(legacy.value().resources[0].name == "signme-1");
  CHECK(legacy.value().resources[0].digest == unhex(kD1));
  auto v110 = parse_signed_model(payload_of(base / "v1.1.0-certificate/model.sig"));
  REQUIRE(v110.ok());
  CHECK(v110.value().serialization.ignore_paths ==
        std::vector<std::string>{".git", ".gitattributes", ".github", ".gitignore", "ignore-me", "model.sig"});
}

TEST_CASE("legacy Digests/v0.1 statements are checked like v1 names", "[model_signing]") {
  auto legacy = [](Json subjects) {
    return parse(Json{{"_type", "https://in-toto.io/Statement/v1"},
                      {"subject", subjects},
                      {"predicateType", "https://model_signing/Digests/v0.1"},
                      {"predicate", {{"unused", "Unused, just passed due to API requirements"}}}});
  };
  auto subj = [](const std::string& name, const std::string& d) {
    return Json{{"name", name}, {"digest", {{"sha256", d}}}, {"annotations", {{"actual_hash_algorithm", "file-sha256"}}}};
  };
  auto r = legacy(Json::array({subj("b", kD2), subj("a", kD1)}));
  REQUIRE(r.ok());
  CHECK(r.value().version == PredicateVersion::kLegacyDigestsV01);
  CHECK(r.value().resources[0].name == "b");
  CHECK(r.value().resources[0].algorithm == "sha256");
  require_error(legacy(Json::array({subj("a", kD1), subj("a", kD2)})), Code::kMalformed, "is listed twice");
  require_error(legacy(Json::array({subj("../etc/passwd", kD1)})), Code::kMalformed, "\"..\" component");
  require_error(legacy(Json::array({subj("a", kD1.substr(1) + "G")})), Code::kMalformed, "lowercase hex");
}

TEST_CASE("upstream's signing goldens parse and their subject is the root of their resources",
          "[model_signing]") {
  fs::path dir = vectors_dir() / "model_signing/tests/_signing/testdata/signing/TestPayload";
  std::size_t seen = 0;
  std::size_t empty = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    ++seen;
    INFO(e.path().filename().string());
    std::string text = read_file(e.path());
    auto r = parse_text(text);
    Json j = Json::parse(text);
    if (j["predicate"]["resources"].empty()) {
      ++empty;
      require_error(r, Code::kMalformed, "predicate.resources: is empty");
      continue;
    }
    REQUIRE(r.ok());
    std::vector<std::string> digests;
    for (const auto& res : j["predicate"]["resources"]) {
      digests.push_back(res["digest"].get<std::string>());
    }
    CHECK(modelgate::testing::to_hex(r.value().root_digest) == root_hex(digests));
    CHECK(r.value().serialization.allow_symlinks);
  }
  CHECK(seen == 21);  // pinned: a new or vanished golden must be noticed
  CHECK(empty == 7);
}

TEST_CASE("compare_manifest reports every changed, missing and unsigned file with both digests",
          "[model_signing]") {
  SignedModel s;
  s.resources = {Resource{"a", "sha256", unhex(kD1)}, Resource{"b", "sha256", unhex(kD2)},
                 Resource{"c", "sha256", unhex(kD1)}};
  Manifest local;
  local.model_name = "m";
  local.resources = {Resource{"a", "sha256", unhex(kD1)}, Resource{"b", "sha256", unhex(kD1)},
                     Resource{"d", "sha256", unhex(kD2)}};
  ManifestDiff d = compare_manifest(s, local);
  REQUIRE_FALSE(d.empty());
  REQUIRE(d.mismatched.size() == 1);
  CHECK(d.mismatched[0].name == "b");
  REQUIRE(d.missing.size() == 1);
  CHECK(d.missing[0].name == "c");
  REQUIRE(d.extra.size() == 1);
  CHECK(d.extra[0].name == "d");
  std::string text = d.describe();
  CHECK_THAT(text, Catch::Contains("file \"b\" does not match the signed digest (signed sha256:" + kD2 +
                                   ", found sha256:" + kD1 + ")"));
  CHECK_THAT(text, Catch::Contains("file \"c\" is missing (signed sha256:" + kD1 + ")"));
  CHECK_THAT(text, Catch::Contains("file \"d\" is not signed (found sha256:" + kD2 + ")"));

  local.resources = s.resources;
  CHECK(compare_manifest(s, local).empty());
}

TEST_CASE("compare_manifest flags an algorithm difference even when digests agree", "[model_signing]") {
  SignedModel s;
  s.serialization.method = SerializationMethod::kShards;
  s.resources = {Resource{"w:0:8", "sha256-sharded-8", unhex(kD1)}};
  Manifest local;
  local.resources = {Resource{"w:0:8", "sha256-sharded-16", unhex(kD1)}};
  ManifestDiff d = compare_manifest(s, local);
  REQUIRE(d.mismatched.size() == 1);
  CHECK_THAT(d.describe(), Catch::Contains("shard \"w:0:8\" was signed with algorithm \"sha256-sharded-8\" but "
                                           "hashed with \"sha256-sharded-16\""));
}

TEST_CASE("a single-file model matches whether the signer wrote '.' or the basename", "[model_signing]") {
  Manifest local;
  local.model_name = "signme-1";
  local.resources = {Resource{".", "sha256", unhex(kD1)}};
  SignedModel python;
  python.resources = {Resource{".", "sha256", unhex(kD1)}};
  CHECK(compare_manifest(python, local).empty());
  SignedModel go;
  go.resources = {Resource{"signme-1", "sha256", unhex(kD1)}};
  CHECK(compare_manifest(go, local).empty());
  SignedModel other;
  other.resources = {Resource{"signme-2", "sha256", unhex(kD1)}};
  ManifestDiff d = compare_manifest(other, local);
  CHECK(d.missing.size() == 1);
  CHECK(d.extra.size() == 1);
  CHECK(d.extra[0].name == "signme-1");
  // A '.' signature checked against a directory reports both sides (upstream's message too).
  Manifest dir;
  dir.model_name = "v0.3.1-elliptic-key";
  dir.resources = {Resource{"signme-1", "sha256", unhex(kD1)}};
  d = compare_manifest(python, dir);
  CHECK_THAT(d.describe(), Catch::Contains("file \".\" is missing"));
  CHECK_THAT(d.describe(), Catch::Contains("file \"signme-1\" is not signed"));
}

TEST_CASE("describe caps each kind of difference and counts the rest", "[model_signing]") {
  SignedModel s;
  s.resources = {Resource{"a", "sha256", unhex(kD1)}};
  Manifest local;
  local.resources = {Resource{"a", "sha256", unhex(kD1)}};
  for (int i = 0; i < 1002; ++i) {
    local.resources.push_back(Resource{"x" + std::to_string(i), "sha256", unhex(kD2)});
  }
  std::string text = compare_manifest(s, local).describe();
  CHECK_THAT(text, Catch::Contains("file \"x999\" is not signed"));
  CHECK_THAT(text, !Catch::Contains("\"x1000\""));
  CHECK_THAT(text, Catch::EndsWith("and 2 more not signed"));
}

TEST_CASE("quote_for_message escapes and caps untrusted strings", "[model_signing]") {
  CHECK(quote_for_message("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(quote_for_message(std::string("a\nb\0", 4)) == "\"a\\x0ab\\x00\"");
  CHECK(quote_for_message("\xff") == "\"\\xff\"");
  CHECK(quote_for_message("été") == "\"été\"");
  std::string q = quote_for_message(std::string(500, 'z'));
  CHECK(q == "\"" + std::string(120, 'z') + "…\"");
}

TEST_CASE("check_model_relative_path refuses bytes that are not UTF-8", "[model_signing]") {
  CHECK(check_model_relative_path("ok/été").ok());
  CHECK(check_model_relative_path("bad\xc3").error().message == "is not valid UTF-8");
  CHECK(check_model_relative_path("overlong\xc0\xaf").error().message == "is not valid UTF-8");
  CHECK(check_model_relative_path("surrogate\xed\xa0\x80").error().message == "is not valid UTF-8");
  CHECK(check_model_relative_path(std::string(4097, 'a')).error().code == Code::kMalformed);
}

TEST_CASE("resolve_ignore_path reads paths relative to the cwd or to the model", "[model_signing]") {
  TempDir t;
  fs::create_directories(t / "models/m/sub");
  fs::path model = t / "models/m";
  // cwd-relative, like upstream's `--ignore-paths scripts/tests/v1.0.1-certificate/ignore-me`
  auto r = resolve_ignore_path("models/m", t.path(), "models/m/sub/x");
  REQUIRE(r.ok());
  CHECK(r.value() == std::optional<std::string>("sub/x"));
  // model-relative
  r = resolve_ignore_path(model, t.path(), "ignore-me");
  REQUIRE(r.ok());
  CHECK(r.value() == std::optional<std::string>("ignore-me"));
  r = resolve_ignore_path(model, t.path(), "./sub/");
  REQUIRE(r.ok());
  CHECK(r.value() == std::optional<std::string>("sub"));
  // absolute inside / outside
  r = resolve_ignore_path(model, t.path(), (model / "sub").string());
  REQUIRE(r.ok());
  CHECK(r.value() == std::optional<std::string>("sub"));
  r = resolve_ignore_path(model, t.path(), (t / "elsewhere").string());
  REQUIRE(r.ok());
  CHECK_FALSE(r.value().has_value());
  // escaping or naming the whole model
  CHECK(resolve_ignore_path(model, t.path(), "../../etc").error().code == Code::kMalformed);
  CHECK_THAT(resolve_ignore_path(model, model, ".").error().message, Catch::Contains("names the whole model"));
  CHECK(resolve_ignore_path(model, t.path(), "").error().code == Code::kMalformed);
}

TEST_CASE("random byte mutations of a signed statement never crash, never yield kInternal, and what parses "
          "is consistent",
          "[model_signing]") {
  std::vector<std::uint8_t> seed_payload =
      payload_of(vectors_dir() / "model_signing/scripts/tests/v1.1.0-certificate/model.sig");
  std::string shards = read_file(vectors_dir() /
                                 "model_signing/tests/_signing/testdata/signing/TestPayload/sample_model_folder_small_shards");
  std::vector<std::vector<std::uint8_t>> seeds{seed_payload, std::vector<std::uint8_t>(shards.begin(), shards.end())};
  auto rnd = modelgate::testing::random_bytes(4 * 4000, 20260301);
  const std::string interesting = "\"{}[]:,.\\/0 -e\x01\xff";
  std::size_t parsed = 0;
  for (std::size_t i = 0; i < 4000; ++i) {
    std::vector<std::uint8_t> p = seeds[i % 2];
    std::uint8_t a = rnd[4 * i];
    std::size_t pos = (static_cast<std::size_t>(rnd[4 * i + 1]) << 8 | rnd[4 * i + 2]) % p.size();
    std::uint8_t v = rnd[4 * i + 3];
    switch (a % 4) {
      case 0: p[pos] = v; break;                                                        // overwrite
      case 1: p[pos] = static_cast<std::uint8_t>(interesting[v % interesting.size()]); break;
      case 2: p.erase(p.begin() + static_cast<std::ptrdiff_t>(pos)); break;             // delete
      default: p.insert(p.begin() + static_cast<std::ptrdiff_t>(pos), p[(pos * 7) % p.size()]); break;
    }
    auto r = parse_signed_model(p);
    if (!r.ok()) {
      CHECK(r.error().code != Code::kInternal);
      CHECK_FALSE(r.error().message.empty());
      continue;
    }
    ++parsed;
    // Whatever parses satisfies the invariants the verifier relies on.
    const SignedModel& m = r.value();
    CHECK_FALSE(m.resources.empty());
    CHECK(m.root_digest == root_digest_of(m.resources));
    for (const Resource& res : m.resources) {
      CHECK(res.digest.size() == hash_digest_size(m.serialization.hash_type));
    }
  }
  CHECK(parsed > 0);  // some mutations land in values that stay valid (e.g. the subject name)
}
