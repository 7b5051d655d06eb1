// fuzz-dict: json.dict
// fuzz-max-len: 131072
// trusted_root_fuzz.cpp: parse_trusted_root on arbitrary bytes (keys and certificates inside reach
// OpenSSL). Properties: never kInternal; a root that parses keeps each list within
// kMaxTrustedRootInstances, every CA chain non-empty, every log findable by its own log id, and
// verify_log_signature over junk is a clean kBadSignature / kUnsupported, never a crash.
#include <cstdint>
#include <string>

#include "base/limits.h"
#include "crypto/trusted_root.h"
#include "fuzz/fuzz_check.h"

namespace {

using namespace modelgate;
using namespace modelgate::crypto;

void check_logs(const std::vector<TransparencyLog>& logs, bool tlog, const TrustedRoot& root,
                std::span<const std::uint8_t> junk) {
  FUZZ_CHECK(logs.size() <= limits::kMaxTrustedRootInstances, "log count bound");
  for (const auto& log : logs) {
    const TransparencyLog* found = tlog ? root.find_tlog(log.log_id) : root.find_ctlog(log.log_id);
    FUZZ_CHECK(found != nullptr && found->log_id == log.log_id, "a log is found by its own id");
    (void)log.host();
    auto v = verify_log_signature(log, junk, junk);
    if (!v.ok()) {
      fuzz::check_not_internal(v, "verify_log_signature");
      FUZZ_CHECK(v.error().code == Code::kBadSignature || v.error().code == Code::kUnsupported,
                 "junk signature: " + v.error().message);
    }
    if (log.valid_for.end_ms) {
      (void)log.valid_for.contains_ms(*log.valid_for.end_ms);
    }
  }
}

void check_cas(const std::vector<CertificateAuthority>& cas) {
  FUZZ_CHECK(cas.size() <= limits::kMaxTrustedRootInstances, "CA count bound");
  for (const auto& ca : cas) {
    FUZZ_CHECK(!ca.chain.empty(), "CA chains are non-empty");
    for (const auto& c : ca.chain) {
      FUZZ_CHECK(c.get() != nullptr, "certificate present");
      (void)c.subject();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto root = parse_trusted_root(fuzz::as_text(data, size));
  fuzz::check_not_internal(root, "parse_trusted_root");
  if (!root.ok()) {
    return 0;
  }
  // The junk "signature" is a slice of the input: the harness reaches every key type present.
  auto junk = fuzz::as_bytes(data, std::min<std::size_t>(size, 80));
  check_logs(root->tlogs, true, *root, junk);
  check_logs(root->ctlogs, false, *root, junk);
  check_cas(root->certificate_authorities);
  check_cas(root->timestamp_authorities);
  return 0;
}
