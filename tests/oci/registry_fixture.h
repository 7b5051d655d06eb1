// registry_fixture.h: a real OCI registry for tests: Debian's docker-registry (distribution 2.8)
// started on a free loopback port with TLS (a CA and server certificate made with openssl for the
// run) and htpasswd auth (apache2-utils), ready when it accepts connections; stopped (SIGTERM,
// reaped) on destruction. Also a loopback port that accepts TCP and never answers (a stalled
// registry) and a port nothing listens on (a registry that is down).
// Not a fake: the registry is the real program; not shared between test processes.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "test_support.h"

namespace modelgate::testing {

// kRegistryUser / kRegistryPassword are the htpasswd account every fixture registry accepts.
inline constexpr const char* kRegistryUser = "modelgate";
inline constexpr const char* kRegistryPassword = "s3cret-for-tests";

class RegistryFixture {
 public:
  // RegistryFixture starts the registry; a failure is reported by ok()/error() (tests REQUIRE it),
  // so that a missing docker-registry package says so instead of crashing.
  RegistryFixture();
  ~RegistryFixture();
  RegistryFixture(const RegistryFixture&) = delete;
  RegistryFixture& operator=(const RegistryFixture&) = delete;

  bool ok() const { return pid_ > 0; }
  const std::string& error() const { return error_; }
  // host is "127.0.0.1:<port>" (what references and config.json keys name).
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  std::uint16_t port() const { return port_; }
  // ca_pem is the CA that issued the registry's certificate; ca_file is the same on disk.
  const std::string& ca_pem() const { return ca_pem_; }
  std::filesystem::path ca_file() const { return dir_ / "ca.pem"; }
  // docker_config writes a config.json with the registry's credentials (`auth` base64 form, or
  // username/password when `split`) into the fixture's directory and returns its path.
  std::filesystem::path docker_config(const std::string& user, const std::string& password, bool split = false) const;
  const std::filesystem::path& dir() const { return dir_; }

 private:
  bool start();
  TempDir tmp_;
  std::filesystem::path dir_;
  std::string ca_pem_;
  std::string error_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

// StalledPort is a loopback TCP socket that listens and never reads or answers: connects succeed
// (the kernel's backlog), every read waits forever. Closed on destruction.
class StalledPort {
 public:
  StalledPort();
  ~StalledPort();
  StalledPort(const StalledPort&) = delete;
  StalledPort& operator=(const StalledPort&) = delete;
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

// free_loopback_port returns a port nothing listened on a moment ago (bind to 0, close).
std::uint16_t free_loopback_port();

}  // namespace modelgate::testing
