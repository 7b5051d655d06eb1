// client_test.cpp: the client against a loopback HTTPS server that replays the real apiserver's
// responses byte for byte: GET (Content-Length and chunked), paginated LIST, WATCH with
// bookmarks, the in-stream 410, Lease create/update with their 409s, Events, and TLS trust.
#include <catch2/catch.hpp>

#include "kube/client.h"
#include "replay_server.h"
#include "test_support.h"

using namespace modelgate;
using namespace modelgate::kube;
using testing::kube_vector;
using testing::read_file;
using testing::ReplayServer;
using testing::Route;
using testing::vector_reply;

namespace {

const Resource kPvcs{"", "v1", "persistentvolumeclaims", true};
const Resource kPvs{"", "v1", "persistentvolumes", false};
const Resource kNamespaces{"", "v1", "namespaces", false};
const Resource kLeases{"coordination.k8s.io", "v1", "leases", true};

std::shared_ptr<Client> client_for(const ReplayServer& s, ClientOptions o = {}) {
  auto c = Client::create(s.config(), o);
  REQUIRE(c.ok());
  return *c;
}

crypto::Json json_file(const std::string& name) {
  auto j = crypto::parse_json(read_file(kube_vector(name)), {64u << 20, 64});
  REQUIRE(j.ok());
  return *j;
}

}  // namespace

TEST_CASE("resource paths for core, grouped, namespaced and cluster-scoped resources") {
  CHECK(resource_path(kPvcs, "ml-prod", "models") == "/api/v1/namespaces/ml-prod/persistentvolumeclaims/models");
  CHECK(resource_path(kPvcs, "") == "/api/v1/persistentvolumeclaims");
  CHECK(resource_path(kPvs, "ignored", "models-ro-pv") == "/api/v1/persistentvolumes/models-ro-pv");
  CHECK(resource_path(kLeases, "modelgate") == "/apis/coordination.k8s.io/v1/namespaces/modelgate/leases");
}

TEST_CASE("GET returns the object whether the server sends Content-Length or a chunked body") {
  ReplayServer s;
  s.add(Route{"GET", "/api/v1/namespaces/ml-prod/persistentvolumeclaims/models", {}, {}, vector_reply("get-pvc-ml-prod-models")});
  s.add(Route{"GET", "/api/v1/persistentvolumes/models-ro-pv", {}, {}, vector_reply("get-pv-models-ro-pv")});
  auto c = client_for(s);
  auto pvc = c->get(kPvcs, "ml-prod", "models");
  REQUIRE(pvc.ok());
  CHECK(*pvc == json_file("get-pvc-ml-prod-models.json"));
  auto pv = c->get(kPvs, "", "models-ro-pv");
  REQUIRE(pv.ok());
  CHECK(*pv == json_file("get-pv-models-ro-pv.json"));
  const auto reqs = s.requests();
  REQUIRE(reqs.size() == 2);
  CHECK(reqs[0].authorization == "Bearer replay-token");
  CHECK(reqs[0].user_agent == "modelgate-test/0.1.0");
}

TEST_CASE("LIST follows continue tokens to the last page and returns the first page's resourceVersion") {
  ReplayServer s;
  s.add(Route{"GET", "/api/v1/namespaces", {{"limit", "2"}}, {"continue"}, vector_reply("list-namespaces-limit2-page1")});
  for (int page = 2; page <= 4; ++page) {
    const auto prev = json_file("list-namespaces-limit2-page" + std::to_string(page - 1) + ".json");
    s.add(Route{"GET", "/api/v1/namespaces", {{"limit", "2"}, {"continue", prev["metadata"]["continue"].get<std::string>()}},
                {}, vector_reply("list-namespaces-limit2-page" + std::to_string(page))});
  }
  auto c = client_for(s);
  std::vector<std::string> names;
  ListOptions o;
  o.limit = 2;
  auto rv = c->list(kNamespaces, "", o, [&](Json&& item) -> ApiStatus {
    names.push_back(item["metadata"]["name"].get<std::string>());
    return Done{};
  });
  REQUIRE(rv.ok());
  CHECK(*rv == json_file("list-namespaces-limit2-page1.json")["metadata"]["resourceVersion"].get<std::string>());
  CHECK(names == std::vector<std::string>{"default", "kube-node-lease", "kube-public", "kube-system", "ml-prod",
                                          "modelgate", "team-a"});
  CHECK(s.requests().size() == 4);
}

