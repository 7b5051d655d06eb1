#include "crypto/model_signature.h"

#include <cmath>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "base/limits.h"
#include "base/utf8.h"
#include "crypto/encoding.h"
#include "crypto/json.h"

namespace modelgate::crypto {

namespace {

constexpr std::size_t kMaxQuotedBytes = 120;

// parse_decimal reads a canonical unsigned decimal (no sign, no leading zeros except "0").
bool parse_decimal(std::string_view s, std::uint64_t& out) {
  if (s.empty() || s.size() > 20 || (s.size() > 1 && s[0] == '0')) {
    return false;
  }
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') {
      return false;
    }
    std::uint64_t d = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) {
      return false;
    }
    v = v * 10 + d;
  }
  out = v;
  return true;
}

std::string at_index(std::string_view path, std::size_t i) {
  return std::string(path) + "[" + std::to_string(i) + "]";
}

Error malformed(std::string_view where, std::string_view what) {
  return make_error(Code::kMalformed, std::string(where) + ": " + std::string(what));
}

// ShardName is "<path>:<start>:<end>" split at the last two ':' (OMS spec; Python's split(":")
// would break on paths containing ':').
struct ShardName {
  std::string_view path;
  std::uint64_t start = 0;
  std::uint64_t end = 0;
};

Result<ShardName> split_shard_name(std::string_view name, std::uint64_t shard_size) {
  std::size_t c2 = name.rfind(':');
  if (c2 == std::string_view::npos || c2 == 0) {
    return make_error(Code::kMalformed, "is not \"<path>:<start>:<end>\"");
  }
  std::size_t c1 = name.rfind(':', c2 - 1);
  if (c1 == std::string_view::npos) {
    return make_error(Code::kMalformed, "is not \"<path>:<start>:<end>\"");
  }
  ShardName out;
  out.path = name.substr(0, c1);
  if (!parse_decimal(name.substr(c1 + 1, c2 - c1 - 1), out.start) ||
      !parse_decimal(name.substr(c2 + 1), out.end)) {
    return make_error(Code::kMalformed, "has shard offsets that are not canonical decimal numbers");
  }
  // §2.4: shards are [k*size, min((k+1)*size, S)); anything else is no producer's output.
  if (out.end <= out.start || out.end - out.start > shard_size || out.start % shard_size != 0) {
    return make_error(Code::kMalformed, "has shard offsets " + std::to_string(out.start) + ":" +
                                            std::to_string(out.end) + " that do not fit shard_size " +
                                            std::to_string(shard_size));
  }
  return out;
}

Result<HashType> read_hash_type(std::string_view name) {
  if (name == "sha256") {
    return HashType::kSha256;
  }
  if (name == "blake2b") {
    return HashType::kBlake2b;
  }
  return make_error(Code::kUnsupported,
                    "hash type " + quote_for_message(name) + " is not supported (sha256, blake2b)");
}

// read_shard_size accepts a JSON integer or an integral float (Python's protobuf Struct writes
// 1000000000.0, §1.3), > 0 and exactly representable.
Result<std::uint64_t> read_shard_size(const Json& ser, std::string_view path) {
  const Json* v = find_field(ser, "shard_size");
  std::string where = std::string(path) + ".shard_size";
  if (v == nullptr) {
    return malformed(where, "is required in shards mode");
  }
  if (v->is_number_unsigned()) {
    std::uint64_t n = v->get<std::uint64_t>();
    if (n < limits::kMinShardSize) {
      return malformed(where, "must be > 0");
    }
    return n;
  }
  if (v->is_number_integer()) {
    return malformed(where, "must be > 0");
  }
  if (v->is_number_float()) {
    double d = v->get<double>();
    // 2^53: beyond it a double no longer names one integer.
    if (!std::isfinite(d) || d != std::floor(d) || d < 1.0 || d > 9007199254740992.0) {
      return malformed(where, "must be an integral number > 0");
    }
    auto n = static_cast<std::uint64_t>(d);
    if (n < limits::kMinShardSize) {
      return malformed(where, "must be > 0");
    }
    return n;
  }
  return malformed(where, "expected a number");
}

struct Serialization {
  SerializationConfig config;
  bool ignore_paths_recorded = false;
};

