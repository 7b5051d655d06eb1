// sigstore_command.cpp: placeholder registration until the verb lands (owned by its issue).
#include <CLI/CLI.hpp>

#include "admission/cli/commands.h"

namespace modelgate::cli {

void register_sigstore(CLI::App& app, Runner& run) {
  (void)app;
  (void)run;
}

}  // namespace modelgate::cli
