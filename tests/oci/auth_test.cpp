#include <catch2/catch.hpp>

#include "oci/auth.h"
#include "oci/docker_config.h"

using namespace modelgate;
using namespace modelgate::oci;

TEST_CASE("a bearer challenge yields realm, service and scope") {
  Result<Challenge> c = parse_challenge(
      R"(Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:org/m:pull")");
  REQUIRE(c.ok());
  CHECK(c->scheme == "bearer");
  CHECK(c->params.at("realm") == "https://auth.example.com/token");
  CHECK(c->params.at("service") == "registry.example.com");
  CHECK(c->params.at("scope") == "repository:org/m:pull");
}

TEST_CASE("a basic challenge, token values and escapes in quoted strings parse") {
  Result<Challenge> c = parse_challenge(R"(Basic realm="a \"quoted\" realm", charset=UTF-8)");
  REQUIRE(c.ok());
  CHECK(c->scheme == "basic");
  CHECK(c->params.at("realm") == "a \"quoted\" realm");
  CHECK(c->params.at("charset") == "UTF-8");
}

TEST_CASE("challenges without a scheme or with an open quote are malformed") {
  CHECK(parse_challenge("").error().code == Code::kMalformed);
  CHECK(parse_challenge(R"(Bearer realm="https://x)").error().code == Code::kMalformed);
  CHECK(parse_challenge("=x").error().code == Code::kMalformed);
}

TEST_CASE("a token response gives token, or access_token, and nothing a header cannot carry") {
  CHECK(*parse_token_response(R"({"token":"abc.def"})") == "abc.def");
  CHECK(*parse_token_response(R"({"access_token":"xyz"})") == "xyz");
  CHECK(parse_token_response(R"({"expires_in":60})").error().code == Code::kMalformed);
  CHECK(parse_token_response(R"({"token":"a\r\nX-Evil: 1"})").error().code == Code::kMalformed);
  CHECK(parse_token_response("not json").error().code == Code::kMalformed);
}

TEST_CASE("registry error bodies are rendered with their codes, quoted messages and a cap") {
  CHECK(describe_registry_errors(R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]})") ==
        "MANIFEST_UNKNOWN: \"manifest unknown\"");
  CHECK(describe_registry_errors(R"({"errors":[{"code":"UNAUTHORIZED"},{"code":"DENIED","message":""}]})") ==
        "UNAUTHORIZED; DENIED");
  CHECK(describe_registry_errors(R"({"errors":[{"code":"bad\ncode"}]})") == "\"bad\\x0acode\"");
  CHECK(describe_registry_errors("<html>") == "");
}

TEST_CASE("docker config.json credentials come from auth, or username and password") {
  Result<Credentials> c = parse_docker_config(R"({
    "auths": {
      "https://index.docker.io/v1/": {"auth": "dXNlcjpwYTpzcw=="},
      "ghcr.io": {"username": "bot", "password": "tok"},
      "empty.example": {},
      "quay.io": {"identitytoken": "refresh"}
    },
    "credsStore": "desktop"
  })");
  REQUIRE(c.ok());
  REQUIRE(c->find("docker.io") != nullptr);
  CHECK(c->find("docker.io")->username == "user");
  CHECK(c->find("docker.io")->password == "pa:ss");  // only the first ':' splits
  CHECK(c->find("ghcr.io")->password == "tok");
  CHECK(c->find("https://ghcr.io/v2/") != nullptr);
  CHECK(c->find("empty.example") == nullptr);
  CHECK(c->find("quay.io")->identity_token == "refresh");
}

TEST_CASE("a config.json auth that is not base64 of user:password is malformed") {
  Result<Credentials> bad = parse_docker_config(R"({"auths":{"r.io":{"auth":"bm9jb2xvbg=="}}})");  // "nocolon"
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == Code::kMalformed);
  CHECK_THAT(bad.error().message, Catch::Contains("auths[r.io].auth"));
  CHECK(parse_docker_config(R"({"auths":{"r.io":{"auth":"!!"}}})").error().code == Code::kMalformed);
  CHECK(parse_docker_config(R"({"auths":[]})").error().code == Code::kMalformed);
}
