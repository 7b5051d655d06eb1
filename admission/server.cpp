// server.cpp: cpp-httplib listeners, request bounds, routes, per-handshake certificates and the
// connection registry that lets stop() drain keep-alive connections within drain_timeout.
#include "admission/server.h"

#include <httplib.h>
#include <openssl/ssl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "admission/tls_credentials.h"
#include "admission/worker_pool.h"
#include "base/log_keys.h"

namespace modelgate::admission {

namespace keys = log_keys;
using Clock = std::chrono::steady_clock;

namespace {

// cpp-httplib's limit on one header line (CPPHTTPLIB_HEADER_MAX_LENGTH, compiled into Debian's
// library) and on the request line; used to size the per-request byte budget.
constexpr std::size_t kHeaderLineBytes = 8192;

// kSlowClientGrace: while a connection waits for a worker, connections stalled this long in their
// handshake or request are cut (see free_a_worker). kWatchInterval: how often the readTimeout
// deadline of every connection is checked.
constexpr std::chrono::milliseconds kSlowClientGrace{500};
constexpr std::chrono::milliseconds kWatchInterval{100};

// Phase is where a connection is between two responses. The server cuts a connection that stays
// in kHandshake or kReceiving too long (a slow or silent client); kHandling is the route handler
// running (bounded by the webhook's own deadline); kIdle is keep-alive between requests.
enum class Phase : int { kHandshake, kReceiving, kHandling, kIdle };

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

// Connection is what the server knows of one TLS connection, from the start of its handshake to
// SSL_free.
struct Connection {
  ServerImpl* owner = nullptr;
  int fd = -1;
  std::atomic<Phase> phase{Phase::kHandshake};
  // phase_since: steady-clock nanoseconds when the current phase began.
  std::atomic<std::int64_t> phase_since{now_ns()};
  // bytes_in: TLS record bytes read since the last response.
  std::atomic<std::uint64_t> bytes_in{0};
  std::atomic<bool> cut{false};
  // served: at least one response was written (the handshake and a first request are done).
  std::atomic<bool> served{false};

  void enter(Phase p) {
    phase_since = now_ns();
    phase = p;
  }
  // stalled is how long the connection has been in kHandshake or kReceiving (zero otherwise).
  std::chrono::nanoseconds stalled(std::int64_t now) const {
    const Phase p = phase;
    if (p != Phase::kHandshake && p != Phase::kReceiving) {
      return std::chrono::nanoseconds(0);
    }
    return std::chrono::nanoseconds(now - phase_since.load());
  }
};

void forget_connection(void* parent, void* ptr, CRYPTO_EX_DATA* ad, int idx, long argl, void* argp);

// connection_index is the SSL ex_data slot holding a Connection*; its free callback runs inside
// SSL_free, which cpp-httplib calls before it closes the socket, so a registered fd is never a
// reused one.
int connection_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, &forget_connection);
  return index;
}

// server_index is the SSL_CTX ex_data slot holding the ServerImpl* (the info callback has no
// argument of its own).
int server_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

Connection* connection_of(const SSL* ssl) {
  return ssl == nullptr ? nullptr : static_cast<Connection*>(SSL_get_ex_data(ssl, connection_index()));
}

bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) {
      return false;
    }
  }
  return true;
}

bool is_json(std::string_view content_type) {
  const std::size_t semi = content_type.find(';');
  std::string_view media = content_type.substr(0, semi);
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) {
    media.remove_suffix(1);
  }
  while (!media.empty() && (media.front() == ' ' || media.front() == '\t')) {
    media.remove_prefix(1);
  }
  return equals_ignore_case(media, "application/json");
}

// status_text is the reason phrase for the statuses this server produces itself.
const char* status_text(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

bool expects_body(const std::string& method) {
  // cpp-httplib reads a body for exactly these methods (detail::expect_content).
  return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE" || method == "PRI";
}

std::string known_path(const std::string& path) {
  for (const char* p : {"/validate", "/healthz", "/readyz", "/metrics"}) {
    if (path == p) {
      return path;
    }
  }
  return {};
}

// reject answers before the body is read and makes the answer close the connection: cpp-httplib
// 0.11.4 has no call for that, but it closes when the request says "Connection: close", and the
// Request it hands to the pre-routing handler is its own non-const local.
void reject(const httplib::Request& req, httplib::Response& res, int status, const std::string& why) {
  res.status = status;
  res.set_content(why + "\n", "text/plain; charset=utf-8");
  auto& mutable_req = const_cast<httplib::Request&>(req);
  mutable_req.headers.erase("Connection");
  mutable_req.headers.emplace("Connection", "close");
}

}  // namespace

