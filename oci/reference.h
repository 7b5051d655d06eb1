// reference.h: OCI / Docker image references ("registry/repo[:tag][@sha256:hex]") parsed with the
// distribution grammar, Docker Hub's defaults applied ("ubuntu" is docker.io/library/ubuntu).
// Not resolution: nothing here talks to a registry or knows whether the name exists.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace modelgate::oci {

inline constexpr std::string_view kDockerHubDomain = "docker.io";
// kDockerHubEndpoint is where docker.io's API lives (the name users write is not a host).
inline constexpr std::string_view kDockerHubEndpoint = "registry-1.docker.io";

// Reference is a parsed reference. At least one of tag and digest is set (a bare name gets tag
// "latest"). Immutable data.
struct Reference {
  std::string registry;    // "ghcr.io", "localhost:5000", "[::1]:5000", "docker.io"
  std::string repository;  // "org/model" ("library/ubuntu" on Docker Hub)
  std::optional<std::string> tag;     // "v1"
  std::optional<std::string> digest;  // "sha256:<64 lowercase hex>"

  // endpoint is the host[:port] to connect to (docker.io's is kDockerHubEndpoint).
  std::string endpoint() const;
  // str renders the canonical form: registry/repository[:tag][@digest].
  std::string str() const;
  // pinned is the reference by digest only (tag dropped); precondition: digest is set.
  Reference pinned() const;
};

// parse_reference parses `text` (≤ limits::kMaxOciReferenceBytes): an optional domain (the first
// component holds '.' or ':' or is "localhost"; else docker.io, and a one-component Docker Hub
// name gets "library/"), path components `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*` (repository ≤ 255
// bytes), a tag `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`, a digest `sha256:` + 64 lowercase hex (other
// algorithms: kUnsupported). Errors: kMalformed (with what is wrong), kLimit, kUnsupported. Pure.
[[nodiscard]] Result<Reference> parse_reference(std::string_view text);

// is_sha256_digest is true for "sha256:" followed by exactly 64 lowercase hex digits.
bool is_sha256_digest(std::string_view s);

}  // namespace modelgate::oci