TEST_CASE("LIST with a continue token the server has compacted away is Expired") {
  ReplayServer s;
  s.add(Route{"GET", "/api/v1/persistentvolumeclaims", {{"limit", "1"}}, {"continue"},
              vector_reply("gone-list-pvcs-limit1-page1-before-compaction")});
  s.add(Route{"GET", "/api/v1/persistentvolumeclaims", {{"continue", "*"}}, {},
              vector_reply("gone-list-pvcs-limit1-page2-stale-continue")});
  auto c = client_for(s);
  ListOptions o;
  o.limit = 1;
  std::size_t items = 0;
  auto rv = c->list(kPvcs, "", o, [&](Json&&) -> ApiStatus {
    ++items;
    return Done{};
  });
  REQUIRE_FALSE(rv.ok());
  CHECK(rv.error().expired());
  CHECK(rv.error().http_status == 410);
  CHECK_FALSE(rv.error().continue_token.empty());
  CHECK(items == 1);
}

TEST_CASE("a 403 on LIST names the verb and resource the service account lacks") {
  ReplayServer s;
  s.add(Route{"GET", "/api/v1/namespaces/ml-prod/secrets", {}, {}, vector_reply("error-403-list-secrets")});
  auto c = client_for(s);
  auto page = c->list_page(Resource{"", "v1", "secrets", true}, "ml-prod", {});
  REQUIRE_FALSE(page.ok());
  CHECK(page.error().forbidden());
  CHECK(page.error().message.find("cannot list secrets (group \"\", namespace \"ml-prod\")") != std::string::npos);
}

TEST_CASE("a rotated token file is sent on the next request, and a 401 is retried once with the file re-read") {
  testing::TempDir d;
  testing::write_file(d / "token", "token-a\n");
  ReplayServer s;
  s.add(Route{"GET", "/api/v1/namespaces/ml-prod", {}, {}, vector_reply("get-namespace-ml-prod")});
  s.add(Route{"GET", "/api/v1/namespaces/ml-prod", {}, {}, vector_reply("error-401-bad-token")});
  s.add(Route{"GET", "/api/v1/namespaces/ml-prod", {}, {}, vector_reply("get-namespace-ml-prod")});
  ClusterConfig cfg = s.config();
  cfg.token = TokenSource::from_file(d / "token");
  auto c = Client::create(cfg);
  REQUIRE(c.ok());
  REQUIRE((*c)->get(kNamespaces, "", "ml-prod").ok());
  testing::replace_file(d / "token", "token-b\n");
  REQUIRE((*c)->get(kNamespaces, "", "ml-prod").ok());  // 401, then the retry gets the namespace
  const auto reqs = s.requests();
  REQUIRE(reqs.size() == 3);
  CHECK(reqs[0].authorization == "Bearer token-a");
  CHECK(reqs[1].authorization == "Bearer token-b");
  CHECK(reqs[2].authorization == "Bearer token-b");
}

TEST_CASE("a 401 with a static token is returned, not retried") {
  ReplayServer s;
  s.add(Route{"GET", "/api/v1/namespaces/ml-prod", {}, {}, vector_reply("error-401-bad-token")});
  auto c = client_for(s);
  auto r = c->get(kNamespaces, "", "ml-prod");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().http_status == 401);
  CHECK(r.error().reason == "Unauthorized");
  CHECK(s.requests().size() == 1);
}

TEST_CASE("WATCH delivers every captured event in order, bookmarks included, and ends at the server's timeout") {
  ReplayServer s;
  s.add(Route{"GET", "/api/v1/persistentvolumeclaims",
              {{"watch", "1"}, {"resourceVersion", "376"}, {"allowWatchBookmarks", "true"}, {"timeoutSeconds", "5"}}, {},
              vector_reply("watch-pvcs")});
  auto c = client_for(s);
  std::vector<std::string> seen;
  WatchOptions o;
  o.resource_version = "376";
  o.timeout_seconds = 5;
  auto end = c->watch(kPvcs, "", o, [&](WatchEvent&& ev) -> ApiStatus {
    seen.push_back(std::string(event_type_name(ev.type)) + " " + ev.resource_version);
    return Done{};
  });
  REQUIRE(end.ok());
  CHECK(seen == std::vector<std::string>{"ADDED 377", "MODIFIED 379", "BOOKMARK 379", "MODIFIED 382", "DELETED 384",
                                         "BOOKMARK 384"});
  CHECK(end->events == 6);
  CHECK(end->last_resource_version == "384");
}

