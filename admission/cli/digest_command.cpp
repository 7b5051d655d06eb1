// digest_command.cpp: `modelgate digest MODEL [--ignore-paths P]... [--no-ignore-git-paths]
// [--allow-symlinks] [--shard-size N] [--hash sha256|blake2b] [--json] [--threads N]`: hash a model
// as OpenSSF model_signing does and print `sha256:<root digest>` (like `model_signing digest`), or
// the whole manifest as JSON. Nothing is signed or verified here.
#include <CLI/CLI.hpp>

#include <nlohmann/json.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "admission/cli/cli_common.h"
#include "admission/cli/commands.h"
#include "base/limits.h"
#include "crypto/encoding.h"
#include "crypto/manifest.h"
#include "crypto/model_signature.h"
#include "crypto/model_walk.h"

namespace modelgate::cli {
namespace {

namespace fs = std::filesystem;
using namespace modelgate::crypto;

struct DigestArgs {
  std::string model;
  std::vector<std::string> ignore_paths;
  bool ignore_git_paths = true;
  bool allow_symlinks = false;
  std::uint64_t shard_size = 0;
  bool shard_size_given = false;
  std::string hash = "sha256";
  bool json = false;
  std::size_t threads = 0;
};

int fail(int code, const std::string& message) {
  print_error(message);
  return code;
}

// sha256_kernel_json says which SHA-256 kernel hashed the model and how it was chosen: the
// self-benchmark's figures for every candidate (GB/s in cache, all lanes busy), its cost, or that
// MODELGATE_SHA256 forced the choice (docs/performance.md).
nlohmann::ordered_json sha256_kernel_json() {
  const Sha256Selection& sel = sha256_selection();
  nlohmann::ordered_json k;
  k["name"] = std::string(sel.backend->name);
  k["lanes"] = sel.backend->lanes;
  k["selected_by"] = std::string(sel.selected_by);
  k["baseline"] = std::string(sel.baseline->name);
  k["benchmark_ms"] = sel.benchmark_ms;
  k["benchmark_cpu_ms"] = sel.benchmark_cpu_ms;
  nlohmann::ordered_json candidates = nlohmann::ordered_json::array();
  for (const Sha256Candidate& c : sel.candidates) {
    nlohmann::ordered_json e;
    e["name"] = std::string(c.backend->name);
    e["lanes"] = c.backend->lanes;
    e["gbps"] = c.gbps;
    candidates.push_back(std::move(e));
  }
  k["candidates"] = std::move(candidates);
  return k;
}

// manifest_json is the --json document: {"serialization": {...}, "resources": [...],
// "root_digest": "sha256:<hex>", "sha256_kernel": {...}}, the first three keys as in the
// model_signing predicate (§1.4).
nlohmann::ordered_json manifest_json(const Manifest& m) {
  nlohmann::ordered_json ser;
  const bool shards = m.config.method == SerializationMethod::kShards;
  ser["method"] = shards ? "shards" : "files";
  ser["hash_type"] = std::string(hash_type_name(m.config.hash_type));
  ser["allow_symlinks"] = m.config.allow_symlinks;
  ser["ignore_paths"] = m.config.ignore_paths;
  if (shards) {
    ser["shard_size"] = m.config.shard_size;
  }
  nlohmann::ordered_json resources = nlohmann::ordered_json::array();
  for (const Resource& r : m.resources) {
    nlohmann::ordered_json e;
    e["name"] = r.name;
    e["algorithm"] = r.algorithm;
    e["digest"] = to_hex(r.digest);
    resources.push_back(std::move(e));
  }
  nlohmann::ordered_json doc;
  doc["serialization"] = std::move(ser);
  doc["resources"] = std::move(resources);
  const Sha256Digest root = m.root_digest();
  doc["root_digest"] = "sha256:" + to_hex(root);
  doc["sha256_kernel"] = sha256_kernel_json();
  return doc;
}

int run_digest(const DigestArgs& a) {
  if (a.model.empty()) {
    return fail(kExitUsage, "MODEL is required (or `digest oci REF`)");
  }
  SerializationConfig config;
  auto hash = parse_hash_type(a.hash);
  if (!hash.ok()) {
    return fail(kExitUsage, "--hash: " + hash.error().message);
  }
  config.hash_type = hash.value();
  if (a.shard_size_given) {
    if (a.shard_size == 0) {
      return fail(kExitUsage, "--shard-size: must be at least 1");
    }
    config.method = SerializationMethod::kShards;
    config.shard_size = a.shard_size;
  }
  config.allow_symlinks = a.allow_symlinks;
  if (a.threads > limits::kMaxHashThreads) {
    return fail(kExitUsage, "--threads: too many threads (" + std::to_string(a.threads) + " > " +
                                std::to_string(limits::kMaxHashThreads) + ")");
  }

  struct stat st {};
  if (::lstat(a.model.c_str(), &st) != 0) {
    const int e = errno;
    return fail(kExitUsage, quote_file_name(a.model) + ": " + (e == ENOENT ? "no such file or directory" : "cannot stat"));
  }
  // Like upstream's CLI: the default git paths and the user's paths that lie inside the model,
  // relative to its root. A single-file model has nothing inside it to ignore.
  if (a.ignore_git_paths) {
    for (std::string_view p : kDefaultGitIgnores) {
      config.ignore_paths.emplace_back(p);
    }
  }
  std::error_code ec;
  const bool directory = fs::is_directory(a.model, ec);
  const fs::path cwd = fs::current_path(ec);
  if (directory) {
    // The signature file is not part of the model (manifest.h): signing it must not change the digest.
    config.ignore_paths.emplace_back(kDefaultSignatureFile);
  }
  for (const std::string& p : a.ignore_paths) {
    if (!directory) {
      break;
    }
    auto r = resolve_ignore_path(a.model, cwd, p);
    if (!r.ok()) {
      return fail(kExitUsage, "--ignore-paths: " + r.error().message);
    }
    if (!r.value()) {
      std::fprintf(stderr, "modelgate: warning: --ignore-paths %s lies outside the model; not used\n",
                   quote_file_name(p).c_str());
      continue;
    }
    if (std::find(config.ignore_paths.begin(), config.ignore_paths.end(), *r.value()) == config.ignore_paths.end()) {
      config.ignore_paths.push_back(*r.value());
    }
  }

  HashOptions options;
  options.threads = a.threads;
  auto manifest = hash_model(a.model, config, options);
  if (!manifest.ok()) {
    const Error& e = manifest.error();
    if (e.code == Code::kInternal) {
      std::fprintf(stderr, "modelgate: internal error: %s: %s\n", a.model.c_str(), e.message.c_str());
      return kExitInternal;
    }
    return fail(kExitFailed, quote_file_name(a.model) + ": " + e.message);
  }
  if (a.json) {
    std::printf("%s\n", manifest_json(manifest.value()).dump(2).c_str());
  } else {
    const Sha256Digest root = manifest.value().root_digest();
    std::printf("sha256:%s\n", to_hex(root).c_str());
  }
  return kExitOk;
}

}  // namespace

void register_digest(CLI::App& app, Runner& run) {
  auto args = std::make_shared<DigestArgs>();
  CLI::App* sub = app.add_subcommand("digest", "print a model's root digest (sha256:<hex>) as model_signing computes it");
  // Not required here: `digest oci REF` has its own argument; run_digest checks MODEL.
  sub->add_option("model", args->model, "model directory or file");
  add_model_selection_flags(sub, args->ignore_paths, args->ignore_git_paths, args->allow_symlinks,
                            "hash a symlink to a file with its target's bytes under the link's name");
  CLI::Option* shard = sub->add_option("--shard-size", args->shard_size, "hash in shards of N bytes (shards mode)");
  sub->add_option("--hash", args->hash, "per-file hash: sha256 (default) or blake2b");
  sub->add_flag("--json", args->json, "print the whole manifest as JSON");
  sub->add_option("--threads", args->threads, "hashing threads (default: all cores)");
  CLI::App* oci = add_digest_oci(sub, run);
  sub->callback([args, shard, oci, &run] {
    if (oci->parsed()) {
      return;  // `digest oci REF`: its own callback set `run`
    }
    args->shard_size_given = shard->count() > 0;
    run = [args] { return run_digest(*args); };
  });
}

}  // namespace modelgate::cli
