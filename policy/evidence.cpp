#include "policy/evidence.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <set>
#include <system_error>
#include <tuple>

#include "base/join.h"
#include "base/limits.h"
#include "base/read_file.h"
#include "crypto/attestation.h"
#include "crypto/bundle.h"
#include "crypto/encoding.h"
#include "crypto/model_signature.h"
#include "crypto/model_verify.h"
#include "crypto/statement.h"

namespace modelgate::policy {

namespace fs = std::filesystem;

namespace {

std::int64_t now_or_clock(std::int64_t now) {
  return now != 0 ? now : static_cast<std::int64_t>(std::time(nullptr));
}

// evidence_dir is <store>/sha256/<hex>; `hex` was checked to be 64 lowercase hex digits, so it
// cannot climb out of the store.
fs::path evidence_dir(const fs::path& store, std::string_view hex) { return store / "sha256" / std::string(hex); }

bool valid_hex_digest(std::string_view hex) { return hex.size() == 64 && crypto::is_lower_hex(hex); }

// list_evidence_files lists the *.json names of `dir` (dot-files skipped), sorted; it stops after
// `room` + 1, which tells the caller that the limit was passed.
std::vector<fs::path> list_evidence_files(const fs::path& dir, std::size_t room) {
  std::vector<fs::path> out;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    return out;
  }
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) {
      break;
    }
    const std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.' || it->path().extension() != ".json") {
      continue;
    }
    out.push_back(it->path());
    if (out.size() > room) {
      break;  // the caller reports the limit
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string file_label(const fs::path& p) { return p.filename().string(); }

// names_root: a subject of the (not yet verified) statement carries `root` as its sha256 digest.
// A pre-filter only: the verified statement is checked again.
bool names_root(const crypto::Statement& st, const crypto::Sha256Digest& root) {
  const std::string want = crypto::to_hex(root);
  return std::any_of(st.subjects.begin(), st.subjects.end(), [&](const crypto::StatementSubject& s) {
    auto it = s.digest.find("sha256");
    return it != s.digest.end() && crypto::constant_time_equal(crypto::as_bytes(it->second), crypto::as_bytes(want));
  });
}

// Candidate is one trusted method an attestation may be verified under, with the name it counts for.
struct Candidate {
  std::string name;  // signer name, or reviewer group name
  const TrustedMethod* method;
};

// Gatherer collects one model's facts for one policy.
class Gatherer {
 public:
  Gatherer(const CompiledPolicy& c, const EvidenceOptions& o) : c_(c), p_(*c.policy), o_(o) {
    dopts_.now = now_or_clock(o.now);
  }

  ModelFacts model(const fs::path& dir, const std::string& signature_file) {
    ModelFacts f = base_facts();
    f.signature_file = signature_file;
    const fs::path sig = dir / signature_file;
    struct stat st {};
    f.signature_present = ::lstat(sig.c_str(), &st) == 0;
    std::optional<crypto::Manifest> verified_manifest;
    if (p_.require.signature && f.signature_present) {
      crypto::ModelVerifyOptions vo;
      vo.hash = o_.hash;
      vo.now = dopts_.now;
      for (const Located<std::string>& name : p_.require.signature->signers) {
        const TrustedMethod* m = c_.signer(name.value);
        if (m == nullptr) {
          continue;
        }
        auto r = crypto::verify_model(dir, sig, m->method, vo);
        if (!r.ok()) {
          const Error& e = r.error();
          if (e.code == Code::kIo || e.code == Code::kDeadline || e.code == Code::kNotFound) {
            // The model (or its signature) cannot be read: no other signer would do better.
            f.model_error = e;
            return f;
          }
          f.signature_failures.emplace(name.value, e);
          continue;
        }
        f.signatures.push_back(VerifiedSignatureFact{name.value, r->signer(), signature_file, r->signed_times()});
        f.root = r->root_digest();
        f.root_signed = true;
        verified_manifest = r->manifest();
        f.signature_failures.clear();
        break;  // model.sig holds one signature; more signers come from the store (threshold)
      }
    }
    if (!f.root && !p_.require.signature) {
      // A provenance-only policy ties the files to evidence through the digest of what is on disk.
      auto root = local_root(dir, sig, f.signature_present);
      if (!root.ok()) {
        f.model_error = std::move(root).error();
        return f;
      }
      f.root = root.value();
    }
    if (f.root) {
      attestations(f, verified_manifest ? &*verified_manifest : nullptr, {});
    }
    return f;
  }

  ModelFacts store(std::string_view hex, std::vector<std::string> lineage) {
    ModelFacts f = base_facts();
    f.from_store = true;
    auto bytes = crypto::from_hex(hex);
    if (!bytes.ok() || bytes->size() != 32) {
      f.model_error = make_error(Code::kMalformed, "base model digest is not sha256 hex");
      return f;
    }
    crypto::Sha256Digest root{};
    std::copy(bytes->begin(), bytes->end(), root.begin());
    f.root = root;
    attestations(f, nullptr, std::move(lineage));
    f.root_signed = !f.signatures.empty();
    return f;
  }

 private:
  ModelFacts base_facts() {
    ModelFacts f;
    f.now = *dopts_.now;
    f.catalog = c_.catalog;
    return f;
  }

  Result<crypto::Sha256Digest> local_root(const fs::path& dir, const fs::path& sig, bool sig_present) {
    crypto::SerializationConfig config;
    for (std::string_view g : crypto::kDefaultGitIgnores) {
      config.ignore_paths.emplace_back(g);
    }
    if (sig_present) {
      config.ignore_paths.push_back(sig.filename().string());
    }
    config.ignore_paths.emplace_back(crypto::kDefaultSignatureFile);  // never hashed (manifest.h)
    MG_ASSIGN_OR_RETURN_CTX(crypto::Manifest m, crypto::hash_model(dir, config, o_.hash), "model");
    return m.root_digest();
  }

  std::vector<Candidate> signers(const std::vector<Located<std::string>>& names) {
    std::vector<Candidate> out;
    for (const auto& n : names) {
      if (const TrustedMethod* m = c_.signer(n.value)) {
        out.push_back(Candidate{n.value, m});
      }
    }
    return out;
  }

  std::vector<Candidate> candidates_for(std::string_view predicate_type, const ModelFacts& f) {
    std::vector<Candidate> out;
    if (predicate_type == crypto::kModelSigningPredicateV1) {
      if (p_.require.signature) {
        for (Candidate& cand : signers(p_.require.signature->signers)) {
          bool done = std::any_of(f.signatures.begin(), f.signatures.end(),
                                  [&](const VerifiedSignatureFact& s) { return s.signer == cand.name; });
          if (!done) {
            out.push_back(cand);
          }
        }
      }
    } else if (predicate_type == crypto::kSlsaProvenanceV1 || predicate_type == crypto::kSlsaProvenanceV02) {
      if (p_.require.provenance) {
        out = signers(p_.require.provenance->signers);
      }
    } else if (predicate_type == crypto::kApprovalPredicateV1) {
      if (p_.require.reviews) {
        for (const auto& g : p_.require.reviews->from) {
          auto it = c_.reviewers.find(g.value);
          if (it == c_.reviewers.end()) {
            continue;
          }
          for (const TrustedMethod& m : it->second) {
            out.push_back(Candidate{g.value, &m});
          }
        }
      }
    } else if (predicate_type == crypto::kTestResultPredicateV01) {
      for (const EvaluationRule& e : p_.require.evaluations) {
        for (Candidate& cand : signers(e.signers)) {
          bool dup = std::any_of(out.begin(), out.end(), [&](const Candidate& x) { return x.name == cand.name; });
          if (!dup) {
            out.push_back(cand);
          }
        }
      }
    }
    return out;
  }

  // why_ignored says why this policy does not read evidence of `predicate_type`.
  std::string why_ignored(std::string_view predicate_type) const {
    const std::string policy = "policy " + crypto::quote_for_message(p_.name.value);
    auto names = [](const std::vector<Located<std::string>>& v) {
      std::vector<std::string> out;
      for (const auto& x : v) {
        out.push_back(x.value);
      }
      return join(out, ", ");
    };
    if (predicate_type == crypto::kModelSigningPredicateV1) {
      return p_.require.signature ? "every listed signer (" + names(p_.require.signature->signers) +
                                        ") is already counted, or none has trust material loaded"
                                  : policy + " has no signature rule";
    }
    if (predicate_type == crypto::kSlsaProvenanceV1 || predicate_type == crypto::kSlsaProvenanceV02) {
      return policy + " has no provenance rule";
    }
    if (predicate_type == crypto::kApprovalPredicateV1) {
      return policy + " has no reviews rule";
    }
    if (predicate_type == crypto::kTestResultPredicateV01) {
      return policy + " has no evaluations rule";
    }
    return "no rule reads predicate type " + crypto::quote_for_message(predicate_type);
  }

  // subject_mismatch: "signs sha256:4f1c…, the model is sha256:9a02…" (the subject's digest shown
  // only when it is well-formed hex: it came from a verified, but possibly foreign, statement).
  static std::string subject_mismatch(const crypto::Statement& st, const crypto::Sha256Digest& root) {
    std::string signs = "another digest";
    for (const crypto::StatementSubject& sub : st.subjects) {
      auto it = sub.digest.find("sha256");
      if (it != sub.digest.end() && valid_hex_digest(it->second)) {
        signs = "sha256:" + it->second.substr(0, 12) + "…";
        break;
      }
    }
    return "signs " + signs + ", the model is sha256:" + crypto::to_hex(root).substr(0, 12) +
           "…; file it under the digest it signs, or re-sign this model";
  }

  // attestations reads every evidence file for f.root and keeps what verifies.
  void attestations(ModelFacts& f, const crypto::Manifest* local, std::vector<std::string> lineage) {
    const std::string hex = crypto::to_hex(*f.root);
    auto all = find_evidence(o_.stores, hex, f.rejected, [&](const EvidenceFile& file) { one_file(f, file, local); });
    if (!all.ok()) {
      f.evidence_error = std::move(all).error();
    }
    if (p_.require.base_models) {
      base_models(f, hex, std::move(lineage));
    }
  }

  void one_file(ModelFacts& f, const EvidenceFile& file, const crypto::Manifest* local) {
    const std::string label = file_label(file.path);
    auto bundle = crypto::parse_bundle(file.bytes);
    if (!bundle.ok()) {
      f.rejected.push_back(Rejection{label, std::move(bundle).error().context("bundle"), ""});
      return;
    }
    if (!bundle->dsse) {
      f.rejected.push_back(Rejection{label, make_error(Code::kUnsupported, "not a DSSE attestation"), ""});
      return;
    }
    // Routing only: the unverified payload says which trust applies; nothing here is believed.
    auto peek = crypto::parse_statement(bundle->dsse->payload);
    if (!peek.ok()) {
      f.rejected.push_back(Rejection{label, std::move(peek).error().context("statement"), ""});
      return;
    }
    std::vector<Candidate> cands = candidates_for(peek->predicate_type, f);
    if (cands.empty()) {
      // Evidence this policy does not ask for: nothing is believed, but `evidence explain` says why.
      f.ignored.push_back(IgnoredEvidence{label, peek->predicate_type, why_ignored(peek->predicate_type)});
      return;
    }
    if (!names_root(*peek, *f.root)) {
      // Before any signature work: junk filed under a digest it is not about costs a parse only.
      f.rejected.push_back(
          Rejection{label, make_error(Code::kMismatch, subject_mismatch(*peek, *f.root)), peek->predicate_type});
      return;
    }
    std::optional<Error> first;
    bool all_key_mismatch = true;
    for (const Candidate& cand : cands) {
      auto va = crypto::verify_attestation(*bundle, cand.method->method, dopts_);
      if (!va.ok()) {
        all_key_mismatch = all_key_mismatch && va.error().code == Code::kMismatch &&
                           va.error().message.rfind("key mismatch", 0) == 0;
        if (!first || (first->code == Code::kMismatch && va.error().code != Code::kMismatch)) {
          first = std::move(va).error().context(cand.name);
        }
        continue;
      }
      if (!va->subject_has_sha256(*f.root)) {
        f.rejected.push_back(
            Rejection{label, make_error(Code::kMismatch, subject_mismatch(va->statement(), *f.root)), peek->predicate_type});
        return;
      }
      accept(f, label, cand, *va, local);
      return;
    }
    if (all_key_mismatch && bundle->public_key_hint) {
      // Every configured key was asked and none is the signer's: say that, not the first refusal.
      std::vector<std::string> names;
      for (const Candidate& cand : cands) {
        if (std::find(names.begin(), names.end(), cand.name) == names.end()) {
          names.push_back(cand.name);
        }
      }
      const std::string list = join(names, ", ");
      f.rejected.push_back(Rejection{label,
                                     make_error(Code::kUntrusted, "signed by key " +
                                                                      bundle->public_key_hint->substr(0, 12) +
                                                                      "…, which is not a key of " + list),
                                     peek->predicate_type});
      return;
    }
    f.rejected.push_back(
        Rejection{label, first ? *first : make_error(Code::kUntrusted, "not verified"), peek->predicate_type});
  }

  void accept(ModelFacts& f, const std::string& label, const Candidate& cand, const crypto::VerifiedAttestation& va,
              const crypto::Manifest* local) {
    const crypto::Statement& st = va.statement();
    const std::vector<std::int64_t>& times = va.envelope().signed_times();
    if (st.predicate_type == crypto::kModelSigningPredicateV1) {
      auto sm = crypto::signed_model_from_statement(st);
      if (!sm.ok()) {
        f.rejected.push_back(Rejection{label, std::move(sm).error(), st.predicate_type});
        return;
      }
      if (local != nullptr) {
        crypto::ManifestDiff diff = crypto::compare_manifest(*sm, *local);
        if (!diff.empty()) {
          f.rejected.push_back(Rejection{
              label, make_error(Code::kMismatch, std::string(kModelMismatchPrefix) + ": " + diff.describe()),
              st.predicate_type});
          return;
        }
      }
      f.signatures.push_back(VerifiedSignatureFact{cand.name, va.identity(), label, times});
    } else if (st.predicate_type == crypto::kSlsaProvenanceV1 || st.predicate_type == crypto::kSlsaProvenanceV02) {
      auto prov = crypto::parse_provenance(st.predicate_type, st.predicate);
      if (!prov.ok()) {
        f.rejected.push_back(Rejection{label, std::move(prov).error(), st.predicate_type});
        return;
      }
      f.provenance.push_back(ProvenanceFact{cand.name, va.identity(), label, std::move(prov).value(), times});
    } else if (st.predicate_type == crypto::kApprovalPredicateV1) {
      auto a = crypto::parse_approval(st.predicate);
      if (!a.ok()) {
        f.rejected.push_back(Rejection{label, std::move(a).error(), st.predicate_type});
        return;
      }
      f.approvals.push_back(ApprovalFact{cand.name, va.identity(), label, std::move(a).value()});
    } else if (st.predicate_type == crypto::kTestResultPredicateV01) {
      auto t = crypto::parse_test_result(st.predicate);
      if (!t.ok()) {
        f.rejected.push_back(Rejection{label, std::move(t).error(), st.predicate_type});
        return;
      }
      f.test_results.push_back(TestResultFact{cand.name, va.identity(), label, std::move(t).value(), times});
    }
  }

  void base_models(ModelFacts& f, const std::string& hex, std::vector<std::string> lineage) {
    const BaseModelsRule& rule = *p_.require.base_models;
    lineage.push_back(hex);
    for (const ProvenanceFact& pf : f.provenance) {
      for (const crypto::Dependency& d : pf.provenance.dependencies) {
        if (d.role != "base-model") {
          continue;
        }
        BaseModelFacts b;
        b.dependency = d;
        if (d.sha256.empty() || !valid_hex_digest(d.sha256)) {
          f.base_models.push_back(std::move(b));  // evaluate reports it unpinned
          continue;
        }
        if (std::find(lineage.begin(), lineage.end(), d.sha256) != lineage.end()) {
          b.problem = "cycle: sha256:" + d.sha256.substr(0, 12) + "… is its own ancestor";
        } else if (lineage.size() > rule.max_depth.value) {
          b.problem = "lineage deeper than maxDepth " + std::to_string(rule.max_depth.value);
        } else if (rule.must_pass_policy.value) {
          b.facts = std::make_shared<const ModelFacts>(Gatherer(c_, o_).store(d.sha256, lineage));
        }
        f.base_models.push_back(std::move(b));
      }
    }
  }

  const CompiledPolicy& c_;
  const Policy& p_;
  const EvidenceOptions& o_;
  crypto::DsseVerifyOptions dopts_;
};

}  // namespace

