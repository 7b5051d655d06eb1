// descriptor.h: OCI content descriptors (image-spec descriptor.md) and image indexes as JSON: the
// media types this client speaks, reading a descriptor or an index strictly (sha256 digests only,
// bounded counts), and writing an index (the referrers tag schema's).
// Not fetching and not verification: a descriptor is a claim until its content is fetched by digest.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "crypto/json.h"

namespace modelgate::oci {

inline constexpr std::string_view kMediaTypeImageManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kMediaTypeImageIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kMediaTypeDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kMediaTypeDockerList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kMediaTypeEmpty = "application/vnd.oci.empty.v1+json";
// kEmptyJsonDigest is the digest of "{}", the OCI empty descriptor's content.
inline constexpr std::string_view kEmptyJsonDigest =
    "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";// Descriptor is an OCI content descriptor as read from a manifest or index. Unverified data.
struct Descriptor {
  std::string media_type;
  std::string digest;  // "sha256:<64 lowercase hex>"
  std::uint64_t size = 0;
  std::string artifact_type;
  std::map<std::string, std::string> annotations;
};

// parse_descriptor reads the descriptor object `obj` found at JSON `path`: mediaType (string),
// digest (sha256 only: other algorithms kUnsupported), size (integer ≥ 0), optional artifactType
// and annotations (string → string). Errors: kMalformed, kUnsupported. Pure.
[[nodiscard]] Result<Descriptor> parse_descriptor(const crypto::Json& obj, std::string_view path);

// parse_index reads an image index (a referrers answer or a fallback tag) into its `manifests`
// (≤ limits::kMaxOciReferrers). Errors: kMalformed, kLimit, kUnsupported. Pure.
[[nodiscard]] Result<std::vector<Descriptor>> parse_index(std::string_view json, std::size_t max_bytes);

// descriptor_json renders `d` (artifactType and annotations only when set).
crypto::Json descriptor_json(const Descriptor& d);

// render_index writes an OCI image index (schemaVersion 2, mediaType, manifests).
std::string render_index(const std::vector<Descriptor>& manifests);

// sha256_digest returns "sha256:<hex>" of `bytes`.
std::string sha256_digest(std::string_view bytes);

}  // namespace modelgate::oci