Result<Serialization> read_serialization(const Json& predicate) {
  MG_ASSIGN_OR_RETURN(const Json* ser, get_object(predicate, "serialization", "predicate"));
  constexpr std::string_view kPath = "predicate.serialization";
  Serialization out;
  MG_ASSIGN_OR_RETURN(std::string method, get_string(*ser, "method", kPath));
  if (method == "files") {
    out.config.method = SerializationMethod::kFiles;
  } else if (method == "shards") {
    out.config.method = SerializationMethod::kShards;
  } else {
    return make_error(Code::kUnsupported, std::string(kPath) + ".method: " + quote_for_message(method) +
                                              " is not supported (files, shards)");
  }
  bool shards = out.config.method == SerializationMethod::kShards;
  if (shards) {
    MG_ASSIGN_OR_RETURN(out.config.shard_size, read_shard_size(*ser, kPath));
  } else {
    out.config.shard_size = kDefaultShardSize;
  }
  MG_ASSIGN_OR_RETURN(std::string hash_type, get_string(*ser, "hash_type", kPath));
  // v0.3.x wrote the shard algorithm "sha256-sharded-<N>" into hash_type (§1.4).
  std::string mangled = "-sharded-" + std::to_string(out.config.shard_size);
  if (shards && hash_type.size() > mangled.size() &&
      hash_type.compare(hash_type.size() - mangled.size(), mangled.size(), mangled) == 0) {
    hash_type.resize(hash_type.size() - mangled.size());
  }
  MG_ASSIGN_OR_RETURN_CTX(out.config.hash_type, read_hash_type(hash_type), std::string(kPath) + ".hash_type");
  // Upstream raises KeyError without allow_symlinks; it is required.
  MG_ASSIGN_OR_RETURN(out.config.allow_symlinks, get_bool(*ser, "allow_symlinks", kPath));

  if (find_field(*ser, "ignore_paths") != nullptr) {
    out.ignore_paths_recorded = true;
    MG_ASSIGN_OR_RETURN(const Json* list, get_array(*ser, "ignore_paths", kPath));
    std::string list_path = std::string(kPath) + ".ignore_paths";
    if (list->size() > limits::kMaxIgnorePaths) {
      return make_error(Code::kLimit, list_path + ": too many entries (" + std::to_string(list->size()) +
                                          " > " + std::to_string(limits::kMaxIgnorePaths) + ")");
    }
    std::set<std::string> unique;
    for (std::size_t i = 0; i < list->size(); ++i) {
      const Json& item = (*list)[i];
      if (!item.is_string()) {
        return malformed(at_index(list_path, i), "expected string");
      }
      const auto& p = item.get_ref<const std::string&>();
      // An ignore path "." or ".." (or one escaping the root) would hide the whole model: with
      // `resources: []` it would "verify" any directory (§6).
      MG_TRY_CTX(check_model_relative_path(p), at_index(list_path, i) + " " + quote_for_message(p));
      unique.insert(p);
    }
    out.config.ignore_paths.assign(unique.begin(), unique.end());
  }
  return out;
}

// under_ignored_path is true when `path` equals an entry of `ignores` or lies below one.
bool under_ignored_path(std::string_view path, const std::set<std::string, std::less<>>& ignores) {
  if (ignores.empty()) {
    return false;
  }
  for (std::size_t pos = path.find('/'); pos != std::string_view::npos; pos = path.find('/', pos + 1)) {
    if (ignores.count(path.substr(0, pos)) != 0) {
      return true;
    }
  }
  return ignores.count(path) != 0;
}

// check_resource_path validates a files-mode name, or the path part of a shard name. "." names
// the single-file model and is checked for being alone by the caller.
Result<void> check_resource_path(std::string_view path) {
  if (path == ".") {
    return ok_status();
  }
  return check_model_relative_path(path);
}

Result<std::vector<std::uint8_t>> read_digest(std::string_view hex, HashType hash_type) {
  std::size_t want = hash_digest_size(hash_type);
  if (hex.size() != want * 2 || !is_lower_hex(hex)) {
    return make_error(Code::kMalformed, "must be " + std::to_string(want * 2) + " lowercase hex digits (" +
                                            std::string(hash_type_name(hash_type)) + ")");
  }
  return from_hex(hex);
}

