// yaml_reader.cpp: bounded, strict YAML under the policy parsers (yaml-cpp exceptions stop here).
#include "policy/yaml_reader.h"

#include <algorithm>

#include "base/read_file.h"
#include "base/utf8.h"

#include <yaml-cpp/eventhandler.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <map>
#include <optional>
#include <sstream>

#include "base/limits.h"

namespace modelgate::policy::yaml {

namespace {

constexpr std::string_view kCoreTagPrefix = "tag:yaml.org,2002:";

Position make_position(const std::string& file, std::size_t line0, std::size_t col0) {
  return Position{file, static_cast<std::uint32_t>(line0 + 1), static_cast<std::uint32_t>(col0 + 1)};
}

// Where byte `offset` of `text` is, 0-based line and byte column.
std::pair<std::size_t, std::size_t> line_col(std::string_view text, std::size_t offset) {
  std::size_t line = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      start = i + 1;
    }
  }
  return {line, offset - start};
}

// Offset of the first byte that is NUL or not well-formed UTF-8, or npos.
std::size_t first_bad_utf8(std::string_view s) {
  const std::size_t nul = s.find('\0');
  return std::min(nul, first_invalid_utf8(s.substr(0, nul)));
}

// The 0-based line `line0` of `text` when its indentation contains a tab, for the hint on
// yaml-cpp's otherwise puzzling "illegal map value".
bool indented_with_tab(std::string_view text, std::size_t line0) {
  std::size_t line = 0;
  std::size_t i = 0;
  while (i < text.size() && line < line0) {
    if (text[i] == '\n') {
      ++line;
    }
    ++i;
  }
  if (line != line0) {
    return false;
  }
  for (; i < text.size() && (text[i] == ' ' || text[i] == '\t'); ++i) {
    if (text[i] == '\t') {
      return true;
    }
  }
  return false;
}

bool tag_allowed(const std::string& tag) {
  if (tag.empty() || tag == "?" || tag == "!") {
    return true;
  }
  if (tag.rfind(kCoreTagPrefix, 0) != 0) {
    return false;
  }
  const std::string_view t = std::string_view(tag).substr(kCoreTagPrefix.size());
  return t == "str" || t == "int" || t == "bool" || t == "null" || t == "map" || t == "seq";
}

// Pre-pass over one document: bounds, key shapes, duplicate keys, tags. Returns false when a bound
// was exceeded (the document is then dropped).
class Checker {
 public:
  Checker(const std::string& file, const ReadLimits& limits, Diagnostics& out)
      : file_(file), limits_(limits), out_(out) {}

  // start begins a document; budgets carry over from earlier documents of the file.
  void start(Position document) { document_ = std::move(document); }
  const LoadStats& stats() const { return stats_; }

  bool walk(const YAML::Node& node, std::size_t depth, const Position& fallback) {
    const Position at = pos(node, fallback);
    // Budget overruns are reported at the document: an aliased node carries its anchor's
    // position, which says nothing about where the expansion happened.
    if (++stats_.nodes > limits_.max_nodes) {
      out_.error(document_, Code::kLimit,
                 "too many YAML nodes in this file (more than " + std::to_string(limits_.max_nodes) +
                     ", aliases count at every use)");
      return false;
    }
    if (node.IsScalar()) {
      stats_.expanded_bytes += node.Scalar().size();
      if (stats_.expanded_bytes > limits_.max_expanded_bytes) {
        out_.error(document_, Code::kLimit,
                   "too much text in this file once aliases are expanded (more than " +
                       std::to_string(limits_.max_expanded_bytes) + " bytes)");
        return false;
      }
    }
    if (depth > limits_.max_depth) {
      out_.error(at, Code::kLimit, "YAML nested too deeply (more than " + std::to_string(limits_.max_depth) + " levels)");
      return false;
    }
    if (!tag_allowed(node.Tag())) {
      out_.error(at, Code::kUnsupported, "unsupported YAML tag " + quote(node.Tag()),
                 "policy files use plain YAML; remove the tag");
    }
    if (node.IsSequence()) {
      for (const YAML::Node& item : node) {
        if (!walk(item, depth + 1, at)) {
          return false;
        }
      }
    } else if (node.IsMap()) {
      std::map<std::string, Position, std::less<>> seen;
      for (const auto& kv : node) {
        const Position key_at = pos(kv.first, at);
        if (!kv.first.IsScalar()) {
          out_.error(key_at, Code::kMalformed, "mapping keys must be strings, found " + describe(kv.first));
          if (!walk(kv.first, depth + 1, key_at)) {
            return false;
          }
        } else {
          const std::string& key = kv.first.Scalar();
          auto [it, inserted] = seen.emplace(key, key_at);
          if (!inserted) {
            out_.error(key_at, Code::kMalformed, "duplicate key " + quote(key),
                       "first defined at " + std::to_string(it->second.line) + ":" + std::to_string(it->second.column));
          }
        }
        if (!walk(kv.second, depth + 1, key_at)) {
          return false;
        }
      }
    }
    return true;
  }