class ServerImpl {
 public:
  ServerImpl(const ServerConfig& config, ServerHandlers handlers, std::shared_ptr<Metrics> metrics, log::Logger& logger)
      : config_(config), handlers_(std::move(handlers)), metrics_(std::move(metrics)), logger_(logger) {
    // Twice the body: a body up to that size is read and discarded for a clean 413; past it the
    // connection is cut.
    byte_budget_ = 2 * config_.max_body_bytes + (config_.max_header_count + 2) * kHeaderLineBytes + (64u << 10);
  }

  Result<void> start() {
    auto creds = load_tls_credentials(config_.tls_cert_file, config_.tls_key_file);
    if (!creds.ok()) {
      return std::move(creds).error().context("tls");
    }
    creds_ = *creds;
    last_cert_id_ = creds_->cert_id;
    last_key_id_ = creds_->key_id;

    tls_ = std::make_unique<httplib::SSLServer>([this](SSL_CTX& ctx) { return setup_ctx(ctx); });
    if (!tls_->is_valid()) {
      return make_error(Code::kInternal, "tls: cannot create the TLS context");
    }
    configure_common(*tls_, config_.worker_threads, true);
    tls_->set_keep_alive_max_count(Server::kKeepAliveMaxRequests);
    add_routes(*tls_, true);
    auto port = bind(*tls_, config_.port);
    if (!port.ok()) {
      return std::move(port).error();
    }
    port_ = *port;

    if (config_.metrics_port != 0) {
      plain_ = std::make_unique<httplib::Server>();
      // Scrapes are seconds apart: no keep-alive, so a drain never waits on an idle scraper.
      configure_common(*plain_, 2, false);
      plain_->set_keep_alive_max_count(1);
      add_routes(*plain_, false);
      auto mport = bind(*plain_, config_.metrics_port);
      if (!mport.ok()) {
        return std::move(mport).error();
      }
      metrics_port_ = *mport;
    }

    watch_thread_ = std::thread([this] { watch(); });
    tls_thread_ = std::thread([this] { run(*tls_, tls_done_); });
    if (plain_) {
      plain_thread_ = std::thread([this] { run(*plain_, plain_done_); });
    } else {
      plain_done_ = true;
    }
    // stop() is a no-op until listen() has marked the server running: wait for that here, so that
    // a start() that returned can always be stopped.
    while (!running_or_done()) {
      std::this_thread::yield();
    }
    logger_.announce("listening")
        .str(keys::kAddress, config_.address)
        .num(keys::kPort, port_)
        .num(keys::kMetricsPort, metrics_port_)
        .str(keys::kCertSha256, creds_->leaf_sha256)
        .str(keys::kNotAfter, creds_->not_after);
    return {};
  }

  ~ServerImpl() { stop(); }

  void stop() {
    std::lock_guard<std::mutex> stop_lock(stop_mu_);
    if (stopped_ || !tls_thread_.joinable()) {
      return;
    }
    stopped_ = true;
    const auto started = Clock::now();
    draining_ = true;
    tls_->stop();
    if (plain_) {
      plain_->stop();
    }
    // In-flight requests finish; their connections end after the response because the listening
    // socket is gone (cpp-httplib checks it between requests). Idle ones would wait out
    // idle_timeout in keep-alive, so they are closed now.
    const std::size_t idle = close_connections(true);
    bool drained = false;
    {
      std::unique_lock<std::mutex> lock(done_mu_);
      drained = done_cv_.wait_until(lock, started + config_.drain_timeout, [this] { return tls_done_ && plain_done_; });
    }
    std::size_t cut = 0;
    if (!drained) {
      cut = close_connections(false);
    }
    tls_thread_.join();
    if (plain_thread_.joinable()) {
      plain_thread_.join();
    }
    {
      std::lock_guard<std::mutex> lock(watch_mu_);
      watch_stop_ = true;
    }
    watch_cv_.notify_all();
    watch_thread_.join();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
    auto line = drained ? logger_.info("drained") : logger_.warn("drain_timeout");
    line.num(keys::kConnections, static_cast<std::int64_t>(idle)).num(keys::kDurationMs, ms);
    if (!drained) {
      line.str(keys::kMessage, std::to_string(cut) + " connections cut after drainTimeout");
    }
  }

