// fuzz_check.h: what every fuzz harness shares: FUZZ_CHECK (a property that must hold for every
// input; a violation prints the property and aborts, which libFuzzer and the replay CTest both
// report as a failure) and small helpers to view the input. Not a test framework.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

#include "base/result.h"

#define FUZZ_CHECK(cond, what)                                                              \
  do {                                                                                      \
    if (!(cond)) {                                                                          \
      std::fprintf(stderr, "%s:%d: property violated: %s: %s\n", __FILE__, __LINE__, #cond, \
                   std::string(what).c_str());                                              \
      std::abort();                                                                         \
    }                                                                                       \
  } while (0)

namespace modelgate::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}
inline std::span<const std::uint8_t> as_bytes(const std::uint8_t* data, std::size_t size) {
  return {data, size};
}

// check_not_internal: kInternal means "our bug" (STYLE.md §3); no input may produce it.
inline void check_not_internal(const Error& e, std::string_view where) {
  FUZZ_CHECK(e.code != Code::kInternal, std::string(where) + ": " + e.message);
  FUZZ_CHECK(!e.message.empty(), std::string(where) + ": an error without a message");
}
template <class T>
void check_not_internal(const Result<T>& r, std::string_view where) {
  if (!r.ok()) {
    check_not_internal(r.error(), where);
  }
}

}  // namespace modelgate::fuzz
