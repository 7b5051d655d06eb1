// verify_command.cpp: `modelgate verify {key|certificate|sigstore} MODEL --signature SIG ...`:
// verify an OpenSSF model_signing signature over a model directory or file (model_verify.h);
// `modelgate verify oci REF ...` over a ModelPack model in a registry (oci/model_artifact.h).
// stdout: "Verification succeeded" or "Verification failed: <reason>"; stderr: checks performed.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "admission/cli/cli_common.h"
#include "admission/cli/commands.h"
#include "admission/cli/oci_common.h"
#include "crypto/encoding.h"
#include "crypto/keys.h"
#include "crypto/model_signature.h"
#include "crypto/model_verify.h"
#include "crypto/trusted_root.h"
#include "crypto/x509.h"
#include "oci/model_artifact.h"

namespace modelgate::cli {

namespace {

namespace fs = std::filesystem;
using namespace modelgate::crypto;

enum class Method { kKey, kCertificate, kSigstore, kOci };

struct VerifyArgs {
  Method method = Method::kKey;
  std::string model;
  std::string signature;
  std::vector<std::string> ignore_paths;
  bool ignore_git_paths = true;
  bool allow_symlinks = false;
  bool ignore_unsigned_files = false;
  // key
  std::string public_key;
  // certificate
  std::vector<std::string> certificate_chain;
  bool allow_unsafe_expired_certificate = false;
  // sigstore
  std::string identity;
  std::string identity_provider;
  bool identity_regex = false;
  std::string trusted_root;
  std::size_t threads = 0;
  // oci: REF, and the registry flags
  std::string ref;
  RegistryFlags registry;
};

// exit_code_for maps an error to STYLE.md §9's exit codes: files we cannot open are usage
// problems (2), our own bugs are 3, everything else is a verification result (1).
int exit_code_for(const Error& e) {
  switch (e.code) {
    case Code::kNotFound:
    case Code::kIo:
      return kExitUsage;
    case Code::kInternal:
      return kExitInternal;
    default:
      return kExitFailed;
  }
}

// build_method loads the key, the anchors or the Sigstore identity for `method`. Errors are
// usage errors (a file that cannot be read), messages naming the flag.
Result<VerifyMethod> build_method(Method method, const VerifyArgs& a) {
  switch (method) {
    case Method::kKey: {
      auto key = load_public_key_file(a.public_key);
      if (!key.ok()) {
        return make_error(Code::kMalformed, "--public-key " + key.error().message);
      }
      return VerifyMethod(KeyMethod{std::move(key).value()});
    }
    case Method::kCertificate: {
      auto anchors = load_certificate_flags("--certificate-chain", a.certificate_chain);
      if (!anchors.ok()) {
        return make_error(Code::kMalformed, anchors.error().message);
      }
      return VerifyMethod(CertificateMethod{std::move(anchors).value()});
    }
    case Method::kSigstore: {
      SigstoreMethod m;
      m.identity.identity = a.identity;
      m.identity.issuer = a.identity_provider;
      m.identity.identity_is_regex = a.identity_regex;
      if (!a.trusted_root.empty()) {
        auto root = load_trusted_root_file(a.trusted_root);
        if (!root.ok()) {
          return make_error(Code::kMalformed, "--trusted-root " + root.error().message);
        }
        m.trusted_root = std::make_shared<const TrustedRoot>(std::move(root).value());
      }
      return VerifyMethod(std::move(m));
    }
    case Method::kOci:
      break;
  }
  return make_error(Code::kInternal, "no verification method");
}

// print_verified writes the success report every verify verb prints.
void print_verified(const std::string& what, const VerifiedModel& v) {
  std::printf("Verification succeeded\n");
  std::printf("  model: %s\n", what.c_str());
  std::printf("  root digest: sha256:%s\n", to_hex(v.root_digest()).c_str());
  std::printf("  method: %s\n", v.method().c_str());
  std::printf("  signer: %s\n", quote_for_message(v.signer()).c_str());
  if (!v.issuer().empty()) {
    std::printf("  issuer: %s\n", quote_for_message(v.issuer()).c_str());
  }
}

void print_check(std::string_view line) { std::fprintf(stderr, "check: %.*s\n", static_cast<int>(line.size()), line.data()); }
void print_warning(std::string_view line) {
  std::fprintf(stderr, "modelgate: warning: %.*s\n", static_cast<int>(line.size()), line.data());
}

// run_verify_oci verifies a ModelPack model in a registry against its signature referrers: the
// method is the one whose flags were given (exactly one of --public-key, --certificate-chain,
// --identity).
int run_verify_oci(const VerifyArgs& a) {
  const int given = (a.public_key.empty() ? 0 : 1) + (a.certificate_chain.empty() ? 0 : 1) + (a.identity.empty() ? 0 : 1);
  if (given != 1) {
    return usage_error("verify oci: give exactly one of --public-key, --certificate-chain, or --identity with "
                       "--identity-provider");
  }
  if (!a.identity.empty() && a.identity_provider.empty()) {
    return usage_error("verify oci: --identity needs --identity-provider");
  }
  const Method m = !a.public_key.empty() ? Method::kKey : !a.certificate_chain.empty() ? Method::kCertificate : Method::kSigstore;
  Result<VerifyMethod> method = build_method(m, a);
  if (!method.ok()) {
    return usage_error(method.error().message);
  }
  std::optional<RegistrySession> session = open_registry(a.ref, a.registry);
  if (!session) {
    return kExitUsage;
  }
  const oci::Reference& ref = session->ref;
  oci::Client& client = *session->client;
  Result<oci::ModelArtifact> artifact = oci::fetch_model(client, ref);
  if (!artifact.ok()) {
    const int code = registry_exit_code(artifact.error());
    if (code == kExitFailed) {
      std::printf("Verification failed: %s\n", artifact.error().message.c_str());
      return code;
    }
    print_error(artifact.error().message);
    return code;
  }
  print_check("registry: " + ref.str() + " is " + *artifact->ref.digest + " (" + std::to_string(artifact->pack.layers.size()) +
              " layers)");
  oci::OciVerifyOptions options;
  for (const std::string& p : a.ignore_paths) {
    auto c = check_model_relative_path(p);
    if (!c.ok()) {
      return usage_error("--ignore-paths " + quote_for_message(p) + ": " + c.error().message);
    }
    options.verify.ignore_paths.push_back(p);
  }
  options.verify.ignore_git_paths = a.ignore_git_paths;
  options.verify.allow_unsafe_expired_certificate = a.allow_unsafe_expired_certificate;
  options.verify.on_check = print_check;
  options.verify.on_warning = print_warning;
  Result<oci::VerifiedOciModel> v = oci::verify_model_artifact(client, *artifact, *method, options);
  if (!v.ok()) {
    const Error& e = v.error();
    if (e.code == Code::kIo || e.code == Code::kDeadline) {
      print_error(e.message);
      return kExitUsage;
    }
    if (e.code == Code::kInternal) {
      std::fprintf(stderr, "modelgate: internal error: %s\n", e.message.c_str());
      return kExitInternal;
    }
    std::printf("Verification failed: %s\n", e.message.c_str());
    return kExitFailed;
  }
  print_verified(artifact->ref.pinned().str(), v->model);
  std::printf("  signature: %s\n", v->signature_digest.c_str());
  return kExitOk;
}

int run_verify(const VerifyArgs& a) {
  if (a.method == Method::kOci) {
    return run_verify_oci(a);
  }
  Result<VerifyMethod> built = build_method(a.method, a);
  if (!built.ok()) {
    return usage_error(built.error().message);
  }
  std::optional<VerifyMethod> method(std::move(built).value());

  std::error_code ec;
  fs::path cwd = fs::current_path(ec);
  ModelVerifyOptions options;
  bool directory = fs::is_directory(a.model, ec);
  for (const std::string& p : a.ignore_paths) {
    if (!directory) {
      break;  // a single-file model has nothing to ignore
    }
    auto r = resolve_ignore_path(a.model, cwd, p);
    if (!r.ok()) {
      return usage_error("--ignore-paths: " + r.error().message);
    }
    if (!r.value()) {
      std::fprintf(stderr, "modelgate: warning: --ignore-paths %s lies outside the model; not used\n",
                   quote_for_message(p).c_str());
      continue;
    }
    options.ignore_paths.push_back(*r.value());
  }
  options.ignore_git_paths = a.ignore_git_paths;
  options.ignore_unsigned_files = a.ignore_unsigned_files;
  options.allow_symlinks = a.allow_symlinks;
  options.allow_unsafe_expired_certificate = a.allow_unsafe_expired_certificate;
  options.hash.threads = a.threads;
  options.on_check = print_check;
  options.on_warning = print_warning;

  auto verified = verify_model(a.model, a.signature, *method, options);
  if (!verified.ok()) {
    const Error& e = verified.error();
    int code = exit_code_for(e);
    if (code == kExitUsage) {
      return usage_error(e.message);
    }
    if (code == kExitInternal) {
      std::fprintf(stderr, "modelgate: internal error: %s\n", e.message.c_str());
      return code;
    }
    std::printf("Verification failed: %s\n", e.message.c_str());
    return kExitFailed;
  }
  print_verified(quote_for_message(a.model), verified.value());
  return kExitOk;
}

// add_common adds [--ignore-paths P]... [--no-ignore-git-paths] [--allow-symlinks]
// [--ignore-unsigned-files], with upstream ≤ 1.1.1's underscore spellings as aliases.
void add_common(CLI::App* sub, VerifyArgs& a) {
  sub->add_option("model", a.model, "model directory or file")->required();
  sub->add_option("--signature", a.signature, "the model.sig to verify")->required();
  add_model_selection_flags(sub, a.ignore_paths, a.ignore_git_paths, a.allow_symlinks,
                            "follow symlinks to files (only when the signature also allows them)");
  sub->add_flag("--ignore-unsigned-files,--ignore_unsigned_files", a.ignore_unsigned_files,
                "tolerate files that are not in the signature (signed files must still match)");
  sub->add_option("--threads", a.threads, "hashing threads (0 = all cores)");
}

}  // namespace

void register_verify(CLI::App& app, Runner& run) {
  auto args = std::make_shared<VerifyArgs>();
  CLI::App* verify = app.add_subcommand("verify", "verify a model against its OpenSSF model_signing signature");
  verify->require_subcommand(1);

  CLI::App* key = verify->add_subcommand("key", "the model was signed with a private key");
  add_common(key, *args);
  key->add_option("--public-key,--public_key", args->public_key, "PEM public key of the signer")->required();
  key->callback([args, &run] {
    args->method = Method::kKey;
    run = [args] { return run_verify(*args); };
  });

  CLI::App* cert = verify->add_subcommand("certificate", "the model was signed with a certificate");
  add_common(cert, *args);
  cert->add_option("--certificate-chain,--certificate_chain", args->certificate_chain,
                   "PEM file of trusted root certificates (repeatable)")
      ->expected(1)
      ->allow_extra_args(false)
      ->required();
  cert->add_flag("--allow-unsafe-expired-certificate", args->allow_unsafe_expired_certificate,
                 "validate the chain at the certificate's notBefore, not now (accepts expired certificates)");
  cert->callback([args, &run] {
    args->method = Method::kCertificate;
    run = [args] { return run_verify(*args); };
  });

  CLI::App* sig = verify->add_subcommand("sigstore", "the model was signed with Sigstore (keyless)");
  add_common(sig, *args);
  sig->add_option("--identity", args->identity, "signer identity (certificate SAN) to require")->required();
  sig->add_option("--identity-provider,--identity_provider", args->identity_provider,
                  "OIDC issuer URL to require")
      ->required();
  sig->add_flag("--identity-regex", args->identity_regex, "--identity is an RE2 regular expression (full match)");
  sig->add_option("--trusted-root,--trusted_root", args->trusted_root,
                  "trusted_root.json (default: the embedded Sigstore production root)");
  sig->callback([args, &run] {
    args->method = Method::kSigstore;
    run = [args] { return run_verify(*args); };
  });

  CLI::App* oci = verify->add_subcommand("oci", "verify a ModelPack model in a registry against its signature referrers "
                                                "(from layer digests: no blob pulled)");
  oci->add_option("ref", args->ref, "registry/repository[:tag][@sha256:...]")->required();
  oci->add_option("--public-key,--public_key", args->public_key, "PEM public key of the signer (key method)");
  oci->add_option("--certificate-chain,--certificate_chain", args->certificate_chain,
                  "PEM file of trusted root certificates (certificate method; repeatable)")
      ->expected(1)
      ->allow_extra_args(false);
  oci->add_flag("--allow-unsafe-expired-certificate", args->allow_unsafe_expired_certificate,
                "validate the chain at the certificate's notBefore, not now (accepts expired certificates)");
  oci->add_option("--identity", args->identity, "signer identity (Sigstore method)");
  oci->add_option("--identity-provider,--identity_provider", args->identity_provider, "OIDC issuer URL to require");
  oci->add_flag("--identity-regex", args->identity_regex, "--identity is an RE2 regular expression (full match)");
  oci->add_option("--trusted-root,--trusted_root", args->trusted_root,
                  "trusted_root.json (default: the embedded Sigstore production root)");
  oci->add_option("--ignore-paths,--ignore_paths", args->ignore_paths, "model-relative path to ignore (repeatable)")
      ->expected(1)
      ->allow_extra_args(false);
  oci->add_flag("--ignore-git-paths,!--no-ignore-git-paths", args->ignore_git_paths,
                "leave layers at .git, .gitattributes, .github, .gitignore out (default; --no-... checks them)");
  add_registry_flags(oci, args->registry);
  oci->callback([args, &run] {
    args->method = Method::kOci;
    run = [args] { return run_verify(*args); };
  });
}

}  // namespace modelgate::cli
