// dataset_catalog_test.cpp: catalog entries parse into typed values with positions; timestamps
// agree with GNU date; digest lookup agrees with sha256sum.
#include <catch2/catch.hpp>

#include <string>

#include "policy/dataset_catalog.h"
#include "test_support.h"

using modelgate::Code;
using namespace modelgate::policy;
using modelgate::testing::run;
using modelgate::testing::TempDir;
using modelgate::testing::write_file;

namespace {

constexpr std::string_view kCatalog = R"(apiVersion: modelgate.dev/v1alpha1
kind: DatasetCatalog
metadata: {name: acme}
datasets:
- name: support-tickets
  versionId: 2024.06.1
  created: 2024-06-01T09:00:00Z
  updated: 2024-06-15T17:30:00.250+02:00
  format: parquet
  location: s3://acme/tickets/2024.06.1/
  classification: internal
  owner: data-platform@acme.com
  schema: https://schemas.acme.internal/ticket/v3.json
  documentation: https://wiki.acme.internal/tickets
  sha256: 4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393
  license: LicenseRef-acme-internal
- {name: forum, versionId: v2, created: 2024-01-01, format: jsonl, location: "s3://acme/forum/v2/",
   classification: public, owner: data@acme.com, license: MIT,
   sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08}
)";

// GNU date as the independent oracle for RFC 3339 → Unix seconds.
long long date_oracle(const std::string& ts) {
  auto r = run({"date", "-u", "-d", ts, "+%s"});
  REQUIRE(r.exit_code == 0);
  return std::stoll(r.out);
}

long long unix_seconds(std::chrono::sys_seconds t) { return t.time_since_epoch().count(); }

}  // namespace

TEST_CASE("a dataset catalog parses into typed entries with positions", "[policy]") {
  const CatalogOutcome out = parse_dataset_catalog(kCatalog, "cat.yaml");
  for (const auto& d : out.diagnostics) {
    UNSCOPED_INFO(format_diagnostic(d));
  }
  REQUIRE(out.ok());
  REQUIRE(out.diagnostics.empty());
  const auto& ds = out.catalog->datasets();
  REQUIRE(ds.size() == 2);
  const Dataset& t = ds[0];
  CHECK(t.position == Position{"cat.yaml", 5, 3});
  CHECK(t.name.value == "support-tickets");
  CHECK(t.name.position == Position{"cat.yaml", 5, 9});
  CHECK(t.version_id.value == "2024.06.1");
  CHECK(t.version_id.position == Position{"cat.yaml", 6, 14});
  CHECK(unix_seconds(t.created.value) == date_oracle("2024-06-01T09:00:00Z"));
  CHECK(unix_seconds(t.updated.value) == date_oracle("2024-06-15T17:30:00+02:00"));
  CHECK(t.updated.position == Position{"cat.yaml", 8, 12});
  CHECK(t.format.value == "parquet");
  CHECK(t.location.value == "s3://acme/tickets/2024.06.1/");
  CHECK(t.classification.value == "internal");
  CHECK(t.owner.value == "data-platform@acme.com");
  REQUIRE(t.schema.has_value());
  CHECK(t.schema->value == "https://schemas.acme.internal/ticket/v3.json");
  REQUIRE(t.documentation.has_value());
  CHECK(t.sha256.value == "4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393");
  CHECK(t.sha256.position == Position{"cat.yaml", 15, 11});
  CHECK(t.license.value == "LicenseRef-acme-internal");
  const Dataset& f = ds[1];
  CHECK(f.name.value == "forum");
  CHECK(f.position == Position{"cat.yaml", 17, 3});
  CHECK(unix_seconds(f.created.value) == date_oracle("2024-01-01T00:00:00Z"));
  CHECK(f.updated.value == f.created.value);  // default
  CHECK_FALSE(f.schema.has_value());
  CHECK_FALSE(f.documentation.has_value());
}

