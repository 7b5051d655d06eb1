// policy_fuzz_support.h: what the policy and catalog fuzz harnesses share: diagnostics must point
// inside the text they describe, be one line each, never say kInternal, and survive the JSON
// report. Not a harness itself.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "base/limits.h"
#include "crypto/json.h"
#include "fuzz/fuzz_check.h"
#include "policy/diagnostic.h"
#include "policy/lint.h"

namespace modelgate::fuzz {

// TextShape: line lengths (bytes, without '\n') of a text, to check positions against.
struct TextShape {
  std::vector<std::size_t> line_bytes;

  explicit TextShape(std::string_view text) {
    std::size_t start = 0;
    for (std::size_t i = 0; i <= text.size(); ++i) {
      if (i == text.size() || text[i] == '\n') {
        line_bytes.push_back(i - start);
        start = i + 1;
      }
    }
  }

  // within: line 0 (the whole file) has column 0; otherwise the line exists and the column lies
  // on it or just past its end (where yaml-cpp reports end-of-line and end-of-file problems).
  bool within(const policy::Position& p) const {
    if (p.line == 0) {
      return p.column == 0;
    }
    if (p.line > line_bytes.size() || p.column == 0) {
      return false;
    }
    return p.column <= line_bytes[p.line - 1] + 1;
  }
};

inline std::string show(const policy::Position& p) {
  return policy::format_position(p) + " (line " + std::to_string(p.line) + ", column " + std::to_string(p.column) + ")";
}

inline void check_position(const TextShape& shape, const policy::Position& p, std::string_view file,
                           std::string_view what) {
  FUZZ_CHECK(p.file == file, std::string(what) + ": position names another file: " + p.file);
  FUZZ_CHECK(shape.within(p), std::string(what) + ": position outside the input: " + show(p));
}

inline void check_diagnostics(const TextShape& shape, const std::vector<policy::Diagnostic>& ds, std::string_view file) {
  FUZZ_CHECK(ds.size() <= limits::kMaxDiagnostics + 1, "diagnostic count bound");
  for (const auto& d : ds) {
    FUZZ_CHECK(d.code != Code::kInternal, "kInternal diagnostic: " + policy::format_diagnostic(d));
    FUZZ_CHECK(!d.message.empty(), "a diagnostic without a message");
    check_position(shape, d.position, file, "diagnostic \"" + d.message + "\"");
    const std::string line = policy::format_diagnostic(d);
    FUZZ_CHECK(line.find('\n') == std::string::npos && line.find('\r') == std::string::npos,
               "a diagnostic is one line: " + line);
  }
  for (std::size_t i = 1; i < ds.size(); ++i) {
    const auto& a = ds[i - 1].position;
    const auto& b = ds[i].position;
    FUZZ_CHECK(a.file != b.file || a.line < b.line || (a.line == b.line && a.column <= b.column),
               "diagnostics are ordered by position: " + show(a) + " then " + show(b));
  }
  // The lint JSON report of these diagnostics is valid JSON (hostile text in messages included).
  policy::LintReport report;
  report.diagnostics = ds;
  const std::string json = policy::format_lint_json(report);
  auto parsed = crypto::parse_json(json, {64u << 20, 16});
  FUZZ_CHECK(parsed.ok(), "format_lint_json is JSON: " + (parsed.ok() ? std::string() : parsed.error().message));
}

}  // namespace modelgate::fuzz
