// wait_until.h: waiting in a test for an event another thread or process causes, with a generous
// bound instead of a schedule (a busy or sanitized machine is slower, never wrong). Not an
// assertion: callers CHECK the result on the test's main thread.
#pragma once

#include <chrono>
#include <thread>

namespace modelgate::testing {

// wait_until calls `done` until it returns true (then true) or `bound` has passed (then false),
// pausing `poll` between calls.
template <class F>
bool wait_until(F&& done, std::chrono::milliseconds bound = std::chrono::seconds(120),
                std::chrono::milliseconds poll = std::chrono::milliseconds(1)) {
  const auto until = std::chrono::steady_clock::now() + bound;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= until) {
      return false;
    }
    std::this_thread::sleep_for(poll);
  }
  return true;
}

}  // namespace modelgate::testing
