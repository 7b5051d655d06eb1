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

#include "base/limits.h"
#include "crypto/bundle.h"
#include "crypto/dsse.h"
#include "crypto/encoding.h"
#include "crypto/json.h"
#include "crypto/statement.h"

namespace modelgate::crypto {

namespace fs = std::filesystem;

namespace {

// read_signature_file reads at most limits::kMaxBundleBytes. kNotFound / kIo are "cannot open"
// (a usage problem for the CLI), kLimit is a hostile or wrong file.
Result<std::string> read_signature_file(const fs::path& path) { return read_regular_file(path, limits::kMaxBundleBytes); }

bool is_ec_curve(KeyType t) {
  return t == KeyType::kEcdsaP256 || t == KeyType::kEcdsaP384 || t == KeyType::kEcdsaP521;
}

std::string short_hex(std::string_view hex) {
  return hex.size() > 16 ? std::string(hex.substr(0, 8)) + "…" + std::string(hex.substr(hex.size() - 4))
                         : std::string(hex);
}

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

}  // namespace

std::string python_bytes_repr(std::span<const std::uint8_t> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  bool has_single = std::find(bytes.begin(), bytes.end(), '\'') != bytes.end();
  bool has_double = std::find(bytes.begin(), bytes.end(), '"') != bytes.end();
  // CPython bytes_repr: use '"' only when the bytes contain ' and no ".
  char quote = (has_single && !has_double) ? '"' : '\'';
  std::string out;
  out.reserve(bytes.size() + bytes.size() / 8 + 3);
  out += 'b';
  out += quote;
  for (std::uint8_t c : bytes) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == static_cast<std::uint8_t>(quote)) {
      out += '\\';
      out += quote;
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c >= 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  out += quote;
  return out;
}

std::vector<std::uint8_t> legacy_v02_pae(std::span<const std::uint8_t> payload) {
  // model_signing ≤ 0.2 built the PAE with a capital V and the Python repr of the payload
  // (model_signing.md §1.2); the payload type is fixed.
  std::string s = "DSSEV1 28 application/vnd.in-toto+json " + std::to_string(payload.size()) + " " +
                  python_bytes_repr(payload);
  return std::vector<std::uint8_t>(s.begin(), s.end());
}

std::string_view verify_method_name(const VerifyMethod& method) {
  switch (method.index()) {
    case 0: return "key";
    case 1: return "certificate";
    default: return "sigstore";
  }
}

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

