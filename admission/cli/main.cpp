// main.cpp: the `modelgate` binary: wires the verbs together and maps outcomes to exit codes.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>

#include "admission/cli/commands.h"

int main(int argc, char** argv) {
  using namespace modelgate::cli;
  CLI::App app{"modelgate: keep tampered or unapproved models out of production Kubernetes"};
  app.set_version_flag("--version", MODELGATE_VERSION);
  app.require_subcommand(1);
  Runner run;
  register_digest(app, run);
  register_sign(app, run);
  register_verify(app, run);
  register_sigstore(app, run);
  register_policy(app, run);
  register_attest(app, run);
  register_evidence(app, run);
  register_push(app, run);
  register_review(app, run);
  register_serve(app, run);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  if (!run) {
    std::fprintf(stderr, "modelgate: error: no command given (see --help)\n");
    return kExitUsage;
  }
  try {
    return run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "modelgate: internal error: %s\n", e.what());
    return kExitInternal;
  }
}
