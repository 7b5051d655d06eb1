// gate_test.cpp: "Close the gate" (#12) through the real server over TLS. Each door an attacker
// used is tried with a real apiserver's Pod request (pod-create-llm-server.json), changed only
// where the door needs it (each change is written next to the test), against a policy with a
// claim, a node cache (hostPath) and an NFS export. The legitimate respellings stay admitted.
#include <catch2/catch.hpp>

#include <string>

#include "test_support.h"
#include "webhook_stack.h"

namespace {

using namespace modelgate;
using namespace modelgate::testing;
using namespace modelgate::testing::integration;

const char* kGatePolicy = R"(apiVersion: modelgate.dev/v1alpha1
kind: ModelPolicy
metadata: {name: serving}
spec:
  match: {namespaces: ["ml-serving"]}
  sources:
  - {name: models, pvc: {claimName: "^models$", volumeName: "^models-ro-pv$"}, root: @ROOT@}
  - {name: cache, hostPath: {pathPrefix: /var/lib/model-cache}, root: @CACHE@}
  - {name: nas, nfs: {servers: [nas.acme.internal, 10.0.0.5], path: /exports/models}, root: @NAS@}
  trust:
    signers:
    - {name: team, publicKey: keys/team.pub}
    reviewers:
    - {name: leads, publicKeys: keys/leads/}
  require:
    signature: {signers: [team]}
    reviews: {minApprovals: 1, from: [leads]}
  breakGlass: {allowed: true, allowedGroups: [ml-oncall]}
)";

const std::string kShard = "model-00001-of-00002.safetensors";

// GateStack: the claim as in every integration test, plus a good and a tampered model in the node
// cache and on the NFS export.
struct GateStack : Stack {
  fs::path cache = tmp / "cache";
  fs::path nas = tmp / "nas";
  GateStack() {
    for (const fs::path& store : {cache, nas}) {
      for (const char* m : {"good", "tampered"}) {
        write_model(store / m, 7);
        sign(store / m, team);
        approve(store / m);
      }
      flip_byte(store / "tampered" / kShard, 10, 0x20);
    }
    write_file(tmp / "policies" / "serving.yaml",
               replace_all(replace_all(replace_all(kGatePolicy, "@ROOT@", pvc.string()), "@CACHE@", cache.string()),
                           "@NAS@", nas.string()));
    start();
  }
};

// pod is the real Pod request; spec() is its pod spec to change.
struct Pod {
  Json req = fixture("pod-create-llm-server.json");
  Json& spec() { return req["request"]["object"]["spec"]; }
  Json& server() { return spec()["containers"][0]; }
  // mount adds volume `volume` to the pod and mounts it in the server container at `path`.
  void mount(const Json& volume, const std::string& path, const std::string& sub_path = "") {
    spec()["volumes"].push_back(volume);
    Json m = {{"name", volume["name"]}, {"mountPath", path}, {"readOnly", true}};
    if (!sub_path.empty()) {
      m["subPath"] = sub_path;
    }
    server()["volumeMounts"].push_back(m);
  }
};

std::string message(const Json& resp) { return resp["status"].value("message", ""); }

}  // namespace

