// model_refs_test.cpp: "Close the gate" (#12) at the resolver: every mount of a matched pod is
// claimed by a source at its effective path, admitted as "not a model", or a problem that denies
// the pod. Pods are written as YAML and typed by the webhook's own extract_workload; policies are
// parsed from YAML. Paths are canonicalised as coreutils' `realpath -m -s` does (the oracle).
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "admission/model_refs.h"
#include "admission/review_input.h"
#include "admission/workload.h"
#include "base/limits.h"
#include "cluster_fixture.h"
#include "policy/evidence_fixtures.h"
#include "cluster_fixture.h"
#include "test_support.h"

namespace {

using namespace modelgate;
using namespace modelgate::admission;
using namespace modelgate::testing;

// The policy every door is tried against: a claim, a node cache, an NFS export by two names.
const char* kGatePolicy = R"(apiVersion: modelgate.dev/v1alpha1
kind: ModelPolicy
metadata: {name: gate}
spec:
  match: {namespaces: [ml]}
  sources:
  - {name: claim, pvc: {claimName: "^models$", volumeName: "^models-ro-pv$"}, root: /srv/claim}
  - {name: cache, hostPath: {pathPrefix: /var/lib/model-cache}, root: /srv/cache, requireReadOnly: false}
  - {name: nas, nfs: {servers: [nas.acme.internal, 10.0.0.5], path: /exports/models}, root: /srv/nas}
  - {name: bucket, csi: {driver: gcsfuse.csi.storage.gke.io, volumeAttributes: {bucketName: acme}}, root: /srv/gcs}
  trust: {signers: [{name: k, publicKey: k.pub}]}
  require: {signature: {signers: [k]}}
@EXTRA@)";

struct Gate {
  TempDir tmp;
  std::shared_ptr<const policy::TrustedPolicySet> set;
  // The captured claims and volumes moved to namespace ml: claim "models" is bound both ways to
  // "models-ro-pv", so the claim-binding check passes and these tests see only mount problems.
  std::shared_ptr<const StaticClusterState> cluster;
  explicit Gate(const std::string& extra = "") {
    evidence::make_key(tmp.path(), "k");
    set = evidence::load_policies(tmp.path(), evidence::replace_all(kGatePolicy, "@EXTRA@", extra));
    auto st = load_cluster_state({write_cluster_state(tmp.path(), "ml")});
    REQUIRE(st.ok());
    cluster = *st;
  }
  // refs types `spec` (a pod spec in YAML, indented two spaces) and resolves it in namespace ml.
  ModelRefs refs(const std::string& spec) const {
    auto reqs = parse_review_input("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ml}\nspec:\n" + spec,
                                   "pod.yaml", "ml");
    INFO(spec);
    REQUIRE(reqs.ok());
    auto w = extract_workload(reqs->front().kind, reqs->front().object);
    INFO((w.ok() ? "" : w.error().message));
    REQUIRE(w.ok());
    REQUIRE(w->pod);
    return find_model_refs(*w->pod, "ml", *set, cluster.get());
  }
};

std::vector<std::string> reasons(const ModelRefs& r) {
  std::vector<std::string> out;
  for (const RefProblem& p : r.problems) {
    out.push_back(p.reason);
  }
  return out;
}

// one_mount is a pod whose container "c" mounts volume "v" (`volume` is its source, YAML flow).
std::string one_mount(const std::string& volume, const std::string& sub_path = "", bool read_only = true) {
  return "  containers:\n  - name: c\n    image: x\n    volumeMounts:\n    - {name: v, mountPath: /models/m" +
         (sub_path.empty() ? std::string() : ", subPath: \"" + sub_path + "\"") +
         (read_only ? ", readOnly: true" : "") + "}\n  volumes:\n  - {name: v, " + volume + "}\n";
}

}  // namespace

