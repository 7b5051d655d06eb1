// cluster_state_test.cpp: storage identity and namespace selectors through the real `modelgate
// serve` stack in-process — Server over real TLS, the Webhook with clusterState enabled, reading
// the Kubernetes API through a kubeconfig that points at a loopback HTTPS server replaying the real
// kube-apiserver responses of ../shared/vectors/kube-api/ (tests/kube/replay_server.h). The pod is
// the real apiserver's Pod request (../shared/vectors/admission/), moved to the namespace of the
// kube captures. Watch events are captured objects in the watch envelope; objects the captures do
// not hold are derived from captured bytes by the field substitution named where it is made.
#include <httplib.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "admission/server.h"
#include "admission/webhook.h"
#include "base/log.h"
#include "cluster_fixture.h"
#include "crypto/json.h"
#include "policy/evidence_fixtures.h"
#include "replay_server.h"
#include "test_support.h"

namespace {

namespace fs = std::filesystem;
using namespace modelgate;
using namespace modelgate::admission;
using namespace modelgate::testing;
using namespace modelgate::testing::evidence;
using crypto::Json;

const std::string kPvcs = "/api/v1/persistentvolumeclaims";
const std::string kPvs = "/api/v1/persistentvolumes";
const std::string kNamespaces = "/api/v1/namespaces";

const char* kPolicy = R"(apiVersion: modelgate.dev/v1alpha1
kind: ModelPolicy
metadata: {name: serving}
spec:
  match: @MATCH@
  sources:
  - {name: models, pvc: {claimName: "^(models|other)$", volumeName: "^models-ro-pv$"}, root: @ROOT@}
  trust:
    signers:
    - {name: team, publicKey: keys/team.pub}
  require:
    signature: {signers: [team]}
)";

Json parse(const std::string& text) {
  auto j = crypto::parse_json(text, {64u << 20, 64});
  REQUIRE(j.ok());
  return j.value();
}

// chunked_reply is a captured response head with `body` framed as one chunk: what vector_reply
// does for the capture itself, for a body derived from it.
Reply chunked_reply(const std::string& headers_capture, const std::string& body) {
  Reply r;
  r.bytes = kube_capture(headers_capture);
  char size[32];
  std::snprintf(size, sizeof size, "%zx", body.size());
  r.bytes += std::string(size) + "\r\n" + body + "\r\n0\r\n\r\n";
  return r;
}

// watch_reply frames `events` as a chunked watch response after the captured watch headers, one
// event per chunk as the apiserver sends them, then the last chunk (the server ends the watch).
Reply watch_reply(const std::vector<Json>& events) {
  Reply r;
  r.bytes = kube_capture("watch-pvcs.headers.txt");
  for (const Json& e : events) {
    const std::string line = e.dump() + "\n";
    char size[32];
    std::snprintf(size, sizeof size, "%zx", line.size());
    r.bytes += std::string(size) + "\r\n" + line + "\r\n";
  }
  r.bytes += "0\r\n\r\n";
  return r;
}

// event wraps an object in the watch envelope, as the captured watch-pvcs.ndjson lines are.
Json event(const std::string& type, const Json& object) {
  Json e = Json::object();
  e["type"] = type;
  e["object"] = object;
  return e;
}

// pvc_named returns the captured list item `name` in ml-prod.
Json pvc_named(const std::string& name) {
  const Json list = parse(kube_capture("list-pvcs.json"));
  for (const Json& item : list["items"]) {
    if (item["metadata"]["name"] == name && item["metadata"]["namespace"] == "ml-prod") {
      return item;
    }
  }
  FAIL("no captured claim " << name);
  return Json();
}

struct ClusterStack {
  TempDir tmp;
  KeyPair team = make_key(tmp / "keys", "team");
  fs::path pvc = tmp / "pvc";
  ReplayServer kube;
  ServerConfig config;
  std::shared_ptr<Metrics> metrics = std::make_shared<Metrics>();
  log::Logger logger{stderr, log::Level::kError};
  std::unique_ptr<Webhook> webhook;
  std::unique_ptr<Server> server;