TEST_CASE("door 1: the node cache or NFS export written another way is claimed, so tampering is found",
          "[integration][gate]") {
  GateStack s;
  // Change: a hostPath volume (respelled) or NFS volume (another server spelling, the parent
  // export plus a subPath) mounted beside the claim.
  const std::vector<std::pair<Json, std::string>> tampered = {
      {{{"name", "m"}, {"hostPath", {{"path", "/var/lib//model-cache/tampered"}}}}, ""},
      {{{"name", "m"}, {"hostPath", {{"path", "/var/lib/./model-cache/tampered/"}}}}, ""},
      {{{"name", "m"}, {"hostPath", {{"path", "//var/lib"}}}}, "model-cache/tampered"},
      {{{"name", "m"}, {"hostPath", {{"path", "/"}}}}, "var/lib/model-cache/tampered"},
      {{{"name", "m"}, {"nfs", {{"server", "NAS.acme.internal."}, {"path", "/exports//models/tampered"}}}}, ""},
      {{{"name", "m"}, {"nfs", {{"server", "10.0.0.5"}, {"path", "/exports"}}}}, "models/tampered"},
  };
  for (const auto& [vol, sub] : tampered) {
    Pod p;
    p.mount(vol, "/models/extra", sub);
    Json resp = s.review(p.req);
    INFO(vol.dump() << " subPath " << sub << ": " << resp.dump());
    CHECK(resp["allowed"] == false);
    CHECK_THAT(message(resp), Catch::StartsWith("model \"tampered\" (volume \"m\""));
    CHECK_THAT(message(resp), Catch::Contains("file \"" + kShard + "\" does not match the signed digest"));
    // The same spelling of the good model is admitted.
    Json good_vol = Json::parse(replace_all(vol.dump(), "tampered", "good"));
    Pod g;
    g.mount(good_vol, "/models/extra", replace_all(sub, "tampered", "good"));
    CHECK(s.review(g.req)["allowed"] == true);
  }
}

TEST_CASE("door 1: a mount of the store's parent is refused with what to mount instead", "[integration][gate]") {
  GateStack s;
  Pod p;  // Change: the whole /var/lib of the node mounted.
  p.mount({{"name", "m"}, {"hostPath", {{"path", "/var/lib"}}}}, "/host");
  Json resp = s.review(p.req);
  CHECK(resp["allowed"] == false);
  CHECK_THAT(message(resp), Catch::StartsWith("volume \"m\" violates policy \"serving\":\n  - mount: container "
                                              "\"server\" mounts volume \"m\" at /var/lib, a parent of a model source"));
  CHECK(resp["auditAnnotations"]["reason"] == "mount.exposes_source");
}

TEST_CASE("door 2: volumes no source claims are refused, naming volume and kind", "[integration][gate]") {
  GateStack s;
  const std::vector<std::pair<Json, std::string>> doors = {
      {{{"name", "m"}, {"persistentVolumeClaim", {{"claimName", "my-models"}}}}, "persistentVolumeClaim"},
      {{{"name", "m"}, {"image", {{"reference", "registry.example.com/m@sha256:" + std::string(64, 'a')}}}}, "image"},
      {{{"name", "m"}, {"ephemeral", {{"volumeClaimTemplate", {{"spec", {{"accessModes", {"ReadWriteOnce"}}}}}}}}},
       "ephemeral"},
      {{{"name", "m"}, {"csi", {{"driver", "fuse.example.com"}}}}, "csi"},
      {{{"name", "m"}, {"nfs", {{"server", "other-nas"}, {"path", "/exports/models/good"}}}}, "nfs"},
      {{{"name", "m"}, {"hostPath", {{"path", "/opt/models/good"}}}}, "hostPath"},
  };
  for (const auto& [vol, kind] : doors) {
    Pod p;  // Change: one more volume, mounted in the server container.
    p.mount(vol, "/models/extra");
    Json resp = s.review(p.req);
    INFO(resp.dump());
    CHECK(resp["allowed"] == false);
    CHECK_THAT(message(resp), Catch::StartsWith("volume \"m\" violates policy \"serving\":\n  - mount: volume \"m\""));
    CHECK_THAT(message(resp), Catch::Contains("kind \"" + kind + "\") is not a model source of this policy"));
    CHECK(resp["auditAnnotations"]["reason"] == "volume.unclaimed");
  }
}

TEST_CASE("door 3: an emptyDir file mounted over a verified shard is refused", "[integration][gate]") {
  GateStack s;
  Pod p;  // Change: the pod's own emptyDir "cache" also mounted over the first shard.
  p.server()["volumeMounts"].push_back(
      {{"name", "cache"}, {"mountPath", "/models/llama/" + kShard}, {"subPath", "shard"}});
  Json resp = s.review(p.req);
  CHECK(resp["allowed"] == false);
  CHECK_THAT(message(resp), Catch::Contains("mounts volume \"cache\" at /models/llama/" + kShard +
                                            ", over model \"llama-3-8b\" mounted at /models/llama"));
  CHECK(resp["auditAnnotations"]["reason"] == "mount.overlay");
}

