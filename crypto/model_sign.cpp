#include "crypto/model_sign.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

#include "base/limits.h"
#include "crypto/dsse.h"
#include "crypto/encoding.h"
#include "crypto/model_signature.h"
#include "crypto/model_walk.h"
#include "crypto/statement.h"

namespace modelgate::crypto {

namespace fs = std::filesystem;

namespace {

using OrderedJson = nlohmann::ordered_json;

// signature_relpath returns the signature file relative to the model root when it lies inside.
std::optional<std::string> signature_relpath(const fs::path& model, const fs::path& sig) {
  std::error_code ec;
  fs::path m = fs::weakly_canonical(fs::absolute(model, ec), ec);
  if (ec) {
    return std::nullopt;
  }
  fs::path s = fs::weakly_canonical(fs::absolute(sig, ec), ec);
  if (ec) {
    return std::nullopt;
  }
  fs::path rel = s.lexically_relative(m);
  if (rel.empty() || rel == "." || *rel.begin() == "..") {
    return std::nullopt;
  }
  return rel.generic_string();
}

// Bytes build_statement_payload writes per resource besides its name, algorithm and digest hex
// (2-space indent, the entry at depth 3, its members at depth 4): `      {\n`, `        "name": "`
// … `",\n`, `        "algorithm": "` … `",\n`, `        "digest": "` … `"\n`, `      }\n`; entries
// after the first add a comma. The tests check the sum against the real payload.
constexpr std::size_t kResourceJsonBytes = 8 + (8 + 9 + 3) + (8 + 14 + 3) + (8 + 11 + 2) + 8;

// too_large says that `resources` resources need at least `bytes` of signature.
Error too_large(std::size_t resources, std::size_t bytes, std::size_t max, std::string_view what) {
  return make_error(Code::kLimit, "too many resources for one signature (" + std::to_string(resources) +
                                      " need at least " + std::to_string(bytes) + " bytes of " + std::string(what) +
                                      " > " + std::to_string(max) +
                                      ", the most verification reads); sign fewer, larger files (or larger shards), "
                                      "or split the model");
}

std::size_t base64_size(std::size_t n) { return (n + 2) / 3 * 4; }

// check_sizes holds the real statement and bundle to what verification reads.
Result<void> check_sizes(std::size_t resources, std::size_t payload, std::size_t bundle) {
  if (payload > limits::kMaxDssePayloadBytes) {
    return too_large(resources, payload, limits::kMaxDssePayloadBytes, "statement");
  }
  if (bundle > limits::kMaxBundleBytes) {
    return too_large(resources, bundle, limits::kMaxBundleBytes, "signature");
  }
  return ok_status();
}

// names_to_sign lists the resource names hashing `tree` with `config` would give.
std::vector<std::string> names_to_sign(const ModelTree& tree, const SerializationConfig& config) {
  std::vector<std::string> names;
  for (const ModelFile& f : tree.files) {
    if (config.method == SerializationMethod::kFiles) {
      names.push_back(tree.single_file ? "." : f.name);
      continue;
    }
    for (std::uint64_t start = 0; start < f.stamp.size; start += config.shard_size) {
      const std::uint64_t end = start + std::min(config.shard_size, f.stamp.size - start);
      names.push_back(f.name + ":" + std::to_string(start) + ":" + std::to_string(end));
      if (names.size() > limits::kMaxResources) {
        return names;  // hashing refuses this many; the size check already has its answer
      }
    }
  }
  return names;
}

}  // namespace

std::size_t statement_size_floor(const std::vector<std::string>& names, HashType type) {
  const std::size_t per = kResourceJsonBytes + hash_type_name(type).size() + 2 * hash_digest_size(type);
  std::size_t payload = names.empty() ? 0 : names.size() - 1;  // the commas
  for (const std::string& n : names) {
    payload += per + n.size();
  }
  return payload;
}

Result<void> check_signature_size(const std::vector<std::string>& names, HashType type) {
  const std::size_t payload = statement_size_floor(names, type);
  return check_sizes(names.size(), payload, base64_size(payload));
}

std::string build_statement_payload(const Manifest& manifest, const std::vector<std::string>& recorded_ignores) {
  const SerializationConfig& c = manifest.config;
  OrderedJson serialization = OrderedJson::object();
  serialization["method"] = c.method == SerializationMethod::kFiles ? "files" : "shards";
  serialization["hash_type"] = std::string(hash_type_name(c.hash_type));
  if (c.method == SerializationMethod::kShards) {
    // An integer (as Go writes it); Python's float 1000000000.0 breaks upstream's own reader (§2.8).
    serialization["shard_size"] = c.shard_size;
  }
  serialization["allow_symlinks"] = c.allow_symlinks;
  serialization["ignore_paths"] = recorded_ignores;

  OrderedJson resources = OrderedJson::array();
  for (const Resource& r : manifest.resources) {
    OrderedJson item = OrderedJson::object();
    item["name"] = r.name;
    item["algorithm"] = r.algorithm;
    item["digest"] = to_hex(r.digest);
    resources.push_back(std::move(item));
  }
  Sha256Digest root = manifest.root_digest();

  // in-toto Statement v1, top-level order as protobuf's MessageToJson writes it (§1.3).
  OrderedJson st = OrderedJson::object();
  st["_type"] = std::string(kStatementTypeV1);
  OrderedJson subject = OrderedJson::object();
  subject["name"] = manifest.model_name;
  subject["digest"] = OrderedJson::object({{"sha256", to_hex(root)}});
  st["subject"] = OrderedJson::array({subject});
  st["predicateType"] = std::string(kModelSigningPredicateV1);
  OrderedJson predicate = OrderedJson::object();
  predicate["serialization"] = std::move(serialization);
  predicate["resources"] = std::move(resources);
  st["predicate"] = std::move(predicate);
  // 2-space indent, ASCII only (\uXXXX), no trailing newline: what MessageToJson produces.
  return st.dump(2, ' ', true);
}

Result<SignedModelBundle> sign_model(const fs::path& model_path, const fs::path& signature_path,
                                     const ModelSigner& signer, const SignOptions& options) {
  MG_TRY(check_signer(signer));  // before hashing: a wrong key should not cost a model's read

  // Everything ignored while hashing is recorded, so verifiers need no flags (model_signing ≥ 1.1).
  std::set<std::string> ignores;
  for (const std::string& p : options.serialization.ignore_paths) {
    MG_TRY_CTX(check_model_relative_path(p), "ignore path " + quote_for_message(p));
    ignores.insert(p);
  }
  if (auto rel = signature_relpath(model_path, signature_path)) {
    ignores.insert(*rel);
  }
  std::error_code ec;
  if (fs::is_directory(model_path, ec)) {
    // Recorded like the others, so upstream's verifier (which reads the list) agrees.
    ignores.insert(std::string(kDefaultSignatureFile));
  }
  if (options.ignore_git_paths) {
    for (std::string_view g : kDefaultGitIgnores) {
      ignores.insert(std::string(g));
    }
  }
  SerializationConfig config = options.serialization;
  config.ignore_paths.assign(ignores.begin(), ignores.end());

  {
    // Walked once more by hash_model: a signature verify would refuse costs no hashing.
    WalkOptions walk;
    walk.allow_symlinks = config.allow_symlinks;
    walk.ignore_paths = config.ignore_paths;
    walk.cancel = options.hash.cancel;
    MG_ASSIGN_OR_RETURN_CTX(const ModelTree tree, walk_model(model_path, walk), "model");
    MG_TRY_CTX(check_signature_size(names_to_sign(tree, config), config.hash_type), "model");
  }
  MG_ASSIGN_OR_RETURN_CTX(Manifest manifest, hash_model(model_path, config, options.hash), "model");
  if (manifest.resources.empty()) {
    return make_error(Code::kMalformed, "model: nothing to sign (no files after ignores; an empty model "
                                        "cannot be verified)");
  }

  return sign_manifest(std::move(manifest), config.ignore_paths, signer);
}

Result<SignedModelBundle> sign_manifest(Manifest manifest, const std::vector<std::string>& recorded_ignores,
                                        const ModelSigner& signer) {
  MG_TRY(check_signer(signer));
  if (manifest.resources.empty()) {
    return make_error(Code::kMalformed, "model: nothing to sign (no files after ignores; an empty model "
                                        "cannot be verified)");
  }
  std::vector<std::string> names;
  names.reserve(manifest.resources.size());
  for (const Resource& r : manifest.resources) {
    names.push_back(r.name);
  }
  MG_TRY_CTX(check_signature_size(names, manifest.config.hash_type), "model");
  SignedModelBundle out;
  out.payload = build_statement_payload(manifest, recorded_ignores);
  out.root_digest = manifest.root_digest();

  MG_ASSIGN_OR_RETURN(out.bundle_json, sign_statement_bundle(out.payload, signer));
  MG_TRY_CTX(check_sizes(manifest.resources.size(), out.payload.size(), out.bundle_json.size()), "model");
  out.manifest = std::move(manifest);
  return out;
}

}  // namespace modelgate::crypto
