// tlog_test.cpp: Merkle inclusion proofs against a naive RFC 6962 oracle, signed-note checkpoints and
// Rekor SETs on real log data, and a synthetic log (key and signatures made by the openssl CLI) to
// test each binding on its own.
#include "crypto/tlog.h"

#include <openssl/sha.h>

#include <catch2/catch.hpp>

#include "crypto/encoding.h"
#include "crypto/sigstore_fixtures.h"
#include "test_support.h"

namespace {

using namespace modelgate;
using namespace modelgate::crypto;
using namespace modelgate::testing;
using namespace modelgate::testing::sigstore;

using Bytes = std::vector<std::uint8_t>;

Bytes sha(const Bytes& in) {
  Bytes out(32);
  SHA256(in.data(), in.size(), out.data());
  return out;
}

// --- RFC 6962 §2.1 as written: recursive MTH and PATH (the oracle) -------------------------------
std::size_t split(std::size_t n) {
  std::size_t k = 1;
  while (k * 2 < n) {
    k *= 2;
  }
  return k;
}

Bytes mth(const std::vector<Bytes>& d, std::size_t lo, std::size_t hi) {
  if (hi - lo == 1) {
    Bytes in{0x00};
    in.insert(in.end(), d[lo].begin(), d[lo].end());
    return sha(in);
  }
  std::size_t k = split(hi - lo);
  Bytes in{0x01};
  Bytes l = mth(d, lo, lo + k), r = mth(d, lo + k, hi);
  in.insert(in.end(), l.begin(), l.end());
  in.insert(in.end(), r.begin(), r.end());
  return sha(in);
}

std::vector<Bytes> path(std::size_t m, const std::vector<Bytes>& d, std::size_t lo, std::size_t hi) {
  if (hi - lo == 1) {
    return {};
  }
  std::size_t k = split(hi - lo);
  std::vector<Bytes> p;
  if (m < k) {
    p = path(m, d, lo, lo + k);
    p.push_back(mth(d, lo + k, hi));
  } else {
    p = path(m - k, d, lo + k, hi);
    p.push_back(mth(d, lo, lo + k));
  }
  return p;
}

MerkleHash leaf_hash_of(const Bytes& leaf) {
  MerkleHash h;
  Bytes in{0x00};
  in.insert(in.end(), leaf.begin(), leaf.end());
  auto d = sha(in);
  std::copy(d.begin(), d.end(), h.begin());
  return h;
}

// --- a synthetic Rekor-v1-style log whose signatures come from the openssl CLI --------------------
struct SyntheticLog {
  TempDir dir;
  TransparencyLog log;
  fs::path key;
  std::array<std::uint8_t, 4> hint{};

