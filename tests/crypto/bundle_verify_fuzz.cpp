// fuzz-dict: json.dict
// fuzz-max-len: 65536
// bundle_verify_fuzz.cpp: parse_bundle, then the whole offline verification against the embedded
// production trusted root with the conformance suite's identity (BEACON / GHA) and artifact
// (a.txt), and against a fixed managed key. Properties: never kInternal, never a crash; a bundle
// that verifies proves exactly the identity and issuer that were asked for and at least one
// trusted time, and a key bundle that verifies has no certificate identity.
#include <cstdint>
#include <string>
#include <vector>

#include "crypto/bundle.h"
#include "crypto/bundle_verify.h"
#include "crypto/keys.h"
#include "crypto/trusted_root.h"
#include "fuzz/fuzz_check.h"

namespace {

using namespace modelgate;
using namespace modelgate::crypto;

constexpr std::string_view kGha = "https://token.actions.githubusercontent.com";
constexpr std::string_view kBeacon =
    "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/"
    "extremely-dangerous-oidc-beacon.yml@refs/heads/main";

// sigstore-conformance's default artifact, cases/a.txt.
constexpr std::string_view kArtifact =
    "DO NOT MODIFY ME!\n\nthis is \"a.txt\", a sample input for sigstore-conformance's test suite.\n\n"
    "DO NOT MODIFY ME!\n";

// sigstore-conformance cases/managed-key-happy-path/key.pub.
constexpr std::string_view kManagedKey =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAExRRST79+PsrRBnGAI4cMu6Omz2Jh\n"
    "fwlMW+gIutNKVRaMyS4rQKvgngc5p8UbLj55pVHhIoAxi/SRgURZI0J3Xw==\n"
    "-----END PUBLIC KEY-----\n";

const PublicKey& managed_key() {
  static const PublicKey key = [] {
    auto k = parse_public_key_pem(kManagedKey);
    FUZZ_CHECK(k.ok(), "the fixed managed key parses");
    return *k;
  }();
  return key;
}

void check_keyless(const Result<VerifiedBundle>& v) {
  fuzz::check_not_internal(v, "verify_bundle_keyless");
  if (v.ok()) {
    FUZZ_CHECK(v->identity() == kBeacon, "verified identity is the one asked for: " + v->identity());
    FUZZ_CHECK(v->issuer() == kGha, "verified issuer is the one asked for: " + v->issuer());
    FUZZ_CHECK(v->signing_certificate().has_value(), "a keyless bundle has a signing certificate");
    FUZZ_CHECK(!v->verified_times().empty(), "a keyless bundle has a trusted time");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto bundle = parse_bundle(fuzz::as_text(data, size));
  fuzz::check_not_internal(bundle, "parse_bundle");
  if (!bundle.ok()) {
    return 0;
  }
  const TrustedRoot& root = default_trusted_root();
  const IdentityPolicy policy{std::string(kGha), std::string(kBeacon), false};

  ArtifactRef artifact;
  artifact.bytes = std::vector<std::uint8_t>(kArtifact.begin(), kArtifact.end());
  check_keyless(verify_bundle_keyless(*bundle, root, policy, artifact));
  if (bundle->dsse) {
    // No artifact: the caller checks the payload itself (model_signing's path).
    check_keyless(verify_bundle_keyless(*bundle, root, policy, ArtifactRef{}));
  }
  // The same identity as a regex: a second code path through identity matching.
  const IdentityPolicy regex{std::string(kGha), "^https://github\\.com/sigstore-conformance/.*$", true};
  auto r = verify_bundle_keyless(*bundle, root, regex, artifact);
  fuzz::check_not_internal(r, "verify_bundle_keyless (regex)");

  auto k = verify_bundle_with_key(*bundle, root, managed_key(), artifact);
  fuzz::check_not_internal(k, "verify_bundle_with_key");
  if (k.ok()) {
    FUZZ_CHECK(k->identity().empty() && k->issuer().empty(), "a key bundle proves no certificate identity");
    FUZZ_CHECK(!k->verified_times().empty(), "a Sigstore key bundle has a trusted time");
  }
  return 0;
}
