// evidence_fixtures.h: what the policy and admission tests share to make real evidence: key pairs
// made by the openssl CLI, small models on disk, model.sig written by crypto::sign_model, and
// attestations signed into the evidence store layout the webhook reads. Not assertions.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "crypto/attestation.h"
#include "crypto/encoding.h"
#include "crypto/keys.h"
#include "crypto/model_sign.h"
#include "policy/policy_set.h"
#include "policy/trust_material.h"
#include "test_support.h"

namespace modelgate::testing::evidence {

namespace fs = std::filesystem;

struct KeyPair {
  fs::path private_pem;
  fs::path public_pem;
  crypto::PrivateKey key;
};

// make_key runs `openssl ecparam` / `openssl ec` to make a P-256 pair under `dir`.
inline KeyPair make_key(const fs::path& dir, const std::string& name) {
  fs::create_directories(dir);
  const fs::path priv = dir / (name + ".key");
  const fs::path pub = dir / (name + ".pub");
  if (run({"openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", priv.string()}).exit_code != 0 ||
      run({"openssl", "ec", "-in", priv.string(), "-pubout", "-out", pub.string()}).exit_code != 0) {
    throw std::runtime_error("openssl could not make a key");
  }
  auto loaded = crypto::load_private_key_file(priv, std::nullopt);
  if (!loaded.ok()) {
    throw std::runtime_error("cannot load " + priv.string());
  }
  return KeyPair{priv, pub, loaded.value()};
}

// write_model makes a small model: config, tokenizer, two weight files of pseudo-random bytes.
inline void write_model(const fs::path& dir, std::uint64_t seed, std::size_t weight_bytes = 50'000) {
  write_file(dir / "config.json", "{\"seed\": " + std::to_string(seed) + "}\n");
  write_file(dir / "tokenizer" / "tokenizer.json", "{\"vocab\": 1}\n");
  for (int i = 1; i <= 2; ++i) {
    auto bytes = random_bytes(weight_bytes, seed * 10 + static_cast<std::uint64_t>(i));
    write_file(dir / ("model-0000" + std::to_string(i) + "-of-00002.safetensors"),
               std::string(bytes.begin(), bytes.end()));
  }
}

// sign writes dir/model.sig with `key` and returns the root digest.
inline crypto::Sha256Digest sign(const fs::path& dir, const KeyPair& key) {
  crypto::SignOptions o;
  auto b = crypto::sign_model(dir, dir / "model.sig", crypto::KeySigner{key.key}, o);
  if (!b.ok()) {
    throw std::runtime_error("sign_model: " + b.error().message);
  }
  write_file(dir / "model.sig", b->bundle_json);
  return b->root_digest;
}

// attest signs a statement about `root` and files it as <store>/sha256/<hex>/<name>.json.
inline fs::path attest(const fs::path& store, const crypto::Sha256Digest& root, const KeyPair& key,
                       std::string_view predicate_type, const crypto::Json& predicate, const std::string& name) {
  const std::string st = crypto::build_statement("m", root, predicate_type, predicate);
  auto b = crypto::sign_statement_bundle(st, crypto::KeySigner{key.key});
  if (!b.ok()) {
    throw std::runtime_error("sign_statement_bundle: " + b.error().message);
  }
  fs::path p = store / "sha256" / crypto::to_hex(root) / (name + ".json");
  write_file(p, b.value());
  return p;
}

// load_policies parses `yaml` written to dir/policy.yaml and compiles its trust material.
inline std::shared_ptr<const policy::TrustedPolicySet> load_policies(const fs::path& dir, const std::string& yaml) {
  write_file(dir / "policy.yaml", yaml);
  std::vector<fs::path> paths{dir / "policy.yaml"};
  policy::TrustOutcome t = policy::load_trusted_policies(paths, 1);
  if (!t.ok()) {
    std::string all;
    for (const auto& d : t.diagnostics) {
      all += policy::format_diagnostic(d) + "\n";
    }
    throw std::runtime_error("policy does not load:\n" + all);
  }
  return t.trusted;
}

// replace_all substitutes every `from` in `s`.
inline std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t i = s.find(from); i != std::string::npos; i = s.find(from, i + to.size())) {
    s.replace(i, from.size(), to);
  }
  return s;
}

}  // namespace modelgate::testing::evidence