 private:
  Position pos(const YAML::Node& n, const Position& fallback) const {
    const YAML::Mark m = n.Mark();
    if (m.is_null() || m.line < 0 || m.column < 0) {
      return fallback;
    }
    return make_position(file_, static_cast<std::size_t>(m.line), static_cast<std::size_t>(m.column));
  }

  const std::string& file_;
  const ReadLimits& limits_;
  Diagnostics& out_;
  Position document_;
  LoadStats stats_;
};

bool is_plain(const YAML::Node& n) { return n.Tag() == "?"; }

// DocumentStarts records where each document starts and ignores everything else.
class DocumentStarts : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override { last = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

  YAML::Mark last = YAML::Mark::null_mark();
};

// find_stuck_document returns the mark where yaml-cpp 0.7's document loop stops advancing, if
// it does. A token no rule consumes (a ',' outside a flow collection) makes
// Parser::HandleNextDocument report an empty document at the same position forever, and
// YAML::LoadAll then allocates until the process dies (jbeder/yaml-cpp#1040, fixed upstream
// after 0.7 by PR #1319). Every real document starts after the previous one, so a repeated start
// is the bug. Throws what yaml-cpp throws.
std::optional<YAML::Mark> find_stuck_document(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentStarts starts;
  long previous = -1;
  std::size_t documents = 0;
  while (parser.HandleNextDocument(starts)) {
    if (starts.last.pos <= previous || ++documents > text.size() + 1) {
      return starts.last;
    }
    previous = starts.last.pos;
  }
  return std::nullopt;
}

}  // namespace

Result<std::string> read_text_file(const std::filesystem::path& path, std::size_t max_bytes) {
  auto r = read_regular_file(path, max_bytes);
  if (!r.ok() && r.error().code == Code::kNotFound) {
    // For lint every input that cannot be read is one class (exit 2), missing or not.
    return make_error(Code::kIo, std::move(r).error().message);
  }
  return r;
}

