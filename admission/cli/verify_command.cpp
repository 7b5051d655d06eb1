// verify_command.cpp: `modelgate verify {key|certificate|sigstore} MODEL --signature SIG ...`:
// verify an OpenSSF model_signing signature over a model directory or file (model_verify.h).
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
#include "crypto/encoding.h"
#include "crypto/keys.h"
#include "crypto/model_signature.h"
#include "crypto/model_verify.h"
#include "crypto/trusted_root.h"
#include "crypto/x509.h"

namespace modelgate::cli {

namespace {

namespace fs = std::filesystem;
using namespace modelgate::crypto;

enum class Method { kKey, kCertificate, kSigstore };

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

int run_verify(const VerifyArgs& a) {
  std::optional<VerifyMethod> method;
  switch (a.method) {
    case Method::kKey: {
      auto key = load_public_key_file(a.public_key);
      if (!key.ok()) {
        return usage_error("--public-key " + key.error().message);
      }
      method.emplace(KeyMethod{std::move(key).value()});
      break;
    }
    case Method::kCertificate: {
      auto anchors = load_certificate_flags("--certificate-chain", a.certificate_chain);
      if (!anchors.ok()) {
        return usage_error(anchors.error().message);
      }
      method.emplace(CertificateMethod{std::move(anchors).value()});
      break;
    }
    case Method::kSigstore: {
      SigstoreMethod m;
      m.identity.identity = a.identity;
      m.identity.issuer = a.identity_provider;
      m.identity.identity_is_regex = a.identity_regex;
      if (!a.trusted_root.empty()) {
        auto root = load_trusted_root_file(a.trusted_root);
        if (!root.ok()) {
          return usage_error("--trusted-root " + root.error().message);
        }
        m.trusted_root = std::make_shared<const TrustedRoot>(std::move(root).value());
      }
      method.emplace(std::move(m));
      break;
    }
  }

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
  options.on_check = [](std::string_view line) {
    std::fprintf(stderr, "check: %.*s\n", static_cast<int>(line.size()), line.data());
  };
  options.on_warning = [](std::string_view line) {
    std::fprintf(stderr, "modelgate: warning: %.*s\n", static_cast<int>(line.size()), line.data());
  };

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
  const VerifiedModel& v = verified.value();
  std::printf("Verification succeeded\n");
  std::printf("  model: %s\n", quote_for_message(a.model).c_str());
  std::printf("  root digest: sha256:%s\n", to_hex(v.root_digest()).c_str());
  std::printf("  method: %s\n", v.method().c_str());
  std::printf("  signer: %s\n", quote_for_message(v.signer()).c_str());
  if (!v.issuer().empty()) {
    std::printf("  issuer: %s\n", quote_for_message(v.issuer()).c_str());
  }
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
}

}  // namespace modelgate::cli
