// transport.h: one TLS connection to the apiserver (OpenSSL, TLS 1.2+, the server certificate
// verified against the configured CA and host name or IP; an optional client certificate), with
// every wait bounded by a deadline and interruptible by a Canceller. Not HTTP (client.h frames
// requests and reads responses with http.h).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "kube/config.h"
#include "kube/status.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace modelgate::kube {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

// Canceller wakes every blocking wait of the connections given it (an eventfd polled beside the
// socket), so an informer stops within one poll, not at the end of a watch. Thread-safe.
class Canceller {
 public:
  Canceller();
  ~Canceller();
  Canceller(const Canceller&) = delete;
  Canceller& operator=(const Canceller&) = delete;
  // cancel is idempotent and async-signal-safe apart from the flag.
  void cancel();
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  std::atomic<bool> cancelled_{false};
};

// TlsContext is an SSL_CTX made once from a ClusterConfig: TLS >= 1.2, the CA PEM (or the system
// store when none is configured), and the client certificate and key when configured. Immutable
// after build; shareable across threads.
class TlsContext {
 public:
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;
  // build errors: kMalformed (a CA, certificate or key PEM that does not parse, or a key that
  // does not match the certificate), kInternal (OpenSSL could not allocate).
  [[nodiscard]] static Result<std::shared_ptr<const TlsContext>> build(const ClusterConfig& cfg);
  SSL_CTX* get() const { return ctx_; }

 private:
  TlsContext() = default;
  SSL_CTX* ctx_ = nullptr;
};

// Connection is one TCP + TLS connection. Not thread-safe (one request at a time); closes on
// destruction.
class Connection {
 public:
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // open resolves `host` (a name or an IP literal), connects, and completes the TLS handshake,
  // verifying the server certificate for `verify_name` (an IP literal is checked against IP SANs).
  // Errors (ApiError, http_status 0): kIo (resolve, connect, handshake, certificate verification),
  // kDeadline (not done by `deadline`), kIo "cancelled" when `cancel` fired.
  [[nodiscard]] static ApiResult<std::unique_ptr<Connection>> open(const TlsContext& tls, const std::string& host,
                                                                   std::uint16_t port, const std::string& verify_name,
                                                                   Deadline deadline, const Canceller* cancel);
  // write_all sends every byte of `data` by `deadline`. Errors as open().
  [[nodiscard]] ApiStatus write_all(std::string_view data, Deadline deadline);
  // read_some reads up to `max` bytes into `buf` (resized to what was read); an empty `buf` is a
  // clean end of stream (TLS close_notify or TCP FIN). Errors as open().
  [[nodiscard]] ApiStatus read_some(std::string& buf, std::size_t max, Deadline deadline);

 private:
  Connection(int fd, SSL* ssl, const Canceller* cancel) : fd_(fd), ssl_(ssl), cancel_(cancel) {}
  // wait polls the socket (for `events`) and the canceller until `deadline`.
  ApiStatus wait(short events, Deadline deadline, std::string_view what);
  int fd_;
  SSL* ssl_;
  const Canceller* cancel_;
};

}  // namespace modelgate::kube