Result<void> find_evidence(const std::vector<fs::path>& stores, std::string_view hex,
                           std::vector<Rejection>& unreadable, const std::function<void(const EvidenceFile&)>& visit) {
  if (!valid_hex_digest(hex)) {
    return ok_status();
  }
  // Listing and stat cost microseconds per file; reading and parsing are what junk could inflate,
  // so they come smallest first, under a byte budget, and once per distinct content.
  struct Listed {
    std::uint64_t size;
    std::size_t store;
    fs::path path;
  };
  std::vector<Listed> listed;
  for (std::size_t s = 0; s < stores.size(); ++s) {
    std::vector<fs::path> names =
        list_evidence_files(evidence_dir(stores[s], hex), limits::kMaxEvidenceFiles - listed.size());
    if (listed.size() + names.size() > limits::kMaxEvidenceFiles) {
      return make_error(Code::kLimit, "too many evidence files (> " + std::to_string(limits::kMaxEvidenceFiles) + ")");
    }
    for (fs::path& p : names) {
      struct stat st {};
      if (::stat(p.c_str(), &st) != 0) {
        const std::string why = std::strerror(errno);
        unreadable.push_back(Rejection{file_label(p), make_error(Code::kIo, "cannot stat: " + why), ""});
        continue;
      }
      if (!S_ISREG(st.st_mode)) {
        const char* what = S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file";
        unreadable.push_back(Rejection{file_label(p), make_error(Code::kIo, what), ""});
        continue;
      }
      listed.push_back(Listed{static_cast<std::uint64_t>(st.st_size), s, std::move(p)});
    }
  }
  std::sort(listed.begin(), listed.end(), [](const Listed& a, const Listed& b) {
    return std::tie(a.size, a.store, a.path) < std::tie(b.size, b.store, b.path);
  });
  std::set<crypto::Sha256Digest> seen;
  std::uint64_t read = 0;
  for (std::size_t i = 0; i < listed.size(); ++i) {
    const Listed& l = listed[i];
    if (l.size > limits::kMaxAttestationBytes) {
      const std::string why = "file too large (" + std::to_string(l.size) + " > " +
                              std::to_string(limits::kMaxAttestationBytes) + " bytes)";
      unreadable.push_back(Rejection{file_label(l.path), make_error(Code::kLimit, why), ""});
      continue;
    }
    if (read + l.size > limits::kMaxEvidenceBytes) {
      return make_error(Code::kLimit, "too many evidence bytes (> " + std::to_string(limits::kMaxEvidenceBytes) +
                                          "); " + std::to_string(listed.size() - i) + " files were not read");
    }
    auto bytes = read_regular_file(l.path, limits::kMaxAttestationBytes);
    if (!bytes.ok()) {
      unreadable.push_back(Rejection{file_label(l.path), std::move(bytes).error(), ""});
      continue;
    }
    read += bytes->size();
    if (!seen.insert(crypto::Sha256::hash(crypto::as_bytes(*bytes))).second) {
      continue;  // the same bytes decide the same way
    }
    visit(EvidenceFile{l.path, std::move(bytes).value()});
  }
  return ok_status();
}

