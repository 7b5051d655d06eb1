// modelpack.h: CNCF ModelPack model manifests (an OCI image manifest with artifactType
// application/vnd.cncf.model.manifest.v1+json, one file per layer named by the
// org.cncf.model.filepath annotation) read strictly, and the OpenSSF model_signing files-mode
// manifest they stand for: a raw layer's digest is the SHA-256 of one model file, so a files-mode
// signature can be made or checked from the manifest alone (no blob pulled) and its root digest is
// the one hashing the unpacked files gives.
// Not archives: tar / compressed layers are recognised and refused here (their digest covers an
// archive, not a file); not fetching (client.h) and not signature verification (model_verify.h).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "crypto/manifest.h"
#include "oci/descriptor.h"

namespace modelgate::oci {

inline constexpr std::string_view kModelManifestArtifactType = "application/vnd.cncf.model.manifest.v1+json";
inline constexpr std::string_view kModelConfigMediaType = "application/vnd.cncf.model.config.v1+json";
inline constexpr std::string_view kFilepathAnnotation = "org.cncf.model.filepath";
// kModelWeightRaw is the layer media type `push` writes for every file (ModelPack defines
// weight/weight.config/doc/code/dataset variants; any "application/vnd.cncf.model.*.raw" is raw).
inline constexpr std::string_view kModelWeightRaw = "application/vnd.cncf.model.weight.v1.raw";
// kSigstoreBundleArtifactType is the artifactType of a signature referrer (and its layer's type).
inline constexpr std::string_view kSigstoreBundleArtifactType = "application/vnd.dev.sigstore.bundle.v0.3+json";

enum class LayerFormat {
  kRaw,      // the blob is the file's bytes: its digest is the file's SHA-256
  kArchive,  // .tar, .tar+gzip, .tar+zstd (or another packing): the digest is not a file's
};

// ModelLayer is one layer of a ModelPack manifest.
struct ModelLayer {
  std::size_t index = 0;   // position in the manifest's layers
  std::string filepath;    // the org.cncf.model.filepath annotation (a checked model-relative path)
  std::string digest;      // "sha256:<hex>"
  std::uint64_t size = 0;
  std::string media_type;
  LayerFormat format = LayerFormat::kRaw;
};

// ModelPack is a parsed ModelPack manifest. Unverified claims until checked against a signature.
struct ModelPack {
  std::string digest;  // the manifest's own digest (as fetched)
  Descriptor config;
  std::vector<ModelLayer> layers;  // manifest order
  std::map<std::string, std::string> annotations;
};

// parse_modelpack reads an image manifest (≤ limits::kMaxOciManifestBytes) that is a ModelPack
// model: schemaVersion 2; mediaType, when present, the OCI image manifest; artifactType
// kModelManifestArtifactType or (older writers) a config of kModelConfigMediaType; 1 to
// limits::kMaxOciLayers layers, each a sha256 descriptor with a filepath annotation that passes
// check_model_relative_path; no filepath twice, and none that is a directory of another.
// Errors (naming the layer by index and filepath): kMalformed, kUnsupported (not a ModelPack
// artifact, another digest algorithm), kLimit. Pure.
[[nodiscard]] Result<ModelPack> parse_modelpack(std::string_view manifest_json, std::string_view digest);

// layer_format classifies a layer media type: "*.raw" is kRaw, anything else kArchive.
LayerFormat layer_format(std::string_view media_type);

// files_manifest is the model_signing files-mode manifest the raw layers stand for: one sha256
// resource per layer (name = filepath, digest = the layer digest), canonical order, model_name
// `model_name`; layers at a path under one of `ignore_paths` (component prefix, as hash_model
// applies them) are left out and listed in `ignored` when given. Errors: kUnsupported naming the
// first archive layer ("layer 2 "w.tar" is application/vnd.cncf.model.weight.v1.tar: ..."), kMalformed
// for a bad digest. Pure.
[[nodiscard]] Result<crypto::Manifest> files_manifest(const ModelPack& pack, std::string_view model_name,
                                                      const std::vector<std::string>& ignore_paths,
                                                      std::vector<std::string>* ignored = nullptr);

// PackFile is one file to put in a ModelPack manifest (what `push` uploaded).
struct PackFile {
  std::string filepath;
  std::string digest;
  std::uint64_t size = 0;
};

// render_modelpack writes a ModelPack image manifest: artifactType kModelManifestArtifactType, the
// given config descriptor, one kModelWeightRaw layer per file in the order given. Pure.
std::string render_modelpack(const Descriptor& config, const std::vector<PackFile>& files);

// render_signature_manifest writes the image manifest that carries a Sigstore bundle as a
// referrer of `subject`: artifactType kSigstoreBundleArtifactType, the empty config, one layer
// (the bundle blob `bundle`). Pure.
std::string render_signature_manifest(const Descriptor& subject, const Descriptor& bundle);

}  // namespace modelgate::oci
