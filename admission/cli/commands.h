// commands.h: the verbs of the `modelgate` binary. Each verb lives in its own file and registers
// itself on the CLI11 app; main.cpp only wires them up and maps outcomes to exit codes.
// Not business logic: commands parse flags, call the libraries and print (STYLE.md §9).
#pragma once

#include <functional>

namespace CLI {
class App;
}

namespace modelgate::cli {

// Exit codes (STYLE.md §9).
inline constexpr int kExitOk = 0;         // verified / allowed
inline constexpr int kExitFailed = 1;     // verification failed / denied (incl. malformed signatures)
inline constexpr int kExitUsage = 2;      // usage error, or an input file that cannot be opened
inline constexpr int kExitInternal = 3;   // our bug

// Runner is what main() runs after parsing succeeded; it returns the exit code.
using Runner = std::function<int()>;

// Each register_* adds its subcommand(s) to `app`; when one of them is selected on the command
// line its parse callback stores the work in `run`.
void register_digest(CLI::App& app, Runner& run);
void register_sign(CLI::App& app, Runner& run);
void register_verify(CLI::App& app, Runner& run);
void register_sigstore(CLI::App& app, Runner& run);
void register_policy(CLI::App& app, Runner& run);
void register_attest(CLI::App& app, Runner& run);
void register_review(CLI::App& app, Runner& run);
void register_serve(CLI::App& app, Runner& run);
void register_evidence(CLI::App& app, Runner& run);
void register_push(CLI::App& app, Runner& run);
// add_digest_oci adds `digest oci REF` under `digest` (oci_command.cpp) and returns it.
CLI::App* add_digest_oci(CLI::App* digest, Runner& run);

}  // namespace modelgate::cli
