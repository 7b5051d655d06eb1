#include <catch2/catch.hpp>

#include <filesystem>

#include "admission/review_codec.h"
#include "crypto/json.h"
#include "test_support.h"

using modelgate::Code;
namespace admission = modelgate::admission;
namespace fs = std::filesystem;
using modelgate::testing::read_file;
using modelgate::testing::vectors_dir;

namespace {

fs::path admission_vectors() { return vectors_dir() / "admission"; }

// The reference decoder for these tests is Python-free and independent of ours: nlohmann's plain
// parser reading the same file, so field values are compared with what the apiserver sent.
modelgate::crypto::Json raw(const fs::path& p) { return modelgate::crypto::Json::parse(read_file(p)); }

}  // namespace

TEST_CASE("every captured apiserver request decodes with its uid, kind and operation", "[admission]") {
  std::size_t count = 0;
  for (const auto& entry : fs::directory_iterator(admission_vectors())) {
    if (entry.path().extension() != ".json") {
      continue;
    }
    ++count;
    INFO(entry.path().filename().string());
    auto r = admission::decode_admission_review(read_file(entry.path()));
    REQUIRE(r.ok());
    auto want = raw(entry.path())["request"];
    CHECK(r->uid == want["uid"].get<std::string>());
    CHECK(r->kind.kind == want["kind"]["kind"].get<std::string>());
    CHECK(r->kind.group == want["kind"]["group"].get<std::string>());
    CHECK(std::string(admission::operation_name(r->operation)) == want["operation"].get<std::string>());
    CHECK(r->namespace_name == want["namespace"].get<std::string>());
    CHECK(r->dry_run == want.value("dryRun", false));
    CHECK(r->old_object.has_value() == (want.contains("oldObject") && !want["oldObject"].is_null()));
    CHECK(r->username == want["userInfo"]["username"].get<std::string>());
  }
  // Pinned: the README of the vectors lists 19 captured requests.
  REQUIRE(count == 19);
}

TEST_CASE("a dry-run update is decoded as a dry run", "[admission]") {
  auto r = admission::decode_admission_review(read_file(admission_vectors() / "pod-update-llm-server-dryrun.json"));
  REQUIRE(r.ok());
  REQUIRE(r->dry_run);
  REQUIRE(r->operation == admission::Operation::kUpdate);
}

TEST_CASE("requests that are not AdmissionReview v1 are rejected with a reason", "[admission]") {
  struct Case {
    const char* body;
    Code code;
    const char* text;
  } cases[] = {
      {"", Code::kMalformed, "invalid JSON"},
      {"[]", Code::kMalformed, "expected a JSON object"},
      {R"({"kind":"Pod","apiVersion":"v1"})", Code::kMalformed, "expected \"AdmissionReview\""},
      {R"({"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1beta1","request":{}})", Code::kUnsupported,
       "admissionReviewVersions: [v1]"},
      {R"({"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1"})", Code::kMalformed, "request: is missing"},
      {R"({"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"uid":"","kind":{"version":"v1","kind":"Pod"},"operation":"CREATE","object":{}}})",
       Code::kMalformed, "request.uid: is empty"},
      {R"({"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"uid":"u","kind":{"version":"v1","kind":"Pod"},"operation":"EXPLODE","object":{}}})",
       Code::kUnsupported, "unknown operation \"EXPLODE\""},
      {R"({"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"uid":"u","kind":{"version":"v1","kind":"Pod"},"operation":"CREATE"}})",
       Code::kMalformed, "request.object: is missing for CREATE"},
      {R"({"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"})", Code::kMalformed,
       "duplicate key"},
  };
  for (const auto& c : cases) {
    INFO(c.body);
    auto r = admission::decode_admission_review(c.body);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == c.code);
    CHECK_THAT(r.error().message, Catch::Contains(c.text));
  }
}

TEST_CASE("an oversized or deeply nested body is refused before it is built", "[admission]") {
  std::string huge(9u << 20, ' ');
  auto r = admission::decode_admission_review(huge);
  REQUIRE_FALSE(r.ok());
  REQUIRE(r.error().code == Code::kLimit);

  std::string deep = R"({"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"x":)" +
                     std::string(10000, '[') + std::string(10000, ']') + "}}";
  auto d = admission::decode_admission_review(deep);
  REQUIRE_FALSE(d.ok());
  REQUIRE(d.error().code == Code::kLimit);
}

TEST_CASE("a denial is encoded as an AdmissionReview response the apiserver accepts", "[admission]") {
  admission::AdmissionResponse resp;
  resp.uid = "85716008-5bde-42b8-82d9-1a8042f70ae9";
  resp.allowed = false;
  resp.code = 403;
  resp.message = "model \"llama\" violates policy \"prod\"";
  resp.warnings = {std::string(300, 'w') + "\n", "ok"};
  resp.audit_annotations = {{"modelgate.dev/reason", "signature.digest_mismatch"}};
  auto doc = modelgate::crypto::Json::parse(admission::encode_admission_review(resp));
  REQUIRE(doc["apiVersion"] == "admission.k8s.io/v1");
  REQUIRE(doc["kind"] == "AdmissionReview");
  const auto& r = doc["response"];
  REQUIRE(r["uid"] == resp.uid);
  REQUIRE(r["allowed"] == false);
  REQUIRE(r["status"]["code"] == 403);
  REQUIRE(r["status"]["reason"] == "Forbidden");
  REQUIRE(r["status"]["message"] == resp.message);
  REQUIRE(r["warnings"][0].get<std::string>().size() == 120);
  REQUIRE(r["warnings"][1] == "ok");
  REQUIRE(r["auditAnnotations"]["modelgate.dev/reason"] == "signature.digest_mismatch");
}

TEST_CASE("untrusted strings echoed to users are cut and their control bytes escaped", "[admission]") {
  REQUIRE(admission::sanitize_for_user("a\nb\x1b") == "a\\x0ab\\x1b");
  std::string long_name(200, 'x');
  std::string cut = admission::sanitize_for_user(long_name);
  REQUIRE(cut.size() == 120 + 3);  // 120 bytes + "…"
  // A multi-byte character straddling the cut is not split.
  std::string s = std::string(119, 'a') + "\xc3\xa9" + "tail";
  std::string c2 = admission::sanitize_for_user(s);
  REQUIRE(c2 == std::string(119, 'a') + "\xe2\x80\xa6");
}
