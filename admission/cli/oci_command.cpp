// oci_command.cpp: `modelgate digest oci REF` (the root digest a ModelPack model's raw layers stand
// for, from the manifest alone) and `modelgate push oci DIR REF` (upload a model directory as a
// ModelPack artifact: one raw layer per file; a demo and test helper, files read whole).
// `sign oci` and `verify oci` live beside their file-model verbs (sign_command.cpp, verify_command.cpp).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <string>

#include "admission/cli/cli_common.h"
#include "admission/cli/commands.h"
#include "admission/cli/oci_common.h"
#include "crypto/encoding.h"
#include "oci/model_artifact.h"

namespace modelgate::cli {

namespace {

struct OciArgs {
  std::string ref;
  std::string dir;
  RegistryFlags registry;
};

int run_digest_oci(const OciArgs& a) {
  std::optional<RegistrySession> session = open_registry(a.ref, a.registry);
  if (!session) {
    return kExitUsage;
  }
  const oci::Reference& ref = session->ref;
  oci::Client& client = *session->client;
  Result<oci::ModelArtifact> artifact = oci::fetch_model(client, ref);
  if (!artifact.ok()) {
    print_error(artifact.error().message);
    return registry_exit_code(artifact.error());
  }
  Result<crypto::Manifest> m = oci::model_manifest(*artifact);
  if (!m.ok()) {
    print_error(artifact->ref.pinned().str() + ": " + m.error().message);
    return kExitFailed;
  }
  std::fprintf(stderr, "check: %s: %zu raw layers, %llu bytes, no blob pulled\n", artifact->ref.pinned().str().c_str(),
               m->resources.size(), static_cast<unsigned long long>(m->total_bytes));
  std::printf("sha256:%s\n", crypto::to_hex(m->root_digest()).c_str());
  return kExitOk;
}

int run_push_oci(const OciArgs& a) {
  std::optional<RegistrySession> session = open_registry(a.ref, a.registry);
  if (!session) {
    return kExitUsage;
  }
  const oci::Reference& ref = session->ref;
  oci::Client& client = *session->client;
  Result<std::string> digest = oci::push_model_dir(client, a.dir, ref);
  if (!digest.ok()) {
    print_error("cannot push: " + digest.error().message);
    return registry_exit_code(digest.error());
  }
  oci::Reference pinned = ref.pinned();
  pinned.digest = *digest;
  std::printf("Pushed %s\n  %s\n", ref.str().c_str(), pinned.str().c_str());
  return kExitOk;
}

}  // namespace

CLI::App* add_digest_oci(CLI::App* digest, Runner& run) {
  auto args = std::make_shared<OciArgs>();
  CLI::App* sub = digest->add_subcommand("oci", "print the root digest of a ModelPack model in a registry, from its "
                                                "manifest's raw layer digests (no blob pulled)");
  sub->add_option("ref", args->ref, "registry/repository[:tag][@sha256:...]")->required();
  add_registry_flags(sub, args->registry);
  sub->callback([args, &run] { run = [args] { return run_digest_oci(*args); }; });
  return sub;
}

void register_push(CLI::App& app, Runner& run) {
  auto args = std::make_shared<OciArgs>();
  CLI::App* push = app.add_subcommand("push", "upload a model");
  push->require_subcommand(1);
  CLI::App* sub = push->add_subcommand("oci", "upload a model directory as a ModelPack artifact (one raw layer per "
                                              "file; files read whole: for demos and tests)");
  sub->add_option("dir", args->dir, "model directory")->required();
  sub->add_option("ref", args->ref, "registry/repository[:tag]")->required();
  add_registry_flags(sub, args->registry);
  sub->callback([args, &run] { run = [args] { return run_push_oci(*args); }; });
}

}  // namespace modelgate::cli
