// fuzz-dict: json.dict
// fuzz-max-len: 65536
// review_codec_fuzz.cpp: decode_admission_review on arbitrary bodies, and encode_admission_review
// of answers that echo what was decoded. Properties: never kInternal; a decoded request has a uid,
// a kind and version, an object for CREATE/UPDATE, and its operation's name; the encoded answer
// is AdmissionReview v1 JSON carrying the same uid and verdict, whatever the message, warnings and
// annotations hold (invalid UTF-8 and control bytes included), with warnings of at most 120
// characters and no control bytes; sanitize_for_user output is bounded and free of control bytes.
#include <cstdint>
#include <string>

#include "admission/review_codec.h"
#include "base/limits.h"
#include "base/utf8.h"
#include "crypto/json.h"
#include "fuzz/fuzz_check.h"

namespace {

using namespace modelgate;
using namespace modelgate::admission;

std::size_t code_points(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) {
    n += (c & 0xC0) != 0x80;
  }
  return n;
}

bool has_c0_or_del(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) {
      return true;
    }
  }
  return false;
}

void check_encoded(const AdmissionResponse& r) {
  const std::string body = encode_admission_review(r);
  auto doc = crypto::parse_json(body, {limits::kMaxAdmissionReviewBytes * 4, limits::kMaxAdmissionJsonDepth});
  FUZZ_CHECK(doc.ok(), "the answer is JSON: " + (doc.ok() ? std::string() : doc.error().message));
  FUZZ_CHECK((*doc)["apiVersion"] == "admission.k8s.io/v1" && (*doc)["kind"] == "AdmissionReview", "AdmissionReview v1");
  const auto& resp = (*doc)["response"];
  FUZZ_CHECK(resp.is_object() && resp["allowed"].is_boolean() && resp["allowed"].get<bool>() == r.allowed,
             "the verdict is what was decided");
  FUZZ_CHECK(resp["uid"].is_string(), "the answer has a uid");
  if (is_valid_utf8(r.uid)) {  // invalid UTF-8 is replaced, never thrown on
    FUZZ_CHECK(resp["uid"].get<std::string>() == r.uid, "the answer carries the request's uid");
  }
  FUZZ_CHECK(resp["status"]["code"] == r.code, "the status code is what was decided");
  if (!r.warnings.empty()) {
    FUZZ_CHECK(resp["warnings"].is_array() && resp["warnings"].size() == r.warnings.size(), "every warning is sent");
    for (const auto& w : resp["warnings"]) {
      const std::string s = w.get<std::string>();
      FUZZ_CHECK(code_points(s) <= 120, "a warning is at most 120 characters: " + std::to_string(code_points(s)));
      FUZZ_CHECK(!has_c0_or_del(s), "a warning has no control bytes");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body = fuzz::as_text(data, size);

  const std::string clean = sanitize_for_user(body);
  FUZZ_CHECK(!has_c0_or_del(clean), "sanitize_for_user escapes control bytes");
  FUZZ_CHECK(clean.size() <= 4 * limits::kMaxEchoedStringBytes + 3, "sanitize_for_user is bounded");

  auto req = decode_admission_review(body);
  fuzz::check_not_internal(req, "decode_admission_review");

  AdmissionResponse resp;
  if (req.ok()) {
    FUZZ_CHECK(body.find('\0') == std::string_view::npos, "a body with a NUL byte is refused, not cut there");
    FUZZ_CHECK(!req->uid.empty(), "a request has a uid");
    FUZZ_CHECK(req->operation == Operation::kCreate || req->operation == Operation::kUpdate ||
                   req->operation == Operation::kDelete || req->operation == Operation::kConnect,
               "a known operation");
    FUZZ_CHECK(!operation_name(req->operation).empty(), "operation name");
    if (req->operation == Operation::kCreate || req->operation == Operation::kUpdate) {
      FUZZ_CHECK(req->object.is_object(), "CREATE and UPDATE carry an object");
    }
    if (req->old_object) {
      FUZZ_CHECK(req->old_object->is_object(), "oldObject is an object");
    }
    resp.uid = req->uid;
    resp.allowed = (size & 1) != 0;
    resp.code = resp.allowed ? 200 : 403;
    resp.message = "model " + sanitize_for_user(req->name) + " in " + sanitize_for_user(req->namespace_name);
    resp.warnings = {req->username, req->uid, std::string(body.substr(0, 300))};
    resp.audit_annotations = {{"reason", req->kind.kind}, {"user", req->username}};
  } else {
    // The server answers an undecodable body with the error text: it must encode too.
    resp.uid = std::string(body.substr(0, 64));
    resp.allowed = false;
    resp.code = req.error().code == Code::kLimit ? 413 : 400;
    resp.message = req.error().message;
    resp.warnings = {std::string(body.substr(0, 200))};
    resp.audit_annotations = {{"reason", std::string(body.substr(0, 40))}};
  }
  check_encoded(resp);
  return 0;
}
