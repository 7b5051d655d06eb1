// status_test.cpp: API errors built from the real Status bodies the apiserver sent
// (../shared/vectors/kube-api/error-*, lease 409s, the 410 on a stale continue token).
#include <catch2/catch.hpp>

#include "kube/status.h"
#include "replay_server.h"
#include "test_support.h"

using namespace modelgate;
using namespace modelgate::kube;
using testing::kube_vector;
using testing::read_file;

namespace {

ApiError from_vector(int status, const std::string& name, const RequestDescription& what, std::string retry_after = "") {
  return api_error_from_response(status, retry_after, read_file(kube_vector(name + ".json")), what);
}

}  // namespace

TEST_CASE("a 403 names the verb, the resource and the namespace the service account may not touch") {
  const ApiError e = from_vector(403, "error-403-list-secrets", {"list", "secrets", "", "ml-prod"});
  CHECK(e.forbidden());
  CHECK(e.code == Code::kUntrusted);
  CHECK(e.reason == "Forbidden");
  CHECK(e.message.find("cannot list secrets (group \"\", namespace \"ml-prod\")") != std::string::npos);
  CHECK(e.message.find("RBAC") != std::string::npos);
  // The apiserver's own words ride along, quoted.
  CHECK(e.message.find("cannot list resource \\\"secrets\\\"") != std::string::npos);
  const ApiError all = from_vector(403, "error-403-list-secrets-cluster", {"list", "secrets", "", ""});
  CHECK(all.message.find("all namespaces") != std::string::npos);
}

TEST_CASE("a 401, a 404 and a 422 keep their Status reasons") {
  const ApiError u = from_vector(401, "error-401-bad-token", {"list", "persistentvolumeclaims", "", ""});
  CHECK(u.reason == "Unauthorized");
  CHECK(u.code == Code::kUntrusted);
  CHECK(u.message.find("unauthorized") == 0);
  const ApiError n = from_vector(404, "error-404-get-pvc", {"get", "persistentvolumeclaims", "", "ml-prod"});
  CHECK(n.not_found());
  CHECK(n.code == Code::kNotFound);
  CHECK(n.reason == "NotFound");
  const ApiError i = from_vector(422, "error-422-event-invalid", {"create", "events", "events.k8s.io", "ml-prod"});
  CHECK(i.reason == "Invalid");
  CHECK(i.code == Code::kMalformed);
}

TEST_CASE("a 409 is AlreadyExists or Conflict by its reason, not its code") {
  const ApiError exists = from_vector(409, "lease-create-again-409-exists", {"create", "leases", "coordination.k8s.io", "modelgate"});
  CHECK(exists.already_exists());
  CHECK_FALSE(exists.conflict());
  const ApiError stale = from_vector(409, "lease-update-stale-409-conflict", {"update", "leases", "coordination.k8s.io", "modelgate"});
  CHECK(stale.conflict());
  CHECK_FALSE(stale.already_exists());
  CHECK(stale.code == Code::kMismatch);
}

TEST_CASE("a 410 on a stale continue token is Expired and carries the server's fresh token") {
  const ApiError e = from_vector(410, "gone-list-pvcs-limit1-page2-stale-continue", {"list", "persistentvolumeclaims", "", ""});
  CHECK(e.expired());
  CHECK(e.reason == "Expired");
  CHECK(e.continue_token == "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6LTEsInN0YXJ0IjoibWwtcHJvZC9tb2RlbHNcdTAwMDAifQ");
  const ApiError exact = from_vector(410, "gone-list-pvcs-rv-exact-compacted", {"list", "persistentvolumeclaims", "", ""});
  CHECK(exact.expired());
  CHECK(exact.continue_token.empty());
}

TEST_CASE("a 504 with Retry-After says when to retry") {
  const ApiError e = from_vector(504, "error-504-list-rv-too-large", {"list", "persistentvolumeclaims", "", ""}, "1");
  CHECK(e.code == Code::kDeadline);
  CHECK(e.reason == "Timeout");
  CHECK(e.retry_after == std::chrono::seconds(1));
}

TEST_CASE("an error body that is not a Status is summarised, never echoed") {
  const ApiError e = api_error_from_response(502, "", "<html>bad gateway\r\nSet-Cookie: x</html>", {"list", "namespaces", "", ""});
  CHECK(e.code == Code::kIo);
  CHECK(e.reason.empty());
  CHECK(e.message == "list namespaces (group \"\", all namespaces): HTTP 502");
}