  Result<bool> reload_tls_if_changed() {
    std::lock_guard<std::mutex> reload_lock(reload_mu_);
    const FileIdentity cert_id = file_identity(config_.tls_cert_file);
    const FileIdentity key_id = file_identity(config_.tls_key_file);
    if (cert_id == last_cert_id_ && key_id == last_key_id_) {
      return false;
    }
    // Recorded before reading: a file rewritten while it is read looks changed at the next check.
    last_cert_id_ = cert_id;
    last_key_id_ = key_id;
    auto loaded = load_tls_credentials(config_.tls_cert_file, config_.tls_key_file);
    if (!loaded.ok()) {
      metrics_->observe_tls_reload(false);
      logger_.warn("tls_reload_failed")
          .str(keys::kError, loaded.error().message)
          .str(keys::kCode, code_name(loaded.error().code))
          .str(keys::kCertSha256, certificate_sha256());
      return std::move(loaded).error().context("tls reload (keeping the current certificate)");
    }
    {
      std::lock_guard<std::mutex> lock(creds_mu_);
      creds_ = *loaded;
    }
    metrics_->observe_tls_reload(true);
    logger_.info("tls_reloaded")
        .str(keys::kCertSha256, (*loaded)->leaf_sha256)
        .str(keys::kNotAfter, (*loaded)->not_after);
    return true;
  }

  std::string certificate_sha256() const {
    std::lock_guard<std::mutex> lock(creds_mu_);
    return creds_->leaf_sha256;
  }

  std::uint16_t port() const { return port_; }
  std::uint16_t metrics_port() const { return metrics_port_; }

  // ---- called from OpenSSL callbacks on worker threads ----

  Connection* track(SSL* ssl) {
    Connection* c = connection_of(ssl);
    if (c != nullptr) {
      return c;
    }
    auto owned = std::make_unique<Connection>();
    owned->owner = this;
    owned->fd = SSL_get_fd(ssl);
    std::lock_guard<std::mutex> lock(conns_mu_);
    if (SSL_set_ex_data(ssl, connection_index(), owned.get()) != 1) {
      return nullptr;
    }
    c = owned.release();
    conns_.insert(c);
    return c;
  }

  void forget(Connection* c) {
    std::lock_guard<std::mutex> lock(conns_mu_);
    conns_.erase(c);
  }

  void on_record(SSL* ssl, const unsigned char* header) {
    Connection* c = track(ssl);
    if (c == nullptr) {
      return;
    }
    // TLS record header: type(1) version(2) length(2) (RFC 8446 §5.1).
    const std::size_t length = (static_cast<std::size_t>(header[3]) << 8) | header[4];
    if (header[0] == SSL3_RT_APPLICATION_DATA && SSL_is_init_finished(ssl) == 1 && c->phase == Phase::kIdle) {
      c->enter(Phase::kReceiving);
    }
    const std::uint64_t total = c->bytes_in.fetch_add(length + 5) + length + 5;
    if (total > byte_budget_ && !c->cut.exchange(true)) {
      // Log first: once the socket is shut the client sees the cut and may look for this line.
      logger_.warn("request_too_large")
          .num(keys::kBytes, static_cast<std::int64_t>(total))
          .str(keys::kMessage, "connection closed: more bytes than maxBodyBytes plus headers before a response");
      metrics_->add_connection_closed("too_large");
      // Reading goes on inside SSL_read on this thread; shutting the socket makes it fail there.
      ::shutdown(c->fd, SHUT_RDWR);
    }
  }

