// config.cpp: the ServerConfig YAML document → ServerConfig, through the policy module's strict
// YAML reader (positions, unknown fields with did-you-mean hints, bounds).
#include "admission/config.h"

#include <arpa/inet.h>

#include <optional>
#include <string>

#include "base/limits.h"
#include "policy/document.h"
#include "policy/yaml_reader.h"

namespace modelgate::admission {

namespace {

namespace yaml = policy::yaml;
using policy::Diagnostics;
using policy::Position;
using policy::quote;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr std::string_view kConfigApiVersion = "modelgate.dev/v1alpha1";

// A config file is a few hundred bytes; the policy bounds are more than enough and stop abuse.
constexpr yaml::ReadLimits kConfigLimits{limits::kMaxPolicyFileBytes, limits::kMaxPolicyNodes,
                                         limits::kMaxPolicyDepth, limits::kMaxPolicyExpandedBytes};

// Sanity bounds on operator values: past them a value is a typo (an extra zero), not a choice.
constexpr std::uint32_t kMaxFileDigestEntries = 100'000'000;  // ~100 B each: 10 GB of RAM
constexpr std::uint32_t kMaxVerdictEntries = 10'000'000;
constexpr std::uint32_t kMaxConcurrentJobs = 256;
constexpr std::uint32_t kMaxQueuedJobs = 100'000;
constexpr std::uint32_t kMinBodyBytes = 4096;   // an AdmissionReview envelope alone is ~1 KB
constexpr std::uint32_t kMinHeaderCount = 8;    // Host, Content-Type, Content-Length, Accept...
constexpr std::uint32_t kMaxHeaderCount = 1024;
constexpr std::uint32_t kMaxWorkerThreads = 1024;
// The apiserver waits at most 30 s for a webhook; the chart adds 2 s to the deadline.
constexpr milliseconds kMinDeadline{100};
constexpr milliseconds kMaxDeadline{28'000};

struct DurationBounds {
  milliseconds min;
  milliseconds max;
  bool whole_seconds;  // the field is stored in seconds
};

std::string format_ms(milliseconds d) {
  const auto n = d.count();
  if (n % 1000 != 0) {
    return std::to_string(n) + "ms";
  }
  const auto s = n / 1000;
  if (s % 3600 == 0) {
    return std::to_string(s / 3600) + "h";
  }
  if (s % 60 == 0) {
    return std::to_string(s / 60) + "m";
  }
  return std::to_string(s) + "s";
}

// parse_config_duration is policy::parse_duration plus milliseconds ("250ms").
Result<milliseconds> parse_config_duration(std::string_view text) {
  if (text.size() > 2 && text.substr(text.size() - 2) == "ms") {
    const std::string_view digits = text.substr(0, text.size() - 2);
    if (digits.size() > 10) {
      return make_error(Code::kMalformed, "invalid duration " + quote(text));
    }
    std::int64_t n = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') {
        return make_error(Code::kMalformed, "invalid duration " + quote(text));
      }
      n = n * 10 + (c - '0');
    }
    if (n == 0) {
      return make_error(Code::kMalformed, "duration " + quote(text) + " must be greater than zero");
    }
    return milliseconds(n);
  }
  auto s = policy::parse_duration(text);
  if (!s.ok()) {
    return std::move(s).error();
  }
  return std::chrono::duration_cast<milliseconds>(*s);
}

bool is_host(std::string_view s) {
  const std::string owned(s);
  unsigned char buf[sizeof(struct in6_addr)];
  if (inet_pton(AF_INET, owned.c_str(), buf) == 1 || inet_pton(AF_INET6, owned.c_str(), buf) == 1) {
    return true;
  }
  if (s.empty() || s.size() > 253) {
    return false;
  }
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
    if (!ok) {
      return false;
    }
  }
  return true;
}

class ConfigParser {
 public:
  ConfigParser(yaml::Reader& r, std::filesystem::path base_dir) : r_(r), base_dir_(std::move(base_dir)) {}

