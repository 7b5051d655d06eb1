// client_impl.h: the inside of oci::Client (client.cpp, referrers.cpp): one HTTPS exchange over
// cpp-httplib with the per-call timeout and body caps, the auth handshake (Basic, or Bearer via the
// challenge's token realm) and the digest cache. Internal: include only from oci/*.cpp.
#pragma once

#include <httplib.h>

#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "crypto/encoding.h"
#include "crypto/quote.h"
#include "crypto/sha256.h"
#include "oci/auth.h"
#include "oci/client.h"

namespace modelgate::oci {

namespace detail {

using Clock = std::chrono::steady_clock;

// Accept every manifest kind this client reads (distribution negotiates on Accept).
constexpr std::string_view kManifestAccept =
    "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";

// HostPort splits "host[:port]" / "[v6]:port" (port 443 by default).
struct HostPort {
  std::string host;
  int port = 443;
};

inline HostPort split_host_port(std::string_view endpoint) {
  HostPort hp;
  if (!endpoint.empty() && endpoint.front() == '[') {
    const std::size_t close = endpoint.find(']');
    hp.host = std::string(endpoint.substr(1, close - 1));
    if (close + 1 < endpoint.size() && endpoint[close + 1] == ':') {
      hp.port = std::stoi(std::string(endpoint.substr(close + 2)));
    }
    return hp;
  }
  const std::size_t colon = endpoint.rfind(':');
  if (colon == std::string_view::npos) {
    hp.host = std::string(endpoint);
  } else {
    hp.host = std::string(endpoint.substr(0, colon));
    hp.port = std::stoi(std::string(endpoint.substr(colon + 1)));
  }
  return hp;
}

// Url is an https URL split for httplib (the token realm).
struct Url {
  std::string endpoint;  // host[:port]
  std::string path;      // "/token" (with any query)
};

inline Result<Url> parse_https_url(std::string_view url) {
  constexpr std::string_view kScheme = "https://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    // Credentials must never travel in clear text, whatever a registry's challenge says.
    return make_error(Code::kUntrusted, "token realm " + crypto::quote_untrusted(url) + " is not https");
  }
  url.remove_prefix(kScheme.size());
  const std::size_t slash = url.find_first_of("/?");
  Url u;
  u.endpoint = std::string(url.substr(0, slash));
  u.path = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  if (u.path.front() == '?') {
    u.path = "/" + u.path;
  }
  if (u.endpoint.empty() || u.endpoint.find('@') != std::string::npos) {
    return make_error(Code::kMalformed, "token realm " + crypto::quote_untrusted(url) + " has no usable host");
  }
  return u;
}

inline std::string header_value(const httplib::Headers& h, const std::string& name) {
  auto it = h.find(name);  // httplib's Headers compare names case-insensitively
  return it == h.end() ? std::string() : it->second;
}

// Response is one HTTP exchange's outcome.
struct Response {
  int status = 0;
  httplib::Headers headers;
  std::string body;
};

// DigestCache keeps immutable content by digest, evicting oldest first past `max_bytes`.
class DigestCache {
 public:
  explicit DigestCache(std::size_t max_bytes) : max_bytes_(max_bytes) {}
  std::optional<std::pair<std::string, std::string>> get(const std::string& digest) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(digest);
    if (it == entries_.end()) {
      return std::nullopt;
    }
    return it->second;
  }
  void put(const std::string& digest, const std::string& media_type, const std::string& bytes) {
    if (bytes.size() > max_bytes_ / 4) {
      return;  // one huge entry would flush everything else
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (entries_.count(digest) != 0) {
      return;
    }
    entries_.emplace(digest, std::make_pair(media_type, bytes));
    order_.push_back(digest);
    used_ += bytes.size();
    while (used_ > max_bytes_ && !order_.empty()) {
      auto it = entries_.find(order_.front());
      used_ -= it->second.second.size();
      entries_.erase(it);
      order_.pop_front();
    }
  }

 private:
  std::size_t max_bytes_;
  std::mutex mu_;
  std::unordered_map<std::string, std::pair<std::string, std::string>> entries_;
  std::deque<std::string> order_;
  std::size_t used_ = 0;
};

}  // namespace detail

