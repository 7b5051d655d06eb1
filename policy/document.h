// document.h: ModelPolicy documents (YAML, apiVersion modelgate.dev/v1alpha1) → a typed Policy in
// which every field keeps its file:line:column, with every problem in a file collected as a
// diagnostic. Not evaluation (that is the policy engine's) and not trust loading: key, root and
// catalog paths are recorded and resolved, never opened here.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "policy/diagnostic.h"
#include "policy/namespace_selector.h"

namespace re2 {
class RE2;
}

namespace modelgate::policy {

inline constexpr std::string_view kApiVersion = "modelgate.dev/v1alpha1";
inline constexpr std::string_view kPolicyKind = "ModelPolicy";
inline constexpr std::string_view kDefaultSignatureFile = "model.sig";
inline constexpr std::string_view kDefaultBreakGlassAnnotation = "modelgate.dev/break-glass";
// kBreakGlassExpiresAnnotation holds an RFC 3339 time after which a break-glass override lapses.
inline constexpr std::string_view kBreakGlassExpiresAnnotation = "modelgate.dev/break-glass-expires";
inline constexpr std::uint32_t kDefaultBaseModelDepth = 3;

// Pattern is an RE2 compiled once at load (UTF-8, case-sensitive). matches() is a FULL match:
// "prod-.*" does not match "not-prod-x"; writing ^ and $ is allowed and changes nothing. Immutable
// and shareable across threads.
struct Pattern {
  std::string source;
  std::shared_ptr<const re2::RE2> regex;
  Position position;

  bool matches(std::string_view s) const;
};

// compile_pattern compiles `source` with the options policies use (bounded program memory, no
// logging). Errors: kMalformed with RE2's error text, kLimit (> limits::kMaxPatternBytes).
[[nodiscard]] Result<std::shared_ptr<const re2::RE2>> compile_pattern(std::string_view source);

// PathRef is a file or directory a policy names: as written, and resolved against the directory
// of the policy file when relative (lexically normalised; nothing is opened).
struct PathRef {
  std::string written;
  std::filesystem::path resolved;
  Position position;
};

enum class Mode { kEnforce, kWarn, kAudit };
// mode_name returns "enforce", "warn" or "audit".
std::string_view mode_name(Mode m);

// LabelMatcher: `key: value` matches the exact label value; `key: {regex: RE2}` a full match.
struct LabelMatcher {
  Located<std::string> key;
  std::variant<Located<std::string>, Pattern> value;
  Position position;
};

// Match says which pods a policy governs: the namespace matches any of `namespaces` (when given),
// the Namespace's labels match `namespace_selector` (when given; at least one of the two is), and
// every label matcher matches (labels absent: any pod in those namespaces). Namespace labels are
// set by cluster admins; pod labels by the pod's author: lint warns when an enforce policy relies
// on them.
struct Match {
  std::vector<Pattern> namespaces;                   // empty: any name (namespace_selector decides)
  std::optional<NamespaceSelector> namespace_selector;
  std::vector<LabelMatcher> labels;
  Position position;
};

// Source kinds: which pod volumes hold models. Exactly one per source.
// PvcSource: a claim whose name fully matches claim_name AND that the cluster says is Bound to a
// PersistentVolume whose name fully matches volume_name (admission/cluster_state.h). A claim name
// alone proves nothing: anyone who may create claims can create one of that name bound to their own
// volume. volume_name is optional in the parser only so that old policies still load; lint reports
// its absence as an error and admission denies pods that such a source claims.
struct PvcSource {
  Pattern claim_name;                  // persistentVolumeClaim.claimName, full match
  std::optional<Pattern> volume_name;  // the bound PersistentVolume's name, full match
};
struct HostPathSource {
  Located<std::string> path_prefix;  // absolute, normalised; matches itself and paths below it
};
struct NfsSource {
  // servers: the names and addresses of one NFS server, each normalised by normalize_nfs_server
  // (`server:` is a list of one). A volume naming any of them is this source.
  std::vector<Located<std::string>> servers;
  Located<std::string> path;    // absolute, normalised; the export path or below it
};

// normalize_nfs_server lowercases a host name and drops one trailing dot ("NAS.Acme." → "nas.acme"),
// the forms DNS treats as one name. Addresses are returned as written. Pure.
std::string normalize_nfs_server(std::string_view server);
struct CsiSource {
  Located<std::string> driver;  // exact
  std::vector<std::pair<Located<std::string>, Located<std::string>>> volume_attributes;  // all must equal
};

struct Source {
  Located<std::string> name;
  std::variant<PvcSource, HostPathSource, NfsSource, CsiSource> volume;
  Located<std::string> root;            // absolute local path where the webhook reads this storage
  Located<std::string> signature_file;  // a plain file name, default "model.sig"
  Located<bool> require_read_only;      // default true: the pod must mount the volume read-only
  Position position;
};

// KeylessIdentity: a Fulcio certificate identity. Exactly one of subject / subject_regex.
struct KeylessIdentity {
  Located<std::string> issuer;  // OIDC issuer URL, exact
  std::optional<Located<std::string>> subject;
  std::optional<Pattern> subject_regex;
  std::optional<PathRef> trusted_root;  // absent: the embedded Sigstore public-good root
  Position position;
};
struct PublicKeyTrust {
  PathRef path;  // PEM public key file
};
struct CertificateTrust {
  PathRef roots;  // PEM file of CA certificates the signing certificate must chain to
};

struct Signer {
  Located<std::string> name;
  std::variant<PublicKeyTrust, CertificateTrust, KeylessIdentity> method;
  Position position;
};

// ReviewerGroup: who may approve. publicKeys is a list of key files or one directory of them;
// keyless identities may be added to either or stand alone.
struct ReviewerGroup {
  Located<std::string> name;
  std::vector<PathRef> public_keys;
  std::optional<PathRef> public_key_dir;
  std::vector<KeylessIdentity> keyless;
  Position position;
};

struct Trust {
  std::vector<Signer> signers;
  std::vector<ReviewerGroup> reviewers;
  Position position;

