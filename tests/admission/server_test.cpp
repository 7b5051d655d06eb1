// server_test.cpp: the real server on 127.0.0.1, port 0, with TLS material made by the openssl CLI
// for each test; clients are cpp-httplib's SSLClient and `openssl s_client` (the oracle for
// protocol versions and for which certificate a new connection gets). Handlers are fakes.
#include <catch2/catch.hpp>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "admission/server.h"
#include "prometheus_text.h"
#include "test_support.h"
#include "wait_until.h"

namespace fs = std::filesystem;
using modelgate::Code;
using namespace modelgate::admission;
using modelgate::testing::run;
using modelgate::testing::TempDir;
using modelgate::testing::replace_file;
using modelgate::testing::write_file;
using namespace std::chrono_literals;

namespace {

void openssl(std::vector<std::string> args) {
  args.insert(args.begin(), "openssl");
  const auto r = run(args);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

std::string normalize_fingerprint(const std::string& openssl_output) {
  // "sha256 Fingerprint=AB:CD:..." -> "abcd..."
  const std::size_t eq = openssl_output.find('=');
  std::string hex;
  for (std::size_t i = eq == std::string::npos ? 0 : eq + 1; i < openssl_output.size(); ++i) {
    const char c = openssl_output[i];
    if (std::isxdigit(static_cast<unsigned char>(c)) != 0) {
      hex.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
  }
  return hex;
}

// Pki makes CAs and leaf certificates (for 127.0.0.1 and localhost) with the openssl CLI.
class Pki {
 public:
  fs::path operator/(const std::string& rel) const { return dir_ / rel; }

  void ca(const std::string& name) {
    openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
             (dir_ / (name + ".key")).string(), "-out", (dir_ / (name + ".crt")).string(), "-subj", "/CN=" + name,
             "-days", "2", "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
             "keyUsage=critical,keyCertSign,cRLSign"});
  }

  void leaf(const std::string& name, const std::string& ca) {
    write_file(dir_ / (name + ".ext"),
               "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
               "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n");
    openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
             (dir_ / (name + ".key")).string(), "-out", (dir_ / (name + ".csr")).string(), "-subj", "/CN=localhost"});
    openssl({"x509", "-req", "-in", (dir_ / (name + ".csr")).string(), "-CA", (dir_ / (ca + ".crt")).string(),
             "-CAkey", (dir_ / (ca + ".key")).string(), "-CAcreateserial", "-out", (dir_ / (name + ".crt")).string(),
             "-days", "2", "-extfile", (dir_ / (name + ".ext")).string()});
  }

  // fingerprint is the SHA-256 of a certificate file, as openssl computes it.
  std::string fingerprint(const std::string& name) const {
    const auto r = run({"openssl", "x509", "-in", (dir_ / (name + ".crt")).string(), "-noout", "-fingerprint",
                        "-sha256"});
    REQUIRE(r.exit_code == 0);
    return normalize_fingerprint(r.out);
  }

 private:
  TempDir dir_;
};

// peer_fingerprint connects with openssl s_client (trusting `ca`) and returns the SHA-256 of the
// certificate the server presented; "" when the handshake or verification failed.
std::string peer_fingerprint(std::uint16_t port, const fs::path& ca) {
  const auto r = run({"sh", "-c",
                      "openssl s_client -connect 127.0.0.1:" + std::to_string(port) + " -CAfile '" + ca.string() +
                          "' -verify_return_error </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256"});
  return r.exit_code == 0 ? normalize_fingerprint(r.out) : std::string();
}

// Gate blocks a handler until the test releases it, and tells the test when one is waiting.
class Gate {
 public:
  void pass() {
    std::unique_lock<std::mutex> lock(mu_);
    ++waiting_;
    cv_.notify_all();
    cv_.wait(lock, [this] { return open_; });
  }
  void wait_for_waiter() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return waiting_ > 0; });
  }
  void open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int waiting_ = 0;
  bool open_ = false;
};

// TestServer runs a Server with fake handlers: validate echoes the body it got, readiness follows
// `ready`, and `gate` (when set) holds validate until opened.
class TestServer {
 public:
  TestServer(const fs::path& cert, const fs::path& key, const std::function<void(ServerConfig&)>& tweak = {}) {
    config.address = "127.0.0.1";
    config.port = 0;
    config.tls_cert_file = cert;
    config.tls_key_file = key;
    config.max_body_bytes = 64 << 10;
    config.max_header_count = 32;
    config.read_timeout = 10s;
    config.write_timeout = 10s;
    config.worker_threads = 4;
    config.drain_timeout = 60s;
    if (tweak) {
      tweak(config);
    }
    ServerHandlers h;
    h.validate = [this](std::string_view body) {
      {
        std::lock_guard<std::mutex> lock(mu);
        bodies.emplace_back(body);
      }
      if (gate != nullptr) {
        gate->pass();
      }
      return HttpReply{200, "application/json", "{\"echo\":" + std::to_string(body.size()) + "}"};
    };
    h.readiness = [this] { return Readiness{ready.load(), ready ? "policies: 1 loaded" : "policies: not loaded"}; };
    auto s = Server::start(config, std::move(h), metrics, logger);
    INFO((s.ok() ? std::string() : s.error().message));
    REQUIRE(s.ok());
    server = std::move(s).value();
  }

