#include "crypto/sct.h"

#include <openssl/asn1.h>
#include <openssl/x509v3.h>

#include "base/limits.h"
#include "crypto/encoding.h"
#include "crypto/keys.h"
#include "crypto/ossl.h"

namespace modelgate::crypto {

namespace {

constexpr std::string_view kOidSctList = "1.3.6.1.4.1.11129.2.4.2";

// Reader walks TLS presentation-language data (big-endian, length-prefixed vectors).
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> data) : data_(data) {}
  bool u8(std::uint8_t* v) {
    if (pos_ + 1 > data_.size()) {
      return false;
    }
    *v = data_[pos_++];
    return true;
  }
  bool uint(std::size_t bytes, std::uint64_t* v) {
    if (pos_ + bytes > data_.size()) {
      return false;
    }
    *v = 0;
    for (std::size_t i = 0; i < bytes; ++i) {
      *v = (*v << 8) | data_[pos_++];
    }
    return true;
  }
  bool bytes(std::size_t n, std::span<const std::uint8_t>* out) {
    if (pos_ + n > data_.size()) {
      return false;
    }
    *out = data_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  bool vec16(std::span<const std::uint8_t>* out) {
    std::uint64_t n = 0;
    return uint(2, &n) && bytes(static_cast<std::size_t>(n), out);
  }
  bool done() const { return pos_ == data_.size(); }

 private:
  std::span<const std::uint8_t> data_;
  std::size_t pos_ = 0;
};

void put_uint(std::vector<std::uint8_t>& out, std::uint64_t v, std::size_t bytes) {
  for (std::size_t i = bytes; i > 0; --i) {
    out.push_back(static_cast<std::uint8_t>(v >> (8 * (i - 1))));
  }
}

// tbs_without_scts re-encodes the leaf's TBSCertificate with the SCT list extension removed, which
// is what the CT log signed for the precertificate (RFC 6962 §3.2).
Result<std::vector<std::uint8_t>> tbs_without_scts(const Certificate& leaf) {
  ossl::Ptr<X509> copy(X509_dup(leaf.get()));
  if (!copy) {
    return ossl::take_error(Code::kInternal, "cannot copy certificate");
  }
  int idx = X509_get_ext_by_NID(copy.get(), NID_ct_precert_scts, -1);
  if (idx < 0) {
    return make_error(Code::kNotFound, "certificate has no SCT extension");
  }
  X509_EXTENSION_free(X509_delete_ext(copy.get(), idx));
  int len = i2d_re_X509_tbs(copy.get(), nullptr);
  if (len <= 0) {
    return ossl::take_error(Code::kInternal, "cannot encode TBSCertificate");
  }
  std::vector<std::uint8_t> out(static_cast<std::size_t>(len));
  unsigned char* p = out.data();
  if (i2d_re_X509_tbs(copy.get(), &p) != len) {
    return ossl::take_error(Code::kInternal, "cannot encode TBSCertificate");
  }
  return out;
}

}  // namespace

