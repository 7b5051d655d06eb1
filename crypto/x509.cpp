#include "crypto/x509.h"

#include "base/read_file.h"

#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <iterator>

#include "base/limits.h"
#include "crypto/encoding.h"
#include "crypto/ossl.h"
#include "crypto/quote.h"

namespace modelgate::crypto {

namespace {

constexpr std::string_view kOidOtherNameSan = "1.3.6.1.4.1.57264.1.7";
constexpr std::string_view kOidIssuerV1 = "1.3.6.1.4.1.57264.1.1";
constexpr std::string_view kOidIssuerV2 = "1.3.6.1.4.1.57264.1.8";

// days_from_civil: days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// asn1_time_to_unix converts an ASN1_TIME with OpenSSL's own calendar arithmetic (no timegm).
bool asn1_time_to_unix(const ASN1_TIME* t, std::int64_t* out) {
  struct tm tmv {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tmv) != 1) {
    return false;
  }
  std::int64_t days =
      days_from_civil(tmv.tm_year + 1900, static_cast<unsigned>(tmv.tm_mon + 1), static_cast<unsigned>(tmv.tm_mday));
  *out = days * 86400 + tmv.tm_hour * 3600 + tmv.tm_min * 60 + tmv.tm_sec;
  return true;
}

ossl::Ptr<ASN1_OBJECT> oid(std::string_view dotted) {
  std::string s(dotted);
  return ossl::Ptr<ASN1_OBJECT>(OBJ_txt2obj(s.c_str(), 1));
}

std::string der_to_pem(std::span<const std::uint8_t> der, std::string_view label) {
  std::string b64 = base64_encode(der);
  std::string out = "-----BEGIN " + std::string(label) + "-----\n";
  for (std::size_t i = 0; i < b64.size(); i += 64) {
    out.append(b64, i, 64).push_back('\n');
  }
  out += "-----END " + std::string(label) + "-----\n";
  return out;
}

struct GeneralNamesDeleter {
  void operator()(GENERAL_NAMES* g) const { GENERAL_NAMES_free(g); }
};

}  // namespace

Certificate::Certificate(std::shared_ptr<X509> x509) : x509_(std::move(x509)) {
  if (!asn1_time_to_unix(X509_get0_notBefore(x509_.get()), &not_before_)) {
    not_before_ = INT64_MAX;  // unreadable → never valid
  }
  if (!asn1_time_to_unix(X509_get0_notAfter(x509_.get()), &not_after_)) {
    not_after_ = INT64_MIN;
  }
  ossl::clear_errors();
}

Certificate Certificate::from_x509(X509* x509) {
  if (x509 == nullptr || X509_up_ref(x509) != 1) {
    std::abort();
  }
  return Certificate(std::shared_ptr<X509>(x509, X509_free));
}

Result<Certificate> Certificate::from_der(std::span<const std::uint8_t> der) {
  if (der.size() > limits::kMaxCertificateBytes) {
    return make_error(Code::kLimit, "certificate is " + std::to_string(der.size()) + " bytes (limit " +
                                        std::to_string(limits::kMaxCertificateBytes) + ")");
  }
  const unsigned char* p = der.data();
  X509* raw = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
  if (raw == nullptr) {
    return ossl::take_error(Code::kMalformed, "certificate: not a DER X.509 certificate");
  }
  std::shared_ptr<X509> x(raw, X509_free);
  if (p != der.data() + der.size()) {
    return make_error(Code::kMalformed, "certificate: trailing bytes after the certificate");
  }
  // Force the cached extension decoding now so that a broken extension is a parse error here and
  // the const accessors below never race on OpenSSL's lazy cache.
  if (X509_check_purpose(raw, -1, 0) != 1 || (X509_get_extension_flags(raw) & EXFLAG_INVALID) != 0) {
    return ossl::take_error(Code::kMalformed, "certificate: invalid extensions");
  }
  // d2i_X509 keeps a subjectPublicKeyInfo it cannot decode; refuse it here, so that public_key()
  // (which aborts on a null key: a broken invariant) never sees one. Found by x509_fuzz.
  if (X509_get0_pubkey(raw) == nullptr) {
    return ossl::take_error(Code::kMalformed, "certificate: cannot decode its public key");
  }
  return Certificate(std::move(x));
}