using namespace detail;

struct Client::Impl {
  ClientOptions options;
  DigestCache cache;
  std::mutex mu;
  // Authorization header values by "registry scope" (bearer tokens) or registry (basic).
  std::map<std::string, std::string> auth_by_scope;
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> cache_hits{0};

  explicit Impl(ClientOptions o) : options(std::move(o)), cache(options.cache_bytes) {}

  // Request describes one call; `scope` is the token scope it needs ("repository:x:pull").
  struct Request {
    std::string method;
    std::string endpoint;
    std::string path;
    httplib::Headers headers;
    std::string body;
    std::string content_type;
    std::size_t max_body = limits::kMaxOciErrorBodyBytes;
    // on_data, when set, receives the body instead of Response::body (streamed); its error stops
    // the transfer and is the call's result.
    std::function<Result<void>(std::string_view)> on_data;
    // limit_error names what an over-long body is ("manifest", "blob").
    std::string what;
  };

  std::unique_ptr<httplib::SSLClient> connect(const std::string& endpoint) {
    const HostPort hp = split_host_port(endpoint);
    auto cli = std::make_unique<httplib::SSLClient>(hp.host, hp.port);
    const auto secs = std::chrono::duration_cast<std::chrono::microseconds>(options.timeout).count();
    cli->set_connection_timeout(secs / 1'000'000, secs % 1'000'000);
    cli->set_read_timeout(secs / 1'000'000, secs % 1'000'000);
    cli->set_write_timeout(secs / 1'000'000, secs % 1'000'000);
    cli->set_follow_location(false);
    cli->set_decompress(false);
    cli->set_keep_alive(false);
    cli->set_tcp_nodelay(true);  // headers and body go in separate writes: no Nagle + delayed-ACK stall
    cli->enable_server_certificate_verification(true);
    if (!options.ca_file.empty()) {
      // Loaded with SSL_CTX_load_verify_locations and nothing else: a store handed to
      // set_ca_cert_store would get the system's default paths added by httplib's load_certs.
      cli->set_ca_cert_path(options.ca_file.string());
    }
    return cli;
  }

