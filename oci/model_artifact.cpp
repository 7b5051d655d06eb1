#include "oci/model_artifact.h"

#include <algorithm>
#include <set>

#include "base/limits.h"
#include "base/read_file.h"
#include "crypto/json.h"
#include "crypto/model_signature.h"
#include "crypto/model_walk.h"

namespace modelgate::oci {

namespace {

// kMaxPushFileBytes bounds one file push_model_dir reads into memory (a demo/test helper).
constexpr std::size_t kMaxPushFileBytes = std::size_t{1} << 30;

bool covers(std::string_view ignore, std::string_view name) {
  return name == ignore || (name.size() > ignore.size() && name.substr(0, ignore.size()) == ignore && name[ignore.size()] == '/');
}

// signature_bundle fetches referrer `d`, checks it is a signature of `subject_digest`, and returns
// its bundle bytes.
Result<std::string> signature_bundle(Client& client, const Reference& repo, const Descriptor& d,
                                     std::string_view subject_digest) {
  Reference by_digest = repo;
  by_digest.tag.reset();
  by_digest.digest = d.digest;
  MG_ASSIGN_OR_RETURN(FetchedManifest m, client.get_manifest(by_digest));
  MG_ASSIGN_OR_RETURN_CTX(crypto::Json doc, crypto::parse_json(m.bytes, {limits::kMaxOciManifestBytes, 32}), "signature manifest");
  if (!doc.is_object()) {
    return make_error(Code::kMalformed, "signature manifest: not a JSON object");
  }
  // The referrers list is the registry's word; the manifest's own subject is what was pushed.
  MG_ASSIGN_OR_RETURN(const crypto::Json* subject, crypto::get_object(doc, "subject", "signature manifest"));
  MG_ASSIGN_OR_RETURN(Descriptor s, parse_descriptor(*subject, "signature manifest.subject"));
  if (s.digest != subject_digest) {
    return make_error(Code::kMismatch, "signature manifest: its subject is " + s.digest + ", not the model manifest");
  }
  MG_ASSIGN_OR_RETURN(const crypto::Json* layers, crypto::get_array(doc, "layers", "signature manifest"));
  if (layers->size() != 1) {
    return make_error(Code::kMalformed, "signature manifest: expected exactly one layer (the bundle), found " +
                                            std::to_string(layers->size()));
  }
  MG_ASSIGN_OR_RETURN(Descriptor bundle, parse_descriptor((*layers)[0], "signature manifest.layers[0]"));
  if (bundle.size > limits::kMaxBundleBytes) {
    return make_error(Code::kLimit, "signature bundle too large (" + std::to_string(bundle.size) + " > " +
                                        std::to_string(limits::kMaxBundleBytes) + " bytes)");
  }
  return client.get_blob(repo, bundle.digest, limits::kMaxBundleBytes);
}

}  // namespace

std::string model_name_of(const Reference& ref) {
  const std::size_t slash = ref.repository.rfind('/');
  return slash == std::string::npos ? ref.repository : ref.repository.substr(slash + 1);
}

std::vector<std::string> default_ignores() {
  std::vector<std::string> out;
  for (std::string_view g : crypto::kDefaultGitIgnores) {
    out.emplace_back(g);
  }
  out.emplace_back(crypto::kDefaultSignatureFile);
  std::sort(out.begin(), out.end());
  return out;
}

Result<ModelArtifact> fetch_model(Client& client, const Reference& ref) {
  ModelArtifact a;
  a.ref = ref;
  MG_ASSIGN_OR_RETURN(std::string digest, client.resolve(ref));
  a.ref.digest = digest;
  Reference pinned = a.ref.pinned();
  MG_ASSIGN_OR_RETURN(FetchedManifest m, client.get_manifest(pinned));
  MG_ASSIGN_OR_RETURN_CTX(a.pack, parse_modelpack(m.bytes, m.digest), pinned.str());
  return a;
}

Result<crypto::Manifest> model_manifest(const ModelArtifact& artifact) {
  return files_manifest(artifact.pack, model_name_of(artifact.ref), default_ignores());
}

Result<VerifiedOciModel> verify_model_artifact(Client& client, const ModelArtifact& artifact,
                                               const crypto::VerifyMethod& method, const OciVerifyOptions& options) {
  const std::string& digest = *artifact.ref.digest;
  const std::string where = artifact.ref.pinned().str();
  MG_ASSIGN_OR_RETURN(std::vector<Descriptor> sigs, client.referrers(artifact.ref, digest, kSigstoreBundleArtifactType));
  if (sigs.empty()) {
    return make_error(Code::kNotFound, where + " is not signed (no " + std::string(kSigstoreBundleArtifactType) +
                                           " referrer)");
  }
  if (options.verify.on_check) {
    options.verify.on_check("registry: " + std::to_string(sigs.size()) + " signature referrer" + (sigs.size() == 1 ? "" : "s") +
                            " of " + digest);
  }
  // The resources the layers stand for, under the signature's own ignore rules (as hashing the
  // unpacked files with that signature's serialization would give).
  auto local_of = [&](const crypto::SignedModel& s) -> Result<crypto::Manifest> {
    if (s.serialization.method != crypto::SerializationMethod::kFiles || s.serialization.hash_type != crypto::HashType::kSha256) {
      return make_error(Code::kUnsupported, "the signature is " +
                                                std::string(s.serialization.method == crypto::SerializationMethod::kFiles ? "files" : "shards") +
                                                "-mode " + std::string(crypto::hash_type_name(s.serialization.hash_type)) +
                                                "; layer digests give files-mode sha256 only (pull and hash the files to verify it)");
    }
    std::set<std::string> ignores(s.serialization.ignore_paths.begin(), s.serialization.ignore_paths.end());
    for (const std::string& p : options.verify.ignore_paths) {
      ignores.insert(p);
    }
    // As verify_model: model.sig and the git paths are ignored unless the signer signed them.
    std::vector<std::string> defaults = default_ignores();
    for (const std::string& g : defaults) {
      const bool signed_it = std::any_of(s.resources.begin(), s.resources.end(),
                                         [&](const crypto::Resource& r) { return covers(g, r.name); });
      if (!signed_it && (g == crypto::kDefaultSignatureFile || options.verify.ignore_git_paths)) {
        ignores.insert(g);
      }
    }
    std::vector<std::string> ignored;
    MG_ASSIGN_OR_RETURN(crypto::Manifest m, files_manifest(artifact.pack, model_name_of(artifact.ref),
                                                           std::vector<std::string>(ignores.begin(), ignores.end()), &ignored));
    if (options.verify.on_check) {
      options.verify.on_check("layers: " + std::to_string(m.resources.size()) + " raw layers stand for the model's files (" +
                              std::to_string(ignored.size()) + " ignored); no blob pulled");
    }
    return m;
  };
  std::optional<Error> last;
  for (const Descriptor& d : sigs) {
    Result<std::string> bundle = signature_bundle(client, artifact.ref, d, digest);
    if (!bundle.ok()) {
      last = std::move(bundle).error().context(where + ": signature " + d.digest);
      continue;
    }
    Result<crypto::VerifiedModel> v = crypto::verify_model_listing(*bundle, "signature " + d.digest, local_of, method, options.verify);
    if (v.ok()) {
      return VerifiedOciModel{std::move(v).value(), digest, d.digest};
    }
    last = std::move(v).error().context(where);
  }
  return *last;
}

Result<SignedOciModel> sign_model_artifact(Client& client, const ModelArtifact& artifact, const crypto::ModelSigner& signer) {
  const std::string where = artifact.ref.pinned().str();
  MG_ASSIGN_OR_RETURN_CTX(crypto::Manifest m, model_manifest(artifact), where);
  SignedOciModel out;
  MG_ASSIGN_OR_RETURN_CTX(out.bundle, crypto::sign_manifest(std::move(m), default_ignores(), signer), where);
  MG_ASSIGN_OR_RETURN(std::string bundle_digest, client.push_blob(artifact.ref, out.bundle.bundle_json));
  MG_TRY(client.push_blob(artifact.ref, "{}"));  // the empty config every artifact manifest names
  Descriptor subject;
  subject.media_type = std::string(kMediaTypeImageManifest);
  subject.digest = *artifact.ref.digest;
  MG_ASSIGN_OR_RETURN(FetchedManifest model, client.get_manifest(artifact.ref.pinned()));
  subject.size = model.bytes.size();
  Descriptor bundle;
  bundle.media_type = std::string(kSigstoreBundleArtifactType);
  bundle.digest = bundle_digest;
  bundle.size = out.bundle.bundle_json.size();
  const std::string manifest = render_signature_manifest(subject, bundle);
  Descriptor described;
  described.artifact_type = std::string(kSigstoreBundleArtifactType);
  MG_ASSIGN_OR_RETURN(out.signature_digest, client.push_referrer(artifact.ref, subject.digest, manifest, described));
  return out;
}

Result<std::string> push_model_dir(Client& client, const std::filesystem::path& dir, const Reference& ref) {
  crypto::WalkOptions walk;
  walk.ignore_paths = default_ignores();
  MG_ASSIGN_OR_RETURN_CTX(crypto::ModelTree tree, crypto::walk_model(dir, walk), dir.string());
  if (tree.single_file) {
    return make_error(Code::kUnsupported, dir.string() + ": push a directory (a model's files), not a single file");
  }
  if (tree.files.size() > limits::kMaxOciLayers) {
    return make_error(Code::kLimit, dir.string() + ": too many files for one manifest (" + std::to_string(tree.files.size()) +
                                        " > " + std::to_string(limits::kMaxOciLayers) + ")");
  }
  std::vector<PackFile> files;
  for (const crypto::ModelFile& f : tree.files) {
    MG_ASSIGN_OR_RETURN_CTX(std::string bytes, read_regular_file(dir / f.rel_path, kMaxPushFileBytes), f.name);
    MG_ASSIGN_OR_RETURN(std::string digest, client.push_blob(ref, bytes));
    files.push_back(PackFile{f.name, digest, bytes.size()});
  }
  const std::string config = "{}";
  MG_ASSIGN_OR_RETURN(std::string config_digest, client.push_blob(ref, config));
  Descriptor cfg;
  cfg.media_type = std::string(kModelConfigMediaType);
  cfg.digest = config_digest;
  cfg.size = config.size();
  return client.put_manifest(ref, kMediaTypeImageManifest, render_modelpack(cfg, files));
}

}  // namespace modelgate::oci