  SyntheticLog() {
    key = dir / "log.pem";
    openssl({"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key.string()});
    openssl({"pkey", "-in", key.string(), "-pubout", "-outform", "DER", "-out", (dir / "log.der").string()});
    auto spki = read_bytes(dir / "log.der");
    auto pub = parse_public_key_der(spki);
    REQUIRE(pub.ok());
    log.base_url = "https://synthetic.example";
    log.key_details = "PKIX_ECDSA_P256_SHA_256";
    log.key = *pub;
    log.valid_for.start_ms = 0;
    auto id = from_hex(sha256sum_hex(dir / "log.der"));
    log.log_id = *id;
    std::copy(log.log_id.begin(), log.log_id.begin() + 4, hint.begin());
  }

  Bytes sign(const std::string& text) {
    write_file(dir / "msg", text);
    openssl({"dgst", "-sha256", "-sign", key.string(), "-out", (dir / "sig").string(), (dir / "msg").string()});
    return read_bytes(dir / "sig");
  }

  std::string checkpoint(std::int64_t size, const Bytes& root) {
    std::string body = "synthetic.example - 42\n" + std::to_string(size) + "\n" + base64_encode(root) + "\n";
    Bytes blob(hint.begin(), hint.end());
    Bytes sig = sign(body);
    blob.insert(blob.end(), sig.begin(), sig.end());
    return body + "\n\xE2\x80\x94 synthetic.example " + base64_encode(blob) + "\n";
  }
};

Json& entry0(Json& j) {
  return j["verificationMaterial"]["tlogEntries"][0];
}

}  // namespace

TEST_CASE("the leaf hash is SHA-256 of 0x00 and the leaf, as sha256sum computes it", "[sigstore][tlog]") {
  TempDir dir;
  write_file(dir / "leaf", std::string(1, '\0') + "leaf data");
  auto h = merkle_leaf_hash(as_bytes("leaf data"));
  CHECK(to_hex(h) == sha256sum_hex(dir / "leaf"));
}

TEST_CASE("inclusion proofs from the RFC 6962 oracle verify for every index of trees up to 33", "[sigstore][tlog]") {
  std::vector<Bytes> leaves;
  for (std::size_t i = 0; i < 33; ++i) {
    leaves.push_back(random_bytes(1 + i, i));
  }
  for (std::size_t n = 1; n <= leaves.size(); ++n) {
    Bytes root = mth(leaves, 0, n);
    for (std::size_t m = 0; m < n; ++m) {
      INFO("n=" << n << " m=" << m);
      auto p = path(m, leaves, 0, n);
      MerkleHash lh = leaf_hash_of(leaves[m]);
      REQUIRE(verify_inclusion_proof(lh, static_cast<std::int64_t>(m), static_cast<std::int64_t>(n), p, root).ok());
      if (!p.empty()) {
        auto flipped = p;
        flipped.back()[31] ^= 1;
        auto r = verify_inclusion_proof(lh, static_cast<std::int64_t>(m), static_cast<std::int64_t>(n), flipped, root);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == Code::kMismatch);
        auto shorter = p;
        shorter.pop_back();
        CHECK_FALSE(
            verify_inclusion_proof(lh, static_cast<std::int64_t>(m), static_cast<std::int64_t>(n), shorter, root).ok());
      }
      auto longer = p;
      longer.push_back(Bytes(32, 0));
      CHECK_FALSE(
          verify_inclusion_proof(lh, static_cast<std::int64_t>(m), static_cast<std::int64_t>(n), longer, root).ok());
      if (n > 1) {
        std::size_t other = (m + 1) % n;
        CHECK_FALSE(
            verify_inclusion_proof(lh, static_cast<std::int64_t>(other), static_cast<std::int64_t>(n), p, root).ok());
      }
    }
  }
}

TEST_CASE("inclusion proof inputs out of range are malformed", "[sigstore][tlog]") {
  MerkleHash lh{};
  Bytes root(32, 0);
  auto r = verify_inclusion_proof(lh, 5, 5, {}, root);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Code::kMalformed);
  CHECK(r.error().message == "inclusion proof: index 5 is not inside a tree of size 5");
  CHECK(verify_inclusion_proof(lh, -1, 5, {}, root).error().code == Code::kMalformed);
  CHECK(verify_inclusion_proof(lh, 0, 2, {Bytes(31, 0)}, root).error().code == Code::kMalformed);
  CHECK(verify_inclusion_proof(lh, 0, 1, {}, Bytes(31, 0)).error().code == Code::kMalformed);
}

TEST_CASE("the real Rekor v1 proof of happy-path-v0.1 verifies and one changed hash breaks it", "[sigstore][tlog]") {
  Json j = case_json("happy-path-v0.1");
  const TrustedRoot& root = default_trusted_root();
  Bundle b = parse_or_throw(j);
  const TlogEntry& e = b.tlog_entries[0];
  const TransparencyLog* log = root.find_tlog(e.log_id);
  REQUIRE(log != nullptr);
  CHECK(verify_entry_inclusion(e, *log, LogGeneration::kRekorV1, e.canonicalized_body).ok());

  entry0(j)["inclusionProof"]["hashes"][3] = flip_b64(entry0(j)["inclusionProof"]["hashes"][3], 7);
  Bundle bad = parse_or_throw(j);
  auto r = verify_entry_inclusion(bad.tlog_entries[0], *log, LogGeneration::kRekorV1,
                                  bad.tlog_entries[0].canonicalized_body);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Code::kMismatch);
  CHECK(r.error().message.rfind("inclusion proof: computed root ", 0) == 0);
}