TEST_CASE("RFC 3339 timestamps agree with GNU date", "[policy]") {
  for (const char* ts : {"1970-01-01T00:00:00Z", "2000-02-29T23:59:59Z", "2024-12-31T23:59:59-08:00",
                         "2038-01-19T03:14:08+05:30", "2100-03-01T00:00:00.999999999Z", "1999-12-31"}) {
    INFO(ts);
    auto t = parse_timestamp(ts);
    REQUIRE(t.ok());
    CHECK(unix_seconds(*t) == date_oracle(ts));
  }
  for (const char* bad : {"2023-02-29", "2024-13-01", "2024-01-01T24:00:00Z", "2024-01-01T10:00:00",
                          "2024-01-01 10:00:00Z", "2024-01-01t10:00:00z", "24-01-01", "2024-01-01T10:00:00.Z",
                          "2024-01-01T10:00:00+0200", "yesterday"}) {
    INFO(bad);
    auto t = parse_timestamp(bad);
    REQUIRE_FALSE(t.ok());
    CHECK(t.error().code == Code::kMalformed);
  }
}

TEST_CASE("find_by_sha256 finds a dataset by the digest sha256sum prints, in either case", "[policy]") {
  TempDir dir;
  write_file(dir / "shard.parquet", "rows of training data\n");
  auto r = run({"sha256sum", (dir / "shard.parquet").string()});
  REQUIRE(r.exit_code == 0);
  const std::string digest = r.out.substr(0, 64);
  std::string text(kCatalog);
  text.replace(text.find("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"), 64, digest);
  const CatalogOutcome out = parse_dataset_catalog(text, "cat.yaml");
  REQUIRE(out.ok());
  const Dataset* hit = out.catalog->find_by_sha256(digest);
  REQUIRE(hit != nullptr);
  CHECK(hit->name.value == "forum");
  std::string upper = digest;
  for (char& c : upper) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  CHECK(out.catalog->find_by_sha256(upper) == hit);
  std::string other = digest;
  other[63] = other[63] == '0' ? '1' : '0';
  CHECK(out.catalog->find_by_sha256(other) == nullptr);
  CHECK(out.catalog->find_by_sha256(digest.substr(0, 63)) == nullptr);
  CHECK(out.catalog->find_by_sha256("sha256:" + digest) == nullptr);
  CHECK(out.catalog->find_by_sha256(std::string(64, 'g')) == nullptr);
}

TEST_CASE("a catalog file must hold exactly one non-empty catalog document", "[policy]") {
  const CatalogOutcome empty = parse_dataset_catalog("# nothing\n", "cat.yaml");
  REQUIRE_FALSE(empty.ok());
  REQUIRE(empty.diagnostics.size() == 1);
  CHECK(empty.diagnostics[0].message == "empty dataset catalog");

  const CatalogOutcome two = parse_dataset_catalog(std::string(kCatalog) + "---\n" + std::string(kCatalog), "cat.yaml");
  REQUIRE_FALSE(two.ok());
  REQUIRE(two.diagnostics.size() == 1);
  CHECK(two.diagnostics[0].position == Position{"cat.yaml", 21, 1});
  CHECK(two.diagnostics[0].message == "a catalog file holds one document");

  const CatalogOutcome policy = parse_dataset_catalog(
      "apiVersion: modelgate.dev/v1alpha1\nkind: ModelPolicy\ndatasets: []\n", "cat.yaml");
  REQUIRE_FALSE(policy.ok());
  REQUIRE(policy.diagnostics.size() == 1);
  CHECK(policy.diagnostics[0].code == Code::kUnsupported);
  CHECK(policy.diagnostics[0].message == "kind: expected \"DatasetCatalog\", found \"ModelPolicy\"");
}

TEST_CASE("the example dataset catalog is valid", "[policy]") {
  const CatalogOutcome out =
      load_dataset_catalog(std::filesystem::path(MODELGATE_SOURCE_DIR) / "examples" / "datasets.yaml");
  for (const auto& d : out.diagnostics) {
    UNSCOPED_INFO(format_diagnostic(d));
  }
  REQUIRE(out.ok());
  CHECK(out.diagnostics.empty());
  CHECK(out.catalog->datasets().size() >= 2);
}