std::vector<YAML::Node> load_documents(std::string_view text, const std::string& file, const ReadLimits& limits,
                                       Diagnostics& out, LoadStats* stats) {
  if (text.size() > limits.max_bytes) {
    out.error(Position{file, 0, 0}, Code::kLimit,
              "file too large (" + std::to_string(text.size()) + " > " + std::to_string(limits.max_bytes) + " bytes)");
    return {};
  }
  const std::size_t bad = first_bad_utf8(text);
  if (bad != std::string_view::npos) {
    const auto [line, col] = line_col(text, bad);
    out.error(make_position(file, line, col), Code::kMalformed,
              text[bad] == '\0' ? "NUL byte in YAML" : "invalid UTF-8 in YAML", "policy files are UTF-8 text");
    return {};
  }
  std::vector<YAML::Node> docs;
  try {
    const std::string owned(text);
    if (const auto stuck = find_stuck_document(owned)) {
      const Position at = stuck->line >= 0 && stuck->column >= 0
                              ? make_position(file, static_cast<std::size_t>(stuck->line),
                                              static_cast<std::size_t>(stuck->column))
                              : Position{file, 0, 0};
      const bool comma = stuck->pos >= 0 && static_cast<std::size_t>(stuck->pos) < owned.size() &&
                         owned[static_cast<std::size_t>(stuck->pos)] == ',';
      out.error(at, Code::kMalformed, comma ? "cannot parse YAML: unexpected \",\"" : "cannot parse YAML: unexpected token",
                comma ? "',' separates items only inside [...] or {...}" : "");
      return {};
    }
    docs = YAML::LoadAll(owned);
  } catch (const YAML::Exception& e) {
    Position at{file, 0, 0};
    std::string hint;
    if (!e.mark.is_null() && e.mark.line >= 0 && e.mark.column >= 0) {
      const auto line0 = static_cast<std::size_t>(e.mark.line);
      at = make_position(file, line0, static_cast<std::size_t>(e.mark.column));
      for (std::size_t l : {line0, line0 == 0 ? line0 : line0 - 1}) {
        if (indented_with_tab(text, l)) {
          hint = "line " + std::to_string(l + 1) + " is indented with a tab; YAML indents with spaces only";
          break;
        }
      }
    }
    out.error(at, Code::kMalformed, "cannot parse YAML: " + e.msg, hint);
    return {};
  } catch (const std::exception& e) {
    out.error(Position{file, 0, 0}, Code::kMalformed, std::string("cannot parse YAML: ") + e.what());
    return {};
  }
  std::vector<YAML::Node> kept;
  Checker checker(file, limits, out);
  for (const YAML::Node& doc : docs) {
    if (!doc.IsDefined() || doc.IsNull()) {
      continue;
    }
    const YAML::Mark m = doc.Mark();
    const Position start = m.is_null() || m.line < 0 || m.column < 0
                               ? Position{file, 1, 1}
                               : make_position(file, static_cast<std::size_t>(m.line), static_cast<std::size_t>(m.column));
    checker.start(start);
    if (!checker.walk(doc, 1, start)) {
      break;
    }
    kept.push_back(doc);
  }
  if (stats != nullptr) {
    *stats = checker.stats();
  }
  return kept;
}

std::string child_path(std::string_view parent, std::string_view key) {
  if (parent.empty()) {
    return std::string(key);
  }
  return std::string(parent) + "." + std::string(key);
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return quote(node.Scalar());
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing (null)";
}

Position Reader::position(const YAML::Node& node, const Position& fallback) const {
  // A null value (`key:` with nothing after it) is marked where the next token starts, often on
  // the next line; the key's position is the useful one.
  if (!node.IsDefined() || node.IsNull()) {
    return fallback;
  }
  const YAML::Mark m = node.Mark();
  if (m.is_null() || m.line < 0 || m.column < 0) {
    return fallback;
  }
  return make_position(file_, static_cast<std::size_t>(m.line), static_cast<std::size_t>(m.column));
}

Field Reader::root(const YAML::Node& doc) const {
  const Position at = position(doc, Position{file_, 1, 1});
  return Field{doc, at, std::string(), at};
}

void Reader::error(const Field& at, std::string message, std::string hint, Code code) {
  error(at.position, at.path, std::move(message), std::move(hint), code);
}

void Reader::error(const Position& at, const std::string& path, std::string message, std::string hint, Code code) {
  if (!path.empty()) {
    message = path + ": " + message;
  }
  diags_.error(at, code, std::move(message), std::move(hint));
}

