#include "crypto/bundle_verify.h"

#include <re2/re2.h>

#include <algorithm>
#include <set>
#include <utility>

#include "crypto/encoding.h"
#include "crypto/quote.h"
#include "crypto/sct.h"
#include "crypto/statement.h"
#include "crypto/timestamp.h"
#include "crypto/tlog.h"
#include "crypto/tlog_body.h"

namespace modelgate::crypto {

namespace {

constexpr std::string_view kOidIssuerV1 = "1.3.6.1.4.1.57264.1.1";
constexpr std::string_view kOidIssuerV2 = "1.3.6.1.4.1.57264.1.8";

std::string quote(std::string_view s) {
  return quote_untrusted(s);
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    out += (out.empty() ? "" : ", ") + quote(s);
  }
  return out.empty() ? "none" : out;
}

// issuer_of reads the Fulcio OIDC issuer: 1.8 (DER UTF8String) preferred, 1.1 (raw) as fallback,
// and both present but different is refused as ambiguous (sigstore_verify.md §4.D5).
Result<std::string> issuer_of(const Certificate& leaf) {
  auto v2 = leaf.extension_value(kOidIssuerV2);
  auto v1 = leaf.extension_value(kOidIssuerV1);
  if (!v2 && !v1) {
    return make_error(Code::kUntrusted, "certificate has no OIDC issuer extension");
  }
  auto issuer = leaf.fulcio_issuer();
  if (!issuer) {
    if (v2 && v1) {
      return make_error(Code::kUntrusted, "certificate issuer extensions 1.3.6.1.4.1.57264.1.8 and .1.1 disagree");
    }
    return make_error(Code::kMalformed, "certificate issuer extension 1.3.6.1.4.1.57264.1.8 is not a UTF8String");
  }
  return *issuer;
}

// hashes_to_try: the key's natural hash first, then SHA-256 for P-384/P-521 leaves (sigstore-go
// compatibility for bundles ≤ v0.3, §4.E1).
std::vector<HashAlg> hashes_to_try(const PublicKey& key) {
  HashAlg natural = curve_hash(key);
  if (natural == HashAlg::kSha256) {
    return {HashAlg::kSha256};
  }
  return {natural, HashAlg::kSha256};
}

}  // namespace

class BundleVerifierImpl {
 public:
  BundleVerifierImpl(const Bundle& b, const TrustedRoot& root, const ArtifactRef& artifact)
      : b_(b), root_(root), artifact_(artifact) {}

  Result<VerifiedBundle> keyless(const IdentityPolicy& policy) {
    if (b_.material == MaterialKind::kPublicKey) {
      return make_error(Code::kUntrusted,
                        "bundle is signed with a public key, not a certificate: verify it with a key");
    }
    if (b_.certificates_der.empty()) {
      return make_error(Code::kMalformed, "bundle has no certificate");
    }
    // sigstore-go: a v0.3 bundle carries its Fulcio leaf as `certificate`, never as a chain.
    if (b_.version == BundleVersion::kV03 && b_.material == MaterialKind::kCertificateChain) {
      return make_error(Code::kMalformed, "bundle v0.3 must carry certificate, not x509CertificateChain");
    }
    MG_ASSIGN_OR_RETURN_CTX(Certificate leaf, Certificate::from_der(b_.certificates_der.front()), "certificate");
    leaf_ = leaf;
    MG_TRY(prepare());
    MG_TRY(establish_times());
    MG_TRY(check_certificate(leaf, policy));
    MG_TRY(check_signature(leaf.public_key()));
    out_.certificate_ = leaf;
    return finish();
  }

  Result<VerifiedBundle> with_key(const PublicKey& key) {
    if (b_.material != MaterialKind::kPublicKey) {
      return make_error(Code::kUntrusted, "bundle is signed with a certificate, not with the given key");
    }
    key_ = key;
    MG_TRY(prepare());
    MG_TRY(establish_times());
    MG_TRY(check_signature(key));
    return finish();
  }

