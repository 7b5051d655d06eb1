#include "kube/config.h"

#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>

#include "base/limits.h"
#include "base/read_file.h"
#include "crypto/encoding.h"

namespace modelgate::kube {

namespace fs = std::filesystem;

namespace {

// A token goes into an HTTP header: a CR or LF in it would let a file forge headers.
Result<std::string> clean_token(std::string t) {
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ' || t.back() == '\t')) {
    t.pop_back();
  }
  std::size_t start = 0;
  while (start < t.size() && (t[start] == ' ' || t[start] == '\t')) {
    ++start;
  }
  t.erase(0, start);
  if (t.empty()) {
    return make_error(Code::kMalformed, "token is empty");
  }
  for (char c : t) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x21 || u == 0x7f) {
      return make_error(Code::kMalformed, "token contains a control byte or space");
    }
  }
  return t;
}

}  // namespace

TokenSource TokenSource::from_value(std::string token) {
  TokenSource s;
  s.value_ = std::move(token);
  return s;
}

TokenSource TokenSource::from_file(fs::path file) {
  TokenSource s;
  s.file_ = std::move(file);
  return s;
}

TokenSource::TokenSource(const TokenSource& o) : value_(o.value_), file_(o.file_) {}

TokenSource& TokenSource::operator=(const TokenSource& o) {
  if (this != &o) {
    std::lock_guard<std::mutex> lock(mu_);
    value_ = o.value_;
    file_ = o.file_;
    have_cached_ = false;
  }
  return *this;
}

Result<std::string> TokenSource::token() {
  if (file_.empty()) {
    if (value_.empty()) {
      return std::string();
    }
    return clean_token(value_);
  }
  std::lock_guard<std::mutex> lock(mu_);
  struct stat st {};
  if (::stat(file_.c_str(), &st) != 0) {
    have_cached_ = false;
    return make_error(Code::kNotFound, "token file " + file_.string() + " cannot be read");
  }
  const std::int64_t mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  if (have_cached_ && st.st_ino == ino_ && st.st_size == size_ && mtime_ns == mtime_ns_) {
    return cached_;
  }
  MG_ASSIGN_OR_RETURN_CTX(std::string raw, read_regular_file(file_, limits::kMaxKubeTokenBytes),
                          "token file " + file_.string());
  MG_ASSIGN_OR_RETURN_CTX(std::string t, clean_token(std::move(raw)), "token file " + file_.string());
  cached_ = std::move(t);
  have_cached_ = true;
  ino_ = st.st_ino;
  size_ = st.st_size;
  mtime_ns_ = mtime_ns;
  return cached_;
}

void TokenSource::invalidate() {
  std::lock_guard<std::mutex> lock(mu_);
  have_cached_ = false;
}

Result<void> parse_server_url(std::string_view url, ClusterConfig& out) {
  constexpr std::string_view kScheme = "https://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return make_error(Code::kMalformed, "server must be an https:// URL (modelgate never sends credentials in clear)");
  }
  url.remove_prefix(kScheme.size());
  if (url.find_first_of("?#@") != std::string_view::npos) {
    return make_error(Code::kMalformed, "server URL must not carry a query, fragment or user info");
  }
  std::size_t slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  std::string_view prefix = slash == std::string_view::npos ? std::string_view() : url.substr(slash);
  while (!prefix.empty() && prefix.back() == '/') {
    prefix.remove_suffix(1);
  }
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return make_error(Code::kMalformed, "server URL has an unterminated IPv6 literal");
    }
    host = authority.substr(1, close - 1);
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return make_error(Code::kMalformed, "server URL has bytes after the IPv6 literal");
      }
      port = rest.substr(1);
    }
  } else if (const std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty() || host.size() > limits::kMaxKubeNameBytes) {
    return make_error(Code::kMalformed, "server URL has no host");
  }
  for (char c : host) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) {
      return make_error(Code::kMalformed, "server host contains a byte that cannot be in a host name");
    }
  }
  std::uint32_t p = 443;
  if (!port.empty() || authority.back() == ':') {
    if (port.empty() || port.size() > 5) {
      return make_error(Code::kMalformed, "server URL has a bad port");
    }
    p = 0;
    for (char c : port) {
      if (c < '0' || c > '9') {
        return make_error(Code::kMalformed, "server URL has a bad port");
      }
      p = p * 10 + static_cast<std::uint32_t>(c - '0');
    }
    if (p == 0 || p > 65535) {
      return make_error(Code::kMalformed, "server URL has a bad port");
    }
  }
  out.host = std::string(host);
  out.port = static_cast<std::uint16_t>(p);
  out.path_prefix = std::string(prefix);
  return ok_status();
}

