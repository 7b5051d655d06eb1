// cli_common.h: what several verbs share: the error line and usage exit, the model-selection flags
// (`--ignore-paths`, `--no-ignore-git-paths`, `--allow-symlinks`), and certificate files named by
// repeatable flags. Not a verb itself; commands.h lists those.
#pragma once

#include <cstdint>
#include <filesystem>
#include <utility>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "crypto/sha256.h"
#include "crypto/x509.h"

namespace CLI {
class App;
}

namespace modelgate::cli {

// print_error writes "modelgate: error: <message>" on stderr.
void print_error(const std::string& message);

// usage_error prints `message` as above and returns kExitUsage.
int usage_error(const std::string& message);

// add_model_selection_flags adds `--ignore-paths P` (repeatable, one value per flag so MODEL is
// never eaten), `--[no-]ignore-git-paths` and `--allow-symlinks`, with upstream ≤ 1.1.1's
// underscore spellings as aliases. `symlink_help` says what --allow-symlinks means to the verb.
void add_model_selection_flags(CLI::App* sub, std::vector<std::string>& ignore_paths, bool& ignore_git_paths,
                               bool& allow_symlinks, const std::string& symlink_help);

// load_certificate_flags loads every certificate in each file given to `flag`, in order. Errors
// keep the loader's code and read "<flag> <file>: <what>" (the file named once).
[[nodiscard]] Result<std::vector<crypto::Certificate>> load_certificate_flags(std::string_view flag,
                                                                              const std::vector<std::string>& files);

// parse_root_flag reads `--root FROM=LOCAL_DIR` (FROM absolute): {FROM, absolute LOCAL_DIR}.
// Errors: kMalformed ("--root X: expected /policy/root=LOCAL_DIR").
[[nodiscard]] Result<std::pair<std::string, std::filesystem::path>> parse_root_flag(const std::string& value);

// parse_now_flag reads `--now` (RFC 3339, e.g. 2026-12-01T00:00:00Z) into unix seconds. Errors:
// kMalformed.
[[nodiscard]] Result<std::int64_t> parse_now_flag(const std::string& value);

// model_root_digest hashes a model directory the way its signature file (`signature_file` inside
// it) says it was signed, when there is one, else as model_signing does by default; the signature
// files are left out (crypto::kDefaultSignatureFile). The attestation verbs name a model by this
// digest: if the files differ from what was signed, the signature rule says so. Errors:
// hash_model's (kNotFound, kIo: usage; others: the model cannot be hashed).
[[nodiscard]] Result<crypto::Sha256Digest> model_root_digest(const std::filesystem::path& model,
                                                             const std::string& signature_file);

// write_atomically writes `data` to a temporary file beside `path` and renames it into place, so a
// crash never leaves a half-written signature or attestation. Errors: kIo.
[[nodiscard]] Result<void> write_atomically(const std::filesystem::path& path, const std::string& data);

}  // namespace modelgate::cli