 private:
  // prepare picks the signature bytes and checks the content against the artifact hint (§4.A, E1).
  Result<void> prepare() {
    if (artifact_.bytes) {
      auto d = digest(HashAlg::kSha256, *artifact_.bytes);
      std::copy(d.begin(), d.end(), artifact_sha256_.begin());
      if (artifact_.sha256 && !constant_time_equal(*artifact_.sha256, artifact_sha256_)) {
        return make_error(Code::kMismatch, "artifact bytes and artifact digest disagree");
      }
      have_artifact_ = true;
    } else if (artifact_.sha256) {
      artifact_sha256_ = *artifact_.sha256;
      have_artifact_ = true;
    }
    if (b_.message_signature) {
      sig_ = b_.message_signature->signature;
      if (!have_artifact_) {
        return make_error(Code::kUnsupported, "a message signature needs the artifact or its sha256 digest");
      }
      const auto& ms = *b_.message_signature;
      if (ms.digest) {
        if (ms.digest_algorithm != "SHA2_256") {
          return make_error(Code::kUnsupported,
                            "message digest algorithm " + quote(ms.digest_algorithm) + " is not supported");
        }
        if (!constant_time_equal(*ms.digest, artifact_sha256_)) {
          return make_error(Code::kMismatch, "message digest does not match the artifact (" + to_hex(artifact_sha256_) +
                                                 " vs " + to_hex(*ms.digest) + ")");
        }
      }
    } else if (b_.dsse) {
      if (b_.dsse->signatures.size() != 1) {
        return make_error(Code::kMalformed, "DSSE envelope must carry exactly one signature (found " +
                                                std::to_string(b_.dsse->signatures.size()) + ")");
      }
      sig_ = b_.dsse->signatures.front().sig;
    } else {
      return make_error(Code::kMalformed, "bundle has no content");
    }
    return ok_status();
  }

  // establish_times verifies RFC 3161 tokens and tlog entries; it leaves the trusted times (§4.B, C).
  Result<void> establish_times() {
    if (!b_.rfc3161_timestamps.empty()) {
      TimestampResults ts = verify_timestamps(b_.rfc3161_timestamps, sig_, root_);
      if (ts.times.empty()) {
        return make_error(Code::kUntrusted, "no timestamp verifies: " + ts.rejected.front().message);
      }
      tsa_times_ = ts.times;
      out_.checks_.push_back(std::to_string(ts.times.size()) + " of " + std::to_string(b_.rfc3161_timestamps.size()) +
                             " RFC 3161 timestamps verified (genTime " + format_time(ts.times.front()) + ")");
    }
    times_ = tsa_times_;
    std::set<std::pair<std::vector<std::uint8_t>, std::int64_t>> counted;
    std::size_t verified_entries = 0;
    for (std::size_t i = 0; i < b_.tlog_entries.size(); ++i) {
      const TlogEntry& e = b_.tlog_entries[i];
      const TransparencyLog* log = root_.find_tlog(e.log_id);
      if (log == nullptr) {
        continue;  // an entry from a log we do not trust proves nothing (§3.3)
      }
      auto r = verify_entry(e, *log);
      if (!r.ok()) {
        return std::move(r).error().context("tlog entry " + std::to_string(i + 1));
      }
      if (counted.insert({e.log_id, e.log_index}).second) {
        ++verified_entries;
      }
    }
    bool need_entry = leaf_.has_value() || !root_.tlogs.empty();
    if (need_entry && verified_entries == 0) {
      return make_error(Code::kUntrusted, b_.tlog_entries.empty() ? "bundle has no transparency log entry"
                                                                  : "no transparency log entry is from a trusted log");
    }
    if (times_.empty()) {
      return make_error(Code::kUntrusted, "no trusted signing time (no verified timestamp or inclusion promise)");
    }
    std::sort(times_.begin(), times_.end());
    times_.erase(std::unique(times_.begin(), times_.end()), times_.end());
    return ok_status();
  }

  Result<void> verify_entry(const TlogEntry& e, const TransparencyLog& log) {
    MG_ASSIGN_OR_RETURN(LogGeneration gen, log_generation(e));
    LoggedSignature expected;
    expected.signature = sig_;
    expected.certificate = leaf_ ? &*leaf_ : nullptr;
    expected.key = key_ ? &*key_ : nullptr;
    expected.dsse = b_.dsse ? &*b_.dsse : nullptr;
    if (b_.message_signature) {
      expected.artifact_sha256 = std::vector<std::uint8_t>(artifact_sha256_.begin(), artifact_sha256_.end());
      if (artifact_.bytes) {
        expected.artifact_bytes = std::span<const std::uint8_t>(*artifact_.bytes);
      }
    }
    MG_ASSIGN_OR_RETURN(auto leaf_bytes, match_tlog_body(e, expected));
    std::string where = log.base_url.empty() ? "log " + base64_encode(e.log_id) : log.base_url;
    if (gen == LogGeneration::kRekorV2) {
      // Rekor v2 gives no time; its key window is checked against the TSA time instead (§3.3).
      if (!e.inclusion_proof) {
        return make_error(Code::kMalformed, "Rekor v2 entry has no inclusion proof");
      }
      bool in_window =
          std::any_of(tsa_times_.begin(), tsa_times_.end(), [&](std::int64_t t) { return log.valid_for.contains(t); });
      if (!in_window) {
        return make_error(Code::kUntrusted,
                          "a Rekor v2 entry needs a verified timestamp inside the validity of log " + where);
      }
    } else if (e.signed_entry_timestamp) {
      MG_TRY(verify_set(e, log));
      times_.push_back(e.integrated_time);
      out_.checks_.push_back("inclusion promise signed by " + where + " (integrated " + format_time(e.integrated_time) +
                             ")");
    }
    if (e.inclusion_proof) {
      MG_TRY(verify_entry_inclusion(e, log, gen, leaf_bytes));
      out_.checks_.push_back("inclusion proof for index " + std::to_string(e.inclusion_proof->log_index) +
                             " in a tree of " + std::to_string(e.inclusion_proof->tree_size) +
                             ", checkpoint signed by " + where);
    }
    return ok_status();
  }

