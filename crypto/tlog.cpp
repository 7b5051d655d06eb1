#include "crypto/tlog.h"

#include <charconv>

#include "base/limits.h"
#include "crypto/encoding.h"
#include "crypto/quote.h"
#include "crypto/x509.h"

namespace modelgate::crypto {

namespace {

constexpr std::string_view kEmDash = "\xE2\x80\x94";  // U+2014, the signed-note signature marker

MerkleHash node_hash(const MerkleHash& left, std::span<const std::uint8_t> right_or_left, bool left_first) {
  // RFC 6962 §2.1: interior node = SHA-256(0x01 || left || right).
  std::vector<std::uint8_t> buf;
  buf.reserve(65);
  buf.push_back(0x01);
  if (left_first) {
    buf.insert(buf.end(), left.begin(), left.end());
    buf.insert(buf.end(), right_or_left.begin(), right_or_left.end());
  } else {
    buf.insert(buf.end(), right_or_left.begin(), right_or_left.end());
    buf.insert(buf.end(), left.begin(), left.end());
  }
  auto d = digest(HashAlg::kSha256, buf);
  MerkleHash out;
  std::copy(d.begin(), d.end(), out.begin());
  return out;
}

bool parse_decimal(std::string_view s, std::int64_t* out) {
  if (s.empty() || s.size() > 19 || (s.size() > 1 && s[0] == '0')) {
    return false;
  }
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size() && *out >= 0;
}

std::vector<std::string_view> split_lines(std::string_view text) {
  // `text` ends with '\n'; each element excludes its '\n'.
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t nl = text.find('\n', start);
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

}  // namespace

Result<LogGeneration> log_generation(const TlogEntry& entry) {
  if (entry.kind == "hashedrekord" && entry.version == "0.0.2") {
    return LogGeneration::kRekorV2;
  }
  if ((entry.kind == "hashedrekord" && entry.version == "0.0.1") ||
      (entry.kind == "dsse" && entry.version == "0.0.1") || (entry.kind == "intoto" && entry.version == "0.0.2")) {
    return LogGeneration::kRekorV1;
  }
  return make_error(Code::kUnsupported, "unsupported entry kind " + quote_untrusted(entry.kind.substr(0, 32) + "/" +
                                                                                    entry.version.substr(0, 32)));
}

MerkleHash merkle_leaf_hash(std::span<const std::uint8_t> leaf) {
  std::vector<std::uint8_t> buf;
  buf.reserve(leaf.size() + 1);
  buf.push_back(0x00);
  buf.insert(buf.end(), leaf.begin(), leaf.end());
  auto d = digest(HashAlg::kSha256, buf);
  MerkleHash out;
  std::copy(d.begin(), d.end(), out.begin());
  return out;
}

Result<void> verify_inclusion_proof(const MerkleHash& leaf_hash, std::int64_t index, std::int64_t tree_size,
                                    const std::vector<std::vector<std::uint8_t>>& hashes,
                                    std::span<const std::uint8_t> root_hash) {
  if (index < 0 || tree_size < 0 || index >= tree_size) {
    return make_error(Code::kMalformed, "inclusion proof: index " + std::to_string(index) +
                                            " is not inside a tree of size " + std::to_string(tree_size));
  }
  if (root_hash.size() != 32) {
    return make_error(Code::kMalformed,
                      "inclusion proof: root hash is " + std::to_string(root_hash.size()) + " bytes, expected 32");
  }
  // RFC 9162 §2.1.3.2 verification of an inclusion proof.
  auto fn = static_cast<std::uint64_t>(index);
  auto sn = static_cast<std::uint64_t>(tree_size - 1);
  MerkleHash r = leaf_hash;
  for (std::size_t i = 0; i < hashes.size(); ++i) {
    const auto& p = hashes[i];
    if (p.size() != 32) {
      return make_error(Code::kMalformed, "inclusion proof: hash " + std::to_string(i) + " is " +
                                              std::to_string(p.size()) + " bytes, expected 32");
    }
    if (sn == 0) {
      return make_error(Code::kMalformed, "inclusion proof: too many hashes (" + std::to_string(hashes.size()) + ")");
    }
    if ((fn & 1) != 0 || fn == sn) {
      r = node_hash(r, p, false);
      if ((fn & 1) == 0) {
        do {
          fn >>= 1;
          sn >>= 1;
        } while ((fn & 1) == 0 && fn != 0);
      }
    } else {
      r = node_hash(r, p, true);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) {
    return make_error(Code::kMalformed, "inclusion proof: too few hashes (" + std::to_string(hashes.size()) + ")");
  }
  if (!constant_time_equal(r, root_hash)) {
    return make_error(Code::kMismatch,
                      "inclusion proof: computed root " + to_hex(r) + " does not match root hash " + to_hex(root_hash));
  }
  return ok_status();
}

Result<Checkpoint> parse_checkpoint(std::string_view env) {
  if (env.size() > limits::kMaxCheckpointBytes) {
    return make_error(Code::kLimit, "checkpoint: is " + std::to_string(env.size()) + " bytes (limit " +
                                        std::to_string(limits::kMaxCheckpointBytes) + ")");
  }
  // C2SP signed-note: text, one blank line, signature lines; every line ends with '\n'.
  std::size_t blank = env.find("\n\n");
  if (blank == std::string_view::npos) {
    return make_error(Code::kMalformed, "checkpoint: no blank line between body and signatures");
  }
  if (env.find("\n\n", blank + 1) != std::string_view::npos) {
    return make_error(Code::kMalformed, "checkpoint: more than one blank line");
  }
  Checkpoint cp;
  cp.body = std::string(env.substr(0, blank + 1));
  std::string_view sigs = env.substr(blank + 2);
  if (sigs.empty()) {
    return make_error(Code::kMalformed, "checkpoint: has no signature lines");
  }
  if (sigs.back() != '\n') {
    return make_error(Code::kMalformed, "checkpoint: last signature line does not end with a newline");
  }
  auto body_lines = split_lines(cp.body);
  if (body_lines.size() < 3) {
    return make_error(Code::kMalformed, "checkpoint: body has " + std::to_string(body_lines.size()) +
                                            " lines, needs origin, tree size and root hash");
  }
  cp.origin = std::string(body_lines[0]);
  if (cp.origin.empty()) {
    return make_error(Code::kMalformed, "checkpoint: origin line is empty");
  }
  if (!parse_decimal(body_lines[1], &cp.tree_size)) {
    return make_error(Code::kMalformed, "checkpoint: tree size line is not a decimal number");
  }
  auto root = base64_decode(body_lines[2], 64);
  if (!root.ok() || root->size() != 32) {
    return make_error(Code::kMalformed, "checkpoint: root hash line is not a base64 32-byte hash");
  }
  cp.root_hash = std::move(root).value();
  for (std::size_t i = 3; i < body_lines.size(); ++i) {
    cp.extra_lines.emplace_back(body_lines[i]);
  }
  auto lines = split_lines(sigs);
  if (lines.size() > limits::kMaxCheckpointSignatures) {
    return make_error(Code::kLimit, "checkpoint: too many signature lines (" + std::to_string(lines.size()) + " > " +
                                        std::to_string(limits::kMaxCheckpointSignatures) + ")");
  }
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    std::string where = "checkpoint: signature line " + std::to_string(i + 1);
    if (line.substr(0, kEmDash.size()) != kEmDash || line.size() < kEmDash.size() + 1 || line[kEmDash.size()] != ' ') {
      return make_error(Code::kMalformed, where + ": does not start with \"\xE2\x80\x94 \"");
    }
    std::string_view rest = line.substr(kEmDash.size() + 1);
    std::size_t sp = rest.find(' ');
    if (sp == std::string_view::npos || sp == 0 || rest.find(' ', sp + 1) != std::string_view::npos) {
      return make_error(Code::kMalformed, where + ": expected \"\xE2\x80\x94 <name> <signature>\"");
    }
    auto raw = base64_decode(rest.substr(sp + 1), limits::kMaxCheckpointBytes);
    if (!raw.ok() || raw->size() < 5) {
      return make_error(Code::kMalformed, where + ": signature is not base64 of key hint and signature");
    }
    NoteSignature ns;
    ns.name = std::string(rest.substr(0, sp));
    std::copy(raw->begin(), raw->begin() + 4, ns.key_hint.begin());
    ns.signature.assign(raw->begin() + 4, raw->end());
    cp.signatures.push_back(std::move(ns));
  }
  return cp;
}

Result<std::array<std::uint8_t, 4>> note_key_hint(const TransparencyLog& log, LogGeneration gen,
                                                  std::string_view origin) {
  std::array<std::uint8_t, 4> hint{};
  if (!log.key) {
    return make_error(Code::kUnsupported, "log key type " + quote_untrusted(log.key_details, 64) + " is not supported");
  }
  std::vector<std::uint8_t> material;
  const KeyType t = log.key->type();
  if (gen == LogGeneration::kRekorV1 || t == KeyType::kEcdsaP256 || t == KeyType::kEcdsaP384 ||
      t == KeyType::kEcdsaP521) {
    material = log.key->spki_der();
  } else if (log.key->type() == KeyType::kEd25519) {
    // C2SP signed-note key ID: SHA-256(name || 0x0A || 0x01 || raw 32-byte key).
    std::size_t len = 32;
    std::array<std::uint8_t, 32> raw{};
    if (EVP_PKEY_get_raw_public_key(log.key->get(), raw.data(), &len) != 1 || len != 32) {
      return make_error(Code::kInternal, "cannot read the raw Ed25519 key");
    }
    material.assign(origin.begin(), origin.end());
    material.push_back(0x0A);
    material.push_back(0x01);
    material.insert(material.end(), raw.begin(), raw.end());
  } else if (log.key->type() == KeyType::kRsa) {
    constexpr std::string_view kRsaTag = "PKIX-RSA-PKCS#1v1.5";
    material.assign(origin.begin(), origin.end());
    material.push_back(0x0A);
    material.push_back(0xFF);
    material.insert(material.end(), kRsaTag.begin(), kRsaTag.end());
    auto spki = log.key->spki_der();
    material.insert(material.end(), spki.begin(), spki.end());
  } else {
    return make_error(Code::kUnsupported, "no signed-note key ID for this log key type");
  }
  auto d = digest(HashAlg::kSha256, material);
  std::copy(d.begin(), d.begin() + 4, hint.begin());
  return hint;
}

Result<void> verify_checkpoint(const Checkpoint& cp, const TransparencyLog& log, LogGeneration gen) {
  if (gen == LogGeneration::kRekorV2) {
    std::string host = log.host();
    if (cp.origin != host) {
      return make_error(Code::kUntrusted, "checkpoint: origin " + quote_untrusted(cp.origin) +
                                              " is not the log's host " + quote_untrusted(host));
    }
  }
  MG_ASSIGN_OR_RETURN(auto hint, note_key_hint(log, gen, cp.origin));
  std::size_t verified = 0;
  for (const auto& sig : cp.signatures) {
    if (sig.key_hint != hint) {
      continue;  // a witness or another key: cannot be checked, ignored (§4.C5)
    }
    if (gen == LogGeneration::kRekorV2 && sig.name != cp.origin) {
      continue;
    }
    auto r = verify_log_signature(log, as_bytes(cp.body), sig.signature);
    if (!r.ok()) {
      return std::move(r).error().context("checkpoint: signature by " + quote_untrusted(sig.name));
    }
    ++verified;
  }
  if (verified == 0) {
    return make_error(Code::kUntrusted,
                      "checkpoint: is not signed by the log (no signature with key hint " + to_hex(hint) + ")");
  }
  return ok_status();
}

Result<void> verify_set(const TlogEntry& entry, const TransparencyLog& log) {
  if (!entry.signed_entry_timestamp) {
    return make_error(Code::kMalformed, "inclusion promise: is missing");
  }
  // RFC 8785 canonical JSON of the four fields, keys sorted, integers unquoted (§4.C3).
  std::string payload = "{\"body\":\"" + base64_encode(entry.canonicalized_body) +
                        "\",\"integratedTime\":" + std::to_string(entry.integrated_time) + ",\"logID\":\"" +
                        to_hex(entry.log_id) + "\",\"logIndex\":" + std::to_string(entry.log_index) + "}";
  auto r = verify_log_signature(log, as_bytes(payload), *entry.signed_entry_timestamp);
  if (!r.ok()) {
    return std::move(r).error().context("inclusion promise");
  }
  if (!log.valid_for.contains(entry.integrated_time)) {
    return make_error(Code::kUntrusted, "inclusion promise: integrated time " + format_time(entry.integrated_time) +
                                            " is outside the log key's validity");
  }
  return ok_status();
}

Result<void> verify_entry_inclusion(const TlogEntry& entry, const TransparencyLog& log, LogGeneration gen,
                                    std::span<const std::uint8_t> leaf) {
  if (!entry.inclusion_proof) {
    return make_error(Code::kMalformed, "inclusion proof: is missing");
  }
  const InclusionProof& proof = *entry.inclusion_proof;
  if (gen == LogGeneration::kRekorV2 && proof.log_index != entry.log_index) {
    return make_error(Code::kMismatch, "inclusion proof: log index " + std::to_string(proof.log_index) +
                                           " does not match the entry's " + std::to_string(entry.log_index));
  }
  MG_TRY(
      verify_inclusion_proof(merkle_leaf_hash(leaf), proof.log_index, proof.tree_size, proof.hashes, proof.root_hash));
  MG_ASSIGN_OR_RETURN(Checkpoint cp, parse_checkpoint(proof.checkpoint));
  if (!constant_time_equal(cp.root_hash, proof.root_hash)) {
    return make_error(Code::kMismatch, "checkpoint: root hash does not match the inclusion proof's");
  }
  if (cp.tree_size != proof.tree_size) {
    return make_error(Code::kMismatch, "checkpoint: tree size " + std::to_string(cp.tree_size) +
                                           " does not match the inclusion proof's " + std::to_string(proof.tree_size));
  }
  return verify_checkpoint(cp, log, gen);
}

}  // namespace modelgate::crypto
