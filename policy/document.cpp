// document.cpp: ModelPolicy YAML → typed Policy: the document frame and spec. What of a pod a policy
// governs (match, sources, other volumes, break-glass) is document_pod.cpp; trust lives in
// document_trust.cpp; the require rules and cross-references in document_require.cpp.
#include "policy/document.h"

#include <re2/re2.h>

#include <map>

#include "base/limits.h"
#include "policy/document_parser.h"
#include "policy/names.h"
#include "policy/yaml_reader.h"

namespace modelgate::policy {

namespace {

constexpr yaml::ReadLimits kPolicyLimits{limits::kMaxPolicyFileBytes, limits::kMaxPolicyNodes, limits::kMaxPolicyDepth,
                                         limits::kMaxPolicyExpandedBytes};

// The kind of a document when it is a mapping with a scalar `kind`, else "".
std::string peek_kind(const YAML::Node& doc) {
  if (!doc.IsMap()) {
    return {};
  }
  for (const auto& kv : doc) {
    if (kv.first.IsScalar() && kv.first.Scalar() == "kind" && kv.second.IsScalar()) {
      return kv.second.Scalar();
    }
  }
  return {};
}

}  // namespace

bool Pattern::matches(std::string_view s) const {
  return regex != nullptr && re2::RE2::FullMatch(re2::StringPiece(s.data(), s.size()), *regex);
}

Result<std::shared_ptr<const re2::RE2>> compile_pattern(std::string_view source) {
  if (source.size() > limits::kMaxPatternBytes) {
    return make_error(Code::kLimit, "pattern too long (" + std::to_string(source.size()) + " > " +
                                        std::to_string(limits::kMaxPatternBytes) + " bytes)");
  }
  re2::RE2::Options options;
  options.set_log_errors(false);
  options.set_max_mem(limits::kMaxPatternProgramBytes);
  auto re = std::make_shared<const re2::RE2>(re2::StringPiece(source.data(), source.size()), options);
  if (!re->ok()) {
    const Code code = re->error_code() == re2::RE2::ErrorPatternTooLarge ? Code::kLimit : Code::kMalformed;
    return make_error(code, "invalid RE2 pattern: " + re->error());
  }
  return std::shared_ptr<const re2::RE2>(std::move(re));
}

std::string_view mode_name(Mode m) {
  switch (m) {
    case Mode::kEnforce:
      return "enforce";
    case Mode::kWarn:
      return "warn";
    case Mode::kAudit:
      return "audit";
  }
  return "enforce";
}

const Signer* Trust::find_signer(std::string_view name) const {
  for (const Signer& s : signers) {
    if (s.name.value == name) {
      return &s;
    }
  }
  return nullptr;
}

const ReviewerGroup* Trust::find_reviewers(std::string_view name) const {
  for (const ReviewerGroup& g : reviewers) {
    if (g.name.value == name) {
      return &g;
    }
  }
  return nullptr;
}

Result<std::chrono::seconds> parse_duration(std::string_view text) {
  // One positive whole number and one unit; "1h30m" and fractions are not accepted, so a value
  // reads the same to every reader.
  if (text.size() < 2 || text.size() > 12) {
    return make_error(Code::kMalformed, "invalid duration " + quote(text));
  }
  const char unit = text.back();
  std::int64_t scale = 0;
  switch (unit) {
    case 'd':
      scale = 86400;
      break;
    case 'h':
      scale = 3600;
      break;
    case 'm':
      scale = 60;
      break;
    case 's':
      scale = 1;
      break;
    default:
      return make_error(Code::kMalformed, "invalid duration " + quote(text) + ": unit must be d, h, m or s");
  }
  const std::string_view digits = text.substr(0, text.size() - 1);
  std::int64_t n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') {
      return make_error(Code::kMalformed, "invalid duration " + quote(text));
    }
    n = n * 10 + (c - '0');  // at most 11 digits: no overflow
  }
  if (n == 0) {
    return make_error(Code::kMalformed, "duration " + quote(text) + " must be greater than zero");
  }
  if (n > limits::kMaxPolicyMaxAgeSeconds / scale) {
    return make_error(Code::kLimit, "duration " + quote(text) + " is longer than " +
                                        std::to_string(limits::kMaxPolicyMaxAgeSeconds / 86400) + "d");
  }
  return std::chrono::seconds(n * scale);
}

