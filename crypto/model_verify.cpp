#include "crypto/model_verify.h"

#include "base/read_file.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <set>
#include <sstream>
#include <unordered_map>

#include "base/limits.h"
#include "crypto/bundle.h"
#include "crypto/dsse.h"
#include "crypto/encoding.h"
#include "crypto/json.h"
#include "crypto/model_walk.h"
#include "crypto/statement.h"

namespace modelgate::crypto {

namespace fs = std::filesystem;

namespace {

// read_signature_file reads at most limits::kMaxBundleBytes. kNotFound / kIo are "cannot open"
// (a usage problem for the CLI), kLimit is a hostile or wrong file.
Result<std::string> read_signature_file(const fs::path& path) { return read_regular_file(path, limits::kMaxBundleBytes); }

// relative_inside returns `inner` relative to `root` (POSIX form) when it lies strictly inside it.
std::optional<std::string> relative_inside(const fs::path& root, const fs::path& inner) {
  std::error_code ec;
  fs::path r = fs::weakly_canonical(fs::absolute(root, ec), ec);
  if (ec) {
    return std::nullopt;
  }
  fs::path i = fs::weakly_canonical(fs::absolute(inner, ec), ec);
  if (ec) {
    return std::nullopt;
  }
  auto ri = r.begin();
  auto ii = i.begin();
  for (; ri != r.end(); ++ri, ++ii) {
    if (ri->empty()) {
      continue;  // trailing separator
    }
    if (ii == i.end() || *ri != *ii) {
      return std::nullopt;
    }
  }
  fs::path rel;
  for (; ii != i.end(); ++ii) {
    rel /= *ii;
  }
  if (rel.empty()) {
    return std::nullopt;
  }
  return rel.generic_string();
}

bool covers(std::string_view ignore, std::string_view name) {
  return name == ignore || (name.size() > ignore.size() && name.substr(0, ignore.size()) == ignore &&
                            name[ignore.size()] == '/');
}

// listed_diff compares the walked file list (names, and sizes where the signature or `cache` pins
// them) with the signed manifest before any byte is read. Only differences that hashing could not
// undo are reported: missing and unsigned files (shards mode: shard names encode the file sizes),
// and files whose size differs from that of a file the cache once hashed to the signed digest.
ManifestDiff listed_diff(const SignedModel& s, const SerializationConfig& config, const ModelTree& tree,
                         DigestCache* cache) {
  ManifestDiff diff;
  const bool shards = config.method == SerializationMethod::kShards;
  Manifest local;
  local.config = config;
  local.model_name = tree.model_name;
  const std::string algorithm = resource_algorithm(config);
  std::uint64_t count = 0;
  for (const ModelFile& f : tree.files) {
    count += shards ? f.stamp.size / config.shard_size + (f.stamp.size % config.shard_size != 0 ? 1 : 0) : 1;
  }
  if (count > limits::kMaxResources) {
    return diff;  // hash_model refuses it with kLimit before reading a byte
  }
  local.resources.reserve(static_cast<std::size_t>(count));
  for (const ModelFile& f : tree.files) {
    if (!shards) {
      local.resources.push_back(Resource{f.name, algorithm, {}});
      continue;
    }
    for (std::uint64_t start = 0; start < f.stamp.size;) {
      const std::uint64_t end = start + std::min(config.shard_size, f.stamp.size - start);
      local.resources.push_back(
          Resource{f.name + ":" + std::to_string(start) + ":" + std::to_string(end), algorithm, {}});
      start = end;
    }
  }
  diff = compare_manifest(s, local);
  diff.mismatched.clear();  // no digests yet: every common name "differs"
  for (Resource& r : diff.extra) {
    r.digest.clear();
  }
  if (cache == nullptr || shards) {
    return diff;
  }
  std::unordered_map<std::string_view, const Resource*> signed_by_name;
  for (const Resource& r : s.resources) {
    signed_by_name.emplace(r.name, &r);
  }
  for (const ModelFile& f : tree.files) {
    std::string name = f.name;
    if (tree.single_file && signed_by_name.count(name) == 0) {
      name = tree.model_name;  // Go and the OMS spec name a single file by its basename
    }
    auto it = signed_by_name.find(name);
    if (it == signed_by_name.end() || it->second->algorithm != algorithm) {
      continue;
    }
    const std::optional<std::uint64_t> size = cache->known_size(it->second->digest, config.hash_type);
    if (size && *size != f.stamp.size) {
      diff.mismatched.push_back(ResourceMismatch{name, algorithm, algorithm, it->second->digest, {}});
    }
  }
  return diff;
}

}  // namespace

// ModelVerifierImpl runs one verification; it is the only maker of VerifiedModel.
class ModelVerifierImpl {
 public:
  ModelVerifierImpl(const fs::path& model_path, const fs::path& signature_path, const VerifyMethod& method,
                    const ModelVerifyOptions& options)
      : model_path_(model_path), signature_path_(signature_path), method_(method), options_(options) {
    sig_label_ = signature_path.filename().string();
    if (sig_label_.empty()) {
      sig_label_ = "signature";
    }
  }
  ModelVerifierImpl(std::string_view label, const VerifyMethod& method, const ModelVerifyOptions& options)
      : model_path_(no_path_), signature_path_(no_path_), method_(method), options_(options), sig_label_(label) {}

