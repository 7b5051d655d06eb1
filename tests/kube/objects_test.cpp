// objects_test.cpp: the fields modelgate keeps, decoded from real list and get responses.
#include <catch2/catch.hpp>

#include "crypto/json.h"
#include "kube/objects.h"
#include "replay_server.h"
#include "test_support.h"

using namespace modelgate;
using namespace modelgate::kube;
using testing::kube_vector;
using testing::read_file;

namespace {

crypto::Json load(const std::string& name) {
  auto j = crypto::parse_json(read_file(kube_vector(name)), {64u << 20, 64});
  REQUIRE(j.ok());
  return *j;
}

}  // namespace

TEST_CASE("claims from a real list keep namespace, name, uid, phase and volume name") {
  const crypto::Json list = load("list-pvcs.json");
  std::vector<PvcInfo> got;
  for (const auto& item : list["items"]) {
    auto p = PvcInfo::from_json(item);
    REQUIRE(p.ok());
    got.push_back(*p);
  }
  REQUIRE(got.size() == 3);
  CHECK(got[0].key() == "ml-prod/models");
  CHECK(got[0].phase == "Bound");
  CHECK(got[0].volume_name == "models-ro-pv");
  CHECK(got[0].uid == "6eda8234-d7c7-4dc3-977c-abcb467e5bf2");
  CHECK(got[1].volume_name == "scratch-pv");
  CHECK(got[2].key() == "team-a/models");
  CHECK(got[2].phase == "Pending");
  CHECK(got[2].volume_name.empty());
  CHECK_FALSE(got[2].deleting);
}

TEST_CASE("volumes keep their claimRef and their NFS, hostPath or CSI source") {
  auto nfs = PvInfo::from_json(load("get-pv-models-ro-pv.json"));
  REQUIRE(nfs.ok());
  CHECK(nfs->phase == "Bound");
  CHECK(nfs->claim_ns == "ml-prod");
  CHECK(nfs->claim_name == "models");
  CHECK(nfs->claim_uid == "6eda8234-d7c7-4dc3-977c-abcb467e5bf2");
  CHECK(nfs->nfs_server == "nfs.ml.acme.internal");
  CHECK(nfs->nfs_path == "/exports/models");
  auto csi = PvInfo::from_json(load("get-pv-bucket-pv-csi.json"));
  REQUIRE(csi.ok());
  CHECK(csi->phase == "Available");
  CHECK(csi->csi_driver == "gcsfuse.csi.storage.gke.io");
  CHECK(csi->csi_volume_handle == "acme-models");
  CHECK(csi->claim_name.empty());
  const crypto::Json pvs = load("list-pvs.json");
  auto scratch = PvInfo::from_json(pvs["items"][2]);
  REQUIRE(scratch.ok());
  CHECK(scratch->name == "scratch-pv");
  CHECK(scratch->host_path == "/srv/scratch");
}

TEST_CASE("a namespace keeps its labels") {
  auto ns = NamespaceInfo::from_json(load("get-namespace-ml-prod.json"));
  REQUIRE(ns.ok());
  CHECK(ns->name == "ml-prod");
  CHECK(ns->labels.at("modelgate.dev/enforce") == "true");
  CHECK(ns->labels.at("team") == "ml");
}

TEST_CASE("an object of the wrong kind, without a name, or with a name over the bound is refused") {
  crypto::Json pvc = load("get-pvc-ml-prod-models.json");
  CHECK(PvInfo::from_json(pvc).error().code == Code::kMalformed);
  crypto::Json nameless = pvc;
  nameless["metadata"].erase("name");
  CHECK(PvcInfo::from_json(nameless).error().code == Code::kMalformed);
  crypto::Json long_name = pvc;
  long_name["metadata"]["name"] = std::string(300, 'a');
  CHECK(PvcInfo::from_json(long_name).error().code == Code::kLimit);
  crypto::Json ns = load("get-namespace-ml-prod.json");
  for (int i = 0; i < 300; ++i) {
    ns["metadata"]["labels"]["l" + std::to_string(i)] = "v";
  }
  CHECK(NamespaceInfo::from_json(ns).error().code == Code::kLimit);
}
