// oci_common.h: what the `... oci` verbs share: the registry flags (--registry-config for a Docker
// config.json, --registry-ca, --registry-timeout), building a registry client from them, parsing
// the REF argument, and mapping registry errors to exit codes.
// Not a verb itself (digest/sign/verify/push register their `oci` subcommands).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "base/result.h"
#include "oci/client.h"
#include "oci/reference.h"

namespace CLI {
class App;
}

namespace modelgate::cli {

struct RegistryFlags {
  std::string config;  // Docker config.json; default $DOCKER_CONFIG/config.json or ~/.docker/config.json
  std::string ca;      // PEM CA bundle replacing the system store
  double timeout_seconds = 30;
};

// add_registry_flags adds --registry-config, --registry-ca and --registry-timeout to `sub`.
void add_registry_flags(CLI::App* sub, RegistryFlags& flags);

// make_registry_client builds a client from the flags; the default config.json is read only when
// it exists. Errors: the config's or CA's (kNotFound/kIo/kMalformed), a timeout <= 0 (kMalformed).
[[nodiscard]] Result<std::unique_ptr<oci::Client>> make_registry_client(const RegistryFlags& flags);

// parse_ref_arg parses REF, with "oci://" accepted and dropped (KServe's spelling).
[[nodiscard]] Result<oci::Reference> parse_ref_arg(const std::string& ref);

// RegistrySession is a parsed REF and a client for it.
struct RegistrySession {
  oci::Reference ref;
  std::unique_ptr<oci::Client> client;
};

// open_registry parses REF and builds the client from the flags; on failure it prints the usage
// error and returns nullopt (exit kExitUsage).
std::optional<RegistrySession> open_registry(const std::string& ref, const RegistryFlags& flags);

// registry_exit_code is for errors fetching or pushing: a registry we cannot reach, find the
// reference in or log in to is exit 2 (like a file that cannot be opened); kInternal 3; anything
// else (a manifest that is not a ModelPack model, content that does not match its digest) is 1.
int registry_exit_code(const Error& e);

}  // namespace modelgate::cli
