// model_artifact.h: OpenSSF model signatures over ModelPack models in a registry, end to end:
// fetch a model's manifest (pinned by digest), compute its files-mode manifest from the raw layer
// digests, find Sigstore-bundle referrers and verify them with crypto's model_signing verifier
// (no blob of the model is pulled), sign from the layer digests and push the signature as a
// referrer, and push a model directory as a ModelPack artifact.
// Not policy and not Kubernetes: who may sign is the caller's VerifyMethod; admission decides.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "crypto/manifest.h"
#include "crypto/model_sign.h"
#include "crypto/model_verify.h"
#include "oci/client.h"
#include "oci/modelpack.h"
#include "oci/reference.h"

namespace modelgate::oci {

// ModelArtifact is a ModelPack model fetched by digest: `ref` is pinned, `pack` parsed from bytes
// that hash to ref.digest.
struct ModelArtifact {
  Reference ref;  // digest set (tag kept for messages)
  ModelPack pack;
};

// fetch_model resolves `ref` (a tag is resolved to the digest the registry serves now) and parses
// the manifest. Errors: the client's, with parse_modelpack's (context: the pinned reference).
[[nodiscard]] Result<ModelArtifact> fetch_model(Client& client, const Reference& ref);

// model_name_of is the name a signature's subject gets: the repository's last component.
std::string model_name_of(const Reference& ref);

// default_ignores are what `modelgate digest` and `sign` leave out of a directory model: the git
// defaults and model.sig (so an OCI model and its unpacked files have the same root digest).
std::vector<std::string> default_ignores();

// model_manifest is files_manifest(artifact.pack, model_name_of(ref), default_ignores()).
[[nodiscard]] Result<crypto::Manifest> model_manifest(const ModelArtifact& artifact);

struct OciVerifyOptions {
  crypto::ModelVerifyOptions verify;  // on_check / on_warning are used; hashing options are not
};

// VerifiedOciModel is a verified model and where its signature came from.
struct VerifiedOciModel {
  crypto::VerifiedModel model;
  std::string manifest_digest;   // the model manifest verified
  std::string signature_digest;  // the referrer manifest that carried the bundle
};

// verify_model_artifact finds the Sigstore-bundle referrers of `artifact` (each fetched by digest,
// its `subject` required to be the model manifest, its single layer ≤ limits::kMaxBundleBytes),
// and verifies each in turn with crypto::verify_model_listing against the raw layers' digests
// under the signature's recorded ignore paths (plus model.sig and the git defaults unless
// signed); the first that verifies wins. Errors: kNotFound "is not signed" (no referrer);
// kUnsupported (an archive layer, a shards-mode or blake2b signature: layer digests are per-file
// SHA-256); otherwise the last signature's error (kMismatch naming every file that differs, ...),
// prefixed with the referrer's digest. Thread-safe if `client` is.
[[nodiscard]] Result<VerifiedOciModel> verify_model_artifact(Client& client, const ModelArtifact& artifact,
                                                             const crypto::VerifyMethod& method,
                                                             const OciVerifyOptions& options);

// SignedOciModel is what sign_model_artifact pushed.
struct SignedOciModel {
  crypto::SignedModelBundle bundle;
  std::string signature_digest;  // the referrer manifest's digest
};

// sign_model_artifact signs model_manifest(artifact) (no blob pulled) with `signer`, recording
// default_ignores(), and pushes the bundle as a referrer (artifactType kSigstoreBundleArtifactType).
// Errors: model_manifest's, sign_manifest's, the client's.
[[nodiscard]] Result<SignedOciModel> sign_model_artifact(Client& client, const ModelArtifact& artifact,
                                                         const crypto::ModelSigner& signer);

// push_model_dir uploads every file of directory `dir` (walked as `modelgate digest` walks it:
// git paths and model.sig left out, no symlinks) as a raw layer with its filepath annotation, an
// empty config, and the ModelPack manifest under ref's tag (or by digest). Each file is read whole
// into memory (≤ 1 GiB: a demo and test helper, not a production pusher). Returns the manifest
// digest. Errors: walk errors, kLimit, the client's.
[[nodiscard]] Result<std::string> push_model_dir(Client& client, const std::filesystem::path& dir, const Reference& ref);

}  // namespace modelgate::oci
