#include "crypto/trusted_root.h"

#include "base/read_file.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include "base/limits.h"
#include "crypto/encoding.h"
#include "crypto/json.h"
#include "crypto/quote.h"

namespace modelgate::crypto {

// Generated at build time from crypto/data/trusted_root_public_good.json (crypto/CMakeLists.txt).
extern const char kEmbeddedTrustedRootJson[];
extern const std::size_t kEmbeddedTrustedRootJsonSize;

namespace {

std::string at(std::string_view path, std::string_view key) {
  return std::string(path) + "." + std::string(key);
}
std::string idx(std::string_view path, std::size_t i) {
  return std::string(path) + "[" + std::to_string(i) + "]";
}

// A CA validFor without start is unbounded below; tlog and CT keys must have a start (§3.1).
constexpr std::int64_t kMinTimeMs = INT64_MIN / 2;

Result<ValidityPeriod> parse_validity(const Json* obj, std::string_view path, bool start_required) {
  ValidityPeriod v;
  v.start_ms = kMinTimeMs;
  if (obj == nullptr) {
    if (start_required) {
      return make_error(Code::kMalformed, std::string(path) + ": is missing (a log key needs validFor.start)");
    }
    return v;
  }
  if (!obj->is_object()) {
    return make_error(Code::kMalformed, std::string(path) + ": expected an object");
  }
  if (find_field(*obj, "start") != nullptr) {
    MG_ASSIGN_OR_RETURN(std::string s, get_string(*obj, "start", path));
    MG_ASSIGN_OR_RETURN_CTX(v.start_ms, parse_rfc3339_ms(s), at(path, "start"));
  } else if (start_required) {
    return make_error(Code::kMalformed, at(path, "start") + ": is missing (a log key needs validFor.start)");
  }
  if (find_field(*obj, "end") != nullptr) {
    MG_ASSIGN_OR_RETURN(std::string e, get_string(*obj, "end", path));
    MG_ASSIGN_OR_RETURN_CTX(v.end_ms, parse_rfc3339_ms(e), at(path, "end"));
    if (*v.end_ms < v.start_ms) {
      return make_error(Code::kMalformed, std::string(path) + ": end is before start");
    }
  }
  return v;
}

// parse_log_key turns publicKey.rawBytes into a key according to keyDetails (§3.2). Unsupported
// algorithms give nullopt: the instance is kept but can never verify anything.
Result<std::optional<PublicKey>> parse_log_key(const std::vector<std::uint8_t>& raw, std::string_view details,
                                               std::string_view path) {
  static constexpr std::string_view kSpkiKinds[] = {"PKIX_ECDSA_P256_SHA_256",       "PKIX_ECDSA_P384_SHA_384",
                                                    "PKIX_ECDSA_P521_SHA_512",       "PKIX_ED25519",
                                                    "PKIX_RSA_PKCS1V15_2048_SHA256", "PKIX_RSA_PKCS1V15_3072_SHA256",
                                                    "PKIX_RSA_PKCS1V15_4096_SHA256", "PKIX_RSA_PSS_2048_SHA256",
                                                    "PKIX_RSA_PSS_3072_SHA256",      "PKIX_RSA_PSS_4096_SHA256"};
  for (auto k : kSpkiKinds) {
    if (details == k) {
      auto key = parse_public_key_der(raw);
      if (!key.ok()) {
        return std::move(key).error().context(at(path, "rawBytes"));
      }
      return std::optional<PublicKey>(std::move(key).value());
    }
  }
  if (details == "PKCS1_RSA_PKCS1V5") {
    auto key = parse_rsa_public_key_pkcs1(raw);
    if (!key.ok()) {
      return std::move(key).error().context(at(path, "rawBytes"));
    }
    return std::optional<PublicKey>(std::move(key).value());
  }
  return std::optional<PublicKey>();
}

// instance_objects returns the elements of trustedRoot.<key> (none when the field is absent),
// at most limits::kMaxTrustedRootInstances of them, each of which must be an object.
Result<std::vector<const Json*>> instance_objects(const Json& doc, std::string_view key) {
  std::vector<const Json*> out;
  if (find_field(doc, key) == nullptr) {
    return out;
  }
  MG_ASSIGN_OR_RETURN(const Json* arr, get_array(doc, key, "trustedRoot"));
  if (arr->size() > limits::kMaxTrustedRootInstances) {
    return make_error(Code::kLimit, at("trustedRoot", key) + ": too many instances");
  }
  for (std::size_t i = 0; i < arr->size(); ++i) {
    if (!(*arr)[i].is_object()) {
      return make_error(Code::kMalformed, idx(at("trustedRoot", key), i) + ": expected an object");
    }
    out.push_back(&(*arr)[i]);
  }
  return out;
}

Result<std::vector<TransparencyLog>> parse_logs(const Json& doc, std::string_view key, bool is_tlog) {
  std::vector<TransparencyLog> out;
  MG_ASSIGN_OR_RETURN(std::vector<const Json*> entries, instance_objects(doc, key));
  for (std::size_t i = 0; i < entries.size(); ++i) {
    std::string p = idx(at("trustedRoot", key), i);
    const Json& e = *entries[i];
    TransparencyLog log;
    if (find_field(e, "baseUrl") != nullptr) {
      MG_ASSIGN_OR_RETURN(log.base_url, get_string(e, "baseUrl", p));
    }
    if (find_field(e, "hashAlgorithm") != nullptr || is_tlog) {
      auto hash = get_string(e, "hashAlgorithm", p);
      if (!hash.ok()) {
        return std::move(hash).error();
      }
      if (hash.value().compare("SHA2_256") != 0) {
        return make_error(Code::kUnsupported,
                          at(p, "hashAlgorithm") + ": unsupported " + quote_untrusted(hash.value(), 64));
      }
    }
    MG_ASSIGN_OR_RETURN(const Json* pk, get_object(e, "publicKey", p));
    std::string pkp = at(p, "publicKey");
    MG_ASSIGN_OR_RETURN(auto raw, get_bytes(*pk, "rawBytes", pkp, limits::kMaxKeyFileBytes));
    MG_ASSIGN_OR_RETURN(log.key_details, get_string(*pk, "keyDetails", pkp));
    MG_ASSIGN_OR_RETURN(log.key, parse_log_key(raw, log.key_details, pkp));
    MG_ASSIGN_OR_RETURN(log.valid_for, parse_validity(find_field(*pk, "validFor"), at(pkp, "validFor"), true));
    MG_ASSIGN_OR_RETURN(const Json* log_id, get_object(e, "logId", p));
    MG_ASSIGN_OR_RETURN(log.log_id, get_bytes(*log_id, "keyId", at(p, "logId"), 64));
    if (log.log_id.empty()) {
      return make_error(Code::kMalformed, at(p, "logId.keyId") + ": is empty");
    }
    out.push_back(std::move(log));
  }
  return out;
}

Result<std::vector<CertificateAuthority>> parse_cas(const Json& doc, std::string_view key) {
  std::vector<CertificateAuthority> out;
  MG_ASSIGN_OR_RETURN(std::vector<const Json*> entries, instance_objects(doc, key));
  for (std::size_t i = 0; i < entries.size(); ++i) {
    std::string p = idx(at("trustedRoot", key), i);
    const Json& e = *entries[i];
    CertificateAuthority ca;
    if (find_field(e, "uri") != nullptr) {
      MG_ASSIGN_OR_RETURN(ca.uri, get_string(e, "uri", p));
    }
    MG_ASSIGN_OR_RETURN(const Json* chain, get_object(e, "certChain", p));
    MG_ASSIGN_OR_RETURN(const Json* certs, get_array(*chain, "certificates", at(p, "certChain")));
    if (certs->empty()) {
      return make_error(Code::kMalformed, at(p, "certChain.certificates") + ": is empty");
    }
    if (certs->size() > limits::kMaxChainCertificates) {
      return make_error(Code::kLimit, at(p, "certChain.certificates") + ": too many certificates");
    }
    for (std::size_t j = 0; j < certs->size(); ++j) {
      std::string cp = idx(at(p, "certChain.certificates"), j);
      MG_ASSIGN_OR_RETURN(auto der, get_bytes((*certs)[j], "rawBytes", cp, limits::kMaxCertificateBytes));
      MG_ASSIGN_OR_RETURN_CTX(auto cert, Certificate::from_der(der), cp);
      ca.chain.push_back(std::move(cert));
    }
    MG_ASSIGN_OR_RETURN(ca.valid_for, parse_validity(find_field(e, "validFor"), at(p, "validFor"), false));
    out.push_back(std::move(ca));
  }
  return out;
}

const TransparencyLog* find_log(const std::vector<TransparencyLog>& logs, std::span<const std::uint8_t> id) {
  for (const auto& l : logs) {
    if (l.log_id.size() == id.size() && std::equal(l.log_id.begin(), l.log_id.end(), id.begin())) {
      return &l;
    }
  }
  return nullptr;
}

}  // namespace

std::string TransparencyLog::host() const {
  std::string_view s = base_url;
  if (auto p = s.find("://"); p != std::string_view::npos) {
    s.remove_prefix(p + 3);
  }
  s = s.substr(0, s.find_first_of("/?#"));
  if (auto p = s.rfind('@'); p != std::string_view::npos) {
    s.remove_prefix(p + 1);
  }
  if (!s.empty() && s.front() == '[') {
    return std::string(s.substr(1, s.find(']') == std::string_view::npos ? s.size() - 1 : s.find(']') - 1));
  }
  return std::string(s.substr(0, s.find(':')));
}

const TransparencyLog* TrustedRoot::find_tlog(std::span<const std::uint8_t> log_id) const {
  return find_log(tlogs, log_id);
}

const TransparencyLog* TrustedRoot::find_ctlog(std::span<const std::uint8_t> log_id) const {
  return find_log(ctlogs, log_id);
}

Result<void> verify_log_signature(const TransparencyLog& log, std::span<const std::uint8_t> data,
                                  std::span<const std::uint8_t> sig) {
  if (!log.key) {
    return make_error(Code::kUnsupported, "log key type " + quote_untrusted(log.key_details, 64) + " is not supported");
  }
  const std::string& d = log.key_details;
  if (d == "PKIX_ECDSA_P384_SHA_384") {
    return verify_signature(*log.key, HashAlg::kSha384, data, sig);
  }
  if (d == "PKIX_ECDSA_P521_SHA_512") {
    return verify_signature(*log.key, HashAlg::kSha512, data, sig);
  }
  if (d.rfind("PKIX_RSA_PSS_", 0) == 0) {
    return verify_signature_rsa_pss(*log.key, HashAlg::kSha256, data, sig);
  }
  // P-256/SHA-256, Ed25519 (hash ignored) and RSA PKCS#1 v1.5 with SHA-256.
  return verify_signature(*log.key, HashAlg::kSha256, data, sig);
}

Result<TrustedRoot> parse_trusted_root(std::string_view json) {
  MG_ASSIGN_OR_RETURN_CTX(Json doc, parse_json(json, {limits::kMaxTrustedRootBytes, limits::kMaxJsonDepth}),
                          "trustedRoot");
  if (!doc.is_object()) {
    return make_error(Code::kMalformed, "trustedRoot: expected a JSON object");
  }
  TrustedRoot root;
  MG_ASSIGN_OR_RETURN(root.media_type, get_string(doc, "mediaType", "trustedRoot"));
  if (root.media_type != "application/vnd.dev.sigstore.trustedroot+json;version=0.1" &&
      root.media_type != "application/vnd.dev.sigstore.trustedroot.v0.1+json" &&
      root.media_type != "application/vnd.dev.sigstore.trustedroot.v0.2+json") {
    return make_error(Code::kUnsupported,
                      "trustedRoot.mediaType: unsupported media type " + quote_untrusted(root.media_type));
  }
  MG_ASSIGN_OR_RETURN(root.tlogs, parse_logs(doc, "tlogs", true));
  MG_ASSIGN_OR_RETURN(root.ctlogs, parse_logs(doc, "ctlogs", false));
  MG_ASSIGN_OR_RETURN(root.certificate_authorities, parse_cas(doc, "certificateAuthorities"));
  MG_ASSIGN_OR_RETURN(root.timestamp_authorities, parse_cas(doc, "timestampAuthorities"));
  return root;
}

Result<TrustedRoot> load_trusted_root_file(const std::filesystem::path& path) {
  auto read = read_regular_file(path, limits::kMaxTrustedRootBytes);
  if (!read.ok()) {
    return std::move(read).error().context(path.string());
  }
  std::string data = std::move(read).value();
  auto r = parse_trusted_root(data);
  if (!r.ok()) {
    return std::move(r).error().context(path.string());
  }
  return std::move(r).value();
}

const TrustedRoot& default_trusted_root() {
  static const TrustedRoot root = [] {
    auto r = parse_trusted_root(std::string_view(kEmbeddedTrustedRootJson, kEmbeddedTrustedRootJsonSize));
    if (!r.ok()) {
      std::fprintf(stderr, "modelgate: embedded trusted root does not parse: %s\n", r.error().message.c_str());
      std::abort();
    }
    return std::move(r).value();
  }();
  return root;
}

}  // namespace modelgate::crypto
