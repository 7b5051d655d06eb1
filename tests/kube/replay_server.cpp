#include "replay_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>

#include "test_support.h"

namespace modelgate::testing {

namespace fs = std::filesystem;

namespace {

std::string hex(std::size_t n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%zx", n);
  return buf;
}

int from_hex_digit(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

std::string url_decode(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && from_hex_digit(s[i + 1]) >= 0 && from_hex_digit(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(from_hex_digit(s[i + 1]) * 16 + from_hex_digit(s[i + 2])));
      i += 2;
    } else if (s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

void openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessResult r = run(argv);
  if (r.exit_code != 0) {
    std::fprintf(stderr, "openssl failed: %s\n", r.err.c_str());
    std::abort();
  }
}

}  // namespace

fs::path kube_vector(const std::string& name) { return vectors_dir() / "kube-api" / name; }

Reply vector_reply(const std::string& name) {
  Reply r;
  r.bytes = read_file(kube_vector(name + ".headers.txt"));
  const bool chunked = r.bytes.find("Transfer-Encoding: chunked") != std::string::npos;
  if (fs::exists(kube_vector(name + ".chunked-raw.txt"))) {
    r.bytes += read_file(kube_vector(name + ".chunked-raw.txt"));
  } else if (chunked) {
    const std::string body = read_file(kube_vector(name + ".json"));
    r.bytes += hex(body.size()) + "\r\n" + body + "\r\n0\r\n\r\n";
  } else {
    r.bytes += read_file(kube_vector(name + ".json"));
  }
  return r;
}

Reply raw_reply(const std::string& file) {
  Reply r;
  r.bytes = read_file(kube_vector(file));
  return r;
}

const Pki& test_pki() {
  static TempDir* dir = new TempDir();  // lives for the process: the files are read at each server start
  static const Pki pki = [] {
    Pki p;
    const fs::path d = dir->path();
    for (const char* ca : {"ca", "other-ca"}) {
      openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
               (d / (std::string(ca) + ".key")).string(), "-out", (d / (std::string(ca) + ".crt")).string(), "-days",
               "2", "-subj", std::string("/CN=") + ca});
    }
    openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
             (d / "leaf.key").string(), "-out", (d / "leaf.csr").string(), "-subj", "/CN=kube-apiserver"});
    write_file(d / "leaf.ext", "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    openssl({"x509", "-req", "-in", (d / "leaf.csr").string(), "-CA", (d / "ca.crt").string(), "-CAkey",
             (d / "ca.key").string(), "-CAcreateserial", "-out", (d / "leaf.crt").string(), "-days", "2", "-extfile",
             (d / "leaf.ext").string()});
    p.ca_pem = read_file(d / "ca.crt");
    p.other_ca_pem = read_file(d / "other-ca.crt");
    p.leaf_cert = d / "leaf.crt";
    p.leaf_key = d / "leaf.key";
    return p;
  }();
  return pki;
}

ReplayServer::ReplayServer() {
  // A client that hangs up mid-reply (the faults under test) must not kill the test binary.
  ::signal(SIGPIPE, SIG_IGN);
  const Pki& pki = test_pki();
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr || SSL_CTX_use_certificate_chain_file(ctx, pki.leaf_cert.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, pki.leaf_key.c_str(), SSL_FILETYPE_PEM) != 1) {
    std::abort();
  }
  ctx_ = ctx;
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 64) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::abort();
  }
  port_ = ntohs(addr.sin_port);
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  acceptor_ = std::thread([this] { accept_loop(); });
}

ReplayServer::~ReplayServer() {
  stop();
  SSL_CTX_free(static_cast<SSL_CTX*>(ctx_));
  ::close(listen_fd_);
  ::close(stop_fd_);
}

void ReplayServer::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) {
      return;
    }
    stopped_ = true;
    for (int fd : conn_fds_) {
      ::shutdown(fd, SHUT_RDWR);
    }
  }
  cv_.notify_all();  // requests waiting for a route (hold_for_routes) give up
  const std::uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(stop_fd_, &one, sizeof one);
  acceptor_.join();
  for (std::thread& t : threads_) {
    t.join();
  }
}

void ReplayServer::add(Route r) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    routes_.push_back(std::move(r));
    used_.push_back(false);
  }
  cv_.notify_all();  // a request waiting for a route (hold_for_routes) may match it
}

void ReplayServer::hold_for_routes(bool on) {
  std::lock_guard<std::mutex> lock(mu_);
  hold_for_routes_ = on;
}

kube::ClusterConfig ReplayServer::config(const std::string& token) const {
  kube::ClusterConfig cfg;
  cfg.host = "127.0.0.1";
  cfg.port = port_;
  cfg.ca_pem = test_pki().ca_pem;
  cfg.token = kube::TokenSource::from_value(token);
  cfg.user_agent = "modelgate-test/0.1.0";
  cfg.source = "replay";
  return cfg;
}

std::vector<Recorded> ReplayServer::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return recorded_;
}

std::size_t ReplayServer::wait_requests(std::size_t n, std::chrono::milliseconds bound) const {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, bound, [&] { return recorded_.size() >= n; });
  return recorded_.size();
}

void ReplayServer::accept_loop() {
  while (true) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      continue;
    }
    if (fds[1].revents != 0) {
      return;
    }
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      continue;
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) {
      ::close(fd);
      return;
    }
    conn_fds_.push_back(fd);
    threads_.emplace_back([this, fd] { serve(fd); });
  }
}

