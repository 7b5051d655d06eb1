// config.h: where the Kubernetes API is and how to authenticate to it: in-cluster (the
// KUBERNETES_SERVICE_HOST/PORT environment and the projected service-account token, CA and
// namespace) or a kubeconfig file (its current context: bearer token or token file, client
// certificate, CA). Not I/O to the API (transport.h) and deliberately no exec or auth-provider
// plugins: modelgate never runs programs named by a config file.
#pragma once

#include <cstdint>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace modelgate::kube {

inline constexpr std::string_view kServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

// TokenSource hands out the bearer token. A token file (the projected service-account token,
// which kubelet rotates by swapping a symlink) is re-read whenever its identity (inode, size,
// mtime) changes and when a caller reports a 401; a static token never changes. Thread-safe.
class TokenSource {
 public:
  TokenSource() = default;
  static TokenSource from_value(std::string token);
  static TokenSource from_file(std::filesystem::path file);
  TokenSource(const TokenSource& o);
  TokenSource& operator=(const TokenSource& o);

  // token returns the current token ("" when none is configured). Errors: kNotFound / kIo /
  // kLimit (limits::kMaxKubeTokenBytes) / kMalformed (empty after trimming, or a control byte)
  // reading the file; the last good token is not reused after the file became unreadable.
  [[nodiscard]] Result<std::string> token();
  // invalidate forces the next token() to re-read the file (after a 401).
  void invalidate();
  bool configured() const { return !value_.empty() || !file_.empty(); }
  const std::filesystem::path& file() const { return file_; }

 private:
  std::string value_;
  std::filesystem::path file_;
  std::mutex mu_;
  std::string cached_;
  bool have_cached_ = false;
  std::uint64_t ino_ = 0;
  std::int64_t size_ = -1;
  std::int64_t mtime_ns_ = 0;
};

// ClusterConfig is everything needed to talk to one apiserver.
struct ClusterConfig {
  std::string host;             // DNS name or IP literal (IPv6 without brackets)
  std::uint16_t port = 443;
  std::string path_prefix;      // "" or a proxy prefix such as "/k8s/clusters/c-1" (no trailing '/')
  std::string ca_pem;           // PEM trust anchors; empty: the system store (kubeconfig without a CA)
  std::string tls_server_name;  // name to verify instead of `host` (kubeconfig tls-server-name)
  TokenSource token;            // bearer token, when configured
  std::string client_cert_pem;  // client certificate + key, when configured (both or neither)
  std::string client_key_pem;
  std::string default_namespace;  // the in-cluster namespace file, or the context's namespace
  std::string user_agent = "modelgate/0.1.0";  // the apiserver names field managers after it
  std::string source;           // "in-cluster" or "kubeconfig <path> context <name>" (for logs)
};

// InClusterEnv is what in_cluster_config reads; the defaults are the real process environment.
struct InClusterEnv {
  std::optional<std::string> host;   // KUBERNETES_SERVICE_HOST when unset
  std::optional<std::string> port;   // KUBERNETES_SERVICE_PORT when unset
  std::filesystem::path sa_dir = std::string(kServiceAccountDir);  // token, ca.crt, namespace
};

// in_cluster_config builds the configuration a pod gets: https://$KUBERNETES_SERVICE_HOST:PORT,
// trusting sa_dir/ca.crt, authenticating with sa_dir/token (re-read on rotation). Errors:
// kNotFound (not running in a cluster: the variables or the token are missing), kMalformed (a
// port that is not 1..65535), kIo / kLimit (CA unreadable or over limits::kMaxKubeCaBytes).
[[nodiscard]] Result<ClusterConfig> in_cluster_config(const InClusterEnv& env = {});

// load_kubeconfig reads a kubeconfig file (limits::kMaxKubeconfigBytes) and resolves `context`
// (empty: current-context). Relative file paths in it are relative to the file's directory.
// Errors: kNotFound (file, context, cluster or user missing), kMalformed (YAML, a server that is
// not an https:// URL, base64 data that does not decode, client-certificate without key),
// kUnsupported (exec or auth-provider credentials, username/password, insecure-skip-tls-verify:
// true; each named with what to use instead). Thread-safe.
[[nodiscard]] Result<ClusterConfig> load_kubeconfig(const std::filesystem::path& path, std::string_view context = "");
// parse_kubeconfig is load_kubeconfig over text already read; `base_dir` resolves relative paths.
[[nodiscard]] Result<ClusterConfig> parse_kubeconfig(std::string_view text, const std::filesystem::path& base_dir,
                                                     std::string_view context = "");

// parse_server_url splits "https://host[:port][/prefix]" into `out` (host, port, path_prefix).
// Errors: kMalformed (not https, no host, a bad port, a query or fragment).
[[nodiscard]] Result<void> parse_server_url(std::string_view url, ClusterConfig& out);

}  // namespace modelgate::kube
