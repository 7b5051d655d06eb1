#include "admission/cli/cli_common.h"

#include <CLI/CLI.hpp>

#include <cstdio>

#include "admission/cli/commands.h"

namespace modelgate::cli {

void print_error(const std::string& message) { std::fprintf(stderr, "modelgate: error: %s\n", message.c_str()); }

int usage_error(const std::string& message) {
  print_error(message);
  return kExitUsage;
}

void add_model_selection_flags(CLI::App* sub, std::vector<std::string>& ignore_paths, bool& ignore_git_paths,
                               bool& allow_symlinks, const std::string& symlink_help) {
  sub->add_option("--ignore-paths,--ignore_paths", ignore_paths,
                  "path to leave out (repeatable); inside the model, relative to it or to the cwd")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->expected(1)
      ->allow_extra_args(false);  // one value per flag, as upstream's click option: MODEL is never eaten
  sub->add_flag("--ignore-git-paths,!--no-ignore-git-paths,!--no_ignore_git_paths", ignore_git_paths,
                "leave out .git, .gitattributes, .github, .gitignore at the model root (default: on)");
  sub->add_flag("--allow-symlinks,--allow_symlinks", allow_symlinks, symlink_help);
}

Result<std::vector<crypto::Certificate>> load_certificate_flags(std::string_view flag,
                                                               const std::vector<std::string>& files) {
  std::vector<crypto::Certificate> out;
  for (const std::string& f : files) {
    auto certs = crypto::load_certificates_file(f);
    if (!certs.ok()) {
      // The loader's message already starts with the file's path; put the flag in front of it.
      Error e = std::move(certs).error();
      return make_error(e.code, std::string(flag) + " " + e.message);
    }
    for (crypto::Certificate& c : certs.value()) {
      out.push_back(std::move(c));
    }
  }
  return out;
}

}  // namespace modelgate::cli