void ReplayServer::serve(int fd) {
  SSL* ssl = SSL_new(static_cast<SSL_CTX*>(ctx_));
  SSL_set_fd(ssl, fd);
  auto finish = [&](bool clean) {
    if (clean) {
      SSL_shutdown(ssl);
    }
    SSL_free(ssl);
    ERR_clear_error();
    ::shutdown(fd, SHUT_RDWR);
    // The fd is closed by the server's destructor path only through this thread: close it here
    // and forget it under the lock so stop() never shuts down a reused descriptor.
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = conn_fds_.begin(); it != conn_fds_.end(); ++it) {
      if (*it == fd) {
        conn_fds_.erase(it);
        break;
      }
    }
    ::close(fd);
  };
  if (SSL_accept(ssl) != 1) {
    finish(false);
    return;
  }
  std::string in;
  char buf[16384];
  std::size_t head = std::string::npos;
  while ((head = in.find("\r\n\r\n")) == std::string::npos) {
    const int n = SSL_read(ssl, buf, sizeof buf);
    if (n <= 0) {
      finish(false);
      return;
    }
    in.append(buf, static_cast<std::size_t>(n));
  }
  Recorded rec;
  const std::string head_text = in.substr(0, head);
  std::string body = in.substr(head + 4);
  const std::size_t sp1 = head_text.find(' ');
  const std::size_t sp2 = head_text.find(' ', sp1 + 1);
  rec.method = head_text.substr(0, sp1);
  const std::string target = head_text.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::size_t q = target.find('?');
  rec.path = target.substr(0, q);
  if (q != std::string::npos) {
    std::string qs = target.substr(q + 1);
    std::size_t pos = 0;
    while (pos <= qs.size()) {
      std::size_t amp = qs.find('&', pos);
      if (amp == std::string::npos) {
        amp = qs.size();
      }
      const std::string kv = qs.substr(pos, amp - pos);
      const std::size_t eq = kv.find('=');
      rec.query[url_decode(kv.substr(0, eq))] = eq == std::string::npos ? "" : url_decode(kv.substr(eq + 1));
      pos = amp + 1;
    }
  }
  std::size_t content_length = 0;
  std::size_t line_start = head_text.find("\r\n");
  while (line_start != std::string::npos && line_start < head_text.size()) {
    const std::size_t next = head_text.find("\r\n", line_start + 2);
    const std::string line = head_text.substr(line_start + 2, next == std::string::npos ? std::string::npos : next - line_start - 2);
    const std::size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      for (char& c : name) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') {
        value.erase(0, 1);
      }
      if (name == "authorization") {
        rec.authorization = value;
      } else if (name == "user-agent") {
        rec.user_agent = value;
      } else if (name == "content-length") {
        content_length = static_cast<std::size_t>(std::strtoull(value.c_str(), nullptr, 10));
      }
    }
    line_start = next;
  }
  while (body.size() < content_length) {
    const int n = SSL_read(ssl, buf, sizeof buf);
    if (n <= 0) {
      break;
    }
    body.append(buf, static_cast<std::size_t>(n));
  }
  rec.body = body;

  Reply reply;
  {
    std::unique_lock<std::mutex> lock(mu_);
    const std::size_t index = recorded_.size();
    recorded_.push_back(rec);
    cv_.notify_all();
    while (true) {
      for (std::size_t i = 0; i < routes_.size() && !rec.matched; ++i) {
        const Route& r = routes_[i];
        if (used_[i] || r.method != rec.method || r.path != rec.path) {
          continue;
        }
        bool ok = true;
        for (const auto& [k, v] : r.query) {
          auto it = rec.query.find(k);
          if (it == rec.query.end() || (v != "*" && it->second != v)) {
            ok = false;
          }
        }
        for (const std::string& k : r.absent) {
          if (rec.query.count(k) != 0) {
            ok = false;
          }
        }
        if (!ok) {
          continue;
        }
        rec.matched = true;
        recorded_[index].matched = true;
        reply = r.reply;
        if (!r.repeat) {
          used_[i] = true;
        }
      }
      if (rec.matched || !hold_for_routes_ || stopped_) {
        break;
      }
      cv_.wait(lock);  // answered when a matching route is added, or never (stop)
    }
  }
  if (!rec.matched) {
    reply.hold_open = true;
  }
  const std::string_view bytes =
      std::string_view(reply.bytes).substr(0, std::min(reply.cut_after, reply.bytes.size()));
  const std::size_t piece = reply.piece == 0 ? bytes.size() : reply.piece;
  for (std::size_t off = 0; off < bytes.size(); off += piece) {
    const std::string_view part = bytes.substr(off, piece);
    if (SSL_write(ssl, part.data(), static_cast<int>(part.size())) <= 0) {
      finish(false);
      return;
    }
    if (reply.pause.count() > 0 && off + piece < bytes.size()) {
      pollfd p{stop_fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(reply.pause.count())) > 0) {
        finish(false);
        return;
      }
    }
  }
  if (reply.cut_after != std::string::npos) {
    finish(false);  // a TCP close with no TLS close_notify: the connection was cut
    return;
  }
  if (reply.hold_open) {
    // Wait until the client goes away or the server stops; never answer.
    pollfd fds[2] = {{fd, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    while (true) {
      if (::poll(fds, 2, -1) < 0) {
        continue;
      }
      if (fds[1].revents != 0) {
        break;
      }
      if (fds[0].revents != 0) {
        const int n = SSL_read(ssl, buf, sizeof buf);
        if (n <= 0) {
          break;
        }
      }
    }
    finish(false);
    return;
  }
  finish(true);
}

}  // namespace modelgate::testing
