// quote.h: rendering untrusted strings (from bundles, certificates, checkpoints, trusted roots)
// inside error messages: quoted, capped, escaped. Not a general escaper for JSON or logs (log.h).
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace modelgate::crypto {

// quote_untrusted returns `s` in double quotes with '"' and '\\' backslash-escaped, control bytes
// and every non-ASCII byte as \xHH (so the message stays valid ASCII whatever the input), and at
// most `max_bytes` input bytes shown, followed by "..." when cut (STYLE.md §5). Thread-safe.
inline std::string quote_untrusted(std::string_view s, std::size_t max_bytes = 120) {
  std::string out = "\"";
  for (char c : s.substr(0, max_bytes)) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20 || u >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out.push_back(c);
    }
  }
  out += s.size() > max_bytes ? "\"..." : "\"";
  return out;
}

}  // namespace modelgate::crypto
