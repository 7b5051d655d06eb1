// config_test.cpp: a ServerConfig using every field parses into exactly the values written,
// defaults, path resolution, and the diagnostics vectors in tests/data/admission/config-*/.
#include <catch2/catch.hpp>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "admission/config.h"
#include "base/limits.h"
#include "test_support.h"

namespace fs = std::filesystem;
using modelgate::Code;
using modelgate::code_name;
using namespace modelgate::admission;
using modelgate::policy::Diagnostic;
using modelgate::policy::format_diagnostic;
using modelgate::policy::format_position;
using modelgate::policy::Position;
using modelgate::policy::Severity;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view kFull = R"(apiVersion: modelgate.dev/v1alpha1
kind: ServerConfig
listen: {address: 127.0.0.1, port: 9443, metricsPort: 9090}
tls: {certFile: tls/tls.crt, keyFile: /etc/modelgate/tls/tls.key}
policies: [policies, ../shared/extra.yaml]
evidence: {stores: [/var/lib/modelgate/evidence]}
cache: {fileDigestEntries: 1000, verdictEntries: 20, settleInterval: 90s, maxTrustAge: 1h, revalidateWindow: 500ms}
deadline: 1500ms
hashing: {threads: 3, maxConcurrentJobs: 4, maxQueuedJobs: 5, abandonGrace: 45s}
prewarm: {enabled: true, interval: 2h}
reload: {interval: 250ms}
server: {maxBodyBytes: 65536, maxHeaderCount: 32, readTimeout: 3s, writeTimeout: 4s, idleTimeout: 2m, workerThreads: 6, drainTimeout: 7s}
log: {level: debug}
)";

ServerConfig ok_config(const ConfigOutcome& out) {
  for (const auto& d : out.diagnostics) {
    UNSCOPED_INFO(format_diagnostic(d));
  }
  REQUIRE(out.ok());
  REQUIRE(out.diagnostics.empty());
  return out.config;
}

}  // namespace

TEST_CASE("a config using every field parses into the values written", "[admission][config]") {
  const ConfigOutcome out = parse_server_config(kFull, "/etc/modelgate/config.yaml");
  const ServerConfig c = ok_config(out);
  CHECK(c.address == "127.0.0.1");
  CHECK(c.port == 9443);
  CHECK(c.metrics_port == 9090);
  CHECK(c.tls_cert_file == fs::path("/etc/modelgate/tls/tls.crt"));  // relative: against the config's dir
  CHECK(c.tls_key_file == fs::path("/etc/modelgate/tls/tls.key"));
  REQUIRE(c.policies.size() == 2);
  CHECK(c.policies[0] == fs::path("/etc/modelgate/policies"));
  CHECK(c.policies[1] == fs::path("/etc/shared/extra.yaml"));
  REQUIRE(c.evidence_stores.size() == 1);
  CHECK(c.evidence_stores[0] == fs::path("/var/lib/modelgate/evidence"));
  CHECK(c.file_digest_cache_entries == 1000);
  CHECK(c.verdict_cache_entries == 20);
  CHECK(c.deadline == 1500ms);
  CHECK(c.hash_threads == 3);
  CHECK(c.max_concurrent_jobs == 4);
  CHECK(c.max_queued_jobs == 5);
  CHECK(c.settle_interval == 90s);
  CHECK(c.max_trust_age == 1h);
  CHECK(c.revalidate_window == 500ms);
  CHECK(c.abandon_grace == 45s);
  CHECK(c.prewarm);
  CHECK(c.prewarm_interval == 2h);
  CHECK(c.reload_interval == 250ms);
  CHECK(c.max_body_bytes == 65536);
  CHECK(c.max_header_count == 32);
  CHECK(c.read_timeout == 3s);
  CHECK(c.write_timeout == 4s);
  CHECK(c.idle_timeout == 2min);
  CHECK(c.worker_threads == 6);
  CHECK(c.drain_timeout == 7s);
  CHECK(c.log_level == modelgate::log::Level::kDebug);
}