  // find_signer / find_reviewers return the named entry or nullptr.
  const Signer* find_signer(std::string_view name) const;
  const ReviewerGroup* find_reviewers(std::string_view name) const;
};

// SignatureRule: model.sig verifies under `threshold` (default 1: any one) distinct named signers.
struct SignatureRule {
  std::vector<Located<std::string>> signers;
  Located<std::uint32_t> threshold;
  Position position;
};

// ProvenanceRule: SLSA provenance v1 or v0.2 for the model's root digest, signed by any of
// `signers`, whose builder id fully matches one of `builders` and, when given, whose buildType
// fully matches one of `build_types`.
struct ProvenanceRule {
  std::vector<Located<std::string>> signers;
  std::vector<Pattern> builders;
  std::vector<Pattern> build_types;
  Position position;
};

// ReviewsRule: at least `min_approvals` approvals by distinct identities from the `from` groups,
// excluding the model's signer and the provenance's signer unless relaxed.
struct ReviewsRule {
  Located<std::uint32_t> min_approvals;
  std::vector<Located<std::string>> from;
  Located<bool> exclude_signer;             // default true
  Located<bool> exclude_provenance_signer;  // default true
  Position position;
};

// DatasetsRule: every dataset dependency in the provenance is in `catalog`. Empty allow lists
// mean "any"; deny lists win over allow lists. deny_digests are 64 lowercase hex (no prefix).
struct DatasetsRule {
  PathRef catalog;
  std::vector<Located<std::string>> allow_classifications;
  std::vector<Located<std::string>> allow_licenses;
  std::vector<Located<std::string>> deny_classifications;
  std::vector<Located<std::string>> deny_licenses;
  std::vector<Located<std::string>> deny_datasets;
  std::vector<Located<std::string>> deny_digests;
  Located<bool> require_digest;  // default true
  Position position;
};

// BaseModelsRule: every base-model dependency is pinned by digest and (must_pass_policy) passes
// this same policy, recursively up to max_depth, cycles rejected.
struct BaseModelsRule {
  Located<bool> must_pass_policy;     // default true
  Located<std::uint32_t> max_depth;   // default kDefaultBaseModelDepth
  Position position;
};

// EvaluationRule: an in-toto test-result attestation for the model, signed by any of `signers`,
// naming `name` in its configuration, with result PASSED.
struct EvaluationRule {
  Located<std::string> name;
  std::vector<Located<std::string>> signers;
  Position position;
};

// Require: the rules; the parser guarantees signature or provenance is present.
struct Require {
  std::optional<SignatureRule> signature;
  std::optional<ProvenanceRule> provenance;
  std::optional<ReviewsRule> reviews;
  std::optional<DatasetsRule> datasets;
  std::optional<BaseModelsRule> base_models;
  std::vector<EvaluationRule> evaluations;
  std::optional<Located<std::chrono::seconds>> max_age;
  Position position;
};

// BreakGlass: who may override this policy, and for how long. The override is the annotation
// `annotation` (its value a non-empty reason) on the workload or pod template; it is honoured
// when the requesting user is in allowed_users or one of allowed_groups (the parser requires at
// least one when allowed is true), or when a built-in workload controller creates objects from a
// template so admitted. With max_duration, kBreakGlassExpiresAnnotation is required and may lie
// at most max_duration ahead.
struct BreakGlass {
  Located<bool> allowed;            // default false
  Located<std::string> annotation;  // default kDefaultBreakGlassAnnotation
  std::vector<Located<std::string>> allowed_users;   // exact user names
  std::vector<Located<std::string>> allowed_groups;  // exact group names
  std::optional<Located<std::chrono::seconds>> max_duration;
  Position position;
};

// kDefaultNotModelVolumeKinds: volume kinds admitted as "not a model" when a policy does not set
// otherVolumes.allow. Each holds small, API-managed content a pod author cannot point at model
// storage (emptyDir is empty at start; overlays onto a model mount are denied separately).
inline constexpr std::string_view kDefaultNotModelVolumeKinds[] = {"configMap", "secret", "projected", "downwardAPI",
                                                                   "emptyDir"};

// OtherVolumes: in a matched pod, every volume is claimed by a source or its kind (the API's key,
// e.g. "emptyDir") is in `allow`; anything else, including kinds unknown to modelgate, is denied.
struct OtherVolumes {
  std::vector<Located<std::string>> allow;  // default kDefaultNotModelVolumeKinds
  bool defaulted = true;                    // allow was not written
  Position position;

