// evidence_flood_test.cpp: an evidence writer floods a model's evidence directory with junk
// (threat model: "evidence writer"); the valid provenance and approvals filed beside it must still
// be found, whatever the junk's names, kinds and sizes, and what is not read must be reported.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "base/limits.h"
#include "crypto/approval.h"
#include "crypto/encoding.h"
#include "crypto/slsa_provenance.h"
#include "policy/evaluate.h"
#include "policy/evidence.h"
#include "policy/evidence_fixtures.h"
#include "test_support.h"

namespace {

namespace fs = std::filesystem;
using namespace modelgate;
using namespace modelgate::testing;
using namespace modelgate::testing::evidence;

constexpr std::int64_t kNow = 1'790'000'000;

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

// Flood is a signed model whose store holds its real provenance and two approvals.
struct Flood {
  TempDir tmp;
  KeyPair team = make_key(tmp / "keys", "team");
  KeyPair trainer = make_key(tmp / "keys", "trainer");
  KeyPair alice = make_key(tmp / "keys/leads", "alice");
  KeyPair bob = make_key(tmp / "keys/leads", "bob");
  KeyPair stranger = make_key(tmp / "other", "stranger");
  fs::path model = tmp / "models" / "llama";
  fs::path store = tmp / "store";
  crypto::Sha256Digest root{};
  fs::path dir;

  Flood() {
    write_model(model, 3, 4096);
    root = sign(model, team);
    dir = store / "sha256" / crypto::to_hex(root);
    crypto::Provenance p;
    p.builder_id = "https://builder.acme/v2";
    p.build_type = "https://acme/ft/v1";
    p.finished_on = kNow - 86400;
    attest(store, root, trainer, crypto::kSlsaProvenanceV1, crypto::provenance_v1_predicate(p), "provenance");
    approve(alice, "alice", "approval-alice");
    approve(bob, "bob", "approval-bob");
  }

  fs::path approve(const KeyPair& k, const std::string& who, const std::string& name) {
    crypto::Approval a{who, crypto::ApprovalDecision::kApproved, kNow - 3600, "lgtm"};
    return attest(store, root, k, crypto::kApprovalPredicateV1, crypto::approval_predicate(a), name);
  }

  policy::ModelFacts facts() {
    auto set = load_policies(tmp.path(), kPolicy);
    policy::EvidenceOptions o;
    o.stores = {store};
    o.now = kNow;
    return policy::collect_model_facts(set->policies().front(), model, "model.sig", o);
  }

  bool passes() {
    auto set = load_policies(tmp.path(), kPolicy);
    policy::EvidenceOptions o;
    o.stores = {store};
    o.now = kNow;
    const policy::CompiledPolicy& c = set->policies().front();
    policy::PolicyEvaluation e = policy::evaluate(c, policy::collect_model_facts(c, model, "model.sig", o));
    for (const auto& r : e.rules) {
      UNSCOPED_INFO(r.rule << ": " << r.message);
    }
    return e.passed();
  }
};

// junk_name sorts before every real attestation's name.
std::string junk_name(std::size_t i) {
  std::string n = std::to_string(i);
  return "0000-" + std::string(6 - n.size(), '0') + n + ".json";
}

// with_padding keeps a JSON document valid but makes its bytes differ per `i` (no two files equal):
// `i` in base 4 as trailing whitespace.
std::string with_padding(std::string json, std::size_t i) {
  static const char kWhitespace[] = {' ', '\n', '\t', '\r'};
  do {
    json += kWhitespace[i % 4];
    i /= 4;
  } while (i != 0);
  return json;
}

// with_bad_signature changes one base64 character of the DSSE signature (chosen by `i`).
std::string with_bad_signature(std::string json, std::size_t i) {
  const std::string key = "\"sig\":\"";
  const std::size_t at = json.find(key);
  REQUIRE(at != std::string::npos);
  // Characters 12-41 are bytes 9-31 of the DER signature: inside r, so the DER still parses.
  char& c = json[at + key.size() + 12 + i % 30];
  c = c == 'A' ? 'B' : 'A';
  return with_padding(json, i);
}

}  // namespace

TEST_CASE("300 junk files named to sort first do not hide a model's provenance and approvals",
          "[policy][evidence][flood]") {
  Flood w;
  REQUIRE(w.passes());
  for (std::size_t i = 0; i < 300; ++i) {
    write_file(w.dir / junk_name(i), "{}");
  }
  CHECK(w.passes());
  policy::ModelFacts f = w.facts();
  CHECK(f.provenance.size() == 1);
  CHECK(f.approvals.size() == 2);
}

