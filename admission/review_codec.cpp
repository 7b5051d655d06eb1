#include "admission/review_codec.h"

#include <cstdio>

#include "base/limits.h"

namespace modelgate::admission {

namespace {

constexpr std::string_view kApiVersion = "admission.k8s.io/v1";
constexpr std::size_t kMaxWarningBytes = 120;

Result<std::string> optional_string(const crypto::Json& obj, std::string_view key, std::string_view path) {
  const crypto::Json* v = crypto::find_field(obj, key);
  if (v == nullptr) {
    return std::string();
  }
  if (!v->is_string()) {
    return make_error(Code::kMalformed, std::string(path) + "." + std::string(key) + ": expected a string");
  }
  return v->get<std::string>();
}

Result<Operation> parse_operation(std::string_view s) {
  if (s == "CREATE") {
    return Operation::kCreate;
  }
  if (s == "UPDATE") {
    return Operation::kUpdate;
  }
  if (s == "DELETE") {
    return Operation::kDelete;
  }
  if (s == "CONNECT") {
    return Operation::kConnect;
  }
  return make_error(Code::kUnsupported, "request.operation: unknown operation \"" + sanitize_for_user(s) + "\"");
}

// Cut to at most `max` bytes without splitting a UTF-8 sequence.
std::size_t utf8_cut(std::string_view s, std::size_t max) {
  if (s.size() <= max) {
    return s.size();
  }
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) {
    --n;
  }
  return n;
}

}  // namespace

std::string_view operation_name(Operation op) {
  switch (op) {
    case Operation::kCreate: return "CREATE";
    case Operation::kUpdate: return "UPDATE";
    case Operation::kDelete: return "DELETE";
    case Operation::kConnect: return "CONNECT";
  }
  return "CREATE";
}

