// document_test.cpp: a policy using every field parses into exactly the typed values written, with
// hand-counted positions; defaults, durations, pattern semantics, path resolution and robustness.
#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <variant>

#include "base/limits.h"
#include "policy/document.h"
#include "test_support.h"

using modelgate::Code;
using namespace modelgate::policy;
using namespace std::chrono_literals;

namespace {

// Every field of the language once. Line numbers are counted from the first line below (1).
constexpr std::string_view kFull = R"(apiVersion: modelgate.dev/v1alpha1
kind: ModelPolicy
metadata:
  name: production-serving
spec:
  mode: warn
  match:
    namespaces: ["^prod-.*$", "^serving$"]
    labels:
      app: inference
      tier: {regex: "^(gold|silver)$"}
  sources:
  - name: shared-models
    pvc: {claimName: "^models$"}
    root: /mnt/models/
  - name: node-cache
    hostPath: {pathPrefix: /var/lib//models/./cache/}
    root: /host/models
    signatureFile: model.sig.json
    requireReadOnly: false
  - name: registry
    nfs: {server: 10.0.0.5, path: /exports/models}
    root: /mnt/nfs
  - name: bucket
    csi: {driver: gcsfuse.csi.storage.gke.io, volumeAttributes: {bucketName: acme-models, only-dir: ""}}
    root: /mnt/gcs
  trust:
    signers:
    - name: release-ci
      keyless:
        issuer: https://token.actions.githubusercontent.com
        subjectRegex: "^https://github\\.com/acme/.+$"
        trustedRoot: roots/trusted_root.json
    - name: team-key
      publicKey: /etc/modelgate/keys/team.pub
    - name: corp-ca
      certificate: {roots: ../ca/roots.pem}
    - name: evals
      keyless: {issuer: "https://accounts.google.com", subject: evals@acme.com}
    reviewers:
    - name: ml-leads
      publicKeys: /etc/modelgate/keys/ml-leads/
    - name: security
      publicKeys: [keys/alice.pub, /etc/modelgate/keys/bob.pub]
      keyless:
      - {issuer: "https://accounts.google.com", subject: carol@acme.com}
  require:
    signature: {signers: [release-ci, team-key, corp-ca], threshold: 2}
    provenance:
      signers: [release-ci]
      builders: ["^https://builder\\.acme\\.internal/v2$"]
      buildTypes: ["^https://builder\\.acme\\.internal/finetune/v1$"]
    reviews: {minApprovals: 2, from: [ml-leads, security], excludeProvenanceSigner: true}
    datasets:
      catalog: datasets.yaml
      allowClassifications: [public, internal]
      allowLicenses: [Apache-2.0]
      denyClassifications: [restricted]
      denyLicenses: [GPL-3.0-only]
      denyDatasets: [scraped-forum]
      denyDigests: ["sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"]
    baseModels: {}
    evaluations:
    - {name: "MMLU 5-shot", signers: [evals]}
    maxAge: 36h
  breakGlass: {allowed: true, allowedGroups: [ml-oncall], maxDuration: 12h}
)";

constexpr std::string_view kMinimal = R"(apiVersion: modelgate.dev/v1alpha1
kind: ModelPolicy
metadata: {name: minimal}
spec:
  match: {namespaces: [inference]}
  sources: [{name: models, pvc: {claimName: models}, root: /mnt/models}]
  trust: {signers: [{name: team-key, publicKey: team.pub}]}
  require: {signature: {signers: [team-key]}}
)";

const std::string kFile = "/policies/prod.yaml";

Position at(std::uint32_t line, std::uint32_t column) { return Position{kFile, line, column}; }

const Policy& only_policy(const ParseOutcome& out) {
  for (const auto& d : out.diagnostics) {
    UNSCOPED_INFO(format_diagnostic(d));
  }
  REQUIRE(out.ok());
  REQUIRE(out.policies.size() == 1);
  return out.policies[0];
}

}  // namespace

