// server.h: the webhook's HTTPS front (cpp-httplib): TLS 1.2+ with certificate rotation, bounded
// requests, POST /validate, GET /healthz /readyz /metrics, an optional plain-HTTP metrics
// listener, and a graceful drain. Not the decision path: handlers are injected (webhook.h in
// production, fakes in tests), and nothing here parses an AdmissionReview.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "admission/config.h"
#include "admission/metrics.h"
#include "admission/webhook.h"
#include "base/log.h"
#include "base/result.h"

namespace modelgate::admission {

// ServerHandlers are what the routes call. Both must be set and thread-safe: they run on the
// worker threads, concurrently. Exceptions they throw become HTTP 500 (and an error log line).
struct ServerHandlers {
  // validate answers POST /validate with the request body (at most config.max_body_bytes bytes,
  // Content-Type application/json); the view is valid only during the call.
  std::function<HttpReply(std::string_view body)> validate;
  // readiness answers GET /readyz: 200 when ready, else 503; `detail` is the body either way.
  std::function<Readiness()> readiness;
};

class ServerImpl;

// Server owns the listeners and their worker threads from start() until stop().
//
// What every request meets, before any handler runs:
//   - TLS 1.2 or 1.3 only; the certificate is installed per handshake from the current
//     credentials, so a rotation reaches the next connection and never a connection in use.
//   - more than config.max_header_count headers: 431; a request with a body (POST, PUT, ...)
//     with neither Content-Length nor chunked Transfer-Encoding: 411; Content-Encoding or another
//     Transfer-Encoding: 415 (these close the connection, the body is never read); a body over
//     config.max_body_bytes: 413.
//   - bytes read on one TLS connection between two responses are capped at 2 x max_body_bytes
//     plus header room; past that the connection is cut (cpp-httplib bounds neither the number
//     nor, before it has read them, the length of header lines).
//   - config.read_timeout bounds the TLS handshake and each request as a whole (from its first
//     byte until the route runs), besides each read; a connection past it is cut (slowloris, or
//     a client that connects and sends nothing). write_timeout bounds each write; keep-alive for
//     idle_timeout and at most kKeepAliveMaxRequests requests per connection.
//   - config.worker_threads workers, one per open connection (size it for every apiserver's
//     connection pool). When a new connection finds every worker taken, after 50 ms an idle
//     keep-alive connection is closed to free its worker, or, when none is idle, every connection
//     stalled over 0.5 s in its handshake or request is cut. Cuts are counted in
//     modelgate_connections_closed_total{reason}.
// Routes (TLS): POST /validate (415 unless Content-Type is application/json), GET /healthz (200
// "ok"), GET /readyz (200/503 + detail; 503 "draining" once stop() began), GET /metrics
// (Prometheus text 0.0.4); other paths 404, other methods on these paths 405. The plain listener
// (config.metrics_port != 0) serves only the three GETs, without keep-alive.
// Every answer is counted by Metrics::observe_http.
class Server {
 public:
  // kKeepAliveMaxRequests: a connection is closed after this many requests, so load spreads over
  // replicas that came up after the apiserver connected.
  static constexpr std::size_t kKeepAliveMaxRequests = 1000;
  // kListenBacklog: connections the kernel holds for accept() on each listener (capped by
  // net.core.somaxconn); cpp-httplib's own 5 would make a burst of new connections wait.
  static constexpr int kListenBacklog = 1024;

  // start loads the TLS credentials (config.tls_cert_file / tls_key_file), binds
  // config.address:config.port (0 = any free port; see port()) and the metrics port (never a port
  // another listener holds: no SO_REUSEPORT; kIo "cannot listen on ..."), and starts
  // serving. Errors: the credentials' errors (kNotFound, kIo, kMalformed, kMismatch, kLimit, with
  // the file named), kIo when a port cannot be bound, kMalformed when handlers are missing.
  // `metrics` must not be null; `logger` must outlive the Server.
  [[nodiscard]] static Result<std::unique_ptr<Server>> start(const ServerConfig& config, ServerHandlers handlers,
                                                             std::shared_ptr<Metrics> metrics, log::Logger& logger);
  // ~Server calls stop().
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // port is the bound TLS port; metrics_port the bound plain port (0 when disabled).
  std::uint16_t port() const;
  std::uint16_t metrics_port() const;

  // reload_tls_if_changed re-reads the certificate and key when either file's identity (device,
  // inode, size, mtime, ctime) differs from the last attempt. Returns true when new credentials
  // were installed, false when nothing changed. A pair that does not load (missing, damaged, key
  // not matching) keeps the current credentials and returns the error; it is logged (warn) and
  // counted by observe_tls_reload(false), once per change of the files. Thread-safe.
  [[nodiscard]] Result<bool> reload_tls_if_changed();
  // certificate_sha256 is the lowercase hex SHA-256 of the leaf new connections get. Thread-safe.
  std::string certificate_sha256() const;

  // stop drains: the listeners close at once, /readyz answers 503, idle keep-alive connections
  // are closed, requests in flight finish and their connections close after the response. After
  // config.drain_timeout the remaining connections are cut; stop() then returns as soon as the
  // handlers still running return (the webhook's deadline bounds them). Idempotent, thread-safe.
  void stop();

 private:
  explicit Server(std::unique_ptr<ServerImpl> impl);
  std::unique_ptr<ServerImpl> impl_;
};

}  // namespace modelgate::admission
