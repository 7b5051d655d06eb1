#include "crypto/slsa_provenance.h"

#include "base/limits.h"
#include "crypto/encoding.h"
#include "crypto/x509.h"

namespace modelgate::crypto {

namespace {

Result<std::string> required_string(const Json& obj, std::string_view key, const std::string& path) {
  MG_ASSIGN_OR_RETURN(std::string s, get_string(obj, key, path));
  if (s.empty()) {
    return make_error(Code::kMalformed, path + "." + std::string(key) + ": must not be empty");
  }
  return s;
}

Result<std::optional<std::int64_t>> optional_time(const Json* obj, std::string_view key, const std::string& path) {
  if (obj == nullptr || find_field(*obj, key) == nullptr) {
    return std::optional<std::int64_t>();
  }
  MG_ASSIGN_OR_RETURN(std::string text, get_string(*obj, key, path));
  MG_ASSIGN_OR_RETURN_CTX(std::int64_t ms, parse_rfc3339_ms(text), path + "." + std::string(key));
  return std::optional<std::int64_t>(ms / 1000);
}

// dependency reads a ResourceDescriptor (v1) or material (v0.2).
Result<Dependency> dependency(const Json& item, const std::string& path, bool v1) {
  if (!item.is_object()) {
    return make_error(Code::kMalformed, path + ": expected an object");
  }
  Dependency d;
  if (v1 && find_field(item, "name") != nullptr) {
    MG_ASSIGN_OR_RETURN(d.name, get_string(item, "name", path));
  }
  if (find_field(item, "uri") != nullptr) {
    MG_ASSIGN_OR_RETURN(d.uri, get_string(item, "uri", path));
  }
  if (find_field(item, "digest") != nullptr) {
    MG_ASSIGN_OR_RETURN(const Json* digest, get_object(item, "digest", path));
    if (find_field(*digest, "sha256") != nullptr) {
      MG_ASSIGN_OR_RETURN(d.sha256, get_string(*digest, "sha256", path + ".digest"));
      if (d.sha256.size() != 64 || !is_lower_hex(d.sha256)) {
        return make_error(Code::kMalformed, path + ".digest.sha256: expected 64 lowercase hex digits");
      }
    }
  }
  if (v1 && find_field(item, "annotations") != nullptr) {
    MG_ASSIGN_OR_RETURN(const Json* ann, get_object(item, "annotations", path));
    if (find_field(*ann, "role") != nullptr) {
      MG_ASSIGN_OR_RETURN(d.role, get_string(*ann, "role", path + ".annotations"));
    }
  }
  if (d.name.empty() && d.uri.empty() && d.sha256.empty()) {
    return make_error(Code::kMalformed, path + ": names nothing (no name, uri or digest)");
  }
  return d;
}

Result<std::vector<Dependency>> dependencies(const Json& parent, std::string_view key, const std::string& path,
                                             bool v1) {
  std::vector<Dependency> out;
  if (find_field(parent, key) == nullptr) {
    return out;
  }
  MG_ASSIGN_OR_RETURN(const Json* list, get_array(parent, key, path));
  if (list->size() > limits::kMaxProvenanceDependencies) {
    return make_error(Code::kLimit, path + "." + std::string(key) + ": too many entries (" +
                                        std::to_string(list->size()) + " > " +
                                        std::to_string(limits::kMaxProvenanceDependencies) + ")");
  }
  for (std::size_t i = 0; i < list->size(); ++i) {
    MG_ASSIGN_OR_RETURN(Dependency d,
                        dependency((*list)[i], path + "." + std::string(key) + "[" + std::to_string(i) + "]", v1));
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace

Result<Provenance> parse_provenance(std::string_view predicate_type, const Json& predicate) {
  if (!predicate.is_object()) {
    return make_error(Code::kMalformed, "predicate: expected an object");
  }
  Provenance p;
  p.predicate_type = std::string(predicate_type);
  if (predicate_type == kSlsaProvenanceV1) {
    // SLSA v1: predicate.buildDefinition{buildType, externalParameters, resolvedDependencies},
    // predicate.runDetails{builder{id}, metadata{invocationId, startedOn, finishedOn}}.
    MG_ASSIGN_OR_RETURN(const Json* def, get_object(predicate, "buildDefinition", "predicate"));
    MG_ASSIGN_OR_RETURN(p.build_type, required_string(*def, "buildType", "predicate.buildDefinition"));
    MG_ASSIGN_OR_RETURN(p.dependencies,
                        dependencies(*def, "resolvedDependencies", "predicate.buildDefinition", true));
    MG_ASSIGN_OR_RETURN(const Json* run, get_object(predicate, "runDetails", "predicate"));
    MG_ASSIGN_OR_RETURN(const Json* builder, get_object(*run, "builder", "predicate.runDetails"));
    MG_ASSIGN_OR_RETURN(p.builder_id, required_string(*builder, "id", "predicate.runDetails.builder"));
    const Json* meta = find_field(*run, "metadata");
    if (meta != nullptr && !meta->is_object()) {
      return make_error(Code::kMalformed, "predicate.runDetails.metadata: expected an object");
    }
    MG_ASSIGN_OR_RETURN(p.finished_on, optional_time(meta, "finishedOn", "predicate.runDetails.metadata"));
    return p;
  }
  if (predicate_type == kSlsaProvenanceV02) {
    // SLSA v0.2: predicate.builder{id}, buildType, invocation, materials[{uri, digest}],
    // metadata{buildStartedOn, buildFinishedOn}.
    MG_ASSIGN_OR_RETURN(const Json* builder, get_object(predicate, "builder", "predicate"));
    MG_ASSIGN_OR_RETURN(p.builder_id, required_string(*builder, "id", "predicate.builder"));
    MG_ASSIGN_OR_RETURN(p.build_type, required_string(predicate, "buildType", "predicate"));
    MG_ASSIGN_OR_RETURN(p.dependencies, dependencies(predicate, "materials", "predicate", false));
    const Json* meta = find_field(predicate, "metadata");
    if (meta != nullptr && !meta->is_object()) {
      return make_error(Code::kMalformed, "predicate.metadata: expected an object");
    }
    MG_ASSIGN_OR_RETURN(p.finished_on, optional_time(meta, "buildFinishedOn", "predicate.metadata"));
    return p;
  }
  return make_error(Code::kUnsupported, "predicate type " + std::string(predicate_type) +
                                            " is not SLSA provenance v1 or v0.2");
}

Json provenance_v1_predicate(const Provenance& p) {
  Json deps = Json::array();
  for (const Dependency& d : p.dependencies) {
    Json item = Json::object();
    if (!d.name.empty()) {
      item["name"] = d.name;
    }
    if (!d.uri.empty()) {
      item["uri"] = d.uri;
    }
    if (!d.sha256.empty()) {
      item["digest"] = {{"sha256", d.sha256}};
    }
    if (!d.role.empty()) {
      item["annotations"] = {{"role", d.role}};
    }
    deps.push_back(std::move(item));
  }
  Json run = {{"builder", {{"id", p.builder_id}}}};
  if (p.finished_on) {
    run["metadata"] = {{"finishedOn", format_time(*p.finished_on)}};
  }
  return Json{{"buildDefinition",
               {{"buildType", p.build_type}, {"externalParameters", Json::object()}, {"resolvedDependencies", deps}}},
              {"runDetails", run}};
}

}  // namespace modelgate::crypto