  ~TestServer() {
    server.reset();
    std::fclose(log_file);
  }

  std::string log_text() {
    std::fflush(log_file);
    std::rewind(log_file);
    std::string out;
    char buf[4096];
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, log_file)) > 0) {
      out.append(buf, n);
    }
    std::fseek(log_file, 0, SEEK_END);
    return out;
  }

  std::size_t validated() {
    std::lock_guard<std::mutex> lock(mu);
    return bodies.size();
  }

  ServerConfig config;
  std::shared_ptr<Metrics> metrics = std::make_shared<Metrics>();
  std::FILE* log_file = std::tmpfile();
  modelgate::log::Logger logger{log_file, modelgate::log::Level::kDebug};
  std::atomic<bool> ready{false};
  Gate* gate = nullptr;
  std::mutex mu;
  std::vector<std::string> bodies;
  std::unique_ptr<Server> server;
};

std::unique_ptr<httplib::SSLClient> client(std::uint16_t port, const fs::path& ca) {
  auto c = std::make_unique<httplib::SSLClient>("127.0.0.1", port);
  c->set_ca_cert_path(ca.string());
  c->enable_server_certificate_verification(true);
  c->set_read_timeout(30, 0);
  return c;
}

// Handshakes records the SHA-256 of every server certificate a client's SSL_CTX saw.
struct Handshakes {
  std::mutex mu;
  std::set<std::string> fingerprints;
};

void watch_handshakes(httplib::SSLClient& c, Handshakes* h) {
  SSL_CTX_set_app_data(c.ssl_context(), h);
  SSL_CTX_set_info_callback(c.ssl_context(), [](const SSL* ssl, int where, int) {
    if ((where & SSL_CB_HANDSHAKE_DONE) == 0) {
      return;
    }
    auto* hs = static_cast<Handshakes*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
    X509* peer = SSL_get0_peer_certificate(ssl);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (peer != nullptr && X509_digest(peer, EVP_sha256(), md, &len) == 1) {
      std::lock_guard<std::mutex> lock(hs->mu);
      hs->fingerprints.insert(modelgate::testing::to_hex(md, len));
    }
  });
}

// Pki with ca1 → leaf1 in "live/tls.crt|key", the files the server reads.
struct LivePki {
  LivePki() {
    pki.ca("ca1");
    pki.leaf("leaf1", "ca1");
    fs::create_directories(pki / "live");
    fs::copy_file(pki / "leaf1.crt", pki / "live/tls.crt");
    fs::copy_file(pki / "leaf1.key", pki / "live/tls.key");
  }
  fs::path cert() const { return pki / "live/tls.crt"; }
  fs::path key() const { return pki / "live/tls.key"; }
  Pki pki;
};

bool connect_refused(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool refused = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0;
  ::close(fd);
  return refused;
}

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace

TEST_CASE("TLS 1.1 is refused and TLS 1.2 and 1.3 are accepted", "[admission][server]") {
  LivePki live;
  TestServer s(live.cert(), live.key());
  const std::string port = std::to_string(s.server->port());
  const std::string ca = (live.pki / "ca1.crt").string();
  // SECLEVEL=0 lets the client offer TLS 1.1 at all: the refusal below is the server's.
  const auto v11 = run({"openssl", "s_client", "-connect", "127.0.0.1:" + port, "-tls1_1", "-cipher",
                        "DEFAULT:@SECLEVEL=0", "-CAfile", ca, "-brief"});
  CHECK(v11.exit_code != 0);
  CHECK_THAT(v11.err + v11.out, Catch::Contains("protocol version"));
  for (const std::string v : {"1_2", "1_3"}) {
    const auto r = run({"openssl", "s_client", "-connect", "127.0.0.1:" + port, "-tls" + v, "-CAfile", ca,
                        "-verify_return_error", "-brief"});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.err, Catch::Contains("Protocol version: TLSv" + std::string(1, v[0]) + "." + std::string(1, v[2])));
    CHECK_THAT(r.err, Catch::Contains("Verification: OK"));
  }
  // The bound port was logged for scripts that start the server on port 0.
  CHECK_THAT(s.log_text(), Catch::Contains("\"event\":\"listening\"") && Catch::Contains("\"port\":" + port));
}

TEST_CASE("POST /validate reaches the handler with the exact body and returns its reply", "[admission][server]") {
  LivePki live;
  TestServer s(live.cert(), live.key());
  auto c = client(s.server->port(), live.pki / "ca1.crt");
  const std::string body = R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"})";
  auto r = c->Post("/validate", body, "application/json; charset=utf-8");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->get_header_value("Content-Type") == "application/json");
  CHECK(r->body == "{\"echo\":" + std::to_string(body.size()) + "}");
  REQUIRE(s.bodies.size() == 1);
  CHECK(s.bodies[0] == body);
  // A body of exactly maxBodyBytes is still accepted.
  auto full = c->Post("/validate", std::string(s.config.max_body_bytes, ' '), "application/json");
  REQUIRE(full);
  CHECK(full->status == 200);
}

