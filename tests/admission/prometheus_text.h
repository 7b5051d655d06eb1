// prometheus_text.h: a strict reader of the Prometheus text exposition format 0.0.4, written from
// the format's specification so that tests check prometheus-cpp's output against the format, not
// against itself. Not a general client: it reports the first violation and stops.
#pragma once

#include <cstdlib>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace modelgate::testing {

struct PromSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct PromText {
  std::map<std::string, std::string> types;  // family -> counter | gauge | histogram | ...
  std::vector<PromSample> samples;
  std::string error;  // empty when the text is valid

  // value returns the sample with exactly these labels, if any.
  std::optional<double> value(const std::string& name, const std::map<std::string, std::string>& labels = {}) const {
    for (const PromSample& s : samples) {
      if (s.name == name && s.labels == labels) {
        return s.value;
      }
    }
    return std::nullopt;
  }
};

namespace prom_detail {

inline bool name_char(char c, bool first, bool colon) {
  const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
  return alpha || (!first && c >= '0' && c <= '9');
}

inline std::size_t read_name(const std::string& s, std::size_t i, bool colon) {
  std::size_t j = i;
  while (j < s.size() && name_char(s[j], j == i, colon)) {
    ++j;
  }
  return j;
}

inline bool parse_value(const std::string& s, double& out) {
  if (s == "+Inf" || s == "-Inf" || s == "NaN") {
    out = s == "NaN" ? 0 : (s[0] == '+' ? 1e308 : -1e308);
    return true;
  }
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return !s.empty() && end == s.c_str() + s.size();
}

// family_of maps a histogram/summary sample name to its family when the family is declared so.
inline std::string family_of(const std::string& name, const std::map<std::string, std::string>& types) {
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string suf(suffix);
    if (name.size() > suf.size() && name.compare(name.size() - suf.size(), suf.size(), suf) == 0) {
      const std::string base = name.substr(0, name.size() - suf.size());
      auto it = types.find(base);
      if (it != types.end() && (it->second == "histogram" || it->second == "summary")) {
        return base;
      }
    }
  }
  return name;
}

}  // namespace prom_detail

// parse_prometheus_text reads `text`; on the first violation `error` says which line and why.
inline PromText parse_prometheus_text(const std::string& text) {
  using namespace prom_detail;
  PromText out;
  if (!text.empty() && text.back() != '\n') {
    out.error = "text does not end with a newline";
    return out;
  }
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    const std::string where = "line " + std::to_string(n) + ": ";
    if (line.empty()) {
      continue;
    }
    if (line[0] == '#') {
      std::istringstream ls(line);
      std::string hash, kw, name;
      ls >> hash >> kw >> name;
      if (kw == "TYPE") {
        std::string type;
        ls >> type;
        if (read_name(name, 0, true) != name.size() || name.empty()) {
          out.error = where + "bad metric name in TYPE";
          return out;
        }
        if (type != "counter" && type != "gauge" && type != "histogram" && type != "summary" && type != "untyped") {
          out.error = where + "bad type " + type;
          return out;
        }
        if (out.types.count(name) != 0) {
          out.error = where + "second TYPE for " + name;
          return out;
        }
        out.types[name] = type;
      }
      continue;  // HELP and comments
    }
    PromSample s;
    std::size_t i = read_name(line, 0, true);
    if (i == 0) {
      out.error = where + "sample without a metric name";
      return out;
    }
    s.name = line.substr(0, i);
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        const std::size_t j = read_name(line, i, false);
        if (j == i || j >= line.size() || line[j] != '=' || j + 1 >= line.size() || line[j + 1] != '"') {
          out.error = where + "bad label";
          return out;
        }
        const std::string key = line.substr(i, j - i);
        std::string value;
        std::size_t k = j + 2;
        for (; k < line.size() && line[k] != '"'; ++k) {
          if (line[k] == '\\') {
            if (k + 1 >= line.size()) {
              out.error = where + "dangling escape";
              return out;
            }
            const char e = line[++k];
            if (e != '\\' && e != '"' && e != 'n') {
              out.error = where + "bad escape";
              return out;
            }
            value.push_back(e == 'n' ? '\n' : e);
          } else {
            value.push_back(line[k]);
          }
        }
        if (k >= line.size()) {
          out.error = where + "unterminated label value";
          return out;
        }
        if (!s.labels.emplace(key, value).second) {
          out.error = where + "duplicate label " + key;
          return out;
        }
        i = k + 1;
        if (i < line.size() && line[i] == ',') {
          ++i;
        }
      }
      if (i >= line.size()) {
        out.error = where + "unterminated label set";
        return out;
      }
      ++i;
    }
    if (i >= line.size() || line[i] != ' ') {
      out.error = where + "no space before the value";
      return out;
    }
    std::istringstream rest(line.substr(i + 1));
    std::string value, timestamp, extra;
    rest >> value >> timestamp >> extra;
    if (!parse_value(value, s.value) || !extra.empty()) {
      out.error = where + "bad value";
      return out;
    }
    const std::string family = family_of(s.name, out.types);
    if (out.types.count(family) == 0) {
      out.error = where + "sample of " + s.name + " before its TYPE";
      return out;
    }
    out.samples.push_back(std::move(s));
  }
  return out;
}

}  // namespace modelgate::testing
