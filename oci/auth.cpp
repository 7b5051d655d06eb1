#include "oci/auth.h"

#include <cctype>

#include "base/limits.h"
#include "crypto/encoding.h"
#include "crypto/json.h"
#include "crypto/quote.h"

namespace modelgate::oci {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

bool token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

void skip_space(std::string_view& s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
}

}  // namespace

Result<Challenge> parse_challenge(std::string_view h) {
  if (h.size() > limits::kMaxKubeHeaderBytes) {
    return make_error(Code::kLimit, "WWW-Authenticate header too long");
  }
  Challenge c;
  skip_space(h);
  std::size_t n = 0;
  while (n < h.size() && token_char(h[n])) {
    ++n;
  }
  if (n == 0) {
    return make_error(Code::kMalformed, "WWW-Authenticate has no auth scheme");
  }
  c.scheme = lower(h.substr(0, n));
  h.remove_prefix(n);
  // auth-param = token BWS "=" BWS ( token / quoted-string ), separated by commas (RFC 9110 §11.2).
  while (true) {
    skip_space(h);
    while (!h.empty() && h.front() == ',') {
      h.remove_prefix(1);
      skip_space(h);
    }
    if (h.empty()) {
      break;
    }
    std::size_t k = 0;
    while (k < h.size() && token_char(h[k])) {
      ++k;
    }
    if (k == 0) {
      return make_error(Code::kMalformed, "WWW-Authenticate parameter has no name");
    }
    std::string name = lower(h.substr(0, k));
    h.remove_prefix(k);
    skip_space(h);
    if (h.empty() || h.front() != '=') {
      // A second challenge ("Bearer ..., Basic realm=...") starts here: the first one is enough.
      break;
    }
    h.remove_prefix(1);
    skip_space(h);
    std::string value;
    if (!h.empty() && h.front() == '"') {
      h.remove_prefix(1);
      bool closed = false;
      while (!h.empty()) {
        char ch = h.front();
        h.remove_prefix(1);
        if (ch == '\\' && !h.empty()) {
          value.push_back(h.front());
          h.remove_prefix(1);
          continue;
        }
        if (ch == '"') {
          closed = true;
          break;
        }
        value.push_back(ch);
      }
      if (!closed) {
        return make_error(Code::kMalformed, "WWW-Authenticate has an unterminated quoted string");
      }
    } else {
      std::size_t v = 0;
      while (v < h.size() && token_char(h[v])) {
        ++v;
      }
      value = std::string(h.substr(0, v));
      h.remove_prefix(v);
    }
    c.params[name] = std::move(value);
  }
  return c;
}

Result<std::string> parse_token_response(std::string_view json) {
  MG_ASSIGN_OR_RETURN_CTX(crypto::Json doc, crypto::parse_json(json, {limits::kMaxOciTokenResponseBytes, 16}),
                          "token response");
  if (!doc.is_object()) {
    return make_error(Code::kMalformed, "token response: not a JSON object");
  }
  std::string token;
  for (std::string_view key : {"token", "access_token"}) {
    const crypto::Json* t = crypto::find_field(doc, key);
    if (t != nullptr && t->is_string() && !t->get<std::string>().empty()) {
      token = t->get<std::string>();
      break;
    }
  }
  if (token.empty()) {
    return make_error(Code::kMalformed, "token response holds no token");
  }
  for (char c : token) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      return make_error(Code::kMalformed, "token response: token holds bytes a header cannot carry");
    }
  }
  return token;
}

std::string describe_registry_errors(std::string_view body) {
  if (body.empty() || body.size() > limits::kMaxOciErrorBodyBytes) {
    return "";
  }
  Result<crypto::Json> doc = crypto::parse_json(body, {limits::kMaxOciErrorBodyBytes, 16});
  if (!doc.ok() || !doc->is_object()) {
    return "";
  }
  const crypto::Json* errors = crypto::find_field(*doc, "errors");
  if (errors == nullptr || !errors->is_array()) {
    return "";
  }
  std::string out;
  std::size_t shown = 0;
  for (const crypto::Json& e : *errors) {
    if (!e.is_object() || shown == 4) {
      continue;
    }
    const crypto::Json* code = crypto::find_field(e, "code");
    const crypto::Json* message = crypto::find_field(e, "message");
    if (code == nullptr || !code->is_string()) {
      continue;
    }
    // Codes are [A-Z_]+ in the spec; anything else is shown quoted.
    const std::string& cs = code->get_ref<const std::string&>();
    const bool plain = !cs.empty() && cs.size() <= 64 &&
                       cs.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ_") == std::string::npos;
    out += (shown == 0 ? "" : "; ") + (plain ? cs : crypto::quote_untrusted(cs));
    if (message != nullptr && message->is_string() && !message->get_ref<const std::string&>().empty()) {
      out += ": " + crypto::quote_untrusted(message->get_ref<const std::string&>());
    }
    ++shown;
  }
  return out;
}

std::string basic_authorization(std::string_view user, std::string_view password) {
  std::string up = std::string(user) + ":" + std::string(password);
  return "Basic " + crypto::base64_encode(crypto::as_bytes(up));
}

}  // namespace modelgate::oci