Result<ClusterConfig> in_cluster_config(const InClusterEnv& env) {
  auto from_env = [](const std::optional<std::string>& given, const char* name) -> std::string {
    if (given) {
      return *given;
    }
    const char* v = std::getenv(name);
    return v == nullptr ? std::string() : std::string(v);
  };
  const std::string host = from_env(env.host, "KUBERNETES_SERVICE_HOST");
  const std::string port = from_env(env.port, "KUBERNETES_SERVICE_PORT");
  if (host.empty() || port.empty()) {
    return make_error(Code::kNotFound,
                      "not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set");
  }
  ClusterConfig cfg;
  // The service host may be an IPv6 literal; the URL form needs brackets.
  const std::string authority = host.find(':') != std::string::npos ? "[" + host + "]:" + port : host + ":" + port;
  MG_TRY_CTX(parse_server_url("https://" + authority, cfg), "KUBERNETES_SERVICE_HOST/PORT");
  const fs::path token = env.sa_dir / "token";
  std::error_code ec;
  if (!fs::exists(token, ec)) {
    return make_error(Code::kNotFound, "service-account token " + token.string() +
                                           " is missing (automountServiceAccountToken: false?)");
  }
  cfg.token = TokenSource::from_file(token);
  MG_ASSIGN_OR_RETURN_CTX(cfg.ca_pem, read_regular_file(env.sa_dir / "ca.crt", limits::kMaxKubeCaBytes),
                          (env.sa_dir / "ca.crt").string());
  if (auto ns = read_regular_file(env.sa_dir / "namespace", limits::kMaxKubeNameBytes + 2); ns.ok()) {
    std::string n = std::move(ns).value();
    while (!n.empty() && (n.back() == '\n' || n.back() == '\r')) {
      n.pop_back();
    }
    cfg.default_namespace = n;
  }
  cfg.source = "in-cluster";
  return cfg;
}

namespace {

std::string scalar(const YAML::Node& n, const char* key) {
  const YAML::Node v = n[key];
  return v && v.IsScalar() ? v.as<std::string>() : std::string();
}

std::optional<YAML::Node> named(const YAML::Node& list, const std::string& name, const char* inner) {
  if (!list || !list.IsSequence()) {
    return std::nullopt;
  }
  for (const YAML::Node& item : list) {
    if (item.IsMap() && scalar(item, "name") == name) {
      const YAML::Node v = item[inner];
      return v && v.IsMap() ? v : YAML::Node(YAML::NodeType::Map);
    }
  }
  return std::nullopt;
}

// data_or_file returns `<key>-data` (base64) or the file `<key>` (relative to base_dir).
Result<std::string> data_or_file(const YAML::Node& n, const std::string& key, const fs::path& base_dir,
                                 std::size_t max_bytes) {
  const std::string data = scalar(n, (key + "-data").c_str());
  if (!data.empty()) {
    MG_ASSIGN_OR_RETURN_CTX(std::vector<std::uint8_t> bytes, crypto::base64_decode(data, max_bytes), key + "-data");
    return std::string(bytes.begin(), bytes.end());
  }
  const std::string file = scalar(n, key.c_str());
  if (file.empty()) {
    return std::string();
  }
  const fs::path p = fs::path(file).is_absolute() ? fs::path(file) : base_dir / file;
  auto r = read_regular_file(p, max_bytes);
  if (!r.ok()) {
    return std::move(r).error().context(key + " " + p.string());
  }
  return std::move(r).value();
}

}  // namespace

