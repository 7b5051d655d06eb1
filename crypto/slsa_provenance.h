// slsa_provenance.h: SLSA provenance predicates (v1 and v0.2) read from a verified in-toto
// statement into the facts policies judge: builder, build type, times and dependencies (datasets,
// base models, sources, each with its role and sha256). Not verification and not policy: the
// caller verified the envelope (attestation.h) and decides what is allowed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "crypto/json.h"

namespace modelgate::crypto {

inline constexpr std::string_view kSlsaProvenanceV1 = "https://slsa.dev/provenance/v1";
inline constexpr std::string_view kSlsaProvenanceV02 = "https://slsa.dev/provenance/v0.2";

// Dependency is one resolvedDependencies (v1) / materials (v0.2) entry.
struct Dependency {
  std::string name;    // v1 ResourceDescriptor.name ("" when absent; v0.2 has none)
  std::string uri;     // "" when absent
  std::string sha256;  // digest.sha256, lowercase hex; "" when the entry has no sha256
  // role is annotations.role (v1): "dataset", "base-model", "source", ... ; "" when absent.
  // SLSA v0.2 materials carry no annotations, so their role is always "".
  std::string role;
};

struct Provenance {
  std::string predicate_type;  // kSlsaProvenanceV1 or kSlsaProvenanceV02
  std::string builder_id;      // v1 runDetails.builder.id; v0.2 builder.id
  std::string build_type;      // v1 buildDefinition.buildType; v0.2 buildType
  std::vector<Dependency> dependencies;
  // finished_on: v1 runDetails.metadata.finishedOn / v0.2 metadata.buildFinishedOn (unix seconds).
  std::optional<std::int64_t> finished_on;
};

// parse_provenance reads `predicate` of type `predicate_type` (v1 or v0.2). Required: builder id
// and build type (non-empty strings). Dependencies: ≤ limits::kMaxProvenanceDependencies, each an
// object; a sha256 digest must be 64 lowercase hex; annotations.role, when present, a string.
// Unknown fields are ignored (SLSA allows extension). Errors: kMalformed (with a JSON path),
// kUnsupported (other predicate types), kLimit. Thread-safe.
[[nodiscard]] Result<Provenance> parse_provenance(std::string_view predicate_type, const Json& predicate);

// provenance_v1_predicate builds a v1 predicate (buildDefinition + runDetails) from `p`, writing
// each dependency's role as annotations.role. Pure.
Json provenance_v1_predicate(const Provenance& p);

}  // namespace modelgate::crypto
