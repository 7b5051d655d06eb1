#include "crypto/timestamp.h"

#include <openssl/objects.h>
#include <openssl/ts.h>

#include <climits>
#include <ctime>

#include "base/limits.h"
#include "crypto/encoding.h"
#include "crypto/keys.h"
#include "crypto/ossl.h"
#include "crypto/x509.h"

namespace modelgate::crypto {

namespace {

struct TsRespDeleter {
  void operator()(TS_RESP* p) const { TS_RESP_free(p); }
};
struct TsVerifyCtxDeleter {
  void operator()(TS_VERIFY_CTX* p) const { TS_VERIFY_CTX_free(p); }
};
using TsRespPtr = std::unique_ptr<TS_RESP, TsRespDeleter>;
using TsVerifyCtxPtr = std::unique_ptr<TS_VERIFY_CTX, TsVerifyCtxDeleter>;

// gen_time_seconds converts the TSTInfo genTime (GeneralizedTime; fractions dropped) to unix seconds.
bool gen_time_seconds(const ASN1_GENERALIZEDTIME* t, std::int64_t* out) {
  ossl::Ptr<ASN1_TIME> epoch(ASN1_TIME_set(nullptr, 0));
  int days = 0;
  int secs = 0;
  if (!epoch || t == nullptr || ASN1_TIME_diff(&days, &secs, epoch.get(), t) != 1) {
    ossl::clear_errors();
    return false;
  }
  *out = static_cast<std::int64_t>(days) * 86400 + secs;
  return true;
}

// verify_with_authority runs OpenSSL's RFC 3161 verification of `resp` against one TSA entry.
Result<void> verify_with_authority(TS_RESP* resp, std::span<const std::uint8_t> signed_data,
                                   const CertificateAuthority& tsa, std::int64_t gen_time) {
  TsVerifyCtxPtr ctx(TS_VERIFY_CTX_new());
  ossl::Ptr<X509_STORE> store(X509_STORE_new());
  ossl::X509Stack untrusted(sk_X509_new_null());
  if (!ctx || !store || !untrusted || signed_data.size() > static_cast<std::size_t>(INT_MAX)) {
    return ossl::take_error(Code::kInternal, "cannot allocate timestamp verification");
  }
  const Certificate& anchor = tsa.chain.back();
  if (X509_STORE_add_cert(store.get(), anchor.get()) != 1) {
    return ossl::take_error(Code::kInternal, "cannot add TSA anchor");
  }
  // The chain is validated at genTime, not now: TSA certificates may have expired since (§4.B1.4).
  X509_VERIFY_PARAM* param = X509_STORE_get0_param(store.get());
  X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(gen_time));
  if (!anchor.self_signed()) {
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
  }
  for (std::size_t i = 0; i + 1 < tsa.chain.size(); ++i) {
    if (X509_up_ref(tsa.chain[i].get()) != 1 || sk_X509_push(untrusted.get(), tsa.chain[i].get()) <= 0) {
      return ossl::take_error(Code::kInternal, "cannot add TSA certificate");
    }
  }
  BIO* data = BIO_new_mem_buf(signed_data.data(), static_cast<int>(signed_data.size()));
  if (data == nullptr) {
    return ossl::take_error(Code::kInternal, "cannot allocate BIO");
  }
  // OpenSSL 3.0's TS_VERIFY_CTX_set_* take ownership (freed by TS_VERIFY_CTX_free).
  TS_VERIFY_CTX_set_data(ctx.get(), data);
  TS_VERIFY_CTX_set_store(ctx.get(), store.release());
  TS_VERIFY_CTX_set_certs(ctx.get(), untrusted.release());
  TS_VERIFY_CTX_set_flags(ctx.get(), TS_VFY_VERSION | TS_VFY_SIGNATURE | TS_VFY_SIGNER | TS_VFY_DATA);
  if (TS_RESP_verify_response(ctx.get(), resp) != 1) {
    return ossl::take_error(Code::kUntrusted, "not verified by TSA " + (tsa.uri.empty() ? anchor.subject() : tsa.uri));
  }
  if (!tsa.valid_for.contains(gen_time)) {
    return make_error(Code::kUntrusted, "genTime " + format_time(gen_time) + " is outside the validity of TSA " +
                                            (tsa.uri.empty() ? anchor.subject() : tsa.uri));
  }
  return ok_status();
}

}  // namespace

