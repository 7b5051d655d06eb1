// dataset_catalog.h: the dataset catalog (YAML, kind DatasetCatalog): the datasets an organisation
// vouches for, with the attributes policies judge (classification, license, digest), typed with
// positions and parsed in the same diagnostic style as policies. Not dataset verification: the
// catalog says what a digest is, provenance says which digests a model was trained on.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "policy/diagnostic.h"

namespace modelgate::policy {

inline constexpr std::string_view kDatasetCatalogKind = "DatasetCatalog";

// Dataset is one catalog entry (the attributes of the seed paper plus license). Timestamps are
// RFC 3339 (or a bare date, meaning midnight UTC); `updated` defaults to `created`.
struct Dataset {
  Located<std::string> name;
  Located<std::string> version_id;  // unique per (name, version)
  Located<std::chrono::sys_seconds> created;
  Located<std::chrono::sys_seconds> updated;
  Located<std::string> format;
  Located<std::string> location;
  Located<std::string> classification;
  Located<std::string> owner;
  std::optional<Located<std::string>> schema;
  std::optional<Located<std::string>> documentation;
  Located<std::string> sha256;  // 64 lowercase hex
  Located<std::string> license;  // an SPDX identifier or expression, compared exactly
  Position position;
};

// DatasetCatalog is immutable once parsed; thread-safe for concurrent readers.
class DatasetCatalog {
 public:
  const std::vector<Dataset>& datasets() const { return datasets_; }
  // find_by_sha256 returns the dataset whose digest is `hex` (64 hex digits, either case), or
  // nullptr. The returned pointer lives as long as the catalog.
  const Dataset* find_by_sha256(std::string_view hex) const;

 private:
  friend struct CatalogOutcome parse_dataset_catalog(std::string_view, std::string_view);
  explicit DatasetCatalog(std::vector<Dataset> datasets);

  std::vector<Dataset> datasets_;
  std::unordered_map<std::string, std::size_t> by_sha256_;
};

// CatalogOutcome: the catalog, or nullptr when any diagnostic is an error.
struct CatalogOutcome {
  std::shared_ptr<const DatasetCatalog> catalog;
  std::vector<Diagnostic> diagnostics;

  bool ok() const { return catalog != nullptr; }
};

// parse_dataset_catalog parses one DatasetCatalog document (`filename` for positions). Every field
// is checked and every problem reported: unknown fields, wrong types, bad timestamps, sha256 not
// 64 lowercase hex, duplicate (name, versionId), duplicate sha256. Bounds:
// limits::kMaxDatasetCatalogBytes, kMaxCatalogNodes, kMaxCatalogExpandedBytes, kMaxCatalogDatasets.
// Thread-safe.
CatalogOutcome parse_dataset_catalog(std::string_view text, std::string_view filename);

// load_dataset_catalog reads `path` (bounded; unreadable is one kIo diagnostic) and parses it.
CatalogOutcome load_dataset_catalog(const std::filesystem::path& path);

// parse_timestamp reads RFC 3339 ("2024-05-01T12:00:00Z", offsets and fractions allowed, the
// fraction dropped) or a bare date ("2024-05-01"). Errors: kMalformed.
[[nodiscard]] Result<std::chrono::sys_seconds> parse_timestamp(std::string_view text);

}  // namespace modelgate::policy
