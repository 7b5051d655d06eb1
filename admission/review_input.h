// review_input.h: turn what `modelgate review` and `policy test` are given — an AdmissionReview
// JSON, or one or more workload manifests in YAML or JSON — into AdmissionRequests, exactly as an
// apiserver would send them for CREATE. Not decisions (webhook.h) and not the CLI.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "admission/review_codec.h"
#include "base/result.h"

namespace modelgate::admission {

// parse_review_input reads `text` (from file `name`, for messages): an AdmissionReview (JSON with
// kind AdmissionReview) is decoded as the webhook would; anything else is taken as YAML documents
// (JSON is YAML), each a Kubernetes object with apiVersion, kind and metadata.name, wrapped as a
// CREATE request in `default_namespace` unless metadata.namespace says otherwise. Scalars keep
// their YAML types (quoted "true" stays a string). Bounds: limits::kMaxAdmissionReviewBytes,
// kMaxAdmissionJsonDepth, and the policy YAML node bounds. Errors: kMalformed with a position,
// kLimit. Thread-safe.
[[nodiscard]] Result<std::vector<AdmissionRequest>> parse_review_input(std::string_view text, const std::string& name,
                                                                      const std::string& default_namespace);

// read_review_input reads `path` (bounded) and parses it. Errors: as above plus kNotFound, kIo.
[[nodiscard]] Result<std::vector<AdmissionRequest>> read_review_input(const std::filesystem::path& path,
                                                                     const std::string& default_namespace);

}  // namespace modelgate::admission