  void parse(const YAML::Node& doc, ServerConfig& c) {
    const yaml::Field root = r_.root(doc);
    if (wrong_kind(doc, root)) {
      return;
    }
    yaml::Map top(r_, root,
                  {"apiVersion", "kind", "listen", "tls", "policies", "evidence", "cache", "deadline", "hashing",
                   "prewarm", "reload", "server", "log", "clusterState"},
                  {{"port", "port belongs under listen: {port: 8443}"},
                   {"address", "address belongs under listen: {address: 0.0.0.0}"},
                   {"metricsPort", "metricsPort belongs under listen"},
                   {"certFile", "certFile belongs under tls"},
                   {"keyFile", "keyFile belongs under tls"},
                   {"spec", "a ServerConfig has no spec: its fields are at the top level"}});
    if (!top.ok()) {
      return;
    }
    if (auto f = top.required("apiVersion")) {
      if (auto v = r_.string(*f); v && v->value != kConfigApiVersion) {
        r_.error(*f, "unsupported version " + quote(v->value), "expected \"" + std::string(kConfigApiVersion) + "\"",
                 Code::kUnsupported);
      }
    }
    if (auto f = top.required("kind")) {
      r_.string(*f);  // a ServerConfig (wrong_kind); a non-string kind is reported here
    }
    if (auto f = top.get("listen")) {
      parse_listen(*f, c);
    }
    if (auto f = top.get("tls")) {
      parse_tls(*f, c);
    }
    if (auto f = top.get("policies")) {
      path_list(*f, c.policies);
    }
    if (auto f = top.get("evidence")) {
      yaml::Map m(r_, *f, {"stores"});
      if (auto s = m.required("stores")) {
        path_list(*s, c.evidence_stores);
      }
    }
    if (auto f = top.get("cache")) {
      yaml::Map m(r_, *f, {"fileDigestEntries", "verdictEntries", "settleInterval", "maxTrustAge", "revalidateWindow"});
      count(m, "fileDigestEntries", 1, kMaxFileDigestEntries, c.file_digest_cache_entries);
      count(m, "verdictEntries", 1, kMaxVerdictEntries, c.verdict_cache_entries);
      // Below the kernel's dirty-page expiry (30 s + 5 s by default) a shared-mapping writer can
      // change bytes without moving mtime: the floor keeps a typo from disabling the rule.
      seconds_field(m, "settleInterval", {milliseconds(1000), milliseconds(3600 * 1000), true}, c.settle_interval);
      seconds_field(m, "maxTrustAge", {milliseconds(10'000), milliseconds(7 * 24 * 3600 * 1000LL), true},
                    c.max_trust_age);
      if (auto w = m.get("revalidateWindow")) {
        if (auto d = duration(*w, {milliseconds(100), milliseconds(60'000), false})) {
          c.revalidate_window = *d;
        }
      }
    }
    if (auto f = top.get("deadline")) {
      if (auto d = duration(*f, {kMinDeadline, kMaxDeadline, false})) {
        c.deadline = *d;
      }
    }
    if (auto f = top.get("hashing")) {
      yaml::Map m(r_, *f, {"threads", "maxConcurrentJobs", "maxQueuedJobs", "abandonGrace"});
      count(m, "threads", 0, static_cast<std::uint32_t>(limits::kMaxHashThreads), c.hash_threads);
      count(m, "maxConcurrentJobs", 1, kMaxConcurrentJobs, c.max_concurrent_jobs);
      count(m, "maxQueuedJobs", 0, kMaxQueuedJobs, c.max_queued_jobs);
      if (auto g = m.get("abandonGrace")) {
        if (auto d = duration(*g, {milliseconds(100), milliseconds(3600 * 1000), false})) {
          c.abandon_grace = *d;
        }
      }
    }
    if (auto f = top.get("prewarm")) {
      yaml::Map m(r_, *f, {"enabled", "interval"});
      if (auto e = m.get("enabled")) {
        if (auto v = r_.boolean(*e)) {
          c.prewarm = v->value;
        }
      }
      seconds_field(m, "interval", {milliseconds(1000), milliseconds(7 * 24 * 3600 * 1000LL), true},
                    c.prewarm_interval);
    }
    if (auto f = top.get("clusterState")) {
      yaml::Map m(r_, *f, {"enabled", "kubeconfig", "context", "watchTimeout", "files"});
      if (auto e = m.get("enabled")) {
        if (auto v = r_.boolean(*e)) {
          c.cluster_state.enabled = v->value;
        }
      }
      if (auto k = m.get("kubeconfig")) {
        if (auto v = path(*k)) {
          c.cluster_state.kubeconfig = std::move(*v);
        }
      }
      if (auto k = m.get("context")) {
        if (auto v = r_.string(*k)) {
          c.cluster_state.context = v->value;
        }
      }
      seconds_field(m, "watchTimeout", {milliseconds(10'000), milliseconds(3600 * 1000), true},
                    c.cluster_state.watch_timeout);
      if (auto fl = m.get("files")) {
        std::vector<std::filesystem::path> files;
        path_list(*fl, files);
        if (c.cluster_state.enabled) {
          r_.error(*fl, "files and enabled: true exclude each other",
                   "files freeze the cluster state (demos, tests, air-gapped review); enabled watches the API");
        } else {
          c.cluster_state_files = std::move(files);
        }
      }
    }
    if (auto f = top.get("reload")) {
      yaml::Map m(r_, *f, {"interval"});
      if (auto i = m.get("interval")) {
        if (auto d = duration(*i, {milliseconds(100), milliseconds(3600 * 1000), false})) {
          c.reload_interval = *d;
        }
      }
    }
    if (auto f = top.get("server")) {
      parse_server(*f, c);
    }
    if (auto f = top.get("log")) {
      yaml::Map m(r_, *f, {"level"});
      if (auto l = m.get("level")) {
        parse_level(*l, c);
      }
    }
  }

 private:
  // wrong_kind reports a document of another kind with one error at its kind, and none about the
  // fields it is entitled to have.
  bool wrong_kind(const YAML::Node& doc, const yaml::Field& root) {
    if (!doc.IsMap()) {
      return false;
    }
    for (const auto& kv : doc) {
      if (kv.first.IsScalar() && kv.first.Scalar() == "kind" && kv.second.IsScalar() &&
          kv.second.Scalar() != kServerConfigKind) {
        const std::string& kind = kv.second.Scalar();
        const Position at = r_.position(kv.second, r_.position(kv.first, root.position));
        r_.error(at, "kind", "expected \"" + std::string(kServerConfigKind) + "\", found " + quote(kind),
                 kind == "ModelPolicy" ? "policies are named by the config's policies: list, not passed as --config"
                                       : "",
                 Code::kUnsupported);
        return true;
      }
    }
    return false;
  }

  void parse_listen(const yaml::Field& f, ServerConfig& c) {
    yaml::Map m(r_, f, {"address", "port", "metricsPort"});
    if (auto a = m.get("address")) {
      if (auto v = r_.string(*a)) {
        if (is_host(v->value)) {
          c.address = v->value;
        } else {
          r_.error(*a, quote(v->value) + " is not an IP address or host name", "e.g. 0.0.0.0, :: or 127.0.0.1");
        }
      }
    }
    if (auto p = m.get("port")) {
      if (auto v = r_.integer(*p, 0, 65535)) {
        c.port = static_cast<std::uint16_t>(v->value);
      }
    }
    if (auto p = m.get("metricsPort")) {
      if (auto v = r_.integer(*p, 0, 65535)) {
        c.metrics_port = static_cast<std::uint16_t>(v->value);
        if (c.metrics_port != 0 && c.metrics_port == c.port) {
          r_.error(*p, "must differ from listen.port (" + std::to_string(c.port) + ")",
                   "metricsPort is a second, plain-HTTP listener; 0 disables it");
        }
      }
    }
  }

  void parse_tls(const yaml::Field& f, ServerConfig& c) {
    yaml::Map m(r_, f, {"certFile", "keyFile"});
    if (!m.ok()) {
      return;
    }
    if (auto v = m.required("certFile")) {
      if (auto p = path(*v)) {
        c.tls_cert_file = *p;
      }
    }
    if (auto v = m.required("keyFile")) {
      if (auto p = path(*v)) {
        c.tls_key_file = *p;
      }
    }
  }

  void parse_server(const yaml::Field& f, ServerConfig& c) {
    yaml::Map m(r_, f,
                {"maxBodyBytes", "maxHeaderCount", "readTimeout", "writeTimeout", "idleTimeout", "workerThreads",
                 "drainTimeout"});
    count(m, "maxBodyBytes", kMinBodyBytes, static_cast<std::uint32_t>(limits::kMaxAdmissionReviewBytes),
          c.max_body_bytes);
    count(m, "maxHeaderCount", kMinHeaderCount, kMaxHeaderCount, c.max_header_count);
    const DurationBounds io{milliseconds(1000), milliseconds(300'000), true};
    seconds_field(m, "readTimeout", io, c.read_timeout);
    seconds_field(m, "writeTimeout", io, c.write_timeout);
    seconds_field(m, "idleTimeout", {milliseconds(1000), milliseconds(3600 * 1000), true}, c.idle_timeout);
    count(m, "workerThreads", 1, kMaxWorkerThreads, c.worker_threads);
    seconds_field(m, "drainTimeout", io, c.drain_timeout);
  }

  void parse_level(const yaml::Field& f, ServerConfig& c) {
    auto v = r_.string(f);
    if (!v) {
      return;
    }
    static constexpr std::string_view kLevels[] = {"debug", "info", "warn", "error"};
    static constexpr log::Level kValues[] = {log::Level::kDebug, log::Level::kInfo, log::Level::kWarn,
                                             log::Level::kError};
    for (std::size_t i = 0; i < std::size(kLevels); ++i) {
      if (v->value == kLevels[i]) {
        c.log_level = kValues[i];
        return;
      }
    }
    const std::string hint = policy::did_you_mean(v->value, kLevels);
    r_.error(f, "unknown log level " + quote(v->value), hint.empty() ? "expected debug, info, warn or error" : hint);
  }

  void count(yaml::Map& m, std::string_view key, std::uint32_t min, std::uint32_t max, std::size_t& out) {
    if (auto f = m.get(key)) {
      if (auto v = r_.integer(*f, min, max)) {
        out = v->value;
      }
    }
  }

  std::optional<milliseconds> duration(const yaml::Field& f, const DurationBounds& b) {
    auto s = r_.string(f);
    if (!s) {
      return std::nullopt;
    }
    auto d = parse_config_duration(s->value);
    if (!d.ok()) {
      r_.error(f, d.error().message, "write a whole number and one unit: 500ms, 8s, 10m or 1h", d.error().code);
      return std::nullopt;
    }
    if (b.whole_seconds && d->count() % 1000 != 0) {
      r_.error(f, "must be a whole number of seconds, found " + quote(s->value));
      return std::nullopt;
    }
    if (*d < b.min || *d > b.max) {
      r_.error(f, "must be between " + format_ms(b.min) + " and " + format_ms(b.max) + ", found " + quote(s->value),
               {}, Code::kLimit);
      return std::nullopt;
    }
    return *d;
  }

  void seconds_field(yaml::Map& m, std::string_view key, const DurationBounds& b, seconds& out) {
    if (auto f = m.get(key)) {
      if (auto d = duration(*f, b)) {
        out = std::chrono::duration_cast<seconds>(*d);
      }
    }
  }

  std::optional<std::filesystem::path> path(const yaml::Field& f) {
    auto s = r_.string(f);
    if (!s) {
      return std::nullopt;
    }
    if (s->value.size() > limits::kMaxPathBytes) {
      r_.error(f, "path too long (" + std::to_string(s->value.size()) + " > " +
                      std::to_string(limits::kMaxPathBytes) + " bytes)", {}, Code::kLimit);
      return std::nullopt;
    }
    const std::filesystem::path written(s->value);
    return (written.is_absolute() ? written : base_dir_ / written).lexically_normal();
  }

  void path_list(const yaml::Field& f, std::vector<std::filesystem::path>& out) {
    out.clear();
    if (f.node.IsSequence() && f.node.size() == 0) {
      return;  // `[]`: none (the Helm chart renders this when no policy or store is configured)
    }
    auto items = r_.list(f, limits::kMaxPolicyListItems);
    if (!items) {
      return;
    }
    for (const yaml::Field& item : *items) {
      if (auto p = path(item)) {
        out.push_back(std::move(*p));
      }
    }
  }

  yaml::Reader& r_;
  std::filesystem::path base_dir_;
};

}  // namespace

ConfigOutcome parse_server_config(std::string_view text, std::string_view filename) {
  ConfigOutcome out;
  Diagnostics diags;
  const std::string file(filename);
  try {
    std::vector<YAML::Node> docs = yaml::load_documents(text, file, kConfigLimits, diags);
    if (docs.size() > 1) {
      yaml::Reader r(file, diags);
      r.error(r.root(docs[1]).position, "", "more than one YAML document",
              "a config file holds exactly one ServerConfig document");
    } else if (docs.size() == 1) {
      yaml::Reader r(file, diags);
      ConfigParser parser(r, std::filesystem::path(file).parent_path());
      parser.parse(docs[0], out.config);
    }
  } catch (const std::exception& e) {
    // yaml-cpp throws from node access on hostile shapes; never past this edge (STYLE.md §3).
    diags.error(Position{file, 0, 0}, Code::kMalformed, std::string("cannot read config: ") + e.what());
  }
  out.diagnostics = diags.take();
  return out;
}

ConfigOutcome load_server_config(const std::filesystem::path& path) {
  auto text = yaml::read_text_file(path, kConfigLimits.max_bytes);
  if (!text.ok()) {
    ConfigOutcome out;
    out.diagnostics.push_back(
        policy::Diagnostic{Position{path.string(), 0, 0}, policy::Severity::kError, text.error().code,
                           text.error().message, {}});
    return out;
  }
  return parse_server_config(*text, path.string());
}

}  // namespace modelgate::admission
