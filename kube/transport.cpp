#include "kube/transport.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "crypto/ossl.h"

namespace modelgate::kube {

namespace {

namespace ossl = crypto::ossl;

int remaining_ms(Deadline deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  if (left <= 0) {
    return 0;
  }
  return static_cast<int>(std::min<long long>(left, 1'000'000));
}

bool is_ip_literal(const std::string& host) {
  in6_addr a6{};
  in_addr a4{};
  return inet_pton(AF_INET, host.c_str(), &a4) == 1 || inet_pton(AF_INET6, host.c_str(), &a6) == 1;
}

ApiError ssl_error(std::string_view what) {
  Error e = ossl::take_error(Code::kIo, what);
  return transport_error(Code::kIo, std::move(e.message));
}

}  // namespace

Canceller::Canceller() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (fd_ < 0) {
    std::abort();  // no eventfd means no way to stop threads: an environment we cannot run in
  }
}

Canceller::~Canceller() { ::close(fd_); }

void Canceller::cancel() {
  cancelled_.store(true, std::memory_order_release);
  const std::uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(fd_, &one, sizeof one);
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

Result<std::shared_ptr<const TlsContext>> TlsContext::build(const ClusterConfig& cfg) {
  std::shared_ptr<TlsContext> t(new TlsContext());
  t->ctx_ = SSL_CTX_new(TLS_client_method());
  if (t->ctx_ == nullptr) {
    return ossl::take_error(Code::kInternal, "cannot create a TLS context");
  }
  SSL_CTX_set_min_proto_version(t->ctx_, TLS1_2_VERSION);
  SSL_CTX_set_verify(t->ctx_, SSL_VERIFY_PEER, nullptr);
  if (cfg.ca_pem.empty()) {
    if (SSL_CTX_set_default_verify_paths(t->ctx_) != 1) {
      return ossl::take_error(Code::kIo, "cannot load the system CA store");
    }
  } else {
    X509_STORE* store = SSL_CTX_get_cert_store(t->ctx_);
    ossl::Ptr<BIO> bio = ossl::mem_bio(cfg.ca_pem);
    int added = 0;
    while (true) {
      ossl::Ptr<X509> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
      if (!cert) {
        break;
      }
      if (X509_STORE_add_cert(store, cert.get()) != 1) {
        return ossl::take_error(Code::kMalformed, "cannot add a CA certificate");
      }
      ++added;
    }
    ossl::clear_errors();  // the loop ends on "no start line"
    if (added == 0) {
      return make_error(Code::kMalformed, "CA bundle holds no PEM certificate");
    }
  }
  if (!cfg.client_cert_pem.empty()) {
    ossl::Ptr<BIO> cb = ossl::mem_bio(cfg.client_cert_pem);
    ossl::Ptr<X509> cert(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
    if (!cert || SSL_CTX_use_certificate(t->ctx_, cert.get()) != 1) {
      return ossl::take_error(Code::kMalformed, "client certificate");
    }
    // Intermediates after the leaf go into the chain we present.
    while (true) {
      X509* extra = PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr);
      if (extra == nullptr) {
        break;
      }
      if (SSL_CTX_add0_chain_cert(t->ctx_, extra) != 1) {
        X509_free(extra);
        return ossl::take_error(Code::kMalformed, "client certificate chain");
      }
    }
    ossl::clear_errors();
    ossl::Ptr<BIO> kb = ossl::mem_bio(cfg.client_key_pem);
    ossl::Ptr<EVP_PKEY> key(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
    if (!key || SSL_CTX_use_PrivateKey(t->ctx_, key.get()) != 1 || SSL_CTX_check_private_key(t->ctx_) != 1) {
      return ossl::take_error(Code::kMalformed, "client key (missing, unreadable or not the certificate's)");
    }
  }
  return std::shared_ptr<const TlsContext>(std::move(t));
}

Connection::~Connection() {
  if (ssl_ != nullptr) {
    SSL_free(ssl_);
  }
  if (fd_ >= 0) {
    ::close(fd_);
  }
  ossl::clear_errors();
}

ApiStatus Connection::wait(short events, Deadline deadline, std::string_view what) {
  while (true) {
    if (cancel_ != nullptr && cancel_->cancelled()) {
      return transport_error(Code::kIo, "cancelled");
    }
    const int ms = remaining_ms(deadline);
    if (ms == 0) {
      return transport_error(Code::kDeadline, std::string(what) + ": timed out");
    }
    pollfd fds[2] = {{fd_, events, 0}, {cancel_ != nullptr ? cancel_->fd() : -1, POLLIN, 0}};
    const int n = ::poll(fds, cancel_ != nullptr ? 2 : 1, ms);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return transport_error(Code::kIo, std::string(what) + ": poll: " + std::strerror(errno));
    }
    if (cancel_ != nullptr && (fds[1].revents & POLLIN) != 0) {
      return transport_error(Code::kIo, "cancelled");
    }
    if (fds[0].revents != 0) {
      return Done{};
    }
  }
}

ApiResult<std::unique_ptr<Connection>> Connection::open(const TlsContext& tls, const std::string& host, std::uint16_t port,
                                                        const std::string& verify_name, Deadline deadline,
                                                        const Canceller* cancel) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  // getaddrinfo cannot be bounded by our deadline; in a cluster the host is an IP literal.
  const int gai = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (gai != 0) {
    return transport_error(Code::kIo, "cannot resolve " + host + ": " + gai_strerror(gai));
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> addrs(res, freeaddrinfo);
  ApiError last = transport_error(Code::kIo, "cannot connect to " + host);
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) {
      continue;
    }
    std::unique_ptr<Connection> c(new Connection(fd, nullptr, cancel));
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      if (errno != EINPROGRESS) {
        last = transport_error(Code::kIo, "cannot connect to " + host + ":" + std::to_string(port) + ": " + std::strerror(errno));
        continue;
      }
      ApiStatus w = c->wait(POLLOUT, deadline, "connect");
      if (!w.ok()) {
        return std::move(w).error();
      }
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        last = transport_error(Code::kIo, "cannot connect to " + host + ":" + std::to_string(port) + ": " + std::strerror(err));
        continue;
      }
    }
    c->ssl_ = SSL_new(tls.get());
    if (c->ssl_ == nullptr || SSL_set_fd(c->ssl_, fd) != 1) {
      return ssl_error("cannot create a TLS session");
    }
    if (!is_ip_literal(verify_name)) {
      SSL_set_tlsext_host_name(c->ssl_, verify_name.c_str());
    }
    // Verify the name we connect to: a DNS SAN for names, an IP SAN for IP literals.
    X509_VERIFY_PARAM* param = SSL_get0_param(c->ssl_);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    const int set = is_ip_literal(verify_name) ? X509_VERIFY_PARAM_set1_ip_asc(param, verify_name.c_str())
                                               : X509_VERIFY_PARAM_set1_host(param, verify_name.c_str(), 0);
    if (set != 1) {
      return ssl_error("cannot set the name to verify");
    }
    while (true) {
      const int r = SSL_connect(c->ssl_);
      if (r == 1) {
        break;
      }
      const int e = SSL_get_error(c->ssl_, r);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        ApiStatus w = c->wait(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline, "TLS handshake");
        if (!w.ok()) {
          return std::move(w).error();
        }
        continue;
      }
      const long vr = SSL_get_verify_result(c->ssl_);
      if (vr != X509_V_OK) {
        ossl::clear_errors();
        return transport_error(Code::kIo, "TLS handshake with " + host + ": the server certificate is not trusted (" +
                                              X509_verify_cert_error_string(vr) + ")");
      }
      return ssl_error("TLS handshake with " + host);
    }
    return c;
  }
  return last;
}

