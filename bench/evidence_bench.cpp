// evidence_bench: what an evidence writer's junk costs the gathering of one model's facts
// (policy::collect_model_facts: re-hash a small model, then read and verify its evidence), against
// the same model with only its real provenance and two approvals, measured in the same run. Also
// the per-request evidence fingerprint (a cache hit's cost) with a full directory. Not a test: it
// asserts nothing but prints whether the real evidence was still found.
//
// Usage: evidence_bench [DIR]   (default $TMPDIR or /tmp; writes ~300 MB, removes its files)
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "base/limits.h"
#include "crypto/approval.h"
#include "crypto/attestation.h"
#include "crypto/encoding.h"
#include "crypto/keys.h"
#include "crypto/model_sign.h"
#include "crypto/slsa_provenance.h"
#include "policy/evaluate.h"
#include "policy/evidence.h"
#include "policy/policy_set.h"
#include "policy/trust_material.h"

namespace fs = std::filesystem;
using namespace modelgate;

namespace {

constexpr std::int64_t kNow = 1'790'000'000;
constexpr std::size_t kJunk = 10'000;

const char* kPolicy = R"(apiVersion: modelgate.dev/v1alpha1
kind: ModelPolicy
metadata: {name: prod}
spec:
  match: {namespaces: [".*"]}
  sources:
  - {name: models, pvc: {claimName: models}, root: /mnt/models}
  trust:
    signers:
    - {name: team, publicKey: keys/team.pub}
    - {name: trainer, publicKey: keys/trainer.pub}
    reviewers:
    - {name: leads, publicKeys: keys/leads/}
  require:
    signature: {signers: [team]}
    provenance: {signers: [trainer], builders: ["https://builder\\.acme/v2"]}
    reviews: {minApprovals: 2, from: [leads]}
)";

void die(const std::string& what) {
  std::fprintf(stderr, "evidence_bench: %s\n", what.c_str());
  std::exit(1);
}

void write(const fs::path& p, const std::string& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << bytes;
}

// cpu_seconds is the process's CPU time: a shared machine stretches wall time, not CPU time.
double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}
double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

crypto::PrivateKey key(const fs::path& pub) {
  auto k = crypto::generate_private_key(crypto::KeyType::kEcdsaP256);
  if (!k.ok()) {
    die("cannot make a key");
  }
  write(pub, k->public_key().canonical_pem());
  return k.value();
}

std::string bundle(const crypto::Sha256Digest& root, const crypto::PrivateKey& k, std::string_view type,
                   const crypto::Json& predicate) {
  auto b = crypto::sign_statement_bundle(crypto::build_statement("m", root, type, predicate), crypto::KeySigner{k});
  if (!b.ok()) {
    die("cannot sign: " + b.error().message);
  }
  return b.value();
}

std::string padded(std::string json, std::size_t i) {
  static const char kWhitespace[] = {' ', '\n', '\t', '\r'};
  do {
    json += kWhitespace[i % 4];
    i /= 4;
  } while (i != 0);
  return json;
}

std::string forged(std::string json, std::size_t i) {
  const std::string k = "\"sig\":\"";
  char& c = json[json.find(k) + k.size() + 12 + i % 30];
  c = c == 'A' ? 'B' : 'A';
  return padded(json, i);
}

struct Row {
  std::string name;
  double cpu;
  double wall;
  bool passed;
  std::size_t rejected;
};

}  // namespace