namespace detail {

PolicyParser::PolicyParser(yaml::Reader& r, std::filesystem::path base_dir, PatternCache& cache)
    : r_(r), base_dir_(std::move(base_dir)), cache_(cache) {}

std::optional<Pattern> PolicyParser::pattern(const yaml::Field& f) {
  auto s = r_.string(f);
  if (!s) {
    return std::nullopt;
  }
  if (++patterns_ > limits::kMaxPatternsPerPolicy) {
    if (patterns_ == limits::kMaxPatternsPerPolicy + 1) {
      r_.error(f, "too many patterns in one policy (more than " + std::to_string(limits::kMaxPatternsPerPolicy) + ")",
               {}, Code::kLimit);
    }
    return std::nullopt;
  }
  auto it = cache_.find(s->value);
  if (it == cache_.end()) {
    it = cache_.emplace(s->value, compile_pattern(s->value)).first;
  }
  const auto& re = it->second;
  if (!re.ok()) {
    r_.error(f, re.error().message, "patterns are RE2 syntax: https://github.com/google/re2/wiki/Syntax",
             re.error().code);
    return std::nullopt;
  }
  return Pattern{s->value, re.value(), s->position};
}

std::optional<std::vector<Pattern>> PolicyParser::patterns(const yaml::Field& f) {
  auto items = r_.list(f, limits::kMaxPolicyListItems);
  if (!items) {
    return std::nullopt;
  }
  std::vector<Pattern> out;
  bool ok = true;
  for (const yaml::Field& item : *items) {
    auto p = pattern(item);
    if (p) {
      out.push_back(std::move(*p));
    } else {
      ok = false;
    }
  }
  return ok ? std::optional(std::move(out)) : std::nullopt;
}

std::optional<PathRef> PolicyParser::path_ref(const yaml::Field& f) {
  auto s = r_.string(f);
  if (!s) {
    return std::nullopt;
  }
  if (s->value.size() > limits::kMaxPathBytes) {
    r_.error(f, "path too long (" + std::to_string(s->value.size()) + " > " + std::to_string(limits::kMaxPathBytes) +
                    " bytes)", {}, Code::kLimit);
    return std::nullopt;
  }
  std::filesystem::path written(s->value);
  std::filesystem::path resolved = written.is_absolute() ? written : base_dir_ / written;
  return PathRef{s->value, resolved.lexically_normal(), s->position};
}

std::optional<Located<std::string>> PolicyParser::absolute_path(const yaml::Field& f) {
  auto s = r_.string(f);
  if (!s) {
    return std::nullopt;
  }
  std::string why;
  auto normal = names::normalize_absolute_path(s->value, why);
  if (!normal) {
    r_.error(f, quote(s->value) + " " + why);
    return std::nullopt;
  }
  return Located<std::string>{std::move(*normal), s->position};
}

std::optional<Located<std::string>> PolicyParser::name(const yaml::Field& f) {
  auto s = r_.string(f);
  if (!s) {
    return std::nullopt;
  }
  if (!names::is_dns_label(s->value)) {
    r_.error(f, quote(s->value) + " is not a valid name",
             "names are lowercase letters, digits and '-', start and end alphanumeric, at most 63 characters");
    return std::nullopt;
  }
  return s;
}

bool PolicyParser::required_name(yaml::Map& m, Located<std::string>& out) {
  auto n = m.required("name");
  if (!n) {
    return false;
  }
  auto v = name(*n);
  if (!v) {
    return false;
  }
  out = std::move(*v);
  return true;
}

std::optional<std::string> PolicyParser::exactly_one(const yaml::Map& m, std::initializer_list<std::string_view> kinds,
                                                     std::string_view what) {
  std::string first;
  std::string list;
  for (std::string_view k : kinds) {
    list += (list.empty() ? "" : ", ") + std::string(k);
  }
  for (const auto& [key, value] : m.entries()) {
    bool is_kind = false;
    for (std::string_view k : kinds) {
      is_kind = is_kind || key.value == k;
    }
    if (!is_kind) {
      continue;
    }
    if (first.empty()) {
      first = key.value;
    } else {
      r_.error(key.position, m.path(), first + " and " + key.value + " are exclusive",
               std::string(what) + " has exactly one of " + list);
    }
  }
  if (first.empty() && m.ok()) {
    r_.error(m.position(), m.path(), "missing one of " + list,
             std::string(what) + " has exactly one of them");
    return std::nullopt;
  }
  return first.empty() ? std::nullopt : std::optional(first);
}

void PolicyParser::unique_names(const std::vector<const Located<std::string>*>& names, std::string_view what) {
  std::map<std::string, Position, std::less<>> seen;
  for (const Located<std::string>* n : names) {
    auto [it, inserted] = seen.emplace(n->value, n->position);
    if (!inserted) {
      r_.diags().error(n->position, Code::kMalformed, "duplicate " + std::string(what) + " name " + quote(n->value),
                       "first defined at " + std::to_string(it->second.line) + ":" +
                           std::to_string(it->second.column));
    }
  }
}

std::optional<Policy> PolicyParser::parse(const YAML::Node& doc) {
  errors_at_start_ = r_.diags().error_count();
  const yaml::Field root = r_.root(doc);
  const std::string kind = peek_kind(doc);
  if (!kind.empty() && kind != kPolicyKind) {
    // Another kind of document: one error at its kind, none about fields it is entitled to have.
    Position at = root.position;
    for (const auto& kv : doc) {
      if (kv.first.IsScalar() && kv.first.Scalar() == "kind") {
        at = r_.position(kv.second, r_.position(kv.first, root.position));
        break;
      }
    }
    std::string hint = "a policy file holds only ModelPolicy documents";
    if (kind == "DatasetCatalog") {
      hint = "dataset catalogs are referenced from spec.require.datasets.catalog, not loaded as policies";
    }
    r_.error(at, "kind", "expected \"ModelPolicy\", found " + quote(kind), hint,
             Code::kUnsupported);
    return std::nullopt;
  }
  yaml::Map top(r_, root, {"apiVersion", "kind", "metadata", "spec"});
  if (!top.ok()) {
    return std::nullopt;
  }
  Policy p;
  p.position = root.position;
  if (auto f = top.required("apiVersion")) {
    if (auto v = r_.string(*f); v && v->value != kApiVersion) {
      r_.error(*f, "unsupported version " + quote(v->value), "expected \"" + std::string(kApiVersion) + "\"",
               Code::kUnsupported);
    }
  }
  top.required("kind");  // present means ModelPolicy (peek_kind); a non-string kind is reported here
  if (auto f = top.get("kind"); f && !f->node.IsScalar()) {
    r_.string(*f);
  }
  if (auto f = top.required("metadata")) {
    yaml::Map metadata(r_, *f, {"name"});
    if (auto n = metadata.required("name")) {
      if (auto v = name(*n)) {
        p.name = std::move(*v);
      }
    }
  }
  if (auto f = top.required("spec")) {
    yaml::Map spec(r_, *f, {"mode", "match", "sources", "otherVolumes", "trust", "require", "breakGlass"});
    if (spec.ok()) {
      parse_spec(spec, p);
    }
  }
  return p;
}

void PolicyParser::parse_spec(yaml::Map& spec, Policy& p) {
  p.mode = Located<Mode>{Mode::kEnforce, spec.position()};
  if (auto f = spec.get("mode")) {
    if (auto v = r_.string(*f)) {
      static constexpr std::string_view kModes[] = {"enforce", "warn", "audit"};
      if (v->value == "enforce") {
        p.mode = {Mode::kEnforce, v->position};
      } else if (v->value == "warn") {
        p.mode = {Mode::kWarn, v->position};
      } else if (v->value == "audit") {
        p.mode = {Mode::kAudit, v->position};
      } else {
        std::string hint = did_you_mean(v->value, kModes);
        r_.error(*f, "unknown mode " + quote(v->value), hint.empty() ? "expected enforce, warn or audit" : hint);
      }
    }
  }
  if (auto f = spec.required("match")) {
    parse_match(*f, p.match);
    // Who controls the scope: namespaces are the cluster admins'; a pod's labels are its author's,
    // who can drop one to step outside an enforce policy (issue #12, door 4).
    if (p.mode.value == Mode::kEnforce && !p.match.labels.empty()) {
      r_.diags().warning(p.match.labels.front().key.position,
                         "spec.match.labels: an enforce policy scoped by pod labels does not bind a pod author, who "
                         "sets the labels and can leave one out to be admitted unverified",
                         "scope enforcement by namespace (match.namespaces); use labels only to narrow warn or "
                         "audit policies, or to pick a stricter enforce policy beside one that matches every pod");
    }
  }
  if (auto f = spec.required("sources")) {
    if (auto items = r_.list(*f, limits::kMaxPolicyListItems)) {
      for (const yaml::Field& item : *items) {
        if (auto s = parse_source(item)) {
          p.sources.push_back(std::move(*s));
        }
      }
      std::vector<const Located<std::string>*> ns;
      for (const Source& s : p.sources) {
        ns.push_back(&s.name);
      }
      unique_names(ns, "source");
    }
  }
  if (auto f = spec.required("trust")) {
    parse_trust(*f, p.trust);
  }
  if (auto f = spec.required("require")) {
    parse_require(*f, p.require);
  }
  p.other_volumes = OtherVolumes{{}, true, spec.position()};
  if (auto f = spec.get("otherVolumes")) {
    parse_other_volumes(*f, p.other_volumes);
  }
  p.break_glass = BreakGlass{{false, spec.position()},
                             {std::string(kDefaultBreakGlassAnnotation), spec.position()},
                             {},
                             {},
                             std::nullopt,
                             spec.position()};
  if (auto f = spec.get("breakGlass")) {
    parse_break_glass(*f, p.break_glass);
  }
  check_references(p);
}

}  // namespace detail