std::optional<Located<std::string>> Reader::string(const Field& f, bool allow_empty) {
  if (!f.node.IsScalar()) {
    error(f, "expected a string, found " + describe(f.node));
    return std::nullopt;
  }
  const std::string& tag = f.node.Tag();
  if (!(tag == "?" || tag == "!" || tag == std::string(kCoreTagPrefix) + "str")) {
    error(f, "expected a string, found a value tagged " + quote(tag));
    return std::nullopt;
  }
  const std::string& s = f.node.Scalar();
  if (s.size() > limits::kMaxPolicyStringBytes) {
    error(f, "string too long (" + std::to_string(s.size()) + " > " + std::to_string(limits::kMaxPolicyStringBytes) +
                 " bytes)", {}, Code::kLimit);
    return std::nullopt;
  }
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      error(f, "must not contain control characters, found " + quote(s));
      return std::nullopt;
    }
  }
  if (s.empty() && !allow_empty) {
    error(f, "must not be empty");
    return std::nullopt;
  }
  return Located<std::string>{s, f.position};
}

std::optional<Located<bool>> Reader::boolean(const Field& f) {
  if (f.node.IsScalar()) {
    const std::string& s = f.node.Scalar();
    const bool plain = is_plain(f.node) || f.node.Tag() == std::string(kCoreTagPrefix) + "bool";
    if (plain && (s == "true" || s == "True" || s == "TRUE")) {
      return Located<bool>{true, f.position};
    }
    if (plain && (s == "false" || s == "False" || s == "FALSE")) {
      return Located<bool>{false, f.position};
    }
    const bool yaml11 = s == "yes" || s == "no" || s == "on" || s == "off" || s == "y" || s == "n" ||
                        s == "Yes" || s == "No" || s == "On" || s == "Off";
    error(f, "expected true or false, found " + std::string(plain ? "" : "the quoted string ") + describe(f.node),
          plain && yaml11 ? "YAML 1.2 booleans are only true and false" : "");
    return std::nullopt;
  }
  error(f, "expected true or false, found " + describe(f.node));
  return std::nullopt;
}

