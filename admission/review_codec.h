// review_codec.h: AdmissionReview admission.k8s.io/v1 requests in, responses out (JSON).
// Not workload semantics: which pod spec an object carries is workload.h; what to decide is policy's.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "crypto/json.h"

namespace modelgate::admission {

enum class Operation { kCreate, kUpdate, kDelete, kConnect };

// operation_name returns "CREATE", "UPDATE", "DELETE" or "CONNECT".
std::string_view operation_name(Operation op);

struct GroupVersionKind {
  std::string group;  // "" for the core group
  std::string version;
  std::string kind;
};

// AdmissionRequest is the decoded `request` of an AdmissionReview. Nothing in it is trusted
// beyond its shape: the apiserver authenticated the user, but object contents are the user's.
struct AdmissionRequest {
  std::string uid;
  GroupVersionKind kind;
  std::string sub_resource;  // "" unless e.g. "status", "scale", "ephemeralcontainers"
  std::string name;          // may be "" on CREATE with generateName
  std::string namespace_name;
  Operation operation = Operation::kCreate;
  std::string username;
  std::vector<std::string> groups;
  bool dry_run = false;
  crypto::Json object;                    // null for DELETE
  std::optional<crypto::Json> old_object;  // UPDATE and DELETE
};

// decode_admission_review parses an AdmissionReview v1 body. Errors (the server answers HTTP 400
// with the message): kLimit (body larger than limits::kMaxAdmissionReviewBytes, or nested deeper
// than kMaxAdmissionJsonDepth), kMalformed (not JSON; not an AdmissionReview; missing uid, kind,
// operation), kUnsupported (apiVersion other than admission.k8s.io/v1, unknown operation).
// Thread-safe.
[[nodiscard]] Result<AdmissionRequest> decode_admission_review(std::string_view body);

// AdmissionResponse is what we answer. `code` is the HTTP-like status the apiserver shows:
// 200 when allowed; 403 when denied by policy; 400 for a request we could not understand;
// 500 for our own failure (still denied: fail closed).
struct AdmissionResponse {
  std::string uid;
  bool allowed = false;
  int code = 403;
  std::string message;                              // status.message, shown by kubectl
  std::vector<std::string> warnings;                // each <= 120 chars (STYLE.md §5)
  std::map<std::string, std::string> audit_annotations;  // keys without the webhook prefix
};

// encode_admission_review returns the AdmissionReview v1 JSON for `response`. Warnings are capped
// and control bytes escaped. Thread-safe.
std::string encode_admission_review(const AdmissionResponse& response);

// sanitize_for_user quotes nothing but cuts `s` to limits::kMaxEchoedStringBytes (on a UTF-8
// boundary, with "…" appended) and escapes control bytes as \xHH, for echoing untrusted strings.
std::string sanitize_for_user(std::string_view s);

}  // namespace modelgate::admission
