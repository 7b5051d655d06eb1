// cluster_state_test.cpp: storage identity and namespace labels from cluster state, frozen (the
// real list responses in ../shared/vectors/kube-api/ read as --cluster-state files) and live (the
// informers against a loopback server replaying those responses; watch events are the captured
// objects in the watch envelope, so the cache is seen to follow a claim deleted and recreated and
// a namespace whose labels change).
#include <catch2/catch.hpp>

#include "admission/cluster_state.h"
#include "replay_server.h"
#include "test_support.h"

using namespace modelgate;
using namespace modelgate::admission;
using testing::kube_vector;
using testing::ReplayServer;
using testing::Reply;
using testing::Route;
using testing::vector_reply;

namespace {

policy::Pattern pattern(const std::string& s) {
  auto re = policy::compile_pattern(s);
  REQUIRE(re.ok());
  return policy::Pattern{s, *re, {}};
}

std::shared_ptr<const StaticClusterState> captured_state() {
  auto st = load_cluster_state({kube_vector("list-pvcs.json"), kube_vector("list-pvs.json"), kube_vector("list-namespaces.json")});
  REQUIRE(st.ok());
  return *st;
}

std::string reason(const std::optional<ClusterProblem>& p) { return p ? p->reason : "proven"; }

// watch_reply frames `events` (NDJSON lines) as a chunked watch response after the captured
// watch headers, one event per chunk as the apiserver sends them, then the last chunk.
Reply watch_reply(const std::vector<std::string>& events, bool end) {
  Reply r;
  r.bytes = testing::read_file(kube_vector("watch-pvcs.headers.txt"));
  for (const std::string& e : events) {
    char size[16];
    std::snprintf(size, sizeof size, "%zx", e.size() + 1);
    r.bytes += std::string(size) + "\r\n" + e + "\n\r\n";
  }
  if (end) {
    r.bytes += "0\r\n\r\n";
  } else {
    r.hold_open = true;
  }
  return r;
}

// event wraps a captured object in the watch envelope ({"type":T,"object":O}, apimachinery's
// watch.Event as the captures show it).
std::string event(const std::string& type, const crypto::Json& object) {
  crypto::Json e = crypto::Json::object();
  e["type"] = type;
  e["object"] = object;
  return e.dump();
}

crypto::Json json_file(const std::string& name) {
  auto j = crypto::parse_json(testing::read_file(kube_vector(name)), {64u << 20, 64});
  REQUIRE(j.ok());
  return *j;
}

}  // namespace

TEST_CASE("a claim bound both ways to a volume the policy names is proven") {
  auto st = captured_state();
  CHECK(st->pvcs.size() == 3);
  CHECK(st->pvs.size() == 3);
  CHECK(st->namespaces.size() == 7);
  CHECK(reason(check_claim_binding(st.get(), "ml-prod", "models", pattern("^models-ro-pv$"))) == "proven");
  CHECK(reason(check_claim_binding(st.get(), "ml-prod", "other", pattern("scratch-pv"))) == "proven");
}

TEST_CASE("a claim bound to another volume, an unbound claim and an unknown claim are each refused with what to do") {
  auto st = captured_state();
  auto wrong = check_claim_binding(st.get(), "ml-prod", "other", pattern("^models-ro-pv$"));
  REQUIRE(wrong);
  CHECK(wrong->reason == "pvc.volume_mismatch");
  CHECK(wrong->message ==
        "claim \"other\" in namespace \"ml-prod\" is bound to volume \"scratch-pv\", which does not match "
        "\"^models-ro-pv$\"; mount a claim bound to the model store");
  auto pending = check_claim_binding(st.get(), "team-a", "models", pattern("^models-ro-pv$"));
  REQUIRE(pending);
  CHECK(pending->reason == "pvc.not_bound");
  CHECK(pending->message.find("is not bound (phase \"Pending\")") != std::string::npos);
  CHECK(reason(check_claim_binding(st.get(), "team-b", "models", pattern("^models-ro-pv$"))) == "pvc.unknown");
}

TEST_CASE("a claim that names the volume but that the volume does not name back is refused") {
  // The attack of issue 13: a pod author's own claim called "models" whose spec.volumeName names
  // the real store. The binder never bound it (the volume's claimRef is ml-prod/models), so even a
  // claim that reports Bound is not the store.
  auto st = std::make_shared<StaticClusterState>(*captured_state());
  kube::PvcInfo forged = st->pvcs.at("ml-prod/models");
  forged.ns = "team-a";
  forged.uid = "00000000-0000-0000-0000-000000000000";
  st->pvcs.insert_or_assign(forged.key(), forged);
  auto p = check_claim_binding(st.get(), "team-a", "models", pattern("^models-ro-pv$"));
  REQUIRE(p);
  CHECK(p->reason == "pv.bound_elsewhere");
  CHECK(p->message.find("is bound to claim \"ml-prod/models\"") != std::string::npos);
  // Recreated in place (same name, a new uid): the volume still holds the old claim's uid.
  kube::PvcInfo recreated = st->pvcs.at("ml-prod/models");
  recreated.uid = "11111111-1111-1111-1111-111111111111";
  st->pvcs.insert_or_assign(recreated.key(), recreated);
  CHECK(reason(check_claim_binding(st.get(), "ml-prod", "models", pattern("^models-ro-pv$"))) == "pv.bound_elsewhere");
  st->pvs.erase("models-ro-pv");
  CHECK(reason(check_claim_binding(st.get(), "ml-prod", "models", pattern("^models-ro-pv$"))) == "pv.missing");
}

