// webhook_stack.h: the real `modelgate serve` stack in-process for integration tests — Server over
// real TLS on 127.0.0.1:0 with certificates made by the openssl CLI, the Webhook decision path, a
// policy, models signed in the test and evidence in a store — and the real apiserver's
// AdmissionReviews (../shared/vectors/admission/) to feed it.
#pragma once

#include <httplib.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <memory>
#include <string>

#include "admission/server.h"
#include "admission/webhook.h"
#include "base/log.h"
#include "crypto/approval.h"
#include "crypto/encoding.h"
#include "crypto/json.h"
#include "crypto/model_signature.h"
#include "cluster_fixture.h"
#include "policy/evidence_fixtures.h"
#include "test_support.h"

namespace modelgate::testing::integration {

namespace fs = std::filesystem;
using namespace modelgate::admission;
using namespace modelgate::testing::evidence;
using crypto::Json;

inline const char* kPolicy = R"(apiVersion: modelgate.dev/v1alpha1
kind: ModelPolicy
metadata: {name: serving}
spec:
  match: {namespaces: ["ml-serving"]}
  sources:
  - {name: models, pvc: {claimName: "^models$", volumeName: "^models-ro-pv$"}, root: @ROOT@}
  trust:
    signers:
    - {name: team, publicKey: keys/team.pub}
    reviewers:
    - {name: leads, publicKeys: keys/leads/}
  require:
    signature: {signers: [team]}
    reviews: {minApprovals: 1, from: [leads]}
)";

inline Json fixture(const std::string& name) {
  auto j = crypto::parse_json(read_file(vectors_dir() / "admission" / name), {8u << 20, 64});
  REQUIRE(j.ok());
  return j.value();
}

// make_tls makes a self-signed P-256 certificate for 127.0.0.1 and localhost: dir/name.crt|key.
inline void make_tls(const fs::path& dir, const std::string& name) {
  REQUIRE(run({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
               (dir / (name + ".key")).string(), "-out", (dir / (name + ".crt")).string(), "-subj", "/CN=localhost",
               "-days", "2", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"})
              .exit_code == 0);
}

// flip_byte changes the byte at `offset` of `file` (xor `mask`): a model tampered after signing.
inline void flip_byte(const fs::path& file, std::size_t offset, char mask) {
  std::string bytes = read_file(file);
  REQUIRE(offset < bytes.size());
  bytes[offset] ^= mask;
  write_file(file, bytes);
}

// Stack is the webhook behind the real server, with a PVC "models" whose storage is `pvc`.
struct Stack {
  TempDir tmp;
  KeyPair team = make_key(tmp / "keys", "team");
  KeyPair alice = make_key(tmp / "keys/leads", "alice");
  fs::path pvc = tmp / "pvc";
  fs::path store = tmp / "store";
  ServerConfig config;
  std::shared_ptr<Metrics> metrics = std::make_shared<Metrics>();
  log::Logger logger{stderr, log::Level::kError};
  std::unique_ptr<Webhook> webhook;
  std::unique_ptr<Server> server;

  explicit Stack(const std::string& policy = kPolicy) {
    // The pod fixture mounts subPath llama-3-8b in "server" and the whole claim in init "warm":
    // both directories are what containers read, so both are signed (and approved).
    write_model(pvc / "llama-3-8b", 1);
    sign(pvc / "llama-3-8b", team);
    approve(pvc / "llama-3-8b");
    write_file(pvc / "README.md", "shared model volume\n");
    sign(pvc, team);
    approve(pvc);
    write_file(tmp / "policies" / "serving.yaml", replace_all(policy, "@ROOT@", pvc.string()));
    fs::copy(tmp / "keys", tmp / "policies" / "keys", fs::copy_options::recursive);
    // TLS for 127.0.0.1, self-signed; the client trusts exactly this certificate.
    make_tls(tmp.path(), "tls");
    config.address = "127.0.0.1";
    config.port = 0;
    config.tls_cert_file = tmp / "tls.crt";
    config.tls_key_file = tmp / "tls.key";
    config.policies = {tmp / "policies"};
    // The captured claims and volumes, moved to the pod's namespace: "models" is bound to
    // "models-ro-pv" (cluster_fixture.h).
    config.cluster_state_files = std::vector<std::filesystem::path>{write_cluster_state(tmp.path(), "ml-serving")};
    config.evidence_stores = {store};
    config.log_level = log::Level::kError;
    config.worker_threads = 4;
    // These tests change files and expect the next request to see it, and cache what they just
    // wrote: no revalidation window, no settle interval (writer_test.cpp covers both).
    config.settle_interval = std::chrono::seconds(0);
    config.revalidate_window = std::chrono::milliseconds(0);
  }

  void approve(const fs::path& model) {
    // root digest of the model as signed: recompute from model.sig via sign()'s layout.
    auto b = crypto::parse_bundle(read_file(model / "model.sig"));
    REQUIRE(b.ok());
    auto sm = crypto::parse_signed_model(b->dsse->payload);
    REQUIRE(sm.ok());
    attest(store, sm->root_digest, alice, crypto::kApprovalPredicateV1,
           crypto::approval_predicate({"alice@acme.com", crypto::ApprovalDecision::kApproved, 1'790'000'000, ""}),
           "approval-alice");
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

  std::unique_ptr<httplib::SSLClient> client() {
    auto c = std::make_unique<httplib::SSLClient>("127.0.0.1", server->port());
    c->set_ca_cert_path((tmp / "tls.crt").string().c_str());
    c->enable_server_certificate_verification(true);
    c->set_read_timeout(30, 0);
    return c;
  }

  // review posts `review` and returns the parsed AdmissionReview response.
  Json review(const Json& review) {
    auto c = client();
    auto res = c->Post("/validate", review.dump(), "application/json");
    REQUIRE(res);
    INFO(res->body);
    REQUIRE(res->status == 200);
    auto j = crypto::parse_json(res->body, {8u << 20, 64});
    REQUIRE(j.ok());
    REQUIRE(j.value()["apiVersion"] == "admission.k8s.io/v1");
    return j.value()["response"];
  }

  // try_review is review() for client threads: no Catch2 assertions (Catch2 v2 is not
  // thread-safe); the response, or null when the request failed or was not a 200 AdmissionReview.
  Json try_review(const Json& review) {
    auto c = client();
    auto res = c->Post("/validate", review.dump(), "application/json");
    if (!res || res->status != 200) {
      return Json();
    }
    auto j = crypto::parse_json(res->body, {8u << 20, 64});
    return j.ok() && j.value().contains("response") ? j.value()["response"] : Json();
  }

  // metric is the value of the unlabelled series `name` in /metrics.
  double metric(const std::string& name) {
    auto c = client();
    auto res = c->Get("/metrics");
    REQUIRE(res);
    const std::string key = "\n" + name + " ";
    auto at = res->body.find(key);
    REQUIRE(at != std::string::npos);
    return std::stod(res->body.substr(at + key.size()));
  }

  std::uint64_t hashed_bytes() { return static_cast<std::uint64_t>(metric("modelgate_hashed_bytes_total")); }
};

}  // namespace modelgate::testing::integration