TEST_CASE("a policy using every field parses into the values and positions written", "[policy]") {
  const ParseOutcome out = parse_policy_documents(kFull, kFile);
  const Policy& p = only_policy(out);
  // The one warning: the writable mount.
  REQUIRE(out.diagnostics.size() == 1);
  CHECK(out.diagnostics[0].severity == Severity::kWarning);
  CHECK(out.diagnostics[0].position == at(20, 22));

  CHECK(p.position == at(1, 1));
  CHECK(p.name.value == "production-serving");
  CHECK(p.name.position == at(4, 9));
  CHECK(p.mode.value == Mode::kWarn);
  CHECK(p.mode.position == at(6, 9));

  REQUIRE(p.match.namespaces.size() == 2);
  CHECK(p.match.namespaces[0].source == "^prod-.*$");
  CHECK(p.match.namespaces[0].position == at(8, 18));
  CHECK(p.match.namespaces[1].position == at(8, 31));
  REQUIRE(p.match.labels.size() == 2);
  CHECK(p.match.labels[0].key.value == "app");
  CHECK(p.match.labels[0].key.position == at(10, 7));
  REQUIRE(std::holds_alternative<Located<std::string>>(p.match.labels[0].value));
  CHECK(std::get<Located<std::string>>(p.match.labels[0].value).value == "inference");
  CHECK(std::get<Located<std::string>>(p.match.labels[0].value).position == at(10, 12));
  REQUIRE(std::holds_alternative<Pattern>(p.match.labels[1].value));
  const Pattern& tier = std::get<Pattern>(p.match.labels[1].value);
  CHECK(tier.source == "^(gold|silver)$");
  CHECK(tier.position == at(11, 21));
  CHECK(tier.matches("gold"));
  CHECK_FALSE(tier.matches("bronze"));

  REQUIRE(p.sources.size() == 4);
  const Source& pvc = p.sources[0];
  CHECK(pvc.name.value == "shared-models");
  CHECK(pvc.name.position == at(13, 11));
  CHECK(pvc.position == at(13, 5));
  REQUIRE(std::holds_alternative<PvcSource>(pvc.volume));
  CHECK(std::get<PvcSource>(pvc.volume).claim_name.source == "^models$");
  CHECK(std::get<PvcSource>(pvc.volume).claim_name.position == at(14, 22));
  CHECK(pvc.root.value == "/mnt/models");  // trailing slash normalised away
  CHECK(pvc.root.position == at(15, 11));
  CHECK(pvc.signature_file.value == "model.sig");
  CHECK(pvc.signature_file.position == pvc.position);  // default: where the source is
  CHECK(pvc.require_read_only.value);

  const Source& host = p.sources[1];
  REQUIRE(std::holds_alternative<HostPathSource>(host.volume));
  CHECK(std::get<HostPathSource>(host.volume).path_prefix.value == "/var/lib/models/cache");
  CHECK(std::get<HostPathSource>(host.volume).path_prefix.position == at(17, 28));
  CHECK(host.signature_file.value == "model.sig.json");
  CHECK(host.signature_file.position == at(19, 20));
  CHECK_FALSE(host.require_read_only.value);
  CHECK(host.require_read_only.position == at(20, 22));

  REQUIRE(std::holds_alternative<NfsSource>(p.sources[2].volume));
  const NfsSource& nfs = std::get<NfsSource>(p.sources[2].volume);
  REQUIRE(nfs.servers.size() == 1);
  CHECK(nfs.servers[0].value == "10.0.0.5");
  CHECK(nfs.servers[0].position == at(22, 19));
  CHECK(nfs.path.value == "/exports/models");
  CHECK(nfs.path.position == at(22, 35));

  REQUIRE(std::holds_alternative<CsiSource>(p.sources[3].volume));
  const CsiSource& csi = std::get<CsiSource>(p.sources[3].volume);
  CHECK(csi.driver.value == "gcsfuse.csi.storage.gke.io");
  CHECK(csi.driver.position == at(25, 19));
  REQUIRE(csi.volume_attributes.size() == 2);
  CHECK(csi.volume_attributes[0].first.value == "bucketName");
  CHECK(csi.volume_attributes[0].second.value == "acme-models");
  CHECK(csi.volume_attributes[1].first.value == "only-dir");
  CHECK(csi.volume_attributes[1].second.value.empty());

  REQUIRE(p.trust.signers.size() == 4);
  const Signer& ci = p.trust.signers[0];
  CHECK(ci.name.value == "release-ci");
  CHECK(ci.name.position == at(29, 13));
  REQUIRE(std::holds_alternative<KeylessIdentity>(ci.method));
  const KeylessIdentity& id = std::get<KeylessIdentity>(ci.method);
  CHECK(id.position == at(30, 7));  // the keyless: key
  CHECK(id.issuer.value == "https://token.actions.githubusercontent.com");
  CHECK(id.issuer.position == at(31, 17));
  CHECK_FALSE(id.subject.has_value());
  REQUIRE(id.subject_regex.has_value());
  CHECK(id.subject_regex->source == "^https://github\\.com/acme/.+$");
  CHECK(id.subject_regex->position == at(32, 23));
  CHECK(id.subject_regex->matches("https://github.com/acme/train/.github/workflows/r.yml@refs/tags/v1"));
  CHECK_FALSE(id.subject_regex->matches("https://github.com/evil/acme/x"));
  REQUIRE(id.trusted_root.has_value());
  CHECK(id.trusted_root->written == "roots/trusted_root.json");
  CHECK(id.trusted_root->resolved == "/policies/roots/trusted_root.json");
  CHECK(id.trusted_root->position == at(33, 22));

  REQUIRE(std::holds_alternative<PublicKeyTrust>(p.trust.signers[1].method));
  const PathRef& key = std::get<PublicKeyTrust>(p.trust.signers[1].method).path;
  CHECK(key.resolved == "/etc/modelgate/keys/team.pub");
  CHECK(key.position == at(35, 18));
  REQUIRE(std::holds_alternative<CertificateTrust>(p.trust.signers[2].method));
  const PathRef& roots = std::get<CertificateTrust>(p.trust.signers[2].method).roots;
  CHECK(roots.written == "../ca/roots.pem");
  CHECK(roots.resolved == "/ca/roots.pem");
  CHECK(roots.position == at(37, 28));
  REQUIRE(std::holds_alternative<KeylessIdentity>(p.trust.signers[3].method));
  const KeylessIdentity& evals = std::get<KeylessIdentity>(p.trust.signers[3].method);
  REQUIRE(evals.subject.has_value());
  CHECK(evals.subject->value == "evals@acme.com");
  CHECK_FALSE(evals.trusted_root.has_value());  // absent: the embedded public-good root

  REQUIRE(p.trust.reviewers.size() == 2);
  const ReviewerGroup& leads = p.trust.reviewers[0];
  CHECK(leads.name.value == "ml-leads");
  REQUIRE(leads.public_key_dir.has_value());
  CHECK(leads.public_key_dir->written == "/etc/modelgate/keys/ml-leads/");
  CHECK(leads.public_key_dir->position == at(42, 19));
  CHECK(leads.public_keys.empty());
  const ReviewerGroup& sec = p.trust.reviewers[1];
  REQUIRE(sec.public_keys.size() == 2);
  CHECK(sec.public_keys[0].resolved == "/policies/keys/alice.pub");
  CHECK(sec.public_keys[0].position == at(44, 20));
  CHECK(sec.public_keys[1].resolved == "/etc/modelgate/keys/bob.pub");
  REQUIRE(sec.keyless.size() == 1);
  CHECK(sec.keyless[0].subject->value == "carol@acme.com");
  CHECK(sec.keyless[0].position == at(46, 9));
  CHECK(p.trust.find_signer("corp-ca") == &p.trust.signers[2]);
  CHECK(p.trust.find_signer("ml-leads") == nullptr);
  CHECK(p.trust.find_reviewers("security") == &sec);

  const Require& r = p.require;
  REQUIRE(r.signature.has_value());
  REQUIRE(r.signature->signers.size() == 3);
  CHECK(r.signature->signers[2].value == "corp-ca");
  CHECK(r.signature->threshold.value == 2);
  CHECK(r.signature->threshold.position == at(48, 70));
  REQUIRE(r.provenance.has_value());
  CHECK(r.provenance->signers[0].value == "release-ci");
  REQUIRE(r.provenance->builders.size() == 1);
  CHECK(r.provenance->builders[0].matches("https://builder.acme.internal/v2"));
  CHECK_FALSE(r.provenance->builders[0].matches("https://builderXacme.internal/v2"));
  REQUIRE(r.provenance->build_types.size() == 1);
  REQUIRE(r.reviews.has_value());
  CHECK(r.reviews->min_approvals.value == 2);
  CHECK(r.reviews->min_approvals.position == at(53, 29));
  REQUIRE(r.reviews->from.size() == 2);
  CHECK(r.reviews->from[1].value == "security");
  CHECK(r.reviews->exclude_signer.value);  // default
  CHECK(r.reviews->exclude_provenance_signer.value);
  REQUIRE(r.datasets.has_value());
  CHECK(r.datasets->catalog.resolved == "/policies/datasets.yaml");
  CHECK(r.datasets->allow_classifications.size() == 2);
  CHECK(r.datasets->allow_licenses[0].value == "Apache-2.0");
  CHECK(r.datasets->deny_classifications[0].value == "restricted");
  CHECK(r.datasets->deny_licenses[0].value == "GPL-3.0-only");
  CHECK(r.datasets->deny_datasets[0].value == "scraped-forum");
  REQUIRE(r.datasets->deny_digests.size() == 1);
  CHECK(r.datasets->deny_digests[0].value == "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
  CHECK(r.datasets->require_digest.value);
  REQUIRE(r.base_models.has_value());
  CHECK(r.base_models->must_pass_policy.value);
  CHECK(r.base_models->max_depth.value == kDefaultBaseModelDepth);
  CHECK(r.base_models->position == at(62, 5));
  REQUIRE(r.evaluations.size() == 1);
  CHECK(r.evaluations[0].name.value == "MMLU 5-shot");
  CHECK(r.evaluations[0].signers[0].value == "evals");
  REQUIRE(r.max_age.has_value());
  CHECK(r.max_age->value == 36h);
  CHECK(r.max_age->position == at(65, 13));

  CHECK(p.break_glass.allowed.value);
  CHECK(p.break_glass.allowed.position == at(66, 25));
  CHECK(p.break_glass.annotation.value == "modelgate.dev/break-glass");
  CHECK(p.break_glass.annotation.position == at(66, 3));  // default: where breakGlass is
  REQUIRE(p.break_glass.allowed_groups.size() == 1);
  CHECK(p.break_glass.allowed_groups[0].value == "ml-oncall");
  CHECK(p.break_glass.allowed_groups[0].position == at(66, 47));
  CHECK(p.break_glass.allowed_users.empty());
  REQUIRE(p.break_glass.max_duration);
  CHECK(p.break_glass.max_duration->value == std::chrono::hours(12));
}

TEST_CASE("a minimal policy takes the documented defaults", "[policy]") {
  const ParseOutcome out = parse_policy_documents(kMinimal, "min.yaml");
  const Policy& p = only_policy(out);
  CHECK(out.diagnostics.empty());
  CHECK(p.mode.value == Mode::kEnforce);
  CHECK(mode_name(p.mode.value) == "enforce");
  CHECK(p.match.labels.empty());
  CHECK(p.sources[0].signature_file.value == "model.sig");
  CHECK(p.sources[0].require_read_only.value);
  CHECK(p.trust.reviewers.empty());
  REQUIRE(p.require.signature.has_value());
  CHECK(p.require.signature->threshold.value == 1);
  CHECK_FALSE(p.require.provenance.has_value());
  CHECK_FALSE(p.require.reviews.has_value());
  CHECK_FALSE(p.require.datasets.has_value());
  CHECK_FALSE(p.require.base_models.has_value());
  CHECK(p.require.evaluations.empty());
  CHECK_FALSE(p.require.max_age.has_value());
  CHECK_FALSE(p.break_glass.allowed.value);
  CHECK(p.break_glass.annotation.value == kDefaultBreakGlassAnnotation);
  // No directory in the file name: relative paths stay relative (to the working directory).
  CHECK(std::get<PublicKeyTrust>(p.trust.signers[0].method).path.resolved == "team.pub");
}

TEST_CASE("patterns match the whole value, never a substring", "[policy]") {
  const ParseOutcome out = parse_policy_documents(kMinimal, "min.yaml");
  const Policy& p = only_policy(out);
  const Pattern& ns = p.match.namespaces[0];
  CHECK(ns.source == "inference");
  CHECK(ns.matches("inference"));
  CHECK_FALSE(ns.matches("inference-2"));
  CHECK_FALSE(ns.matches("my-inference"));
  const Pattern& claim = std::get<PvcSource>(p.sources[0].volume).claim_name;
  CHECK(claim.matches("models"));
  CHECK_FALSE(claim.matches("models-evil"));
}

TEST_CASE("a pattern written several times in a file is compiled once and shared", "[policy]") {
  std::string text(kMinimal);
  text.replace(text.find("namespaces: [inference]"), 23, "namespaces: [&ns \"^inf.*$\", \"^inf.*$\", *ns]");
  const ParseOutcome out = parse_policy_documents(text, "p.yaml");
  const Policy& p = only_policy(out);
  REQUIRE(p.match.namespaces.size() == 3);
  CHECK(p.match.namespaces[0].regex == p.match.namespaces[1].regex);
  CHECK(p.match.namespaces[1].regex == p.match.namespaces[2].regex);
  CHECK(p.match.namespaces[1].position == Position{"p.yaml", 5, 39});
}

TEST_CASE("compile_pattern reports RE2's error and bounds pattern size", "[policy]") {
  auto ok = compile_pattern("^a+b$");
  REQUIRE(ok.ok());
  auto bad = compile_pattern("a{2,1}");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == Code::kMalformed);
  CHECK(bad.error().message == "invalid RE2 pattern: invalid repetition size: {2,1}");
  auto huge = compile_pattern(std::string(modelgate::limits::kMaxPatternBytes + 1, 'a'));
  REQUIRE_FALSE(huge.ok());
  CHECK(huge.error().code == Code::kLimit);
  // Within the length bound but beyond RE2's program budget: refused as a limit, not compiled.
  auto blowup = compile_pattern("\\pL{1000}");  // 1000 copies of every Unicode letter
  REQUIRE_FALSE(blowup.ok());
  CHECK(blowup.error().code == Code::kLimit);
}