TEST_CASE("the config the Helm chart renders with its default values parses", "[admission][config]") {
  // charts/modelgate/templates/_config.tpl with values.yaml's defaults and no policies or stores.
  constexpr std::string_view kChart = R"(apiVersion: modelgate.dev/v1alpha1
kind: ServerConfig
listen:
  address: 0.0.0.0
  port: 8443
  metricsPort: 9090
tls:
  certFile: /etc/modelgate/tls/tls.crt
  keyFile: /etc/modelgate/tls/tls.key
policies: []
evidence:
  stores: []
cache:
  fileDigestEntries: 200000
  verdictEntries: 10000
deadline: 8s
hashing:
  threads: 0
  maxConcurrentJobs: 2
  maxQueuedJobs: 64
prewarm:
  enabled: false
  interval: 10m
reload:
  interval: 2s
server:
  maxBodyBytes: 8388608
  maxHeaderCount: 64
  readTimeout: 10s
  writeTimeout: 10s
  idleTimeout: 60s
  workerThreads: 16
  drainTimeout: 20s
log:
  level: info
)";
  const ServerConfig c = ok_config(parse_server_config(kChart, "/etc/modelgate/config/config.yaml"));
  CHECK(c.metrics_port == 9090);
  CHECK(c.policies.empty());
  CHECK(c.evidence_stores.empty());
  CHECK(c.prewarm_interval == 10min);
  CHECK(c.idle_timeout == 60s);
}

TEST_CASE("an empty config file is the documented defaults", "[admission][config]") {
  for (std::string_view text : {std::string_view(""), std::string_view("# nothing\n"),
                                std::string_view("apiVersion: modelgate.dev/v1alpha1\nkind: ServerConfig\n")}) {
    const ServerConfig c = ok_config(parse_server_config(text, "config.yaml"));
    const ServerConfig d;
    CHECK(c.address == "0.0.0.0");
    CHECK(c.port == 8443);
    CHECK(c.metrics_port == 0);
    CHECK(c.tls_cert_file.empty());
    CHECK(c.policies.empty());
    CHECK(c.deadline == 8s);
    CHECK(c.settle_interval == 60s);
    CHECK(c.max_trust_age == 10min);
    CHECK(c.revalidate_window == 2s);
    CHECK(c.abandon_grace == 30s);
    CHECK(c.reload_interval == 2s);
    CHECK(c.max_body_bytes == modelgate::limits::kMaxAdmissionReviewBytes);
    CHECK(c.max_header_count == d.max_header_count);
    CHECK(c.worker_threads == d.worker_threads);
    CHECK(c.drain_timeout == 20s);
    CHECK(c.log_level == modelgate::log::Level::kInfo);
  }
}

TEST_CASE("relative paths in a config named without a directory stay relative to the working directory",
          "[admission][config]") {
  const ServerConfig c = ok_config(parse_server_config(
      "apiVersion: modelgate.dev/v1alpha1\nkind: ServerConfig\npolicies: [./p/../policies/]\n", "config.yaml"));
  REQUIRE(c.policies.size() == 1);
  CHECK(c.policies[0] == fs::path("policies/"));
}

TEST_CASE("a port of 0 (any free port) is accepted and 65536 is not", "[admission][config]") {
  CHECK(ok_config(parse_server_config("apiVersion: modelgate.dev/v1alpha1\nkind: ServerConfig\nlisten: {port: 0}\n",
                                      "c.yaml"))
            .port == 0);
  const ConfigOutcome bad =
      parse_server_config("apiVersion: modelgate.dev/v1alpha1\nkind: ServerConfig\nlisten: {port: 65536}\n", "c.yaml");
  REQUIRE_FALSE(bad.ok());
  REQUIRE(bad.diagnostics.size() == 1);
  CHECK(format_diagnostic(bad.diagnostics[0]) ==
        "c.yaml:3:16: error: listen.port: must be between 0 and 65535, found 65536");
}

TEST_CASE("a config file that cannot be read is one io diagnostic naming the file", "[admission][config]") {
  modelgate::testing::TempDir dir;
  const ConfigOutcome out = load_server_config(dir / "missing.yaml");
  REQUIRE_FALSE(out.ok());
  REQUIRE(out.diagnostics.size() == 1);
  CHECK(out.diagnostics[0].code == Code::kIo);
  CHECK(out.diagnostics[0].position.file == (dir / "missing.yaml").string());
  CHECK(format_diagnostic(out.diagnostics[0]) ==
        (dir / "missing.yaml").string() + ": error: cannot open: No such file or directory");
}

TEST_CASE("a config file is read from disk and its relative paths resolve against its directory",
          "[admission][config]") {
  modelgate::testing::TempDir dir;
  modelgate::testing::write_file(dir / "etc/config.yaml",
                                 "apiVersion: modelgate.dev/v1alpha1\nkind: ServerConfig\n"
                                 "tls: {certFile: tls.crt, keyFile: tls.key}\n");
  const ServerConfig c = ok_config(load_server_config(dir / "etc/config.yaml"));
  CHECK(c.tls_cert_file == (dir / "etc/tls.crt"));
  CHECK(c.tls_key_file == (dir / "etc/tls.key"));
}

