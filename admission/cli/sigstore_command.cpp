// sigstore_command.cpp: `modelgate sigstore verify-bundle [--staging] --bundle B
// (--certificate-identity I | --certificate-identity-regexp R) --certificate-oidc-issuer O | --key K
// [--trusted-root T] ARTIFACT_PATH | sha256:HEX`: offline verification of one Sigstore bundle, with
// the sigstore-conformance client protocol (exit 0 only when verified). No network, ever: the
// default trusted root is Sigstore's production root embedded in the binary.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>

#include "admission/cli/cli_common.h"
#include "admission/cli/commands.h"
#include "base/read_file.h"
#include "base/limits.h"
#include "crypto/bundle.h"
#include "crypto/bundle_verify.h"
#include "crypto/encoding.h"
#include "crypto/keys.h"
#include "crypto/trusted_root.h"

namespace modelgate::cli {
namespace {

namespace fs = std::filesystem;
using namespace modelgate::crypto;

struct VerifyBundleArgs {
  bool staging = false;
  std::string bundle;
  std::string identity;
  std::string identity_regexp;
  std::string issuer;
  std::string key;
  std::string trusted_root;
  std::string artifact;
};

int failed(const std::string& reason) {
  std::fprintf(stderr, "Verification failed: %s\n", reason.c_str());
  return kExitFailed;
}

// read_input reads a whole input file; a file that cannot be opened is a usage error (exit 2).
std::optional<std::string> read_input(const std::string& path, std::size_t max_bytes, std::string* error) {
  auto r = read_regular_file(path, max_bytes);
  if (!r.ok()) {
    *error = path + ": " + r.error().message;
    return std::nullopt;
  }
  return std::move(r).value();
}

// as_digest recognises `sha256:<64 hex>` that is not an existing path (conformance protocol).
std::optional<Sha256Digest> as_digest(const std::string& arg) {
  constexpr std::string_view kPrefix = "sha256:";
  std::error_code ec;
  if (arg.rfind(kPrefix, 0) != 0 || arg.size() != kPrefix.size() + 64 || fs::exists(arg, ec)) {
    return std::nullopt;
  }
  auto bytes = from_hex(std::string_view(arg).substr(kPrefix.size()));
  if (!bytes.ok()) {
    return std::nullopt;
  }
  Sha256Digest d{};
  std::copy(bytes->begin(), bytes->end(), d.begin());
  return d;
}

int run_verify_bundle(const VerifyBundleArgs& a) {
  const bool keyless = !a.identity.empty() || !a.identity_regexp.empty() || !a.issuer.empty();
  if (keyless == !a.key.empty()) {
    return usage_error("give either --certificate-identity and --certificate-oidc-issuer, or --key");
  }
  if (keyless && (a.issuer.empty() || a.identity.empty() == a.identity_regexp.empty())) {
    return usage_error(
        "keyless verification needs --certificate-oidc-issuer and exactly one of "
        "--certificate-identity, --certificate-identity-regexp");
  }
  if (a.staging && a.trusted_root.empty()) {
    return usage_error("--staging needs --trusted-root with the staging trusted_root.json (no network access)");
  }
  std::string err;
  auto bundle_text = read_input(a.bundle, limits::kMaxBundleBytes, &err);
  if (!bundle_text) {
    return usage_error(err);
  }
  ArtifactRef artifact;
  if (auto d = as_digest(a.artifact)) {
    artifact.sha256 = *d;
  } else {
    auto bytes = read_input(a.artifact, SIZE_MAX, &err);
    if (!bytes) {
      return usage_error(err);
    }
    artifact.bytes = std::vector<std::uint8_t>(bytes->begin(), bytes->end());
  }
  std::optional<TrustedRoot> custom_root;
  if (!a.trusted_root.empty()) {
    auto root = load_trusted_root_file(a.trusted_root);
    if (!root.ok()) {
      if (root.error().code == Code::kNotFound || root.error().code == Code::kIo) {
        return usage_error(root.error().message);
      }
      return failed("trusted root: " + root.error().message);
    }
    custom_root = std::move(root).value();
  }
  const TrustedRoot& root = custom_root ? *custom_root : default_trusted_root();

  auto bundle = parse_bundle(*bundle_text);
  if (!bundle.ok()) {
    return failed(bundle.error().message);
  }
  Result<VerifiedBundle> verified = make_error(Code::kInternal, "not run");
  if (keyless) {
    IdentityPolicy policy;
    policy.issuer = a.issuer;
    policy.identity = a.identity.empty() ? a.identity_regexp : a.identity;
    policy.identity_is_regex = !a.identity_regexp.empty();
    verified = verify_bundle_keyless(*bundle, root, policy, artifact);
  } else {
    auto key = load_public_key_file(a.key);
    if (!key.ok()) {
      if (key.error().code == Code::kNotFound || key.error().code == Code::kIo) {
        return usage_error(key.error().message);
      }
      return failed("key: " + key.error().message);
    }
    verified = verify_bundle_with_key(*bundle, root, *key, artifact);
  }
  if (!verified.ok()) {
    if (verified.error().code == Code::kInternal) {
      std::fprintf(stderr, "modelgate: internal error: %s\n", verified.error().message.c_str());
      return kExitInternal;
    }
    return failed(verified.error().message);
  }
  for (const auto& check : verified->checks()) {
    std::fprintf(stderr, "  ok: %s\n", check.c_str());
  }
  std::printf("OK: %s\n", a.bundle.c_str());
  return kExitOk;
}

}  // namespace

void register_sigstore(CLI::App& app, Runner& run) {
  CLI::App* sigstore = app.add_subcommand("sigstore", "Sigstore bundle operations (offline)");
  sigstore->require_subcommand(1);
  auto args = std::make_shared<VerifyBundleArgs>();
  CLI::App* vb = sigstore->add_subcommand("verify-bundle", "verify a Sigstore bundle for an artifact or digest");
  vb->add_flag("--staging", args->staging, "refer to Sigstore staging (needs --trusted-root; no network)");
  vb->add_option("--bundle", args->bundle, "the Sigstore bundle (JSON)")->required();
  vb->add_option("--certificate-identity", args->identity, "expected SAN of the signing certificate (exact)");
  vb->add_option("--certificate-identity-regexp", args->identity_regexp,
                 "expected SAN as an RE2 regular expression (full match)");
  vb->add_option("--certificate-oidc-issuer", args->issuer, "expected OIDC issuer (exact)");
  vb->add_option("--key", args->key, "PEM or DER public key for bundles signed with a managed key");
  vb->add_option("--trusted-root", args->trusted_root,
                 "trusted_root.json (default: Sigstore production root built into modelgate)");
  vb->add_option("FILE_OR_DIGEST", args->artifact, "the artifact, or sha256:<hex> of it")->required();
  vb->callback([args, &run] { run = [args] { return run_verify_bundle(*args); }; });
}

}  // namespace modelgate::cli