TEST_CASE("effective paths collapse // and /./ and a trailing / exactly as realpath -m -s does, and refuse ..",
          "[admission][gate]") {
  std::ifstream in(test_data_dir() / "gate" / "effective-paths.txt");
  REQUIRE(in);
  std::string line;
  std::size_t n = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') {
      continue;
    }
    std::vector<std::string> f;
    std::stringstream ss(line);
    std::string part;
    while (std::getline(ss, part, '\t')) {
      f.push_back(part);
    }
    REQUIRE(f.size() == 3);
    ++n;
    INFO(line);
    auto got = effective_path(f[0], f[1]);
    if (f[2] == "refused") {
      CHECK_FALSE(got);
      continue;
    }
    REQUIRE(got);
    const std::string joined = f[1].empty() ? f[0] : f[0] + "/" + f[1];
    auto oracle = run({"realpath", "-m", "-s", joined});
    REQUIRE(oracle.exit_code == 0);
    CHECK(*got + "\n" == oracle.out);
  }
  CHECK(n == 19);
}

// --- Door 1: path respelling -------------------------------------------------------------------

TEST_CASE("a hostPath written with //, /./, a leading // or a trailing / is claimed by its source",
          "[admission][gate]") {
  Gate g;
  for (const char* path : {"/var/lib//model-cache/m", "/var/lib/./model-cache/m", "//var/lib/model-cache/m",
                           "/var/lib/model-cache/m/", "/var/lib/model-cache/./m//"}) {
    INFO(path);
    ModelRefs r = g.refs(one_mount(std::string("hostPath: {path: \"") + path + "\"}"));
    CHECK(r.problems.empty());
    REQUIRE(r.refs.size() == 1);
    CHECK(r.refs[0].source->name.value == "cache");
    CHECK(r.refs[0].path == "m");
    CHECK(r.refs[0].dir == "/srv/cache/m");
  }
}

TEST_CASE("a parent directory, or /, plus a subPath into the store is claimed at the subPath's model",
          "[admission][gate]") {
  Gate g;
  ModelRefs a = g.refs(one_mount("hostPath: {path: /var/lib}", "model-cache/m"));
  REQUIRE(a.refs.size() == 1);
  CHECK(a.refs[0].dir == "/srv/cache/m");
  ModelRefs b = g.refs(one_mount("hostPath: {path: /}", "var//lib/./model-cache/m/"));
  REQUIRE(b.refs.size() == 1);
  CHECK(b.refs[0].dir == "/srv/cache/m");
  CHECK(a.problems.empty());
  CHECK(b.problems.empty());
}

TEST_CASE("a mount of a parent of the store exposes unverified models and is refused with what to mount instead",
          "[admission][gate]") {
  Gate g;
  for (const std::string& vol : {std::string("hostPath: {path: /var/lib}"), std::string("hostPath: {path: /}"),
                                 std::string("nfs: {server: nas.acme.internal, path: /exports}")}) {
    INFO(vol);
    ModelRefs r = g.refs(one_mount(vol));
    CHECK(r.refs.empty());
    REQUIRE(reasons(r) == std::vector<std::string>{"mount.exposes_source"});
    CHECK_THAT(r.problems[0].message, Catch::Contains("a parent of a model source; mount the model directory itself"));
  }
  // A subPath that stays above the store is the same door.
  ModelRefs r = g.refs(one_mount("hostPath: {path: /var}", "lib"));
  CHECK(reasons(r) == std::vector<std::string>{"mount.exposes_source"});
}

TEST_CASE("an NFS server matches in any case, without its trailing dot, or by a listed alias; the path is respelled freely",
          "[admission][gate]") {
  Gate g;
  for (const char* server : {"nas.acme.internal", "NAS.ACME.INTERNAL", "Nas.Acme.Internal.", "10.0.0.5"}) {
    for (const auto& [path, sub] : std::vector<std::pair<std::string, std::string>>{
             {"/exports/models/m", ""}, {"/exports//models/m", ""}, {"/exports", "models/m"}, {"/exports/models", "./m/"}}) {
      INFO(server << " " << path << " " << sub);
      ModelRefs r = g.refs(one_mount(std::string("nfs: {server: \"") + server + "\", path: \"" + path + "\"}", sub));
      CHECK(r.problems.empty());
      REQUIRE(r.refs.size() == 1);
      CHECK(r.refs[0].dir == "/srv/nas/m");
    }
  }
}

