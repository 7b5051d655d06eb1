// status.h: errors of the Kubernetes API client as values: the HTTP status and the API's own
// `Status` object (reason Expired, Conflict, AlreadyExists, Forbidden, NotFound, ...), or a
// transport failure. Not a retry policy (informer.h decides what to retry).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "base/result.h"

namespace modelgate::kube {

// ApiError is one failed API call. `code` is the modelgate Code a caller that does not care about
// Kubernetes can use: kNotFound (404), kUntrusted (401, 403), kMismatch (409), kDeadline (504,
// 429, a request or watch that ran out of time), kIo (transport, 5xx), kMalformed (a response we
// cannot read), kLimit (a response over a bound), kUnsupported (configuration we do not support).
struct ApiError {
  Code code = Code::kInternal;
  int http_status = 0;       // 0: no HTTP response (connect, TLS, cut connection, timeout)
  std::string reason;        // Status.reason ("Expired", "Conflict", ...), "" when there was none
  std::string message;       // what happened, with context; safe to log (no tokens, no bodies)
  std::chrono::seconds retry_after{0};  // Retry-After / details.retryAfterSeconds, 0 when absent
  std::string continue_token;           // a 410 on a stale continue carries a fresh (inconsistent) one

  // expired is true for HTTP 410 or Status reason "Expired"/"Gone": the resourceVersion or
  // continue token is too old, relist.
  bool expired() const { return http_status == 410 || reason == "Expired" || reason == "Gone"; }
  bool not_found() const { return http_status == 404; }
  bool conflict() const { return reason == "Conflict"; }
  bool already_exists() const { return reason == "AlreadyExists"; }
  bool forbidden() const { return http_status == 403; }
  // to_error drops the Kubernetes detail: {code, message}.
  Error to_error() const { return Error{code, message}; }
  // context prepends "`ctx`: " to the message.
  ApiError context(std::string_view ctx) && {
    message = std::string(ctx) + ": " + message;
    return std::move(*this);
  }
};

// transport_error makes an ApiError with no HTTP response.
ApiError transport_error(Code code, std::string message);

// RequestDescription names what was asked, so a 403 can say which RBAC verb on which resource is
// missing: verb "list", resource "persistentvolumeclaims", group "" (core), namespace "" (all).
struct RequestDescription {
  std::string verb;
  std::string resource;
  std::string group;
  std::string ns;
};

// api_error_from_response builds the error for an HTTP status >= 300 and its body. A `Status`
// body (kind "Status") supplies reason, message, details.retryAfterSeconds and the 410 continue
// token; any other body is summarised by status only (never echoed: it may be a proxy's HTML).
// A 403 message names the missing permission: `cannot list persistentvolumeclaims (group "",
// all namespaces): grant the verb to the service account (RBAC); apiserver: "<its message>"`.
// Pure. Thread-safe.
ApiError api_error_from_response(int http_status, std::string_view retry_after_header, std::string_view body,
                                 const RequestDescription& what);

// ApiResult<T> holds a T or an ApiError (the shape of Result<T>). Accessing the wrong alternative
// aborts.
template <class T>
class [[nodiscard]] ApiResult {
 public:
  ApiResult(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  ApiResult(ApiError error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { check(true); return std::get<0>(v_); }
  const T& value() const& { check(true); return std::get<0>(v_); }
  T&& value() && { check(true); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  const ApiError& error() const& { check(false); return std::get<1>(v_); }
  ApiError&& error() && { check(false); return std::get<1>(std::move(v_)); }

 private:
  void check(bool want_value) const {
    if (ok() != want_value) {
      std::abort();
    }
  }
  std::variant<T, ApiError> v_;
};

// ApiStatus is ApiResult<void>: ok, or an ApiError.
struct Done {};
using ApiStatus = ApiResult<Done>;

}  // namespace modelgate::kube
