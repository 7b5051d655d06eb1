// policy_set.h: every policy loaded from a set of files and directories, checked across files
// (unique names), immutable once built and tagged with a generation number for caches.
// Not hot reload (admission/ owns the watcher and swaps std::shared_ptr<const PolicySet>).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "policy/diagnostic.h"
#include "policy/document.h"

namespace modelgate::policy {

// PolicySet is immutable after construction; share it as std::shared_ptr<const PolicySet>.
// Thread-safe for concurrent readers.
class PolicySet {
 public:
  // policies in load order: argument order, then file name order within a directory, then
  // document order within a file.
  const std::vector<Policy>& policies() const { return policies_; }
  // files that were read, in load order.
  const std::vector<std::filesystem::path>& files() const { return files_; }
  // generation is the caller-chosen number given at load (bump it on every reload).
  std::uint64_t generation() const { return generation_; }
  // find returns the policy named `name`, or nullptr.
  const Policy* find(std::string_view name) const;

 private:
  friend struct PolicySetOutcome build_policy_set(std::vector<Policy>, std::vector<std::filesystem::path>,
                                                  std::uint64_t);
  PolicySet(std::vector<Policy> policies, std::vector<std::filesystem::path> files, std::uint64_t generation)
      : policies_(std::move(policies)), files_(std::move(files)), generation_(generation) {}

  std::vector<Policy> policies_;
  std::vector<std::filesystem::path> files_;
  std::uint64_t generation_ = 0;
};

// PolicySetOutcome: the set, or nullptr when any diagnostic is an error.
struct PolicySetOutcome {
  std::shared_ptr<const PolicySet> set;
  std::vector<Diagnostic> diagnostics;

  bool ok() const { return set != nullptr; }
};

// build_policy_set checks policies parsed elsewhere across files (duplicate names, with the first
// definition in the hint; at most limits::kMaxPolicies) and freezes them. Thread-safe.
PolicySetOutcome build_policy_set(std::vector<Policy> policies, std::vector<std::filesystem::path> files,
                                  std::uint64_t generation);

// list_policy_files expands `paths`: a file is taken as is (whatever its name); a directory
// contributes its regular files named *.yaml or *.yml, sorted by name, not recursing and skipping
// names that start with "." (Kubernetes ConfigMap mounts keep "..data" internals there; the
// visible names are symlinks and are followed). A file reached twice (same canonical path) is
// listed once. A path that cannot be read, or a directory with
// no policy files, is a diagnostic (kIo / kNotFound). Bounded by limits::kMaxPolicyFiles.
std::vector<std::filesystem::path> list_policy_files(std::span<const std::filesystem::path> paths,
                                                     std::vector<Diagnostic>& diagnostics);

// within_set_budget adds one file's ParseOutcome::expanded_bytes to `total` and, past
// limits::kMaxPolicySetExpandedBytes, reports a kLimit diagnostic at `file` and returns false
// (the caller stops reading files). Shared by load_policy_set and lint.
bool within_set_budget(const std::filesystem::path& file, std::size_t file_bytes, std::size_t& total,
                       std::vector<Diagnostic>& diagnostics);

// load_policy_set lists, reads and parses every policy file in `paths`, collecting every
// diagnostic of every file, then build_policy_set. Diagnostics with code kIo mean an input could
// not be read. Thread-safe.
PolicySetOutcome load_policy_set(std::span<const std::filesystem::path> paths, std::uint64_t generation);

}  // namespace modelgate::policy