TEST_CASE("durations are one positive number and one unit, bounded at ten years", "[policy]") {
  CHECK(parse_duration("90d").value() == std::chrono::seconds(90 * 86400));
  CHECK(parse_duration("36h").value() == std::chrono::seconds(36 * 3600));
  CHECK(parse_duration("30m").value() == std::chrono::seconds(1800));
  CHECK(parse_duration("45s").value() == std::chrono::seconds(45));
  CHECK(parse_duration("3650d").value() == std::chrono::seconds(3650LL * 86400));
  for (const char* bad : {"", "d", "90", "1.5h", "-1d", "+1d", "1h30m", "90D", " 90d", "90d ", "1w"}) {
    INFO(bad);
    auto r = parse_duration(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Code::kMalformed);
  }
  auto zero = parse_duration("0d");
  REQUIRE_FALSE(zero.ok());
  CHECK(zero.error().message == "duration \"0d\" must be greater than zero");
  for (const char* big : {"3651d", "87601h", "99999999999s"}) {
    INFO(big);
    auto r = parse_duration(big);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Code::kLimit);
  }
}

TEST_CASE("empty documents are skipped and several policies share a file", "[policy]") {
  std::string two = "---\n---\n# nothing here\n---\n" + std::string(kMinimal) + "---\n" + std::string(kMinimal);
  two.replace(two.rfind("name: minimal"), 13, "name: second1");
  const ParseOutcome out = parse_policy_documents(two, "two.yaml");
  REQUIRE(out.ok());
  REQUIRE(out.policies.size() == 2);
  CHECK(out.policies[0].name.value == "minimal");
  CHECK(out.policies[0].position.line == 5);
  CHECK(out.policies[1].name.value == "second1");
}

