// kube_cache_bench.cpp: memory of the webhook's cluster caches for 10k PersistentVolumeClaims,
// 10k PersistentVolumes and 1k Namespaces, synced through the real client and informers from a
// loopback HTTPS server replaying paged lists (limit=500, continue tokens). Items are the captured
// apiserver objects (../shared/vectors/kube-api) with names and uids varied. Baseline, same run:
// the same items kept as parsed JSON (what a cache of whole objects would hold).
// Usage: build/bench/kube_cache_bench [pvcs] [namespaces]
#include <malloc.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "admission/cluster_state.h"
#include "replay_server.h"
#include "test_support.h"

using namespace modelgate;
using testing::ReplayServer;
using testing::Route;

namespace {

std::size_t heap_in_use() {
  malloc_trim(0);
  return mallinfo2().uordblks;
}

crypto::Json load(const std::string& name) {
  return crypto::parse_json(testing::read_file(testing::kube_vector(name)), {64u << 20, 64}).value();
}

std::string uid(std::size_t i, char kind) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%c%07zx-0000-4000-8000-%012zx", kind, i, i);
  return buf;
}

// pages serves `items` as a paged list at `path` with the captured list's headers.
std::size_t script_pages(ReplayServer& s, const std::string& path, const std::string& kind, std::vector<crypto::Json>& items) {
  const std::string headers = testing::read_file(testing::kube_vector("list-pvcs.headers.txt"));
  std::size_t bytes = 0;
  const std::size_t pages = (items.size() + 499) / 500;
  for (std::size_t p = 0; p < pages; ++p) {
    crypto::Json list = crypto::Json::object();
    list["kind"] = kind;
    list["apiVersion"] = "v1";
    list["metadata"] = {{"resourceVersion", "1000"}};
    if (p + 1 < pages) {
      list["metadata"]["continue"] = "page-" + std::to_string(p + 1);
    }
    list["items"] = crypto::Json::array();
    for (std::size_t i = p * 500; i < std::min(items.size(), (p + 1) * 500); ++i) {
      list["items"].push_back(items[i]);
    }
    const std::string body = list.dump() + "\n";
    bytes += body.size();
    // The captured list was chunked (Go chunks bodies over ~2 KB); these bodies carry a length.
    std::string h = headers.substr(0, headers.find("Transfer-Encoding: chunked")) + "Content-Length: " +
                    std::to_string(body.size()) + "\r\n\r\n";
    // Every route repeats: a failed page is asked for again after the informer's backoff.
    Route r{"GET", path, {{"limit", "500"}}, {"watch"}, testing::Reply{h + body}};
    if (p == 0) {
      r.absent.push_back("continue");
    } else {
      r.query["continue"] = "page-" + std::to_string(p);
    }
    r.repeat = true;
    s.add(r);
  }
  return bytes;
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t n_pvc = argc > 1 ? std::stoul(argv[1]) : 10'000;
  const std::size_t n_ns = argc > 2 ? std::stoul(argv[2]) : 1'000;
  const crypto::Json pvc = load("list-pvcs.json")["items"][0];
  const crypto::Json pv = load("get-pv-models-ro-pv.json");
  const crypto::Json ns = load("get-namespace-ml-prod.json");
  std::vector<crypto::Json> pvcs, pvs, nss;
  for (std::size_t i = 0; i < n_pvc; ++i) {
    crypto::Json c = pvc;
    c["metadata"]["name"] = "models-" + std::to_string(i);
    c["metadata"]["namespace"] = "ns-" + std::to_string(i % n_ns);
    c["metadata"]["uid"] = uid(i, 'c');
    c["spec"]["volumeName"] = "pv-" + std::to_string(i);
    pvcs.push_back(c);
    crypto::Json v = pv;
    v["metadata"]["name"] = "pv-" + std::to_string(i);
    v["metadata"]["uid"] = uid(i, 'v');
    v["spec"]["claimRef"]["name"] = "models-" + std::to_string(i);
    v["spec"]["claimRef"]["namespace"] = "ns-" + std::to_string(i % n_ns);
    v["spec"]["claimRef"]["uid"] = uid(i, 'c');
    pvs.push_back(v);
  }
  for (std::size_t i = 0; i < n_ns; ++i) {
    crypto::Json n = ns;
    n["metadata"]["name"] = "ns-" + std::to_string(i);
    n["metadata"]["labels"]["kubernetes.io/metadata.name"] = "ns-" + std::to_string(i);
    nss.push_back(n);
  }
  ReplayServer server;
  std::size_t wire = script_pages(server, "/api/v1/persistentvolumeclaims", "PersistentVolumeClaimList", pvcs);
  wire += script_pages(server, "/api/v1/persistentvolumes", "PersistentVolumeList", pvs);
  wire += script_pages(server, "/api/v1/namespaces", "NamespaceList", nss);

  // Baseline: whole objects as parsed JSON.
  const std::size_t before_full = heap_in_use();
  auto* full = new std::vector<crypto::Json>();
  for (const auto* v : {&pvcs, &pvs, &nss}) {
    for (const crypto::Json& j : *v) {
      full->push_back(crypto::Json::parse(j.dump()));
    }
  }
  const std::size_t full_bytes = heap_in_use() - before_full;
  delete full;

  const std::size_t before = heap_in_use();
  auto client = kube::Client::create(server.config()).value();
  const auto t0 = std::chrono::steady_clock::now();
  admission::LiveClusterState live(client, {}, nullptr);
  live.start();
  while (!live.synced()) {
    server.wait_requests(server.requests().size() + 1, std::chrono::milliseconds(100));
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::size_t slim_bytes = heap_in_use() - before;
  std::printf("objects: %zu PVCs, %zu PVs, %zu namespaces; list bodies on the wire: %.1f MiB\n", n_pvc, n_pvc, n_ns,
              wire / 1048576.0);
  std::printf("baseline (whole objects as parsed JSON): %.1f MiB\n", full_bytes / 1048576.0);
  std::printf("modelgate caches (synced, kept fields only): %.1f MiB = %.3fx baseline (%.0f bytes/object)\n",
              slim_bytes / 1048576.0, static_cast<double>(slim_bytes) / static_cast<double>(full_bytes),
              static_cast<double>(slim_bytes) / static_cast<double>(2 * n_pvc + n_ns));
  std::printf("sync time over loopback TLS: %.2f s (%s)\n", secs, live.status().c_str());
  live.stop();
  return 0;
}