  Result<void> check_certificate(const Certificate& leaf, const IdentityPolicy& policy) {
    // §4.D1: a path to a Fulcio CA at every trusted time; bundle-supplied intermediates ignored.
    std::optional<Certificate> issuer;
    for (std::int64_t t : times_) {
      Error last = make_error(Code::kUntrusted, "no Fulcio CA in the trusted root is valid at " + format_time(t));
      bool ok = false;
      for (const auto& ca : root_.certificate_authorities) {
        if (!ca.valid_for.contains(t)) {
          continue;
        }
        std::span<const Certificate> chain(ca.chain);
        ChainOptions opts{t, !ca.chain.back().self_signed()};
        auto path = verify_chain(leaf, chain.first(chain.size() - 1), chain.last(1), opts);
        if (path.ok()) {
          ok = true;
          if (!issuer && path->size() >= 2) {
            issuer = (*path)[1];
          }
          break;
        }
        last = std::move(path).error();
      }
      if (!ok) {
        return std::move(last).context("certificate");
      }
    }
    out_.checks_.push_back("certificate chains to a trusted Fulcio CA at " + std::to_string(times_.size()) +
                           " trusted time(s)");
    // §4.D3 leaf profile.
    if (!leaf.key_usage_digital_signature()) {
      return make_error(Code::kUntrusted, "certificate: key usage does not allow digitalSignature");
    }
    if (!leaf.eku_code_signing()) {
      return make_error(Code::kUntrusted, "certificate: extended key usage does not include codeSigning");
    }
    if (leaf.is_ca()) {
      return make_error(Code::kUntrusted, "certificate: signing certificate is a CA");
    }
    // §4.D4 SCT.
    if (!issuer) {
      return make_error(Code::kUntrusted, "certificate: has no issuing CA certificate for SCT verification");
    }
    auto scts = verify_embedded_scts(leaf, *issuer, root_);
    if (!scts.ok()) {
      return std::move(scts).error().context("certificate");
    }
    out_.checks_.push_back(std::to_string(scts.value()) + " SCT(s) from a trusted CT log");
    // §4.D5 identity and issuer.
    MG_ASSIGN_OR_RETURN_CTX(std::string issuer_url, issuer_of(leaf), "certificate");
    if (issuer_url != policy.issuer) {
      return make_error(Code::kUntrusted, "certificate: OIDC issuer does not match (expected " + quote(policy.issuer) +
                                              " vs found " + quote(issuer_url) + ")");
    }
    std::vector<std::string> sans = leaf.san_values();
    std::optional<std::string> matched;
    if (policy.identity_is_regex) {
      RE2 re(policy.identity, RE2::Quiet);
      if (!re.ok()) {
        return make_error(Code::kMalformed, "identity regex " + quote(policy.identity) + ": " + re.error());
      }
      for (const auto& s : sans) {
        if (RE2::FullMatch(s, re)) {
          matched = s;
          break;
        }
      }
    } else {
      for (const auto& s : sans) {
        if (s == policy.identity) {
          matched = s;
          break;
        }
      }
    }
    if (!matched) {
      return make_error(Code::kUntrusted, "certificate: identity does not match (expected " +
                                              std::string(policy.identity_is_regex ? "regex " : "") +
                                              quote(policy.identity) + " vs found " + join(sans) + ")");
    }
    out_.identity_ = *matched;
    out_.issuer_ = issuer_url;
    out_.checks_.push_back("identity " + quote(*matched) + " issued by " + quote(issuer_url));
    // §4.D2 is implied by D1; re-check the leaf window explicitly for a precise message.
    for (std::int64_t t : times_) {
      if (t < leaf.not_before() || t > leaf.not_after()) {
        return make_error(Code::kUntrusted, "certificate: not valid at " + format_time(t));
      }
    }
    return ok_status();
  }