TEST_CASE("inputs that make yaml-cpp 0.7 loop forever are syntax errors", "[policy]") {
  // jbeder/yaml-cpp#1040: a ',' where a document starts; YAML::LoadAll would allocate until killed.
  for (const char* text : {",", ",\n", "[a]\n,\n", "{a: b}\n,", "a: 1\n---\n,x\n"}) {
    INFO(text);
    const ParseOutcome out = parse_policy_documents(text, "loop.yaml");
    REQUIRE(out.diagnostics.size() == 1);
    CHECK(out.diagnostics[0].message == "cannot parse YAML: unexpected \",\"");
  }
}

TEST_CASE("a file with no documents yields no policies and no errors", "[policy]") {
  const ParseOutcome out = parse_policy_documents("# just a comment\n", "c.yaml");
  CHECK(out.ok());
  CHECK(out.policies.empty());
}

TEST_CASE("more policies in one file than the bound is a limit error", "[policy]") {
  std::string many;
  for (std::size_t i = 0; i <= modelgate::limits::kMaxPolicies; ++i) {
    std::string one(kMinimal);
    one.replace(one.find("name: minimal"), 13, "name: p" + std::to_string(i));
    many += "---\n" + one;
  }
  const ParseOutcome out = parse_policy_documents(many, "many.yaml");
  REQUIRE_FALSE(out.ok());
  CHECK(out.policies.empty());
  REQUIRE(out.diagnostics.size() == 1);
  CHECK(out.diagnostics[0].code == Code::kLimit);
  CHECK(out.diagnostics[0].message == "too many policies in one file (more than 1024)");
}

