#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "crypto/encoding.h"
#include "crypto/manifest.h"
#include "oci/model_artifact.h"
#include "oci/modelpack.h"
#include "test_support.h"

using namespace modelgate;
using namespace modelgate::oci;
using modelgate::testing::TempDir;

namespace {

const std::string kConfigDigest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

std::string digest_of(char c) { return "sha256:" + std::string(64, c); }

nlohmann::json layer(const std::string& path, const std::string& digest,
                     const std::string& media_type = std::string(kModelWeightRaw)) {
  return {{"mediaType", media_type},
          {"digest", digest},
          {"size", 9},
          {"annotations", {{std::string(kFilepathAnnotation), path}}}};
}

// manifest takes a vector, not a json: `manifest({one_layer})` must be a one-layer array with every
// compiler (clang reads a braced json of one json as a copy of it, gcc as an array; CWG 1467).
nlohmann::json manifest(const std::vector<nlohmann::json>& list) {
  nlohmann::json layers = nlohmann::json::array();
  for (const nlohmann::json& l : list) {
    layers.push_back(l);
  }
  return {{"schemaVersion", 2},
          {"mediaType", std::string(kMediaTypeImageManifest)},
          {"artifactType", std::string(kModelManifestArtifactType)},
          {"config", {{"mediaType", std::string(kModelConfigMediaType)}, {"digest", kConfigDigest}, {"size", 2}}},
          {"layers", std::move(layers)}};
}

Result<ModelPack> parse(const nlohmann::json& j) { return parse_modelpack(j.dump(), "sha256:" + std::string(64, '0')); }

std::string sha256sum(const std::filesystem::path& p) {
  testing::ProcessResult r = testing::run({"/usr/bin/sha256sum", p.string()});
  REQUIRE(r.exit_code == 0);
  return "sha256:" + r.out.substr(0, 64);
}

}  // namespace