TEST_CASE("door 5: break-glass is honoured only from the groups the policy names, and controllers carry it",
          "[integration][gate]") {
  GateStack s;
  flip_byte(s.pvc / "llama-3-8b" / kShard, 100, 0x40);
  Pod p;  // Change: the annotation, and who sends the request.
  p.req["request"]["object"]["metadata"]["annotations"] = {{"modelgate.dev/break-glass", "INC-1234"}};
  // The real request's user is a cluster admin (system:masters), but not in ml-oncall.
  Json refused = s.review(p.req);
  CHECK(refused["allowed"] == false);
  CHECK_THAT(message(refused), Catch::StartsWith("break-glass annotation \"modelgate.dev/break-glass\" violates "
                                                 "policy \"serving\":\n  - break-glass: user \"e2e-admin\" may not "
                                                 "override this policy"));
  p.req["request"]["userInfo"]["groups"].push_back("ml-oncall");
  Json honoured = s.review(p.req);
  CHECK(honoured["allowed"] == true);
  CHECK(honoured["auditAnnotations"]["break-glass"] == "serving");
  CHECK(honoured["auditAnnotations"]["break-glass-user"] == "e2e-admin");
  CHECK(honoured["auditAnnotations"]["break-glass-reason"] == "INC-1234");
  // The replicaset controller creating the pod from an admitted template keeps the override.
  p.req["request"]["userInfo"] = {{"username", "system:serviceaccount:kube-system:replicaset-controller"},
                                  {"groups", {"system:serviceaccounts", "system:authenticated"}}};
  CHECK(s.review(p.req)["allowed"] == true);
  // An empty reason is no reason, whoever writes it.
  p.req["request"]["userInfo"]["groups"] = {"ml-oncall"};
  p.req["request"]["userInfo"]["username"] = "oncall";
  p.req["request"]["object"]["metadata"]["annotations"]["modelgate.dev/break-glass"] = "";
  CHECK_THAT(message(s.review(p.req)), Catch::Contains("needs a reason as its value"));
}

TEST_CASE("#17 item 3: 20,000 mounts, or 4,000 distinct subPaths, are refused over TLS naming the cap",
          "[integration][gate]") {
  GateStack s;
  // Change: the server container (and copies of it) mount the claim again and again with distinct,
  // nonexistent subPaths. Before, 20,000 held a worker for 32 s; the deadline did not bound it.
  auto many = [](int containers, int per) {
    Pod p;
    Json server = p.server();
    p.spec()["containers"] = Json::array();
    for (int c = 0; c < containers; ++c) {
      Json one = server;
      one["name"] = "server-" + std::to_string(c);
      for (int i = 0; i < per; ++i) {
        one["volumeMounts"].push_back({{"name", "weights"}, {"readOnly", true},
                                       {"mountPath", "/extra/" + std::to_string(i)},
                                       {"subPath", "missing-" + std::to_string(c * per + i)}});
      }
      p.spec()["containers"].push_back(std::move(one));
    }
    return p;
  };
  Json over = s.review(many(20, 1000).req);
  CHECK(over["allowed"] == false);
  CHECK_THAT(message(over), Catch::Contains("too many volume mounts"));
  CHECK_THAT(message(over), Catch::Contains("> 4096"));
  Json models = s.review(many(4, 1000).req);
  CHECK(models["allowed"] == false);
  CHECK(models["auditAnnotations"]["reasons"].get<std::string>().find("volume.too_many_models") != std::string::npos);
  CHECK_THAT(message(models), Catch::Contains("more than 64"));
  // The server is still answering the ordinary pod at once.
  CHECK(s.review(Pod().req)["allowed"] == true);
}
