// metrics_test.cpp: every documented metric is in the exposition, parses as Prometheus text 0.0.4,
// moves when observed, and label values from outside the vocabularies fold into "other".
#include <catch2/catch.hpp>

#include <string>
#include <thread>
#include <vector>

#include "admission/metrics.h"
#include "crypto/sha256.h"
#include "prometheus_text.h"

using modelgate::admission::Metrics;
using modelgate::testing::parse_prometheus_text;
using modelgate::testing::PromText;

namespace {

PromText scrape(const Metrics& m) {
  PromText t = parse_prometheus_text(m.serialize());
  INFO(t.error);
  REQUIRE(t.error.empty());
  return t;
}

}  // namespace

TEST_CASE("the prometheus text reader refuses what the format forbids", "[admission][metrics]") {
  // The reader is the oracle below: it must be able to say no.
  CHECK(parse_prometheus_text("# TYPE a counter\na 1\n").error.empty());
  CHECK_FALSE(parse_prometheus_text("a 1\n").error.empty());                       // no TYPE
  CHECK_FALSE(parse_prometheus_text("# TYPE a counter\na{b=\"c} 1\n").error.empty());  // unterminated
  CHECK_FALSE(parse_prometheus_text("# TYPE a counter\na{b=c} 1\n").error.empty());    // unquoted
  CHECK_FALSE(parse_prometheus_text("# TYPE a counter\na one\n").error.empty());       // value
  CHECK_FALSE(parse_prometheus_text("# TYPE a counter\na 1").error.empty());           // final newline
  CHECK_FALSE(parse_prometheus_text("# TYPE a countr\na 1\n").error.empty());          // type
}

TEST_CASE("a fresh registry exposes every documented metric family with its type", "[admission][metrics]") {
  Metrics m;
  m.observe_request("Pod", "CREATE", "allow", 0.001);  // families with labels appear once used
  m.observe_http("/validate", 200);
  m.add_verification_failure("signature.digest_mismatch");
  m.add_break_glass("prod");
  const PromText t = scrape(m);
  const std::map<std::string, std::string> want = {
      {"modelgate_admission_requests_total", "counter"},
      {"modelgate_admission_duration_seconds", "histogram"},
      {"modelgate_http_requests_total", "counter"},
      {"modelgate_hashed_bytes_total", "counter"},
      {"modelgate_cache_requests_total", "counter"},
      {"modelgate_cache_entries", "gauge"},
      {"modelgate_verification_failures_total", "counter"},
      {"modelgate_hash_jobs_in_flight", "gauge"},
      {"modelgate_hash_jobs_rejected_total", "counter"},
      {"modelgate_hash_jobs_abandoned_total", "counter"},
      {"modelgate_model_walks_total", "counter"},
      {"modelgate_policy_reloads_total", "counter"},
      {"modelgate_policies_loaded", "gauge"},
      {"modelgate_policy_last_reload_success", "gauge"},
      {"modelgate_tls_reloads_total", "counter"},
      {"modelgate_connections_closed_total", "counter"},
      {"modelgate_break_glass_total", "counter"},
      {"modelgate_sha256_kernel_info", "gauge"},
  };
  for (const auto& [name, type] : want) {
    INFO(name);
    REQUIRE(t.types.count(name) == 1);
    CHECK(t.types.at(name) == type);
  }
  CHECK(t.types.size() == want.size());
  // Series that exist before anything happens, so alerts see 0 rather than no data.
  CHECK(t.value("modelgate_tls_reloads_total", {{"result", "failure"}}) == 0.0);
  CHECK(t.value("modelgate_connections_closed_total", {{"reason", "slow_client"}}) == 0.0);
  CHECK(t.value("modelgate_policy_reloads_total", {{"result", "success"}}) == 0.0);
  CHECK(t.value("modelgate_cache_requests_total", {{"cache", "verdict"}, {"result", "hit"}}) == 0.0);
  CHECK(t.value("modelgate_hashed_bytes_total") == 0.0);
}

TEST_CASE("the metrics name the SHA-256 kernel in use, its lanes and how it was chosen",
          "[admission][metrics]") {
  Metrics m;
  const modelgate::crypto::Sha256Selection& sha = modelgate::crypto::sha256_selection();
  const PromText t = scrape(m);
  CHECK(t.value("modelgate_sha256_kernel_info", {{"kernel", std::string(sha.backend->name)},
                                                 {"lanes", std::to_string(sha.backend->lanes)},
                                                 {"selected_by", std::string(sha.selected_by)}}) == 1.0);
}