TEST_CASE("randomly corrupted policies never throw and every diagnostic is placed in the file", "[policy]") {
  // A property check in the unit suite (the libFuzzer harness explores further): for thousands of
  // byte-level mutations, parsing returns diagnostics, never kInternal, never a position past the
  // end of the text, and returns policies only when it reports no errors.
  std::mt19937_64 rng(20240601);
  const std::string base(kFull);
  const std::string alphabet = "{}[]:,-'\"\t\n #&*!|>?%@`\\abcxyz0123456789\xff\xc3";
  for (int iter = 0; iter < 3000; ++iter) {
    std::string text = base;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const std::size_t pos = rng() % (text.size() + 1);
      switch (rng() % 3) {
        case 0:
          text.insert(pos, 1, alphabet[rng() % alphabet.size()]);
          break;
        case 1:
          if (pos < text.size()) {
            text.erase(pos, 1 + rng() % 8);
          }
          break;
        default:
          if (pos < text.size()) {
            text[pos] = alphabet[rng() % alphabet.size()];
          }
          break;
      }
    }
    const std::size_t lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
    ParseOutcome out;
    REQUIRE_NOTHROW(out = parse_policy_documents(text, "fuzz.yaml"));
    for (const Diagnostic& d : out.diagnostics) {
      INFO(format_diagnostic(d) << "\n--- input ---\n" << text);
      REQUIRE(d.code != Code::kInternal);
      REQUIRE(d.position.file == "fuzz.yaml");
      REQUIRE(d.position.line <= lines);
      REQUIRE_FALSE(d.message.empty());
    }
    REQUIRE(out.ok() == !has_errors(out.diagnostics));
    if (!out.ok()) {
      REQUIRE(out.policies.empty());
    }
  }
}