TEST_CASE("WATCH from an expired resourceVersion returns the in-stream 410 as Expired") {
  ReplayServer s;
  s.add(Route{"GET", "/api/v1/persistentvolumeclaims", {{"watch", "1"}}, {}, vector_reply("watch-gone")});
  auto c = client_for(s);
  WatchOptions o;
  o.resource_version = "376";
  std::size_t events = 0;
  auto end = c->watch(kPvcs, "", o, [&](WatchEvent&&) -> ApiStatus {
    ++events;
    return Done{};
  });
  REQUIRE_FALSE(end.ok());
  CHECK(end.error().expired());
  CHECK(end.error().reason == "Expired");
  CHECK(end.error().message.find("too old resource version: 376 (402)") != std::string::npos);
  CHECK(events == 0);
}

TEST_CASE("a LIST from a resourceVersion ahead of the server is a 504 with its retry hint") {
  ReplayServer s;
  s.add(Route{"GET", "/api/v1/persistentvolumeclaims", {}, {}, vector_reply("error-504-list-rv-too-large")});
  auto c = client_for(s);
  ListOptions o;
  o.resource_version = "99999999";
  auto p = c->list_page(kPvcs, "", o);
  REQUIRE_FALSE(p.ok());
  CHECK(p.error().code == Code::kDeadline);
  CHECK(p.error().retry_after == std::chrono::seconds(1));
}

TEST_CASE("a Lease is created, created again (AlreadyExists), updated, and updated stale (Conflict)") {
  ReplayServer s;
  const std::string leases = "/apis/coordination.k8s.io/v1/namespaces/modelgate/leases";
  s.add(Route{"POST", leases, {}, {}, vector_reply("lease-create")});
  s.add(Route{"POST", leases, {}, {}, vector_reply("lease-create-again-409-exists")});
  s.add(Route{"PUT", leases + "/modelgate-controller", {}, {}, vector_reply("lease-update")});
  s.add(Route{"PUT", leases + "/modelgate-controller", {}, {}, vector_reply("lease-update-stale-409-conflict")});
  auto c = client_for(s);
  const Json request = json_file("lease-create.request.json");
  auto created = c->create(kLeases, "modelgate", request);
  REQUIRE(created.ok());
  CHECK((*created)["metadata"]["resourceVersion"] == "557");
  auto again = c->create(kLeases, "modelgate", request);
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().already_exists());
  auto updated = c->update(kLeases, "modelgate", "modelgate-controller", json_file("lease-update.request.json"));
  REQUIRE(updated.ok());
  CHECK((*updated)["metadata"]["resourceVersion"] == "558");
  auto stale = c->update(kLeases, "modelgate", "modelgate-controller", json_file("lease-update-stale-409-conflict.request.json"));
  REQUIRE_FALSE(stale.ok());
  CHECK(stale.error().conflict());
  const auto reqs = s.requests();
  REQUIRE(reqs.size() == 4);
  CHECK(crypto::parse_json(reqs[0].body, {1 << 20, 64}).value() == request);
}

TEST_CASE("an Event is created through events.k8s.io, and an invalid one is refused with its causes' reason") {
  ReplayServer s;
  s.add(Route{"POST", "/apis/events.k8s.io/v1/namespaces/ml-prod/events", {}, {}, vector_reply("event-events-v1-create")});
  s.add(Route{"POST", "/apis/events.k8s.io/v1/namespaces/ml-prod/events", {}, {}, vector_reply("error-422-event-invalid")});
  auto c = client_for(s);
  const Resource events{"events.k8s.io", "v1", "events", true};
  REQUIRE(c->create(events, "ml-prod", json_file("event-events-v1-create.request.json")).ok());
  auto bad = c->create(events, "ml-prod", json_file("error-422-event-invalid.request.json"));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().reason == "Invalid");
}

TEST_CASE("a server whose certificate the configured CA did not sign is refused before any request") {
  ReplayServer s;
  ClusterConfig cfg = s.config();
  cfg.ca_pem = testing::test_pki().other_ca_pem;
  auto c = Client::create(cfg);
  REQUIRE(c.ok());
  auto r = (*c)->get(kNamespaces, "", "ml-prod");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Code::kIo);
  CHECK(r.error().message.find("not trusted") != std::string::npos);
  ClusterConfig wrong_name = s.config();
  wrong_name.tls_server_name = "kubernetes.default.svc";  // not in the leaf's SANs
  auto c2 = Client::create(wrong_name);
  REQUIRE(c2.ok());
  CHECK_FALSE((*c2)->get(kNamespaces, "", "ml-prod").ok());
  CHECK(s.requests().empty());
}