TEST_CASE("observations move exactly the series they name", "[admission][metrics]") {
  Metrics m;
  m.observe_request("Deployment", "UPDATE", "deny", 0.003);
  m.observe_request("Deployment", "UPDATE", "deny", 0.2);
  m.observe_http("/validate", 413);
  m.add_hashed_bytes(1000);
  m.add_hashed_bytes(24);
  m.observe_cache("file", true);
  m.observe_cache("file", false);
  m.observe_cache("file", false);
  m.set_cache_entries("verdict", 7);
  m.add_verification_failure("reviews.not_enough_approvals");
  m.set_jobs_in_flight(3);
  m.add_job_rejected();
  m.observe_policy_reload(true, 5);
  m.observe_policy_reload(false, 0);
  m.observe_tls_reload(true);
  m.add_break_glass("prod-serving");
  const PromText t = scrape(m);
  CHECK(t.value("modelgate_admission_requests_total",
                {{"kind", "Deployment"}, {"operation", "UPDATE"}, {"decision", "deny"}}) == 2.0);
  CHECK(t.value("modelgate_admission_duration_seconds_count", {{"kind", "Deployment"}}) == 2.0);
  CHECK(t.value("modelgate_admission_duration_seconds_sum", {{"kind", "Deployment"}}) == Approx(0.203));
  // 3 ms lands in the 5 ms bucket and above, not in 2.5 ms; 200 ms from the 250 ms bucket on.
  CHECK(t.value("modelgate_admission_duration_seconds_bucket", {{"kind", "Deployment"}, {"le", "0.0025"}}) == 0.0);
  CHECK(t.value("modelgate_admission_duration_seconds_bucket", {{"kind", "Deployment"}, {"le", "0.005"}}) == 1.0);
  CHECK(t.value("modelgate_admission_duration_seconds_bucket", {{"kind", "Deployment"}, {"le", "0.25"}}) == 2.0);
  CHECK(t.value("modelgate_admission_duration_seconds_bucket", {{"kind", "Deployment"}, {"le", "+Inf"}}) == 2.0);
  CHECK(t.value("modelgate_http_requests_total", {{"path", "/validate"}, {"code", "413"}}) == 1.0);
  CHECK(t.value("modelgate_hashed_bytes_total") == 1024.0);
  CHECK(t.value("modelgate_cache_requests_total", {{"cache", "file"}, {"result", "hit"}}) == 1.0);
  CHECK(t.value("modelgate_cache_requests_total", {{"cache", "file"}, {"result", "miss"}}) == 2.0);
  CHECK(t.value("modelgate_cache_entries", {{"cache", "verdict"}}) == 7.0);
  CHECK(t.value("modelgate_verification_failures_total", {{"reason", "reviews.not_enough_approvals"}}) == 1.0);
  CHECK(t.value("modelgate_hash_jobs_in_flight") == 3.0);
  CHECK(t.value("modelgate_hash_jobs_rejected_total") == 1.0);
  CHECK(t.value("modelgate_policy_reloads_total", {{"result", "success"}}) == 1.0);
  CHECK(t.value("modelgate_policy_reloads_total", {{"result", "failure"}}) == 1.0);
  // A failed reload keeps the last good set: its size stays, the success gauge drops.
  CHECK(t.value("modelgate_policies_loaded") == 5.0);
  CHECK(t.value("modelgate_policy_last_reload_success") == 0.0);
  CHECK(t.value("modelgate_tls_reloads_total", {{"result", "success"}}) == 1.0);
  CHECK(t.value("modelgate_break_glass_total", {{"policy", "prod-serving"}}) == 1.0);
}

TEST_CASE("label values outside the fixed vocabularies are reported as other", "[admission][metrics]") {
  Metrics m;
  m.observe_request("Secret\"}\nforged 1", "PATCH", "maybe", 0.001);
  m.observe_http("/validate?x=1", 200);
  m.observe_http("/../etc/passwd", 404);
  m.add_verification_failure("Signature Mismatch!");
  m.add_verification_failure(std::string(65, 'a'));
  m.observe_cache("dns", true);
  const PromText t = scrape(m);
  CHECK(t.value("modelgate_admission_requests_total",
                {{"kind", "other"}, {"operation", "other"}, {"decision", "other"}}) == 1.0);
  CHECK(t.value("modelgate_http_requests_total", {{"path", "other"}, {"code", "200"}}) == 1.0);
  CHECK(t.value("modelgate_http_requests_total", {{"path", "other"}, {"code", "404"}}) == 1.0);
  CHECK(t.value("modelgate_verification_failures_total", {{"reason", "other"}}) == 2.0);
  CHECK(t.value("modelgate_cache_requests_total", {{"cache", "other"}, {"result", "hit"}}) == 1.0);
  for (const auto& s : t.samples) {
    CHECK(s.name.find("forged") == std::string::npos);
  }
}

TEST_CASE("concurrent observations are all counted", "[admission][metrics]") {
  Metrics m;
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&m] {
      for (int j = 0; j < 1000; ++j) {
        m.observe_http("/validate", 200);
        m.add_hashed_bytes(1);
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  const PromText t = scrape(m);
  CHECK(t.value("modelgate_http_requests_total", {{"path", "/validate"}, {"code", "200"}}) == 4000.0);
  CHECK(t.value("modelgate_hashed_bytes_total") == 4000.0);
}