  // on_handshake tracks a connection from the moment SSL_accept starts (before the client sent a
  // byte, so a silent client is seen too) and moves it to kReceiving when the handshake is done:
  // a client connects because it has a request to send.
  void on_handshake(const SSL* ssl, int where) {
    if ((where & SSL_CB_HANDSHAKE_START) != 0) {
      track(const_cast<SSL*>(ssl));
      return;
    }
    if ((where & SSL_CB_HANDSHAKE_DONE) != 0) {
      Connection* c = connection_of(ssl);
      if (c != nullptr && c->phase == Phase::kHandshake) {
        c->enter(Phase::kReceiving);
      }
    }
  }

  int install_certificate(SSL* ssl) {
    track(ssl);
    std::shared_ptr<const TlsCredentials> creds;
    {
      std::lock_guard<std::mutex> lock(creds_mu_);
      creds = creds_;
    }
    return creds->install(ssl) ? 1 : 0;
  }

 private:
  bool setup_ctx(SSL_CTX& ctx) {
    if (SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION) != 1) {
      return false;
    }
    SSL_CTX_set_options(&ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_cert_cb(
        &ctx, [](SSL* ssl, void* arg) { return static_cast<ServerImpl*>(arg)->install_certificate(ssl); }, this);
    SSL_CTX_set_msg_callback(&ctx, [](int write_p, int, int content_type, const void* buf, std::size_t len, SSL* ssl,
                                      void* arg) {
      if (write_p == 0 && content_type == SSL3_RT_HEADER && len >= 5) {
        static_cast<ServerImpl*>(arg)->on_record(ssl, static_cast<const unsigned char*>(buf));
      }
    });
    SSL_CTX_set_msg_callback_arg(&ctx, this);
    if (SSL_CTX_set_ex_data(&ctx, server_index(), this) != 1) {
      return false;
    }
    SSL_CTX_set_info_callback(&ctx, [](const SSL* ssl, int where, int) {
      auto* self = static_cast<ServerImpl*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), server_index()));
      if (self != nullptr) {
        self->on_handshake(ssl, where);
      }
    });
    return true;
  }

  void configure_common(httplib::Server& svr, std::size_t workers, bool with_validate) {
    svr.set_tcp_nodelay(true);  // one small response per request: Nagle would add delayed-ACK latency
    svr.set_read_timeout(config_.read_timeout);
    svr.set_write_timeout(config_.write_timeout);
    svr.set_keep_alive_timeout(static_cast<time_t>(config_.idle_timeout.count()));
    svr.set_payload_max_length(config_.max_body_bytes);
    if (with_validate) {
      svr.new_task_queue = [this, workers] {
        auto* pool = new WorkerPool(workers, [this] { free_a_worker(); });
        pool_ = pool;  // owned by cpp-httplib until listen returns, after its workers stopped
        return pool;
      };
      svr.set_post_routing_handler([this](const httplib::Request& req, httplib::Response&) {
        // A connection waits for a worker: answer this one with "Connection: close" so its client
        // stops reusing it. Shutting the socket after the answer instead raced the client's next
        // request on it (a failed webhook call: Go's client does not retry a POST).
        WorkerPool* pool = pool_;
        if (pool != nullptr && pool->waiting() > 0) {
          auto& mutable_req = const_cast<httplib::Request&>(req);
          mutable_req.headers.erase("Connection");
          mutable_req.headers.emplace("Connection", "close");
        }
      });
    } else {
      svr.new_task_queue = [workers] { return new httplib::ThreadPool(workers); };  // no keep-alive
    }
    svr.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      return pre_route(req, res) ? httplib::Server::HandlerResponse::Unhandled
                                 : httplib::Server::HandlerResponse::Handled;
    });
    svr.set_error_handler([with_validate](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) {
        return;  // a route's own error answer (415, 503, a webhook 400) keeps its text
      }
      const bool routed_path = !known_path(req.path).empty() && (with_validate || req.path != "/validate");
      if (res.status == 404 && routed_path) {
        res.status = 405;
        res.set_header("Allow", req.path == "/validate" ? "POST" : "GET");
      }
      res.set_content(std::to_string(res.status) + " " + status_text(res.status) + "\n", "text/plain; charset=utf-8");
    });
    svr.set_exception_handler([this](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
      std::string what = "unknown exception";
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      logger_.error("handler_exception").str(keys::kPath, known_path(req.path)).str(keys::kError, what);
      res.status = 500;
      res.set_content("internal error\n", "text/plain; charset=utf-8");
    });
    svr.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      metrics_->observe_http(req.path, res.status);
      if (Connection* c = connection_of(req.ssl)) {
        c->bytes_in = 0;
        c->served = true;
        c->enter(Phase::kIdle);
      }
      if (logger_.enabled(log::Level::kDebug)) {
        logger_.debug("http_request")
            .str(keys::kMethod, req.method.size() <= 8 ? req.method : std::string("other"))
            .str(keys::kPath, known_path(req.path).empty() ? std::string("other") : req.path)
            .num(keys::kStatus, res.status);
      }
    });
  }

  // pre_route applies the header and body bounds; false when it answered the request itself.
  bool pre_route(const httplib::Request& req, httplib::Response& res) {
    if (req.headers.size() > config_.max_header_count) {
      reject(req, res, 431,
             "too many headers (" + std::to_string(req.headers.size()) + " > " +
                 std::to_string(config_.max_header_count) + ")");
      return false;
    }
    if (!expects_body(req.method)) {
      return true;
    }
    if (req.has_header("Transfer-Encoding")) {
      // Chunked bodies are read (the byte budget bounds them; /validate checks the size after).
      if (!equals_ignore_case(req.get_header_value("Transfer-Encoding"), "chunked")) {
        reject(req, res, 415, "Transfer-Encoding other than chunked is not accepted");
        return false;
      }
      return content_encoding_ok(req, res);
    }
    if (!req.has_header("Content-Length")) {
      // cpp-httplib would read such a body until the connection closes (RFC 9112 §6.3 says it
      // has length 0): ask for a length instead.
      reject(req, res, 411, "Content-Length is required");
      return false;
    }
    const std::string length = req.get_header_value("Content-Length");
    bool digits = !length.empty() && length.size() <= 19;
    for (char c : length) {
      digits = digits && c >= '0' && c <= '9';
    }
    if (!digits) {
      reject(req, res, 400, "invalid Content-Length");
      return false;
    }
    // Content-Length over max_body_bytes is cpp-httplib's 413 (set_payload_max_length): it reads
    // and discards the declared body first, so the client reads the answer instead of a reset.
    return content_encoding_ok(req, res);
  }

  bool content_encoding_ok(const httplib::Request& req, httplib::Response& res) {
    if (req.has_header("Content-Encoding") && !equals_ignore_case(req.get_header_value("Content-Encoding"), "identity")) {
      // cpp-httplib would inflate a compressed body past every bound above.
      reject(req, res, 415, "Content-Encoding is not accepted; send the body uncompressed");
      return false;
    }
    return true;
  }

  // handling marks the request as received whole: from here the route's own bounds apply, not the
  // slow-client ones.
  static void handling(const httplib::Request& req) {
    if (Connection* c = connection_of(req.ssl)) {
      c->enter(Phase::kHandling);
    }
  }

  void add_routes(httplib::Server& svr, bool with_validate) {
    if (with_validate) {
      svr.Post("/validate", [this](const httplib::Request& req, httplib::Response& res) {
        handling(req);
        if (!is_json(req.get_header_value("Content-Type"))) {
          res.status = 415;
          res.set_content("Content-Type must be application/json\n", "text/plain; charset=utf-8");
          return;
        }
        if (req.body.size() > config_.max_body_bytes) {  // a chunked body (Content-Length is checked earlier)
          res.status = 413;
          res.set_content("request body too large (" + std::to_string(req.body.size()) + " > " +
                              std::to_string(config_.max_body_bytes) + " bytes)\n",
                          "text/plain; charset=utf-8");
          return;
        }
        HttpReply reply = handlers_.validate(req.body);
        res.status = reply.status;
        res.set_content(std::move(reply.body), reply.content_type);
      });
    }
    svr.Get("/healthz", [](const httplib::Request& req, httplib::Response& res) {
      handling(req);
      res.set_content("ok\n", "text/plain; charset=utf-8");
    });
    svr.Get("/readyz", [this](const httplib::Request& req, httplib::Response& res) {
      handling(req);
      Readiness r = draining_ ? Readiness{false, "draining"} : handlers_.readiness();
      if (r.detail.empty() || r.detail.back() != '\n') {
        r.detail.push_back('\n');
      }
      res.status = r.ready ? 200 : 503;
      res.set_content(r.detail, "text/plain; charset=utf-8");
    });
    svr.Get("/metrics", [this](const httplib::Request& req, httplib::Response& res) {
      handling(req);
      res.set_content(metrics_->serialize(), "text/plain; version=0.0.4; charset=utf-8");
    });
  }

  Result<std::uint16_t> bind(httplib::Server& svr, std::uint16_t port) {
    // cpp-httplib's default options set SO_REUSEPORT, with which a second `serve` binds a port that
    // is taken and silently shares its connections. SO_REUSEADDR only: a restart may still bind
    // over connections in TIME_WAIT, but never over a live listener.
    auto sock = std::make_shared<int>(-1);
    svr.set_socket_options([sock](socket_t s) {
      const int yes = 1;
      ::setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
      *sock = s;  // the last socket tried is the one bound
    });
    int bound = -1;
    if (port == 0) {
      bound = svr.bind_to_any_port(config_.address);
    } else if (svr.bind_to_port(config_.address, port)) {
      bound = port;
    }
    if (bound <= 0 || bound > 65535) {
      return make_error(Code::kIo, "cannot listen on " + config_.address + ":" + std::to_string(port) +
                                       " (address in use, not local, or not permitted)");
    }
    // cpp-httplib listens with a backlog of 5 (compiled into Debian's library): a burst of new
    // connections (an apiserver after a rollout, many nodes at once) would wait for SYN retries.
    // Calling listen() again on a listening socket only sets its backlog.
    if (*sock < 0 || ::listen(*sock, Server::kListenBacklog) != 0) {
      return make_error(Code::kIo, "cannot set the listen backlog on " + config_.address + ":" + std::to_string(bound) +
                                       ": " + std::strerror(errno));
    }
    return static_cast<std::uint16_t>(bound);
  }

  bool running_or_done() {
    std::lock_guard<std::mutex> lock(done_mu_);
    return (tls_done_ || tls_->is_running()) && (plain_done_ || plain_->is_running());
  }

  void run(httplib::Server& svr, bool& done) {
    svr.listen_after_bind();  // returns after stop(), once its workers have finished
    {
      std::lock_guard<std::mutex> lock(done_mu_);
      done = true;
    }
    done_cv_.notify_all();
  }

  // idle returns whether `c` has no request in flight (a handshake not begun by the client counts
  // as none) and nothing unread in its socket.
  static bool idle(const Connection& c) {
    int pending = 0;
    const Phase p = c.phase;
    return (p == Phase::kIdle || p == Phase::kHandshake) && ::ioctl(c.fd, FIONREAD, &pending) == 0 && pending == 0;
  }

  // cut shuts `c`'s socket (its worker then fails in SSL_read/SSL_write and frees itself), once.
  // Caller holds conns_mu_, so the fd is not yet closed (forget runs inside SSL_free).
  void cut(Connection& c, std::string_view reason, std::string_view why) {
    if (c.cut.exchange(true)) {
      return;
    }
    ::shutdown(c.fd, SHUT_RDWR);
    metrics_->add_connection_closed(reason);
    logger_.debug("connection_closed").str(keys::kReason, reason).str(keys::kMessage, why);
  }

  // free_a_worker runs while a new connection waits for a worker (every kSaturationGrace, from the
  // pool's reaper). It closes one keep-alive connection that has been served and is waiting for
  // its next request (its client reconnects when it needs to, as after idleTimeout); when there is
  // none, it cuts every connection stalled in its handshake or request for over kSlowClientGrace:
  // an apiserver sends a request whole as soon as it connects, so under saturation a connection
  // that trickles is a slow client holding a worker from others (slowloris).
  void free_a_worker() {
    std::lock_guard<std::mutex> lock(conns_mu_);
    for (Connection* c : conns_) {
      if (c->served && !c->cut && c->phase == Phase::kIdle && idle(*c)) {
        cut(*c, "idle_evicted", "every worker busy: freeing one for a new connection");
        return;
      }
    }
    const std::int64_t now = now_ns();
    for (Connection* c : conns_) {
      if (!c->cut && c->stalled(now) > kSlowClientGrace) {
        cut(*c, "slow_client", "every worker busy: a handshake or request stalled past the slow-client grace");
      }
    }
  }

  // watch cuts, every kWatchInterval until stop(), the connections whose handshake or request has
  // not been received within read_timeout in all (cpp-httplib's read timeout is per read, so a
  // client sending a byte at a time would otherwise hold its worker forever).
  void watch() {
    std::unique_lock<std::mutex> lock(watch_mu_);
    while (!watch_cv_.wait_for(lock, kWatchInterval, [this] { return watch_stop_; })) {
      const std::int64_t now = now_ns();
      std::lock_guard<std::mutex> conns_lock(conns_mu_);
      for (Connection* c : conns_) {
        if (!c->cut && c->stalled(now) > config_.read_timeout) {
          cut(*c, "slow_client", "handshake or request not received within readTimeout");
        }
      }
    }
  }

  // close_connections shuts down connections (all, or only the idle ones: no request in flight and
  // nothing unread in the socket) and returns how many.
  std::size_t close_connections(bool idle_only) {
    std::lock_guard<std::mutex> lock(conns_mu_);
    std::size_t n = 0;
    for (Connection* c : conns_) {
      if (idle_only && !idle(*c)) {
        continue;
      }
      ::shutdown(c->fd, SHUT_RDWR);
      ++n;
    }
    return n;
  }

  ServerConfig config_;
  ServerHandlers handlers_;
  std::shared_ptr<Metrics> metrics_;
  log::Logger& logger_;
  std::uint64_t byte_budget_ = 0;

  std::atomic<WorkerPool*> pool_{nullptr};
  std::unique_ptr<httplib::SSLServer> tls_;
  std::unique_ptr<httplib::Server> plain_;
  std::uint16_t port_ = 0;
  std::uint16_t metrics_port_ = 0;
  std::thread tls_thread_;
  std::thread plain_thread_;

  mutable std::mutex creds_mu_;
  std::shared_ptr<const TlsCredentials> creds_;
  std::mutex reload_mu_;
  FileIdentity last_cert_id_;
  FileIdentity last_key_id_;

  std::mutex conns_mu_;
  std::unordered_set<Connection*> conns_;

  std::thread watch_thread_;
  std::mutex watch_mu_;
  std::condition_variable watch_cv_;
  bool watch_stop_ = false;

  std::atomic<bool> draining_{false};
  std::mutex stop_mu_;
  bool stopped_ = false;
  std::mutex done_mu_;
  std::condition_variable done_cv_;
  bool tls_done_ = false;
  bool plain_done_ = false;
};

