// writeback_test.cpp: reading the kernel's writeback timers and the settleInterval warning `serve`
// logs when they outlast it (admission/writeback.h), on fake /proc/sys/vm directories and on the
// real one (read independently here).
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "admission/writeback.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace modelgate::admission;
using namespace std::chrono_literals;
using modelgate::testing::TempDir;
using modelgate::testing::write_file;

namespace {

fs::path vm_dir(const TempDir& t, const std::string& expire, const std::string& writeback) {
  if (!expire.empty()) {
    write_file(t / "vm/dirty_expire_centisecs", expire);
  }
  if (!writeback.empty()) {
    write_file(t / "vm/dirty_writeback_centisecs", writeback);
  }
  fs::create_directories(t / "vm");
  return t / "vm";
}

}  // namespace

TEST_CASE("the kernel's default writeback timers add up to 35 s, and a 60 s settle interval outlasts them",
          "[admission][writeback]") {
  TempDir t;
  const auto d = read_writeback_delay(vm_dir(t, "3000\n", "500\n"));
  REQUIRE(d.has_value());
  CHECK(d->expire == 30s);
  CHECK(d->interval == 5s);
  CHECK(d->bound() == 35s);
  CHECK_FALSE(settle_interval_warning(60s, *d).has_value());
  CHECK_FALSE(settle_interval_warning(35s, *d).has_value());
}

TEST_CASE("a settle interval below expire + writeback is warned about, naming both settings, the attack and the fix",
          "[admission][writeback]") {
  TempDir t;
  const auto d = read_writeback_delay(vm_dir(t, "3000\n", "500\n"));
  REQUIRE(d.has_value());
  const auto w = settle_interval_warning(34s, *d);
  REQUIRE(w.has_value());
  INFO(*w);
  CHECK(w->find("cache.settleInterval (34s)") != std::string::npos);
  CHECK(w->find("vm.dirty_expire_centisecs 30s + vm.dirty_writeback_centisecs 5s = 35s") != std::string::npos);
  CHECK(w->find("MAP_SHARED") != std::string::npos);
  CHECK(w->find("still-dirty page") != std::string::npos);
  CHECK(w->find("cache.maxTrustAge") != std::string::npos);
  CHECK(w->find("Raise cache.settleInterval above 35s") != std::string::npos);

  // An operator who raised the expiry to two minutes: the default 60 s no longer covers it.
  TempDir raised;
  const auto r = read_writeback_delay(vm_dir(raised, "12000", "250"));
  REQUIRE(r.has_value());
  const auto rw = settle_interval_warning(60s, *r);
  REQUIRE(rw.has_value());
  CHECK(rw->find("120s + vm.dirty_writeback_centisecs 2.5s = 122.5s") != std::string::npos);
}

TEST_CASE("with periodic writeback off no settle interval is enough, and the warning says so",
          "[admission][writeback]") {
  TempDir t;
  const auto d = read_writeback_delay(vm_dir(t, "3000\n", "0\n"));
  REQUIRE(d.has_value());
  const auto w = settle_interval_warning(3600s, *d);
  REQUIRE(w.has_value());
  CHECK(w->find("vm.dirty_writeback_centisecs is 0") != std::string::npos);
}

TEST_CASE("an unreadable or malformed expiry claims nothing, and a missing writeback interval leaves the expiry alone",
          "[admission][writeback]") {
  TempDir none;
  CHECK_FALSE(read_writeback_delay(none / "no-such-vm").has_value());
  for (const char* bad : {"", "abc", "-5", "30 00", "3000x", "99999999999999999999", "1000000000"}) {
    TempDir t;
    write_file(t / "vm/dirty_expire_centisecs", bad);
    INFO("dirty_expire_centisecs = \"" << bad << "\"");
    CHECK_FALSE(read_writeback_delay(t / "vm").has_value());
  }
  TempDir only_expire;
  const auto d = read_writeback_delay(vm_dir(only_expire, "3000", ""));
  REQUIRE(d.has_value());
  CHECK_FALSE(d->interval_known);
  CHECK(d->bound() == 30s);
  REQUIRE(settle_interval_warning(29s, *d).has_value());
  CHECK(settle_interval_warning(29s, *d)->find("(vm.dirty_expire_centisecs 30s)") != std::string::npos);
  CHECK_FALSE(settle_interval_warning(30s, *d).has_value());
}

TEST_CASE("this machine's /proc/sys/vm reads as the numbers in its files", "[admission][writeback]") {
  const fs::path vm = "/proc/sys/vm";
  if (!fs::exists(vm / "dirty_expire_centisecs")) {
    SUCCEED("no /proc/sys/vm here");
    return;
  }
  long long expire = -1;
  long long writeback = -1;
  std::ifstream(vm / "dirty_expire_centisecs") >> expire;
  std::ifstream(vm / "dirty_writeback_centisecs") >> writeback;
  const auto d = read_writeback_delay();
  REQUIRE(d.has_value());
  CHECK(d->expire.count() == expire * 10);
  CHECK(d->interval.count() == writeback * 10);
}
