// policy_set.cpp: load every policy file named on a command line or in a directory, check the
// whole set, freeze it.
#include "policy/policy_set.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <system_error>

#include "base/limits.h"

namespace modelgate::policy {

namespace {

bool has_policy_extension(const std::filesystem::path& p) {
  const std::string ext = p.extension().string();
  return ext == ".yaml" || ext == ".yml";
}

Diagnostic file_error(const std::filesystem::path& p, Code code, std::string message, std::string hint = {}) {
  return Diagnostic{Position{p.string(), 0, 0}, Severity::kError, code, std::move(message), std::move(hint)};
}

}  // namespace

bool within_set_budget(const std::filesystem::path& file, std::size_t file_bytes, std::size_t& total,
                       std::vector<Diagnostic>& diagnostics) {
  total += file_bytes;
  if (total <= limits::kMaxPolicySetExpandedBytes) {
    return true;
  }
  diagnostics.push_back(file_error(file, Code::kLimit,
                                   "policy set too large once aliases are expanded (more than " +
                                       std::to_string(limits::kMaxPolicySetExpandedBytes) +
                                       " bytes); files after this one were not read"));
  return false;
}

const Policy* PolicySet::find(std::string_view name) const {
  for (const Policy& p : policies_) {
    if (p.name.value == name) {
      return &p;
    }
  }
  return nullptr;
}

PolicySetOutcome build_policy_set(std::vector<Policy> policies, std::vector<std::filesystem::path> files,
                                  std::uint64_t generation) {
  PolicySetOutcome out;
  if (policies.size() > limits::kMaxPolicies) {
    out.diagnostics.push_back(Diagnostic{policies[limits::kMaxPolicies].position, Severity::kError, Code::kLimit,
                                         "too many policies (" + std::to_string(policies.size()) + " > " +
                                             std::to_string(limits::kMaxPolicies) + ")",
                                         {}});
    return out;
  }
  std::map<std::string, Position, std::less<>> seen;
  for (const Policy& p : policies) {
    auto [it, inserted] = seen.emplace(p.name.value, p.name.position);
    if (!inserted) {
      out.diagnostics.push_back(Diagnostic{p.name.position, Severity::kError, Code::kMalformed,
                                           "duplicate policy name " + quote(p.name.value),
                                           "first defined at " + format_position(it->second)});
    }
  }
  if (has_errors(out.diagnostics)) {
    return out;
  }
  out.set = std::shared_ptr<const PolicySet>(new PolicySet(std::move(policies), std::move(files), generation));
  return out;
}

std::vector<std::filesystem::path> list_policy_files(std::span<const std::filesystem::path> paths,
                                                     std::vector<Diagnostic>& diagnostics) {
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  std::set<fs::path> seen;  // a file named twice (directly and through its directory) is read once
  auto add = [&](const fs::path& p) {
    std::error_code ec;
    const fs::path canonical = fs::weakly_canonical(p, ec);
    if (!seen.insert(ec ? p : canonical).second) {
      return true;
    }
    if (files.size() == limits::kMaxPolicyFiles) {
      diagnostics.push_back(file_error(p, Code::kLimit,
                                       "too many policy files (more than " +
                                           std::to_string(limits::kMaxPolicyFiles) + ")"));
      return false;
    }
    files.push_back(p);
    return true;
  };
  for (const fs::path& path : paths) {
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    if (ec) {
      diagnostics.push_back(file_error(path, Code::kIo, "cannot open: " + ec.message()));
      continue;
    }
    if (!fs::is_directory(st)) {
      if (!add(path)) {
        break;
      }
      continue;
    }
    std::vector<fs::path> found;
    fs::directory_iterator it(path, ec);
    for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
      const fs::path& entry = it->path();
      const std::string name = entry.filename().string();
      if (name.empty() || name.front() == '.' || !has_policy_extension(entry)) {
        continue;
      }
      std::error_code sec;
      if (!fs::is_regular_file(fs::status(entry, sec))) {  // follows symlinks
        continue;
      }
      found.push_back(entry);
      if (found.size() > limits::kMaxPolicyFiles) {
        break;
      }
    }
    if (ec) {
      diagnostics.push_back(file_error(path, Code::kIo, "cannot list directory: " + ec.message()));
      continue;
    }
    if (found.empty()) {
      diagnostics.push_back(file_error(path, Code::kNotFound, "no policy files (*.yaml, *.yml) in directory",
                                       "policy files are read from the top of the directory, not subdirectories"));
      continue;
    }
    std::sort(found.begin(), found.end());
    bool room = true;
    for (const fs::path& f : found) {
      room = room && add(f);
    }
    if (!room) {
      break;
    }
  }
  return files;
}

PolicySetOutcome load_policy_set(std::span<const std::filesystem::path> paths, std::uint64_t generation) {
  std::vector<Diagnostic> diagnostics;
  std::vector<std::filesystem::path> files = list_policy_files(paths, diagnostics);
  std::vector<Policy> policies;
  std::size_t expanded = 0;
  for (const std::filesystem::path& f : files) {
    ParseOutcome one = load_policy_file(f);
    for (Diagnostic& d : one.diagnostics) {
      diagnostics.push_back(std::move(d));
    }
    for (Policy& p : one.policies) {
      policies.push_back(std::move(p));
    }
    if (!within_set_budget(f, one.expanded_bytes, expanded, diagnostics)) {
      break;
    }
  }
  if (has_errors(diagnostics)) {
    PolicySetOutcome out;
    out.diagnostics = std::move(diagnostics);
    // Cross-file duplicates are still worth reporting alongside per-file errors.
    PolicySetOutcome cross = build_policy_set(std::move(policies), {}, generation);
    for (Diagnostic& d : cross.diagnostics) {
      out.diagnostics.push_back(std::move(d));
    }
    return out;
  }
  PolicySetOutcome out = build_policy_set(std::move(policies), std::move(files), generation);
  diagnostics.insert(diagnostics.end(), out.diagnostics.begin(), out.diagnostics.end());
  out.diagnostics = std::move(diagnostics);
  return out;
}

}  // namespace modelgate::policy