std::vector<std::uint8_t> Certificate::der() const {
  int len = i2d_X509(x509_.get(), nullptr);
  if (len <= 0) {
    std::abort();
  }
  std::vector<std::uint8_t> out(static_cast<std::size_t>(len));
  unsigned char* p = out.data();
  if (i2d_X509(x509_.get(), &p) != len) {
    std::abort();
  }
  return out;
}

std::string Certificate::pem() const {
  return der_to_pem(der(), "CERTIFICATE");
}

PublicKey Certificate::public_key() const {
  EVP_PKEY* k = X509_get0_pubkey(x509_.get());
  if (k == nullptr || EVP_PKEY_up_ref(k) != 1) {
    std::abort();
  }
  return PublicKey(std::shared_ptr<EVP_PKEY>(k, EVP_PKEY_free));
}

bool Certificate::key_usage_digital_signature() const {
  return (X509_get_extension_flags(x509_.get()) & EXFLAG_KUSAGE) != 0 &&
         (X509_get_key_usage(x509_.get()) & KU_DIGITAL_SIGNATURE) != 0;
}

bool Certificate::eku_code_signing() const {
  return (X509_get_extension_flags(x509_.get()) & EXFLAG_XKUSAGE) != 0 &&
         (X509_get_extended_key_usage(x509_.get()) & XKU_CODE_SIGN) != 0;
}

bool Certificate::is_ca() const {
  return (X509_get_extension_flags(x509_.get()) & EXFLAG_CA) != 0;
}

bool Certificate::self_signed() const {
  return (X509_get_extension_flags(x509_.get()) & EXFLAG_SS) != 0;
}

std::vector<std::string> Certificate::san_values() const {
  std::vector<std::string> out;
  std::unique_ptr<GENERAL_NAMES, GeneralNamesDeleter> names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x509_.get(), NID_subject_alt_name, nullptr, nullptr)));
  ossl::clear_errors();
  if (!names) {
    return out;
  }
  auto other = oid(kOidOtherNameSan);
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
    const ASN1_STRING* s = nullptr;
    if (gn->type == GEN_URI) {
      s = gn->d.uniformResourceIdentifier;
    } else if (gn->type == GEN_EMAIL) {
      s = gn->d.rfc822Name;
    } else if (gn->type == GEN_OTHERNAME && other && OBJ_cmp(gn->d.otherName->type_id, other.get()) == 0 &&
               gn->d.otherName->value != nullptr && gn->d.otherName->value->type == V_ASN1_UTF8STRING) {
      s = gn->d.otherName->value->value.utf8string;
    }
    if (s != nullptr) {
      out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                       static_cast<std::size_t>(ASN1_STRING_length(s)));
    }
  }
  return out;
}

std::optional<std::vector<std::uint8_t>> Certificate::extension_value(std::string_view dotted) const {
  auto obj = oid(dotted);
  if (!obj) {
    ossl::clear_errors();
    return std::nullopt;
  }
  int idx = X509_get_ext_by_OBJ(x509_.get(), obj.get(), -1);
  if (idx < 0) {
    return std::nullopt;
  }
  X509_EXTENSION* ext = X509_get_ext(x509_.get(), idx);
  const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(ext);
  const unsigned char* p = ASN1_STRING_get0_data(data);
  return std::vector<std::uint8_t>(p, p + ASN1_STRING_length(data));
}

std::optional<std::string> Certificate::fulcio_issuer() const {
  std::optional<std::string> v2;
  if (auto raw = extension_value(kOidIssuerV2)) {
    const unsigned char* p = raw->data();
    ASN1_UTF8STRING* s = d2i_ASN1_UTF8STRING(nullptr, &p, static_cast<long>(raw->size()));
    if (s == nullptr || p != raw->data() + raw->size()) {
      ASN1_UTF8STRING_free(s);
      ossl::clear_errors();
      return std::nullopt;
    }
    v2.emplace(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
               static_cast<std::size_t>(ASN1_STRING_length(s)));
    ASN1_UTF8STRING_free(s);
  }
  std::optional<std::string> v1;
  if (auto raw = extension_value(kOidIssuerV1)) {
    v1.emplace(raw->begin(), raw->end());
  }
  if (v2 && v1 && *v1 != *v2) {
    return std::nullopt;
  }
  return v2 ? v2 : v1;
}