TEST_CASE("the SET covers body, integrated time, log ID and the global log index", "[sigstore][tlog]") {
  const TrustedRoot& root = default_trusted_root();
  Bundle b = case_bundle("happy-path-v0.1");
  TlogEntry e = b.tlog_entries[0];
  const TransparencyLog* log = root.find_tlog(e.log_id);
  REQUIRE(verify_set(e, *log).ok());

  TlogEntry time = e;
  time.integrated_time += 1;
  CHECK(verify_set(time, *log).error().code == Code::kBadSignature);
  TlogEntry shard_index = e;
  shard_index.log_index = e.inclusion_proof->log_index;  // the per-shard index is not what was signed
  CHECK(verify_set(shard_index, *log).error().code == Code::kBadSignature);
  TlogEntry body = e;
  body.canonicalized_body.back() ^= 1;
  CHECK(verify_set(body, *log).error().code == Code::kBadSignature);
  TlogEntry sig = e;
  (*sig.signed_entry_timestamp)[10] ^= 1;
  auto r = verify_set(sig, *log);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Code::kBadSignature);
  CHECK(r.error().message == "inclusion promise: signature does not verify");

  TransparencyLog late = *log;
  late.valid_for.start_ms = (e.integrated_time + 1) * 1000;
  auto outside = verify_set(e, late);
  REQUIRE_FALSE(outside.ok());
  CHECK(outside.error().code == Code::kUntrusted);
  CHECK(outside.error().message ==
        "inclusion promise: integrated time 2023-07-12T15:56:36Z is outside the log key's validity");
  TransparencyLog ended = *log;
  ended.valid_for.end_ms = e.integrated_time * 1000;  // closed interval: still valid
  CHECK(verify_set(e, ended).ok());
}

TEST_CASE("Rekor v2 signed-note key hints equal the first bytes of the trusted log IDs", "[sigstore][tlog]") {
  int checked = 0;
  for (const TrustedRoot& root : {default_trusted_root(), root_or_throw(staging_json())}) {
    for (const auto& log : root.tlogs) {
      if (log.key->type() != KeyType::kEd25519) {
        continue;
      }
      auto hint = note_key_hint(log, LogGeneration::kRekorV2, log.host());
      REQUIRE(hint.ok());
      CHECK(to_hex(*hint) == to_hex(std::span<const std::uint8_t>(log.log_id).first(4)));
      ++checked;
    }
  }
  CHECK(checked == 4);
}

TEST_CASE("Rekor v2 checkpoints with witness cosignatures verify; origin must be the log host", "[sigstore][tlog]") {
  for (std::string name : {"rekor2-happy-path", "rekor2-checkpoint-cosigned", "rekor2-checkpoint-origin-not-first",
                           "rekor2-checkpoint-two-sigs-from-origin"}) {
    INFO(name);
    TrustedRoot root = root_or_throw(case_root_json(name));
    Bundle b = case_bundle(name);
    const TlogEntry& e = b.tlog_entries[0];
    auto cp = parse_checkpoint(e.inclusion_proof->checkpoint);
    REQUIRE(cp.ok());
    const TransparencyLog* log = root.find_tlog(e.log_id);
    REQUIRE(log != nullptr);
    CHECK(verify_checkpoint(*cp, *log, LogGeneration::kRekorV2).ok());
    TransparencyLog moved = *log;
    moved.base_url = "https://elsewhere.example";
    auto r = verify_checkpoint(*cp, moved, LogGeneration::kRekorV2);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Code::kUntrusted);
    CHECK(r.error().message.find("is not the log's host \"elsewhere.example\"") != std::string::npos);
  }
}