  Result<VerifiedModel> run() {
    MG_ASSIGN_OR_RETURN_CTX(std::string json, read_signature_file(signature_path_), sig_label_);
    MG_ASSIGN_OR_RETURN_CTX(Bundle bundle, parse_bundle(json), sig_label_ + ": bundle");
    check("bundle: " + bundle.media_type + " (" + std::to_string(json.size()) + " bytes)");

    std::vector<std::uint8_t> payload;
    bool legacy_pae = false;
    if (const auto* key = std::get_if<KeyMethod>(&method_)) {
      MG_TRY_CTX(verify_key(bundle, *key, legacy_pae), sig_label_);
      payload = bundle.dsse->payload;
    } else if (const auto* cert = std::get_if<CertificateMethod>(&method_)) {
      MG_TRY_CTX(verify_certificate(bundle, *cert, legacy_pae), sig_label_);
      payload = bundle.dsse->payload;
    } else {
      MG_ASSIGN_OR_RETURN_CTX(payload, verify_sigstore(bundle, std::get<SigstoreMethod>(method_)), sig_label_);
    }

    MG_ASSIGN_OR_RETURN_CTX(SignedModel signed_model, parse_signed_model(payload), sig_label_);
    if (legacy_pae && signed_model.version != PredicateVersion::kLegacyDigestsV01) {
      // Only model_signing ≤ 0.2 signed the buggy PAE, and it only wrote Digests/v0.1.
      return make_error(Code::kBadSignature, sig_label_ + ": signature: the legacy v0.2 encoding is only "
                                                          "accepted for legacy Digests/v0.1 statements");
    }
    describe_statement(signed_model);

    MG_ASSIGN_OR_RETURN_CTX(Manifest local, hash_local(signed_model), "model");
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

  // dsse_of checks the envelope shape every method shares.
  Result<const DsseEnvelope*> dsse_of(const Bundle& bundle) {
    if (!bundle.dsse) {
      return make_error(Code::kUnsupported, "bundle: holds a messageSignature, not a DSSE envelope");
    }
    const DsseEnvelope& env = *bundle.dsse;
    if (env.signatures.size() != 1) {
      return make_error(Code::kMalformed, "bundle.dsseEnvelope: expected exactly one signature, found " +
                                              std::to_string(env.signatures.size()));
    }
    if (env.payload_type != kInTotoPayloadType) {
      return make_error(Code::kUnsupported, "bundle.dsseEnvelope.payloadType " +
                                                quote_for_message(env.payload_type) + " is not " +
                                                std::string(kInTotoPayloadType));
    }
    return &env;
  }

  // verify_dsse_signature checks the DSSE signature with `key`: the standard PAE with `hash`,
  // then the legacy v0.2 PAE with each of `legacy_hashes`.
  Result<void> verify_dsse_signature(const DsseEnvelope& env, const PublicKey& key, HashAlg hash,
                                     std::initializer_list<HashAlg> legacy_hashes, bool& legacy_pae) {
    const std::vector<std::uint8_t>& sig = env.signatures[0].sig;
    std::vector<std::uint8_t> pae = dsse_pae(env.payload_type, env.payload);
    auto r = verify_signature(key, hash, pae, sig);
    if (r.ok()) {
      check("signature: " + std::string(key_type_name(key.type())) + " with " + std::string(hash_name(hash)) +
            " over the DSSE PAE verifies");
      return ok_status();
    }
    if (r.error().code != Code::kBadSignature) {
      return std::move(r).error().context("signature");
    }
    std::vector<std::uint8_t> legacy = legacy_v02_pae(env.payload);
    for (HashAlg h : legacy_hashes) {
      if (verify_signature(key, h, legacy, sig).ok()) {
        legacy_pae = true;
        check("signature: " + std::string(key_type_name(key.type())) + " with " + std::string(hash_name(h)) +
              " over the legacy model_signing v0.2 PAE verifies");
        warn("signature uses model_signing v0.2's legacy encoding; re-sign the model with a current signer");
        return ok_status();
      }
    }
    return make_error(Code::kBadSignature, "signature: does not verify with the " +
                                               std::string(key_type_name(key.type())) + " key " +
                                               short_hex(public_key_hint(key)));
  }

  Result<void> verify_key(const Bundle& bundle, const KeyMethod& m, bool& legacy_pae) {
    if (bundle.material != MaterialKind::kPublicKey) {
      return make_error(Code::kMismatch, "bundle: signed with a certificate, not a public key "
                                         "(verify it with the certificate or sigstore method)");
    }
    MG_ASSIGN_OR_RETURN(const DsseEnvelope* env, dsse_of(bundle));
    if (!is_ec_curve(m.public_key.type())) {
      return make_error(Code::kUnsupported, "key: " + std::string(key_type_name(m.public_key.type())) +
                                                " keys are not supported (ECDSA P-256, P-384, P-521)");
    }
    key_hint_ = public_key_hint(m.public_key);
    signer_ = "key " + key_hint_;
    if (bundle.public_key_hint) {
      // The hint is unauthenticated; it only selects the key. A different hint means the model
      // was signed by another key (model_signing.md §3.1).
      if (!constant_time_equal(as_bytes(*bundle.public_key_hint), as_bytes(key_hint_))) {
        return make_error(Code::kMismatch, "key mismatch: the signature names key " +
                                               quote_for_message(*bundle.public_key_hint) +
                                               ", the configured key is " + key_hint_);
      }
      check("key: the bundle's key hint matches the configured key " + key_hint_);
    } else {
      warn("signature does not name its key (legacy rawBytes bundle); checking it with the configured key");
    }
    if (!bundle.tlog_entries.empty()) {
      warn("bundle carries " + std::to_string(bundle.tlog_entries.size()) +
           " transparency-log entries; the key method does not check them");
    }
    HashAlg h = curve_hash(m.public_key);
    // v0.2 signed the legacy PAE with SHA-256 whatever the curve; upstream's fallback uses the
    // curve hash. Try both (§1.2).
    return verify_dsse_signature(*env, m.public_key, h, {HashAlg::kSha256, h}, legacy_pae);
  }

  Result<void> verify_certificate(const Bundle& bundle, const CertificateMethod& m, bool& legacy_pae) {
    if (bundle.material == MaterialKind::kPublicKey) {
      return make_error(Code::kMismatch, "bundle: signed with a bare public key, not a certificate "
                                         "(verify it with the key method)");
    }
    MG_ASSIGN_OR_RETURN(const DsseEnvelope* env, dsse_of(bundle));
    if (m.anchors.empty()) {
      return make_error(Code::kUntrusted, "certificate: no trust anchors configured");
    }
    if (bundle.certificates_der.empty()) {
      return make_error(Code::kMalformed, "bundle: no certificate");
    }
    std::vector<Certificate> certs;
    for (std::size_t i = 0; i < bundle.certificates_der.size(); ++i) {
      MG_ASSIGN_OR_RETURN_CTX(Certificate c, Certificate::from_der(bundle.certificates_der[i]),
                              "bundle: certificate[" + std::to_string(i) + "]");
      certs.push_back(std::move(c));
    }
    const Certificate& leaf = certs[0];
    std::span<const Certificate> untrusted(certs.data() + 1, certs.size() - 1);
    // TIME POLICY: the chain must be valid now (our deliberate choice, as the OMS spec words it);
    // upstream validates at the leaf's notBefore, so expired certificates pass there (§3.2).
    std::int64_t now = options_.now ? *options_.now : static_cast<std::int64_t>(std::time(nullptr));
    ChainOptions co;
    co.at_time = options_.allow_unsafe_expired_certificate ? leaf.not_before() : now;
    MG_ASSIGN_OR_RETURN_CTX(std::vector<Certificate> path, verify_chain(leaf, untrusted, m.anchors, co),
                            "certificate");
    if (options_.allow_unsafe_expired_certificate) {
      warn("certificate chain validated at the leaf's notBefore " + format_time(leaf.not_before()) +
           ", not now (--allow-unsafe-expired-certificate)");
    }
    check("certificate: " + quote_for_message(leaf.subject()) + " chains to trusted root " +
          quote_for_message(path.back().subject()) + " at " + format_time(co.at_time));
    if (!leaf.key_usage_digital_signature() && !leaf.eku_code_signing()) {
      return make_error(Code::kUntrusted, "certificate: " + quote_for_message(leaf.subject()) +
                                              " has neither key usage digitalSignature nor extended key "
                                              "usage codeSigning");
    }
    PublicKey key = leaf.public_key();
    if (!is_ec_curve(key.type())) {
      return make_error(Code::kUnsupported, "certificate: " + std::string(key_type_name(key.type())) +
                                                " keys are not supported (ECDSA P-256, P-384, P-521)");
    }
    key_hint_ = public_key_hint(key);
    signer_ = leaf.subject();
    issuer_ = path.size() > 1 ? path[1].subject() : leaf.subject();
    // Legacy v0.2 certificate signatures are SHA-256 whatever the curve (§1.2).
    return verify_dsse_signature(*env, key, curve_hash(key), {HashAlg::kSha256}, legacy_pae);
  }

  Result<std::vector<std::uint8_t>> verify_sigstore(const Bundle& bundle, const SigstoreMethod& m) {
    if (bundle.material == MaterialKind::kPublicKey) {
      return make_error(Code::kMismatch, "bundle: signed with a bare public key, not a Sigstore certificate "
                                         "(verify it with the key method)");
    }
    MG_ASSIGN_OR_RETURN(const DsseEnvelope* env, dsse_of(bundle));
    (void)env;
    const TrustedRoot& root = m.trusted_root ? *m.trusted_root : default_trusted_root();
    MG_ASSIGN_OR_RETURN_CTX(VerifiedBundle vb, verify_bundle_keyless(bundle, root, m.identity, ArtifactRef{}),
                            "sigstore");
    for (const std::string& c : vb.checks()) {
      check("sigstore: " + c);
    }
    signer_ = vb.identity();
    issuer_ = vb.issuer();
    if (vb.signing_certificate()) {
      key_hint_ = public_key_hint(vb.signing_certificate()->public_key());
    }
    if (vb.payload_type() != kInTotoPayloadType) {
      return make_error(Code::kUnsupported, "bundle.dsseEnvelope.payloadType " +
                                                quote_for_message(vb.payload_type()) + " is not " +
                                                std::string(kInTotoPayloadType));
    }
    return vb.payload();
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
      return hash_named_resources(model_path_, names, config, options_.hash);
    }
    std::string listed;
    for (std::size_t i = 0; i < config.ignore_paths.size() && i < 10; ++i) {
      listed += (i == 0 ? "" : ", ") + quote_for_message(config.ignore_paths[i]);
    }
    if (config.ignore_paths.size() > 10) {
      listed += ", and " + std::to_string(config.ignore_paths.size() - 10) + " more";
    }
    check("hashing: the whole model, ignoring " + (listed.empty() ? std::string("nothing") : listed));
    return hash_model(model_path_, config, options_.hash);
  }

  const fs::path& model_path_;
  const fs::path& signature_path_;
  const VerifyMethod& method_;
  const ModelVerifyOptions& options_;
  std::string sig_label_;
  std::string signer_;
  std::string issuer_;
  std::string key_hint_;
  std::vector<std::string> warnings_;
};

Result<VerifiedModel> verify_model(const fs::path& model_path, const fs::path& signature_path,
                                   const VerifyMethod& method, const ModelVerifyOptions& options) {
  ModelVerifierImpl impl(model_path, signature_path, method, options);
  return impl.run();
}

}  // namespace modelgate::crypto
