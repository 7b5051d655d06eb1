// auth.h: the registry auth handshake's pure parts: a WWW-Authenticate challenge (RFC 9110 §11.6.1,
// Docker's token auth: Bearer realm/service/scope, or Basic), the token endpoint's JSON answer, and
// the error body of the distribution spec ({"errors":[{"code","message"}]}).
// Not I/O: client.cpp asks the token endpoint and retries.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "base/result.h"

namespace modelgate::oci {

// Challenge is one parsed WWW-Authenticate challenge.
struct Challenge {
  std::string scheme;                         // lowercase: "bearer", "basic"
  std::map<std::string, std::string> params;  // lowercase names: "realm", "service", "scope"
};

// parse_challenge reads the first challenge of a WWW-Authenticate value: a scheme token, then
// comma-separated name=value or name="quoted" parameters. Errors: kMalformed. Pure.
[[nodiscard]] Result<Challenge> parse_challenge(std::string_view header);

// parse_token_response reads a token endpoint's JSON (`token`, or `access_token`; ≤
// limits::kMaxOciTokenResponseBytes) and returns the bearer token. Errors: kMalformed (no token,
// a token with bytes a header cannot carry), kLimit. Pure.
[[nodiscard]] Result<std::string> parse_token_response(std::string_view json);

// describe_registry_errors renders a distribution error body as "CODE: message; CODE: message"
// (each quoted and capped, at most 4), or "" when `body` is not one. Pure.
std::string describe_registry_errors(std::string_view body);

// basic_authorization returns "Basic " + base64("user:password").
std::string basic_authorization(std::string_view user, std::string_view password);

}  // namespace modelgate::oci