ApiStatus Connection::write_all(std::string_view data, Deadline deadline) {
  while (!data.empty()) {
    std::size_t written = 0;
    const int r = SSL_write_ex(ssl_, data.data(), data.size(), &written);
    if (r == 1) {
      data.remove_prefix(written);
      continue;
    }
    const int e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      ApiStatus w = wait(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline, "send");
      if (!w.ok()) {
        return w;
      }
      continue;
    }
    return ssl_error("send");
  }
  return Done{};
}

ApiStatus Connection::read_some(std::string& buf, std::size_t max, Deadline deadline) {
  buf.resize(max);
  while (true) {
    std::size_t got = 0;
    const int r = SSL_read_ex(ssl_, buf.data(), max, &got);
    if (r == 1) {
      buf.resize(got);
      return Done{};
    }
    const int e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      ApiStatus w = wait(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline, "receive");
      if (!w.ok()) {
        buf.clear();
        return w;
      }
      continue;
    }
    buf.clear();
    if (e == SSL_ERROR_ZERO_RETURN) {
      return Done{};  // close_notify
    }
    // A TCP FIN without close_notify: OpenSSL 3 reports SSL_R_UNEXPECTED_EOF_WHILE_READING.
    // The HTTP framing (Content-Length, the last chunk) decides whether the body was complete.
    if (e == SSL_ERROR_SYSCALL || (e == SSL_ERROR_SSL && ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
      ossl::clear_errors();
      return Done{};
    }
    return ssl_error("receive");
  }
}

}  // namespace modelgate::kube
