// registry_cases.cpp: the OCI client and ModelPack signatures against a real registry (Debian's
// docker-registry, distribution 2.8, on loopback with TLS and htpasswd: registry_fixture.h).
// Every attack of issue #14 is reproduced here: each must be refused naming the file or layer.
#include <catch2/catch.hpp>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <thread>

#include "crypto/encoding.h"
#include "crypto/keys.h"
#include "crypto/model_verify.h"
#include "oci/auth.h"
#include "oci/client.h"
#include "oci/model_artifact.h"
#include "registry_fixture.h"
#include "test_support.h"
#include "wait_until.h"

using namespace modelgate;
using namespace modelgate::oci;
using modelgate::testing::RegistryFixture;
using modelgate::testing::TempDir;

namespace {

namespace fs = std::filesystem;

fs::path keys_dir() { return testing::vectors_dir() / "model_signing/scripts/tests/keys/certificate"; }

std::unique_ptr<Client> client_for(const RegistryFixture& reg, std::chrono::milliseconds timeout = std::chrono::seconds(30),
                                   std::size_t max_manifest = limits::kMaxOciManifestBytes) {
  ClientOptions o;
  o.ca_file = reg.ca_file();
  o.credentials.add(reg.host(), Credential{testing::kRegistryUser, testing::kRegistryPassword, ""});
  o.timeout = timeout;
  o.max_manifest_bytes = max_manifest;
  Result<std::unique_ptr<Client>> c = Client::create(std::move(o));
  REQUIRE(c.ok());
  return std::move(c).value();
}

Reference ref(const RegistryFixture& reg, const std::string& rest) {
  Result<Reference> r = parse_reference(reg.host() + "/" + rest);
  REQUIRE(r.ok());
  return *r;
}

// make_model writes a small model directory: three files, one in a subdirectory.
void make_model(const fs::path& dir, const std::string& salt = "") {
  testing::write_file(dir / "config.json", "{\"arch\":\"tiny\"" + salt + "}\n");
  testing::write_file(dir / "weights/model.safetensors", std::string(70'000, 'w') + salt);
  testing::write_file(dir / "tokenizer.json", "{\"vocab\":[]}\n");
}

crypto::ModelSigner key_signer() {
  Result<crypto::PrivateKey> k = crypto::load_private_key_file(keys_dir() / "signing-key.pem", std::nullopt);
  REQUIRE(k.ok());
  return crypto::KeySigner{*k};
}

crypto::VerifyMethod key_method() {
  Result<crypto::PublicKey> k = crypto::load_public_key_file(keys_dir() / "signing-key-pub.pem");
  REQUIRE(k.ok());
  return crypto::KeyMethod{*k};
}

// Scene is a registry holding a signed model at <repo>:v1.
struct Scene {
  RegistryFixture reg;
  std::unique_ptr<Client> client;
  TempDir model;
  Reference tagged;
  ModelArtifact artifact;
  SignedOciModel signature;

  explicit Scene(const std::string& repo = "models/tiny") {
    REQUIRE(reg.ok());
    INFO(reg.error());
    client = client_for(reg);
    make_model(model.path());
    tagged = ref(reg, repo + ":v1");
    Result<std::string> pushed = push_model_dir(*client, model.path(), tagged);
    REQUIRE(pushed.ok());
    Result<ModelArtifact> a = fetch_model(*client, tagged);
    REQUIRE(a.ok());
    artifact = *a;
    Result<SignedOciModel> s = sign_model_artifact(*client, artifact, key_signer());
    REQUIRE(s.ok());
    signature = *s;
  }

  Result<VerifiedOciModel> verify(const Reference& r) {
    Result<ModelArtifact> a = fetch_model(*client, r);
    if (!a.ok()) {
      return std::move(a).error();
    }
    return verify_model_artifact(*client, *a, key_method(), OciVerifyOptions{});
  }

  // tamper pushes a copy of the signed manifest changed by `edit` under `tag` and, when
  // `copy_signature`, attaches the original signature to it as an attacker would.
  Reference tamper(const std::string& tag, const std::function<void(nlohmann::json&)>& edit, bool copy_signature = true) {
    Result<FetchedManifest> m = client->get_manifest(artifact.ref.pinned());
    REQUIRE(m.ok());
    nlohmann::json doc = nlohmann::json::parse(m->bytes);
    edit(doc);
    Reference t = tagged;
    t.tag = tag;
    t.digest.reset();
    Result<std::string> d = client->put_manifest(t, kMediaTypeImageManifest, doc.dump());
    REQUIRE(d.ok());
    if (copy_signature) {
      Result<FetchedManifest> sig = client->get_manifest(Reference{tagged.registry, tagged.repository, std::nullopt, signature.signature_digest});
      REQUIRE(sig.ok());
      nlohmann::json s = nlohmann::json::parse(sig->bytes);
      s["subject"]["digest"] = *d;
      s["subject"]["size"] = doc.dump().size();
      Descriptor described;
      described.artifact_type = std::string(kSigstoreBundleArtifactType);
      REQUIRE(client->push_referrer(t, *d, s.dump(), described).ok());
    }
    t.digest = *d;
    t.tag.reset();
    return t;
  }

  nlohmann::json& layer_named(nlohmann::json& doc, const std::string& path) {
    for (nlohmann::json& l : doc["layers"]) {
      if (l["annotations"][std::string(kFilepathAnnotation)] == path) {
        return l;
      }
    }
    FAIL("no layer " << path);
    return doc;
  }
};

}  // namespace

TEST_CASE("a model pushed as raw layers, signed from its manifest, verifies without pulling a blob") {
  Scene s;
  const std::uint64_t before = s.client->stats().requests;
  Result<VerifiedOciModel> v = s.verify(s.tagged);
  REQUIRE(v.ok());
  CHECK(v->manifest_digest == *s.artifact.ref.digest);
  CHECK(v->signature_digest == s.signature.signature_digest);
  CHECK(v->model.method() == "key");
  (void)before;

  // The root digest is the one hashing the files on disk gives (what `modelgate digest` prints).
  crypto::SerializationConfig config;
  config.ignore_paths = default_ignores();
  Result<crypto::Manifest> disk = crypto::hash_model(s.model.path(), config);
  REQUIRE(disk.ok());
  CHECK(v->model.root_digest() == disk->root_digest());

  // And the signature made from layer digests verifies over the unpacked files as a model.sig.
  testing::write_file(s.model / "model.sig", s.signature.bundle.bundle_json);
  Result<crypto::VerifiedModel> files = crypto::verify_model(s.model.path(), s.model / "model.sig", key_method(), {});
  REQUIRE(files.ok());
  CHECK(files->root_digest() == v->model.root_digest());
}

TEST_CASE("a layer swapped for another blob is refused naming the file") {
  Scene s;
  Result<std::string> other = s.client->push_blob(s.tagged, "evil weights");
  REQUIRE(other.ok());
  Reference t = s.tamper("swapped", [&](nlohmann::json& doc) {
    nlohmann::json& l = s.layer_named(doc, "weights/model.safetensors");
    l["digest"] = *other;
    l["size"] = 12;
  });
  Result<VerifiedOciModel> v = s.verify(t);
  REQUIRE_FALSE(v.ok());
  CHECK(v.error().code == Code::kMismatch);
  CHECK_THAT(v.error().message, Catch::Contains("file \"weights/model.safetensors\" does not match the signed digest"));
  CHECK_THAT(v.error().message, Catch::Contains(other->substr(7)));
}

TEST_CASE("a layer added to a signed model is refused naming the file") {
  Scene s;
  Result<std::string> extra = s.client->push_blob(s.tagged, "backdoor");
  REQUIRE(extra.ok());
  Reference t = s.tamper("added", [&](nlohmann::json& doc) {
    doc["layers"].push_back({{"mediaType", std::string(kModelWeightRaw)},
                             {"digest", *extra},
                             {"size", 8},
                             {"annotations", {{std::string(kFilepathAnnotation), "extra.py"}}}});
  });
  Result<VerifiedOciModel> v = s.verify(t);
  REQUIRE_FALSE(v.ok());
  CHECK(v.error().code == Code::kMismatch);
  CHECK_THAT(v.error().message, Catch::Contains("file \"extra.py\" is not signed"));
}

TEST_CASE("a layer removed from a signed model is refused naming the file") {
  Scene s;
  Reference t = s.tamper("removed", [&](nlohmann::json& doc) {
    nlohmann::json keep = nlohmann::json::array();
    for (const nlohmann::json& l : doc["layers"]) {
      if (l["annotations"][std::string(kFilepathAnnotation)] != "tokenizer.json") {
        keep.push_back(l);
      }
    }
    doc["layers"] = keep;
  });
  Result<VerifiedOciModel> v = s.verify(t);
  REQUIRE_FALSE(v.ok());
  CHECK(v.error().code == Code::kMismatch);
  CHECK_THAT(v.error().message, Catch::Contains("file \"tokenizer.json\" is missing"));
}

TEST_CASE("a changed filepath annotation is refused naming both files") {
  Scene s;
  Reference t = s.tamper("renamed", [&](nlohmann::json& doc) {
    s.layer_named(doc, "config.json")["annotations"][std::string(kFilepathAnnotation)] = "config.yaml";
  });
  Result<VerifiedOciModel> v = s.verify(t);
  REQUIRE_FALSE(v.ok());
  CHECK(v.error().code == Code::kMismatch);
  CHECK_THAT(v.error().message, Catch::Contains("file \"config.json\" is missing"));
  CHECK_THAT(v.error().message, Catch::Contains("file \"config.yaml\" is not signed"));
}

TEST_CASE("a tag moved to a tampered manifest is refused: unsigned, or its copied signature does not match") {
  Scene s;
  Result<std::string> other = s.client->push_blob(s.tagged, "tampered config");
  REQUIRE(other.ok());
  auto edit = [&](nlohmann::json& doc) {
    nlohmann::json& l = s.layer_named(doc, "config.json");
    l["digest"] = *other;
  };
  // Without the signature copied: the tag now names a manifest nobody signed.
  s.tamper("v1", edit, false);
  Result<VerifiedOciModel> unsigned_v = s.verify(s.tagged);
  REQUIRE_FALSE(unsigned_v.ok());
  CHECK(unsigned_v.error().code == Code::kNotFound);
  CHECK_THAT(unsigned_v.error().message, Catch::Contains("is not signed"));
  // With the signature copied onto it: the layers do not match what was signed.
  s.tamper("v1", edit, true);
  Result<VerifiedOciModel> copied = s.verify(s.tagged);
  REQUIRE_FALSE(copied.ok());
  CHECK(copied.error().code == Code::kMismatch);
  CHECK_THAT(copied.error().message, Catch::Contains("file \"config.json\" does not match the signed digest"));
  // The original, by digest, still verifies.
  CHECK(s.verify(s.artifact.ref.pinned()).ok());
}

TEST_CASE("a signature made for another model's manifest does not verify this one") {
  Scene s;
  TempDir other_dir;
  make_model(other_dir.path(), "-other");
  Reference other = ref(s.reg, "models/other:v1");
  REQUIRE(push_model_dir(*s.client, other_dir.path(), other).ok());
  Result<ModelArtifact> oa = fetch_model(*s.client, other);
  REQUIRE(oa.ok());
  Result<SignedOciModel> osig = sign_model_artifact(*s.client, *oa, key_signer());
  REQUIRE(osig.ok());
  // Attach the other model's bundle to ours (a referrer whose subject is ours).
  Reference repo = s.tagged;
  REQUIRE(s.client->push_blob(repo, osig->bundle.bundle_json).ok());
  Descriptor subject{std::string(kMediaTypeImageManifest), *s.artifact.ref.digest, 1, "", {}};
  Descriptor bundle{std::string(kSigstoreBundleArtifactType), sha256_digest(osig->bundle.bundle_json),
                    osig->bundle.bundle_json.size(), "", {}};
  Descriptor described;
  described.artifact_type = std::string(kSigstoreBundleArtifactType);
  // Only the other signature is attached to a fresh copy of the model.
  Reference copy = s.tamper("copy", [](nlohmann::json& doc) { doc["annotations"]["copy"] = "1"; }, false);
  subject.digest = *copy.digest;
  REQUIRE(s.client->push_referrer(copy, *copy.digest, render_signature_manifest(subject, bundle), described).ok());
  Result<VerifiedOciModel> v = s.verify(copy);
  REQUIRE_FALSE(v.ok());
  CHECK(v.error().code == Code::kMismatch);
  CHECK_THAT(v.error().message, Catch::Contains("file \"config.json\" does not match the signed digest"));
  CHECK_THAT(v.error().message, Catch::Contains("file \"weights/model.safetensors\" does not match the signed digest"));
}

TEST_CASE("an upstream model_signing files-mode signature verifies over the same files pushed as raw layers") {
  RegistryFixture reg;
  REQUIRE(reg.ok());
  std::unique_ptr<Client> client = client_for(reg);
  // v1.1.0-elliptic-key: model_signing 1.1.0, key hint, recorded ignore_paths (ignore-me, ...).
  const fs::path upstream = testing::vectors_dir() / "model_signing/scripts/tests/v1.1.0-elliptic-key";
  Reference r = ref(reg, "upstream/v110:v1");
  REQUIRE(push_model_dir(*client, upstream, r).ok());  // pushes signme-1, signme-2, ignore-me
  Result<ModelArtifact> a = fetch_model(*client, r);
  REQUIRE(a.ok());
  CHECK(a->pack.layers.size() == 3);
  const std::string bundle = testing::read_file(upstream / "model.sig");
  REQUIRE(client->push_blob(r, bundle).ok());
  REQUIRE(client->push_blob(r, "{}").ok());
  Result<FetchedManifest> m = client->get_manifest(a->ref.pinned());
  REQUIRE(m.ok());
  Descriptor subject{std::string(kMediaTypeImageManifest), m->digest, m->bytes.size(), "", {}};
  Descriptor layer{std::string(kSigstoreBundleArtifactType), sha256_digest(bundle), bundle.size(), "", {}};
  Descriptor described;
  described.artifact_type = std::string(kSigstoreBundleArtifactType);
  REQUIRE(client->push_referrer(r, m->digest, render_signature_manifest(subject, layer), described).ok());

  Result<VerifiedOciModel> v = verify_model_artifact(*client, *a, key_method(), {});
  REQUIRE(v.ok());
  // INDEX.md: v1.1.0-elliptic-key's root is 92745110…dec4.
  CHECK_THAT(crypto::to_hex(v->model.root_digest()), Catch::StartsWith("92745110"));
  CHECK_THAT(crypto::to_hex(v->model.root_digest()), Catch::EndsWith("dec4"));
}

TEST_CASE("signatures without a referrers API land in the sha256-<hex> tag schema index") {
  Scene s;
  Result<std::vector<std::string>> tags = s.client->tags(s.tagged);
  REQUIRE(tags.ok());
  const std::string fallback = "sha256-" + s.artifact.ref.digest->substr(7);
  CHECK(std::find(tags->begin(), tags->end(), fallback) != tags->end());
  Result<std::vector<Descriptor>> refs = s.client->referrers(s.tagged, *s.artifact.ref.digest, kSigstoreBundleArtifactType);
  REQUIRE(refs.ok());
  REQUIRE(refs->size() == 1);
  CHECK(refs->at(0).digest == s.signature.signature_digest);
  CHECK(s.client->referrers(s.tagged, *s.artifact.ref.digest, "application/other").value().empty());
}

TEST_CASE("manifests and blobs fetched by digest are served from the cache without a request") {
  RegistryFixture reg;
  REQUIRE(reg.ok());
  std::unique_ptr<Client> client = client_for(reg);
  Reference r = ref(reg, "cache/m:v1");
  TempDir dir;
  make_model(dir.path());
  Result<std::string> d = push_model_dir(*client, dir.path(), r);
  REQUIRE(d.ok());
  Reference pinned = r.pinned();
  pinned.digest = *d;
  REQUIRE(client->get_manifest(pinned).ok());
  const ClientStats before = client->stats();
  REQUIRE(client->get_manifest(pinned).ok());
  CHECK(client->stats().requests == before.requests);
  CHECK(client->stats().cache_hits == before.cache_hits + 1);
}

TEST_CASE("a blob larger than the caller's cap is refused") {
  RegistryFixture reg;
  REQUIRE(reg.ok());
  std::unique_ptr<Client> client = client_for(reg);
  Reference r = ref(reg, "caps/m:v1");
  Result<std::string> d = client->push_blob(r, std::string(10'000, 'x'));
  REQUIRE(d.ok());
  Result<std::string> got = client->get_blob(r, *d, 1000);
  REQUIRE_FALSE(got.ok());
  CHECK(got.error().code == Code::kLimit);
  CHECK_THAT(got.error().message, Catch::Contains("blob too large (10000 > 1000 bytes)"));
  CHECK(client->get_blob(r, *d, 10'000).ok());
}

TEST_CASE("a manifest over the size cap is refused before it is read whole") {
  // distribution 2.8 itself refuses manifests over 4 MiB (MANIFEST_INVALID), so the reader's cap is
  // lowered to 1 MiB and the manifest padded to 2 MiB: the cap is what is under test.
  RegistryFixture reg;
  REQUIRE(reg.ok());
  std::unique_ptr<Client> writer = client_for(reg);
  Reference r = ref(reg, "huge/m:v1");
  TempDir dir;
  make_model(dir.path());
  Result<std::string> d = push_model_dir(*writer, dir.path(), r);
  REQUIRE(d.ok());
  Reference pinned = r.pinned();
  pinned.digest = *d;
  Result<FetchedManifest> m = writer->get_manifest(pinned);
  REQUIRE(m.ok());
  nlohmann::json doc = nlohmann::json::parse(m->bytes);
  doc["annotations"]["padding"] = std::string(2u << 20, 'p');
  Reference huge = r;
  huge.tag = "huge";
  Result<std::string> put = writer->put_manifest(huge, kMediaTypeImageManifest, doc.dump());
  INFO((put.ok() ? std::string("ok") : put.error().message));
  REQUIRE(put.ok());

  std::unique_ptr<Client> reader = client_for(reg, std::chrono::seconds(30), 1u << 20);
  Result<FetchedManifest> got = reader->get_manifest(huge);
  REQUIRE_FALSE(got.ok());
  CHECK(got.error().code == Code::kLimit);
  CHECK_THAT(got.error().message, Catch::Contains("huge/m: manifest huge: manifest too large"));
  CHECK_THAT(got.error().message, Catch::Contains("> 1048576 bytes)"));
  // A model reference that names it is refused the same way.
  Result<ModelArtifact> a = fetch_model(*reader, huge);
  REQUIRE_FALSE(a.ok());
  CHECK(a.error().code == Code::kLimit);
}

TEST_CASE("wrong credentials are refused as auth refused with the registry's code") {
  RegistryFixture reg;
  REQUIRE(reg.ok());
  ClientOptions o;
  o.ca_file = reg.ca_file();
  o.credentials.add(reg.host(), Credential{testing::kRegistryUser, "wrong", ""});
  std::unique_ptr<Client> client = std::move(Client::create(std::move(o))).value();
  Result<FetchedManifest> m = client->get_manifest(ref(reg, "models/tiny:v1"));
  REQUIRE_FALSE(m.ok());
  CHECK(m.error().code == Code::kUntrusted);
  CHECK_THAT(m.error().message, Catch::Contains("auth refused (HTTP 401: UNAUTHORIZED"));

  ClientOptions none;
  none.ca_file = reg.ca_file();
  std::unique_ptr<Client> anonymous = std::move(Client::create(std::move(none))).value();
  Result<FetchedManifest> a = anonymous->get_manifest(ref(reg, "models/tiny:v1"));
  REQUIRE_FALSE(a.ok());
  CHECK(a.error().code == Code::kUntrusted);
  CHECK_THAT(a.error().message, Catch::Contains("none configured for \"" + reg.host() + "\""));
}

TEST_CASE("a registry whose certificate the CA did not issue is not trusted") {
  RegistryFixture reg;
  REQUIRE(reg.ok());
  ClientOptions o;  // the system store: it does not know the test CA
  o.credentials.add(reg.host(), Credential{testing::kRegistryUser, testing::kRegistryPassword, ""});
  std::unique_ptr<Client> client = std::move(Client::create(std::move(o))).value();
  Result<FetchedManifest> m = client->get_manifest(ref(reg, "models/tiny:v1"));
  REQUIRE_FALSE(m.ok());
  CHECK(m.error().code == Code::kIo);
  CHECK_THAT(m.error().message, Catch::Contains("not trusted"));
}

TEST_CASE("a missing manifest is not found with the registry's MANIFEST_UNKNOWN") {
  RegistryFixture reg;
  REQUIRE(reg.ok());
  std::unique_ptr<Client> client = client_for(reg);
  TempDir dir;
  make_model(dir.path());
  REQUIRE(push_model_dir(*client, dir.path(), ref(reg, "models/tiny:v1")).ok());
  Result<FetchedManifest> m = client->get_manifest(ref(reg, "models/tiny:nope"));
  REQUIRE_FALSE(m.ok());
  CHECK(m.error().code == Code::kNotFound);
  CHECK_THAT(m.error().message, Catch::Contains("models/tiny: manifest nope: HTTP 404: MANIFEST_UNKNOWN"));
}

TEST_CASE("a registry that is down cannot be connected to") {
  ClientOptions o;
  std::unique_ptr<Client> client = std::move(Client::create(std::move(o))).value();
  const std::string host = "127.0.0.1:" + std::to_string(testing::free_loopback_port());
  Result<FetchedManifest> m = client->get_manifest(*parse_reference(host + "/m:v1"));
  REQUIRE_FALSE(m.ok());
  CHECK(m.error().code == Code::kIo);
  CHECK_THAT(m.error().message, Catch::Contains(host + "/m: manifest v1: cannot connect"));
}

TEST_CASE("a registry that accepts and never answers runs into the per-call timeout") {
  testing::StalledPort stalled;
  ClientOptions o;
  o.timeout = std::chrono::milliseconds(300);
  std::unique_ptr<Client> client = std::move(Client::create(std::move(o))).value();
  const std::string host = "127.0.0.1:" + std::to_string(stalled.port());
  Result<FetchedManifest> m = client->get_manifest(*parse_reference(host + "/m:v1"));
  REQUIRE_FALSE(m.ok());
  CHECK(m.error().code == Code::kDeadline);
  CHECK_THAT(m.error().message, Catch::Contains("no answer within 300 ms"));
}

TEST_CASE("the CLI pushes, digests, signs and verifies a model in a registry, and refuses a tampered tag") {
  RegistryFixture reg;
  REQUIRE(reg.ok());
  TempDir model;
  make_model(model.path());
  const std::string bin = testing::modelgate_binary().string();
  const std::string r = reg.host() + "/cli/model:v1";
  const std::vector<std::string> registry = {"--registry-config", reg.docker_config(testing::kRegistryUser, testing::kRegistryPassword).string(),
                                             "--registry-ca", reg.ca_file().string()};
  auto cmd = [&](std::vector<std::string> argv) {
    argv.insert(argv.begin(), bin);
    argv.insert(argv.end(), registry.begin(), registry.end());
    return testing::run(argv);
  };
  testing::ProcessResult push = cmd({"push", "oci", model.path().string(), r});
  INFO(push.err);
  REQUIRE(push.exit_code == 0);

  // digest oci (from the manifest) == digest (the files on disk).
  testing::ProcessResult from_registry = cmd({"digest", "oci", r});
  testing::ProcessResult from_disk = testing::run({bin, "digest", model.path().string()});
  REQUIRE(from_registry.exit_code == 0);
  REQUIRE(from_disk.exit_code == 0);
  CHECK(from_registry.out == from_disk.out);

  const std::string keys = keys_dir().string();
  testing::ProcessResult sign = cmd({"sign", "oci", r, "--private-key", keys + "/signing-key.pem"});
  INFO(sign.err);
  REQUIRE(sign.exit_code == 0);
  CHECK_THAT(sign.out, Catch::Contains("root digest: " + from_disk.out.substr(0, from_disk.out.size() - 1)));
  testing::ProcessResult ok = cmd({"verify", "oci", r, "--public-key", keys + "/signing-key-pub.pem"});
  INFO(ok.err);
  CHECK(ok.exit_code == 0);
  CHECK_THAT(ok.out, Catch::StartsWith("Verification succeeded"));

  // The tag moved to a model with one file changed (pushed by the CLI too): unsigned.
  testing::write_file(model / "tokenizer.json", "{\"vocab\":[\"evil\"]}\n");
  REQUIRE(cmd({"push", "oci", model.path().string(), r}).exit_code == 0);
  testing::ProcessResult moved = cmd({"verify", "oci", r, "--public-key", keys + "/signing-key-pub.pem"});
  CHECK(moved.exit_code == 1);
  CHECK_THAT(moved.out, Catch::Contains("Verification failed: " + reg.host() + "/cli/model@sha256:"));
  CHECK_THAT(moved.out, Catch::Contains("is not signed"));

  // Usage errors: no method, two methods, a malformed reference; a registry that is down is 2.
  CHECK(cmd({"verify", "oci", r}).exit_code == 2);
  CHECK(cmd({"verify", "oci", r, "--public-key", keys + "/signing-key-pub.pem", "--identity", "x", "--identity-provider", "y"})
            .exit_code == 2);
  CHECK(cmd({"verify", "oci", "Bad/Ref", "--public-key", keys + "/signing-key-pub.pem"}).exit_code == 2);
  testing::ProcessResult down = testing::run({bin, "digest", "oci", "127.0.0.1:" + std::to_string(testing::free_loopback_port()) + "/m:v1"});
  CHECK(down.exit_code == 2);
  CHECK_THAT(down.err, Catch::Contains("cannot connect"));
}

namespace {

// LyingRegistry is an HTTPS server that speaks just enough of the distribution API to test what
// a real registry never does: token auth (a Bearer challenge and a token endpoint), and content
// that does not match the digest asked for or the digest it claims.
class LyingRegistry {
 public:
  explicit LyingRegistry(const RegistryFixture& certs, std::string realm_scheme = "https")
      : server_((certs.dir() / "server.pem").c_str(), (certs.dir() / "server.key").c_str()) {
    port_ = server_.bind_to_any_port("127.0.0.1");
    const std::string realm = realm_scheme + "://127.0.0.1:" + std::to_string(port_) + "/token";
    server_.Get("/token", [this](const httplib::Request& rq, httplib::Response& res) {
      ++token_requests;
      if (rq.get_header_value("Authorization") != basic_authorization(testing::kRegistryUser, testing::kRegistryPassword)) {
        res.status = 401;
        return;
      }
      res.set_content(R"({"token":"t0k"})", "application/json");
    });
    server_.Get(R"(/v2/m/manifests/(.+))", [realm](const httplib::Request& rq, httplib::Response& res) {
      if (rq.get_header_value("Authorization") != "Bearer t0k") {
        res.status = 401;
        res.set_header("WWW-Authenticate", "Bearer realm=\"" + realm + "\",service=\"lying\",scope=\"repository:m:pull\"");
        return;
      }
      if (rq.matches[1] == "claims-other") {
        res.set_header("Docker-Content-Digest", "sha256:" + std::string(64, 'e'));
      }
      res.set_content(R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"})",
                      "application/vnd.oci.image.manifest.v1+json");
    });
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    REQUIRE(testing::wait_until([this] { return server_.is_running(); }, std::chrono::seconds(60)));
  }
  ~LyingRegistry() {
    server_.stop();
    thread_.join();
  }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  std::atomic<int> token_requests{0};

 private:
  httplib::SSLServer server_;
  int port_ = 0;
  std::thread thread_;
};

std::unique_ptr<Client> lying_client(const RegistryFixture& reg, const LyingRegistry& lying) {
  ClientOptions o;
  o.ca_file = reg.ca_file();
  o.credentials.add(lying.host(), Credential{testing::kRegistryUser, testing::kRegistryPassword, ""});
  return std::move(Client::create(std::move(o))).value();
}

}  // namespace

TEST_CASE("bearer token auth answers the challenge once, then reuses the token") {
  RegistryFixture reg;  // for its CA and server certificate
  REQUIRE(reg.ok());
  LyingRegistry lying(reg);
  std::unique_ptr<Client> client = lying_client(reg, lying);
  Result<FetchedManifest> m = client->get_manifest(*parse_reference(lying.host() + "/m:v1"));
  REQUIRE(m.ok());
  CHECK(m->digest == sha256_digest(m->bytes));
  REQUIRE(client->get_manifest(*parse_reference(lying.host() + "/m:v2")).ok());
  CHECK(lying.token_requests == 1);
}

TEST_CASE("content that does not hash to the digest asked for, or claimed, is refused") {
  RegistryFixture reg;
  REQUIRE(reg.ok());
  LyingRegistry lying(reg);
  std::unique_ptr<Client> client = lying_client(reg, lying);
  const std::string asked = "sha256:" + std::string(64, 'a');
  Result<FetchedManifest> m = client->get_manifest(*parse_reference(lying.host() + "/m@" + asked));
  REQUIRE_FALSE(m.ok());
  CHECK(m.error().code == Code::kMismatch);
  CHECK_THAT(m.error().message, Catch::Contains("the registry sent content that does not match the digest"));
  Result<FetchedManifest> claimed = client->get_manifest(*parse_reference(lying.host() + "/m:claims-other"));
  REQUIRE_FALSE(claimed.ok());
  CHECK(claimed.error().code == Code::kMismatch);
  CHECK_THAT(claimed.error().message, Catch::Contains("but the registry claims \"sha256:eeee"));
}

TEST_CASE("a token realm that is not https gets no credentials") {
  RegistryFixture reg;
  REQUIRE(reg.ok());
  LyingRegistry lying(reg, "http");
  std::unique_ptr<Client> client = lying_client(reg, lying);
  Result<FetchedManifest> m = client->get_manifest(*parse_reference(lying.host() + "/m:v1"));
  REQUIRE_FALSE(m.ok());
  CHECK(m.error().code == Code::kUntrusted);
  CHECK_THAT(m.error().message, Catch::Contains("is not https"));
  CHECK(lying.token_requests == 0);
}
