// fuzz-max-len: 16384
// x509_fuzz.cpp: certificates from arbitrary bytes into OpenSSL: one DER certificate, and every PEM
// block of a text. Properties: never kInternal; a DER certificate that parses re-encodes to exactly
// its input, its PEM parses back to the same certificate, every accessor answers (public key,
// Fulcio extensions, SANs, subject, fingerprint) without aborting,
// and path validation against itself is a clean answer; PEM lists stay within kMaxChainCertificates;
// format_time renders any int64 as a 20-character RFC 3339 time.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "base/limits.h"
#include "crypto/x509.h"
#include "fuzz/fuzz_check.h"

namespace {

using namespace modelgate;
using namespace modelgate::crypto;

void check_certificate(const Certificate& c) {
  auto der = c.der();
  auto again = Certificate::from_der(der);
  FUZZ_CHECK(again.ok(), "der() parses: " + (again.ok() ? std::string() : again.error().message));
  FUZZ_CHECK(again->der() == der, "der() is stable");
  auto from_pem = parse_pem_certificates(c.pem());
  FUZZ_CHECK(from_pem.ok() && from_pem->size() == 1 && from_pem->front().der() == der, "pem() round-trips");

  (void)c.public_key();
  (void)c.key_usage_digital_signature();
  (void)c.eku_code_signing();
  (void)c.is_ca();
  (void)c.self_signed();
  (void)c.san_values();
  (void)c.subject();
  (void)c.extension_value("1.3.6.1.4.1.57264.1.8");
  (void)c.fulcio_issuer();
  const std::string fp = c.sha256_fingerprint();
  FUZZ_CHECK(fp.size() == 64 && fp.find_first_not_of("0123456789abcdef") == std::string::npos, "fingerprint hex");
  (void)format_time(c.not_before());
  (void)format_time(c.not_after());

  ChainOptions opts;
  opts.at_time = c.not_before();
  const std::vector<Certificate> anchors{c};
  auto chain = verify_chain(c, {}, anchors, opts);
  fuzz::check_not_internal(chain, "verify_chain");
  if (chain.ok()) {
    FUZZ_CHECK(!chain->empty() && chain->front().der() == der, "a validated path starts at the leaf");
  } else {
    FUZZ_CHECK(chain.error().code == Code::kUntrusted, "path validation fails as kUntrusted: " + chain.error().message);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto bytes = fuzz::as_bytes(data, size);
  auto c = Certificate::from_der(bytes);
  fuzz::check_not_internal(c, "Certificate::from_der");
  if (c.ok()) {
    FUZZ_CHECK(c->der() == std::vector<std::uint8_t>(bytes.begin(), bytes.end()), "DER re-encodes to its input");
    check_certificate(*c);
  }
  auto list = parse_pem_certificates(fuzz::as_text(data, size));
  fuzz::check_not_internal(list, "parse_pem_certificates");
  if (list.ok()) {
    FUZZ_CHECK(!list->empty() && list->size() <= limits::kMaxChainCertificates, "PEM list bound");
    for (const auto& cert : *list) {
      check_certificate(cert);
    }
  }
  (void)parse_rfc3339_ms(fuzz::as_text(data, std::min<std::size_t>(size, 40)));
  // format_time takes any int64 (integratedTime comes from bundles): always 20 characters.
  if (size >= 8) {
    std::int64_t t = 0;
    std::memcpy(&t, data, sizeof t);
    const std::string s = format_time(t);
    FUZZ_CHECK(s.size() == 20 && s[4] == '-' && s[10] == 'T' && s.back() == 'Z', "format_time: " + s);
  }
  return 0;
}