ParseOutcome parse_policy_documents(std::string_view text, std::string_view filename) {
  Diagnostics diags;
  const std::string file(filename);
  yaml::LoadStats stats;
  std::vector<YAML::Node> docs = yaml::load_documents(text, file, kPolicyLimits, diags, &stats);
  std::vector<Policy> policies;
  yaml::Reader reader(file, diags);
  const std::filesystem::path base_dir = std::filesystem::path(file).parent_path();
  detail::PatternCache patterns;
  try {
    for (const YAML::Node& doc : docs) {
      if (policies.size() == limits::kMaxPolicies) {
        diags.error(reader.position(doc, Position{file, 1, 1}), Code::kLimit,
                    "too many policies in one file (more than " + std::to_string(limits::kMaxPolicies) + ")");
        break;
      }
      detail::PolicyParser parser(reader, base_dir, patterns);
      if (auto p = parser.parse(doc)) {
        policies.push_back(std::move(*p));
      }
    }
  } catch (const std::exception& e) {
    // yaml-cpp throws only on misuse we guard against; keep the edge closed anyway.
    diags.error(Position{file, 0, 0}, Code::kInternal, std::string("cannot read policy: ") + e.what());
  }
  std::map<std::string, Position, std::less<>> seen;
  for (const Policy& p : policies) {
    if (p.name.value.empty()) {
      continue;
    }
    auto [it, inserted] = seen.emplace(p.name.value, p.name.position);
    if (!inserted) {
      diags.error(p.name.position, Code::kMalformed, "duplicate policy name " + quote(p.name.value),
                  "first defined at " + format_position(it->second));
    }
  }
  ParseOutcome out;
  out.diagnostics = diags.take();
  out.expanded_bytes = stats.expanded_bytes;
  if (!has_errors(out.diagnostics)) {
    out.policies = std::move(policies);
  }
  return out;
}

ParseOutcome load_policy_file(const std::filesystem::path& path) {
  auto text = yaml::read_text_file(path, limits::kMaxPolicyFileBytes);
  if (!text.ok()) {
    ParseOutcome out;
    out.diagnostics.push_back(
        Diagnostic{Position{path.string(), 0, 0}, Severity::kError, text.error().code, text.error().message, {}});
    return out;
  }
  return parse_policy_documents(*text, path.string());
}

}  // namespace modelgate::policy
