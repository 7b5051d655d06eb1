// sigstore_fixtures.h: what the Sigstore tests share: the conformance vectors (read in place), the
// default identity of the conformance suite, bundle/trusted-root JSON to mutate one field at a
// time, and the `openssl` CLI as an independent oracle. Not assertions.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "crypto/bundle.h"
#include "crypto/encoding.h"
#include "crypto/json.h"
#include "crypto/trusted_root.h"
#include "test_support.h"

namespace modelgate::testing::sigstore {

namespace fs = std::filesystem;
using crypto::Json;

inline constexpr const char* kBeacon =
    "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/"
    "extremely-dangerous-oidc-beacon.yml@refs/heads/main";
inline constexpr const char* kGha = "https://token.actions.githubusercontent.com";

inline fs::path conformance_dir() {
  return vectors_dir() / "sigstore-conformance";
}
inline fs::path case_dir(const std::string& name) {
  return conformance_dir() / "cases" / name;
}
inline std::vector<std::uint8_t> a_txt() {
  return read_bytes(conformance_dir() / "cases" / "a.txt");
}

// case_json is a case's bundle as mutable JSON (ordered as nlohmann sorts; re-serialised to test).
inline Json case_json(const std::string& name) {
  return Json::parse(read_file(case_dir(name) / "bundle.sigstore.json"));
}

inline crypto::Bundle parse_or_throw(const Json& j) {
  auto b = crypto::parse_bundle(j.dump());
  if (!b.ok()) {
    throw std::runtime_error("fixture bundle does not parse: " + b.error().message);
  }
  return std::move(b).value();
}

inline crypto::Bundle case_bundle(const std::string& name) {
  return parse_or_throw(case_json(name));
}

inline Json root_json(const fs::path& p) {
  return Json::parse(read_file(p));
}
inline Json public_good_json() {
  return root_json(conformance_dir() / "trusted_root_public_good.json");
}
inline Json staging_json() {
  return root_json(conformance_dir() / "trusted_root_staging.json");
}
inline Json case_root_json(const std::string& name) {
  return root_json(case_dir(name) / "trusted_root.json");
}

inline crypto::TrustedRoot root_or_throw(const Json& j) {
  auto r = crypto::parse_trusted_root(j.dump());
  if (!r.ok()) {
    throw std::runtime_error("fixture trusted root does not parse: " + r.error().message);
  }
  return std::move(r).value();
}

// b64_field decodes a base64 JSON string (fixture data is known to be valid).
inline std::vector<std::uint8_t> b64(const Json& j) {
  auto r = crypto::base64_decode(j.get<std::string>());
  if (!r.ok()) {
    throw std::runtime_error("fixture base64: " + r.error().message);
  }
  return std::move(r).value();
}

// flip_b64 returns base64 of the decoded value with one bit of byte `index` flipped.
inline std::string flip_b64(const Json& j, std::size_t index = 0) {
  auto bytes = b64(j);
  bytes.at(index) ^= 0x01;
  return crypto::base64_encode(bytes);
}

// openssl runs the openssl CLI and returns stdout; throws with stderr if it fails.
inline std::string openssl(std::vector<std::string> args) {
  args.insert(args.begin(), "openssl");
  ProcessResult r = run(args);
  if (r.exit_code != 0) {
    std::string cmd;
    for (const auto& a : args) {
      cmd += a + " ";
    }
    throw std::runtime_error("openssl failed: " + cmd + ": " + r.err);
  }
  return r.out;
}

inline std::string sha256sum_hex(const fs::path& p) {
  ProcessResult r = run({"sha256sum", p.string()});
  if (r.exit_code != 0 || r.out.size() < 64) {
    throw std::runtime_error("sha256sum failed");
  }
  return r.out.substr(0, 64);
}

}  // namespace modelgate::testing::sigstore
