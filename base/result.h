// result.h: Error and Result<T>, the error-as-value types every module returns across file boundaries.
// Not an exception mechanism and not a logger: it carries a code and a message a user can act on.
#pragma once

#include <cassert>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace modelgate {

// Code says what happened, not where (STYLE.md §3).
enum class Code {
  kMalformed,     // input cannot be read as the format it claims
  kUnsupported,   // well-formed, but a version/algorithm/feature we do not accept
  kLimit,         // input exceeds a bound in base/limits.h
  kNotFound,      // a named thing does not exist
  kIo,            // the OS said no (open, read, stat, mmap, SIGBUS)
  kMismatch,      // two things that must be equal are not (digests, names, keys)
  kBadSignature,  // the math said no
  kUntrusted,     // valid, but from no one we trust (or outside a validity window)
  kDeadline,      // ran out of time
  kInternal,      // our bug
};

// code_name returns the stable snake_case token for `c` ("malformed", "bad_signature", ...).
constexpr std::string_view code_name(Code c) {
  switch (c) {
    case Code::kMalformed: return "malformed";
    case Code::kUnsupported: return "unsupported";
    case Code::kLimit: return "limit";
    case Code::kNotFound: return "not_found";
    case Code::kIo: return "io";
    case Code::kMismatch: return "mismatch";
    case Code::kBadSignature: return "bad_signature";
    case Code::kUntrusted: return "untrusted";
    case Code::kDeadline: return "deadline";
    case Code::kInternal: return "internal";
  }
  return "internal";
}

// Error is a code plus a lowercase message with no trailing period. Context is prepended as the
// error travels up, so the message reads as a path: "model.sig: bundle: certificate: ...".
struct Error {
  Code code = Code::kInternal;
  std::string message;

  // context returns this error with "`ctx`: " prepended to the message.
  [[nodiscard]] Error context(std::string_view ctx) && {
    std::string m;
    m.reserve(ctx.size() + 2 + message.size());
    m.append(ctx).append(": ").append(message);
    return Error{code, std::move(m)};
  }
  [[nodiscard]] Error context(std::string_view ctx) const& { return Error(*this).context(ctx); }
};

inline Error make_error(Code code, std::string message) { return Error{code, std::move(message)}; }

// Result<T> holds a T or an Error (the shape of C++23 std::expected). Accessing the wrong
// alternative is a broken invariant and aborts, in release builds too.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { check(true); return std::get<0>(v_); }
  const T& value() const& { check(true); return std::get<0>(v_); }
  T&& value() && { check(true); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }

  const Error& error() const& { check(false); return std::get<1>(v_); }
  Error&& error() && { check(false); return std::get<1>(std::move(v_)); }

 private:
  void check(bool want_value) const {
    if (ok() != want_value) {
      std::abort();
    }
  }
  std::variant<T, Error> v_;
};

// Result<void> is a status: ok, or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : err_(std::move(error)), ok_(false) {}  // NOLINT

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const& {
    if (ok_) {
      std::abort();
    }
    return err_;
  }
  Error&& error() && {
    if (ok_) {
      std::abort();
    }
    return std::move(err_);
  }

 private:
  Error err_;
  bool ok_ = true;
};

inline Result<void> ok_status() { return Result<void>(); }

}  // namespace modelgate

// MG_TRY(expr): evaluate a Result<void>-like expression; on error return it from the caller.
#define MG_TRY(expr)                          \
  do {                                        \
    auto mg_try_r_ = (expr);                  \
    if (!mg_try_r_.ok()) {                    \
      return std::move(mg_try_r_).error();    \
    }                                         \
  } while (0)

// MG_TRY_CTX(expr, ctx): as MG_TRY, prepending context `ctx` to the error message.
#define MG_TRY_CTX(expr, ctx)                           \
  do {                                                  \
    auto mg_try_r_ = (expr);                            \
    if (!mg_try_r_.ok()) {                              \
      return std::move(mg_try_r_).error().context(ctx); \
    }                                                   \
  } while (0)

#define MG_CONCAT_INNER_(a, b) a##b
#define MG_CONCAT_(a, b) MG_CONCAT_INNER_(a, b)

// MG_ASSIGN_OR_RETURN(decl, expr): `decl = std::move(value)` or return the error.
#define MG_ASSIGN_OR_RETURN(decl, expr) MG_ASSIGN_OR_RETURN_IMPL_(MG_CONCAT_(mg_r_, __LINE__), decl, expr, )
// MG_ASSIGN_OR_RETURN_CTX(decl, expr, ctx): same, prepending context `ctx` to the error.
#define MG_ASSIGN_OR_RETURN_CTX(decl, expr, ctx) \
  MG_ASSIGN_OR_RETURN_IMPL_(MG_CONCAT_(mg_r_, __LINE__), decl, expr, .context(ctx))
#define MG_ASSIGN_OR_RETURN_IMPL_(tmp, decl, expr, ctx_call) \
  auto tmp = (expr);                                         \
  if (!tmp.ok()) {                                           \
    return std::move(tmp).error() ctx_call;                  \
  }                                                          \
  decl = std::move(tmp).value()