  bool allows(std::string_view kind) const;
};

// is_known_volume_kind is true for the volume source keys of core/v1 Volume (Kubernetes 1.35).
bool is_known_volume_kind(std::string_view kind);

struct Policy {
  Located<std::string> name;  // metadata.name, a DNS-1123 label
  Located<Mode> mode;         // default enforce
  Match match;
  std::vector<Source> sources;
  OtherVolumes other_volumes;
  Trust trust;
  Require require;
  BreakGlass break_glass;
  Position position;  // where the document starts
};

// ParseOutcome: the policies of one file, or none when any diagnostic is an error (warnings do
// not block). Diagnostics are ordered by position.
struct ParseOutcome {
  std::vector<Policy> policies;
  std::vector<Diagnostic> diagnostics;
  // expanded_bytes is the scalar text the parse walked, aliases counted at every use; set
  // loaders sum it against limits::kMaxPolicySetExpandedBytes.
  std::size_t expanded_bytes = 0;

  bool ok() const { return !has_errors(diagnostics); }
};

// parse_policy_documents parses every YAML document in `text` (empty ones skipped; any kind other
// than ModelPolicy is an error). `filename` is used in positions and to resolve relative paths.
// Collects ALL diagnostics; never throws. Bounds: limits::kMaxPolicyFileBytes, kMaxPolicyNodes,
// kMaxPolicyDepth, kMaxPolicyExpandedBytes, kMaxPolicies, kMaxPolicyListItems,
// kMaxPatternsPerPolicy. A pattern written (or aliased) several times is compiled once.
// Thread-safe.
ParseOutcome parse_policy_documents(std::string_view text, std::string_view filename);

// load_policy_file reads `path` (bounded; a file that cannot be read is one kIo diagnostic) and
// parses it as above. Thread-safe.
ParseOutcome load_policy_file(const std::filesystem::path& path);

// parse_duration reads "90d", "36h", "30m" or "45s" (one positive integer and one unit, at most
// limits::kMaxPolicyMaxAgeSeconds). Errors: kMalformed, kLimit.
[[nodiscard]] Result<std::chrono::seconds> parse_duration(std::string_view text);

}  // namespace modelgate::policy