  Result<VerifiedModel> run() {
    MG_ASSIGN_OR_RETURN_CTX(std::string json, read_signature_file(signature_path_), sig_label_);
    return run_json(json, [this](const SignedModel& s) { return hash_local(s); });
  }

  // run_json verifies the bundle `json`, then compares what it signed with the manifest `local`
  // makes for it (a directory hashed, or digests a caller already trusts).
  Result<VerifiedModel> run_json(std::string_view json, const std::function<Result<Manifest>(const SignedModel&)>& local_of) {
    MG_ASSIGN_OR_RETURN_CTX(Bundle bundle, parse_bundle(json), sig_label_ + ": bundle");
    check("bundle: " + bundle.media_type + " (" + std::to_string(json.size()) + " bytes)");

    DsseVerifyOptions dopts;
    dopts.allow_unsafe_expired_certificate = options_.allow_unsafe_expired_certificate;
    dopts.allow_legacy_pae = !std::holds_alternative<SigstoreMethod>(method_);
    dopts.now = options_.now;
    MG_ASSIGN_OR_RETURN_CTX(VerifiedEnvelope env, verify_dsse_bundle(bundle, method_, dopts), sig_label_);
    for (const std::string& c : env.checks()) {
      check(c);
    }
    for (const std::string& w : env.warnings()) {
      warn(w);
    }
    const bool legacy_pae = env.legacy_pae();
    signer_ = env.signer();
    issuer_ = env.issuer();
    key_hint_ = env.key_hint();
    signed_times_ = env.signed_times();
    const std::vector<std::uint8_t>& payload = env.payload();
    MG_ASSIGN_OR_RETURN_CTX(SignedModel signed_model, parse_signed_model(payload), sig_label_);
    if (legacy_pae && signed_model.version != PredicateVersion::kLegacyDigestsV01) {
      // Only model_signing ≤ 0.2 signed the buggy PAE, and it only wrote Digests/v0.1.
      return make_error(Code::kBadSignature, sig_label_ + ": signature: the legacy v0.2 encoding is only "
                                                          "accepted for legacy Digests/v0.1 statements");
    }
    describe_statement(signed_model);

    Result<Manifest> hashed = local_of(signed_model);
    if (!hashed.ok()) {
      // A list that differs from the signed one (found before hashing) is a mismatch like any other.
      if (hashed.error().code == Code::kMismatch) {
        return std::move(hashed).error();
      }
      return std::move(hashed).error().context("model");
    }
    Manifest local = std::move(hashed).value();
    ManifestDiff diff = compare_manifest(signed_model, local);
    if (!diff.empty()) {
      return make_error(Code::kMismatch, "model does not match its signature: " + diff.describe());
    }
    check("model: " + std::to_string(local.resources.size()) + (local.resources.size() == 1 ? " resource" : " resources") +
          " (" + std::to_string(local.total_bytes) + " bytes) match the signed manifest exactly");

    VerifiedModel out;
    out.root_digest_ = signed_model.root_digest;
    out.method_ = std::string(verify_method_name(method_));
    out.signer_ = signer_;
    out.issuer_ = issuer_;
    out.key_hint_ = key_hint_;
    out.signed_times_ = std::move(signed_times_);
    out.signed_ = std::move(signed_model);
    out.manifest_ = std::move(local);
    out.warnings_ = std::move(warnings_);
    return out;
  }