Result<std::int64_t> verify_timestamp(std::span<const std::uint8_t> token_der,
                                      std::span<const std::uint8_t> signed_data, const TrustedRoot& root) {
  if (token_der.size() > limits::kMaxCertificateBytes) {
    return make_error(Code::kLimit, "is " + std::to_string(token_der.size()) + " bytes");
  }
  const unsigned char* p = token_der.data();
  TsRespPtr resp(d2i_TS_RESP(nullptr, &p, static_cast<long>(token_der.size())));
  if (!resp || p != token_der.data() + token_der.size()) {
    return ossl::take_error(Code::kMalformed, "is not a DER TimeStampResp");
  }
  const ASN1_INTEGER* status = TS_STATUS_INFO_get0_status(TS_RESP_get_status_info(resp.get()));
  long status_value = status != nullptr ? ASN1_INTEGER_get(status) : -1;
  if (status_value != 0 && status_value != 1) {
    return make_error(Code::kUntrusted, "status is not granted (" + std::to_string(status_value) + ")");
  }
  TS_TST_INFO* info = TS_RESP_get_tst_info(resp.get());
  if (info == nullptr || TS_RESP_get_token(resp.get()) == nullptr) {
    return make_error(Code::kMalformed, "has no timestamp token");
  }
  std::int64_t gen_time = 0;
  if (!gen_time_seconds(TS_TST_INFO_get_time(info), &gen_time)) {
    return make_error(Code::kMalformed, "genTime is unreadable");
  }
  // Message imprint: Hash(signature bytes) with the token's own algorithm; SHA-1 is not accepted.
  TS_MSG_IMPRINT* imprint = TS_TST_INFO_get_msg_imprint(info);
  X509_ALGOR* algo = TS_MSG_IMPRINT_get_algo(imprint);
  const ASN1_OBJECT* algo_oid = nullptr;
  X509_ALGOR_get0(&algo_oid, nullptr, nullptr, algo);
  HashAlg hash;
  switch (OBJ_obj2nid(algo_oid)) {
    case NID_sha256: hash = HashAlg::kSha256; break;
    case NID_sha384: hash = HashAlg::kSha384; break;
    case NID_sha512: hash = HashAlg::kSha512; break;
    default: return make_error(Code::kUnsupported, "message imprint hash is not SHA-256/384/512");
  }
  const ASN1_OCTET_STRING* msg = TS_MSG_IMPRINT_get_msg(imprint);
  std::span<const std::uint8_t> got(ASN1_STRING_get0_data(msg), static_cast<std::size_t>(ASN1_STRING_length(msg)));
  if (!constant_time_equal(got, digest(hash, signed_data))) {
    return make_error(Code::kMismatch, "message imprint does not match the signature");
  }
  if (root.timestamp_authorities.empty()) {
    return make_error(Code::kUntrusted, "the trusted root has no timestamp authorities");
  }
  Error last = make_error(Code::kUntrusted, "no timestamp authority");
  for (const auto& tsa : root.timestamp_authorities) {
    auto r = verify_with_authority(resp.get(), signed_data, tsa, gen_time);
    if (r.ok()) {
      return gen_time;
    }
    last = std::move(r).error();
  }
  return make_error(Code::kUntrusted, "is not from a trusted timestamp authority at " + format_time(gen_time) + " (" +
                                          last.message + ")");
}

TimestampResults verify_timestamps(const std::vector<std::vector<std::uint8_t>>& tokens,
                                   std::span<const std::uint8_t> signed_data, const TrustedRoot& root) {
  TimestampResults out;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    auto r = verify_timestamp(tokens[i], signed_data, root);
    if (r.ok()) {
      out.times.push_back(r.value());
    } else {
      out.rejected.push_back(std::move(r).error().context("timestamp " + std::to_string(i + 1)));
    }
  }
  return out;
}

}  // namespace modelgate::crypto
