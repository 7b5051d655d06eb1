#include "registry_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "crypto/encoding.h"
#include "wait_until.h"

namespace modelgate::testing {

namespace {

namespace fs = std::filesystem;

int loopback_socket(std::uint16_t port, std::uint16_t* bound) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return -1;
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *bound = ntohs(a.sin_port);
  return fd;
}

bool accepts_connections(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

bool run_ok(const std::vector<std::string>& argv, std::string* err) {
  ProcessResult r = run(argv);
  if (r.exit_code != 0) {
    *err = argv[0] + " failed (" + std::to_string(r.exit_code) + "): " + r.err;
    return false;
  }
  return true;
}

}  // namespace

std::uint16_t free_loopback_port() {
  std::uint16_t port = 0;
  const int fd = loopback_socket(0, &port);
  ::close(fd);
  return port;
}

StalledPort::StalledPort() {
  fd_ = loopback_socket(0, &port_);
  ::listen(fd_, 16);
}

StalledPort::~StalledPort() { ::close(fd_); }

RegistryFixture::RegistryFixture() : dir_(tmp_.path()) {
  if (!fs::exists("/usr/bin/docker-registry") || !fs::exists("/usr/bin/htpasswd")) {
    error_ = "docker-registry or htpasswd is not installed (scripts/setup.sh installs docker-registry and apache2-utils)";
    return;
  }
  // A CA and a server certificate for 127.0.0.1, made for this run.
  write_file(dir_ / "server.ext", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  if (!run_ok({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
               "-keyout", (dir_ / "ca.key").string(), "-out", (dir_ / "ca.pem").string(), "-subj", "/CN=modelgate test CA",
               "-days", "2", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"},
              &error_) ||
      !run_ok({"/usr/bin/openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
               (dir_ / "server.key").string(), "-out", (dir_ / "server.csr").string(), "-subj", "/CN=127.0.0.1"},
              &error_) ||
      !run_ok({"/usr/bin/openssl", "x509", "-req", "-in", (dir_ / "server.csr").string(), "-CA", (dir_ / "ca.pem").string(),
               "-CAkey", (dir_ / "ca.key").string(), "-CAcreateserial", "-out", (dir_ / "server.pem").string(), "-days", "2",
               "-extfile", (dir_ / "server.ext").string()},
              &error_)) {
    return;
  }
  ca_pem_ = read_file(dir_ / "ca.pem");
  ProcessResult h = run({"/usr/bin/htpasswd", "-nbB", "-C", "4", kRegistryUser, kRegistryPassword});
  if (h.exit_code != 0) {
    error_ = "htpasswd failed: " + h.err;
    return;
  }
  write_file(dir_ / "htpasswd", h.out);
  for (int attempt = 0; attempt < 5 && pid_ <= 0; ++attempt) {
    if (!start()) {
      continue;
    }
  }
}

bool RegistryFixture::start() {
  port_ = free_loopback_port();
  const std::string config = "version: 0.1\n"
                             "log:\n  level: error\n  accesslog:\n    disabled: true\n"
                             "storage:\n  filesystem:\n    rootdirectory: " + (dir_ / "storage").string() + "\n"
                             "  delete:\n    enabled: true\n"
                             "http:\n  addr: 127.0.0.1:" + std::to_string(port_) + "\n"
                             "  tls:\n    certificate: " + (dir_ / "server.pem").string() + "\n"
                             "    key: " + (dir_ / "server.key").string() + "\n"
                             "auth:\n  htpasswd:\n    realm: modelgate-test\n    path: " + (dir_ / "htpasswd").string() + "\n";
  write_file(dir_ / "config.yml", config);
  const std::string log = (dir_ / "registry.log").string();
  const std::string cfg = (dir_ / "config.yml").string();
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (out >= 0) {
      ::dup2(out, 1);
      ::dup2(out, 2);
    }
    ::execl("/usr/bin/docker-registry", "docker-registry", "serve", cfg.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  if (pid < 0) {
    error_ = "fork failed";
    return false;
  }
  bool exited = false;
  const bool ready = wait_until(
      [&] {
        int status = 0;
        if (::waitpid(pid, &status, WNOHANG) == pid) {
          exited = true;
          return true;
        }
        return accepts_connections(port_);
      },
      std::chrono::seconds(60), std::chrono::milliseconds(5));
  if (!ready || exited) {
    if (!exited) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    error_ = "docker-registry did not start on port " + std::to_string(port_) + ": " + read_file(log);
    return false;
  }
  pid_ = pid;
  error_.clear();
  return true;
}

RegistryFixture::~RegistryFixture() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
  }
}

fs::path RegistryFixture::docker_config(const std::string& user, const std::string& password, bool split) const {
  const fs::path p = dir_ / ("config-" + user + (split ? "-split" : "") + ".json");
  std::string entry;
  if (split) {
    entry = "{\"username\":\"" + user + "\",\"password\":\"" + password + "\"}";
  } else {
    const std::string up = user + ":" + password;
    entry = "{\"auth\":\"" + crypto::base64_encode(crypto::as_bytes(up)) + "\"}";
  }
  write_file(p, "{\"auths\":{\"" + host() + "\":" + entry + "}}");
  return p;
}

}  // namespace modelgate::testing
