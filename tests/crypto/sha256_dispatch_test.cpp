// sha256_dispatch_test.cpp: which backends the CPU offers, the self-benchmark's choice and its
// rule, and MODELGATE_SHA256 (crypto/sha256_dispatch.cpp). The kernels themselves are checked
// against NIST and OpenSSL in sha256_test.cpp.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "crypto/sha256.h"
#include "crypto/sha256_kernels.h"
#include "test_support.h"

namespace crypto = modelgate::crypto;
using crypto::Sha256;
using crypto::Sha256Backend;
using crypto::Sha256Digest;

namespace {

std::string hex(const Sha256Digest& d) { return modelgate::testing::to_hex(d); }

std::vector<const Sha256Backend*> backends() {
  auto all = crypto::sha256_available_backends();
  return {all.begin(), all.end()};
}

// cpu_flags reads the kernel's view of the CPU (/proc/cpuinfo), a source independent of our CPUID
// code, so a dispatcher that misses a feature cannot quietly skip a backend's tests.
std::set<std::string> cpu_flags() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  std::set<std::string> flags;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) == 0) {
      std::istringstream words(line.substr(line.find(':') + 1));
      std::string w;
      while (words >> w) {
        flags.insert(w);
      }
      break;
    }
  }
  return flags;
}

// self_exe is this test binary (resolved here: /proc/self in a child would name the child).
std::string self_exe() { return std::filesystem::read_symlink("/proc/self/exe").string(); }

}  // namespace

TEST_CASE("every SHA-256 backend the CPU supports is available, and scalar always is", "[sha256]") {
  const auto flags = cpu_flags();
  REQUIRE_FALSE(flags.empty());
  std::set<std::string> names;
  for (const Sha256Backend* b : backends()) {
    names.insert(std::string(b->name));
  }
  CHECK(names.count("scalar") == 1);
  CHECK(names.count("avx2") == flags.count("avx2"));
  const bool shani = flags.count("sha_ni") && flags.count("ssse3") && flags.count("sse4_1");
  for (const char* name : {"shani", "shani-x1", "shani-x2", "shani-x3"}) {
    INFO(name);
    CHECK(names.count(name) == (shani ? 1u : 0u));
  }
  CHECK(names.count("avx512") == (flags.count("avx512f") && flags.count("avx512bw") ? 1u : 0u));
  // The development and CI machine has them all; there every backend must be exercised.
  if (flags.count("avx2") && flags.count("sha_ni") && flags.count("avx512f") && flags.count("avx512bw")) {
    CHECK(names == std::set<std::string>{"scalar", "avx2", "shani", "shani-x1", "shani-x2", "shani-x3",
                                         "avx512"});
  } else {
    WARN("this CPU cannot run every SHA-256 backend; the missing ones go untested here");
  }
  REQUIRE(backends().front()->name == "scalar");
}

TEST_CASE("sha256 backends declare the lane counts their kernels implement", "[sha256]") {
  for (const Sha256Backend* b : backends()) {
    INFO(b->name);
    REQUIRE(b->compress1 != nullptr);
    REQUIRE(b->compress_lanes != nullptr);
    if (b->name == "scalar") {
      CHECK(b->lanes == 1);
    } else if (b->name == "avx2") {
      CHECK(b->lanes == 8);
    } else if (b->name == "shani") {
      CHECK(b->lanes == crypto::detail::kShaniLanes);
    } else if (b->name == "shani-x1" || b->name == "shani-x2" || b->name == "shani-x3") {
      CHECK(b->lanes == static_cast<std::size_t>(b->name.back() - '0'));
    } else if (b->name == "avx512") {
      CHECK(b->lanes == 16);
    } else {
      FAIL("unknown backend");
    }
  }
}

TEST_CASE("sha256 backends are found by their exact name only", "[sha256]") {
  for (const Sha256Backend* b : backends()) {
    REQUIRE(crypto::sha256_backend_by_name(b->name) == b);
  }
  CHECK(crypto::sha256_backend_by_name("") == nullptr);
  CHECK(crypto::sha256_backend_by_name("SHANI") == nullptr);
  CHECK(crypto::sha256_backend_by_name("shani ") == nullptr);
  CHECK(crypto::sha256_backend_by_name("avx-512") == nullptr);
  CHECK(crypto::sha256_backend_by_name("shani-x4") == nullptr);
}