int main(int argc, char** argv) {
  const char* tmpdir = std::getenv("TMPDIR");
  const fs::path base = argc > 1 ? fs::path(argv[1]) : fs::path(tmpdir != nullptr ? tmpdir : "/tmp");
  const fs::path dir = base / ("modelgate-evidence-bench-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  struct Cleanup {
    fs::path d;
    ~Cleanup() { fs::remove_all(d); }
  } cleanup{dir};

  const crypto::PrivateKey team = key(dir / "keys/team.pub");
  const crypto::PrivateKey trainer = key(dir / "keys/trainer.pub");
  const crypto::PrivateKey alice = key(dir / "keys/leads/alice.pub");
  const crypto::PrivateKey bob = key(dir / "keys/leads/bob.pub");
  const fs::path model = dir / "models/llama";
  write(model / "config.json", "{\"layers\": 2}\n");
  write(model / "weights.bin", std::string(1 << 20, 'w'));
  auto signed_model = crypto::sign_model(model, model / "model.sig", crypto::KeySigner{team}, {});
  if (!signed_model.ok()) {
    die("cannot sign the model: " + signed_model.error().message);
  }
  write(model / "model.sig", signed_model->bundle_json);
  const crypto::Sha256Digest root = signed_model->root_digest;
  const fs::path store = dir / "store";
  const fs::path evidence = store / "sha256" / crypto::to_hex(root);
  crypto::Provenance p;
  p.builder_id = "https://builder.acme/v2";
  p.build_type = "https://acme/ft/v1";
  p.finished_on = kNow - 86400;
  write(evidence / "provenance.json",
        bundle(root, trainer, crypto::kSlsaProvenanceV1, crypto::provenance_v1_predicate(p)));
  const auto approval = [&](const crypto::PrivateKey& k, const std::string& who, const crypto::Sha256Digest& about) {
    return bundle(about, k, crypto::kApprovalPredicateV1,
                  crypto::approval_predicate({who, crypto::ApprovalDecision::kApproved, kNow - 3600, "lgtm"}));
  };
  const std::string real = approval(alice, "alice", root);
  write(evidence / "approval-alice.json", real);
  write(evidence / "approval-bob.json", approval(bob, "bob", root));
  crypto::Sha256Digest other{};
  other[0] = 0x42;
  const std::string foreign = approval(alice, "alice", other);

  write(dir / "policy.yaml", kPolicy);
  std::vector<fs::path> paths{dir / "policy.yaml"};
  policy::TrustOutcome t = policy::load_trusted_policies(paths, 1);
  if (!t.ok()) {
    die("the policy does not load");
  }
  const policy::CompiledPolicy& c = t.trusted->policies().front();
  policy::EvidenceOptions o;
  o.stores = {store};
  o.now = kNow;

  std::vector<Row> rows;
  const auto measure = [&](const std::string& name) {
    Row r{name, 1e9, 1e9, false, 0};
    for (int pass = 0; pass < 3; ++pass) {
      const double c0 = cpu_seconds();
      const double w0 = wall_seconds();
      policy::ModelFacts f = policy::collect_model_facts(c, model, "model.sig", o);
      r.cpu = std::min(r.cpu, cpu_seconds() - c0);
      r.wall = std::min(r.wall, wall_seconds() - w0);
      r.passed = policy::evaluate(c, f).passed();
      r.rejected = f.rejected.size();
    }
    rows.push_back(r);
  };
  const auto junk = [&](const std::function<std::string(std::size_t)>& make, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      std::string name = std::to_string(i);
      write(evidence / ("0000-" + std::string(6 - name.size(), '0') + name + ".json"), make(i));
    }
  };
  const auto clear = [&] {
    for (const auto& e : fs::directory_iterator(evidence)) {
      if (e.path().filename().string().rfind("0000-", 0) == 0) {
        fs::remove(e.path());
      }
    }
  };

  measure("real evidence only (baseline)");
  junk([&](std::size_t i) {
    switch (i % 5) {
      case 0: return "not json " + std::to_string(i);
      case 1: return padded("{\"mediaType\": \"junk\"}", i);
      case 2: return padded(foreign, i);
      case 3: return forged(real, i);
      default: return real;
    }
  }, kJunk);
  measure("+ 10,000 junk files, five kinds mixed");
  clear();
  junk([&](std::size_t i) { return forged(real, i); }, kJunk);
  measure("+ 10,000 forged copies of an approval");
  clear();
  // Near the byte budget's worst case: as many files as are listed, each 16,000 bytes of the JSON
  // that is slowest to parse (an array of zeros), 250 MiB in all (just under the 256 MiB budget).
  std::string zeros = "[0";
  while (zeros.size() < 16'000 - 2) {
    zeros += ",0";
  }
  zeros += "]";
  junk([&](std::size_t i) { return padded(zeros, i); }, limits::kMaxEvidenceFiles - 3);
  measure("+ 16,381 x 16 kB JSON arrays (near the byte budget)");

  // A cache hit's cost: the fingerprint of a full evidence directory.
  double fp = 1e9;
  for (int pass = 0; pass < 5; ++pass) {
    const double w0 = wall_seconds();
    (void)policy::evidence_fingerprint(o.stores, crypto::to_hex(root));
    fp = std::min(fp, wall_seconds() - w0);
  }

  std::printf("collect_model_facts of a 1 MiB model with provenance and two approvals; fastest of 3\n");
  std::printf("%-50s %9s %9s %8s %9s %s\n", "evidence directory", "cpu ms", "wall ms", "ratio", "rejected",
              "real evidence found");
  for (const Row& r : rows) {
    std::printf("%-50s %9.1f %9.1f %7.1fx %9zu %s\n", r.name.c_str(), r.cpu * 1e3, r.wall * 1e3, r.cpu / rows[0].cpu,
                r.rejected, r.passed ? "yes" : "NO");
  }
  std::printf("evidence_fingerprint of 16,384 files (each cache-hit request): %.1f ms wall\n", fp * 1e3);
  return 0;
}
