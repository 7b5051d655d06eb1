#include "crypto/model_sign.h"

#include <nlohmann/json.hpp>

#include <set>

#include "crypto/dsse.h"
#include "crypto/encoding.h"
#include "crypto/model_signature.h"
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

}  // namespace

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

  MG_ASSIGN_OR_RETURN_CTX(Manifest manifest, hash_model(model_path, config, options.hash), "model");
  if (manifest.resources.empty()) {
    return make_error(Code::kMalformed, "model: nothing to sign (no files after ignores; an empty model "
                                        "cannot be verified)");
  }

  SignedModelBundle out;
  out.payload = build_statement_payload(manifest, config.ignore_paths);
  out.root_digest = manifest.root_digest();

  MG_ASSIGN_OR_RETURN(out.bundle_json, sign_statement_bundle(out.payload, signer));
  out.manifest = std::move(manifest);
  return out;
}

}  // namespace modelgate::crypto