TEST_CASE("a pvc subPath respelled is still the same model", "[admission][gate]") {
  Gate g;
  for (const char* sub : {"llama", "./llama", "llama/", "llama//", "./llama/."}) {
    ModelRefs r = g.refs(one_mount("persistentVolumeClaim: {claimName: models}", sub));
    REQUIRE(r.refs.size() == 1);
    CHECK(r.refs[0].dir == "/srv/claim/llama");
  }
  ModelRefs bad = g.refs(one_mount("persistentVolumeClaim: {claimName: models}", "llama/../other"));
  CHECK(reasons(bad) == std::vector<std::string>{"mount.bad_sub_path"});
}

// --- Door 2: volumes no source claims ----------------------------------------------------------

TEST_CASE("every volume kind no source claims is refused by default, naming the volume, its kind and the two ways out",
          "[admission][gate]") {
  Gate g;
  const std::vector<std::pair<std::string, std::string>> doors = {
      {"persistentVolumeClaim: {claimName: my-models}", "persistentVolumeClaim"},
      {"ephemeral: {volumeClaimTemplate: {spec: {accessModes: [ReadWriteOnce]}}}", "ephemeral"},
      {"image: {reference: \"registry.example/m@sha256:00\"}", "image"},
      {"csi: {driver: fuse.example.com, volumeAttributes: {bucket: models}}", "csi"},
      {"nfs: {server: other-nas, path: /exports/models/m}", "nfs"},
      {"hostPath: {path: /var/lib/other/m}", "hostPath"},
      {"iscsi: {targetPortal: \"10.0.0.9:3260\", iqn: iqn.2001-04.com.example:m, lun: 0}", "iscsi"},
      {"gitRepo: {repository: \"https://example.com/m.git\"}", "gitRepo"},
      // A kind this build does not know (a future Kubernetes field) is model-capable.
      {"quantumStorage: {bucket: m}", "quantumStorage"},
  };
  for (const auto& [vol, kind] : doors) {
    INFO(vol);
    ModelRefs r = g.refs(one_mount(vol));
    CHECK(r.refs.empty());
    REQUIRE(reasons(r) == std::vector<std::string>{"volume.unclaimed"});
    CHECK(r.problems[0].volume == "v");
    CHECK_THAT(r.problems[0].message, Catch::Contains("kind \"" + kind + "\""));
    CHECK_THAT(r.problems[0].message,
               Catch::EndsWith("add a source that claims it, or add \"" + kind + "\" to spec.otherVolumes.allow"));
  }
}

TEST_CASE("the default not-a-model kinds pass, and otherVolumes.allow replaces the default list", "[admission][gate]") {
  Gate g;
  for (const char* vol : {"configMap: {name: c}", "secret: {secretName: s}", "projected: {sources: []}",
                          "downwardAPI: {items: []}", "emptyDir: {}"}) {
    INFO(vol);
    ModelRefs r = g.refs(one_mount(vol));
    CHECK(r.problems.empty());
    CHECK(r.refs.empty());
  }
  Gate csi("  otherVolumes: {allow: [csi, configMap]}\n");
  CHECK(csi.refs(one_mount("csi: {driver: secrets-store.csi.k8s.io}")).problems.empty());
  CHECK(reasons(csi.refs(one_mount("emptyDir: {}"))) == std::vector<std::string>{"volume.unclaimed"});
}

TEST_CASE("a model-capable volume no container mounts, or one read as a raw block device, is still refused",
          "[admission][gate]") {
  Gate g;
  ModelRefs unmounted = g.refs("  containers: [{name: c, image: x}]\n  volumes:\n  - {name: v, hostPath: {path: /srv/x}}\n");
  CHECK(reasons(unmounted) == std::vector<std::string>{"volume.unclaimed"});
  ModelRefs device = g.refs(
      "  containers:\n  - {name: c, image: x, volumeDevices: [{name: v, devicePath: /dev/xvda}]}\n"
      "  volumes:\n  - {name: v, persistentVolumeClaim: {claimName: models}}\n");
  REQUIRE(reasons(device) == std::vector<std::string>{"mount.bad_path"});
  CHECK_THAT(device.problems[0].message, Catch::Contains("as a raw block device"));
}

