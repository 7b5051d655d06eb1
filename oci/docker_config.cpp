#include "oci/docker_config.h"

#include "base/limits.h"
#include "base/read_file.h"
#include "crypto/encoding.h"
#include "crypto/json.h"

namespace modelgate::oci {

std::string normalize_registry_key(std::string_view key) {
  if (const std::size_t p = key.find("://"); p != std::string_view::npos) {
    key.remove_prefix(p + 3);
  }
  if (const std::size_t slash = key.find('/'); slash != std::string_view::npos) {
    key = key.substr(0, slash);
  }
  std::string k(key);
  if (k == "index.docker.io" || k == "registry-1.docker.io") {
    k = "docker.io";
  }
  return k;
}

const Credential* Credentials::find(std::string_view registry) const {
  auto it = by_host_.find(normalize_registry_key(registry));
  return it == by_host_.end() ? nullptr : &it->second;
}

void Credentials::add(std::string registry, Credential c) { by_host_[normalize_registry_key(registry)] = std::move(c); }

Result<Credentials> parse_docker_config(std::string_view json) {
  MG_ASSIGN_OR_RETURN_CTX(crypto::Json doc, crypto::parse_json(json, {limits::kMaxOciDockerConfigBytes, 16}),
                          "docker config");
  Credentials out;
  if (!doc.is_object()) {
    return make_error(Code::kMalformed, "docker config: not a JSON object");
  }
  const crypto::Json* auths = crypto::find_field(doc, "auths");
  if (auths == nullptr) {
    return out;
  }
  if (!auths->is_object()) {
    return make_error(Code::kMalformed, "docker config: auths: expected object");
  }
  for (const auto& [key, entry] : auths->items()) {
    const std::string path = "docker config: auths[" + key + "]";
    if (!entry.is_object()) {
      return make_error(Code::kMalformed, path + ": expected object");
    }
    Credential c;
    if (const crypto::Json* a = crypto::find_field(entry, "auth"); a != nullptr) {
      if (!a->is_string()) {
        return make_error(Code::kMalformed, path + ".auth: expected string");
      }
      MG_ASSIGN_OR_RETURN_CTX(std::vector<std::uint8_t> raw, crypto::base64_decode(a->get<std::string>(), 64u << 10),
                              path + ".auth");
      std::string s(raw.begin(), raw.end());
      const std::size_t colon = s.find(':');
      if (!s.empty() && colon == std::string::npos) {
        return make_error(Code::kMalformed, path + ".auth: not base64 of \"user:password\"");
      }
      if (!s.empty()) {
        c.username = s.substr(0, colon);
        c.password = s.substr(colon + 1);
      }
    }
    if (crypto::find_field(entry, "username") != nullptr) {
      MG_ASSIGN_OR_RETURN(c.username, crypto::get_string(entry, "username", path));
    }
    if (crypto::find_field(entry, "password") != nullptr) {
      MG_ASSIGN_OR_RETURN(c.password, crypto::get_string(entry, "password", path));
    }
    if (crypto::find_field(entry, "identitytoken") != nullptr) {
      MG_ASSIGN_OR_RETURN(c.identity_token, crypto::get_string(entry, "identitytoken", path));
    }
    if (c.username.empty() && c.password.empty() && c.identity_token.empty()) {
      continue;
    }
    out.add(key, std::move(c));
  }
  return out;
}

Result<Credentials> load_docker_config(const std::filesystem::path& path) {
  MG_ASSIGN_OR_RETURN_CTX(std::string text, read_regular_file(path, limits::kMaxOciDockerConfigBytes), path.string());
  MG_ASSIGN_OR_RETURN_CTX(Credentials c, parse_docker_config(text), path.string());
  return c;
}

}  // namespace modelgate::oci
