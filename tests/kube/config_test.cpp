// config_test.cpp: in-cluster configuration (environment + projected service-account files, the
// token re-read when kubelet rotates it) and kubeconfig files (current context, token, client
// certificate; exec and insecure settings refused).
#include <catch2/catch.hpp>

#include "crypto/encoding.h"
#include "kube/config.h"
#include "replay_server.h"
#include "test_support.h"

using namespace modelgate;
using namespace modelgate::kube;
using testing::TempDir;
using testing::write_file;

namespace {

std::string b64(const std::string& s) { return crypto::base64_encode(crypto::as_bytes(s)); }

}  // namespace

TEST_CASE("in-cluster configuration reads the service host, port, CA, namespace and token") {
  TempDir sa;
  write_file(sa / "token", "token-one\n");
  write_file(sa / "ca.crt", testing::test_pki().ca_pem);
  write_file(sa / "namespace", "modelgate");
  auto cfg = in_cluster_config({std::string("10.96.0.1"), std::string("443"), sa.path()});
  REQUIRE(cfg.ok());
  CHECK(cfg->host == "10.96.0.1");
  CHECK(cfg->port == 443);
  CHECK(cfg->default_namespace == "modelgate");
  CHECK(cfg->ca_pem == testing::test_pki().ca_pem);
  CHECK(cfg->token.token().value() == "token-one");
  auto v6 = in_cluster_config({std::string("fd00::1"), std::string("6443"), sa.path()});
  REQUIRE(v6.ok());
  CHECK(v6->host == "fd00::1");
  CHECK(v6->port == 6443);
}

TEST_CASE("a rotated service-account token is read again, the way kubelet swaps it in") {
  TempDir sa;
  write_file(sa / "token", "token-one\n");
  write_file(sa / "ca.crt", testing::test_pki().ca_pem);
  auto cfg = in_cluster_config({std::string("10.96.0.1"), std::string("443"), sa.path()});
  REQUIRE(cfg.ok());
  CHECK(cfg->token.token().value() == "token-one");
  testing::replace_file(sa / "token", "token-two-longer\n");
  CHECK(cfg->token.token().value() == "token-two-longer");
}

TEST_CASE("outside a cluster, or without a token, in-cluster configuration says so") {
  TempDir sa;
  auto none = in_cluster_config({std::string(""), std::string(""), sa.path()});
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().code == Code::kNotFound);
  auto no_token = in_cluster_config({std::string("10.96.0.1"), std::string("443"), sa.path()});
  REQUIRE_FALSE(no_token.ok());
  CHECK(no_token.error().code == Code::kNotFound);
  CHECK(no_token.error().message.find("automountServiceAccountToken") != std::string::npos);
  write_file(sa / "token", "t");
  write_file(sa / "ca.crt", "x");
  CHECK(in_cluster_config({std::string("10.96.0.1"), std::string("0"), sa.path()}).error().code == Code::kMalformed);
}

TEST_CASE("a token with a line break inside cannot smuggle a header") {
  TempDir d;
  write_file(d / "token", "abc\r\nX-Evil: 1\n");
  TokenSource t = TokenSource::from_file(d / "token");
  auto r = t.token();
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Code::kMalformed);
}

TEST_CASE("a kubeconfig's current context gives the server, CA, token and namespace") {
  TempDir d;
  write_file(d / "ca.crt", testing::test_pki().ca_pem);
  write_file(d / "kubeconfig", R"(apiVersion: v1
kind: Config
current-context: prod
clusters:
- name: c1
  cluster: {server: "https://api.example.com:6443/prefix/", certificate-authority: ca.crt}
- name: c2
  cluster: {server: "https://[fd00::5]", certificate-authority-data: )" + b64(testing::test_pki().ca_pem) + R"(}
users:
- name: u1
  user: {token: abc.def}
- name: u2
  user: {tokenFile: tok}
contexts:
- name: prod
  context: {cluster: c1, user: u1, namespace: ml-prod}
- name: other
  context: {cluster: c2, user: u2}
)");
  auto cfg = load_kubeconfig(d / "kubeconfig");
  REQUIRE(cfg.ok());
  CHECK(cfg->host == "api.example.com");
  CHECK(cfg->port == 6443);
  CHECK(cfg->path_prefix == "/prefix");
  CHECK(cfg->ca_pem == testing::test_pki().ca_pem);
  CHECK(cfg->token.token().value() == "abc.def");
  CHECK(cfg->default_namespace == "ml-prod");
  write_file(d / "tok", "from-file\n");
  auto other = load_kubeconfig(d / "kubeconfig", "other");
  REQUIRE(other.ok());
  CHECK(other->host == "fd00::5");
  CHECK(other->port == 443);
  CHECK(other->ca_pem == testing::test_pki().ca_pem);
  CHECK(other->token.token().value() == "from-file");
  CHECK(other->default_namespace == "default");
  auto missing = load_kubeconfig(d / "kubeconfig", "nope");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == Code::kNotFound);
}

TEST_CASE("a kubeconfig with a client certificate needs its key too") {
  const std::string ca = b64(testing::test_pki().ca_pem);
  const std::string head = "current-context: x\nclusters: [{name: c, cluster: {server: 'https://h', certificate-authority-data: " +
                           ca + "}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n";
  auto no_key = parse_kubeconfig(head + "users: [{name: u, user: {client-certificate-data: " + ca + "}}]\n", "/");
  REQUIRE_FALSE(no_key.ok());
  CHECK(no_key.error().code == Code::kMalformed);
  auto both = parse_kubeconfig(head + "users: [{name: u, user: {client-certificate-data: " + ca +
                                   ", client-key-data: " + b64("key") + "}}]\n",
                               "/");
  REQUIRE(both.ok());
  CHECK(both->client_cert_pem == testing::test_pki().ca_pem);
  CHECK(both->client_key_pem == "key");
}

TEST_CASE("exec plugins, auth providers, basic auth, plain http and skipped TLS verification are refused") {
  const std::string ctx = "current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n";
  const std::string cluster = "clusters: [{name: c, cluster: {server: 'https://h'}}]\n";
  auto exec = parse_kubeconfig(ctx + cluster + "users: [{name: u, user: {exec: {command: /bin/sh}}}]\n", "/");
  REQUIRE_FALSE(exec.ok());
  CHECK(exec.error().code == Code::kUnsupported);
  CHECK(exec.error().message.find("exec") != std::string::npos);
  CHECK(parse_kubeconfig(ctx + cluster + "users: [{name: u, user: {auth-provider: {name: gcp}}}]\n", "/").error().code ==
        Code::kUnsupported);
  CHECK(parse_kubeconfig(ctx + cluster + "users: [{name: u, user: {username: a, password: b}}]\n", "/").error().code ==
        Code::kUnsupported);
  CHECK(parse_kubeconfig(ctx + "clusters: [{name: c, cluster: {server: 'https://h', insecure-skip-tls-verify: true}}]\n" +
                             "users: [{name: u, user: {token: t}}]\n",
                         "/")
            .error()
            .code == Code::kUnsupported);
  CHECK(parse_kubeconfig(ctx + "clusters: [{name: c, cluster: {server: 'http://h'}}]\nusers: [{name: u, user: {}}]\n", "/")
            .error()
            .code == Code::kMalformed);
  CHECK(parse_kubeconfig("{{{", "/").error().code == Code::kMalformed);
}
