#include <nlohmann/json.hpp>

#include <catch2/catch.hpp>

#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "base/log.h"
#include "base/log_keys.h"

namespace keys = modelgate::log_keys;
using modelgate::log::Level;
using modelgate::log::Logger;

namespace {

std::vector<std::string> lines_of(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::vector<std::string> out;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, f) != nullptr) {
    out.emplace_back(buf);
  }
  return out;
}

}  // namespace

TEST_CASE("each log call writes one parseable json line with the stable keys", "[log]") {
  std::FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  {
    Logger log(f, Level::kInfo);
    log.info("admission_decision").str(keys::kDecision, "deny").num(keys::kDurationMs, 12).boolean(keys::kCache, true);
    log.debug("not_written").str(keys::kModel, "m");
  }
  auto lines = lines_of(f);
  std::fclose(f);
  REQUIRE(lines.size() == 1);
  auto j = nlohmann::json::parse(lines[0]);  // nlohmann is the independent parser here
  REQUIRE(j["event"] == "admission_decision");
  REQUIRE(j["level"] == "info");
  REQUIRE(j["decision"] == "deny");
  REQUIRE(j["duration_ms"] == 12);
  REQUIRE(j["cache"] == true);
  REQUIRE(j["time"].get<std::string>().size() == 24);
}

TEST_CASE("hostile values cannot break a log line or forge a key", "[log]") {
  std::FILE* f = std::tmpfile();
  REQUIRE(f != nullptr);
  std::string hostile = "x\",\"decision\":\"allow\"\n{\"level\":\"error\"} \xff\xfe \xed\xa0\x80 \xc3\xa9";
  {
    Logger log(f, Level::kDebug);
    log.warn("hostile").str(keys::kName, hostile);
  }
  auto lines = lines_of(f);
  std::fclose(f);
  REQUIRE(lines.size() == 1);
  auto j = nlohmann::json::parse(lines[0]);
  REQUIRE_FALSE(j.contains("decision"));
  REQUIRE(j["level"] == "warn");
  std::string name = j["name"].get<std::string>();
  REQUIRE(name.find("x\",\"decision\"") == 0);
  REQUIRE(name.find("\xc3\xa9") != std::string::npos);  // valid UTF-8 is kept as is
}
