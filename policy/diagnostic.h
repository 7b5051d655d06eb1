// diagnostic.h: positions in policy and catalog files, and the compiler-style diagnostics
// (`file:line:col: error: message (hint)`) their parsers collect. Not a parser and not a logger.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace modelgate::policy {

// Position is where a YAML node starts: 1-based line and column (yaml-cpp's Mark is 0-based).
// line == 0 means "the whole file" (e.g. it cannot be opened).
struct Position {
  std::string file;
  std::uint32_t line = 0;
  std::uint32_t column = 0;

  bool known() const { return line > 0; }
  friend bool operator==(const Position&, const Position&) = default;
};

// Located is a value plus where it was written (for defaulted fields: where its parent was).
template <class T>
struct Located {
  T value{};
  Position position;
};

// format_position returns "file:line:col", or "file" when the line is unknown.
std::string format_position(const Position& p);

enum class Severity { kError, kWarning };

// Diagnostic is one finding. `code` classifies it (kMalformed for content, kLimit for bounds,
// kNotFound for undefined names or missing referenced files, kIo for an input file that cannot be
// read). `hint` is optional advice ("did you mean \"minApprovals\"?"), printed in parentheses.
struct Diagnostic {
  Position position;
  Severity severity = Severity::kError;
  Code code = Code::kMalformed;
  std::string message;
  std::string hint;
};

// format_diagnostic renders `d` as `file:line:col: error: message (hint)`; one line, no newline.
std::string format_diagnostic(const Diagnostic& d);

// has_errors is true when any diagnostic has severity kError.
bool has_errors(std::span<const Diagnostic> ds);
std::size_t count_severity(std::span<const Diagnostic> ds, Severity s);

// diagnostics_error folds the diagnostics into one Error for Result-style callers: the first
// error's formatted text, plus "(and N more errors)". Precondition: has_errors(ds).
Error diagnostics_error(std::span<const Diagnostic> ds);

// sort_diagnostics orders by file (first-seen order of files kept), then line, then column, and
// drops exact duplicates (an aliased YAML node is visited once per use).
void sort_diagnostics(std::vector<Diagnostic>& ds);

// quote renders an untrusted string for a message: double quotes, control bytes and quotes
// escaped, cut to limits::kMaxEchoedStringBytes with "..." (STYLE.md §5).
std::string quote(std::string_view untrusted);

// closest_match returns the candidate nearest to `word` by edit distance (case-insensitive,
// adjacent transpositions count 1) when it is close enough to be a likely typo, else "".
std::string_view closest_match(std::string_view word, std::span<const std::string_view> candidates);

// did_you_mean returns `did you mean "x"?` for closest_match, or "" when nothing is close.
std::string did_you_mean(std::string_view word, std::span<const std::string_view> candidates);

// Diagnostics collects findings up to limits::kMaxDiagnostics; past the cap it counts them and
// adds one final note when taken. Not thread-safe (one per parse).
class Diagnostics {
 public:
  void error(Position at, Code code, std::string message, std::string hint = {});
  void warning(Position at, std::string message, std::string hint = {});
  void add(Diagnostic d);
  void append(std::vector<Diagnostic> ds);
  bool has_errors() const { return errors_ > 0; }
  std::size_t error_count() const { return errors_; }
  // take returns everything collected (sorted, deduplicated, with the overflow note).
  std::vector<Diagnostic> take();

 private:
  std::vector<Diagnostic> items_;
  std::size_t errors_ = 0;
  std::size_t dropped_ = 0;
};

}  // namespace modelgate::policy