// --- Door 3: overlays ----------------------------------------------------------------------------

TEST_CASE("a volume mounted at or under a verified model's mountPath is refused, in any container kind",
          "[admission][gate]") {
  Gate g;
  auto pod = [](const std::string& list, const std::string& over_path) {
    return "  " + list + ":\n  - name: c\n    image: x\n    volumeMounts:\n"
           "    - {name: model, mountPath: /models/m, subPath: llama, readOnly: true}\n"
           "    - {name: swap, mountPath: \"" + over_path + "\", subPath: shard}\n"
           "  volumes:\n  - {name: model, persistentVolumeClaim: {claimName: models}}\n  - {name: swap, emptyDir: {}}\n" +
           (list == "containers" ? std::string() : "  containers: [{name: main, image: x}]\n");
  };
  for (const char* list : {"containers", "initContainers", "ephemeralContainers"}) {
    for (const char* over : {"/models/m/model-00001-of-00002.safetensors", "/models/m", "/models//m/", "/models/m/sub/x"}) {
      INFO(list << " " << over);
      ModelRefs r = g.refs(pod(list, over));
      REQUIRE(reasons(r) == std::vector<std::string>{"mount.overlay"});
      CHECK(r.problems[0].volume == "swap");
      CHECK_THAT(r.problems[0].message, Catch::Contains("over model \"llama\" mounted at /models/m"));
    }
  }
}

TEST_CASE("mounts beside, above or in other containers than a model mount are not overlays", "[admission][gate]") {
  Gate g;
  ModelRefs r = g.refs(
      "  initContainers:\n  - {name: fill, image: x, volumeMounts: [{name: swap, mountPath: /models/m}]}\n"
      "  containers:\n  - name: c\n    image: x\n    volumeMounts:\n"
      "    - {name: swap, mountPath: /models}\n"
      "    - {name: model, mountPath: /models/m, subPath: llama, readOnly: true}\n"
      "    - {name: model, mountPath: /models/m, subPath: ./llama/, readOnly: true}\n"
      "  volumes:\n  - {name: model, persistentVolumeClaim: {claimName: models}}\n  - {name: swap, emptyDir: {}}\n");
  CHECK(r.problems.empty());
  REQUIRE(r.refs.size() == 1);
  // A sibling whose name shares the model path's prefix is beside it, not inside it.
  ModelRefs beside = g.refs(
      "  containers:\n  - name: c\n    image: x\n    volumeMounts:\n"
      "    - {name: model, mountPath: /models/m, subPath: llama, readOnly: true}\n"
      "    - {name: swap, mountPath: /models/mm}\n"
      "  volumes:\n  - {name: model, persistentVolumeClaim: {claimName: models}}\n  - {name: swap, emptyDir: {}}\n");
  CHECK(beside.problems.empty());
  // Two models at one path: the second replaces the first.
  ModelRefs two = g.refs(
      "  containers:\n  - name: c\n    image: x\n    volumeMounts:\n"
      "    - {name: model, mountPath: /models/m, subPath: llama, readOnly: true}\n"
      "    - {name: model, mountPath: /models/m, subPath: other, readOnly: true}\n"
      "  volumes:\n  - {name: model, persistentVolumeClaim: {claimName: models}}\n");
  CHECK(reasons(two) == std::vector<std::string>{"mount.overlay"});
}

TEST_CASE("Bidirectional mount propagation on a model mount is refused", "[admission][gate]") {
  Gate g;
  ModelRefs r = g.refs(
      "  containers:\n  - name: c\n    image: x\n    volumeMounts:\n"
      "    - {name: v, mountPath: /models/m, readOnly: true, mountPropagation: Bidirectional}\n"
      "  volumes:\n  - {name: v, hostPath: {path: /var/lib/model-cache/m}}\n");
  CHECK(reasons(r) == std::vector<std::string>{"mount.propagation"});
}