std::optional<Located<std::uint32_t>> Reader::integer(const Field& f, std::uint32_t min, std::uint32_t max) {
  const bool plain = f.node.IsScalar() && (is_plain(f.node) || f.node.Tag() == std::string(kCoreTagPrefix) + "int");
  const std::string s = f.node.IsScalar() ? f.node.Scalar() : std::string();
  bool digits = plain && !s.empty() && s.size() <= 10;
  for (char c : s) {
    digits = digits && c >= '0' && c <= '9';
  }
  if (!digits) {
    error(f, "expected an integer, found " + std::string(f.node.IsScalar() && !plain ? "the quoted string " : "") +
                 describe(f.node));
    return std::nullopt;
  }
  const std::uint64_t v = std::stoull(s);
  if (v < min || v > max) {
    error(f, "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", found " + s);
    return std::nullopt;
  }
  return Located<std::uint32_t>{static_cast<std::uint32_t>(v), f.position};
}

std::optional<std::vector<Field>> Reader::list(const Field& f, std::size_t max_items) {
  if (!f.node.IsSequence()) {
    error(f, "expected a list, found " + describe(f.node),
          f.node.IsScalar() ? "write [" + quote(f.node.Scalar()) + "] or one \"- item\" per line" : "");
    return std::nullopt;
  }
  if (f.node.size() == 0) {
    error(f, "must not be empty", "omit the field instead");
    return std::nullopt;
  }
  if (f.node.size() > max_items) {
    error(f, "too many items (" + std::to_string(f.node.size()) + " > " + std::to_string(max_items) + ")", {},
          Code::kLimit);
    return std::nullopt;
  }
  std::vector<Field> items;
  items.reserve(f.node.size());
  std::size_t i = 0;
  for (const YAML::Node& item : f.node) {
    const Position at = position(item, f.position);
    items.push_back(Field{item, at, f.path + "[" + std::to_string(i) + "]", at});
    ++i;
  }
  return items;
}

std::optional<std::vector<Located<std::string>>> Reader::string_list(const Field& f, std::size_t max_items) {
  auto items = list(f, max_items);
  if (!items) {
    return std::nullopt;
  }
  std::vector<Located<std::string>> out;
  std::map<std::string, Position, std::less<>> seen;
  bool ok = true;
  for (const Field& item : *items) {
    auto s = string(item);
    if (!s) {
      ok = false;
      continue;
    }
    auto [it, inserted] = seen.emplace(s->value, s->position);
    if (!inserted) {
      error(item, "duplicate entry " + quote(s->value),
            "first listed at " + std::to_string(it->second.line) + ":" + std::to_string(it->second.column));
      ok = false;
      continue;
    }
    out.push_back(std::move(*s));
  }
  if (!ok) {
    return std::nullopt;
  }
  return out;
}

Map::Map(Reader& r, const Field& f) : r_(&r), position_(f.key_position), path_(f.path) {
  if (!f.node.IsMap()) {
    r.error(f, "expected a mapping, found " + describe(f.node));
    return;
  }
  ok_ = true;
  std::map<std::string, bool, std::less<>> seen;
  for (const auto& kv : f.node) {
    if (!kv.first.IsScalar()) {
      continue;  // reported by load_documents
    }
    const std::string& key = kv.first.Scalar();
    if (!seen.emplace(key, true).second) {
      continue;  // duplicate, reported by load_documents; the first wins
    }
    const Position key_at = r.position(kv.first, f.position);
    entries_.emplace_back(Located<std::string>{key, key_at},
                          Field{kv.second, r.position(kv.second, key_at), child_path(path_, key), key_at});
  }
}

Map::Map(Reader& r, const Field& f, std::initializer_list<std::string_view> known, Hints moved) : Map(r, f) {
  if (!ok_) {
    return;
  }
  const std::vector<std::string_view> candidates(known);
  for (const auto& [key, value] : entries_) {
    bool is_known = false;
    for (std::string_view k : known) {
      is_known = is_known || k == key.value;
    }
    if (is_known) {
      continue;
    }
    std::string hint;
    for (const auto& [k, h] : moved) {
      if (k == key.value) {
        hint = std::string(h);
      }
    }
    if (hint.empty()) {
      hint = did_you_mean(key.value, candidates);
    }
    if (hint.empty()) {
      hint = (path_.empty() ? std::string("known fields: ") : "fields of " + path_ + ": ");
      for (std::size_t i = 0; i < candidates.size(); ++i) {
        hint += (i == 0 ? "" : ", ") + std::string(candidates[i]);
      }
    }
    r.diags().error(key.position, Code::kMalformed, "unknown field " + quote(key.value), std::move(hint));
  }
  // Unknown keys stay out of get(): the schema never sees them. Rebuilt by copy construction,
  // never by erase (which move-assigns, and assigning a YAML::Node overwrites the document).
  std::vector<std::pair<Located<std::string>, Field>> kept;
  for (const auto& e : entries_) {
    for (std::string_view k : known) {
      if (k == e.first.value) {
        kept.push_back(e);
        break;
      }
    }
  }
  entries_.clear();
  for (auto& e : kept) {
    entries_.push_back(std::move(e));
  }
}

Map Map::any_keys(Reader& r, const Field& f) { return Map(r, f); }

bool Map::has(std::string_view key) const { return get(key).has_value(); }

std::optional<Field> Map::get(std::string_view key) const {
  for (const auto& [k, v] : entries_) {
    if (k.value == key) {
      return v;
    }
  }
  return std::nullopt;
}

std::optional<Position> Map::key_position(std::string_view key) const {
  for (const auto& [k, v] : entries_) {
    if (k.value == key) {
      return k.position;
    }
  }
  return std::nullopt;
}

std::optional<Field> Map::required(std::string_view key) {
  auto f = get(key);
  if (!f && ok_) {
    r_->error(position_, path_, "missing required field " + quote(key));
  }
  return f;
}

}  // namespace modelgate::policy::yaml
