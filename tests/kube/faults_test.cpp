// faults_test.cpp: the client against a server that misbehaves with real responses: a connection
// cut mid-chunk, a stream that never ends, a slow (trickling) server, garbage JSON, and objects
// or pages over the bounds. Each must end in a precise error, never a hang or a crash.
#include <catch2/catch.hpp>

#include "kube/client.h"
#include "replay_server.h"
#include "test_support.h"

using namespace modelgate;
using namespace modelgate::kube;
using testing::ReplayServer;
using testing::Reply;
using testing::Route;
using testing::vector_reply;

namespace {

const Resource kPvcs{"", "v1", "persistentvolumeclaims", true};

std::shared_ptr<Client> client_for(const ReplayServer& s, ClientOptions o = {}) {
  auto c = Client::create(s.config(), o);
  REQUIRE(c.ok());
  return *c;
}

struct Seen {
  std::vector<std::string> events;
  std::function<ApiStatus(WatchEvent&&)> fn() {
    return [this](WatchEvent&& ev) -> ApiStatus {
      events.push_back(std::string(event_type_name(ev.type)) + " " + ev.resource_version);
      return Done{};
    };
  }
};

// The offset just past the first chunk (size line, data, CRLF) of watch-pvcs's body.
std::size_t end_of_first_chunk(const std::string& bytes) {
  const std::size_t body = bytes.find("\r\n\r\n") + 4;
  const std::size_t size_end = bytes.find("\r\n", body);
  const std::size_t size = std::stoul(bytes.substr(body, size_end - body), nullptr, 16);
  return size_end + 2 + size + 2;
}

}  // namespace

TEST_CASE("a watch connection cut in the middle of a chunk is an error after the events before it") {
  ReplayServer s;
  Reply r = vector_reply("watch-pvcs");
  r.cut_after = end_of_first_chunk(r.bytes) + 40;  // inside the second chunk's data
  s.add(Route{"GET", "/api/v1/persistentvolumeclaims", {{"watch", "1"}}, {}, r});
  auto c = client_for(s);
  Seen seen;
  WatchOptions o;
  o.resource_version = "376";
  auto end = c->watch(kPvcs, "", o, seen.fn());
  REQUIRE_FALSE(end.ok());
  CHECK(end.error().code == Code::kIo);
  CHECK(end.error().message.find("cut mid-chunk") != std::string::npos);
  CHECK(seen.events == std::vector<std::string>{"ADDED 377"});
}

TEST_CASE("a non-watch response cut before its Content-Length is an error, not a short object") {
  ReplayServer s;
  Reply r = vector_reply("get-pvc-ml-prod-models");
  r.cut_after = r.bytes.size() - 100;
  s.add(Route{"GET", "/api/v1/namespaces/ml-prod/persistentvolumeclaims/models", {}, {}, r});
  auto got = client_for(s)->get(kPvcs, "ml-prod", "models");
  REQUIRE_FALSE(got.ok());
  CHECK(got.error().code == Code::kIo);
}

TEST_CASE("a watch stream that never ends is cut at timeoutSeconds plus the grace") {
  ReplayServer s;
  Reply r = vector_reply("watch-pvcs");
  r.bytes.resize(end_of_first_chunk(r.bytes));  // headers and one event, then silence
  r.hold_open = true;
  s.add(Route{"GET", "/api/v1/persistentvolumeclaims", {{"watch", "1"}, {"timeoutSeconds", "1"}}, {}, r});
  ClientOptions opts;
  opts.watch_grace = std::chrono::milliseconds(200);
  auto c = client_for(s, opts);
  Seen seen;
  WatchOptions o;
  o.resource_version = "376";
  o.timeout_seconds = 1;
  auto end = c->watch(kPvcs, "", o, seen.fn());
  REQUIRE_FALSE(end.ok());
  CHECK(end.error().code == Code::kDeadline);
  CHECK(seen.events == std::vector<std::string>{"ADDED 377"});
}

TEST_CASE("a server that trickles a response past the request deadline is cut off") {
  ReplayServer s;
  Reply r = vector_reply("get-pvc-ml-prod-models");
  r.piece = 1;
  r.pause = std::chrono::milliseconds(20);
  s.add(Route{"GET", "/api/v1/namespaces/ml-prod/persistentvolumeclaims/models", {}, {}, r});
  ClientOptions opts;
  opts.request_timeout = std::chrono::milliseconds(300);
  auto got = client_for(s, opts)->get(kPvcs, "ml-prod", "models");
  REQUIRE_FALSE(got.ok());
  CHECK(got.error().code == Code::kDeadline);
}