// --- #17 item 3: a request cannot buy unbounded decision work ------------------------------------

TEST_CASE("4,096 mounts with distinct subPaths yield at most the per-object model cap, then one problem naming it",
          "[admission][gate]") {
  Gate g;
  std::string spec = "  containers:\n";
  for (int c = 0; c < 4; ++c) {
    spec += "  - name: c" + std::to_string(c) + "\n    image: x\n    volumeMounts:\n";
    for (int i = 0; i < 1024; ++i) {
      spec += "    - {name: v, mountPath: /m/" + std::to_string(i) + ", subPath: s" + std::to_string(c * 1024 + i) +
              ", readOnly: true}\n";
    }
  }
  spec += "  volumes:\n  - {name: v, persistentVolumeClaim: {claimName: models}}\n";
  ModelRefs r = g.refs(spec);
  CHECK(r.refs.size() == limits::kMaxModelRefsPerObject);
  REQUIRE(reasons(r) == std::vector<std::string>{"volume.too_many_models"});
  CHECK_THAT(r.problems[0].message, Catch::Contains("more than 64"));
}

TEST_CASE("a pod with more mounts than the cap is refused while typing it, naming the cap", "[admission][gate]") {
  std::string spec = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n";
  for (int c = 0; c < 5; ++c) {
    spec += "  - name: c" + std::to_string(c) + "\n    image: x\n    volumeMounts:\n";
    for (int i = 0; i < 1000; ++i) {
      spec += "    - {name: v, mountPath: /m/" + std::to_string(i) + ", subPath: s" + std::to_string(i) + "}\n";
    }
  }
  spec += "  volumes:\n  - {name: v, persistentVolumeClaim: {claimName: models}}\n";
  auto reqs = parse_review_input(spec, "pod.yaml", "ml");
  REQUIRE(reqs.ok());
  auto w = extract_workload(reqs->front().kind, reqs->front().object);
  REQUIRE_FALSE(w.ok());
  CHECK(w.error().code == Code::kLimit);
  CHECK_THAT(w.error().message, Catch::Contains("4096"));
}

// --- Found by the attacker pass over #12 -------------------------------------------------------

TEST_CASE("in a container that reads a model, a mount inside a writable volume is refused: a link there can redirect it",
          "[admission][gate]") {
  Gate g;
  // An init container puts /work/link -> /models/m into the emptyDir; the deeper mount through the
  // link would land on the verified shard (runc follows links inside the container's root).
  ModelRefs r = g.refs(
      "  containers:\n  - name: c\n    image: x\n    volumeMounts:\n"
      "    - {name: model, mountPath: /models/m, subPath: llama, readOnly: true}\n"
      "    - {name: swap, mountPath: /work}\n"
      "    - {name: swap, mountPath: /work/link/model-00001-of-00002.safetensors, subPath: shard, readOnly: true}\n"
      "  volumes:\n  - {name: model, persistentVolumeClaim: {claimName: models}}\n  - {name: swap, emptyDir: {}}\n");
  REQUIRE(reasons(r) == std::vector<std::string>{"mount.under_writable"});
  CHECK_THAT(r.problems[0].message, Catch::Contains("inside volume \"swap\" mounted at /work, which the pod can write"));
  // The same nesting in a container that reads no model is not this policy's concern.
  ModelRefs none = g.refs(
      "  containers:\n  - name: c\n    image: x\n    volumeMounts:\n"
      "    - {name: swap, mountPath: /work}\n    - {name: swap, mountPath: /work/link/x, subPath: shard}\n"
      "  volumes:\n  - {name: swap, emptyDir: {}}\n");
  CHECK(none.problems.empty());
}