  // send performs one exchange (no auth retry).
  Result<Response> send(const Request& rq, const httplib::Headers& extra) {
    ++requests;
    std::unique_ptr<httplib::SSLClient> cli = connect(rq.endpoint);
    httplib::Headers headers = rq.headers;
    headers.insert(extra.begin(), extra.end());
    headers.emplace("User-Agent", "modelgate");
    const Clock::time_point deadline = Clock::now() + options.timeout;
    Response out;
    std::optional<Error> stop;
    std::size_t received = 0;

    httplib::Request req;
    req.method = rq.method;
    req.path = rq.path;
    req.headers = headers;
    req.body = rq.body;
    if (!rq.content_type.empty()) {
      req.headers.emplace("Content-Type", rq.content_type);
    }
    bool streaming = false;
    req.response_handler = [&](const httplib::Response& r) {
      out.status = r.status;
      out.headers = r.headers;
      streaming = rq.on_data && r.status >= 200 && r.status < 300;
      const std::string cl = header_value(r.headers, "Content-Length");
      const std::size_t cap = streaming ? rq.max_body : std::max(rq.max_body, limits::kMaxOciErrorBodyBytes);
      if (!cl.empty() && cl.size() < 20 && cl.find_first_not_of("0123456789") == std::string::npos &&
          std::stoull(cl) > cap) {
        stop = make_error(Code::kLimit, (rq.what.empty() ? std::string("response") : rq.what) + " too large (" + cl +
                                            " > " + std::to_string(cap) + " bytes)");
        return false;
      }
      return true;
    };
    req.content_receiver = [&](const char* data, std::size_t n, std::uint64_t, std::uint64_t) {
      received += n;
      const std::size_t cap = streaming ? rq.max_body : std::max(rq.max_body, limits::kMaxOciErrorBodyBytes);
      if (received > cap) {
        stop = make_error(Code::kLimit, (rq.what.empty() ? std::string("response") : rq.what) + " too large (> " +
                                            std::to_string(cap) + " bytes)");
        return false;
      }
      if (Clock::now() > deadline) {
        stop = make_error(Code::kDeadline, "no complete answer within " + std::to_string(options.timeout.count()) + " ms");
        return false;
      }
      if (streaming) {
        Result<void> r = rq.on_data(std::string_view(data, n));
        if (!r.ok()) {
          stop = std::move(r).error();
          return false;
        }
        return true;
      }
      out.body.append(data, n);
      return true;
    };
    if (rq.method == "HEAD") {
      req.content_receiver = nullptr;
    }
    httplib::Response res;
    httplib::Error err = httplib::Error::Success;
    const Clock::time_point started = Clock::now();
    const bool ok = cli->send(req, res, err);
    if (stop) {
      return *stop;
    }
    if (!ok) {
      const bool timed_out = err == httplib::Error::ConnectionTimeout ||
                             ((err == httplib::Error::Read || err == httplib::Error::SSLConnection ||
                               err == httplib::Error::Write) &&
                              Clock::now() - started >= options.timeout);
      if (timed_out) {
        return make_error(Code::kDeadline, "no answer within " + std::to_string(options.timeout.count()) + " ms");
      }
      if (err == httplib::Error::SSLServerVerification) {
        return make_error(Code::kIo, "TLS: the server certificate is not trusted (or not for this host)");
      }
      if (err == httplib::Error::Connection) {
        return make_error(Code::kIo, "cannot connect (" + httplib::to_string(err) + ")");
      }
      return make_error(Code::kIo, "request failed (" + httplib::to_string(err) + ")");
    }
    if (out.status == 0) {
      out.status = res.status;
      out.headers = res.headers;
    }
    return out;
  }

