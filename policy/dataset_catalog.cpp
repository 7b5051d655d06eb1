// dataset_catalog.cpp: DatasetCatalog YAML → typed, positioned entries, indexed by digest.
#include "policy/dataset_catalog.h"

#include <cctype>
#include <map>
#include <utility>

#include "base/limits.h"
#include "crypto/encoding.h"
#include "policy/document.h"
#include "policy/yaml_reader.h"

namespace modelgate::policy {

namespace {

constexpr yaml::ReadLimits kCatalogLimits{limits::kMaxDatasetCatalogBytes, limits::kMaxCatalogNodes,
                                          limits::kMaxPolicyDepth, limits::kMaxCatalogExpandedBytes};

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) {
    return false;
  }
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') {
      return false;
    }
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::optional<Dataset> parse_dataset(yaml::Reader& r, const yaml::Field& f) {
  yaml::Map m(r, f,
              {"name", "versionId", "created", "updated", "format", "location", "classification", "owner", "schema",
               "documentation", "sha256", "license"},
              {{"digest", "the digest field is sha256: 64 lowercase hex digits"},
               {"version", "the unique version id is versionId"}});
  if (!m.ok()) {
    return std::nullopt;
  }
  Dataset d;
  d.position = m.position();
  bool ok = true;
  auto required_string = [&](std::string_view key, Located<std::string>& out) {
    auto sf = m.required(key);
    auto v = sf ? r.string(*sf) : std::nullopt;
    ok = ok && v.has_value();
    if (v) {
      out = std::move(*v);
    }
  };
  auto optional_string = [&](std::string_view key, std::optional<Located<std::string>>& out) {
    if (auto sf = m.get(key)) {
      auto v = r.string(*sf);
      ok = ok && v.has_value();
      out = std::move(v);
    }
  };
  auto timestamp = [&](const yaml::Field& tf) -> std::optional<Located<std::chrono::sys_seconds>> {
    auto v = r.string(tf);
    if (!v) {
      return std::nullopt;
    }
    auto t = parse_timestamp(v->value);
    if (!t.ok()) {
      r.error(tf, t.error().message, "write RFC 3339, e.g. 2024-05-01T12:00:00Z, or a date 2024-05-01");
      return std::nullopt;
    }
    return Located<std::chrono::sys_seconds>{*t, v->position};
  };
  required_string("name", d.name);
  required_string("versionId", d.version_id);
  if (auto cf = m.required("created")) {
    auto t = timestamp(*cf);
    ok = ok && t.has_value();
    if (t) {
      d.created = *t;
      d.updated = *t;
    }
  } else {
    ok = false;
  }
  if (auto uf = m.get("updated")) {
    auto t = timestamp(*uf);
    ok = ok && t.has_value();
    if (t) {
      d.updated = *t;
      if (ok && d.updated.value < d.created.value) {
        r.error(*uf, "is earlier than created", "a dataset cannot be updated before it was created");
        ok = false;
      }
    }
  }
  required_string("format", d.format);
  required_string("location", d.location);
  required_string("classification", d.classification);
  required_string("owner", d.owner);
  optional_string("schema", d.schema);
  optional_string("documentation", d.documentation);
  if (auto sf = m.required("sha256")) {
    auto v = r.string(*sf);
    if (v && !(v->value.size() == 64 && crypto::is_lower_hex(v->value))) {
      std::string hint = "64 lowercase hex digits, as sha256sum prints them";
      if (v->value.rfind("sha256:", 0) == 0) {
        hint = "write the 64 hex digits without the sha256: prefix";
      } else if (v->value.size() == 64 && crypto::is_lower_hex(lower_ascii(v->value))) {
        hint = "use lowercase hex digits";
      }
      r.error(*sf, quote(v->value) + " is not a sha256 digest", hint);
      v.reset();
    }
    ok = ok && v.has_value();
    if (v) {
      d.sha256 = std::move(*v);
    }
  } else {
    ok = false;
  }
  required_string("license", d.license);
  return ok ? std::optional(std::move(d)) : std::nullopt;
}

}  // namespace

Result<std::chrono::sys_seconds> parse_timestamp(std::string_view s) {
  using namespace std::chrono;
  auto bad = [&] { return make_error(Code::kMalformed, "invalid timestamp " + quote(s)); };
  int y = 0;
  int mo = 0;
  int d = 0;
  if (!digits(s, 0, 4, y) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d)) {
    return bad();
  }
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) {
    return bad();
  }
  sys_seconds t = sys_days(ymd);
  if (s.size() == 10) {
    return t;
  }
  int hh = 0;
  int mm = 0;
  int ss = 0;
  // RFC 3339 §5.6: date-time = full-date "T" partial-time time-offset ("t"/" " tolerated by
  // neither us nor most parsers; "T" only).
  if (s.size() < 20 || s[10] != 'T' || !digits(s, 11, 2, hh) || s[13] != ':' || !digits(s, 14, 2, mm) ||
      s[16] != ':' || !digits(s, 17, 2, ss) || hh > 23 || mm > 59 || ss > 59) {
    return bad();
  }
  std::size_t i = 19;
  if (s[i] == '.') {
    ++i;
    const std::size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      ++i;
    }
    if (i == start || i - start > 9) {
      return bad();
    }
  }
  int offset = 0;
  if (i < s.size() && s[i] == 'Z' && i + 1 == s.size()) {
    offset = 0;
  } else if (i + 6 == s.size() && (s[i] == '+' || s[i] == '-')) {
    int oh = 0;
    int om = 0;
    if (!digits(s, i + 1, 2, oh) || s[i + 3] != ':' || !digits(s, i + 4, 2, om) || oh > 23 || om > 59) {
      return bad();
    }
    offset = (oh * 3600 + om * 60) * (s[i] == '+' ? 1 : -1);
  } else {
    return bad();
  }
  t += hours(hh) + minutes(mm) + seconds(ss);
  return t - seconds(offset);
}