TEST_CASE("without cluster state a pvc source is refused with a message that says to pass --cluster-state") {
  auto p = check_claim_binding(nullptr, "ml-prod", "models", pattern("^models-ro-pv$"));
  REQUIRE(p);
  CHECK(p->reason == "cluster.state_missing");
  CHECK(p->message.find("pass --cluster-state FILE") != std::string::npos);
  ClusterProblem np;
  CHECK_FALSE(namespace_labels(nullptr, "ml-prod", &np).ok());
  CHECK(np.reason == "cluster.state_missing");
}

TEST_CASE("namespace selectors match the labels the cluster admin set on the namespace") {
  auto st = captured_state();
  ClusterProblem np;
  auto ml = namespace_labels(st.get(), "ml-prod", &np);
  REQUIRE(ml.ok());
  auto team_a = namespace_labels(st.get(), "team-a", &np);
  REQUIRE(team_a.ok());
  policy::NamespaceSelector enforce;
  enforce.match_labels.push_back({{"modelgate.dev/enforce", {}}, {"true", {}}});
  CHECK(enforce.matches(*ml));
  CHECK_FALSE(enforce.matches(*team_a));
  policy::NamespaceSelector expr;
  expr.match_expressions.push_back({{"team", {}}, policy::SelectorOp::kIn, {{"ml", {}}, {"research", {}}}, {}});
  expr.match_expressions.push_back({{"legacy", {}}, policy::SelectorOp::kDoesNotExist, {}, {}});
  CHECK(expr.matches(*ml));
  CHECK_FALSE(expr.matches(*team_a));
  CHECK(expr.describe() == "team in (ml,research),!legacy");
  policy::NamespaceSelector not_in;
  not_in.match_expressions.push_back({{"team", {}}, policy::SelectorOp::kNotIn, {{"ml", {}}}, {}});
  CHECK_FALSE(not_in.matches(*ml));
  CHECK(not_in.matches(*team_a));  // absent label: NotIn holds (apimachinery)
  CHECK_FALSE(namespace_labels(st.get(), "nope", &np).ok());
  CHECK(np.reason == "namespace.unknown");
}

TEST_CASE("cluster state files may be several YAML documents, Lists or single objects") {
  testing::TempDir d;
  // Documents as kubectl -o yaml prints several resources: JSON is YAML, so the captures are used as
  // they are, joined by document markers.
  testing::write_file(d / "state.yaml", testing::read_file(kube_vector("get-pvc-ml-prod-models.json")) + "---\n" +
                                             testing::read_file(kube_vector("get-pv-models-ro-pv.json")) + "---\n" +
                                             testing::read_file(kube_vector("list-namespaces.json")));
  auto st = load_cluster_state({d / "state.yaml"});
  REQUIRE(st.ok());
  CHECK((*st)->pvcs.size() == 1);
  CHECK((*st)->pvs.size() == 1);
  CHECK((*st)->namespaces.size() == 7);
  CHECK(reason(check_claim_binding(st->get(), "ml-prod", "models", pattern("^models-ro-pv$"))) == "proven");
  testing::write_file(d / "bad.yaml", "kind: PersistentVolumeClaim\nmetadata: {namespace: x}\n");
  auto bad = load_cluster_state({d / "bad.yaml"});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == Code::kMalformed);
  CHECK(bad.error().message.find("document 0") != std::string::npos);
  CHECK(load_cluster_state({d / "missing.yaml"}).error().code == Code::kNotFound);
}

