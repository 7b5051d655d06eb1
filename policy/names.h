// names.h: syntax checks for the names and paths policies and catalogs contain (DNS labels,
// Kubernetes label/annotation keys, absolute paths, plain file names). Not lookup: whether a name
// is defined is the parser's business. Internal to policy/.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace modelgate::policy::names {

// is_dns_label: RFC 1123 label as Kubernetes uses it: [a-z0-9]([-a-z0-9]*[a-z0-9])?, <= 63 bytes.
bool is_dns_label(std::string_view s);
// is_dns_subdomain: dot-separated DNS labels, <= 253 bytes.
bool is_dns_subdomain(std::string_view s);
// is_qualified_name: a Kubernetes label or annotation key: optional "<dns-subdomain>/" prefix and
// a name [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])? of <= 63 bytes.
bool is_qualified_name(std::string_view s);
// is_label_value: empty, or a name as above (<= 63 bytes).
bool is_label_value(std::string_view s);
// is_plain_file_name: one path component: not empty, no '/', not "." or "..", <= 255 bytes.
bool is_plain_file_name(std::string_view s);

// normalize_absolute_path returns `s` with "//", "/./" and a trailing "/" removed, or nullopt with
// `why` set when it is not absolute, contains "..", or is longer than limits::kMaxPathBytes.
std::optional<std::string> normalize_absolute_path(std::string_view s, std::string& why);

}  // namespace modelgate::policy::names
