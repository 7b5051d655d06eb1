#include "crypto/bundle.h"

#include <set>

#include "base/limits.h"
#include "crypto/encoding.h"
#include "crypto/json.h"
#include "crypto/quote.h"

namespace modelgate::crypto {

namespace {

std::string at(std::string_view path, std::string_view key) {
  return std::string(path) + "." + std::string(key);
}
std::string idx(std::string_view path, std::size_t i) {
  return std::string(path) + "[" + std::to_string(i) + "]";
}

Result<BundleVersion> version_of(std::string_view media_type) {
  // sigstore_verify.md §2.1: exactly these four spellings.
  if (media_type == "application/vnd.dev.sigstore.bundle+json;version=0.1") {
    return BundleVersion::kV01;
  }
  if (media_type == "application/vnd.dev.sigstore.bundle+json;version=0.2") {
    return BundleVersion::kV02;
  }
  if (media_type == "application/vnd.dev.sigstore.bundle+json;version=0.3" ||
      media_type == "application/vnd.dev.sigstore.bundle.v0.3+json") {
    return BundleVersion::kV03;
  }
  return make_error(Code::kUnsupported, "bundle.mediaType: unsupported media type " + quote_untrusted(media_type));
}

// count_present returns how many of `keys` are present (non-null) in `obj` (proto3 oneof check).
int count_present(const Json& obj, std::initializer_list<std::string_view> keys) {
  int n = 0;
  for (auto k : keys) {
    n += find_field(obj, k) != nullptr ? 1 : 0;
  }
  return n;
}

Result<std::int64_t> get_int64_or_zero(const Json& obj, std::string_view key, std::string_view path) {
  if (find_field(obj, key) == nullptr) {
    return std::int64_t{0};
  }
  return get_int64(obj, key, path);
}

Result<std::int64_t> get_non_negative(const Json& obj, std::string_view key, std::string_view path) {
  MG_ASSIGN_OR_RETURN(std::int64_t v, get_int64_or_zero(obj, key, path));
  if (v < 0) {
    return make_error(Code::kMalformed, at(path, key) + ": is negative (" + std::to_string(v) + ")");
  }
  return v;
}

Result<std::vector<std::uint8_t>> get_der_certificate(const Json& obj, std::string_view path) {
  MG_TRY(check_known_fields(obj, {"rawBytes"}, path));
  MG_ASSIGN_OR_RETURN(auto der, get_bytes(obj, "rawBytes", path, limits::kMaxCertificateBytes));
  if (der.empty()) {
    return make_error(Code::kMalformed, at(path, "rawBytes") + ": is empty");
  }
  return der;
}

Result<InclusionProof> parse_proof(const Json& obj, std::string_view path) {
  MG_TRY(check_known_fields(obj, {"logIndex", "rootHash", "treeSize", "hashes", "checkpoint"}, path));
  InclusionProof proof;
  MG_ASSIGN_OR_RETURN(proof.log_index, get_non_negative(obj, "logIndex", path));
  MG_ASSIGN_OR_RETURN(proof.root_hash, get_bytes(obj, "rootHash", path, 64));
  MG_ASSIGN_OR_RETURN(proof.tree_size, get_non_negative(obj, "treeSize", path));
  if (find_field(obj, "hashes") != nullptr) {
    MG_ASSIGN_OR_RETURN(const Json* hashes, get_array(obj, "hashes", path));
    if (hashes->size() > limits::kMaxInclusionProofHashes) {
      return make_error(Code::kLimit, at(path, "hashes") + ": too many hashes (" + std::to_string(hashes->size()) +
                                          " > " + std::to_string(limits::kMaxInclusionProofHashes) + ")");
    }
    for (std::size_t i = 0; i < hashes->size(); ++i) {
      const Json& h = (*hashes)[i];
      if (!h.is_string()) {
        return make_error(Code::kMalformed, idx(at(path, "hashes"), i) + ": expected a string");
      }
      auto bytes = base64_decode(h.get_ref<const std::string&>(), 64);
      if (!bytes.ok()) {
        return std::move(bytes).error().context(idx(at(path, "hashes"), i));
      }
      proof.hashes.push_back(std::move(bytes).value());
    }
  }
  // sigstore_verify.md §2.1: a proof without a checkpoint is invalid in every bundle version.
  if (find_field(obj, "checkpoint") == nullptr) {
    return make_error(Code::kMalformed, at(path, "checkpoint") + ": is missing");
  }
  MG_ASSIGN_OR_RETURN(const Json* cp, get_object(obj, "checkpoint", path));
  MG_TRY(check_known_fields(*cp, {"envelope"}, at(path, "checkpoint")));
  MG_ASSIGN_OR_RETURN(proof.checkpoint, get_string(*cp, "envelope", at(path, "checkpoint")));
  if (proof.checkpoint.empty()) {
    return make_error(Code::kMalformed, at(path, "checkpoint.envelope") + ": is empty");
  }
  if (proof.checkpoint.size() > limits::kMaxCheckpointBytes) {
    return make_error(Code::kLimit,
                      at(path, "checkpoint.envelope") + ": is " + std::to_string(proof.checkpoint.size()) + " bytes");
  }
  return proof;
}

Result<TlogEntry> parse_tlog_entry(const Json& obj, std::string_view path, BundleVersion version) {
  if (!obj.is_object()) {
    return make_error(Code::kMalformed, std::string(path) + ": expected an object");
  }
  MG_TRY(check_known_fields(
      obj,
      {"logIndex", "logId", "kindVersion", "integratedTime", "inclusionPromise", "inclusionProof", "canonicalizedBody"},
      path));
  TlogEntry e;
  MG_ASSIGN_OR_RETURN(e.log_index, get_non_negative(obj, "logIndex", path));
  MG_ASSIGN_OR_RETURN(const Json* log_id, get_object(obj, "logId", path));
  MG_TRY(check_known_fields(*log_id, {"keyId"}, at(path, "logId")));
  MG_ASSIGN_OR_RETURN(e.log_id, get_bytes(*log_id, "keyId", at(path, "logId"), 64));
  if (e.log_id.empty()) {
    return make_error(Code::kMalformed, at(path, "logId.keyId") + ": is empty");
  }
  MG_ASSIGN_OR_RETURN(const Json* kv, get_object(obj, "kindVersion", path));
  MG_TRY(check_known_fields(*kv, {"kind", "version"}, at(path, "kindVersion")));
  MG_ASSIGN_OR_RETURN(e.kind, get_string(*kv, "kind", at(path, "kindVersion")));
  MG_ASSIGN_OR_RETURN(e.version, get_string(*kv, "version", at(path, "kindVersion")));
  MG_ASSIGN_OR_RETURN(e.integrated_time, get_non_negative(obj, "integratedTime", path));
  if (find_field(obj, "inclusionPromise") != nullptr) {
    MG_ASSIGN_OR_RETURN(const Json* promise, get_object(obj, "inclusionPromise", path));
    MG_TRY(check_known_fields(*promise, {"signedEntryTimestamp"}, at(path, "inclusionPromise")));
    MG_ASSIGN_OR_RETURN(auto set, get_bytes(*promise, "signedEntryTimestamp", at(path, "inclusionPromise"),
                                            limits::kMaxCertificateBytes));
    if (set.empty()) {
      return make_error(Code::kMalformed, at(path, "inclusionPromise.signedEntryTimestamp") + ": is empty");
    }
    e.signed_entry_timestamp = std::move(set);
  }
  if (find_field(obj, "inclusionProof") != nullptr) {
    MG_ASSIGN_OR_RETURN(const Json* proof, get_object(obj, "inclusionProof", path));
    MG_ASSIGN_OR_RETURN(e.inclusion_proof, parse_proof(*proof, at(path, "inclusionProof")));
  }
  MG_ASSIGN_OR_RETURN(e.canonicalized_body, get_bytes(obj, "canonicalizedBody", path, limits::kMaxBundleBytes));
  if (e.canonicalized_body.empty()) {
    return make_error(Code::kMalformed, at(path, "canonicalizedBody") + ": is empty");
  }
  // sigstore_verify.md §2.1: v0.1 needs the SET, v0.2+ the inclusion proof.
  if (version == BundleVersion::kV01 && !e.signed_entry_timestamp) {
    return make_error(Code::kMalformed, at(path, "inclusionPromise") + ": is missing (required in bundle v0.1)");
  }
  if (version != BundleVersion::kV01 && !e.inclusion_proof) {
    return make_error(Code::kMalformed, at(path, "inclusionProof") + ": is missing (required since bundle v0.2)");
  }
  return e;
}

Result<void> parse_material(const Json& vm, Bundle& b) {
  constexpr std::string_view p = "bundle.verificationMaterial";
  MG_TRY(check_known_fields(
      vm, {"publicKey", "x509CertificateChain", "certificate", "tlogEntries", "timestampVerificationData"}, p));
  int n = count_present(vm, {"publicKey", "x509CertificateChain", "certificate"});
  if (n != 1) {
    return make_error(Code::kMalformed, std::string(p) +
                                            ": needs exactly one of publicKey, x509CertificateChain, "
                                            "certificate (found " +
                                            std::to_string(n) + ")");
  }
  if (find_field(vm, "publicKey") != nullptr) {
    b.material = MaterialKind::kPublicKey;
    MG_ASSIGN_OR_RETURN(const Json* pk, get_object(vm, "publicKey", p));
    MG_TRY(check_known_fields(*pk, {"hint", "rawBytes", "keyDetails"}, at(p, "publicKey")));
    if (find_field(*pk, "hint") != nullptr) {
      MG_ASSIGN_OR_RETURN(b.public_key_hint, get_string(*pk, "hint", at(p, "publicKey")));
    }
    if (find_field(*pk, "rawBytes") != nullptr) {
      MG_ASSIGN_OR_RETURN(b.public_key_raw_bytes,
                          get_bytes(*pk, "rawBytes", at(p, "publicKey"), limits::kMaxKeyFileBytes));
    }
    if (find_field(*pk, "keyDetails") != nullptr) {
      MG_ASSIGN_OR_RETURN(b.public_key_details, get_string(*pk, "keyDetails", at(p, "publicKey")));
    }
  } else if (find_field(vm, "x509CertificateChain") != nullptr) {
    b.material = MaterialKind::kCertificateChain;
    MG_ASSIGN_OR_RETURN(const Json* chain, get_object(vm, "x509CertificateChain", p));
    std::string cp = at(p, "x509CertificateChain");
    MG_TRY(check_known_fields(*chain, {"certificates"}, cp));
    const Json* certs = find_field(*chain, "certificates");
    if (certs == nullptr || (certs->is_array() && certs->empty())) {
      return make_error(Code::kMalformed, at(cp, "certificates") + ": is empty");
    }
    MG_ASSIGN_OR_RETURN(certs, get_array(*chain, "certificates", cp));
    if (certs->size() > limits::kMaxChainCertificates) {
      return make_error(Code::kLimit, at(cp, "certificates") + ": too many certificates (" +
                                          std::to_string(certs->size()) + " > " +
                                          std::to_string(limits::kMaxChainCertificates) + ")");
    }
    for (std::size_t i = 0; i < certs->size(); ++i) {
      std::string ep = idx(at(cp, "certificates"), i);
      if (!(*certs)[i].is_object()) {
        return make_error(Code::kMalformed, ep + ": expected an object");
      }
      MG_ASSIGN_OR_RETURN(auto der, get_der_certificate((*certs)[i], ep));
      b.certificates_der.push_back(std::move(der));
    }
  } else {
    b.material = MaterialKind::kCertificate;
    MG_ASSIGN_OR_RETURN(const Json* cert, get_object(vm, "certificate", p));
    MG_ASSIGN_OR_RETURN(auto der, get_der_certificate(*cert, at(p, "certificate")));
    b.certificates_der.push_back(std::move(der));
  }

  if (find_field(vm, "tlogEntries") != nullptr) {
    MG_ASSIGN_OR_RETURN(const Json* entries, get_array(vm, "tlogEntries", p));
    if (entries->size() > limits::kMaxTlogEntries) {
      return make_error(Code::kLimit, at(p, "tlogEntries") + ": too many entries (" + std::to_string(entries->size()) +
                                          " > " + std::to_string(limits::kMaxTlogEntries) + ")");
    }
    for (std::size_t i = 0; i < entries->size(); ++i) {
      MG_ASSIGN_OR_RETURN(auto e, parse_tlog_entry((*entries)[i], idx(at(p, "tlogEntries"), i), b.version));
      b.tlog_entries.push_back(std::move(e));
    }
  }

  if (find_field(vm, "timestampVerificationData") != nullptr) {
    std::string tp = at(p, "timestampVerificationData");
    MG_ASSIGN_OR_RETURN(const Json* tvd, get_object(vm, "timestampVerificationData", p));
    MG_TRY(check_known_fields(*tvd, {"rfc3161Timestamps"}, tp));
    if (find_field(*tvd, "rfc3161Timestamps") != nullptr) {
      MG_ASSIGN_OR_RETURN(const Json* ts, get_array(*tvd, "rfc3161Timestamps", tp));
      if (ts->size() > limits::kMaxTimestamps) {
        return make_error(Code::kLimit, at(tp, "rfc3161Timestamps") + ": too many timestamps (" +
                                            std::to_string(ts->size()) + " > " +
                                            std::to_string(limits::kMaxTimestamps) + ")");
      }
      std::set<std::vector<std::uint8_t>> seen;
      for (std::size_t i = 0; i < ts->size(); ++i) {
        std::string ep = idx(at(tp, "rfc3161Timestamps"), i);
        if (!(*ts)[i].is_object()) {
          return make_error(Code::kMalformed, ep + ": expected an object");
        }
        MG_TRY(check_known_fields((*ts)[i], {"signedTimestamp"}, ep));
        MG_ASSIGN_OR_RETURN(auto der, get_bytes((*ts)[i], "signedTimestamp", ep, limits::kMaxCertificateBytes));
        if (der.empty()) {
          return make_error(Code::kMalformed, ep + ".signedTimestamp: is empty");
        }
        if (!seen.insert(der).second) {
          return make_error(Code::kMalformed, ep + ": duplicate timestamp");
        }
        b.rfc3161_timestamps.push_back(std::move(der));
      }
    }
  }
  return ok_status();
}

Result<MessageSignature> parse_message_signature(const Json& obj, std::string_view path) {
  MG_TRY(check_known_fields(obj, {"messageDigest", "signature"}, path));
  MessageSignature ms;
  if (find_field(obj, "messageDigest") != nullptr) {
    MG_ASSIGN_OR_RETURN(const Json* md, get_object(obj, "messageDigest", path));
    std::string mp = at(path, "messageDigest");
    MG_TRY(check_known_fields(*md, {"algorithm", "digest"}, mp));
    if (find_field(*md, "algorithm") != nullptr) {
      MG_ASSIGN_OR_RETURN(ms.digest_algorithm, get_string(*md, "algorithm", mp));
    }
    MG_ASSIGN_OR_RETURN(ms.digest, get_bytes(*md, "digest", mp, 64));
  }
  MG_ASSIGN_OR_RETURN(ms.signature, get_bytes(obj, "signature", path, limits::kMaxCertificateBytes));
  if (ms.signature.empty()) {
    return make_error(Code::kMalformed, at(path, "signature") + ": is empty");
  }
  return ms;
}

}  // namespace

std::string_view bundle_version_name(BundleVersion version) {
  switch (version) {
    case BundleVersion::kV01: return "0.1";
    case BundleVersion::kV02: return "0.2";
    case BundleVersion::kV03: return "0.3";
  }
  return "0.3";
}

Result<Bundle> parse_bundle(std::string_view json) {
  MG_ASSIGN_OR_RETURN_CTX(Json doc, parse_json(json, {limits::kMaxBundleBytes, limits::kMaxJsonDepth}), "bundle");
  if (!doc.is_object()) {
    return make_error(Code::kMalformed, "bundle: expected a JSON object");
  }
  MG_TRY(check_known_fields(doc, {"mediaType", "verificationMaterial", "messageSignature", "dsseEnvelope"}, "bundle"));
  Bundle b;
  MG_ASSIGN_OR_RETURN(b.media_type, get_string(doc, "mediaType", "bundle"));
  MG_ASSIGN_OR_RETURN(b.version, version_of(b.media_type));
  MG_ASSIGN_OR_RETURN(const Json* vm, get_object(doc, "verificationMaterial", "bundle"));
  MG_TRY(parse_material(*vm, b));
  int n = count_present(doc, {"messageSignature", "dsseEnvelope"});
  if (n != 1) {
    return make_error(Code::kMalformed,
                      "bundle: needs exactly one of messageSignature, dsseEnvelope (found " + std::to_string(n) + ")");
  }
  if (find_field(doc, "messageSignature") != nullptr) {
    MG_ASSIGN_OR_RETURN(const Json* ms, get_object(doc, "messageSignature", "bundle"));
    MG_ASSIGN_OR_RETURN(b.message_signature, parse_message_signature(*ms, "bundle.messageSignature"));
  } else {
    MG_ASSIGN_OR_RETURN(const Json* env, get_object(doc, "dsseEnvelope", "bundle"));
    MG_ASSIGN_OR_RETURN(b.dsse, parse_dsse_envelope(*env, "bundle.dsseEnvelope"));
  }
  return b;
}

}  // namespace modelgate::crypto