TEST_CASE("a body that is not application/json is answered 415 and never reaches the handler",
          "[admission][server]") {
  LivePki live;
  TestServer s(live.cert(), live.key());
  auto c = client(s.server->port(), live.pki / "ca1.crt");
  for (const std::string type : {"text/plain", "application/jsonp", "application/x-www-form-urlencoded"}) {
    auto r = c->Post("/validate", "{}", type);
    REQUIRE(r);
    CHECK(r->status == 415);
    CHECK_THAT(r->body, Catch::Contains("application/json"));
  }
  // Compressed bodies would be inflated past every bound: refused before they are read.
  auto gz = c->Post("/validate", httplib::Headers{{"Content-Encoding", "gzip"}}, "{}", "application/json");
  REQUIRE(gz);
  CHECK(gz->status == 415);
  CHECK(s.validated() == 0);
}

httplib::Result post_chunked(httplib::SSLClient& c, std::size_t size) {
  return c.Post(
      "/validate",
      [size](std::size_t, httplib::DataSink& sink) {
        const std::string part(1000, ' ');
        for (std::size_t sent = 0; sent < size; sent += part.size()) {
          sink.write(part.data(), std::min(part.size(), size - sent));
        }
        sink.done();
        return true;
      },
      "application/json");
}

TEST_CASE("a body over maxBodyBytes is answered 413, with Content-Length or chunked, and never reaches the handler",
          "[admission][server]") {
  LivePki live;
  TestServer s(live.cert(), live.key());
  auto c = client(s.server->port(), live.pki / "ca1.crt");
  auto big = c->Post("/validate", std::string(s.config.max_body_bytes + 1, ' '), "application/json");
  REQUIRE(big);
  CHECK(big->status == 413);
  auto big_chunked = post_chunked(*c, s.config.max_body_bytes + 1);
  REQUIRE(big_chunked);
  CHECK(big_chunked->status == 413);
  CHECK(s.validated() == 0);
  auto small_chunked = post_chunked(*c, 2000);
  REQUIRE(small_chunked);
  CHECK(small_chunked->status == 200);
  REQUIRE(s.validated() == 1);
  CHECK(s.bodies[0] == std::string(2000, ' '));
  const modelgate::testing::PromText t = modelgate::testing::parse_prometheus_text(s.metrics->serialize());
  CHECK(t.value("modelgate_http_requests_total", {{"path", "/validate"}, {"code", "413"}}) == 2.0);
}

TEST_CASE("a POST without Content-Length is answered 411", "[admission][server]") {
  LivePki live;
  TestServer s(live.cert(), live.key());
  // Raw HTTP through s_client: cpp-httplib's client always sends a length.
  const auto r = run({"sh", "-c",
                      "printf 'POST /validate HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: application/json\\r\\n"
                      "Connection: close\\r\\n\\r\\n' | openssl s_client -quiet -connect 127.0.0.1:" +
                          std::to_string(s.server->port()) + " 2>/dev/null"});
  CHECK_THAT(r.out, Catch::StartsWith("HTTP/1.1 411 Length Required\r\n") && Catch::Contains("Content-Length is required"));
  CHECK(s.validated() == 0);
}

TEST_CASE("too many headers are answered 431 and a header flood is cut", "[admission][server]") {
  LivePki live;
  TestServer s(live.cert(), live.key());
  auto c = client(s.server->port(), live.pki / "ca1.crt");
  httplib::Headers many;
  for (int i = 0; i < 40; ++i) {
    many.emplace("X-Filler-" + std::to_string(i), "1");
  }
  auto r = c->Get("/healthz", many);
  REQUIRE(r);
  CHECK(r->status == 431);
  // 300 headers of 4000 bytes (1.2 MB) is more than the byte budget of one request: the
  // connection is cut while the headers are still being read, and the server serves the next one.
  httplib::Headers flood;
  for (int i = 0; i < 300; ++i) {
    flood.emplace("X-Flood-" + std::to_string(i), std::string(4000, 'a'));
  }
  auto cut = c->Get("/healthz", flood);
  CHECK_FALSE(cut);
  CHECK_THAT(s.log_text(), Catch::Contains("request_too_large"));
  auto after = c->Get("/healthz");
  REQUIRE(after);
  CHECK(after->status == 200);
}