TEST_CASE("10,000 junk files of every cheap kind do not hide valid evidence, and each is reported",
          "[policy][evidence][flood]") {
  Flood w;
  // Templates: a real approval (copied with a broken signature, or replayed byte-for-byte but
  // padded), and a valid approval by a reviewer about another model.
  const std::string real = read_file(w.dir / "approval-alice.json");
  crypto::Sha256Digest other{};
  other[0] = 0x42;
  const crypto::Approval about_other{"alice", crypto::ApprovalDecision::kApproved, kNow, ""};
  const std::string foreign =
      crypto::sign_statement_bundle(crypto::build_statement("m", other, crypto::kApprovalPredicateV1,
                                                            crypto::approval_predicate(about_other)),
                                    crypto::KeySigner{w.alice.key})
          .value();
  constexpr std::size_t kJunk = 10'000;
  std::size_t forged = 0;
  for (std::size_t i = 0; i < kJunk; ++i) {
    std::string bytes;
    switch (i % 5) {
      case 0: bytes = "not json " + std::to_string(i); break;
      case 1: bytes = with_padding("{\"mediaType\": \"junk\"}", i); break;
      case 2: bytes = with_padding(foreign, i); break;
      case 3: bytes = with_bad_signature(real, i); ++forged; break;
      default: bytes = real; break;  // exact copies: the same bytes decide the same way
    }
    write_file(w.dir / junk_name(i), bytes);
  }
  // One gathering, judged and inspected (each costs ~1 s: docs/performance.md).
  auto set = load_policies(w.tmp.path(), kPolicy);
  policy::EvidenceOptions o;
  o.stores = {w.store};
  o.now = kNow;
  const policy::CompiledPolicy& c = set->policies().front();
  const policy::ModelFacts f = policy::collect_model_facts(c, w.model, "model.sig", o);
  CHECK(policy::evaluate(c, f).passed());
  CHECK(f.provenance.size() == 1);
  // Exact copies of alice's approval are one approval; bob's is the other.
  CHECK(f.approvals.size() == 2);
  // Every junk file that is not a copy of a verified one is reported, none silently dropped.
  CHECK(f.rejected.size() == kJunk - kJunk / 5);
  std::size_t bad_signatures = 0;
  for (const policy::Rejection& r : f.rejected) {
    bad_signatures += r.error.code == Code::kBadSignature ? 1 : 0;
  }
  CHECK(bad_signatures == forged);
}
// incomplete is the "evidence" result of judging `w`'s model, which must exist.
policy::RuleResult incomplete(Flood& w) {
  auto set = load_policies(w.tmp.path(), kPolicy);
  policy::EvidenceOptions o;
  o.stores = {w.store};
  o.now = kNow;
  const policy::CompiledPolicy& c = set->policies().front();
  policy::PolicyEvaluation e = policy::evaluate(c, policy::collect_model_facts(c, w.model, "model.sig", o));
  CHECK_FALSE(e.passed());
  for (const policy::RuleResult& r : e.rules) {
    if (r.rule == "evidence") {
      return r;
    }
  }
  FAIL("no evidence rule in the evaluation");
  return {};
}

TEST_CASE("evidence past the byte budget denies the model, naming the limit; smaller files, read first, still count",
          "[policy][evidence][flood]") {
  Flood w;
  // Sparse files at the per-file cap, named to sort first: their total exceeds the budget, and
  // what is not read could be a reviewer's rejection, so the model cannot pass.
  const std::size_t n = limits::kMaxEvidenceBytes / limits::kMaxAttestationBytes + 2;
  for (std::size_t i = 0; i < n; ++i) {
    write_file(w.dir / junk_name(i), "");
    fs::resize_file(w.dir / junk_name(i), limits::kMaxAttestationBytes);
  }
  policy::ModelFacts f = w.facts();
  REQUIRE(f.evidence_error.has_value());
  CHECK(f.evidence_error->code == Code::kLimit);
  CHECK_THAT(f.evidence_error->message, Catch::StartsWith("too many evidence bytes (> 268435456); "));
  CHECK(f.provenance.size() == 1);
  CHECK(f.approvals.size() == 2);
  const policy::RuleResult r = incomplete(w);
  CHECK(r.status == policy::RuleStatus::kError);
  CHECK(r.reason == "evidence.incomplete");
  CHECK_THAT(r.message, Catch::Contains("too many evidence bytes"));
}