std::string Certificate::subject() const {
  ossl::Ptr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), X509_get_subject_name(x509_.get()), 0, XN_FLAG_RFC2253) < 0) {
    ossl::clear_errors();
    return "";
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len > 0 ? len : 0));
}

std::string Certificate::sha256_fingerprint() const {
  return to_hex(digest(HashAlg::kSha256, der()));
}

Result<std::vector<Certificate>> parse_pem_certificates(std::string_view pem) {
  if (pem.size() > limits::kMaxKeyFileBytes) {
    return make_error(Code::kLimit, "PEM text is " + std::to_string(pem.size()) + " bytes (limit " +
                                        std::to_string(limits::kMaxKeyFileBytes) + ")");
  }
  std::vector<Certificate> out;
  constexpr std::string_view kBegin = "-----BEGIN CERTIFICATE-----";
  constexpr std::string_view kEnd = "-----END CERTIFICATE-----";
  std::size_t pos = 0;
  while ((pos = pem.find(kBegin, pos)) != std::string_view::npos) {
    std::size_t body = pos + kBegin.size();
    std::size_t end = pem.find(kEnd, body);
    if (end == std::string_view::npos) {
      return make_error(Code::kMalformed,
                        "PEM certificate block " + std::to_string(out.size() + 1) + " has no END line");
    }
    if (out.size() >= limits::kMaxChainCertificates) {
      return make_error(Code::kLimit,
                        "too many certificates (> " + std::to_string(limits::kMaxChainCertificates) + ")");
    }
    // PEM bodies are base64 with line breaks; our decoder skips CR/LF but not other whitespace.
    std::string b64;
    for (char c : pem.substr(body, end - body)) {
      if (c != ' ' && c != '\t') {
        b64.push_back(c);
      }
    }
    auto der = base64_decode(b64, limits::kMaxCertificateBytes);
    if (!der.ok()) {
      return std::move(der).error().context("PEM certificate block " + std::to_string(out.size() + 1));
    }
    auto cert = Certificate::from_der(*der);
    if (!cert.ok()) {
      return std::move(cert).error().context("PEM certificate block " + std::to_string(out.size() + 1));
    }
    out.push_back(std::move(cert).value());
    pos = end + kEnd.size();
  }
  if (out.empty()) {
    return make_error(Code::kMalformed, "no PEM \"CERTIFICATE\" block");
  }
  return out;
}

Result<std::vector<Certificate>> load_certificates_file(const std::filesystem::path& path) {
  auto read = read_regular_file(path, limits::kMaxKeyFileBytes);
  if (!read.ok()) {
    return std::move(read).error().context(path.string());
  }
  std::string data = std::move(read).value();
  if (data.find("-----BEGIN ") != std::string::npos) {
    auto r = parse_pem_certificates(data);
    if (!r.ok()) {
      return std::move(r).error().context(path.string());
    }
    return std::move(r).value();
  }
  auto cert = Certificate::from_der(as_bytes(data));
  if (!cert.ok()) {
    return std::move(cert).error().context(path.string());
  }
  return std::vector<Certificate>{std::move(cert).value()};
}