TEST_CASE("checkpoints are parsed strictly", "[sigstore][tlog]") {
  const std::string sig = "\xE2\x80\x94 o AAAAAAA=\n";
  const std::string root = base64_encode(Bytes(32, 7));
  auto good = parse_checkpoint("o\n5\n" + root + "\nTimestamp: 1\n\n" + sig);
  REQUIRE(good.ok());
  CHECK(good->origin == "o");
  CHECK(good->tree_size == 5);
  CHECK(good->extra_lines == std::vector<std::string>{"Timestamp: 1"});
  CHECK(good->body == "o\n5\n" + root + "\nTimestamp: 1\n");
  REQUIRE(good->signatures.size() == 1);
  CHECK(good->signatures[0].name == "o");
  CHECK(good->signatures[0].signature.size() == 1);

  struct Case {
    std::string text;
    std::string message;
  } cases[] = {
      {"o\n5\n" + root + "\n" + sig, "checkpoint: no blank line between body and signatures"},
      {"o\n5\n" + root + "\n\n" + sig + "\n" + sig, "checkpoint: more than one blank line"},
      {"o\n5\n" + root + "\n\n", "checkpoint: has no signature lines"},
      {"o\n5\n" + root + "\n\n\xE2\x80\x94 o AAAAAAA=", "checkpoint: last signature line does not end with a newline"},
      {"5\n" + root + "\n\n" + sig, "checkpoint: body has 2 lines, needs origin, tree size and root hash"},
      {"o\nfive\n" + root + "\n\n" + sig, "checkpoint: tree size line is not a decimal number"},
      {"o\n5\nAAAA\n\n" + sig, "checkpoint: root hash line is not a base64 32-byte hash"},
      {"o\n5\n" + root + "\n\n- o AAAAAAA=\n", "checkpoint: signature line 1: does not start with"},
      {"o\n5\n" + root + "\n\n\xE2\x80\x94 o AAAA\n", "checkpoint: signature line 1: signature is not base64"},
      {"o\n5\n" + root + "\n\n\xE2\x80\x94 oAAAAAAA=\n", "checkpoint: signature line 1: expected"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto r = parse_checkpoint(c.text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == Code::kMalformed);
    CHECK(r.error().message.rfind(c.message, 0) == 0);
  }
}

TEST_CASE("a synthetic log entry verifies, and each checkpoint binding fails on its own", "[sigstore][tlog]") {
  SyntheticLog s;
  std::vector<Bytes> leaves = {random_bytes(10, 1), Bytes{'b', 'o', 'd', 'y'}, random_bytes(10, 3), random_bytes(10, 4),
                               random_bytes(10, 5)};
  Bytes root = mth(leaves, 0, 5);
  TlogEntry e;
  e.log_id = s.log.log_id;
  e.kind = "hashedrekord";
  e.version = "0.0.1";
  e.canonicalized_body = leaves[1];
  InclusionProof proof;
  proof.log_index = 1;
  proof.tree_size = 5;
  proof.root_hash = root;
  proof.hashes = path(1, leaves, 0, 5);
  proof.checkpoint = s.checkpoint(5, root);
  e.inclusion_proof = proof;
  REQUIRE(verify_entry_inclusion(e, s.log, LogGeneration::kRekorV1, leaves[1]).ok());

  TlogEntry other_root = e;
  other_root.inclusion_proof->checkpoint = s.checkpoint(5, mth(leaves, 0, 4));
  auto r1 = verify_entry_inclusion(other_root, s.log, LogGeneration::kRekorV1, leaves[1]);
  REQUIRE_FALSE(r1.ok());
  CHECK(r1.error().code == Code::kMismatch);
  CHECK(r1.error().message == "checkpoint: root hash does not match the inclusion proof's");

  TlogEntry other_size = e;
  other_size.inclusion_proof->checkpoint = s.checkpoint(6, root);
  auto r2 = verify_entry_inclusion(other_size, s.log, LogGeneration::kRekorV1, leaves[1]);
  REQUIRE_FALSE(r2.ok());
  CHECK(r2.error().code == Code::kMismatch);
  CHECK(r2.error().message == "checkpoint: tree size 6 does not match the inclusion proof's 5");

  TlogEntry forged = e;
  std::string cp = e.inclusion_proof->checkpoint;
  cp.replace(cp.find("\n5\n"), 3, "\n5\n");  // unchanged body...
  auto pos = cp.find("synthetic.example - 42");
  cp.replace(pos, 22, "synthetic.example - 43");  // ...but a different origin line under the old signature
  forged.inclusion_proof->checkpoint = cp;
  auto r3 = verify_entry_inclusion(forged, s.log, LogGeneration::kRekorV1, leaves[1]);
  REQUIRE_FALSE(r3.ok());
  CHECK(r3.error().code == Code::kBadSignature);

  TlogEntry wrong_leaf = e;
  auto r4 = verify_entry_inclusion(wrong_leaf, s.log, LogGeneration::kRekorV1, leaves[2]);
  REQUIRE_FALSE(r4.ok());
  CHECK(r4.error().code == Code::kMismatch);

  // A checkpoint signed by someone else (other key hint) is not evidence from this log.
  SyntheticLog stranger;
  TlogEntry foreign = e;
  foreign.inclusion_proof->checkpoint = stranger.checkpoint(5, root);
  auto r5 = verify_entry_inclusion(foreign, s.log, LogGeneration::kRekorV1, leaves[1]);
  REQUIRE_FALSE(r5.ok());
  CHECK(r5.error().code == Code::kUntrusted);
  CHECK(r5.error().message.rfind("checkpoint: is not signed by the log", 0) == 0);
}

TEST_CASE("log generations come from kindVersion", "[sigstore][tlog]") {
  TlogEntry e;
  e.kind = "hashedrekord";
  e.version = "0.0.2";
  CHECK(log_generation(e).value() == LogGeneration::kRekorV2);
  e.version = "0.0.1";
  CHECK(log_generation(e).value() == LogGeneration::kRekorV1);
  e.kind = "intoto";
  e.version = "0.0.2";
  CHECK(log_generation(e).value() == LogGeneration::kRekorV1);
  e.kind = "rekord";
  CHECK(log_generation(e).error().code == Code::kUnsupported);
}
