#include "oci/reference.h"

#include <cctype>

#include "base/limits.h"
#include "crypto/encoding.h"

namespace modelgate::oci {

namespace {

bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// path-component := alpha-numeric (separator alpha-numeric)*; separator := [_.] | "__" | "-"+
// (distribution/reference grammar).
bool valid_path_component(std::string_view s) {
  if (s.empty() || !lower_alnum(s.front()) || !lower_alnum(s.back())) {
    return false;
  }
  for (std::size_t i = 0; i < s.size();) {
    if (lower_alnum(s[i])) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < s.size() && !lower_alnum(s[j])) {
      ++j;
    }
    std::string_view sep = s.substr(i, j - i);
    const bool dashes = sep.find_first_not_of('-') == std::string_view::npos;
    if (!(sep == "." || sep == "_" || sep == "__" || dashes)) {
      return false;
    }
    i = j;
  }
  return true;
}

bool domain_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-'; }

// domain := host [":" port]; host := domain-component ("." domain-component)* | "[" IPv6 "]".
bool valid_domain(std::string_view d) {
  std::string_view host = d;
  std::string_view port;
  if (!d.empty() && d.front() == '[') {
    const std::size_t close = d.find(']');
    if (close == std::string_view::npos) {
      return false;
    }
    std::string_view v6 = d.substr(1, close - 1);
    if (v6.empty() || v6.find_first_not_of("0123456789abcdefABCDEF:.") != std::string_view::npos) {
      return false;
    }
    std::string_view rest = d.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') {
      return false;
    }
    port = rest.empty() ? rest : rest.substr(1);
    if (!rest.empty() && port.empty()) {
      return false;
    }
  } else {
    const std::size_t colon = d.find(':');
    if (colon != std::string_view::npos) {
      host = d.substr(0, colon);
      port = d.substr(colon + 1);
      if (port.empty()) {
        return false;
      }
    }
    std::size_t start = 0;
    while (true) {
      const std::size_t dot = host.find('.', start);
      std::string_view comp = host.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
      if (comp.empty() || comp.front() == '-' || comp.back() == '-') {
        return false;
      }
      for (char c : comp) {
        if (!domain_char(c)) {
          return false;
        }
      }
      if (dot == std::string_view::npos) {
        break;
      }
      start = dot + 1;
    }
  }
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos) {
    return false;
  }
  return port.empty() || std::stoul(std::string(port)) <= 65535;
}

bool valid_tag(std::string_view t) {
  if (t.empty() || t.size() > 128) {
    return false;
  }
  auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; };
  if (!word(t.front())) {
    return false;
  }
  for (char c : t) {
    if (!word(c) && c != '.' && c != '-') {
      return false;
    }
  }
  return true;
}

}  // namespace

bool is_sha256_digest(std::string_view s) {
  return s.size() == 71 && s.substr(0, 7) == "sha256:" && crypto::is_lower_hex(s.substr(7));
}

std::string Reference::endpoint() const { return registry == kDockerHubDomain ? std::string(kDockerHubEndpoint) : registry; }

std::string Reference::str() const {
  std::string out = registry + "/" + repository;
  if (tag) {
    out += ":" + *tag;
  }
  if (digest) {
    out += "@" + *digest;
  }
  return out;
}

Reference Reference::pinned() const {
  Reference r = *this;
  r.tag.reset();
  return r;
}

Result<Reference> parse_reference(std::string_view text) {
  if (text.size() > limits::kMaxOciReferenceBytes) {
    return make_error(Code::kLimit, "reference too long (" + std::to_string(text.size()) + " > " +
                                        std::to_string(limits::kMaxOciReferenceBytes) + " bytes)");
  }
  if (text.empty()) {
    return make_error(Code::kMalformed, "empty reference");
  }
  for (char c : text) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      return make_error(Code::kMalformed, "reference holds a space, control or non-ASCII byte");
    }
  }
  Reference ref;
  std::string_view rest = text;
  // "@" splits off the digest; the digest itself holds a ':' that must not be read as a tag.
  if (const std::size_t at = rest.find('@'); at != std::string_view::npos) {
    std::string_view digest = rest.substr(at + 1);
    rest = rest.substr(0, at);
    const std::size_t colon = digest.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return make_error(Code::kMalformed, "digest is not <algorithm>:<hex>");
    }
    if (digest.substr(0, colon) != "sha256") {
      return make_error(Code::kUnsupported, "digest algorithm is not sha256");
    }
    if (!is_sha256_digest(digest)) {
      return make_error(Code::kMalformed, "sha256 digest is not 64 lowercase hex digits");
    }
    ref.digest = std::string(digest);
  }
  // A tag is after the last ':' that follows the last '/' (a ':' before it is a registry port).
  const std::size_t slash = rest.rfind('/');
  const std::size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    std::string_view tag = rest.substr(colon + 1);
    if (!valid_tag(tag)) {
      return make_error(Code::kMalformed, "tag is not [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
    }
    ref.tag = std::string(tag);
    rest = rest.substr(0, colon);
  }
  std::string_view name = rest;
  const std::size_t first = name.find('/');
  std::string_view head = name.substr(0, first);
  const bool has_domain = first != std::string_view::npos &&
                          (head.find('.') != std::string_view::npos || head.find(':') != std::string_view::npos ||
                           head == "localhost" || head.front() == '[');
  std::string repository;
  if (has_domain) {
    if (!valid_domain(head)) {
      return make_error(Code::kMalformed, "registry is not host[:port]");
    }
    ref.registry = std::string(head);
    repository = std::string(name.substr(first + 1));
  } else {
    ref.registry = std::string(kDockerHubDomain);
    repository = std::string(name);
  }
  if (ref.registry == "index.docker.io") {
    ref.registry = std::string(kDockerHubDomain);
  }
  if (repository.empty()) {
    return make_error(Code::kMalformed, "repository name is missing");
  }
  std::size_t start = 0;
  while (true) {
    const std::size_t s = repository.find('/', start);
    std::string_view comp = std::string_view(repository).substr(start, s == std::string::npos ? std::string::npos : s - start);
    if (!valid_path_component(comp)) {
      return make_error(Code::kMalformed, "repository component is not [a-z0-9]+ joined by '.', '_', '__' or '-'");
    }
    if (s == std::string::npos) {
      break;
    }
    start = s + 1;
  }
  if (ref.registry == kDockerHubDomain && repository.find('/') == std::string::npos) {
    repository = "library/" + repository;
  }
  if (repository.size() > 255) {
    return make_error(Code::kLimit, "repository name too long (" + std::to_string(repository.size()) + " > 255 bytes)");
  }
  ref.repository = std::move(repository);
  if (!ref.tag && !ref.digest) {
    ref.tag = "latest";
  }
  return ref;
}

}  // namespace modelgate::oci
