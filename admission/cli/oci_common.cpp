#include "admission/cli/oci_common.h"

#include <CLI/CLI.hpp>

#include <cstdlib>
#include <filesystem>

#include "admission/cli/cli_common.h"
#include "admission/cli/commands.h"
#include "oci/docker_config.h"

namespace modelgate::cli {

namespace fs = std::filesystem;

void add_registry_flags(CLI::App* sub, RegistryFlags& flags) {
  sub->add_option("--registry-config", flags.config,
                  "Docker config.json with registry credentials (default: $DOCKER_CONFIG/config.json or "
                  "~/.docker/config.json when present)");
  sub->add_option("--registry-ca", flags.ca, "PEM CA bundle to trust for registries instead of the system store");
  sub->add_option("--registry-timeout", flags.timeout_seconds, "seconds per registry call (default 30)");
}

Result<std::unique_ptr<oci::Client>> make_registry_client(const RegistryFlags& flags) {
  oci::ClientOptions o;
  fs::path config = flags.config;
  if (config.empty()) {
    const char* dc = std::getenv("DOCKER_CONFIG");
    const char* home = std::getenv("HOME");
    fs::path guess = dc != nullptr ? fs::path(dc) / "config.json" : home != nullptr ? fs::path(home) / ".docker/config.json" : fs::path();
    std::error_code ec;
    if (!guess.empty() && fs::exists(guess, ec)) {
      config = guess;
    }
  }
  if (!config.empty()) {
    MG_ASSIGN_OR_RETURN_CTX(o.credentials, oci::load_docker_config(config), "--registry-config");
  }
  o.ca_file = flags.ca;
  if (!(flags.timeout_seconds > 0) || flags.timeout_seconds > 3600) {
    return make_error(Code::kMalformed, "--registry-timeout: expected seconds in (0, 3600]");
  }
  o.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(flags.timeout_seconds * 1000));
  Result<std::unique_ptr<oci::Client>> c = oci::Client::create(std::move(o));
  if (!c.ok()) {
    return std::move(c).error().context("--registry-ca");
  }
  return c;
}

Result<oci::Reference> parse_ref_arg(const std::string& ref) {
  std::string_view r = ref;
  if (r.substr(0, 6) == "oci://") {
    r.remove_prefix(6);
  }
  MG_ASSIGN_OR_RETURN_CTX(oci::Reference out, oci::parse_reference(r), "REF " + std::string(r.substr(0, 120)));
  return out;
}

std::optional<RegistrySession> open_registry(const std::string& ref, const RegistryFlags& flags) {
  Result<oci::Reference> r = parse_ref_arg(ref);
  if (!r.ok()) {
    usage_error(r.error().message);
    return std::nullopt;
  }
  Result<std::unique_ptr<oci::Client>> client = make_registry_client(flags);
  if (!client.ok()) {
    usage_error(client.error().message);
    return std::nullopt;
  }
  return RegistrySession{std::move(r).value(), std::move(client).value()};
}

int registry_exit_code(const Error& e) {
  switch (e.code) {
    case Code::kNotFound:
    case Code::kIo:
    case Code::kDeadline:
    case Code::kUntrusted:  // auth refused
      return kExitUsage;
    case Code::kInternal:
      return kExitInternal;
    default:
      return kExitFailed;
  }
}

}  // namespace modelgate::cli
