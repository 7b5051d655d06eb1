#include "policy/trust_material.h"

#include <algorithm>
#include <system_error>

#include "base/limits.h"
#include "crypto/keys.h"
#include "crypto/trusted_root.h"
#include "crypto/x509.h"

namespace modelgate::policy {

namespace fs = std::filesystem;

namespace {

// Loader opens each file once and records every problem at the policy position naming it.
class Loader {
 public:
  explicit Loader(std::vector<fs::path>& files) : files_(files) {}

  std::optional<crypto::PublicKey> key(const PathRef& ref) {
    note(ref.resolved);
    auto it = keys_.find(ref.resolved);
    if (it == keys_.end()) {
      it = keys_.emplace(ref.resolved, crypto::load_public_key_file(ref.resolved)).first;
    }
    if (!it->second.ok()) {
      fail(ref, "public key", it->second.error());
      return std::nullopt;
    }
    return it->second.value();
  }

  std::optional<std::vector<crypto::Certificate>> certificates(const PathRef& ref) {
    note(ref.resolved);
    auto r = crypto::load_certificates_file(ref.resolved);
    if (!r.ok()) {
      fail(ref, "certificate roots", r.error());
      return std::nullopt;
    }
    return std::move(r).value();
  }

  // root returns the trusted root at `ref` (nullptr = the embedded one when ref is absent).
  std::optional<std::shared_ptr<const crypto::TrustedRoot>> root(const std::optional<PathRef>& ref) {
    if (!ref) {
      return std::shared_ptr<const crypto::TrustedRoot>();
    }
    note(ref->resolved);
    auto it = roots_.find(ref->resolved);
    if (it == roots_.end()) {
      auto r = crypto::load_trusted_root_file(ref->resolved);
      std::shared_ptr<const crypto::TrustedRoot> p;
      if (r.ok()) {
        p = std::make_shared<const crypto::TrustedRoot>(std::move(r).value());
      } else {
        fail(*ref, "trusted root", r.error());
        return std::nullopt;
      }
      it = roots_.emplace(ref->resolved, std::move(p)).first;
    }
    return it->second;
  }

  std::shared_ptr<const DatasetCatalog> catalog(const PathRef& ref) {
    note(ref.resolved);
    auto it = catalogs_.find(ref.resolved);
    if (it != catalogs_.end()) {
      return it->second;
    }
    CatalogOutcome c = load_dataset_catalog(ref.resolved);
    for (Diagnostic& d : c.diagnostics) {
      if (d.severity == Severity::kError) {
        diagnostics_.push_back(std::move(d));
      }
    }
    if (!c.ok()) {
      diagnostics_.push_back(Diagnostic{ref.position, Severity::kError, Code::kMalformed,
                                        "dataset catalog " + quote(ref.written) + " does not load", ""});
    }
    catalogs_.emplace(ref.resolved, c.catalog);
    return c.catalog;
  }

  // key_dir lists the regular *.pem / *.pub files of a reviewer key directory.
  std::vector<std::pair<fs::path, crypto::PublicKey>> key_dir(const PathRef& ref) {
    std::vector<std::pair<fs::path, crypto::PublicKey>> out;
    note(ref.resolved);
    std::error_code ec;
    std::vector<fs::path> names;
    fs::directory_iterator it(ref.resolved, ec);
    if (ec) {
      fail(ref, "reviewer key directory", make_error(Code::kIo, "cannot list: " + ec.message()));
      return out;
    }
    for (; it != fs::directory_iterator(); it.increment(ec)) {
      if (ec) {
        break;
      }
      const fs::path& p = it->path();
      const std::string name = p.filename().string();
      if (name.empty() || name[0] == '.') {
        continue;  // ConfigMap internals ("..data") and hidden files
      }
      const std::string ext = p.extension().string();
      if (ext != ".pem" && ext != ".pub") {
        continue;
      }
      if (!fs::is_regular_file(p, ec)) {
        continue;
      }
      names.push_back(p);
      if (names.size() > limits::kMaxPolicyListItems) {
        fail(ref, "reviewer key directory",
             make_error(Code::kLimit, "too many key files (more than " +
                                          std::to_string(limits::kMaxPolicyListItems) + ")"));
        return {};
      }
    }
    std::sort(names.begin(), names.end());
    if (names.empty()) {
      fail(ref, "reviewer key directory", make_error(Code::kNotFound, "holds no *.pem or *.pub key files"));
    }
    for (const fs::path& p : names) {
      PathRef one{ref.written + "/" + p.filename().string(), p, ref.position};
      if (auto k = key(one)) {
        out.emplace_back(p, *k);
      }
    }
    return out;
  }