TEST_CASE("a terminationMessagePath at a verified model's path is an overlay", "[admission][gate]") {
  Gate g;
  ModelRefs r = g.refs(
      "  containers:\n  - name: c\n    image: x\n"
      "    terminationMessagePath: /models/m/model-00001-of-00002.safetensors\n    volumeMounts:\n"
      "    - {name: model, mountPath: /models/m, subPath: llama, readOnly: true}\n"
      "  volumes:\n  - {name: model, persistentVolumeClaim: {claimName: models}}\n");
  REQUIRE(reasons(r) == std::vector<std::string>{"mount.overlay"});
  CHECK_THAT(r.problems[0].message, Catch::Contains("mounts its termination message file at /models/m/model-00001"));
}

TEST_CASE("Windows spellings of a path inside a model mount are overlays too", "[admission][gate]") {
  Gate g;
  for (const char* over : {"C:\\\\models\\\\m\\\\tokenizer", "c:/models/m/tokenizer", "/Models/M/tokenizer",
                           "\\\\models\\\\m\\\\tokenizer"}) {
    INFO(over);
    ModelRefs r = g.refs(
        "  containers:\n  - name: c\n    image: x\n    volumeMounts:\n"
        "    - {name: model, mountPath: \"C:\\\\models\\\\m\", subPath: llama, readOnly: true}\n"
        "    - {name: swap, mountPath: \"" + std::string(over) + "\"}\n"
        "  volumes:\n  - {name: model, persistentVolumeClaim: {claimName: models}}\n  - {name: swap, emptyDir: {}}\n");
    CHECK(reasons(r) == std::vector<std::string>{"mount.overlay"});
  }
}

TEST_CASE("a CSI volume is claimed only with exactly the attributes the source lists", "[admission][gate]") {
  Gate g;
  ModelRefs ok = g.refs(one_mount("csi: {driver: gcsfuse.csi.storage.gke.io, volumeAttributes: {bucketName: acme}}",
                                  "llama"));
  REQUIRE(ok.refs.size() == 1);
  CHECK(ok.refs[0].dir == "/srv/gcs/llama");
  // An unlisted driver option (gcsfuse's only-dir) would serve another directory than the one
  // the webhook reads: not claimed, so denied as an unclaimed CSI volume.
  ModelRefs extra = g.refs(one_mount(
      "csi: {driver: gcsfuse.csi.storage.gke.io, volumeAttributes: {bucketName: acme, mountOptions: only-dir=archive}}",
      "llama"));
  CHECK(extra.refs.empty());
  CHECK(reasons(extra) == std::vector<std::string>{"volume.unclaimed"});
}

TEST_CASE("a StatefulSet's claim templates are the claims its replicas mount, not undefined volumes",
          "[admission][gate]") {
  Gate g("  otherVolumes: {allow: [persistentVolumeClaim, configMap]}\n");
  auto reqs = parse_review_input(R"(apiVersion: apps/v1
kind: StatefulSet
metadata: {name: triton, namespace: ml}
spec:
  selector: {matchLabels: {app: t}}
  template:
    metadata: {labels: {app: t}}
    spec:
      containers:
      - name: c
        image: x
        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce]}
)", "sts.yaml", "ml");
  REQUIRE(reqs.ok());
  auto w = extract_workload(reqs->front().kind, reqs->front().object);
  REQUIRE(w.ok());
  REQUIRE(w->pod->volumes.size() == 1);
  const Volume& v = w->pod->volumes[0];
  CHECK(v.source == VolumeSource::kPersistentVolumeClaim);
  CHECK(v.claim_name == "data-triton-0");
  CHECK(v.claim_template);
  // Admitted as a kind the policy allows; before, "the pod does not define" volume "data".
  CHECK(find_model_refs(*w->pod, "ml", *g.set, g.cluster.get()).problems.empty());
  // Without the kind allowed, it is an unclaimed claim like any other.
  Gate strict;
  auto r = find_model_refs(*w->pod, "ml", *strict.set, strict.cluster.get());
  CHECK(reasons(r) == std::vector<std::string>{"volume.unclaimed"});
}