TEST_CASE("a watch whose bytes arrive in 7-byte pieces yields the same events (lines, not chunks)") {
  ReplayServer s;
  Reply r = vector_reply("watch-pvcs");
  r.piece = 7;
  s.add(Route{"GET", "/api/v1/persistentvolumeclaims", {{"watch", "1"}}, {}, r});
  auto c = client_for(s);
  Seen seen;
  WatchOptions o;
  o.resource_version = "376";
  auto end = c->watch(kPvcs, "", o, seen.fn());
  REQUIRE(end.ok());
  CHECK(seen.events.size() == 6);
  CHECK(end->last_resource_version == "384");
}

TEST_CASE("garbage JSON in a watch stream or a response body is malformed") {
  ReplayServer s;
  Reply w = vector_reply("watch-pvcs");
  w.bytes.resize(end_of_first_chunk(w.bytes));
  w.bytes += "11\r\nthis is not json\n\r\n0\r\n\r\n";
  s.add(Route{"GET", "/api/v1/persistentvolumeclaims", {{"watch", "1"}}, {}, w});
  Reply g = vector_reply("get-pvc-ml-prod-models");
  g.bytes[g.bytes.find("\r\n\r\n") + 4] = '[';  // same length, no longer a JSON object
  s.add(Route{"GET", "/api/v1/namespaces/ml-prod/persistentvolumeclaims/models", {}, {}, g});
  auto c = client_for(s);
  Seen seen;
  WatchOptions o;
  o.resource_version = "376";
  auto end = c->watch(kPvcs, "", o, seen.fn());
  REQUIRE_FALSE(end.ok());
  CHECK(end.error().code == Code::kMalformed);
  CHECK(seen.events.size() == 1);
  auto got = c->get(kPvcs, "ml-prod", "models");
  REQUIRE_FALSE(got.ok());
  CHECK(got.error().code == Code::kMalformed);
}

TEST_CASE("an object over the size cap ends the watch, and a body or page over its bound fails the call") {
  ReplayServer s;
  s.add(Route{"GET", "/api/v1/persistentvolumeclaims", {{"watch", "1"}}, {}, vector_reply("watch-pvcs")});
  s.add(Route{"GET", "/api/v1/namespaces/ml-prod/persistentvolumeclaims/models", {}, {}, vector_reply("get-pvc-ml-prod-models")});
  s.add(Route{"GET", "/api/v1/persistentvolumeclaims", {}, {"watch"}, vector_reply("list-pvcs")});
  ClientOptions opts;
  opts.max_object_bytes = 300;   // the first event's object is ~700 bytes
  opts.max_response_bytes = 1000;  // the PVC is 1884 bytes
  opts.max_list_items = 2;
  auto c = client_for(s, opts);
  Seen seen;
  WatchOptions o;
  o.resource_version = "376";
  auto end = c->watch(kPvcs, "", o, seen.fn());
  REQUIRE_FALSE(end.ok());
  CHECK(end.error().code == Code::kLimit);
  CHECK(seen.events.empty());
  auto got = c->get(kPvcs, "ml-prod", "models");
  REQUIRE_FALSE(got.ok());
  CHECK(got.error().code == Code::kLimit);
  ClientOptions list_opts;
  list_opts.max_list_items = 2;
  auto page = client_for(s, list_opts)->list_page(kPvcs, "", {});
  REQUIRE_FALSE(page.ok());
  CHECK(page.error().code == Code::kLimit);
  CHECK(page.error().message.find("too many items in one page (3 > 2)") != std::string::npos);
}

TEST_CASE("a cancelled watch on a silent server returns at once") {
  ReplayServer s;  // nothing scripted: the server never answers
  auto c = client_for(s);
  Canceller cancel;
  std::thread t([&] {
    s.wait_requests(1);
    cancel.cancel();
  });
  WatchOptions o;
  o.timeout_seconds = 300;
  Seen seen;
  auto end = c->watch(kPvcs, "", o, seen.fn(), &cancel);
  t.join();
  REQUIRE_FALSE(end.ok());
  CHECK(end.error().message.find("cancelled") != std::string::npos);
}
