// informer_test.cpp: the list/watch cache against replayed apiserver responses: it syncs from a
// list, applies watch events, resumes a cut watch from the last resourceVersion, relists on the
// in-stream 410 and on a stale continue token, and stays unsynced (saying why) under a 403.
#include <catch2/catch.hpp>

#include <cstdio>

#include "kube/informer.h"
#include "kube/objects.h"
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
const std::string kPath = "/api/v1/persistentvolumeclaims";

InformerOptions fast() {
  InformerOptions o;
  o.backoff_initial = std::chrono::milliseconds(5);
  o.backoff_max = std::chrono::milliseconds(20);
  return o;
}

std::shared_ptr<Client> client_for(const ReplayServer& s) {
  auto c = Client::create(s.config());
  REQUIRE(c.ok());
  return *c;
}

std::vector<std::string> keys(const Informer<PvcInfo>& inf) {
  std::vector<std::string> out;
  inf.for_each([&](const PvcInfo& p) { out.push_back(p.key()); });
  std::sort(out.begin(), out.end());
  return out;
}

std::size_t end_of_first_chunk(const std::string& bytes) {
  const std::size_t body = bytes.find("\r\n\r\n") + 4;
  const std::size_t size_end = bytes.find("\r\n", body);
  return size_end + 2 + std::stoul(bytes.substr(body, size_end - body), nullptr, 16) + 2;
}

}  // namespace

TEST_CASE("the informer lists, watches from the list's version, relists on an in-stream 410, and watches again") {
  ReplayServer s;
  s.add(Route{"GET", kPath, {{"limit", "500"}}, {"watch", "continue", "resourceVersion"}, vector_reply("watch-pvcs.list-before")});
  s.add(Route{"GET", kPath, {{"watch", "1"}, {"resourceVersion", "376"}, {"allowWatchBookmarks", "true"}}, {},
              vector_reply("watch-pvcs")});
  s.add(Route{"GET", kPath, {{"watch", "1"}, {"resourceVersion", "384"}}, {}, vector_reply("watch-gone")});
  s.add(Route{"GET", kPath, {{"limit", "500"}}, {"watch"}, vector_reply("list-pvcs")});
  // The fifth request, a watch from 374, is not scripted: the server holds it open, silent.
  Informer<PvcInfo> inf(client_for(s), kPvcs, fast());
  CHECK_FALSE(inf.synced());
  inf.start();
  REQUIRE(s.wait_requests(5) == 5);
  const auto reqs = s.requests();
  CHECK(reqs[4].query.at("watch") == "1");
  CHECK(reqs[4].query.at("resourceVersion") == "374");
  const int timeout = std::stoi(reqs[4].query.at("timeoutSeconds"));
  CHECK(timeout >= 300);
  CHECK(timeout < 600);
  CHECK(inf.synced());
  CHECK(keys(inf) == std::vector<std::string>{"ml-prod/models", "ml-prod/other", "team-a/models"});
  CHECK(inf.get("ml-prod/models")->volume_name == "models-ro-pv");
  CHECK_FALSE(inf.get("ml-prod/scratch-tmp").has_value());
  const InformerMetrics& m = inf.metrics();
  CHECK(m.lists.load() == 2);
  CHECK(m.relists.load() == 1);
  CHECK(m.watch_restarts.load() == 2);
  CHECK(m.events.load() == 6);
  CHECK(m.objects.load() == 3);
  CHECK(m.last_sync_age().has_value());
  inf.stop();
}

TEST_CASE("a watch cut mid-stream resumes from the last event's version without a relist") {
  ReplayServer s;
  s.add(Route{"GET", kPath, {{"limit", "500"}}, {"watch"}, vector_reply("watch-pvcs.list-before")});
  Reply cut = vector_reply("watch-pvcs");
  cut.cut_after = end_of_first_chunk(cut.bytes) + 40;
  s.add(Route{"GET", kPath, {{"watch", "1"}, {"resourceVersion", "376"}}, {}, cut});
  Informer<PvcInfo> inf(client_for(s), kPvcs, fast());
  inf.start();
  REQUIRE(s.wait_requests(3) == 3);
  CHECK(s.requests()[2].query.at("resourceVersion") == "377");
  // The ADDED event before the cut is in the cache: the watch was seen.
  REQUIRE(inf.get("ml-prod/scratch-tmp").has_value());
  CHECK(inf.get("ml-prod/scratch-tmp")->phase == "Pending");
  CHECK(inf.metrics().lists.load() == 1);
  CHECK(inf.metrics().errors.load() == 1);
  inf.stop();
}

TEST_CASE("a stale continue token during the list starts the list over rather than accept an inconsistent one") {
  ReplayServer s;
  s.add(Route{"GET", kPath, {{"limit", "1"}}, {"watch", "continue"}, vector_reply("gone-list-pvcs-limit1-page1-before-compaction")});
  s.add(Route{"GET", kPath, {{"continue", "*"}}, {}, vector_reply("gone-list-pvcs-limit1-page2-stale-continue")});
  s.add(Route{"GET", kPath, {{"limit", "1"}}, {"watch", "continue"}, vector_reply("list-pvcs-rv0-limit2")});
  InformerOptions o = fast();
  o.page_size = 1;
  Informer<PvcInfo> inf(client_for(s), kPvcs, o);
  inf.start();
  REQUIRE(s.wait_requests(4) == 4);
  const auto reqs = s.requests();
  CHECK(reqs[2].query.count("continue") == 0);  // not the server's inconsistent token
  CHECK(reqs[3].query.at("watch") == "1");
  CHECK(inf.synced());
  CHECK(inf.size() == 3);
  CHECK(inf.metrics().lists.load() == 1);
  CHECK(inf.metrics().errors.load() == 1);
  inf.stop();
}

TEST_CASE("under a 403 the informer never syncs and logs the missing verb and resource") {
  ReplayServer s;
  Route forbidden{"GET", kPath, {}, {}, vector_reply("error-403-list-secrets")};
  forbidden.repeat = true;
  s.add(forbidden);
  std::FILE* log_file = std::tmpfile();
  REQUIRE(log_file != nullptr);
  {
    log::Logger logger(log_file);
    Informer<PvcInfo> inf(client_for(s), kPvcs, fast(), &logger);
    inf.start();
    REQUIRE(s.wait_requests(3) >= 3);
    inf.stop();
    CHECK_FALSE(inf.synced());
    CHECK(inf.metrics().errors.load() >= 2);
  }
  std::rewind(log_file);
  std::string text;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, log_file)) > 0) {
    text.append(buf, n);
  }
  std::fclose(log_file);
  CHECK(text.find("\"level\":\"error\",\"event\":\"kube_list_failed\"") != std::string::npos);
  CHECK(text.find("cannot list persistentvolumeclaims (group \\\"\\\", all namespaces)") != std::string::npos);
}

TEST_CASE("stop returns while the informer waits on a silent watch") {
  ReplayServer s;
  s.add(Route{"GET", kPath, {{"limit", "500"}}, {"watch"}, vector_reply("list-pvcs")});
  Informer<PvcInfo> inf(client_for(s), kPvcs, fast());
  inf.start();
  REQUIRE(s.wait_requests(2) == 2);
  inf.stop();  // the watch is held open by the server; the canceller ends it
  CHECK(inf.synced());
  CHECK(inf.size() == 3);
}