TEST_CASE("/healthz answers ok and /readyz follows readiness from 503 to 200", "[admission][server]") {
  LivePki live;
  TestServer s(live.cert(), live.key());
  auto c = client(s.server->port(), live.pki / "ca1.crt");
  auto h = c->Get("/healthz");
  REQUIRE(h);
  CHECK(h->status == 200);
  CHECK(h->body == "ok\n");
  auto not_ready = c->Get("/readyz");
  REQUIRE(not_ready);
  CHECK(not_ready->status == 503);
  CHECK(not_ready->body == "policies: not loaded\n");
  s.ready = true;
  auto ready = c->Get("/readyz");
  REQUIRE(ready);
  CHECK(ready->status == 200);
  CHECK(ready->body == "policies: 1 loaded\n");
  auto missing = c->Get("/nope");
  REQUIRE(missing);
  CHECK(missing->status == 404);
  auto wrong_method = c->Get("/validate");
  REQUIRE(wrong_method);
  CHECK(wrong_method->status == 405);
  CHECK(wrong_method->get_header_value("Allow") == "POST");
}

TEST_CASE("/metrics is Prometheus text naming every metric and counting every answer", "[admission][server]") {
  LivePki live;
  TestServer s(live.cert(), live.key(), [](ServerConfig& c) { c.metrics_port = free_port(); });
  auto c = client(s.server->port(), live.pki / "ca1.crt");
  REQUIRE(c->Get("/healthz"));
  REQUIRE(c->Get("/nope"));
  REQUIRE(c->Post("/validate", "{}", "text/plain"));
  auto m = c->Get("/metrics");
  REQUIRE(m);
  CHECK(m->status == 200);
  CHECK(m->get_header_value("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
  const modelgate::testing::PromText t = modelgate::testing::parse_prometheus_text(m->body);
  INFO(t.error);
  REQUIRE(t.error.empty());
  for (const char* name : {"modelgate_http_requests_total", "modelgate_hashed_bytes_total",
                           "modelgate_cache_requests_total", "modelgate_hash_jobs_in_flight",
                           "modelgate_policy_reloads_total", "modelgate_tls_reloads_total"}) {
    CHECK(t.types.count(name) == 1);
  }
  CHECK(t.value("modelgate_http_requests_total", {{"path", "/healthz"}, {"code", "200"}}) == 1.0);
  CHECK(t.value("modelgate_http_requests_total", {{"path", "other"}, {"code", "404"}}) == 1.0);
  CHECK(t.value("modelgate_http_requests_total", {{"path", "/validate"}, {"code", "415"}}) == 1.0);

  // The plain listener serves the same text, and nothing that takes a body.
  REQUIRE(s.server->metrics_port() == s.config.metrics_port);
  httplib::Client plain("127.0.0.1", s.server->metrics_port());
  auto pm = plain.Get("/metrics");
  REQUIRE(pm);
  CHECK(pm->status == 200);
  CHECK(modelgate::testing::parse_prometheus_text(pm->body).error.empty());
  CHECK(plain.Get("/healthz")->status == 200);
  CHECK(plain.Get("/readyz")->status == 503);
  auto post = plain.Post("/validate", "{}", "application/json");
  REQUIRE(post);
  CHECK(post->status == 404);
  CHECK(s.validated() == 0);
}

TEST_CASE("a rotated certificate reaches new connections while a request in flight on the old one succeeds",
          "[admission][server]") {
  LivePki live;
  live.pki.ca("ca2");
  live.pki.leaf("leaf2", "ca2");
  TestServer s(live.cert(), live.key());
  Gate gate;
  s.gate = &gate;
  const std::string old_fp = live.pki.fingerprint("leaf1");
  const std::string new_fp = live.pki.fingerprint("leaf2");
  REQUIRE(old_fp != new_fp);
  CHECK(s.server->certificate_sha256() == old_fp);
  CHECK(peer_fingerprint(s.server->port(), live.pki / "ca1.crt") == old_fp);

  // Client A trusts only ca1 and keeps its connection: a second handshake would fail.
  auto a = client(s.server->port(), live.pki / "ca1.crt");
  a->set_keep_alive(true);
  Handshakes seen;
  watch_handshakes(*a, &seen);
  httplib::Result in_flight(nullptr, httplib::Error::Unknown);
  std::thread t([&] { in_flight = a->Post("/validate", "{\"a\":1}", "application/json"); });
  gate.wait_for_waiter();

  replace_file(live.cert(), modelgate::testing::read_file(live.pki / "leaf2.crt"));
  replace_file(live.key(), modelgate::testing::read_file(live.pki / "leaf2.key"));
  auto reloaded = s.server->reload_tls_if_changed();
  REQUIRE(reloaded.ok());
  CHECK(reloaded.value());
  CHECK(s.server->certificate_sha256() == new_fp);
  CHECK(peer_fingerprint(s.server->port(), live.pki / "ca2.crt") == new_fp);
  CHECK(peer_fingerprint(s.server->port(), live.pki / "ca1.crt").empty());  // not trusted by ca1

  gate.open();
  t.join();
  REQUIRE(in_flight);
  CHECK(in_flight->status == 200);
  auto again = a->Post("/validate", "{}", "application/json");  // same connection, old certificate
  REQUIRE(again);
  CHECK(again->status == 200);
  {
    std::lock_guard<std::mutex> lock(seen.mu);
    CHECK(seen.fingerprints == std::set<std::string>{old_fp});
  }
  auto b = client(s.server->port(), live.pki / "ca2.crt");
  auto fresh = b->Get("/healthz");
  REQUIRE(fresh);
  CHECK(fresh->status == 200);

  auto unchanged = s.server->reload_tls_if_changed();
  REQUIRE(unchanged.ok());
  CHECK_FALSE(unchanged.value());
  const auto m = modelgate::testing::parse_prometheus_text(s.metrics->serialize());
  CHECK(m.value("modelgate_tls_reloads_total", {{"result", "success"}}) == 1.0);
  CHECK_THAT(s.log_text(), Catch::Contains("\"event\":\"tls_reloaded\"") && Catch::Contains(new_fp));
}

TEST_CASE("a broken certificate replacement keeps the current certificate and says why", "[admission][server]") {
  LivePki live;
  live.pki.ca("ca2");
  live.pki.leaf("leaf2", "ca2");
  TestServer s(live.cert(), live.key());
  const std::string old_fp = live.pki.fingerprint("leaf1");

  SECTION("a key that does not match the certificate") {
    replace_file(live.key(), modelgate::testing::read_file(live.pki / "leaf2.key"));
    auto r = s.server->reload_tls_if_changed();
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Code::kMismatch);
    CHECK_THAT(r.error().message, Catch::Contains("does not match the certificate"));
  }
  SECTION("a certificate file that is not PEM") {
    replace_file(live.cert(), "not a certificate\n");
    auto r = s.server->reload_tls_if_changed();
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Code::kMalformed);
  }
  SECTION("a certificate file that is gone") {
    fs::remove(live.cert());
    auto r = s.server->reload_tls_if_changed();
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Code::kNotFound);
  }
  CHECK(s.server->certificate_sha256() == old_fp);
  CHECK(peer_fingerprint(s.server->port(), live.pki / "ca1.crt") == old_fp);
  // The same broken files are not retried (nor logged, nor counted) at every check.
  auto again = s.server->reload_tls_if_changed();
  REQUIRE(again.ok());
  CHECK_FALSE(again.value());
  auto m = modelgate::testing::parse_prometheus_text(s.metrics->serialize());
  CHECK(m.value("modelgate_tls_reloads_total", {{"result", "failure"}}) == 1.0);
  CHECK_THAT(s.log_text(), Catch::Contains("\"event\":\"tls_reload_failed\""));

  // A good pair afterwards is installed.
  replace_file(live.cert(), modelgate::testing::read_file(live.pki / "leaf2.crt"));
  replace_file(live.key(), modelgate::testing::read_file(live.pki / "leaf2.key"));
  auto fixed = s.server->reload_tls_if_changed();
  REQUIRE(fixed.ok());
  CHECK(fixed.value());
  CHECK(peer_fingerprint(s.server->port(), live.pki / "ca2.crt") == live.pki.fingerprint("leaf2"));
}