namespace {

void forget_connection(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  auto* c = static_cast<Connection*>(ptr);
  if (c == nullptr) {
    return;  // an SSL that was never tracked (a client, another library's)
  }
  c->owner->forget(c);
  delete c;
}

}  // namespace

Server::Server(std::unique_ptr<ServerImpl> impl) : impl_(std::move(impl)) {}
Server::~Server() { stop(); }

Result<std::unique_ptr<Server>> Server::start(const ServerConfig& config, ServerHandlers handlers,
                                              std::shared_ptr<Metrics> metrics, log::Logger& logger) {
  if (!handlers.validate || !handlers.readiness || metrics == nullptr) {
    return make_error(Code::kMalformed, "server: validate and readiness handlers and metrics are required");
  }
  // Connections are tracked through this slot; take it before any handshake can race for it.
  if (connection_index() < 0 || server_index() < 0) {
    return make_error(Code::kInternal, "server: cannot allocate an SSL ex_data index");
  }
  auto impl = std::make_unique<ServerImpl>(config, std::move(handlers), std::move(metrics), logger);
  auto started = impl->start();
  if (!started.ok()) {
    return std::move(started).error();
  }
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

std::uint16_t Server::port() const { return impl_->port(); }
std::uint16_t Server::metrics_port() const { return impl_->metrics_port(); }
Result<bool> Server::reload_tls_if_changed() { return impl_->reload_tls_if_changed(); }
std::string Server::certificate_sha256() const { return impl_->certificate_sha256(); }
void Server::stop() {
  if (impl_) {
    impl_->stop();
  }
}

}  // namespace modelgate::admission
