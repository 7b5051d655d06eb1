#include "kube/status.h"

#include <charconv>

#include "base/limits.h"
#include "crypto/json.h"

namespace modelgate::kube {

namespace {

Code code_for_status(int s) {
  switch (s) {
    case 401:
    case 403:
      return Code::kUntrusted;
    case 404:
      return Code::kNotFound;
    case 409:
      return Code::kMismatch;
    case 410:
      return Code::kMismatch;  // a resourceVersion or continue token that no longer exists
    case 413:
      return Code::kLimit;
    case 400:
    case 415:
    case 422:
      return Code::kMalformed;  // the server could not read what we sent
    case 429:
    case 504:
      return Code::kDeadline;
    default:
      return s >= 500 ? Code::kIo : Code::kUnsupported;
  }
}

// Quote a server string for a message: capped and with control bytes escaped, as every untrusted
// string we echo (STYLE.md §5).
std::string quote_capped(std::string_view s, std::size_t cap = 300) {
  std::string out = "\"";
  std::size_t n = 0;
  for (char ch : s) {
    if (n++ == cap) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
      static constexpr char kHex[] = "0123456789abcdef";
      out += c == '"' ? std::string("\\\"") : c == '\\' ? std::string("\\\\") : std::string("\\x") + kHex[c >> 4] + kHex[c & 15];
    } else {
      out.push_back(ch);
    }
  }
  out += "\"";
  return out;
}

}  // namespace

ApiError transport_error(Code code, std::string message) {
  ApiError e;
  e.code = code;
  e.message = std::move(message);
  return e;
}

ApiError api_error_from_response(int http_status, std::string_view retry_after_header, std::string_view body,
                                 const RequestDescription& what) {
  ApiError e;
  e.http_status = http_status;
  e.code = code_for_status(http_status);
  std::string server_message;
  // Bodies of errors are small Status objects; anything bigger is not worth parsing.
  if (body.size() <= (1u << 20)) {
    auto parsed = crypto::parse_json(body, crypto::JsonLimits{1u << 20, limits::kMaxKubeJsonDepth});
    if (parsed.ok() && parsed->is_object()) {
      const crypto::Json& j = *parsed;
      const auto* kind = crypto::find_field(j, "kind");
      if (kind != nullptr && kind->is_string() && kind->get<std::string>() == "Status") {
        if (const auto* r = crypto::find_field(j, "reason"); r != nullptr && r->is_string()) {
          e.reason = r->get<std::string>().substr(0, 64);
        }
        if (const auto* m = crypto::find_field(j, "message"); m != nullptr && m->is_string()) {
          server_message = m->get<std::string>();
        }
        if (const auto* md = crypto::find_field(j, "metadata"); md != nullptr && md->is_object()) {
          if (const auto* c = crypto::find_field(*md, "continue"); c != nullptr && c->is_string()) {
            e.continue_token = c->get<std::string>().substr(0, limits::kMaxKubeFieldBytes);
          }
        }
        if (const auto* d = crypto::find_field(j, "details"); d != nullptr && d->is_object()) {
          if (const auto* ra = crypto::find_field(*d, "retryAfterSeconds");
              ra != nullptr && ra->is_number_integer() && ra->get<std::int64_t>() > 0) {
            e.retry_after = std::chrono::seconds(std::min<std::int64_t>(ra->get<std::int64_t>(), 600));
          }
        }
      }
    }
  }
  if (e.retry_after.count() == 0 && !retry_after_header.empty()) {
    int secs = 0;
    auto [p, ec] = std::from_chars(retry_after_header.data(), retry_after_header.data() + retry_after_header.size(), secs);
    if (ec == std::errc() && p == retry_after_header.data() + retry_after_header.size() && secs > 0) {
      e.retry_after = std::chrono::seconds(std::min(secs, 600));
    }
  }
  std::string scope = what.ns.empty() ? "all namespaces" : "namespace " + quote_capped(what.ns, 63);
  std::string target = what.resource + " (group \"" + what.group + "\", " + scope + ")";
  std::string msg;
  if (http_status == 403) {
    msg = "forbidden: cannot " + what.verb + " " + target +
          ": grant the verb on the resource to modelgate's service account (RBAC)";
  } else if (http_status == 401) {
    msg = "unauthorized: the apiserver rejected our credentials for " + what.verb + " " + target +
          " (an expired or wrong token, or a client certificate it does not trust)";
  } else {
    msg = what.verb + " " + target + ": HTTP " + std::to_string(http_status);
    if (!e.reason.empty()) {
      msg += " " + e.reason;
    }
  }
  if (!server_message.empty()) {
    msg += "; apiserver: " + quote_capped(server_message);
  }
  e.message = std::move(msg);
  return e;
}

}  // namespace modelgate::kube