TEST_CASE("the sha256 self-benchmark measures every backend and keeps the baseline unless beaten",
          "[sha256]") {
  const crypto::Sha256Selection& sel = crypto::sha256_selection();
  REQUIRE(&crypto::sha256_default_backend() == sel.backend);
  REQUIRE(sel.candidates.size() == backends().size());
  double baseline_rate = 0;
  double fastest = 0;
  for (std::size_t i = 0; i < sel.candidates.size(); ++i) {
    INFO(sel.candidates[i].backend->name);
    REQUIRE(sel.candidates[i].backend == backends()[i]);
    REQUIRE(sel.candidates[i].gbps > 0);
    if (sel.candidates[i].backend == sel.baseline) {
      baseline_rate = sel.candidates[i].gbps;
    }
    fastest = std::max(fastest, sel.candidates[i].gbps);
  }
  // The baseline is the fixed choice of earlier versions: shani, else avx2, else scalar.
  const auto flags = cpu_flags();
  const char* baseline = flags.count("sha_ni") ? "shani" : flags.count("avx2") ? "avx2" : "scalar";
  REQUIRE(sel.baseline->name == baseline);
  REQUIRE(baseline_rate > 0);
  // Bounded: a few ms on the development VM; this only catches an unbounded loop.
  CHECK(sel.benchmark_ms > 0);
  CHECK(sel.benchmark_cpu_ms < 10000);
  const char* forced = std::getenv("MODELGATE_SHA256");
  if (forced != nullptr && *forced != '\0') {
    REQUIRE(sel.selected_by == "environment");
    REQUIRE(sel.backend->name == forced);
    return;
  }
  REQUIRE(sel.selected_by == "benchmark");
  if (sel.backend != sel.baseline) {
    double rate = 0;
    for (const auto& c : sel.candidates) {
      rate = c.backend == sel.backend ? c.gbps : rate;
    }
    CHECK(rate == fastest);
    CHECK(rate >= crypto::kSha256SwitchMargin * baseline_rate);
  }
}

TEST_CASE("the sha256 pick switches from the baseline only to a candidate faster by the margin",
          "[sha256]") {
  const auto all = backends();
  if (all.size() < 2) {
    WARN("only one sha256 backend here; nothing to pick between");
    return;
  }
  const Sha256Backend* base = all[0];
  const Sha256Backend* other = all[1];
  using Cands = std::vector<crypto::Sha256Candidate>;
  CHECK(crypto::detail::sha256_pick(Cands{{base, 2.0}, {other, 2.1}}, base) == base);
  CHECK(crypto::detail::sha256_pick(Cands{{base, 2.0}, {other, 2.3}}, base) == other);
  CHECK(crypto::detail::sha256_pick(Cands{{base, 2.0}, {other, 1.0}}, base) == base);
  CHECK(crypto::detail::sha256_pick(Cands{{other, 5.0}, {base, 2.0}}, base) == other);
  // A baseline that could not be measured is kept rather than trusting a lone figure.
  CHECK(crypto::detail::sha256_pick(Cands{{other, 5.0}}, base) == base);
  CHECK(crypto::detail::sha256_pick(Cands{}, base) == base);
}

// Not run by default ([.]): the environment tests below start this binary again with
// MODELGATE_SHA256 set and read which backend the dispatcher picked.
TEST_CASE("sha256 env probe prints the default backend", "[.][sha256-env-probe]") {
  const Sha256Backend& b = crypto::sha256_default_backend();
  std::cout << "default backend: " << b.name << "\n";
  std::cout << "selected by: " << crypto::sha256_selection().selected_by << "\n";
  REQUIRE(hex(Sha256::hash({}, b)) ==
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("MODELGATE_SHA256 forces each available backend as the default", "[sha256]") {
  for (const Sha256Backend* b : backends()) {
    const auto r = modelgate::testing::run(
        {"env", "MODELGATE_SHA256=" + std::string(b->name), self_exe(), "[sha256-env-probe]"});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    REQUIRE(r.out.find("default backend: " + std::string(b->name) + "\n") != std::string::npos);
    REQUIRE(r.out.find("selected by: environment\n") != std::string::npos);
  }
}

TEST_CASE("an unknown MODELGATE_SHA256 aborts with a message naming the valid choices",
          "[sha256]") {
  const auto r =
      modelgate::testing::run({"env", "MODELGATE_SHA256=sha-ni", self_exe(), "[sha256-env-probe]"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == -1);  // SIGABRT
  REQUIRE(r.err.find("MODELGATE_SHA256=\"sha-ni\" is unknown (expected scalar, avx2, shani, "
                     "shani-x1, shani-x2, shani-x3 or avx512)") != std::string::npos);
  REQUIRE(r.out.find("default backend:") == std::string::npos);
}

TEST_CASE("an empty MODELGATE_SHA256 means no override", "[sha256]") {
  const auto r =
      modelgate::testing::run({"env", "MODELGATE_SHA256=", self_exe(), "[sha256-env-probe]"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.out.find("selected by: benchmark\n") != std::string::npos);
}

TEST_CASE("a MODELGATE_SHA256 with control bytes is quoted safely in the abort message",
          "[sha256]") {
  const auto r = modelgate::testing::run(
      {"env", "MODELGATE_SHA256=sha\x1b[2J\"ni", self_exe(), "[sha256-env-probe]"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == -1);  // SIGABRT
  REQUIRE(r.err.find("MODELGATE_SHA256=\"sha?[2J?ni\" is unknown") != std::string::npos);
  REQUIRE(r.err.find('\x1b') == std::string::npos);
}
