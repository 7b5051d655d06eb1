#include "oci/modelpack.h"

#include <algorithm>
#include <set>

#include "base/limits.h"
#include "crypto/encoding.h"
#include "crypto/json.h"
#include "crypto/model_signature.h"

namespace modelgate::oci {

namespace {

std::string layer_label(std::size_t i, std::string_view path) {
  return "layer " + std::to_string(i) + (path.empty() ? "" : " " + crypto::quote_for_message(path));
}

// covers: `ignore` equals `name` or is a directory prefix of it (hash_model's rule).
bool covers(std::string_view ignore, std::string_view name) {
  return name == ignore || (name.size() > ignore.size() && name.substr(0, ignore.size()) == ignore && name[ignore.size()] == '/');
}

}  // namespace

LayerFormat layer_format(std::string_view media_type) {
  constexpr std::string_view kRaw = ".raw";
  return media_type.size() >= kRaw.size() && media_type.substr(media_type.size() - kRaw.size()) == kRaw ? LayerFormat::kRaw
                                                                                                          : LayerFormat::kArchive;
}

Result<ModelPack> parse_modelpack(std::string_view manifest_json, std::string_view digest) {
  MG_ASSIGN_OR_RETURN_CTX(crypto::Json doc, crypto::parse_json(manifest_json, {limits::kMaxOciManifestBytes, 32}),
                          "manifest");
  if (!doc.is_object()) {
    return make_error(Code::kMalformed, "manifest: not a JSON object");
  }
  const crypto::Json* sv = crypto::find_field(doc, "schemaVersion");
  if (sv == nullptr || !sv->is_number_integer() || sv->get<std::int64_t>() != 2) {
    return make_error(Code::kMalformed, "manifest: schemaVersion is not 2");
  }
  if (const crypto::Json* mt = crypto::find_field(doc, "mediaType"); mt != nullptr) {
    if (!mt->is_string() || mt->get<std::string>() != kMediaTypeImageManifest) {
      return make_error(Code::kUnsupported, "manifest: not an OCI image manifest (mediaType " +
                                                crypto::quote_for_message(mt->is_string() ? mt->get<std::string>() : "?") + ")");
    }
  }
  ModelPack pack;
  pack.digest = std::string(digest);
  MG_ASSIGN_OR_RETURN(const crypto::Json* config, crypto::get_object(doc, "config", "manifest"));
  MG_ASSIGN_OR_RETURN(pack.config, parse_descriptor(*config, "manifest.config"));
  std::string artifact_type;
  if (crypto::find_field(doc, "artifactType") != nullptr) {
    MG_ASSIGN_OR_RETURN(artifact_type, crypto::get_string(doc, "artifactType", "manifest"));
  }
  if (artifact_type != kModelManifestArtifactType && pack.config.media_type != kModelConfigMediaType) {
    return make_error(Code::kUnsupported, "manifest: not a ModelPack model (artifactType " +
                                              crypto::quote_for_message(artifact_type) + ", config " +
                                              crypto::quote_for_message(pack.config.media_type) + ")");
  }
  if (const crypto::Json* ann = crypto::find_field(doc, "annotations"); ann != nullptr && ann->is_object()) {
    for (const auto& [k, v] : ann->items()) {
      if (v.is_string()) {
        pack.annotations[k] = v.get<std::string>();
      }
    }
  }
  MG_ASSIGN_OR_RETURN(const crypto::Json* layers, crypto::get_array(doc, "layers", "manifest"));
  if (layers->empty()) {
    return make_error(Code::kMalformed, "manifest: no layers (a model with no files)");
  }
  if (layers->size() > limits::kMaxOciLayers) {
    return make_error(Code::kLimit, "manifest: too many layers (" + std::to_string(layers->size()) + " > " +
                                        std::to_string(limits::kMaxOciLayers) + ")");
  }
  std::set<std::string, std::less<>> paths;
  for (std::size_t i = 0; i < layers->size(); ++i) {
    MG_ASSIGN_OR_RETURN(Descriptor d, parse_descriptor((*layers)[i], "manifest.layers[" + std::to_string(i) + "]"));
    auto fp = d.annotations.find(std::string(kFilepathAnnotation));
    if (fp == d.annotations.end() || fp->second.empty()) {
      return make_error(Code::kMalformed, "manifest: " + layer_label(i, "") + " has no " + std::string(kFilepathAnnotation) +
                                              " annotation");
    }
    MG_TRY_CTX(crypto::check_model_relative_path(fp->second), "manifest: " + layer_label(i, fp->second) + ": filepath");
    if (!paths.insert(fp->second).second) {
      return make_error(Code::kMalformed, "manifest: " + layer_label(i, fp->second) + ": filepath appears twice");
    }
    ModelLayer l;
    l.index = i;
    l.filepath = fp->second;
    l.digest = d.digest;
    l.size = d.size;
    l.media_type = d.media_type;
    l.format = layer_format(d.media_type);
    pack.layers.push_back(std::move(l));
  }
  // A path that is another's directory ("a" and "a/b") cannot both be files once unpacked.
  for (auto it = paths.begin(); it != paths.end(); ++it) {
    auto next = std::next(it);
    if (next != paths.end() && covers(*it, *next)) {
      return make_error(Code::kMalformed, "manifest: filepath " + crypto::quote_for_message(*it) +
                                              " is both a file and the directory of " + crypto::quote_for_message(*next));
    }
  }
  return pack;
}

Result<crypto::Manifest> files_manifest(const ModelPack& pack, std::string_view model_name,
                                        const std::vector<std::string>& ignore_paths, std::vector<std::string>* ignored) {
  crypto::Manifest m;
  m.config.method = crypto::SerializationMethod::kFiles;
  m.config.hash_type = crypto::HashType::kSha256;
  m.config.ignore_paths = ignore_paths;
  m.model_name = std::string(model_name);
  for (const ModelLayer& l : pack.layers) {
    const bool skip = std::any_of(ignore_paths.begin(), ignore_paths.end(),
                                  [&](const std::string& ig) { return covers(ig, l.filepath); });
    if (skip) {
      if (ignored != nullptr) {
        ignored->push_back(l.filepath);
      }
      continue;
    }
    if (l.format != LayerFormat::kRaw) {
      return make_error(Code::kUnsupported, layer_label(l.index, l.filepath) + " is " + crypto::quote_for_message(l.media_type) +
                                                ": its digest covers an archive, not the file; only raw layers verify "
                                                "without pulling blobs (unpacking is not supported yet)");
    }
    MG_ASSIGN_OR_RETURN_CTX(std::vector<std::uint8_t> raw, crypto::from_hex(l.digest.substr(7)), layer_label(l.index, l.filepath));
    m.resources.push_back(crypto::Resource{l.filepath, "sha256", std::move(raw)});
    m.total_bytes += l.size;
  }
  std::sort(m.resources.begin(), m.resources.end(),
            [](const crypto::Resource& a, const crypto::Resource& b) { return crypto::canonical_less(a, b, crypto::SerializationMethod::kFiles); });
  return m;
}

std::string render_modelpack(const Descriptor& config, const std::vector<PackFile>& files) {
  crypto::Json j = crypto::Json::object();
  j["schemaVersion"] = 2;
  j["mediaType"] = kMediaTypeImageManifest;
  j["artifactType"] = kModelManifestArtifactType;
  j["config"] = descriptor_json(config);
  j["layers"] = crypto::Json::array();
  for (const PackFile& f : files) {
    Descriptor d;
    d.media_type = std::string(kModelWeightRaw);
    d.digest = f.digest;
    d.size = f.size;
    d.annotations[std::string(kFilepathAnnotation)] = f.filepath;
    j["layers"].push_back(descriptor_json(d));
  }
  return j.dump();
}

std::string render_signature_manifest(const Descriptor& subject, const Descriptor& bundle) {
  crypto::Json j = crypto::Json::object();
  j["schemaVersion"] = 2;
  j["mediaType"] = kMediaTypeImageManifest;
  j["artifactType"] = kSigstoreBundleArtifactType;
  Descriptor empty;
  empty.media_type = std::string(kMediaTypeEmpty);
  empty.digest = std::string(kEmptyJsonDigest);
  empty.size = 2;
  j["config"] = descriptor_json(empty);
  j["layers"] = crypto::Json::array({descriptor_json(bundle)});
  Descriptor s = subject;
  s.annotations.clear();
  s.artifact_type.clear();
  j["subject"] = descriptor_json(s);
  return j.dump();
}

}  // namespace modelgate::oci
