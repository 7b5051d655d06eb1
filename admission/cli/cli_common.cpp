#include "admission/cli/cli_common.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <CLI/CLI.hpp>

#include <cstdio>

#include "admission/cli/commands.h"
#include "base/limits.h"
#include "base/read_file.h"
#include "crypto/bundle.h"
#include "crypto/manifest.h"
#include "crypto/model_signature.h"
#include "crypto/x509.h"

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

namespace fs = std::filesystem;
using crypto::quote_for_message;

Result<void> write_atomically(const std::filesystem::path& path, const std::string& data) {
  fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  std::string tmpl = (dir / (".modelgate-sig-XXXXXX")).string();
  int fd = ::mkstemp(tmpl.data());
  if (fd < 0) {
    return make_error(Code::kIo, "cannot create a file in " + quote_for_message(dir.string()));
  }
  ::close(fd);
  {
    std::ofstream out(tmpl, std::ios::binary | std::ios::trunc);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    out.flush();
    if (!out) {
      std::error_code ec;
      fs::remove(tmpl, ec);
      return make_error(Code::kIo, "cannot write " + quote_for_message(tmpl));
    }
  }
  fs::permissions(tmpl, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                            fs::perms::others_read);
  std::error_code ec;
  fs::rename(tmpl, path, ec);
  if (ec) {
    fs::remove(tmpl, ec);
    return make_error(Code::kIo, "cannot write " + quote_for_message(path.string()) + ": " + ec.message());
  }
  return ok_status();
}

Result<std::pair<std::string, std::filesystem::path>> parse_root_flag(const std::string& value) {
  const auto eq = value.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == value.size() || value[0] != '/') {
    return make_error(Code::kMalformed, "--root " + crypto::quote_for_message(value) + ": expected /policy/root=LOCAL_DIR");
  }
  return std::pair<std::string, std::filesystem::path>{value.substr(0, eq),
                                                       std::filesystem::absolute(value.substr(eq + 1))};
}

Result<std::int64_t> parse_now_flag(const std::string& value) {
  auto ms = crypto::parse_rfc3339_ms(value);
  if (!ms.ok()) {
    return make_error(Code::kMalformed, "--now " + crypto::quote_for_message(value) +
                                            ": expected an RFC 3339 time (2026-12-01T00:00:00Z)");
  }
  return ms.value() / 1000;
}

Result<crypto::Sha256Digest> model_root_digest(const std::filesystem::path& model, const std::string& signature_file) {
  using namespace modelgate::crypto;
  SerializationConfig config;
  const std::filesystem::path sig = model / signature_file;
  auto sig_bytes = read_regular_file(sig, limits::kMaxBundleBytes);
  if (sig_bytes.ok()) {
    auto bundle = parse_bundle(sig_bytes.value());
    if (bundle.ok() && bundle->dsse) {
      auto sm = parse_signed_model(bundle->dsse->payload);
      if (sm.ok()) {
        config = sm->serialization;
      }
    }
    config.ignore_paths.push_back(signature_file);
  }
  for (std::string_view g : kDefaultGitIgnores) {
    config.ignore_paths.emplace_back(g);
  }
  // The default signature file is never part of the model (manifest.h), whatever signature_file says.
  config.ignore_paths.emplace_back(kDefaultSignatureFile);
  std::sort(config.ignore_paths.begin(), config.ignore_paths.end());
  config.ignore_paths.erase(std::unique(config.ignore_paths.begin(), config.ignore_paths.end()),
                            config.ignore_paths.end());
  MG_ASSIGN_OR_RETURN_CTX(Manifest m, hash_model(model, config, {}), "model");
  return m.root_digest();
}

}  // namespace modelgate::cli