std::string evidence_fingerprint(const std::vector<fs::path>& stores, std::string_view hex) {
  crypto::Sha256 h;
  if (!valid_hex_digest(hex)) {
    return "";
  }
  const auto add = [&h](const std::string& name, const struct stat& st) {
    const std::string line = name + '\0' + std::to_string(st.st_size) + ':' + std::to_string(st.st_ino) + ':' +
                             std::to_string(st.st_mtim.tv_sec) + '.' + std::to_string(st.st_mtim.tv_nsec) + ':' +
                             std::to_string(st.st_ctim.tv_sec) + '.' + std::to_string(st.st_ctim.tv_nsec) + '\n';
    h.update(crypto::as_bytes(line));
  };
  for (const fs::path& store : stores) {
    const fs::path dir = evidence_dir(store, hex);
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0) {
      add(dir.string(), st);  // a file added or removed, even past the listing limit
    }
    for (const fs::path& p : list_evidence_files(dir, limits::kMaxEvidenceFiles)) {
      if (::stat(p.c_str(), &st) != 0) {
        continue;
      }
      add(p.string(), st);
    }
  }
  return crypto::to_hex(h.final());
}

ModelFacts collect_model_facts(const CompiledPolicy& policy, const fs::path& model_dir, const std::string& signature_file,
                               const EvidenceOptions& options) {
  return Gatherer(policy, options).model(model_dir, signature_file);
}

ModelFacts collect_store_facts(const CompiledPolicy& policy, std::string_view hex, std::vector<std::string> lineage,
                               const EvidenceOptions& options) {
  return Gatherer(policy, options).store(hex, std::move(lineage));
}

}  // namespace modelgate::policy