 private:
  void check(const std::string& line) {
    if (options_.on_check) {
      options_.on_check(line);
    }
  }
  void warn(const std::string& line) {
    warnings_.push_back(line);
    if (options_.on_warning) {
      options_.on_warning(line);
    }
  }

  void describe_statement(const SignedModel& s) {
    const SerializationConfig& c = s.serialization;
    std::string line = "statement: ";
    if (s.version == PredicateVersion::kV1) {
      line += std::string(kModelSigningPredicateV1) + ", subject digest sha256:" + to_hex(s.root_digest) +
              " equals the root of " + std::to_string(s.resources.size()) + " resources";
    } else {
      line += std::string(kModelSigningPredicateLegacy) + " (legacy), " + std::to_string(s.resources.size()) +
              " file digests";
    }
    check(line);
    std::string ser = "serialization: ";
    ser += c.method == SerializationMethod::kFiles ? "files" : "shards of " + std::to_string(c.shard_size) + " bytes";
    ser += ", " + std::string(hash_type_name(c.hash_type));
    ser += c.allow_symlinks ? ", symlinks allowed" : ", no symlinks";
    if (s.ignore_paths_recorded) {
      ser += ", " + std::to_string(c.ignore_paths.size()) + " recorded ignore paths";
    }
    check(ser);
    if (s.version == PredicateVersion::kLegacyDigestsV01) {
      warn("signature uses the legacy predicate " + std::string(kModelSigningPredicateLegacy) +
           " (model_signing ≤ 0.2)");
    }
  }