Result<std::vector<Resource>> read_resources(const Json& predicate, const SerializationConfig& config) {
  MG_ASSIGN_OR_RETURN(const Json* list, get_array(predicate, "resources", "predicate"));
  constexpr std::string_view kPath = "predicate.resources";
  if (list->empty()) {
    // An empty manifest signs nothing; model_signing #662 rejects it too.
    return malformed(kPath, "is empty (a signature must cover at least one file)");
  }
  if (list->size() > limits::kMaxResources) {
    return make_error(Code::kLimit, std::string(kPath) + ": too many resources (" +
                                        std::to_string(list->size()) + " > " +
                                        std::to_string(limits::kMaxResources) + ")");
  }
  bool shards = config.method == SerializationMethod::kShards;
  std::string plain_alg(hash_type_name(config.hash_type));
  std::string sharded_alg = plain_alg + "-sharded-" + std::to_string(config.shard_size);
  std::set<std::string, std::less<>> ignores(config.ignore_paths.begin(), config.ignore_paths.end());

  std::vector<Resource> out;
  out.reserve(list->size());
  std::unordered_set<std::string> seen;
  seen.reserve(list->size());
  std::size_t dot_paths = 0;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const Json& item = (*list)[i];
    std::string where = at_index(kPath, i);
    if (!item.is_object()) {
      return malformed(where, "expected object");
    }
    // Unknown keys are ignored: upstream promises forward compatibility (§1.4).
    MG_ASSIGN_OR_RETURN(std::string name, get_string(item, "name", where));
    MG_ASSIGN_OR_RETURN(std::string algorithm, get_string(item, "algorithm", where));
    MG_ASSIGN_OR_RETURN(std::string digest_hex, get_string(item, "digest", where));
    std::string name_where = where + ".name " + quote_for_message(name);
    if (name.size() > limits::kMaxPathBytes + 48) {
      return make_error(Code::kLimit, name_where + ": longer than " + std::to_string(limits::kMaxPathBytes) +
                                          " bytes");
    }
    std::string_view path = name;
    if (shards) {
      MG_ASSIGN_OR_RETURN_CTX(ShardName shard, split_shard_name(name, config.shard_size), name_where);
      path = shard.path;
    }
    MG_TRY_CTX(check_resource_path(path), name_where);
    if (path == ".") {
      ++dot_paths;
    } else if (under_ignored_path(path, ignores)) {
      return malformed(name_where, "lies under a path the signature itself ignores");
    }
    if (!seen.insert(name).second) {
      return malformed(name_where, "is listed twice");
    }
    // Files: algorithm == hash_type. Shards: Python/Go write "H-sharded-N", the OMS schema says
    // "H"; both are accepted (§1.4) and normalised to what manifest.h writes.
    if (algorithm != plain_alg && !(shards && algorithm == sharded_alg)) {
      return malformed(where + ".algorithm",
                       quote_for_message(algorithm) + " does not match the serialization (expected " +
                           (shards ? "\"" + plain_alg + "\" or \"" + sharded_alg + "\"" : "\"" + plain_alg + "\"") +
                           ")");
    }
    MG_ASSIGN_OR_RETURN_CTX(std::vector<std::uint8_t> digest, read_digest(digest_hex, config.hash_type),
                            where + ".digest");
    out.push_back(Resource{std::move(name), shards ? sharded_alg : plain_alg, std::move(digest)});
  }
  // "." is the single-file model (Python's relative_to); it cannot share a manifest with others.
  if (dot_paths != 0 && dot_paths != out.size()) {
    return malformed(kPath, "mixes the single-file name \".\" with other names");
  }
  if (!shards && dot_paths > 1) {
    return malformed(kPath, "lists \".\" more than once");
  }
  return out;
}

Result<Sha256Digest> read_subject_digest(const StatementSubject& subject, std::string_view where) {
  auto it = subject.digest.find("sha256");
  if (it == subject.digest.end()) {
    return malformed(where, "digest.sha256 is missing");
  }
  if (it->second.size() != 64 || !is_lower_hex(it->second)) {
    return malformed(std::string(where) + ".digest.sha256", "must be 64 lowercase hex digits");
  }
  MG_ASSIGN_OR_RETURN(std::vector<std::uint8_t> bytes, from_hex(it->second));
  Sha256Digest d{};
  std::copy(bytes.begin(), bytes.end(), d.begin());
  return d;
}

