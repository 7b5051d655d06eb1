// diagnostic.cpp: formatting, ordering and "did you mean" for policy diagnostics.
#include "policy/diagnostic.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <tuple>

#include "base/limits.h"

namespace modelgate::policy {

namespace {

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

// Optimal string alignment distance: Levenshtein plus adjacent transposition ("nmae" → "name"
// is one edit), case-insensitive because "minapprovals" is the same typo as "minApprovals".
std::size_t edit_distance(std::string_view a, std::string_view b) {
  const std::size_t n = a.size();
  const std::size_t m = b.size();
  std::vector<std::size_t> prev2(m + 1), prev(m + 1), cur(m + 1);
  for (std::size_t j = 0; j <= m; ++j) {
    prev[j] = j;
  }
  for (std::size_t i = 1; i <= n; ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) && lower(a[i - 2]) == lower(b[j - 1])) {
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
      }
    }
    prev2.swap(prev);
    prev.swap(cur);
  }
  return prev[m];
}

}  // namespace

std::string format_position(const Position& p) {
  if (!p.known()) {
    return p.file;
  }
  return p.file + ":" + std::to_string(p.line) + ":" + std::to_string(p.column);
}

std::string format_diagnostic(const Diagnostic& d) {
  std::string out = format_position(d.position);
  out += d.severity == Severity::kError ? ": error: " : ": warning: ";
  out += d.message;
  if (!d.hint.empty()) {
    out += " (" + d.hint + ")";
  }
  return out;
}

bool has_errors(std::span<const Diagnostic> ds) { return count_severity(ds, Severity::kError) > 0; }

std::size_t count_severity(std::span<const Diagnostic> ds, Severity s) {
  return static_cast<std::size_t>(
      std::count_if(ds.begin(), ds.end(), [s](const Diagnostic& d) { return d.severity == s; }));
}

Error diagnostics_error(std::span<const Diagnostic> ds) {
  const auto first = std::find_if(ds.begin(), ds.end(), [](const Diagnostic& d) { return d.severity == Severity::kError; });
  if (first == ds.end()) {
    return make_error(Code::kInternal, "diagnostics_error called without errors");
  }
  std::string message = format_diagnostic(*first);
  const std::size_t more = count_severity(ds, Severity::kError) - 1;
  if (more > 0) {
    message += " (and " + std::to_string(more) + (more == 1 ? " more error)" : " more errors)");
  }
  return make_error(first->code, std::move(message));
}

void sort_diagnostics(std::vector<Diagnostic>& ds) {
  std::map<std::string, std::size_t> file_rank;
  for (const Diagnostic& d : ds) {
    file_rank.emplace(d.position.file, file_rank.size());
  }
  auto key = [&](const Diagnostic& d) {
    return std::make_tuple(file_rank[d.position.file], d.position.line, d.position.column);
  };
  std::stable_sort(ds.begin(), ds.end(), [&](const Diagnostic& a, const Diagnostic& b) { return key(a) < key(b); });
  auto same = [](const Diagnostic& a, const Diagnostic& b) {
    return a.position == b.position && a.severity == b.severity && a.message == b.message && a.hint == b.hint;
  };
  std::vector<Diagnostic> unique;
  unique.reserve(ds.size());
  for (Diagnostic& d : ds) {
    // Duplicates share a position, so after the sort they sit in one run; search only that run.
    bool seen = false;
    for (auto it = unique.rbegin(); it != unique.rend() && it->position == d.position; ++it) {
      if (same(*it, d)) {
        seen = true;
        break;
      }
    }
    if (!seen) {
      unique.push_back(std::move(d));
    }
  }
  ds = std::move(unique);
}

std::string quote(std::string_view untrusted) {
  std::string out = "\"";
  std::size_t emitted = 0;
  for (std::size_t i = 0; i < untrusted.size(); ++i) {
    const auto c = static_cast<unsigned char>(untrusted[i]);
    // Cut only between UTF-8 characters (never before a continuation byte) so the result stays
    // valid UTF-8 for JSON output.
    if (emitted >= limits::kMaxEchoedStringBytes && (c & 0xc0) != 0x80) {
      out += "...";
      break;
    }
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
    ++emitted;
  }
  out += '"';
  return out;
}

std::string_view closest_match(std::string_view word, std::span<const std::string_view> candidates) {
  if (word.empty() || word.size() > 256) {
    return {};
  }
  // A typo budget that grows with the word: 1 edit for short words, at most 3.
  const std::size_t budget = std::clamp<std::size_t>(word.size() / 3, 1, 3);
  std::string_view best;
  std::size_t best_distance = budget + 1;
  for (std::string_view c : candidates) {
    const std::size_t d = edit_distance(word, c);
    if (d < best_distance && d < std::max(word.size(), c.size())) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

std::string did_you_mean(std::string_view word, std::span<const std::string_view> candidates) {
  const std::string_view best = closest_match(word, candidates);
  if (best.empty()) {
    return {};
  }
  return "did you mean " + quote(best) + "?";
}

void Diagnostics::error(Position at, Code code, std::string message, std::string hint) {
  add(Diagnostic{std::move(at), Severity::kError, code, std::move(message), std::move(hint)});
}

void Diagnostics::warning(Position at, std::string message, std::string hint) {
  add(Diagnostic{std::move(at), Severity::kWarning, Code::kMalformed, std::move(message), std::move(hint)});
}

void Diagnostics::add(Diagnostic d) {
  if (d.severity == Severity::kError) {
    ++errors_;
  }
  if (items_.size() >= limits::kMaxDiagnostics) {
    ++dropped_;
    return;
  }
  items_.push_back(std::move(d));
}

void Diagnostics::append(std::vector<Diagnostic> ds) {
  for (Diagnostic& d : ds) {
    add(std::move(d));
  }
}

std::vector<Diagnostic> Diagnostics::take() {
  std::vector<Diagnostic> out = std::move(items_);
  sort_diagnostics(out);
  if (dropped_ > 0) {
    Diagnostic note;
    note.position.file = out.empty() ? std::string() : out.back().position.file;
    note.severity = Severity::kError;
    note.code = Code::kLimit;
    note.message = "too many diagnostics (" + std::to_string(dropped_) + " more not shown)";
    out.push_back(std::move(note));
  }
  items_.clear();
  dropped_ = 0;
  return out;
}

}  // namespace modelgate::policy