TEST_CASE("a server does not start on missing or mismatched TLS files", "[admission][server]") {
  LivePki live;
  live.pki.leaf("other", "ca1");
  ServerHandlers h{[](std::string_view) { return HttpReply{}; }, [] { return Readiness{}; }};
  std::FILE* devnull = std::fopen("/dev/null", "w");
  modelgate::log::Logger logger(devnull);
  ServerConfig c;
  c.address = "127.0.0.1";
  c.port = 0;
  c.tls_cert_file = live.cert();
  c.tls_key_file = live.pki / "other.key";
  auto mismatch = Server::start(c, h, std::make_shared<Metrics>(), logger);
  REQUIRE_FALSE(mismatch.ok());
  CHECK(mismatch.error().code == Code::kMismatch);
  c.tls_key_file = live.pki / "absent.key";
  auto missing = Server::start(c, h, std::make_shared<Metrics>(), logger);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == Code::kNotFound);
  CHECK_THAT(missing.error().message, Catch::Contains("absent.key"));
  std::fclose(devnull);
}

TEST_CASE("a second server on a port that is taken does not start: the port is never shared", "[admission][server]") {
  LivePki live;
  TestServer first(live.cert(), live.key());
  ServerHandlers h{[](std::string_view) { return HttpReply{}; }, [] { return Readiness{}; }};
  std::FILE* devnull = std::fopen("/dev/null", "w");
  modelgate::log::Logger logger(devnull);
  ServerConfig c = first.config;
  c.port = first.server->port();
  auto second = Server::start(c, h, std::make_shared<Metrics>(), logger);
  REQUIRE_FALSE(second.ok());
  CHECK(second.error().code == Code::kIo);  // `serve` exits 2 on it (docs/config.md)
  CHECK_THAT(second.error().message, Catch::Contains("cannot listen on 127.0.0.1:" + std::to_string(c.port)));
  // The same for the metrics port.
  c.port = 0;
  c.metrics_port = first.server->port();
  auto metrics = Server::start(c, h, std::make_shared<Metrics>(), logger);
  REQUIRE_FALSE(metrics.ok());
  CHECK(metrics.error().code == Code::kIo);
  std::fclose(devnull);
}

