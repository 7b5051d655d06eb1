// names.cpp: name and path syntax for policy documents (Kubernetes naming rules, POSIX paths).
#include "policy/names.h"

#include <vector>

#include "base/limits.h"

namespace modelgate::policy::names {

namespace {

bool alnum_lower(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool alnum(char c) { return alnum_lower(c) || (c >= 'A' && c <= 'Z'); }

// Kubernetes "qualified name" part: [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?, <= 63.
bool is_name_part(std::string_view s) {
  if (s.empty() || s.size() > 63 || !alnum(s.front()) || !alnum(s.back())) {
    return false;
  }
  for (char c : s) {
    if (!(alnum(c) || c == '-' || c == '_' || c == '.')) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool is_dns_label(std::string_view s) {
  if (s.empty() || s.size() > 63 || !alnum_lower(s.front()) || !alnum_lower(s.back())) {
    return false;
  }
  for (char c : s) {
    if (!(alnum_lower(c) || c == '-')) {
      return false;
    }
  }
  return true;
}

bool is_dns_subdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) {
    return false;
  }
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = s.find('.', start);
    if (!is_dns_label(s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start))) {
      return false;
    }
    if (dot == std::string_view::npos) {
      return true;
    }
    start = dot + 1;
  }
}

bool is_qualified_name(std::string_view s) {
  const std::size_t slash = s.find('/');
  if (slash == std::string_view::npos) {
    return is_name_part(s);
  }
  return is_dns_subdomain(s.substr(0, slash)) && is_name_part(s.substr(slash + 1));
}

bool is_label_value(std::string_view s) { return s.empty() || is_name_part(s); }

bool is_plain_file_name(std::string_view s) {
  return !s.empty() && s.size() <= limits::kMaxNameBytes && s != "." && s != ".." &&
         s.find('/') == std::string_view::npos;
}

std::optional<std::string> normalize_absolute_path(std::string_view s, std::string& why) {
  if (s.empty() || s.front() != '/') {
    why = "must be an absolute path";
    return std::nullopt;
  }
  if (s.size() > limits::kMaxPathBytes) {
    why = "path too long";
    return std::nullopt;
  }
  std::vector<std::string_view> parts;
  std::size_t start = 1;
  while (start <= s.size()) {
    std::size_t slash = s.find('/', start);
    if (slash == std::string_view::npos) {
      slash = s.size();
    }
    const std::string_view part = s.substr(start, slash - start);
    if (part == "..") {
      why = "must not contain \"..\"";
      return std::nullopt;
    }
    if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    start = slash + 1;
  }
  std::string out;
  for (std::string_view p : parts) {
    out += '/';
    out += p;
  }
  return out.empty() ? std::string("/") : out;
}

}  // namespace modelgate::policy::names
