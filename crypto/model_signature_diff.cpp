// model_signature_diff.cpp: comparing a signed manifest with the local one and describing every
// difference by name with both digests (split from model_signature.cpp, which parses).
#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

#include "base/limits.h"
#include "crypto/encoding.h"
#include "crypto/model_signature.h"

namespace modelgate::crypto {

namespace {

std::string digest_text(const ManifestDiff& d, std::span<const std::uint8_t> digest) {
  return d.hash_name + ":" + to_hex(digest);
}

}  // namespace

std::string ManifestDiff::describe() const {
  const std::string kind = shards ? "shard " : "file ";
  const std::size_t cap = limits::kMaxReportedResourceDiffs;
  std::string out;
  auto clause = [&](const std::string& c) {
    if (!out.empty()) {
      out += "; ";
    }
    out += c;
  };
  auto more = [&](std::size_t total, std::string_view what) {
    if (total > cap) {
      clause("and " + std::to_string(total - cap) + " more " + std::string(what));
    }
  };
  for (std::size_t i = 0; i < mismatched.size() && i < cap; ++i) {
    const ResourceMismatch& m = mismatched[i];
    if (m.signed_algorithm != m.local_algorithm) {
      clause(kind + quote_for_message(m.name) + " was signed with algorithm " +
             quote_for_message(m.signed_algorithm) + " but hashed with " + quote_for_message(m.local_algorithm));
    } else if (m.local_digest.empty()) {
      // Decided before hashing: the file's size differs from that of the file the digest was once found in.
      clause(kind + quote_for_message(m.name) + " does not match the signed digest (signed " +
             digest_text(*this, m.signed_digest) + "; its size differs from the signed file's, so it was not read)");
    } else {
      clause(kind + quote_for_message(m.name) + " does not match the signed digest (signed " +
             digest_text(*this, m.signed_digest) + ", found " + digest_text(*this, m.local_digest) + ")");
    }
  }
  more(mismatched.size(), "changed");
  for (std::size_t i = 0; i < missing.size() && i < cap; ++i) {
    clause(kind + quote_for_message(missing[i].name) + " is missing (signed " +
           digest_text(*this, missing[i].digest) + ")");
  }
  more(missing.size(), "missing");
  for (std::size_t i = 0; i < extra.size() && i < cap; ++i) {
    if (extra[i].digest.empty()) {
      clause(kind + quote_for_message(extra[i].name) + " is not signed");  // found before hashing
    } else {
      clause(kind + quote_for_message(extra[i].name) + " is not signed (found " +
             digest_text(*this, extra[i].digest) + ")");
    }
  }
  more(extra.size(), "not signed");
  return out;
}

ManifestDiff compare_manifest(const SignedModel& signed_model, const Manifest& local) {
  ManifestDiff diff;
  diff.hash_name = std::string(hash_type_name(signed_model.serialization.hash_type));
  diff.shards = signed_model.serialization.method == SerializationMethod::kShards;

  auto path_of = [&](std::string_view name) -> std::string_view {
    if (!diff.shards) {
      return name;
    }
    std::size_t c2 = name.rfind(':');
    if (c2 == std::string_view::npos || c2 == 0) {
      return name;
    }
    std::size_t c1 = name.rfind(':', c2 - 1);
    return c1 == std::string_view::npos ? name : name.substr(0, c1);
  };
  // Single file: Python names it ".", Go and the OMS spec its basename (§1.4).
  bool local_single = !local.resources.empty() && !local.model_name.empty();
  for (const Resource& r : local.resources) {
    if (path_of(r.name) != ".") {
      local_single = false;
      break;
    }
  }
  bool signed_dot = false;
  for (const Resource& r : signed_model.resources) {
    if (path_of(r.name) == ".") {
      signed_dot = true;
      break;
    }
  }
  bool rename_local = local_single && !signed_dot;
  // Messages name a single-file model by its file name rather than ".".
  auto display = [&](const std::string& name) {
    return local_single && path_of(name) == "." ? local.model_name + name.substr(1) : name;
  };

  std::unordered_map<std::string_view, std::size_t> signed_index;
  signed_index.reserve(signed_model.resources.size());
  for (std::size_t i = 0; i < signed_model.resources.size(); ++i) {
    signed_index.emplace(signed_model.resources[i].name, i);
  }
  std::vector<bool> found(signed_model.resources.size(), false);
  for (const Resource& r : local.resources) {
    std::string name = r.name;
    if (rename_local) {
      name = local.model_name + r.name.substr(1);
    }
    auto it = signed_index.find(name);
    if (it == signed_index.end()) {
      diff.extra.push_back(Resource{name, r.algorithm, r.digest});
      continue;
    }
    const Resource& s = signed_model.resources[it->second];
    found[it->second] = true;
    // Digests come from untrusted input: compare in constant time (STYLE.md §10).
    bool same_digest = constant_time_equal(s.digest, r.digest);
    if (!same_digest || s.algorithm != r.algorithm) {
      diff.mismatched.push_back(ResourceMismatch{display(name), s.algorithm, r.algorithm, s.digest, r.digest});
    }
  }
  for (std::size_t i = 0; i < signed_model.resources.size(); ++i) {
    if (!found[i]) {
      diff.missing.push_back(signed_model.resources[i]);
      diff.missing.back().name = display(diff.missing.back().name);
    }
  }
  return diff;
}

}  // namespace modelgate::crypto
