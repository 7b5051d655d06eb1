// serve_test.cpp: what `modelgate serve` says at startup, run as a real process. The server is
// given TLS files that do not exist, so it stops right after its startup checks (no listener, no
// waiting); the startup log lines come before that.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "test_support.h"

namespace fs = std::filesystem;
using modelgate::testing::run;
using modelgate::testing::TempDir;
using modelgate::testing::write_file;

namespace {

// serve_log: the JSON log lines of a `serve` that stops at its missing TLS files.
std::vector<nlohmann::json> serve_log(const TempDir& t, const std::string& settle) {
  write_file(t / "config.yaml", "apiVersion: modelgate.dev/v1alpha1\nkind: ServerConfig\n"
                                "listen: {address: 127.0.0.1, port: 0}\n"
                                "tls: {certFile: missing/tls.crt, keyFile: missing/tls.key}\n"
                                "policies: []\ncache: {settleInterval: " + settle + "}\n");
  const auto r = run({modelgate::testing::modelgate_binary().string(), "serve", "--config", (t / "config.yaml").string()});
  INFO(r.err);
  CHECK(r.exit_code != 0);  // the TLS files are missing
  std::vector<nlohmann::json> lines;
  std::istringstream in(r.err);
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.contains("event")) {
      lines.push_back(std::move(j));
    }
  }
  return lines;
}

const nlohmann::json* find_event(const std::vector<nlohmann::json>& lines, const std::string& event) {
  for (const auto& l : lines) {
    if (l["event"] == event) {
      return &l;
    }
  }
  return nullptr;
}

}  // namespace

TEST_CASE("serve warns at startup when cache.settleInterval is shorter than this kernel's dirty-page writeback",
          "[cli][serve]") {
  const fs::path vm = "/proc/sys/vm";
  long long expire = -1;
  long long writeback = -1;
  std::ifstream(vm / "dirty_expire_centisecs") >> expire;
  std::ifstream(vm / "dirty_writeback_centisecs") >> writeback;
  if (expire < 0) {
    SUCCEED("no /proc/sys/vm/dirty_expire_centisecs here: serve cannot know, and says nothing");
    return;
  }
  // 1 s (the smallest allowed) is below any writeback delay a kernel runs with (30 s + 5 s by default).
  REQUIRE(expire + std::max(writeback, 0LL) > 100);
  TempDir t;
  const auto lines = serve_log(t, "1s");
  const nlohmann::json* w = find_event(lines, "settle_interval_below_writeback");
  REQUIRE(w != nullptr);
  CHECK((*w)["level"] == "warn");
  const std::string msg = (*w)["msg"];
  CHECK(msg.find("cache.settleInterval (1s)") != std::string::npos);
  CHECK(msg.find("MAP_SHARED") != std::string::npos);

  // The longest interval allowed (1 h) outlasts it, unless this machine has periodic writeback off.
  TempDir quiet;
  const auto long_lines = serve_log(quiet, "1h");
  REQUIRE(find_event(long_lines, "sha256_kernel") != nullptr);  // the log was read
  CHECK((find_event(long_lines, "settle_interval_below_writeback") != nullptr) == (writeback == 0));
}
