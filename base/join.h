// join.h: join strings with a separator, for messages, audit annotations and log values.
// Not formatting or quoting: callers quote untrusted items before joining them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace modelgate {

// join returns the items separated by `sep` ("" for none).
inline std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const std::string& i : items) {
    if (!out.empty()) {
      out += sep;
    }
    out += i;
  }
  return out;
}

}  // namespace modelgate