TEST_CASE("the TLS port listens with a backlog for bursts of new connections, not cpp-httplib's 5",
          "[admission][server]") {
  LivePki live;
  TestServer s(live.cert(), live.key());
  // ss shows a listening socket's backlog in its Send-Q column.
  const auto r = run({"ss", "-Hltn", "sport = :" + std::to_string(s.server->port())});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  std::istringstream line(r.out);
  std::string state, recv_q, send_q;
  line >> state >> recv_q >> send_q;
  REQUIRE(state == "LISTEN");
  // 1024 (docs/config.md), unless the kernel caps every backlog lower (net.core.somaxconn).
  const int somaxconn = std::stoi(modelgate::testing::read_file("/proc/sys/net/core/somaxconn"));
  CHECK(std::stoi(send_q) == std::min(1024, somaxconn));
}

TEST_CASE("a new connection is served when every worker holds an idle keep-alive connection",
          "[admission][server]") {
  LivePki live;
  // One worker and an idle timeout far beyond the test: without freeing the idle connection's
  // worker, the second client would wait an hour (and fail at its timeouts).
  TestServer s(live.cert(), live.key(), [](ServerConfig& c) {
    c.worker_threads = 1;
    c.idle_timeout = 3600s;
  });
  auto first = client(s.server->port(), live.pki / "ca1.crt");
  first->set_keep_alive(true);
  REQUIRE(first->Get("/healthz"));
  auto second = client(s.server->port(), live.pki / "ca1.crt");
  second->set_read_timeout(20, 0);
  second->set_connection_timeout(20, 0);
  second->set_keep_alive(true);
  for (int i = 0; i < 3; ++i) {
    auto r = second->Get("/healthz");
    REQUIRE(r);
    CHECK(r->status == 200);
  }
  // The first client's connection was closed for it; it reconnects (and frees the worker in turn).
  auto again = first->Get("/healthz");
  REQUIRE(again);
  CHECK(again->status == 200);
}

TEST_CASE("stop drains: the listener closes, a slow request in flight finishes, idle connections close",
          "[admission][server]") {
  LivePki live;
  // idle and drain timeouts far longer than the test: stop() must not wait for either.
  TestServer s(live.cert(), live.key(), [](ServerConfig& c) {
    c.idle_timeout = 3600s;
    c.drain_timeout = 300s;
  });
  Gate gate;
  s.gate = &gate;
  const std::uint16_t port = s.server->port();
  auto idle = client(port, live.pki / "ca1.crt");
  idle->set_keep_alive(true);
  REQUIRE(idle->Get("/healthz"));  // leaves a keep-alive connection open and idle

  auto slow = client(port, live.pki / "ca1.crt");
  httplib::Result in_flight(nullptr, httplib::Error::Unknown);
  std::thread request([&] { in_flight = slow->Post("/validate", "{\"slow\":true}", "application/json"); });
  gate.wait_for_waiter();

  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    s.server->stop();
    stopped = true;
  });
  // The listener goes away at once...
  CHECK(modelgate::testing::wait_until([&] { return connect_refused(port); }));
  // ...but stop() cannot return while the handler runs.
  CHECK_FALSE(stopped);
  gate.open();
  request.join();
  stopper.join();
  REQUIRE(in_flight);
  CHECK(in_flight->status == 200);
  CHECK(in_flight->body == "{\"echo\":13}");
  const std::string log = s.log_text();
  CHECK_THAT(log, Catch::Contains("\"event\":\"drained\""));
  CHECK_THAT(log, !Catch::Contains("drain_timeout"));
}

// ---- slow, silent and garbage clients ----

