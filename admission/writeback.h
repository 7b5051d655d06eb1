// writeback.h: does cache.settleInterval outlast the kernel's dirty-page writeback? (#17)
//
// A writer with a shared mapping (mmap MAP_SHARED) moves a file's mtime/ctime only when a clean page
// takes its first write (the write fault); later writes into the same, still dirty page change
// bytes without moving them. The page becomes clean again (and its next write faults and moves
// mtime) only when the kernel writes it back: once it has been dirty for vm.dirty_expire_centisecs,
// at the flusher's next wake-up, every vm.dirty_writeback_centisecs. So a file's stamp can stay
// the same while its bytes change for up to expire + writeback after the last stamp change, and
// the caches trust a stamp only once it is older than cache.settleInterval: below that sum, a file
// can look settled and still change under an unchanged stamp (until cache.maxTrustAge).
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

namespace modelgate::admission {

// WritebackDelay: the kernel's dirty-page writeback settings, as read from /proc/sys/vm.
struct WritebackDelay {
  std::chrono::milliseconds expire{0};     // vm.dirty_expire_centisecs
  std::chrono::milliseconds interval{0};   // vm.dirty_writeback_centisecs; 0 = no periodic writeback
  bool interval_known = false;             // dirty_writeback_centisecs was readable
  // bound: the longest a dirty page can stay dirty by the timers alone (expire + interval).
  std::chrono::milliseconds bound() const { return expire + interval; }
};

// read_writeback_delay: reads dirty_expire_centisecs (required) and dirty_writeback_centisecs
// (optional) from vm_dir. nullopt when the expiry cannot be read or is not a whole number of
// centiseconds below 10^9 (no /proc, another kernel): nothing is known, nothing is claimed.
std::optional<WritebackDelay> read_writeback_delay(const std::filesystem::path& vm_dir = "/proc/sys/vm");

// settle_interval_warning: the warning `serve` logs at startup when settle is shorter than the
// writeback bound (or periodic writeback is off, so no settle interval covers it); nullopt when it
// is not (or the delay is unknown). The text names both settings, the attack and the fix.
std::optional<std::string> settle_interval_warning(std::chrono::seconds settle, const WritebackDelay& delay);

}  // namespace modelgate::admission