  Result<Manifest> hash_local(const SignedModel& s) {
    SerializationConfig config = s.serialization;
    // Symlinks are followed only when the signer recorded it and the verifier consents (#666).
    config.allow_symlinks = s.serialization.allow_symlinks && options_.allow_symlinks;
    if (s.serialization.allow_symlinks && !options_.allow_symlinks) {
      check("symlinks: the signature allows them but --allow-symlinks was not given; any symlink fails");
    }

    std::set<std::string> ignores(s.serialization.ignore_paths.begin(), s.serialization.ignore_paths.end());
    for (const std::string& p : options_.ignore_paths) {
      MG_TRY_CTX(check_model_relative_path(p), "ignore path " + quote_for_message(p));
      ignores.insert(p);
    }
    if (auto rel = relative_inside(model_path_, signature_path_)) {
      ignores.insert(*rel);
    }
    // The default signature file is never hashed (manifest.h), unless an older signer signed it:
    // then it is checked, as the git paths are.
    if (std::any_of(s.resources.begin(), s.resources.end(),
                    [](const Resource& r) { return covers(kDefaultSignatureFile, r.name); })) {
      check("ignore: " + std::string(kDefaultSignatureFile) + " is signed, so it is checked, not ignored");
    } else {
      ignores.insert(std::string(kDefaultSignatureFile));
    }
    if (options_.ignore_git_paths) {
      for (std::string_view g : kDefaultGitIgnores) {
        // A git path the signer signed is checked rather than ignored (v1.0.x signed them).
        bool signed_it = std::any_of(s.resources.begin(), s.resources.end(),
                                     [&](const Resource& r) { return covers(g, r.name); });
        if (signed_it) {
          check("ignore: " + std::string(g) + " is signed, so it is checked, not ignored");
        } else {
          ignores.insert(std::string(g));
        }
      }
    }
    config.ignore_paths.assign(ignores.begin(), ignores.end());

    // The walked list is compared with the signed one before a byte is read: a tree whose names
    // (or pinned sizes) differ cannot match, however big its files are. Small trees are hashed
    // anyway, so that the report names every digest.
    HashOptions hash = options_.hash;
    hash.before_hashing = [&s, &config, outer = options_.hash.before_hashing,
                           cache = options_.hash.cache](const ModelTree& tree) -> Result<void> {
      if (outer) {
        MG_TRY(outer(tree));
      }
      const ManifestDiff diff = listed_diff(s, config, tree, cache);
      if (!diff.empty() && tree.total_bytes > limits::kMaxBytesHashedForReport) {
        return make_error(Code::kMismatch, "model does not match its signature: " + diff.describe());
      }
      return ok_status();
    };

    std::error_code ec;
    fs::file_status st = fs::status(model_path_, ec);
    if (ec || !fs::exists(st)) {
      return make_error(Code::kNotFound, "cannot open " + quote_for_message(model_path_.string()) + ": no such file or directory");
    }
    if (options_.ignore_unsigned_files && fs::is_directory(st)) {
      if (config.method != SerializationMethod::kFiles) {
        return make_error(Code::kUnsupported, "--ignore-unsigned-files works with files-mode signatures only");
      }
      // Hash exactly the signed files that exist; absent ones are reported as missing by the
      // comparison. Names were checked to stay inside the model (check_model_relative_path).
      std::vector<std::string> names;
      for (const Resource& r : s.resources) {
        if (r.name == ".") {
          continue;
        }
        fs::file_status ls = fs::symlink_status(model_path_ / r.name, ec);
        if (!ec && fs::exists(ls)) {
          names.push_back(r.name);
        }
      }
      check("hashing: only the " + std::to_string(names.size()) + " signed files present (--ignore-unsigned-files)");
      return hash_named_resources(model_path_, names, config, hash);
    }
    std::string listed;
    for (std::size_t i = 0; i < config.ignore_paths.size() && i < 10; ++i) {
      listed += (i == 0 ? "" : ", ") + quote_for_message(config.ignore_paths[i]);
    }
    if (config.ignore_paths.size() > 10) {
      listed += ", and " + std::to_string(config.ignore_paths.size() - 10) + " more";
    }
    check("hashing: the whole model, ignoring " + (listed.empty() ? std::string("nothing") : listed));
    return hash_model(model_path_, config, hash);
  }

  static inline const fs::path no_path_{};
  const fs::path& model_path_;
  const fs::path& signature_path_;
  const VerifyMethod& method_;
  const ModelVerifyOptions& options_;
  std::string sig_label_;
  std::string signer_;
  std::string issuer_;
  std::string key_hint_;
  std::vector<std::int64_t> signed_times_;
  std::vector<std::string> warnings_;
};

Result<VerifiedModel> verify_model(const fs::path& model_path, const fs::path& signature_path,
                                   const VerifyMethod& method, const ModelVerifyOptions& options) {
  ModelVerifierImpl impl(model_path, signature_path, method, options);
  return impl.run();
}

Result<VerifiedModel> verify_model_listing(std::string_view bundle_json, std::string_view label,
                                           const std::function<Result<Manifest>(const SignedModel&)>& local_of,
                                           const VerifyMethod& method, const ModelVerifyOptions& options) {
  ModelVerifierImpl impl(label, method, options);
  return impl.run_json(bundle_json, local_of);
}

}  // namespace modelgate::crypto