  // check_signature verifies the signature over the artifact or the DSSE PAE (§4.E).
  Result<void> check_signature(const PublicKey& key) {
    if (key.type() == KeyType::kEd25519 && b_.message_signature) {
      return make_error(Code::kUnsupported, "Ed25519 message signatures (Ed25519ph) are not supported");
    }
    Error last = make_error(Code::kBadSignature, "signature does not verify");
    if (b_.message_signature) {
      for (HashAlg h : hashes_to_try(key)) {
        Result<void> r = artifact_.bytes         ? verify_signature(key, h, *artifact_.bytes, sig_)
                         : h == HashAlg::kSha256 ? verify_prehashed(key, h, artifact_sha256_, sig_)
                                                 : Result<void>(make_error(Code::kBadSignature, "skipped"));
        if (r.ok()) {
          out_.checks_.push_back("message signature verifies with the " + std::string(key_type_name(key.type())) +
                                 " key (" + std::string(hash_name(h)) + ")");
          return ok_status();
        }
        if (r.error().code != Code::kBadSignature) {
          return std::move(r).error().context("message signature");
        }
      }
      return make_error(Code::kBadSignature, "message signature does not verify with the signing key");
    }
    const DsseEnvelope& env = *b_.dsse;
    auto pae = dsse_pae(env.payload_type, env.payload);
    bool verified = false;
    for (HashAlg h : hashes_to_try(key)) {
      auto r = verify_signature(key, h, pae, sig_);
      if (r.ok()) {
        verified = true;
        break;
      }
      if (r.error().code != Code::kBadSignature) {
        return std::move(r).error().context("DSSE signature");
      }
      if (key.type() == KeyType::kEd25519) {
        break;
      }
    }
    if (!verified) {
      return make_error(Code::kBadSignature, "DSSE signature does not verify with the signing key");
    }
    out_.checks_.push_back("DSSE signature verifies with the " + std::string(key_type_name(key.type())) + " key");
    if (have_artifact_) {
      MG_TRY(check_subject(env));
    }
    return ok_status();
  }

  // check_subject requires the artifact digest among the in-toto statement's subjects (§4.E2).
  Result<void> check_subject(const DsseEnvelope& env) {
    if (env.payload_type != kInTotoPayloadType) {
      return make_error(Code::kUnsupported, "DSSE payload type " + quote(env.payload_type) +
                                                " is not an in-toto statement; cannot match the artifact");
    }
    MG_ASSIGN_OR_RETURN(Statement st, parse_statement(env.payload));
    for (const auto& subject : st.subjects) {
      for (const auto& [alg, hex] : subject.digest) {
        std::vector<std::uint8_t> want;
        if (alg == "sha256") {
          want.assign(artifact_sha256_.begin(), artifact_sha256_.end());
        } else if (artifact_.bytes && alg == "sha384") {
          want = digest(HashAlg::kSha384, *artifact_.bytes);
        } else if (artifact_.bytes && alg == "sha512") {
          want = digest(HashAlg::kSha512, *artifact_.bytes);
        } else {
          continue;
        }
        auto got = from_hex(hex);
        if (got.ok() && constant_time_equal(got.value(), want)) {
          out_.checks_.push_back("artifact is subject " + quote(subject.name) + " of the in-toto statement");
          return ok_status();
        }
      }
    }
    return make_error(Code::kMismatch, "artifact digest " + to_hex(artifact_sha256_) +
                                           " does not match any subject of the in-toto statement");
  }

  Result<VerifiedBundle> finish() {
    out_.times_ = times_;
    if (b_.dsse) {
      out_.payload_type_ = b_.dsse->payload_type;
      out_.payload_ = b_.dsse->payload;
    }
    return std::move(out_);
  }

  const Bundle& b_;
  const TrustedRoot& root_;
  const ArtifactRef& artifact_;
  std::optional<Certificate> leaf_;
  std::optional<PublicKey> key_;
  std::vector<std::uint8_t> sig_;
  Sha256Digest artifact_sha256_{};
  bool have_artifact_ = false;
  std::vector<std::int64_t> tsa_times_;
  std::vector<std::int64_t> times_;
  VerifiedBundle out_;
};

Result<VerifiedBundle> verify_bundle_keyless(const Bundle& bundle, const TrustedRoot& root,
                                             const IdentityPolicy& policy, const ArtifactRef& artifact) {
  return BundleVerifierImpl(bundle, root, artifact).keyless(policy);
}

Result<VerifiedBundle> verify_bundle_with_key(const Bundle& bundle, const TrustedRoot& root, const PublicKey& key,
                                              const ArtifactRef& artifact) {
  return BundleVerifierImpl(bundle, root, artifact).with_key(key);
}

}  // namespace modelgate::crypto