namespace {

// connect_tcp returns a socket connected to 127.0.0.1:port, or -1. No Catch2 assertions: it runs
// on client threads too, and Catch2 v2 is not thread-safe.
int connect_tcp(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    return -1;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// server_closed says whether the server has closed (or is closing) `fd`: none of these clients
// ever completes a request, so anything readable — EOF, a reset, an alert — is the server ending it.
bool server_closed(int fd, std::chrono::milliseconds wait) {
  pollfd p{fd, POLLIN | POLLRDHUP, 0};
  return ::poll(&p, 1, static_cast<int>(wait.count())) > 0;
}

// SlowClient holds one connection open the way a slowloris attacker does, from its own thread:
//   kSilent     connects and sends nothing;
//   kHandshake  sends a ClientHello record header, then one byte of it every `interval`;
//   kRequest    completes a TLS 1.2 handshake, then sends "POST /validate ..." a byte per record
//               every `interval`.
// It records when the server closed the connection; with `reconnect` it then opens a new one, as
// an attacker would, until stopped.
class SlowClient {
 public:
  enum Kind { kSilent, kHandshake, kRequest };

  SlowClient(std::uint16_t port, Kind kind, std::chrono::milliseconds interval, bool reconnect = false)
      : port_(port), kind_(kind), interval_(interval), reconnect_(reconnect) {
    thread_ = std::thread([this] { run(); });
  }
  ~SlowClient() {
    stop_ = true;
    thread_.join();
  }

  // wait_connected returns once the first connection is open (and, for kRequest, handshaken).
  void wait_connected() {
    while (!connected_) {
      std::this_thread::sleep_for(1ms);
    }
  }
  // cuts is how many of its connections the server closed; first_cut_after how long the first
  // one lasted (zero until then).
  int cuts() const { return cuts_; }
  std::chrono::milliseconds first_cut_after() const { return std::chrono::milliseconds(first_cut_ms_.load()); }

 private:
  void run() {
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    // TLS 1.2: no post-handshake tickets, so the socket stays unreadable until the server acts.
    SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
    do {
      one_connection(ctx);
    } while (reconnect_ && !stop_);
    SSL_CTX_free(ctx);
  }

  void one_connection(SSL_CTX* ctx) {
    const auto started = std::chrono::steady_clock::now();
    const int fd = connect_tcp(port_);
    if (fd < 0) {
      std::this_thread::sleep_for(interval_);
      return;
    }
    SSL* ssl = nullptr;
    if (kind_ == kRequest) {
      ssl = SSL_new(ctx);
      SSL_set_fd(ssl, fd);
      if (SSL_connect(ssl) != 1) {
        SSL_free(ssl);
        ::close(fd);
        std::this_thread::sleep_for(interval_);  // the server was busy cutting: try again
        return;
      }
    }
    connected_ = true;
    static constexpr char kClientHello[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";
    static constexpr char kRequestLine[] = "POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";
    std::size_t sent = 0;
    bool closed = false;
    while (!stop_ && !closed) {
      if (kind_ == kHandshake) {
        // The record header first, then its body a byte at a time (zeros once kClientHello ends;
        // the header promised 512 bytes).
        static constexpr char kZero = '\0';
        const std::size_t at = sent == 0 ? 0 : sent + 4;
        const char* byte = at < sizeof kClientHello - 1 ? kClientHello + at : &kZero;
        if (::send(fd, byte, sent == 0 ? 5 : 1, MSG_NOSIGNAL) <= 0) {
          break;
        }
        sent += 1;
      } else if (kind_ == kRequest) {
        if (SSL_write(ssl, kRequestLine + sent % (sizeof kRequestLine - 1), 1) != 1) {
          closed = true;
          break;
        }
        ++sent;
      }
      closed = server_closed(fd, interval_);
    }
    if (closed || (kind_ != kRequest && server_closed(fd, 0ms))) {
      const auto lasted = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                                started);
      if (cuts_++ == 0) {
        first_cut_ms_ = lasted.count();
      }
    }
    if (ssl != nullptr) {
      SSL_free(ssl);
    }
    ::close(fd);
  }

  const std::uint16_t port_;
  const Kind kind_;
  const std::chrono::milliseconds interval_;
  const bool reconnect_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> connected_{false};
  std::atomic<int> cuts_{0};
  std::atomic<std::int64_t> first_cut_ms_{0};
  std::thread thread_;
};

double connections_closed(TestServer& s, const std::string& reason) {
  const auto t = modelgate::testing::parse_prometheus_text(s.metrics->serialize());
  return t.value("modelgate_connections_closed_total", {{"reason", reason}}).value_or(-1);
}

// timed_healthz makes one request on a new connection and returns how long it took to answer
// 200 (a failure fails the test).
std::chrono::milliseconds timed_healthz(std::uint16_t port, const fs::path& ca) {
  const auto started = std::chrono::steady_clock::now();
  auto c = client(port, ca);
  c->set_connection_timeout(20, 0);
  c->set_read_timeout(20, 0);
  auto r = c->Get("/healthz");
  REQUIRE(r);
  CHECK(r->status == 200);
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
}

}  // namespace

TEST_CASE("a client that trickles or stays silent is cut at readTimeout, though each of its reads is quick",
          "[admission][server][faults]") {
  LivePki live;
  TestServer s(live.cert(), live.key(), [](ServerConfig& c) { c.read_timeout = 2s; });
  SlowClient silent(s.server->port(), SlowClient::kSilent, 100ms);
  SlowClient hello(s.server->port(), SlowClient::kHandshake, 100ms);
  SlowClient request(s.server->port(), SlowClient::kRequest, 100ms);
  request.wait_connected();
  // Meanwhile others are served: three of four workers are taken, none is waited for (the
  // answer comes while all three still hold theirs; no clock is read).
  (void)timed_healthz(s.server->port(), live.pki / "ca1.crt");
  CHECK(silent.cuts() + hello.cuts() + request.cuts() == 0);
  modelgate::testing::wait_until([&] { return silent.cuts() != 0 && hello.cuts() != 0 && request.cuts() != 0; },
                                 120s, 10ms);
  for (const SlowClient* c : {&silent, &hello, &request}) {
    REQUIRE(c->cuts() == 1);
    // The deadline is 2 s for the whole handshake or request, checked every 100 ms: never earlier;
    // later only by as much as a busy machine delays the check (without it: never cut at all).
    CHECK(c->first_cut_after() >= 1900ms);
    CHECK(c->first_cut_after() < 30s);
  }
  // The two trickling clients can only have been cut by the whole-request deadline; the silent
  // one may instead meet cpp-httplib's own per-read timeout, which is the same 2 s.
  CHECK(connections_closed(s, "slow_client") >= 2.0);
  CHECK(s.validated() == 0);
}

TEST_CASE("slowloris on every worker: new clients are still answered in about a second, not after readTimeout",
          "[admission][server][faults]") {
  LivePki live;
  // Four workers and a readTimeout beyond the clients' patience: only freeing workers from the
  // stalled connections can answer the clients in time.
  TestServer s(live.cert(), live.key(), [](ServerConfig& c) {
    c.worker_threads = 4;
    c.read_timeout = 60s;
  });
  std::vector<std::unique_ptr<SlowClient>> attackers;
  for (int i = 0; i < 9; ++i) {
    const auto kind = static_cast<SlowClient::Kind>(i % 3);
    attackers.push_back(std::make_unique<SlowClient>(s.server->port(), kind, 200ms, /*reconnect=*/true));
  }
  for (auto& a : attackers) {
    if (&a - &attackers[0] < 4) {
      a->wait_connected();
    }
  }
  std::this_thread::sleep_for(700ms);  // the attackers hold every worker, past the slow-client grace
  std::chrono::milliseconds worst{0};
  for (int i = 0; i < 8; ++i) {
    worst = std::max(worst, timed_healthz(s.server->port(), live.pki / "ca1.crt"));
  }
  INFO("slowest answer " << worst.count() << " ms");
  CHECK(worst < 30s);  // not the 60 s readTimeout: a busy machine is slower, never that slow
  CHECK(connections_closed(s, "slow_client") >= 4.0);
  attackers.clear();
  CHECK(s.validated() == 0);
}

TEST_CASE("garbage on the TLS port fails its handshake at once and the server keeps serving",
          "[admission][server][faults]") {
  LivePki live;
  TestServer s(live.cert(), live.key(), [](ServerConfig& c) {
    c.worker_threads = 2;
    c.read_timeout = 120s;  // so that "let go at once" cannot be confused with a timeout
  });
  const std::vector<std::string> garbage = {
      "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",           // plaintext HTTP to the TLS port
      "POST /validate HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",    // an apiserver without TLS
      std::string("\x16\x03\x01\xff\xff", 5) + std::string(64, 'A'),  // a record longer than TLS allows
      std::string("\x17\x03\x03\x00\x10", 5) + std::string(16, '\0'),  // application data before a handshake
      std::string("\x15\x03\x03\x00\x02\x02\x28", 7),                 // a fatal alert out of nowhere
      std::string(512, '\xff'),
      std::string("\x16\x03\x03\x00\x05\x01\x00\x00\x01\x00", 10),    // a ClientHello of one byte
  };
  for (int round = 0; round < 3; ++round) {
    for (const std::string& g : garbage) {
      const int fd = connect_tcp(s.server->port());
      REQUIRE(fd >= 0);
      REQUIRE(::send(fd, g.data(), g.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(g.size()));
      INFO("garbage " << modelgate::testing::to_hex(reinterpret_cast<const unsigned char*>(g.data()),
                                                    std::min<std::size_t>(g.size(), 16)));
      // Two workers and 21 connections: each one must be let go at once for the next to be read.
      CHECK(server_closed(fd, 60s));
      ::close(fd);
    }
  }
  CHECK(timed_healthz(s.server->port(), live.pki / "ca1.crt") < 60s);
  auto c = client(s.server->port(), live.pki / "ca1.crt");
  auto r = c->Post("/validate", "{\"after\":\"garbage\"}", "application/json");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(s.validated() == 1);
}

TEST_CASE("forty keep-alive clients on four workers are all answered, twice, by closing idle connections",
          "[admission][server][faults]") {
  LivePki live;
  TestServer s(live.cert(), live.key(), [](ServerConfig& c) {
    c.worker_threads = 4;
    c.idle_timeout = 3600s;  // without freeing idle workers, client 5 would wait an hour
  });
  std::vector<std::unique_ptr<httplib::SSLClient>> clients;
  for (int i = 0; i < 40; ++i) {
    clients.push_back(client(s.server->port(), live.pki / "ca1.crt"));
    clients.back()->set_keep_alive(true);
    clients.back()->set_connection_timeout(20, 0);
  }
  int ok = 0;
  for (int round = 0; round < 2; ++round) {
    for (auto& c : clients) {
      auto r = c->Post("/validate", "{\"round\":" + std::to_string(round) + "}", "application/json");
      ok += r && r->status == 200 ? 1 : 0;
    }
  }
  CHECK(ok == 80);
  CHECK(s.validated() == 80);
  // Every client after the first four took a worker from an idle one.
  CHECK(connections_closed(s, "idle_evicted") >= 36.0);
  CHECK(connections_closed(s, "slow_client") == 0.0);
}