Result<std::vector<EmbeddedSct>> parse_embedded_scts(const Certificate& cert) {
  auto ext = cert.extension_value(kOidSctList);
  if (!ext) {
    return make_error(Code::kNotFound, "certificate has no embedded SCTs");
  }
  // extnValue holds an OCTET STRING whose contents are the TLS SignedCertificateTimestampList.
  const unsigned char* p = ext->data();
  ASN1_OCTET_STRING* os = d2i_ASN1_OCTET_STRING(nullptr, &p, static_cast<long>(ext->size()));
  if (os == nullptr || p != ext->data() + ext->size()) {
    ASN1_OCTET_STRING_free(os);
    ossl::clear_errors();
    return make_error(Code::kMalformed, "SCT extension is not an OCTET STRING");
  }
  std::vector<std::uint8_t> list(ASN1_STRING_get0_data(os), ASN1_STRING_get0_data(os) + ASN1_STRING_length(os));
  ASN1_OCTET_STRING_free(os);
  Reader outer(list);
  std::span<const std::uint8_t> all;
  if (!outer.vec16(&all) || !outer.done()) {
    return make_error(Code::kMalformed, "SCT list length does not match its contents");
  }
  Reader r(all);
  std::vector<EmbeddedSct> out;
  while (!r.done()) {
    if (out.size() >= limits::kMaxScts) {
      return make_error(Code::kLimit, "too many SCTs (> " + std::to_string(limits::kMaxScts) + ")");
    }
    std::span<const std::uint8_t> one;
    if (!r.vec16(&one)) {
      return make_error(Code::kMalformed, "SCT " + std::to_string(out.size() + 1) + " is truncated");
    }
    Reader s(one);
    EmbeddedSct sct;
    std::span<const std::uint8_t> log_id, exts, sig;
    if (!s.u8(&sct.version) || !s.bytes(32, &log_id) || !s.uint(8, &sct.timestamp_ms) || !s.vec16(&exts) ||
        !s.u8(&sct.hash_algorithm) || !s.u8(&sct.signature_algorithm) || !s.vec16(&sig) || !s.done()) {
      return make_error(Code::kMalformed, "SCT " + std::to_string(out.size() + 1) + " is malformed");
    }
    sct.log_id.assign(log_id.begin(), log_id.end());
    sct.extensions.assign(exts.begin(), exts.end());
    sct.signature.assign(sig.begin(), sig.end());
    out.push_back(std::move(sct));
  }
  return out;
}

Result<std::size_t> verify_embedded_scts(const Certificate& leaf, const Certificate& issuer, const TrustedRoot& root) {
  MG_ASSIGN_OR_RETURN(auto scts, parse_embedded_scts(leaf));
  MG_ASSIGN_OR_RETURN(auto tbs, tbs_without_scts(leaf));
  if (tbs.size() >= (1u << 24)) {
    return make_error(Code::kMalformed, "TBSCertificate is too large for an SCT");
  }
  auto issuer_key_hash = digest(HashAlg::kSha256, issuer.public_key().spki_der());
  std::size_t verified = 0;
  std::string reasons;
  for (std::size_t i = 0; i < scts.size(); ++i) {
    const EmbeddedSct& sct = scts[i];
    std::string who = "SCT " + std::to_string(i + 1);
    const TransparencyLog* log = root.find_ctlog(sct.log_id);
    std::string reason;
    if (sct.version != 0) {
      reason = who + ": unsupported version " + std::to_string(sct.version);
    } else if (log == nullptr) {
      reason = who + ": log " + base64_encode(sct.log_id) + " is not a trusted CT log";
    } else if (sct.timestamp_ms > static_cast<std::uint64_t>(INT64_MAX) ||
               !log->valid_for.contains_ms(static_cast<std::int64_t>(sct.timestamp_ms))) {
      reason = who + ": timestamp is outside the CT log key's validity";
    } else if (sct.hash_algorithm != 4) {
      reason = who + ": hash algorithm is not SHA-256";
    } else {
      // RFC 6962 §3.2 digitally-signed struct for a precert_entry.
      std::vector<std::uint8_t> msg;
      msg.reserve(tbs.size() + sct.extensions.size() + 64);
      msg.push_back(0x00);  // sct_version v1
      msg.push_back(0x00);  // signature_type certificate_timestamp
      put_uint(msg, sct.timestamp_ms, 8);
      put_uint(msg, 1, 2);  // entry_type precert_entry
      msg.insert(msg.end(), issuer_key_hash.begin(), issuer_key_hash.end());
      put_uint(msg, tbs.size(), 3);
      msg.insert(msg.end(), tbs.begin(), tbs.end());
      put_uint(msg, sct.extensions.size(), 2);
      msg.insert(msg.end(), sct.extensions.begin(), sct.extensions.end());
      auto r = verify_log_signature(*log, msg, sct.signature);
      if (r.ok()) {
        ++verified;
        continue;
      }
      reason = who + ": " + r.error().message;
    }
    reasons += (reasons.empty() ? "" : "; ") + reason;
  }
  if (verified == 0) {
    return make_error(Code::kUntrusted,
                      "no valid SCT from a trusted CT log" + (reasons.empty() ? "" : " (" + reasons + ")"));
  }
  return verified;
}

}  // namespace modelgate::crypto