TEST_CASE("a ModelPack manifest's raw layers give the root digest hashing the unpacked files gives") {
  // Oracle: sha256sum digests each file; hash_model (what `modelgate digest` runs) hashes the dir.
  TempDir dir;
  testing::write_file(dir / "config.json", "{\"arch\":\"llama\"}\n");
  testing::write_file(dir / "weights/model-00001.safetensors", std::string(100'000, 'w'));
  testing::write_file(dir / "tokenizer.json", "{}");
  testing::write_file(dir / "README.md", "# model\n");
  nlohmann::json layers = nlohmann::json::array();
  for (const char* name : {"weights/model-00001.safetensors", "tokenizer.json", "config.json", "README.md"}) {
    layers.push_back(layer(name, sha256sum(dir / name)));
  }
  Result<ModelPack> pack = parse(manifest(layers));
  REQUIRE(pack.ok());
  CHECK(pack->layers.size() == 4);
  Result<crypto::Manifest> m = files_manifest(*pack, "model", default_ignores());
  REQUIRE(m.ok());

  crypto::SerializationConfig config;
  config.ignore_paths = default_ignores();
  Result<crypto::Manifest> disk = crypto::hash_model(dir.path(), config);
  REQUIRE(disk.ok());
  CHECK(m->resources == disk->resources);
  CHECK(m->root_digest() == disk->root_digest());
}

TEST_CASE("layers at ignored paths are left out as hashing would leave out the files") {
  Result<ModelPack> pack = parse(manifest({layer("w.bin", digest_of('a')), layer(".git/HEAD", digest_of('b')),
                                           layer("model.sig", digest_of('c'))}));
  REQUIRE(pack.ok());
  std::vector<std::string> ignored;
  Result<crypto::Manifest> m = files_manifest(*pack, "m", default_ignores(), &ignored);
  REQUIRE(m.ok());
  REQUIRE(m->resources.size() == 1);
  CHECK(m->resources[0].name == "w.bin");
  CHECK(ignored == std::vector<std::string>{".git/HEAD", "model.sig"});
}

TEST_CASE("an archive layer is refused by name: its digest is not a file's") {
  Result<ModelPack> pack = parse(manifest({layer("a.bin", digest_of('a')),
                                           layer("w.tar", digest_of('b'), "application/vnd.cncf.model.weight.v1.tar")}));
  REQUIRE(pack.ok());
  CHECK(pack->layers[1].format == LayerFormat::kArchive);
  Result<crypto::Manifest> m = files_manifest(*pack, "m", {});
  REQUIRE_FALSE(m.ok());
  CHECK(m.error().code == Code::kUnsupported);
  CHECK_THAT(m.error().message, Catch::StartsWith("layer 1 \"w.tar\" is \"application/vnd.cncf.model.weight.v1.tar\""));
}

TEST_CASE("malformed ModelPack manifests are refused naming the layer") {
  struct Case {
    nlohmann::json doc;
    Code code;
    std::string says;
  };
  nlohmann::json no_ann = layer("a", digest_of('a'));
  no_ann.erase("annotations");
  nlohmann::json not_model = manifest({layer("a", digest_of('a'))});
  not_model["artifactType"] = "application/vnd.example+json";
  not_model["config"]["mediaType"] = "application/vnd.oci.image.config.v1+json";
  nlohmann::json index = manifest({layer("a", digest_of('a'))});
  index["mediaType"] = std::string(kMediaTypeImageIndex);
  nlohmann::json bad_digest = layer("a", "sha256:ABC");
  nlohmann::json sha512 = layer("a", "sha512:" + std::string(128, 'a'));
  nlohmann::json negative = layer("a", digest_of('a'));
  negative["size"] = -1;
  const Case cases[] = {
      {manifest(nlohmann::json::array()), Code::kMalformed, "no layers"},
      {manifest({no_ann}), Code::kMalformed, "layer 0 has no org.cncf.model.filepath annotation"},
      {manifest({layer("a", digest_of('a')), layer("a", digest_of('b'))}), Code::kMalformed, "layer 1 \"a\": filepath appears twice"},
      {manifest({layer("../etc/passwd", digest_of('a'))}), Code::kMalformed, "layer 0 \"../etc/passwd\": filepath"},
      {manifest({layer("/abs", digest_of('a'))}), Code::kMalformed, "layer 0 \"/abs\": filepath"},
      {manifest({layer("a\\b", digest_of('a'))}), Code::kMalformed, "filepath"},
      {manifest({layer("d", digest_of('a')), layer("d/f", digest_of('b'))}), Code::kMalformed, "is both a file and the directory"},
      {manifest({bad_digest}), Code::kMalformed, "digest"},
      {manifest({sha512}), Code::kUnsupported, "not a sha256 digest"},
      {manifest({negative}), Code::kMalformed, "size"},
      {not_model, Code::kUnsupported, "not a ModelPack model"},
      {index, Code::kUnsupported, "not an OCI image manifest"},
      {nlohmann::json::array(), Code::kMalformed, "not a JSON object"},
  };
  for (const Case& c : cases) {
    INFO(c.doc.dump());
    Result<ModelPack> r = parse(c.doc);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == c.code);
    CHECK_THAT(r.error().message, Catch::Contains(c.says));
  }
}

TEST_CASE("a manifest with more layers than the bound is refused before they are read") {
  nlohmann::json layers = nlohmann::json::array();
  for (std::size_t i = 0; i <= limits::kMaxOciLayers; ++i) {
    layers.push_back(layer("f" + std::to_string(i), digest_of('a')));
  }
  Result<ModelPack> r = parse(manifest(layers));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Code::kLimit);
  CHECK_THAT(r.error().message, Catch::Contains("too many layers (10001 > 10000)"));
}

TEST_CASE("render_modelpack writes what parse_modelpack reads back") {
  Descriptor cfg{std::string(kModelConfigMediaType), kConfigDigest, 2, "", {}};
  std::vector<PackFile> files = {{"b/w.bin", digest_of('b'), 5}, {"a.json", digest_of('a'), 3}};
  const std::string text = render_modelpack(cfg, files);
  Result<ModelPack> pack = parse_modelpack(text, "sha256:" + std::string(64, '1'));
  REQUIRE(pack.ok());
  REQUIRE(pack->layers.size() == 2);
  CHECK(pack->layers[0].filepath == "b/w.bin");
  CHECK(pack->layers[0].size == 5);
  CHECK(pack->layers[1].digest == digest_of('a'));
  Result<crypto::Manifest> m = files_manifest(*pack, "m", {});
  REQUIRE(m.ok());
  CHECK(m->resources[0].name == "a.json");  // canonical order, not layer order
}