namespace {

kube::InformerOptions quick() {
  kube::InformerOptions o;
  o.watch_timeout_min_seconds = 1;  // a silent watch is cut at 1 s + grace, then re-watched
  o.backoff_initial = std::chrono::milliseconds(5);
  o.backoff_max = std::chrono::milliseconds(20);
  return o;
}

std::shared_ptr<kube::Client> quick_client(const ReplayServer& s) {
  kube::ClientOptions co;
  co.watch_grace = std::chrono::milliseconds(100);
  auto c = kube::Client::create(s.config(), co);
  REQUIRE(c.ok());
  return *c;
}

void script_lists(ReplayServer& s) {
  s.add(Route{"GET", "/api/v1/persistentvolumeclaims", {{"limit", "500"}}, {"watch"}, vector_reply("list-pvcs")});
  s.add(Route{"GET", "/api/v1/persistentvolumes", {{"limit", "500"}}, {"watch"}, vector_reply("list-pvs")});
  s.add(Route{"GET", "/api/v1/namespaces", {{"limit", "500"}}, {"watch"}, vector_reply("list-namespaces")});
}

// wait_for_watch waits until a watch of `path` from resourceVersion `rv` was requested `times`
// times: the informer had applied every event before it by then.
bool wait_for_watch(const ReplayServer& s, const std::string& path, const std::string& rv, std::size_t times = 1) {
  while (true) {
    const auto reqs = s.requests();
    std::size_t n = 0;
    for (const auto& r : reqs) {
      auto v = r.query.find("resourceVersion");
      if (r.path == path && r.query.count("watch") != 0 && v != r.query.end() && v->second == rv) {
        ++n;
      }
    }
    if (n >= times) {
      return true;
    }
    if (s.wait_requests(reqs.size() + 1) < reqs.size() + 1) {
      return false;  // nothing new within the bound
    }
  }
}

}  // namespace

TEST_CASE("the live state is not synced before its lists and follows a claim deleted and recreated") {
  ReplayServer s;
  script_lists(s);
  const crypto::Json models = json_file("list-pvcs.json")["items"][0];
  REQUIRE(models["metadata"]["name"] == "models");
  const std::string pvcs = "/api/v1/persistentvolumeclaims";
  s.add(Route{"GET", pvcs, {{"watch", "1"}, {"resourceVersion", "374"}}, {}, watch_reply({event("DELETED", models)}, true)});
  LiveClusterState live(quick_client(s), quick(), nullptr);
  CHECK_FALSE(live.synced());
  CHECK(reason(check_claim_binding(&live, "ml-prod", "models", pattern("^models-ro-pv$"))) == "cluster.not_synced");
  live.start();
  // After the DELETED event the informer watches from its resourceVersion (343): nothing is
  // scripted for that yet, so the server is silent and the state is the one after the delete.
  REQUIRE(wait_for_watch(s, pvcs, "343"));
  REQUIRE(wait_for_watch(s, "/api/v1/persistentvolumes", "374"));  // every informer has synced
  REQUIRE(wait_for_watch(s, "/api/v1/namespaces", "374"));
  CHECK(live.synced());
  CHECK(reason(check_claim_binding(&live, "ml-prod", "models", pattern("^models-ro-pv$"))) == "pvc.unknown");
  // Recreated: the next watch (after the silent one is cut at timeoutSeconds + grace) sees it ADDED
  // again, and the informer then watches from 343 once more.
  s.add(Route{"GET", pvcs, {{"watch", "1"}, {"resourceVersion", "343"}}, {}, watch_reply({event("ADDED", models)}, true)});
  REQUIRE(wait_for_watch(s, pvcs, "343", 3));
  CHECK(reason(check_claim_binding(&live, "ml-prod", "models", pattern("^models-ro-pv$"))) == "proven");
  CHECK(live.status().find("cluster: synced (pvc 3, pv 3, namespaces 7)") == 0);
  live.stop();
}

TEST_CASE("the live state sees a namespace's labels change, leaving and entering a selector") {
  ReplayServer s;
  script_lists(s);
  crypto::Json ns = json_file("get-namespace-ml-prod.json");
  crypto::Json unlabelled = ns;
  unlabelled["metadata"]["labels"].erase("modelgate.dev/enforce");
  unlabelled["metadata"]["resourceVersion"] = "380";
  const std::string path = "/api/v1/namespaces";
  s.add(Route{"GET", path, {{"watch", "1"}, {"resourceVersion", "374"}}, {}, watch_reply({event("MODIFIED", unlabelled)}, true)});
  LiveClusterState live(quick_client(s), quick(), nullptr);
  policy::NamespaceSelector enforce;
  enforce.match_labels.push_back({{"modelgate.dev/enforce", {}}, {"true", {}}});
  live.start();
  REQUIRE(wait_for_watch(s, "/api/v1/persistentvolumeclaims", "374"));  // every informer has synced
  REQUIRE(wait_for_watch(s, "/api/v1/persistentvolumes", "374"));
  REQUIRE(wait_for_watch(s, path, "380"));
  ClusterProblem np;
  auto left = namespace_labels(&live, "ml-prod", &np);
  REQUIRE(left.ok());
  CHECK_FALSE(enforce.matches(*left));
  crypto::Json relabelled = ns;
  relabelled["metadata"]["resourceVersion"] = "381";
  s.add(Route{"GET", path, {{"watch", "1"}, {"resourceVersion", "380"}}, {}, watch_reply({event("MODIFIED", relabelled)}, true)});
  REQUIRE(wait_for_watch(s, path, "381"));
  auto entered = namespace_labels(&live, "ml-prod", &np);
  REQUIRE(entered.ok());
  CHECK(enforce.matches(*entered));
  live.stop();
}