Result<SignedModel> parse_v1(const Statement& st) {
  if (st.subjects.size() != 1) {
    return make_error(Code::kMalformed, "subject: expected exactly one subject (the model), found " +
                                            std::to_string(st.subjects.size()));
  }
  if (!st.predicate.is_object()) {
    return malformed("predicate", "expected object");
  }
  SignedModel out;
  out.version = PredicateVersion::kV1;
  out.model_name = st.subjects[0].name;
  MG_ASSIGN_OR_RETURN(out.root_digest, read_subject_digest(st.subjects[0], "subject[0]"));
  MG_ASSIGN_OR_RETURN(Serialization ser, read_serialization(st.predicate));
  out.serialization = std::move(ser.config);
  out.ignore_paths_recorded = ser.ignore_paths_recorded;
  MG_ASSIGN_OR_RETURN(out.resources, read_resources(st.predicate, out.serialization));
  // §1.5: root = SHA-256 over the raw digests in payload order, never re-sorted.
  Sha256Digest root = root_digest_of(out.resources);
  if (!constant_time_equal(root, out.root_digest)) {
    return make_error(Code::kMismatch, "subject[0].digest.sha256 " + to_hex(out.root_digest) +
                                           " does not match the root digest of the resources " + to_hex(root));
  }
  return out;
}

// parse_legacy reads Digests/v0.1 (§1.6): one subject per file, digest.sha256 = the file's
// SHA-256; treated as files/sha256/no symlinks; there is no root digest to check.
Result<SignedModel> parse_legacy(const Statement& st) {
  SignedModel out;
  out.version = PredicateVersion::kLegacyDigestsV01;
  out.serialization.method = SerializationMethod::kFiles;
  out.serialization.hash_type = HashType::kSha256;
  out.serialization.allow_symlinks = false;
  if (st.subjects.empty()) {
    return malformed("subject", "is empty (a signature must cover at least one file)");
  }
  std::unordered_set<std::string> seen;
  std::size_t dot_paths = 0;
  for (std::size_t i = 0; i < st.subjects.size(); ++i) {
    const StatementSubject& s = st.subjects[i];
    std::string where = at_index("subject", i);
    std::string name_where = where + ".name " + quote_for_message(s.name);
    MG_TRY_CTX(check_resource_path(s.name), name_where);
    if (s.name == ".") {
      ++dot_paths;
    }
    if (!seen.insert(s.name).second) {
      return malformed(name_where, "is listed twice");
    }
    MG_ASSIGN_OR_RETURN(Sha256Digest d, read_subject_digest(s, where));
    out.resources.push_back(Resource{s.name, "sha256", std::vector<std::uint8_t>(d.begin(), d.end())});
  }
  if (dot_paths != 0 && out.resources.size() != 1) {
    return malformed("subject", "mixes the single-file name \".\" with other names");
  }
  out.root_digest = root_digest_of(out.resources);
  return out;
}

}  // namespace

Result<void> check_model_relative_path(std::string_view path) {
  if (path.empty()) {
    return make_error(Code::kMalformed, "is empty");
  }
  if (path.size() > limits::kMaxPathBytes) {
    return make_error(Code::kMalformed, "is longer than " + std::to_string(limits::kMaxPathBytes) + " bytes");
  }
  if (!is_valid_utf8(path)) {
    return make_error(Code::kMalformed, "is not valid UTF-8");
  }
  for (std::size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    auto u = static_cast<unsigned char>(c);
    // C0, DEL and (valid UTF-8 already) C1 U+0080-U+009F = C2 80..9F: the walk refuses the same.
    if (u < 0x20 || u == 0x7F ||
        (u == 0xC2 && i + 1 < path.size() && static_cast<unsigned char>(path[i + 1]) <= 0x9F)) {
      return make_error(Code::kMalformed, "contains a control character");
    }
    if (c == '\\') {
      return make_error(Code::kMalformed, "contains a backslash");
    }
  }
  if (path.front() == '/') {
    return make_error(Code::kMalformed, "is absolute");
  }
  std::size_t start = 0;
  while (true) {
    std::size_t slash = path.find('/', start);
    std::string_view comp = path.substr(start, slash == std::string_view::npos ? std::string_view::npos
                                                                              : slash - start);
    if (comp.empty()) {
      return make_error(Code::kMalformed, "has an empty component");
    }
    if (comp == ".") {
      return make_error(Code::kMalformed, "has a \".\" component");
    }
    if (comp == "..") {
      return make_error(Code::kMalformed, "has a \"..\" component (escapes the model)");
    }
    if (comp.size() > limits::kMaxNameBytes) {
      return make_error(Code::kMalformed,
                        "has a component longer than " + std::to_string(limits::kMaxNameBytes) + " bytes");
    }
    if (slash == std::string_view::npos) {
      break;
    }
    start = slash + 1;
  }
  return ok_status();
}