Result<std::vector<Certificate>> verify_chain(const Certificate& leaf, std::span<const Certificate> untrusted,
                                              std::span<const Certificate> anchors, const ChainOptions& options) {
  if (anchors.empty()) {
    return make_error(Code::kUntrusted, "no trust anchors");
  }
  ossl::Ptr<X509_STORE> store(X509_STORE_new());
  ossl::X509Stack chain(sk_X509_new_null());
  ossl::Ptr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  if (!store || !chain || !ctx) {
    return ossl::take_error(Code::kInternal, "cannot allocate X509 store");
  }
  for (const auto& a : anchors) {
    if (X509_STORE_add_cert(store.get(), a.get()) != 1) {
      return ossl::take_error(Code::kInternal, "cannot add trust anchor");
    }
  }
  for (const auto& u : untrusted) {
    if (X509_up_ref(u.get()) != 1 || sk_X509_push(chain.get(), u.get()) <= 0) {
      return ossl::take_error(Code::kInternal, "cannot add intermediate");
    }
  }
  if (X509_STORE_CTX_init(ctx.get(), store.get(), leaf.get(), chain.get()) != 1) {
    return ossl::take_error(Code::kInternal, "cannot initialise chain verification");
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(options.at_time));
  if (options.allow_partial_chain) {
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
  }
  if (X509_verify_cert(ctx.get()) != 1) {
    int err = X509_STORE_CTX_get_error(ctx.get());
    int depth = X509_STORE_CTX_get_error_depth(ctx.get());
    X509* bad = X509_STORE_CTX_get_current_cert(ctx.get());
    std::string subject = bad != nullptr ? Certificate::from_x509(bad).subject() : leaf.subject();
    std::string who = depth == 0 ? "the signing certificate" : "the certificate at depth " + std::to_string(depth);
    if (!subject.empty()) {
      who += " " + quote_untrusted(subject);
    }
    ossl::clear_errors();
    return make_error(Code::kUntrusted, who + " is not trusted at " + format_time(options.at_time) + ": " +
                                            X509_verify_cert_error_string(err));
  }
  std::vector<Certificate> path;
  STACK_OF(X509)* verified = X509_STORE_CTX_get0_chain(ctx.get());
  for (int i = 0; i < sk_X509_num(verified); ++i) {
    path.push_back(Certificate::from_x509(sk_X509_value(verified, i)));
  }
  return path;
}

std::string format_time(std::int64_t t) {
  // Times come from untrusted input (integratedTime is any int64; unreadable certificate times are
  // INT64_MIN/MAX sentinels): clamp to years 0000-9999, which also keeps the arithmetic below from
  // overflowing (-INT64_MIN is undefined). Found by x509_fuzz.
  constexpr std::int64_t kFirst = -62167219200;  // 0000-01-01T00:00:00Z
  constexpr std::int64_t kLast = 253402300799;   // 9999-12-31T23:59:59Z
  t = std::clamp(t, kFirst, kLast);
  std::int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
  std::int64_t secs = t - days * 86400;
  // Civil from days (Howard Hinnant).
  std::int64_t z = days + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ", static_cast<long long>(y), m, d,
                static_cast<long long>(secs / 3600), static_cast<long long>(secs / 60 % 60),
                static_cast<long long>(secs % 60));
  return buf;
}

Result<std::int64_t> parse_rfc3339_ms(std::string_view s) {
  auto bad = [&] { return make_error(Code::kMalformed, "not an RFC 3339 UTC timestamp: " + quote_untrusted(s, 64)); };
  auto num = [&](std::size_t pos, std::size_t len, int* out) {
    int v = 0;
    for (std::size_t i = pos; i < pos + len; ++i) {
      if (i >= s.size() || s[i] < '0' || s[i] > '9') {
        return false;
      }
      v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
  };
  int y, mo, d, h, mi, se;
  if (s.size() < 20 || !num(0, 4, &y) || s[4] != '-' || !num(5, 2, &mo) || s[7] != '-' || !num(8, 2, &d) ||
      s[10] != 'T' || !num(11, 2, &h) || s[13] != ':' || !num(14, 2, &mi) || s[16] != ':' || !num(17, 2, &se)) {
    return bad();
  }
  std::size_t pos = 19;
  int ms = 0;
  if (s[pos] == '.') {
    ++pos;
    std::size_t digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 3) {
        ms = ms * 10 + (s[pos] - '0');
      }
      ++digits;
      ++pos;
    }
    if (digits == 0 || digits > 9) {
      return bad();
    }
    for (std::size_t i = digits; i < 3; ++i) {
      ms *= 10;
    }
  }
  if (pos + 1 != s.size() || s[pos] != 'Z') {
    return bad();
  }
  static constexpr int kDaysInMonth[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (mo < 1 || mo > 12 || d < 1 || d > kDaysInMonth[mo - 1] || h > 23 || mi > 59 || se > 60) {
    return bad();
  }
  std::int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  return (days * 86400 + h * 3600 + mi * 60 + se) * 1000 + ms;
}

}  // namespace modelgate::crypto