DatasetCatalog::DatasetCatalog(std::vector<Dataset> datasets) : datasets_(std::move(datasets)) {
  for (std::size_t i = 0; i < datasets_.size(); ++i) {
    by_sha256_.emplace(datasets_[i].sha256.value, i);
  }
}

const Dataset* DatasetCatalog::find_by_sha256(std::string_view hex) const {
  if (hex.size() != 64) {
    return nullptr;
  }
  const std::string key = lower_ascii(hex);
  if (!crypto::is_lower_hex(key)) {
    return nullptr;
  }
  const auto it = by_sha256_.find(key);
  if (it == by_sha256_.end()) {
    return nullptr;
  }
  // Catalog digests are public, so the lookup may branch on them; the final equality is still
  // constant-time as the house rule asks for digests from untrusted input.
  const Dataset& d = datasets_[it->second];
  return crypto::constant_time_equal(crypto::as_bytes(d.sha256.value), crypto::as_bytes(key)) ? &d : nullptr;
}

CatalogOutcome parse_dataset_catalog(std::string_view text, std::string_view filename) {
  Diagnostics diags;
  const std::string file(filename);
  std::vector<YAML::Node> docs = yaml::load_documents(text, file, kCatalogLimits, diags);
  yaml::Reader r(file, diags);
  std::vector<Dataset> datasets;
  bool any_document = false;
  try {
    for (std::size_t di = 0; di < docs.size(); ++di) {
      const yaml::Field root = r.root(docs[di]);
      if (di > 0) {
        r.error(root, "a catalog file holds one document", "merge the datasets lists into one document");
        break;
      }
      any_document = true;
      yaml::Map top(r, root, {"apiVersion", "kind", "metadata", "datasets"});
      if (!top.ok()) {
        break;
      }
      if (auto f = top.required("apiVersion")) {
        if (auto v = r.string(*f); v && v->value != kApiVersion) {
          r.error(*f, "unsupported version " + quote(v->value), "expected \"" + std::string(kApiVersion) + "\"",
                  Code::kUnsupported);
        }
      }
      if (auto f = top.required("kind")) {
        if (auto v = r.string(*f); v && v->value != kDatasetCatalogKind) {
          r.error(*f, "expected \"DatasetCatalog\", found " + quote(v->value), {}, Code::kUnsupported);
          break;
        }
      }
      if (auto f = top.get("metadata")) {
        yaml::Map metadata(r, *f, {"name"});
        if (auto n = metadata.get("name")) {
          (void)r.string(*n);
        }
      }
      auto lf = top.required("datasets");
      auto items = lf ? r.list(*lf, limits::kMaxCatalogDatasets) : std::nullopt;
      if (!items) {
        break;
      }
      std::map<std::pair<std::string, std::string>, Position> by_version;
      std::map<std::string, Position, std::less<>> by_digest;
      for (const yaml::Field& item : *items) {
        auto d = parse_dataset(r, item);
        if (!d) {
          continue;
        }
        auto [vit, vnew] = by_version.emplace(std::pair{d->name.value, d->version_id.value}, d->version_id.position);
        if (!vnew) {
          diags.error(d->version_id.position, Code::kMalformed,
                      item.path + ": duplicate dataset " + quote(d->name.value) + " version " +
                          quote(d->version_id.value),
                      "first defined at " + format_position(vit->second));
        }
        auto [dit, dnew] = by_digest.emplace(d->sha256.value, d->sha256.position);
        if (!dnew) {
          diags.error(d->sha256.position, Code::kMalformed, item.path + ": duplicate sha256 " + quote(d->sha256.value),
                      "first used at " + format_position(dit->second) + "; one digest is one dataset version");
        }
        datasets.push_back(std::move(*d));
      }
    }
  } catch (const std::exception& e) {
    diags.error(Position{file, 0, 0}, Code::kInternal, std::string("cannot read catalog: ") + e.what());
  }
  if (!any_document && !diags.has_errors()) {
    diags.error(Position{file, 0, 0}, Code::kMalformed, "empty dataset catalog",
                "a catalog is apiVersion, kind: DatasetCatalog and a datasets list");
  }
  CatalogOutcome out;
  out.diagnostics = diags.take();
  if (!has_errors(out.diagnostics)) {
    out.catalog = std::shared_ptr<const DatasetCatalog>(new DatasetCatalog(std::move(datasets)));
  }
  return out;
}

CatalogOutcome load_dataset_catalog(const std::filesystem::path& path) {
  auto text = yaml::read_text_file(path, limits::kMaxDatasetCatalogBytes);
  if (!text.ok()) {
    CatalogOutcome out;
    out.diagnostics.push_back(
        Diagnostic{Position{path.string(), 0, 0}, Severity::kError, text.error().code, text.error().message, {}});
    return out;
  }
  return parse_dataset_catalog(*text, path.string());
}

}  // namespace modelgate::policy
