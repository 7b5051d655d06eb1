#include <catch2/catch.hpp>

#include "oci/reference.h"

using namespace modelgate;
using namespace modelgate::oci;

namespace {
const std::string kHex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
}

TEST_CASE("a Docker Hub short name gets docker.io, library/ and the latest tag") {
  Result<Reference> r = parse_reference("ubuntu");
  REQUIRE(r.ok());
  CHECK(r->registry == "docker.io");
  CHECK(r->repository == "library/ubuntu");
  CHECK(r->tag == "latest");
  CHECK_FALSE(r->digest);
  CHECK(r->endpoint() == "registry-1.docker.io");
  CHECK(r->str() == "docker.io/library/ubuntu:latest");
}

TEST_CASE("a registry with a port, a nested repository, a tag and a digest all parse") {
  Result<Reference> r = parse_reference("localhost:5000/org/team/model:v1.2@sha256:" + kHex);
  REQUIRE(r.ok());
  CHECK(r->registry == "localhost:5000");
  CHECK(r->repository == "org/team/model");
  CHECK(r->tag == "v1.2");
  CHECK(r->digest == "sha256:" + kHex);
  CHECK(r->pinned().str() == "localhost:5000/org/team/model@sha256:" + kHex);
  CHECK(r->endpoint() == "localhost:5000");
}

TEST_CASE("a first component with a dot or a port is a registry, otherwise a Docker Hub user") {
  CHECK(parse_reference("ghcr.io/org/m:1")->registry == "ghcr.io");
  CHECK(parse_reference("127.0.0.1:5000/m")->registry == "127.0.0.1:5000");
  CHECK(parse_reference("[::1]:5000/m")->registry == "[::1]:5000");
  Result<Reference> user = parse_reference("someuser/model");
  REQUIRE(user.ok());
  CHECK(user->registry == "docker.io");
  CHECK(user->repository == "someuser/model");
  CHECK(parse_reference("index.docker.io/library/x")->registry == "docker.io");
}

TEST_CASE("malformed references are refused with what is wrong") {
  struct Case {
    std::string text;
    Code code;
    std::string says;
  };
  const Case cases[] = {
      {"", Code::kMalformed, "empty"},
      {"Ghcr.io/UPPER/m", Code::kMalformed, "repository component"},
      {"ghcr.io/org/m:", Code::kMalformed, "tag"},
      {"ghcr.io/org/m:-bad", Code::kMalformed, "tag"},
      {"ghcr.io/org/m@sha256:abc", Code::kMalformed, "64 lowercase hex"},
      {"ghcr.io/org/m@sha256:" + std::string(64, 'A'), Code::kMalformed, "64 lowercase hex"},
      {"ghcr.io/org/m@sha512:" + kHex + kHex, Code::kUnsupported, "not sha256"},
      {"ghcr.io/org/m@" + kHex, Code::kMalformed, "<algorithm>:<hex>"},
      {"ghcr.io/org//m", Code::kMalformed, "repository component"},
      {"ghcr.io/org/m--", Code::kMalformed, "repository component"},
      {"ghcr.io:99999/m", Code::kMalformed, "registry"},
      {"-ghcr.io/m", Code::kMalformed, "registry"},
      {"ghcr.io/", Code::kMalformed, "repository name is missing"},
      {"ghcr.io/m m", Code::kMalformed, "space"},
      {"ghcr.io/m\n", Code::kMalformed, "control"},
      {std::string(600, 'a'), Code::kLimit, "too long"},
      {"ghcr.io/" + std::string(300, 'a'), Code::kLimit, "too long"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    Result<Reference> r = parse_reference(c.text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == c.code);
    CHECK_THAT(r.error().message, Catch::Contains(c.says));
  }
}

TEST_CASE("separators inside repository components follow the distribution grammar") {
  CHECK(parse_reference("ghcr.io/a.b_c__d---e/m").ok());
  CHECK_FALSE(parse_reference("ghcr.io/a___b/m").ok());
  CHECK_FALSE(parse_reference("ghcr.io/a._b/m").ok());
  CHECK_FALSE(parse_reference("ghcr.io/.a/m").ok());
}

TEST_CASE("is_sha256_digest accepts exactly sha256 and 64 lowercase hex digits") {
  CHECK(is_sha256_digest("sha256:" + kHex));
  CHECK_FALSE(is_sha256_digest("sha256:" + kHex.substr(1)));
  CHECK_FALSE(is_sha256_digest("SHA256:" + kHex));
  CHECK_FALSE(is_sha256_digest("sha256:" + kHex + "0"));
}