namespace {

// inside_root returns `p` relative to `root` (both absolute, normalised) when it lies strictly
// inside it.
std::optional<std::filesystem::path> inside_root(const std::filesystem::path& root, const std::filesystem::path& p) {
  std::filesystem::path rel = p.lexically_relative(root);
  if (rel.empty() || rel == "." || *rel.begin() == "..") {
    return std::nullopt;
  }
  return rel;
}

std::filesystem::path resolve_dirs(const std::filesystem::path& p) {
  // Resolve symlinks in the directories, not in the last component (it may be a symlink the user
  // wants ignored).
  std::error_code ec;
  std::filesystem::path parent = std::filesystem::weakly_canonical(p.parent_path(), ec);
  if (ec) {
    return p;
  }
  return parent / p.filename();
}

}  // namespace

Result<std::optional<std::string>> resolve_ignore_path(const std::filesystem::path& model_root,
                                                       const std::filesystem::path& cwd, std::string_view arg) {
  namespace fs = std::filesystem;
  if (arg.empty()) {
    return make_error(Code::kMalformed, "ignore path is empty");
  }
  std::error_code ec;
  fs::path root = fs::weakly_canonical(model_root.is_absolute() ? model_root : cwd / model_root, ec);
  if (ec) {
    root = (cwd / model_root).lexically_normal();
  }
  fs::path given{std::string(arg)};
  fs::path candidate = resolve_dirs((given.is_absolute() ? given : cwd / given).lexically_normal());
  if (auto rel = inside_root(root, candidate)) {
    std::string s = rel->generic_string();
    while (!s.empty() && s.back() == '/') {
      s.pop_back();
    }
    MG_TRY_CTX(check_model_relative_path(s), "ignore path " + quote_for_message(arg));
    return std::optional<std::string>(s);
  }
  if (given.is_absolute()) {
    return std::optional<std::string>();
  }
  std::string s = given.lexically_normal().generic_string();
  while (!s.empty() && s.back() == '/') {
    s.pop_back();
  }
  if (s.empty() || s == ".") {
    return make_error(Code::kMalformed, "ignore path " + quote_for_message(arg) + " names the whole model");
  }
  MG_TRY_CTX(check_model_relative_path(s), "ignore path " + quote_for_message(arg));
  return std::optional<std::string>(s);
}

std::string quote_for_message(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  std::size_t content = 0;
  for (std::size_t i = 0; i < s.size();) {
    if (content >= kMaxQuotedBytes) {
      out += "…";
      break;
    }
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      content += 2;
      ++i;
      continue;
    }
    if (c < 0x20 || c == 0x7F) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
      content += 4;
      ++i;
      continue;
    }
    std::uint32_t cp = 0;
    std::size_t n = utf8_decode(s, i, cp);
    // C1 controls (U+0080-U+009F, e.g. U+009B CSI) are escaped like C0 ones: some terminals obey them.
    if (n == 2 && cp <= 0x9F) {
      for (std::size_t k = 0; k < 2; ++k) {
        const auto b = static_cast<unsigned char>(s[i + k]);
        out += "\\x";
        out += kHex[b >> 4];
        out += kHex[b & 15];
      }
      content += 8;
      i += 2;
      continue;
    }
    if (n == 0) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
      content += 4;
      ++i;
      continue;
    }
    out.append(s.substr(i, n));
    content += n;
    i += n;
  }
  out += '"';
  return out;
}

Result<SignedModel> signed_model_from_statement(const Statement& statement) {
  if (statement.type != kStatementTypeV1) {
    return make_error(Code::kUnsupported,
                      "_type " + quote_for_message(statement.type) + " is not " + std::string(kStatementTypeV1));
  }
  if (statement.predicate_type == kModelSigningPredicateV1) {
    return parse_v1(statement);
  }
  if (statement.predicate_type == kModelSigningPredicateLegacy) {
    return parse_legacy(statement);
  }
  return make_error(Code::kUnsupported, "predicateType " + quote_for_message(statement.predicate_type) +
                                            " is not a model signature (expected " +
                                            std::string(kModelSigningPredicateV1) + ")");
}

Result<SignedModel> parse_signed_model(std::span<const std::uint8_t> payload) {
  MG_ASSIGN_OR_RETURN_CTX(Statement st, parse_statement(payload), "statement");
  MG_ASSIGN_OR_RETURN_CTX(SignedModel m, signed_model_from_statement(st), "statement");
  return m;
}

}  // namespace modelgate::crypto
