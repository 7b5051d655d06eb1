// writeback.cpp: reading the kernel's writeback timers and comparing cache.settleInterval with them.
#include "admission/writeback.h"

#include <charconv>
#include <cstdint>
#include <fstream>
#include <string_view>

namespace modelgate::admission {

namespace {

// Above this a sysctl value is not a timer anyone sets (and centiseconds * 10 stays far from overflow).
constexpr std::int64_t kMaxCentisecs = 1'000'000'000;

// read_centisecs: the one whole number in a /proc/sys file (at most 32 bytes, a trailing newline).
std::optional<std::chrono::milliseconds> read_centisecs(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  char buf[33] = {};
  in.read(buf, 32);
  std::string_view text(buf, static_cast<std::size_t>(in.gcount()));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
    text.remove_suffix(1);
  }
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v < 0 || v >= kMaxCentisecs) {
    return std::nullopt;
  }
  return std::chrono::milliseconds(v * 10);
}

std::string seconds_text(std::chrono::milliseconds d) {
  const auto ms = d.count();
  std::string s = std::to_string(ms / 1000);
  if (ms % 1000 != 0) {
    std::string frac = std::to_string(1000 + ms % 1000).substr(1);
    while (frac.back() == '0') {
      frac.pop_back();
    }
    s += "." + frac;
  }
  return s + "s";
}

}  // namespace

std::optional<WritebackDelay> read_writeback_delay(const std::filesystem::path& vm_dir) {
  const auto expire = read_centisecs(vm_dir / "dirty_expire_centisecs");
  if (!expire) {
    return std::nullopt;
  }
  WritebackDelay d;
  d.expire = *expire;
  if (const auto interval = read_centisecs(vm_dir / "dirty_writeback_centisecs")) {
    d.interval = *interval;
    d.interval_known = true;
  }
  return d;
}

std::optional<std::string> settle_interval_warning(std::chrono::seconds settle, const WritebackDelay& delay) {
  const std::string why =
      "a writer with a shared mapping (mmap MAP_SHARED) moves a file's mtime/ctime only with its first write "
      "into a clean page; later writes into that still-dirty page change bytes without moving them until the "
      "kernel writes the page back, so a file whose stamp looks older than cache.settleInterval can still be "
      "changing, and its cached digest or verdict can outlive its bytes (until cache.maxTrustAge)";
  const std::string settle_text = "cache.settleInterval (" + seconds_text(settle) + ")";
  if (delay.interval_known && delay.interval.count() == 0) {
    return settle_text + " cannot cover dirty-page writeback: vm.dirty_writeback_centisecs is 0, so the kernel " +
           "never writes dirty pages back on a timer (vm.dirty_expire_centisecs " + seconds_text(delay.expire) +
           " is not enforced); " + why + ". Re-enable periodic writeback on the nodes";
  }
  if (settle >= delay.bound()) {
    return std::nullopt;
  }
  std::string bound_text = "vm.dirty_expire_centisecs " + seconds_text(delay.expire);
  if (delay.interval_known) {
    bound_text += " + vm.dirty_writeback_centisecs " + seconds_text(delay.interval) + " = " +
                  seconds_text(delay.bound());
  }
  return settle_text + " is shorter than the kernel's dirty-page writeback delay (" + bound_text + "): " + why +
         ". Raise cache.settleInterval above " + seconds_text(delay.bound()) + " (docs/config.md)";
}

}  // namespace modelgate::admission