  explicit ClusterStack(const std::string& match) {
    kube.hold_for_routes(true);  // a watch waits for the next event the test scripts
    // The pod mounts subPath llama-3-8b in "server" and the whole claim in init "warm": both signed.
    write_model(pvc / "llama-3-8b", 1);
    sign(pvc / "llama-3-8b", team);
    write_file(pvc / "README.md", "shared model volume\n");
    sign(pvc, team);
    write_file(tmp / "policies" / "serving.yaml",
               replace_all(replace_all(kPolicy, "@ROOT@", pvc.string()), "@MATCH@", match));
    fs::copy(tmp / "keys", tmp / "policies" / "keys", fs::copy_options::recursive);
    REQUIRE(run({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", (tmp / "tls.key").string(), "-out", (tmp / "tls.crt").string(), "-subj", "/CN=localhost",
                 "-days", "2", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"})
                .exit_code == 0);
    config.address = "127.0.0.1";
    config.port = 0;
    config.tls_cert_file = tmp / "tls.crt";
    config.tls_key_file = tmp / "tls.key";
    config.policies = {tmp / "policies"};
    config.log_level = log::Level::kError;
    config.worker_threads = 4;
    config.settle_interval = std::chrono::seconds(0);
    config.revalidate_window = std::chrono::milliseconds(0);
    config.cluster_state.enabled = true;
    config.cluster_state.kubeconfig = write_kubeconfig(tmp.path(), kube.port(), test_pki().ca_pem, "replay-token");
  }

  // script_lists answers the three informers' first lists with the captures (claims: `pvcs`).
  void script_lists(const std::string& pvcs = kube_capture("list-pvcs.json")) {
    kube.add(Route{"GET", kPvcs, {{"limit", "500"}}, {"watch"}, chunked_reply("list-pvcs.headers.txt", pvcs)});
    kube.add(Route{"GET", kPvs, {{"limit", "500"}}, {"watch"}, vector_reply("list-pvs")});
    kube.add(Route{"GET", kNamespaces, {{"limit", "500"}}, {"watch"}, vector_reply("list-namespaces")});
  }

  void start() {
    auto w = Webhook::create(config, metrics);
    INFO((w.ok() ? "" : w.error().message));
    REQUIRE(w.ok());
    webhook = std::move(w).value();
    Webhook* wh = webhook.get();
    ServerHandlers h{[wh](std::string_view body) { return wh->validate(body); }, [wh] { return wh->readiness(); }};
    auto s = Server::start(config, std::move(h), metrics, logger);
    INFO((s.ok() ? "" : s.error().message));
    REQUIRE(s.ok());
    server = std::move(s).value();
  }

  // wait_watch waits until a watch of `path` from resourceVersion `rv` was requested: the informer
  // had applied every event before it by then (the server answers it only when scripted).
  void wait_watch(const std::string& path, const std::string& rv) {
    for (;;) {
      const auto reqs = kube.requests();
      for (const auto& r : reqs) {
        auto v = r.query.find("resourceVersion");
        if (r.path == path && r.query.count("watch") != 0 && v != r.query.end() && v->second == rv) {
          return;
        }
      }
      REQUIRE(kube.wait_requests(reqs.size() + 1) > reqs.size());  // bounded: 20 s without a request fails
    }
  }

  void wait_synced() {
    wait_watch(kPvcs, "374");
    wait_watch(kPvs, "374");
    wait_watch(kNamespaces, "374");
  }

  std::unique_ptr<httplib::SSLClient> client() {
    auto c = std::make_unique<httplib::SSLClient>("127.0.0.1", server->port());
    c->set_ca_cert_path((tmp / "tls.crt").string().c_str());
    c->enable_server_certificate_verification(true);
    c->set_read_timeout(30, 0);
    return c;
  }

  // review posts the captured Pod request, moved to namespace `ns` mounting claim `claim`.
  Json review(const std::string& ns, const std::string& claim = "models") {
    Json req = parse(read_file(vectors_dir() / "admission" / "pod-create-llm-server.json"));
    req["request"]["namespace"] = ns;
    req["request"]["object"]["metadata"]["namespace"] = ns;
    for (Json& v : req["request"]["object"]["spec"]["volumes"]) {
      if (v.contains("persistentVolumeClaim")) {
        v["persistentVolumeClaim"]["claimName"] = claim;
      }
    }
    auto res = client()->Post("/validate", req.dump(), "application/json");
    REQUIRE(res);
    REQUIRE(res->status == 200);
    return parse(res->body)["response"];
  }

  std::string reason(const Json& resp) {
    return resp["allowed"] == true ? "allowed" : resp["auditAnnotations"]["reason"].get<std::string>();
  }
};

const std::string kEnforceSelector = R"({namespaceSelector: {matchLabels: {modelgate.dev/enforce: "true"}}})";

}  // namespace

TEST_CASE("a claim named like the model store but bound to another volume is denied through the real server",
          "[integration]") {
  ClusterStack s(kEnforceSelector);
  // Derived: the captured claim list with ml-prod/models' spec.volumeName changed from
  // "models-ro-pv" to "scratch-pv" (a user's own claim called "models" on a volume they control).
  Json pvcs = parse(kube_capture("list-pvcs.json"));
  for (Json& item : pvcs["items"]) {
    if (item["metadata"]["name"] == "models" && item["metadata"]["namespace"] == "ml-prod") {
      item["spec"]["volumeName"] = "scratch-pv";
    }
  }
  s.script_lists(pvcs.dump());
  s.start();
  s.wait_synced();
  Json resp = s.review("ml-prod");
  INFO(resp.dump());
  CHECK(resp["allowed"] == false);
  CHECK(s.reason(resp) == "pvc.volume_mismatch");
  const std::string msg = resp["status"]["message"];
  CHECK_THAT(msg, Catch::StartsWith("volume \"weights\" violates policy \"serving\":\n  - claim-binding: model volume "
                                    "\"weights\" (pvc \"models\", source \"models\"): claim \"models\" in namespace "
                                    "\"ml-prod\" is bound to volume \"scratch-pv\", which does not match "
                                    "\"^models-ro-pv$\"; mount a claim bound to the model store"));
  // The same pod on the captured claim (bound both ways to models-ro-pv) is judged on its model.
  ClusterStack good(kEnforceSelector);
  good.script_lists();
  good.start();
  good.wait_synced();
  Json ok = good.review("ml-prod");
  INFO(ok.dump());
  CHECK(ok["allowed"] == true);
}

TEST_CASE("an unbound claim is denied, and before the caches sync /readyz is not ready and the pod is denied",
          "[integration]") {
  ClusterStack s(R"({namespaces: ["team-a"]})");
  s.start();
  // Nothing scripted yet: the informers' lists wait, the replica must not judge blind.
  auto c = s.client();
  auto ready = c->Get("/readyz");
  REQUIRE(ready);
  CHECK(ready->status == 503);
  CHECK_THAT(ready->body, Catch::Contains("cluster: not synced"));
  Json blind = s.review("team-a");
  CHECK(blind["allowed"] == false);
  CHECK(s.reason(blind) == "cluster.not_synced");
  s.script_lists();
  s.wait_synced();
  ready = c->Get("/readyz");
  REQUIRE(ready);
  CHECK(ready->status == 200);
  CHECK_THAT(ready->body, Catch::Contains("cluster: synced (pvc 3, pv 3, namespaces 7)"));
  // team-a/models is Pending in the captures (storageClassName "nonexistent").
  Json resp = s.review("team-a");
  INFO(resp.dump());
  CHECK(resp["allowed"] == false);
  CHECK(s.reason(resp) == "pvc.not_bound");
  CHECK_THAT(resp["status"]["message"].get<std::string>(),
             Catch::Contains("claim \"models\" in namespace \"team-a\" is not bound (phase \"Pending\")"));
  auto metrics = c->Get("/metrics");
  REQUIRE(metrics);
  CHECK_THAT(metrics->body, Catch::Contains("modelgate_kube_cache_objects{resource=\"persistentvolumeclaims\"} 3"));
  CHECK_THAT(metrics->body, Catch::Contains("modelgate_kube_cache_objects{resource=\"namespaces\"} 7"));
  CHECK_THAT(metrics->body, Catch::Contains("modelgate_kube_cache_synced{resource=\"persistentvolumes\"} 1"));
  CHECK_THAT(metrics->body, Catch::Contains("modelgate_kube_relists_total{resource=\"persistentvolumeclaims\"} 0"));
}

TEST_CASE("a claim deleted and recreated on another volume while the server runs is decided anew after one watch "
          "event each",
          "[integration]") {
  ClusterStack s(kEnforceSelector);
  s.script_lists();
  s.start();
  s.wait_synced();
  CHECK(s.reason(s.review("ml-prod")) == "allowed");
  // DELETED: the captured claim object itself (resourceVersion 343), as a watch event.
  const Json models = pvc_named("models");
  s.kube.add(Route{"GET", kPvcs, {{"watch", "1"}, {"resourceVersion", "374"}}, {}, watch_reply({event("DELETED", models)})});
  s.wait_watch(kPvcs, "343");  // the informer applied the event and watches on
  Json gone = s.review("ml-prod");
  INFO(gone.dump());
  CHECK(s.reason(gone) == "pvc.unknown");
  // ADDED: recreated under the same name by someone else. Derived from the captured object: a new
  // metadata.uid and resourceVersion "390", and spec.volumeName "scratch-pv".
  Json recreated = models;
  recreated["metadata"]["uid"] = "7f3c1e52-0000-4000-8000-000000000390";
  recreated["metadata"]["resourceVersion"] = "390";
  recreated["spec"]["volumeName"] = "scratch-pv";
  s.kube.add(Route{"GET", kPvcs, {{"watch", "1"}, {"resourceVersion", "343"}}, {}, watch_reply({event("ADDED", recreated)})});
  s.wait_watch(kPvcs, "390");
  Json wrong = s.review("ml-prod");
  INFO(wrong.dump());
  CHECK(s.reason(wrong) == "pvc.volume_mismatch");
  // Recreated again with the captured object under a new uid: the volume's claimRef still names the
  // original uid, so the binding is not proven until the binder rebinds it.
  Json again = models;
  again["metadata"]["uid"] = "7f3c1e52-0000-4000-8000-000000000391";
  again["metadata"]["resourceVersion"] = "391";
  s.kube.add(Route{"GET", kPvcs, {{"watch", "1"}, {"resourceVersion", "390"}}, {}, watch_reply({event("MODIFIED", again)})});
  s.wait_watch(kPvcs, "391");
  CHECK(s.reason(s.review("ml-prod")) == "pv.bound_elsewhere");
}

TEST_CASE("a namespace whose labels change leaves and enters the policy's namespaceSelector", "[integration]") {
  ClusterStack s(kEnforceSelector);
  s.script_lists();
  s.start();
  s.wait_synced();
  // Claim "other" is bound to scratch-pv: denied wherever the policy governs the namespace.
  CHECK(s.reason(s.review("ml-prod", "other")) == "pvc.volume_mismatch");
  // Derived from get-namespace-ml-prod.json: label modelgate.dev/enforce removed, resourceVersion
  // "380" (the admin takes the namespace out of enforcement).
  const Json ns = parse(kube_capture("get-namespace-ml-prod.json"));
  Json unlabelled = ns;
  unlabelled["metadata"]["labels"].erase("modelgate.dev/enforce");
  unlabelled["metadata"]["resourceVersion"] = "380";
  s.kube.add(Route{"GET", kNamespaces, {{"watch", "1"}, {"resourceVersion", "374"}}, {},
                   watch_reply({event("MODIFIED", unlabelled)})});
  s.wait_watch(kNamespaces, "380");
  Json left = s.review("ml-prod", "other");
  INFO(left.dump());
  CHECK(left["allowed"] == true);
  // The captured namespace again (labelled), resourceVersion "381": enforcement is back.
  Json relabelled = ns;
  relabelled["metadata"]["resourceVersion"] = "381";
  s.kube.add(Route{"GET", kNamespaces, {{"watch", "1"}, {"resourceVersion", "380"}}, {},
                   watch_reply({event("MODIFIED", relabelled)})});
  s.wait_watch(kNamespaces, "381");
  CHECK(s.reason(s.review("ml-prod", "other")) == "pvc.volume_mismatch");
}

TEST_CASE("an ephemeral volume in a governed pod is denied unless the policy admits the kind", "[integration]") {
  ClusterStack s(kEnforceSelector);
  s.script_lists();
  s.start();
  s.wait_synced();
  // The captured Pod request with its claim volume turned into a generic ephemeral volume whose
  // template pre-binds the model store's volume (the claim is created only after admission).
  Json req = parse(read_file(vectors_dir() / "admission" / "pod-create-llm-server.json"));
  req["request"]["namespace"] = "ml-prod";
  for (Json& v : req["request"]["object"]["spec"]["volumes"]) {
    if (v.contains("persistentVolumeClaim")) {
      v.erase("persistentVolumeClaim");
      v["ephemeral"] = Json::parse(
          R"({"volumeClaimTemplate": {"spec": {"accessModes": ["ReadOnlyMany"], "volumeName": "models-ro-pv",
              "storageClassName": "", "resources": {"requests": {"storage": "500Gi"}}}}})");
    }
  }
  auto res = s.client()->Post("/validate", req.dump(), "application/json");
  REQUIRE(res);
  Json resp = parse(res->body)["response"];
  INFO(resp.dump());
  CHECK(resp["allowed"] == false);
  CHECK(s.reason(resp) == "volume.unclaimed");
  CHECK_THAT(resp["status"]["message"].get<std::string>(), Catch::Contains("kind \"ephemeral\")"));
}
