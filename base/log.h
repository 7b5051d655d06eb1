// log.h: one JSON object per line (STYLE.md §8), keys from log_keys.h, written atomically per line.
// Not a log router or a formatter for humans: operators ship stderr to their log pipeline.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>
#include <string_view>

#include "base/utf8.h"

namespace modelgate::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

constexpr std::string_view level_name(Level l) {
  switch (l) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "info";
}

// append_json_string appends `s` as a JSON string literal; control bytes and invalid UTF-8 are
// escaped (\u00XX for every byte that is not part of a valid sequence) so a hostile value can
// never break the line or forge a key.
inline void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (std::size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    if (c < 0x20 || c == 0x7f) {
      out += "\\u00";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
      ++i;
      continue;
    }
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    const std::size_t len = utf8_sequence_length(s, i);
    const bool valid = len != 0;
    if (!valid) {
      out += "\\u00";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
      ++i;
      continue;
    }
    out.append(s.substr(i, len));
    i += len;
  }
  out.push_back('"');
}

// Logger writes JSON lines to a FILE*. Thread-safe: each line is built privately and written
// with one fwrite under a mutex. Not copyable; pass by reference.
class Logger {
 public:
  explicit Logger(std::FILE* out = stderr, Level min_level = Level::kInfo) : out_(out), min_(min_level) {}
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  bool enabled(Level l) const { return static_cast<int>(l) >= static_cast<int>(min_); }

  // Line accumulates fields and emits on destruction. Keys must come from log_keys.h.
  class Line {
   public:
    Line(Logger* owner, Level level, std::string_view event) : owner_(owner) {
      if (owner_ == nullptr) {
        return;
      }
      buf_.reserve(256);
      buf_ += "{\"time\":";
      append_json_string(buf_, now_rfc3339());
      buf_ += ",\"level\":";
      append_json_string(buf_, level_name(level));
      buf_ += ",\"event\":";
      append_json_string(buf_, event);
    }
    Line(const Line&) = delete;
    Line& operator=(const Line&) = delete;
    Line(Line&& o) noexcept : owner_(o.owner_), buf_(std::move(o.buf_)) { o.owner_ = nullptr; }
    ~Line() {
      if (owner_ != nullptr) {
        buf_ += "}\n";
        owner_->write(buf_);
      }
    }
    Line& str(std::string_view key, std::string_view value) {
      if (owner_ != nullptr) {
        buf_.push_back(',');
        append_json_string(buf_, key);
        buf_.push_back(':');
        append_json_string(buf_, value);
      }
      return *this;
    }
    Line& num(std::string_view key, std::int64_t value) {
      if (owner_ != nullptr) {
        buf_.push_back(',');
        append_json_string(buf_, key);
        buf_.push_back(':');
        buf_ += std::to_string(value);
      }
      return *this;
    }
    Line& real(std::string_view key, double value) {
      if (owner_ != nullptr) {
        char tmp[32];
        std::snprintf(tmp, sizeof tmp, "%.3f", value);
        buf_.push_back(',');
        append_json_string(buf_, key);
        buf_.push_back(':');
        buf_ += tmp;
      }
      return *this;
    }
    Line& boolean(std::string_view key, bool value) {
      if (owner_ != nullptr) {
        buf_.push_back(',');
        append_json_string(buf_, key);
        buf_ += value ? ":true" : ":false";
      }
      return *this;
    }

   private:
    Logger* owner_;
    std::string buf_;
  };

  Line debug(std::string_view event) { return line(Level::kDebug, event); }
  Line info(std::string_view event) { return line(Level::kInfo, event); }
  Line warn(std::string_view event) { return line(Level::kWarn, event); }
  Line error(std::string_view event) { return line(Level::kError, event); }
  // announce writes an info line whatever the minimum level: for the few lines tools depend on
  // (the bound port when listening on port 0).
  Line announce(std::string_view event) { return Line(this, Level::kInfo, event); }

 private:
  Line line(Level l, std::string_view event) { return Line(enabled(l) ? this : nullptr, l, event); }

  void write(const std::string& s) {
    std::lock_guard<std::mutex> lock(mu_);
    std::fwrite(s.data(), 1, s.size(), out_);
    std::fflush(out_);
  }

  static std::string now_rfc3339() {
    auto now = std::chrono::system_clock::now();
    std::time_t t = std::chrono::system_clock::to_time_t(now);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[96];  // sized for any int the compiler can imagine, not just real dates
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
    return buf;
  }

  std::FILE* out_;
  Level min_;
  std::mutex mu_;
};

}  // namespace modelgate::log