Result<ClusterConfig> parse_kubeconfig(std::string_view text, const fs::path& base_dir, std::string_view context) {
  if (text.size() > limits::kMaxKubeconfigBytes) {
    return make_error(Code::kLimit, "kubeconfig too large");
  }
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return make_error(Code::kMalformed, "kubeconfig is not YAML: line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  try {
    if (!root.IsMap()) {
      return make_error(Code::kMalformed, "kubeconfig is not a mapping");
    }
    std::string ctx_name = context.empty() ? scalar(root, "current-context") : std::string(context);
    if (ctx_name.empty()) {
      return make_error(Code::kNotFound, "kubeconfig has no current-context; pass a context");
    }
    const std::optional<YAML::Node> ctx_node = named(root["contexts"], ctx_name, "context");
    if (!ctx_node) {
      return make_error(Code::kNotFound, "kubeconfig has no context \"" + ctx_name + "\"");
    }
    const YAML::Node& ctx = *ctx_node;
    const std::string cluster_name = scalar(ctx, "cluster");
    const std::string user_name = scalar(ctx, "user");
    const std::optional<YAML::Node> cluster_node = named(root["clusters"], cluster_name, "cluster");
    if (!cluster_node) {
      return make_error(Code::kNotFound, "kubeconfig has no cluster \"" + cluster_name + "\"");
    }
    const YAML::Node& cluster = *cluster_node;
    ClusterConfig cfg;
    MG_TRY_CTX(parse_server_url(scalar(cluster, "server"), cfg), "cluster \"" + cluster_name + "\": server");
    if (scalar(cluster, "insecure-skip-tls-verify") == "true") {
      return make_error(Code::kUnsupported, "cluster \"" + cluster_name +
                                                "\": insecure-skip-tls-verify is not supported; give certificate-authority");
    }
    MG_ASSIGN_OR_RETURN_CTX(cfg.ca_pem, data_or_file(cluster, "certificate-authority", base_dir, limits::kMaxKubeCaBytes),
                            "cluster \"" + cluster_name + "\"");
    cfg.tls_server_name = scalar(cluster, "tls-server-name");
    if (!user_name.empty()) {
      const std::optional<YAML::Node> user_node = named(root["users"], user_name, "user");
      if (!user_node) {
        return make_error(Code::kNotFound, "kubeconfig has no user \"" + user_name + "\"");
      }
      const YAML::Node& user = *user_node;
      const std::string uctx = "user \"" + user_name + "\"";
      if (user["exec"]) {
        return make_error(Code::kUnsupported, uctx + ": exec credential plugins are not supported (modelgate runs no "
                                                     "programs named by a config file); use a token or client certificate");
      }
      if (user["auth-provider"]) {
        return make_error(Code::kUnsupported, uctx + ": auth-provider is not supported; use a token or client certificate");
      }
      if (user["username"] || user["password"]) {
        return make_error(Code::kUnsupported, uctx + ": basic auth is not supported; use a token or client certificate");
      }
      const std::string token = scalar(user, "token");
      const std::string token_file = scalar(user, "tokenFile");
      if (!token.empty()) {
        cfg.token = TokenSource::from_value(token);
      } else if (!token_file.empty()) {
        cfg.token = TokenSource::from_file(fs::path(token_file).is_absolute() ? fs::path(token_file) : base_dir / token_file);
      }
      MG_ASSIGN_OR_RETURN_CTX(cfg.client_cert_pem, data_or_file(user, "client-certificate", base_dir, limits::kMaxKubeCaBytes), uctx);
      MG_ASSIGN_OR_RETURN_CTX(cfg.client_key_pem, data_or_file(user, "client-key", base_dir, limits::kMaxKubeCaBytes), uctx);
      if (cfg.client_cert_pem.empty() != cfg.client_key_pem.empty()) {
        return make_error(Code::kMalformed, uctx + ": client-certificate and client-key must be given together");
      }
    }
    cfg.default_namespace = scalar(ctx, "namespace");
    if (cfg.default_namespace.empty()) {
      cfg.default_namespace = "default";
    }
    cfg.source = "context " + ctx_name;
    return cfg;
  } catch (const YAML::Exception& e) {
    return make_error(Code::kMalformed, "kubeconfig: " + e.msg);
  }
}

Result<ClusterConfig> load_kubeconfig(const fs::path& path, std::string_view context) {
  MG_ASSIGN_OR_RETURN_CTX(std::string text, read_regular_file(path, limits::kMaxKubeconfigBytes), path.string());
  MG_ASSIGN_OR_RETURN_CTX(ClusterConfig cfg, parse_kubeconfig(text, path.parent_path(), context), path.string());
  cfg.source = "kubeconfig " + path.string() + " " + cfg.source;
  return cfg;
}

}  // namespace modelgate::kube
