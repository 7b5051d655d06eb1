// sign_command.cpp: `modelgate sign {key|certificate} MODEL --private-key K.pem ...`: write an
// OpenSSF model_signing signature (Sigstore bundle v0.3) that upstream's verifier accepts
// (model_sign.h); `modelgate sign oci REF ...` signs a ModelPack model in a registry from its layer
// digests and pushes the signature as a referrer. stdout: where the signature went and the root digest.
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "admission/cli/cli_common.h"
#include "admission/cli/commands.h"
#include "admission/cli/oci_common.h"
#include "crypto/encoding.h"
#include "crypto/keys.h"
#include "crypto/model_sign.h"
#include "crypto/model_signature.h"
#include "crypto/x509.h"
#include "oci/model_artifact.h"

namespace modelgate::cli {

namespace {

namespace fs = std::filesystem;
using namespace modelgate::crypto;

struct SignArgs {
  bool certificate = false;
  std::string model;
  std::string signature;
  std::string store;
  std::string private_key;
  std::optional<std::string> password;
  std::string signing_certificate;
  std::vector<std::string> certificate_chain;
  std::vector<std::string> ignore_paths;
  bool ignore_git_paths = true;
  bool allow_symlinks = false;
  std::uint64_t shard_size = 0;  // 0 = files mode
  std::string hash = "sha256";
  std::size_t threads = 0;
  // oci: REF, and the registry flags
  bool oci = false;
  std::string ref;
  RegistryFlags registry;
};

// build_signer loads the key (and certificates): nullopt after printing a usage error, whose exit
// code is left in `exit_code`.
std::optional<ModelSigner> build_signer(const SignArgs& a, int* exit_code) {
  *exit_code = kExitUsage;
  auto key = load_private_key_file(a.private_key, a.password);
  if (!key.ok()) {
    usage_error("--private-key " + key.error().message);
    return std::nullopt;
  }
  std::optional<ModelSigner> signer;
  if (a.certificate) {
    auto leaf = load_certificates_file(a.signing_certificate);
    if (!leaf.ok()) {
      usage_error("--signing-certificate " + leaf.error().message);
      return std::nullopt;
    }
    if (leaf.value().size() != 1) {
      usage_error("--signing-certificate " + a.signing_certificate + ": expected exactly one certificate");
      return std::nullopt;
    }
    auto chain = load_certificate_flags("--certificate-chain", a.certificate_chain);
    if (!chain.ok()) {
      usage_error(chain.error().message);
      return std::nullopt;
    }
    signer.emplace(CertificateSigner{key.value(), leaf.value()[0], std::move(chain).value()});
  } else {
    signer.emplace(KeySigner{key.value()});
  }
  if (auto usable = check_signer(*signer); !usable.ok()) {
    // A key the format cannot carry is a usage error, found before a model is read. Model
    // signatures are ECDSA only: OMS v1.0 and upstream model_signing verify nothing else.
    const Error& e = usable.error();
    usage_error((e.code == Code::kUnsupported ? "--private-key: " : "--signing-certificate: ") + e.message +
                (e.code == Code::kUnsupported ? "; model signatures must verify under upstream model_signing, "
                                                "which accepts only ECDSA"
                                              : ""));
    return std::nullopt;
  }
  return signer;
}

// run_sign_oci signs a ModelPack model in a registry from its layer digests (no blob pulled) and
// pushes the bundle as a referrer of the manifest.
int run_sign_oci(const SignArgs& a) {
  int code = kExitUsage;
  std::optional<ModelSigner> signer = build_signer(a, &code);
  if (!signer) {
    return code;
  }
  std::optional<RegistrySession> session = open_registry(a.ref, a.registry);
  if (!session) {
    return kExitUsage;
  }
  const oci::Reference& ref = session->ref;
  oci::Client& client = *session->client;
  Result<oci::ModelArtifact> artifact = oci::fetch_model(client, ref);
  if (!artifact.ok()) {
    print_error("cannot sign: " + artifact.error().message);
    return registry_exit_code(artifact.error());
  }
  Result<oci::SignedOciModel> s = oci::sign_model_artifact(client, *artifact, *signer);
  if (!s.ok()) {
    print_error("cannot sign: " + s.error().message);
    return registry_exit_code(s.error());
  }
  std::fprintf(stderr, "check: signed %zu layer digests (%llu bytes of model, none pulled)\n",
               s->bundle.manifest.resources.size(), static_cast<unsigned long long>(s->bundle.manifest.total_bytes));
  std::printf("Signature pushed to %s as a referrer of %s\n", s->signature_digest.c_str(), artifact->ref.pinned().str().c_str());
  std::printf("  root digest: sha256:%s\n", to_hex(s->bundle.root_digest).c_str());
  return kExitOk;
}

int run_sign(const SignArgs& a) {
  if (a.oci) {
    return run_sign_oci(a);
  }
  int code = kExitUsage;
  std::optional<ModelSigner> signer = build_signer(a, &code);
  if (!signer) {
    return code;
  }
  if (!a.store.empty() && !a.signature.empty()) {
    return usage_error("give --signature or --store, not both");
  }

  std::error_code ec;
  fs::path cwd = fs::current_path(ec);
  bool directory = fs::is_directory(a.model, ec);
  // Default: model.sig inside a directory model (where the webhook looks), else in the cwd.
  // With --store the file name waits for the root digest; the store itself is what is not hashed.
  fs::path signature = !a.signature.empty() ? fs::path(a.signature)
                       : !a.store.empty()   ? fs::path(a.store)
                                            : (directory ? fs::path(a.model) / kDefaultSignatureFile
                                                         : fs::path(kDefaultSignatureFile));

  SignOptions options;
  options.serialization.method = a.shard_size > 0 ? SerializationMethod::kShards : SerializationMethod::kFiles;
  options.serialization.shard_size = a.shard_size > 0 ? a.shard_size : kDefaultShardSize;
  options.serialization.hash_type = a.hash == "blake2b" ? HashType::kBlake2b : HashType::kSha256;
  options.serialization.allow_symlinks = a.allow_symlinks;
  options.ignore_git_paths = a.ignore_git_paths;
  options.hash.threads = a.threads;
  for (const std::string& p : a.ignore_paths) {
    if (!directory) {
      break;
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
    options.serialization.ignore_paths.push_back(*r.value());
  }

  auto signed_bundle = sign_model(a.model, signature, *signer, options);
  if (!signed_bundle.ok()) {
    const Error& e = signed_bundle.error();
    if (e.code == Code::kNotFound || e.code == Code::kIo) {
      return usage_error(e.message);
    }
    print_error("cannot sign: " + e.message);
    return e.code == Code::kInternal ? kExitInternal : kExitFailed;
  }
  if (!a.store.empty()) {
    // Where the webhook looks for a second signer's signature: STORE/sha256/<root>/ (evidence.h).
    const PrivateKey& k = std::holds_alternative<KeySigner>(*signer) ? std::get<KeySigner>(*signer).private_key
                                                                     : std::get<CertificateSigner>(*signer).private_key;
    signature = fs::path(a.store) / "sha256" / to_hex(signed_bundle.value().root_digest) /
                ("signature-" + public_key_hint(k.public_key()).substr(0, 12) + ".json");
    std::error_code mk;
    fs::create_directories(signature.parent_path(), mk);
    if (mk) {
      return usage_error("--store: cannot create " + quote_for_message(signature.parent_path().string()) + ": " +
                         mk.message());
    }
  }
  auto written = write_atomically(signature, signed_bundle.value().bundle_json);
  if (!written.ok()) {
    return usage_error(written.error().message);
  }
  const SignedModelBundle& b = signed_bundle.value();
  std::fprintf(stderr, "check: hashed %zu resources (%llu bytes)\n", b.manifest.resources.size(),
               static_cast<unsigned long long>(b.manifest.total_bytes));
  std::printf("Signature written to %s\n", quote_for_message(signature.string()).c_str());
  std::printf("  root digest: sha256:%s\n", to_hex(b.root_digest).c_str());
  return kExitOk;
}

void add_common(CLI::App* sub, SignArgs& a) {
  sub->add_option("model", a.model, "model directory or file")->required();
  sub->add_option("--private-key,--private_key", a.private_key, "PEM private key: ECDSA P-256/384/521 only (OMS v1.0)")
      ->required();
  sub->add_option("--password", a.password, "password of an encrypted private key");
  sub->add_option("--signature", a.signature,
                  "where to write the signature (default: MODEL/model.sig, or ./model.sig for a file)");
  sub->add_option("--store", a.store,
                  "file the signature in this evidence store instead (DIR/sha256/<root>/signature-<key>.json): "
                  "a second signer's signature for a threshold, or a base model's");
  add_model_selection_flags(sub, a.ignore_paths, a.ignore_git_paths, a.allow_symlinks,
                            "hash symlinks to files (their targets)");
  sub->add_option("--shard-size,--shard_size", a.shard_size, "hash files in shards of N bytes (shards mode)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 62));
  sub->add_option("--hash", a.hash, "hash algorithm")->check(CLI::IsMember({"sha256", "blake2b"}));
  sub->add_option("--threads", a.threads, "hashing threads (0 = all cores)");
}

}  // namespace

void register_sign(CLI::App& app, Runner& run) {
  auto args = std::make_shared<SignArgs>();
  CLI::App* sign = app.add_subcommand("sign", "sign a model (OpenSSF model_signing format)");
  sign->require_subcommand(1);

  CLI::App* key = sign->add_subcommand("key", "sign with a private key (bundle names the key by hint)");
  add_common(key, *args);
  key->callback([args, &run] {
    args->certificate = false;
    run = [args] { return run_sign(*args); };
  });

  CLI::App* cert = sign->add_subcommand("certificate", "sign with a private key and its X.509 certificate");
  add_common(cert, *args);
  cert->add_option("--signing-certificate,--signing_certificate", args->signing_certificate,
                   "PEM certificate of the private key")
      ->required();
  cert->add_option("--certificate-chain,--certificate_chain", args->certificate_chain,
                   "PEM file of intermediate certificates to include (repeatable)")
      ->expected(1)
      ->allow_extra_args(false);
  cert->callback([args, &run] {
    args->certificate = true;
    run = [args] { return run_sign(*args); };
  });

  CLI::App* oci = sign->add_subcommand("oci", "sign a ModelPack model in a registry from its layer digests (no blob "
                                              "pulled) and push the signature as a referrer");
  oci->add_option("ref", args->ref, "registry/repository[:tag][@sha256:...]")->required();
  oci->add_option("--private-key,--private_key", args->private_key, "PEM private key: ECDSA P-256/384/521 only (OMS v1.0)")
      ->required();
  oci->add_option("--password", args->password, "password of an encrypted private key");
  CLI::Option* leaf = oci->add_option("--signing-certificate,--signing_certificate", args->signing_certificate,
                                      "PEM certificate of the private key (certificate method)");
  oci->add_option("--certificate-chain,--certificate_chain", args->certificate_chain,
                  "PEM file of intermediate certificates to include (repeatable)")
      ->expected(1)
      ->allow_extra_args(false);
  add_registry_flags(oci, args->registry);
  oci->callback([args, leaf, &run] {
    args->oci = true;
    args->certificate = leaf->count() > 0;
    run = [args] { return run_sign(*args); };
  });
}

}  // namespace modelgate::cli