  // auth_for returns the Authorization value to send for `registry` and `scope`, if any.
  std::optional<std::string> cached_auth(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu);
    auto it = auth_by_scope.find(key);
    if (it == auth_by_scope.end()) {
      return std::nullopt;
    }
    return it->second;
  }

  // authenticate answers a 401's challenge and returns the Authorization value to retry with.
  Result<std::string> authenticate(const std::string& registry, const std::string& scope, const Response& r) {
    const std::string www = header_value(r.headers, "WWW-Authenticate");
    if (www.empty()) {
      return make_error(Code::kUntrusted, "auth refused (401 without a WWW-Authenticate challenge)");
    }
    MG_ASSIGN_OR_RETURN_CTX(Challenge ch, parse_challenge(www), "auth");
    const Credential* cred = options.credentials.find(registry);
    if (ch.scheme == "basic") {
      if (cred == nullptr || cred->username.empty()) {
        return make_error(Code::kUntrusted, "auth refused (the registry wants a user and password; none configured for " +
                                                crypto::quote_untrusted(registry) + ")");
      }
      return basic_authorization(cred->username, cred->password);
    }
    if (ch.scheme != "bearer") {
      return make_error(Code::kUnsupported, "auth: unsupported scheme " + crypto::quote_untrusted(ch.scheme));
    }
    auto realm = ch.params.find("realm");
    if (realm == ch.params.end() || realm->second.empty()) {
      return make_error(Code::kMalformed, "auth: bearer challenge without a realm");
    }
    MG_ASSIGN_OR_RETURN_CTX(Url url, parse_https_url(realm->second), "auth");
    std::string query;
    if (auto svc = ch.params.find("service"); svc != ch.params.end()) {
      query += "service=" + crypto::url_encode(svc->second);
    }
    // The challenge's scope says what this request needs; ours is the same for our own calls.
    std::string want = scope;
    if (auto sc = ch.params.find("scope"); sc != ch.params.end() && !sc->second.empty()) {
      want = sc->second;
    }
    if (!want.empty()) {
      query += std::string(query.empty() ? "" : "&") + "scope=" + crypto::url_encode(want);
    }
    Request tr;
    tr.method = "GET";
    tr.endpoint = url.endpoint;
    tr.path = url.path + (query.empty() ? "" : (url.path.find('?') == std::string::npos ? "?" : "&") + query);
    tr.max_body = limits::kMaxOciTokenResponseBytes;
    tr.what = "token response";
    httplib::Headers extra;
    if (cred != nullptr && !cred->username.empty()) {
      extra.emplace("Authorization", basic_authorization(cred->username, cred->password));
    }
    MG_ASSIGN_OR_RETURN_CTX(Response tok, send(tr, extra), "token endpoint " + crypto::quote_untrusted(url.endpoint));
    if (tok.status == 401 || tok.status == 403) {
      std::string detail = describe_registry_errors(tok.body);
      return make_error(Code::kUntrusted, "auth refused by the token endpoint (HTTP " + std::to_string(tok.status) + ")" +
                                              (detail.empty() ? "" : ": " + detail));
    }
    if (tok.status != 200) {
      return make_error(Code::kIo, "token endpoint answered HTTP " + std::to_string(tok.status));
    }
    MG_ASSIGN_OR_RETURN_CTX(std::string token, parse_token_response(tok.body), "auth");
    return "Bearer " + token;
  }

  // call sends `rq` with stored auth, answering one 401 challenge; it returns 401/403 as kUntrusted.
  Result<Response> call(const std::string& registry, const std::string& scope, const Request& rq) {
    const std::string key = registry + " " + scope;
    httplib::Headers extra;
    if (std::optional<std::string> a = cached_auth(key)) {
      extra.emplace("Authorization", *a);
    }
    MG_ASSIGN_OR_RETURN(Response r, send(rq, extra));
    if (r.status == 401) {
      MG_ASSIGN_OR_RETURN(std::string auth, authenticate(registry, scope, r));
      {
        std::lock_guard<std::mutex> lock(mu);
        auth_by_scope[key] = auth;
      }
      extra.clear();
      extra.emplace("Authorization", auth);
      MG_ASSIGN_OR_RETURN(r, send(rq, extra));
    }
    if (r.status == 401 || r.status == 403) {
      std::string detail = describe_registry_errors(r.body);
      return make_error(Code::kUntrusted, "auth refused (HTTP " + std::to_string(r.status) + (detail.empty() ? "" : ": " + detail) + ")");
    }
    return r;
  }
};

namespace detail {

inline std::string repo_label(const Reference& ref) { return ref.registry + "/" + ref.repository; }

inline std::string pull_scope(const Reference& ref) { return "repository:" + ref.repository + ":pull"; }
inline std::string push_scope(const Reference& ref) { return "repository:" + ref.repository + ":pull,push"; }

// status_error turns an unexpected status into an error naming the registry's error codes.
inline Error status_error(int status, std::string_view body) {
  std::string detail = describe_registry_errors(body);
  std::string msg = "HTTP " + std::to_string(status) + (detail.empty() ? "" : ": " + detail);
  if (status == 404) {
    return make_error(Code::kNotFound, std::move(msg));
  }
  return make_error(Code::kIo, std::move(msg));
}

inline bool is_manifest_media_type(std::string_view t) {
  return t == kMediaTypeImageManifest || t == kMediaTypeImageIndex || t == kMediaTypeDockerManifest ||
         t == kMediaTypeDockerList;
}

inline std::string strip_params(std::string v) {
  if (const std::size_t semi = v.find(';'); semi != std::string::npos) {
    v.resize(semi);
  }
  while (!v.empty() && v.back() == ' ') {
    v.pop_back();
  }
  return v;
}

}  // namespace detail

}  // namespace modelgate::oci
