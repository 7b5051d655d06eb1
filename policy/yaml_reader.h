// yaml_reader.h: the strict YAML layer under the policy and dataset-catalog parsers: bounded file
// reading, yaml-cpp exceptions turned into positioned diagnostics, duplicate keys, node/depth
// bounds, and typed field access that reports wrong types at the node. Not a schema: document.cpp
// and dataset_catalog.cpp say which fields exist. Internal to policy/.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "policy/diagnostic.h"

namespace modelgate::policy::yaml {

struct ReadLimits {
  std::size_t max_bytes;           // the text
  std::size_t max_nodes;           // per file, aliases counted at every use
  std::size_t max_depth;
  std::size_t max_expanded_bytes;  // scalar bytes per file, aliases counted at every use
};

// LoadStats says what a load walked (aliases counted at every use), for bounds across files.
struct LoadStats {
  std::size_t nodes = 0;
  std::size_t expanded_bytes = 0;
};

// read_text_file reads a regular file of at most `max_bytes`. Opens without blocking (a FIFO is
// rejected, not waited on) and follows symlinks (Kubernetes ConfigMap mounts are symlinks).
// Errors: kIo (cannot open/read, not a regular file), kLimit (too large). Thread-safe.
[[nodiscard]] Result<std::string> read_text_file(const std::filesystem::path& path, std::size_t max_bytes);

// load_documents parses every YAML document in `text`. Empty documents are dropped. Syntax errors
// (with yaml-cpp's position and a hint for tab indentation), invalid UTF-8, NUL bytes, bounds,
// duplicate keys, non-string keys and custom tags are added to `out`. When a bound is exceeded
// that document and the rest of the file are dropped; on a syntax error nothing is returned.
// `stats` (optional) receives what was walked. Never throws.
std::vector<YAML::Node> load_documents(std::string_view text, const std::string& file, const ReadLimits& limits,
                                       Diagnostics& out, LoadStats* stats = nullptr);

// Field is one value in a document: its node, where it is (the key's position when the value is
// null and has no position of its own), and its path for messages ("spec.require.reviews").
struct Field {
  // const because assigning a YAML::Node writes through to the document it refers to.
  const YAML::Node node;
  Position position;
  std::string path;
  // key_position is where the key holding this value is written (for list items and documents,
  // the node itself): "missing required field" inside a mapping points here.
  Position key_position;
};

// Reader turns nodes into typed values, reporting every mismatch to its Diagnostics. Each getter
// returns nullopt after reporting. Not thread-safe (one per parse).
class Reader {
 public:
  Reader(std::string file, Diagnostics& diags) : file_(std::move(file)), diags_(diags) {}

  const std::string& file() const { return file_; }
  Diagnostics& diags() { return diags_; }

  // position returns the 1-based position of `node`, or `fallback` when it has none.
  Position position(const YAML::Node& node, const Position& fallback) const;
  // root makes the Field for a document.
  Field root(const YAML::Node& doc) const;

  // error reports at `at`, prefixing the message with `path` when it is not empty.
  void error(const Field& at, std::string message, std::string hint = {}, Code code = Code::kMalformed);
  void error(const Position& at, const std::string& path, std::string message, std::string hint = {},
             Code code = Code::kMalformed);

  // string: a scalar (plain or quoted), no control bytes, <= limits::kMaxPolicyStringBytes.
  std::optional<Located<std::string>> string(const Field& f, bool allow_empty = false);
  // boolean: plain true/false (any case YAML 1.2 allows); "yes"/"on" and quoted strings rejected.
  std::optional<Located<bool>> boolean(const Field& f);
  // integer: plain decimal in [min, max].
  std::optional<Located<std::uint32_t>> integer(const Field& f, std::uint32_t min, std::uint32_t max);
  // list: a non-empty sequence of at most max_items; items' paths are "path[i]".
  std::optional<std::vector<Field>> list(const Field& f, std::size_t max_items);
  // string_list: list() of string() items, with duplicates reported.
  std::optional<std::vector<Located<std::string>>> string_list(const Field& f, std::size_t max_items);

 private:
  std::string file_;
  Diagnostics& diags_;
};

// Map reads one mapping. Construction reports a non-mapping value and every unknown key (with a
// "did you mean" hint or the list of known fields; `moved` gives a specific hint per misplaced key).
// Keys are unique (load_documents already reported duplicates; the first one wins here).
class Map {
 public:
  using Hints = std::initializer_list<std::pair<std::string_view, std::string_view>>;

  Map(Reader& r, const Field& f, std::initializer_list<std::string_view> known, Hints moved = {});
  // Map over free-form keys (labels, volume attributes): every key is accepted.
  static Map any_keys(Reader& r, const Field& f);

  bool ok() const { return ok_; }
  // position is where the mapping is named (its key), or where it starts (list items, documents).
  const Position& position() const { return position_; }
  const std::string& path() const { return path_; }
  bool has(std::string_view key) const;
  // get returns the value Field for `key`, or nullopt when absent.
  std::optional<Field> get(std::string_view key) const;
  // key_position returns where `key` is written, or nullopt when absent.
  std::optional<Position> key_position(std::string_view key) const;
  // required is get() that reports `missing required field "key"` at the mapping.
  std::optional<Field> required(std::string_view key);
  // entries returns every (key, value) in document order (first of duplicates only).
  const std::vector<std::pair<Located<std::string>, Field>>& entries() const { return entries_; }

 private:
  Map(Reader& r, const Field& f);
  Reader* r_;
  bool ok_ = false;
  Position position_;
  std::string path_;
  std::vector<std::pair<Located<std::string>, Field>> entries_;
};

// child_path joins "spec" and "match" as "spec.match" (or "match" under the root).
std::string child_path(std::string_view parent, std::string_view key);

// describe names what a node is for "found ..." messages: "a mapping", "a list", "null", or the
// quoted scalar.
std::string describe(const YAML::Node& node);

}  // namespace modelgate::policy::yaml