  std::vector<Diagnostic> take() { return std::move(diagnostics_); }

 private:
  void note(const fs::path& p) {
    if (std::find(files_.begin(), files_.end(), p) == files_.end()) {
      files_.push_back(p);
    }
  }
  void fail(const PathRef& ref, std::string_view what, const Error& e) {
    diagnostics_.push_back(Diagnostic{ref.position, Severity::kError, e.code,
                                      std::string(what) + " " + quote(ref.written) + ": " + e.message, ""});
  }

  std::vector<fs::path>& files_;
  std::map<fs::path, Result<crypto::PublicKey>> keys_;
  std::map<fs::path, std::shared_ptr<const crypto::TrustedRoot>> roots_;
  std::map<fs::path, std::shared_ptr<const DatasetCatalog>> catalogs_;
  std::vector<Diagnostic> diagnostics_;
};

std::optional<TrustedMethod> keyless_method(Loader& loader, const KeylessIdentity& k) {
  auto root = loader.root(k.trusted_root);
  if (!root) {
    return std::nullopt;
  }
  crypto::SigstoreMethod m;
  m.identity.issuer = k.issuer.value;
  if (k.subject) {
    m.identity.identity = k.subject->value;
  } else if (k.subject_regex) {
    m.identity.identity = k.subject_regex->source;
    m.identity.identity_is_regex = true;
  }
  m.trusted_root = *root;
  std::string label = "keyless " + k.issuer.value + " " +
                      (k.subject ? k.subject->value : "~" + k.subject_regex->source);
  return TrustedMethod{std::move(label), std::move(m)};
}

}  // namespace

const TrustedMethod* CompiledPolicy::signer(std::string_view name) const {
  auto it = signers.find(name);
  return it == signers.end() ? nullptr : &it->second;
}

const CompiledPolicy* TrustedPolicySet::find(std::string_view name) const {
  for (const CompiledPolicy& p : policies_) {
    if (p.policy->name.value == name) {
      return &p;
    }
  }
  return nullptr;
}

TrustOutcome compile_trust(std::shared_ptr<const PolicySet> set) {
  TrustOutcome out;
  auto trusted = std::make_shared<TrustedPolicySet>();
  trusted->set_ = set;
  trusted->files_ = set->files();
  Loader loader(trusted->files_);
  for (const Policy& p : set->policies()) {
    CompiledPolicy c;
    c.policy = &p;
    for (const Signer& s : p.trust.signers) {
      std::optional<TrustedMethod> m;
      if (const auto* k = std::get_if<PublicKeyTrust>(&s.method)) {
        if (auto key = loader.key(k->path)) {
          m = TrustedMethod{"key " + k->path.written, crypto::KeyMethod{*key}};
        }
      } else if (const auto* ct = std::get_if<CertificateTrust>(&s.method)) {
        if (auto anchors = loader.certificates(ct->roots)) {
          m = TrustedMethod{"certificate roots " + ct->roots.written, crypto::CertificateMethod{*anchors}};
        }
      } else {
        m = keyless_method(loader, std::get<KeylessIdentity>(s.method));
      }
      if (m) {
        c.signers.emplace(s.name.value, std::move(*m));
      }
    }
    for (const ReviewerGroup& g : p.trust.reviewers) {
      std::vector<TrustedMethod> methods;
      for (const PathRef& k : g.public_keys) {
        if (auto key = loader.key(k)) {
          methods.push_back(TrustedMethod{"key " + k.written, crypto::KeyMethod{*key}});
        }
      }
      if (g.public_key_dir) {
        for (auto& [path, key] : loader.key_dir(*g.public_key_dir)) {
          methods.push_back(TrustedMethod{"key " + path.filename().string(), crypto::KeyMethod{key}});
        }
      }
      for (const KeylessIdentity& k : g.keyless) {
        if (auto m = keyless_method(loader, k)) {
          methods.push_back(std::move(*m));
        }
      }
      c.reviewers.emplace(g.name.value, std::move(methods));
    }
    if (p.require.datasets) {
      c.catalog = loader.catalog(p.require.datasets->catalog);
    }
    trusted->policies_.push_back(std::move(c));
  }
  out.diagnostics = loader.take();
  sort_diagnostics(out.diagnostics);
  if (!has_errors(out.diagnostics)) {
    out.trusted = std::move(trusted);
  }
  return out;
}

void apply_root_overrides(std::vector<Policy>& policies, std::span<const RootOverride> overrides) {
  if (overrides.empty()) {
    return;
  }
  // remap rewrites an absolute path under an override's `from` (longest wins) to its `to`.
  auto remap = [&](const std::string& path) -> std::optional<std::string> {
    const RootOverride* best = nullptr;
    for (const RootOverride& o : overrides) {
      bool below = path == o.from || (path.size() > o.from.size() && path.compare(0, o.from.size(), o.from) == 0 &&
                                      (o.from.back() == '/' || path[o.from.size()] == '/'));
      if (below && (best == nullptr || o.from.size() > best->from.size())) {
        best = &o;
      }
    }
    if (best == nullptr) {
      return std::nullopt;
    }
    std::string rest = path.substr(best->from.size());
    while (!rest.empty() && rest.front() == '/') {
      rest.erase(0, 1);
    }
    std::string out = (rest.empty() ? best->to : best->to / rest).lexically_normal().string();
    while (out.size() > 1 && out.back() == '/') {
      out.pop_back();
    }
    return out;
  };
  auto remap_ref = [&](PathRef& ref) {
    if (auto r = remap(ref.resolved.string())) {
      ref.resolved = *r;
    }
  };
  auto remap_keyless = [&](KeylessIdentity& k) {
    if (k.trusted_root) {
      remap_ref(*k.trusted_root);
    }
  };
  for (Policy& p : policies) {
    for (Source& s : p.sources) {
      if (auto r = remap(s.root.value)) {
        s.root.value = *r;
      }
    }
    for (Signer& s : p.trust.signers) {
      if (auto* k = std::get_if<PublicKeyTrust>(&s.method)) {
        remap_ref(k->path);
      } else if (auto* c = std::get_if<CertificateTrust>(&s.method)) {
        remap_ref(c->roots);
      } else {
        remap_keyless(std::get<KeylessIdentity>(s.method));
      }
    }
    for (ReviewerGroup& g : p.trust.reviewers) {
      for (PathRef& k : g.public_keys) {
        remap_ref(k);
      }
      if (g.public_key_dir) {
        remap_ref(*g.public_key_dir);
      }
      for (KeylessIdentity& k : g.keyless) {
        remap_keyless(k);
      }
    }
    if (p.require.datasets) {
      remap_ref(p.require.datasets->catalog);
    }
  }
}

TrustOutcome load_trusted_policies(std::span<const fs::path> paths, std::uint64_t generation,
                                   std::span<const RootOverride> overrides) {
  PolicySetOutcome set = load_policy_set(paths, generation);
  if (!set.ok()) {
    return TrustOutcome{nullptr, std::move(set.diagnostics)};
  }
  if (!overrides.empty()) {
    std::vector<Policy> copy = set.set->policies();
    apply_root_overrides(copy, overrides);
    PolicySetOutcome rebuilt = build_policy_set(std::move(copy), set.set->files(), generation);
    if (!rebuilt.ok()) {
      return TrustOutcome{nullptr, std::move(rebuilt.diagnostics)};
    }
    rebuilt.diagnostics.insert(rebuilt.diagnostics.end(), set.diagnostics.begin(), set.diagnostics.end());
    set = std::move(rebuilt);
  }
  TrustOutcome t = compile_trust(set.set);
  // Keep the policy loader's warnings beside trust problems.
  for (Diagnostic& d : set.diagnostics) {
    t.diagnostics.push_back(std::move(d));
  }
  sort_diagnostics(t.diagnostics);
  return t;
}

}  // namespace modelgate::policy
