// trust_material.h: a loaded policy set with its trust material opened and parsed — signer keys,
// certificate anchors, Sigstore trusted roots, reviewer keys and dataset catalogs — so that no
// request ever reads a key file. Not verification (crypto/) and not evaluation (evaluate.h).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/dsse_verify.h"
#include "policy/dataset_catalog.h"
#include "policy/diagnostic.h"
#include "policy/policy_set.h"

namespace modelgate::policy {

// TrustedMethod is one way a signature can be trusted, with the name users see.
struct TrustedMethod {
  std::string label;  // "key /etc/modelgate/keys/team.pub", "keyless https://... subject", ...
  crypto::VerifyMethod method;
};

// CompiledPolicy is one policy plus its opened trust material. Immutable.
struct CompiledPolicy {
  const Policy* policy = nullptr;  // owned by TrustedPolicySet::set
  std::map<std::string, TrustedMethod, std::less<>> signers;            // by signer name
  std::map<std::string, std::vector<TrustedMethod>, std::less<>> reviewers;  // by group name
  std::shared_ptr<const DatasetCatalog> catalog;  // require.datasets.catalog, or null

  // signer returns the named signer's method, or nullptr.
  const TrustedMethod* signer(std::string_view name) const;
};

// TrustedPolicySet is a PolicySet whose every policy compiled. Immutable; share it as
// std::shared_ptr<const TrustedPolicySet> and swap it whole on reload. Thread-safe readers.
class TrustedPolicySet {
 public:
  const PolicySet& set() const { return *set_; }
  const std::vector<CompiledPolicy>& policies() const { return policies_; }
  std::uint64_t generation() const { return set_->generation(); }
  // find returns the compiled policy named `name`, or nullptr.
  const CompiledPolicy* find(std::string_view name) const;
  // files lists every file the set was built from (policies, keys, roots, catalogs, key dirs) so
  // a watcher can tell when to reload.
  const std::vector<std::filesystem::path>& files() const { return files_; }

 private:
  friend struct TrustOutcome compile_trust(std::shared_ptr<const PolicySet> set);
  std::shared_ptr<const PolicySet> set_;
  std::vector<CompiledPolicy> policies_;
  std::vector<std::filesystem::path> files_;
};

// TrustOutcome: the compiled set, or nullptr with diagnostics at the policy positions that name
// the files (kNotFound, kIo, kMalformed from the key/certificate/root/catalog parsers).
struct TrustOutcome {
  std::shared_ptr<const TrustedPolicySet> trusted;
  std::vector<Diagnostic> diagnostics;
  bool ok() const { return trusted != nullptr; }
};

// compile_trust opens every key, certificate file, trusted root, reviewer key directory (its
// regular *.pem / *.pub files, sorted, at most limits::kMaxPolicyListItems) and dataset catalog
// that `set` names; a file named by several policies is read once. Every problem is collected.
// Thread-safe.
TrustOutcome compile_trust(std::shared_ptr<const PolicySet> set);

// RootOverride maps an absolute path as policies write it (`from`: a source root, or a prefix of key,
// trusted-root and catalog paths) to where an offline run finds it (`review --root`, `policy test`
// fixtures). Longest prefix wins; whole path components only.
struct RootOverride {
  std::string from;
  std::filesystem::path to;
};

// apply_root_overrides rewrites, in place, every source root and every key, certificate,
// trusted-root and catalog path of `policies` that lies under an override's `from` (longest
// prefix wins, whole components) to the same path under its `to`. Pure.
void apply_root_overrides(std::vector<Policy>& policies, std::span<const RootOverride> overrides);

// load_trusted_policies is load_policy_set(paths, generation), source roots and trust file paths
// rewritten by `overrides` (empty for the webhook), followed by compile_trust.
TrustOutcome load_trusted_policies(std::span<const std::filesystem::path> paths, std::uint64_t generation,
                                   std::span<const RootOverride> overrides = {});

}  // namespace modelgate::policy