TEST_CASE("random damage to a valid config never throws and always yields a verdict", "[admission][config]") {
  const std::string base(kFull);
  for (std::uint64_t seed = 1; seed <= 300; ++seed) {
    std::string text = base;
    const auto noise = modelgate::testing::random_bytes(8, seed);
    for (std::size_t i = 0; i + 1 < noise.size(); i += 2) {
      text[noise[i] * text.size() / 256] = static_cast<char>(noise[i + 1] % 2 == 0 ? noise[i + 1] : ':');
    }
    ConfigOutcome out;
    REQUIRE_NOTHROW(out = parse_server_config(text, "c.yaml"));
    CHECK(out.ok() == !modelgate::policy::has_errors(out.diagnostics));
  }
}

// ---- vectors ----------------------------------------------------------------------------------

namespace {

struct ExpectedDiagnostic {
  std::string at;
  std::string severity = "error";
  std::string code;
  std::string message;
  std::string hint;
};

// A mapping reader that fails on every key the test did not read (STYLE.md §6).
class Strict {
 public:
  Strict(const YAML::Node& node, std::string where) : node_(node), where_(std::move(where)) {
    if (!node.IsMap()) {
      FAIL(where_ << ": expected a mapping");
    }
  }
  void done() const {
    for (const auto& kv : node_) {
      const std::string key = kv.first.as<std::string>();
      if (read_.count(key) == 0) {
        FAIL(where_ << ": unknown key " << key);
      }
    }
  }
  YAML::Node get(const std::string& key) {
    read_.insert(key);
    const YAML::Node& n = node_;
    return n[key];
  }
  std::string str(const std::string& key, const std::string& fallback = {}) {
    YAML::Node n = get(key);
    return n ? n.as<std::string>() : fallback;
  }

 private:
  YAML::Node node_;
  std::string where_;
  std::set<std::string> read_;
};

std::string relative_at(const Position& p, const fs::path& dir) {
  std::string file = p.file;
  const std::string prefix = dir.string() + "/";
  if (file.rfind(prefix, 0) == 0) {
    file = file.substr(prefix.size());
  }
  return format_position(Position{file, p.line, p.column});
}

}  // namespace

TEST_CASE("every config vector in tests/data/admission produces exactly its expected diagnostics",
          "[admission][config]") {
  const fs::path root = modelgate::testing::test_data_dir() / "admission";
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(root)) {
    if (e.is_directory() && e.path().filename().string().rfind("config-", 0) == 0) {
      dirs.push_back(e.path());
    }
  }
  std::sort(dirs.begin(), dirs.end());
  REQUIRE(dirs.size() == 13);  // pinned: a case that goes missing fails here
  for (const fs::path& dir : dirs) {
    INFO("case " << dir.filename().string());
    REQUIRE(fs::exists(dir / "expect.yaml"));
    REQUIRE(fs::exists(dir / "config.yaml"));
    Strict s(YAML::LoadFile((dir / "expect.yaml").string()), dir.filename().string() + "/expect.yaml");
    REQUIRE_FALSE(s.str("description").empty());
    const std::string outcome = s.str("outcome");
    REQUIRE((outcome == "ok" || outcome == "error"));
    std::vector<ExpectedDiagnostic> want;
    if (YAML::Node ds = s.get("diagnostics")) {
      for (const auto& d : ds) {
        Strict e(d, dir.filename().string() + ": diagnostics[]");
        ExpectedDiagnostic x;
        x.at = e.str("at");
        x.severity = e.str("severity", "error");
        x.code = e.str("code");
        x.message = e.str("message");
        x.hint = e.str("hint");
        e.done();
        REQUIRE_FALSE(x.at.empty());
        REQUIRE_FALSE(x.message.empty());
        want.push_back(x);
      }
    }
    s.done();

    const ConfigOutcome out = load_server_config(dir / "config.yaml");
    std::string listing;
    for (const auto& d : out.diagnostics) {
      listing += "  " + relative_at(d.position, dir) + ": " + format_diagnostic(d) + "\n";
    }
    INFO("got:\n" << listing);
    CHECK(out.ok() == (outcome == "ok"));
    REQUIRE(out.diagnostics.size() == want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
      const Diagnostic& d = out.diagnostics[i];
      INFO("diagnostic " << i);
      CHECK(relative_at(d.position, dir) == want[i].at);
      CHECK(std::string(d.severity == Severity::kError ? "error" : "warning") == want[i].severity);
      if (!want[i].code.empty()) {
        CHECK(std::string(code_name(d.code)) == want[i].code);
      }
      CHECK_THAT(d.message, Catch::Contains(want[i].message));
      if (!want[i].hint.empty()) {
        CHECK_THAT(d.hint, Catch::Contains(want[i].hint));
      }
    }
  }
}