std::string sanitize_for_user(std::string_view s) {
  std::size_t n = utf8_cut(s, limits::kMaxEchoedStringBytes);
  std::string out;
  out.reserve(n + 8);
  for (std::size_t i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (n < s.size()) {
    out += "\xe2\x80\xa6";  // "…"
  }
  return out;
}

Result<AdmissionRequest> decode_admission_review(std::string_view body) {
  MG_ASSIGN_OR_RETURN_CTX(crypto::Json doc,
                          crypto::parse_json(body, {limits::kMaxAdmissionReviewBytes, limits::kMaxAdmissionJsonDepth}),
                          "admission review");
  if (!doc.is_object()) {
    return make_error(Code::kMalformed, "admission review: expected a JSON object");
  }
  MG_ASSIGN_OR_RETURN(std::string kind, crypto::get_string(doc, "kind", "AdmissionReview"));
  if (kind != "AdmissionReview") {
    return make_error(Code::kMalformed, "AdmissionReview.kind: expected \"AdmissionReview\", got \"" +
                                            sanitize_for_user(kind) + "\"");
  }
  MG_ASSIGN_OR_RETURN(std::string api_version, crypto::get_string(doc, "apiVersion", "AdmissionReview"));
  if (api_version != kApiVersion) {
    return make_error(Code::kUnsupported, "AdmissionReview.apiVersion: \"" + sanitize_for_user(api_version) +
                                              "\" is not supported (register the webhook with "
                                              "admissionReviewVersions: [v1])");
  }
  MG_ASSIGN_OR_RETURN(const crypto::Json* req, crypto::get_object(doc, "request", "AdmissionReview"));

  AdmissionRequest out;
  MG_ASSIGN_OR_RETURN(out.uid, crypto::get_string(*req, "uid", "request"));
  if (out.uid.empty()) {
    return make_error(Code::kMalformed, "request.uid: is empty");
  }
  MG_ASSIGN_OR_RETURN(const crypto::Json* gvk, crypto::get_object(*req, "kind", "request"));
  MG_ASSIGN_OR_RETURN(out.kind.group, optional_string(*gvk, "group", "request.kind"));
  MG_ASSIGN_OR_RETURN(out.kind.version, crypto::get_string(*gvk, "version", "request.kind"));
  MG_ASSIGN_OR_RETURN(out.kind.kind, crypto::get_string(*gvk, "kind", "request.kind"));
  MG_ASSIGN_OR_RETURN(out.sub_resource, optional_string(*req, "subResource", "request"));
  MG_ASSIGN_OR_RETURN(out.name, optional_string(*req, "name", "request"));
  MG_ASSIGN_OR_RETURN(out.namespace_name, optional_string(*req, "namespace", "request"));
  MG_ASSIGN_OR_RETURN(std::string op, crypto::get_string(*req, "operation", "request"));
  MG_ASSIGN_OR_RETURN(out.operation, parse_operation(op));
  if (const crypto::Json* ui = crypto::find_field(*req, "userInfo"); ui != nullptr) {
    if (!ui->is_object()) {
      return make_error(Code::kMalformed, "request.userInfo: expected an object");
    }
    MG_ASSIGN_OR_RETURN(out.username, optional_string(*ui, "username", "request.userInfo"));
    if (const crypto::Json* groups = crypto::find_field(*ui, "groups"); groups != nullptr) {
      if (!groups->is_array()) {
        return make_error(Code::kMalformed, "request.userInfo.groups: expected an array");
      }
      for (const auto& g : *groups) {
        if (!g.is_string()) {
          return make_error(Code::kMalformed, "request.userInfo.groups: expected strings");
        }
        out.groups.push_back(g.get<std::string>());
      }
    }
  }
  if (const crypto::Json* dry = crypto::find_field(*req, "dryRun"); dry != nullptr) {
    if (!dry->is_boolean()) {
      return make_error(Code::kMalformed, "request.dryRun: expected true or false");
    }
    out.dry_run = dry->get<bool>();
  }
  if (const crypto::Json* obj = crypto::find_field(*req, "object"); obj != nullptr) {
    if (!obj->is_object()) {
      return make_error(Code::kMalformed, "request.object: expected an object");
    }
    out.object = *obj;
  } else if (out.operation == Operation::kCreate || out.operation == Operation::kUpdate) {
    return make_error(Code::kMalformed, "request.object: is missing for " + std::string(operation_name(out.operation)));
  }
  if (const crypto::Json* old = crypto::find_field(*req, "oldObject"); old != nullptr) {
    if (!old->is_object()) {
      return make_error(Code::kMalformed, "request.oldObject: expected an object");
    }
    out.old_object = *old;
  }
  return out;
}

std::string encode_admission_review(const AdmissionResponse& r) {
  crypto::Json resp = {{"uid", r.uid}, {"allowed", r.allowed}};
  crypto::Json status = {{"code", r.code}};
  if (!r.message.empty()) {
    status["message"] = r.message;
  }
  if (!r.allowed) {
    status["reason"] = r.code == 403 ? "Forbidden" : (r.code == 400 ? "BadRequest" : "InternalError");
  }
  resp["status"] = std::move(status);
  if (!r.warnings.empty()) {
    crypto::Json warnings = crypto::Json::array();
    for (const auto& w : r.warnings) {
      // The apiserver rejects warnings with control characters and truncates long ones; do it here.
      std::string clean;
      std::size_t n = utf8_cut(w, kMaxWarningBytes);
      for (std::size_t i = 0; i < n; ++i) {
        unsigned char c = static_cast<unsigned char>(w[i]);
        clean.push_back(c < 0x20 || c == 0x7f ? ' ' : static_cast<char>(c));
      }
      warnings.push_back(std::move(clean));
    }
    resp["warnings"] = std::move(warnings);
  }
  if (!r.audit_annotations.empty()) {
    resp["auditAnnotations"] = r.audit_annotations;
  }
  crypto::Json review = {{"apiVersion", kApiVersion}, {"kind", "AdmissionReview"}, {"response", std::move(resp)}};
  // Replace invalid UTF-8 rather than throw: messages may quote hostile names.
  return review.dump(-1, ' ', false, crypto::Json::error_handler_t::replace);
}

}  // namespace modelgate::admission
