// docker_config.h: registry credentials from a Docker `config.json` (`auths[host].auth`, base64 of
// "user:password", or `username` + `password`; `identitytoken` is a refresh token for the bearer
// flow). Not credential helpers (`credsStore`/`credHelpers` run programs: refused, not followed)
// and not writing config files.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace modelgate::oci {

// Credential is what to present to one registry. Never logged or quoted in messages.
struct Credential {
  std::string username;
  std::string password;
  std::string identity_token;  // OAuth2 refresh token (Docker's "identitytoken"), may be empty
};

// Credentials maps a registry (host[:port], as it appears in a reference; "docker.io" for Docker
// Hub) to its credential. Immutable after parsing; thread-safe to read.
class Credentials {
 public:
  // find returns the credential for `registry`, or nullptr. Docker Hub's legacy key
  // "https://index.docker.io/v1/" and "https://host" / "host/v2/" spellings are normalised.
  const Credential* find(std::string_view registry) const;
  void add(std::string registry, Credential c);
  bool empty() const { return by_host_.empty(); }

 private:
  std::map<std::string, Credential, std::less<>> by_host_;
};

// parse_docker_config reads config.json text (≤ limits::kMaxOciDockerConfigBytes). Entries with no
// usable credential are skipped; `credsStore` / `credHelpers` are ignored (warned about by the
// CLI). Errors: kMalformed (not JSON, `auth` not base64 of "user:password", a field of the wrong
// type), kLimit. Pure.
[[nodiscard]] Result<Credentials> parse_docker_config(std::string_view json);

// load_docker_config reads `path`. Errors: kNotFound, kIo, and parse_docker_config's.
[[nodiscard]] Result<Credentials> load_docker_config(const std::filesystem::path& path);

// normalize_registry_key turns a config.json key into a registry name: the scheme and any path
// are dropped ("https://ghcr.io/v2/" → "ghcr.io"); Docker Hub's index names become "docker.io".
std::string normalize_registry_key(std::string_view key);

}  // namespace modelgate::oci
