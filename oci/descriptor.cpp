#include "oci/descriptor.h"

#include "base/limits.h"
#include "crypto/encoding.h"
#include "crypto/sha256.h"
#include "oci/reference.h"

namespace modelgate::oci {

Result<Descriptor> parse_descriptor(const crypto::Json& obj, std::string_view path) {
  if (!obj.is_object()) {
    return make_error(Code::kMalformed, std::string(path) + ": expected object");
  }
  Descriptor d;
  MG_ASSIGN_OR_RETURN(d.media_type, crypto::get_string(obj, "mediaType", path));
  MG_ASSIGN_OR_RETURN(d.digest, crypto::get_string(obj, "digest", path));
  if (d.digest.rfind("sha256:", 0) != 0) {
    return make_error(Code::kUnsupported, std::string(path) + ".digest: not a sha256 digest");
  }
  if (!is_sha256_digest(d.digest)) {
    return make_error(Code::kMalformed, std::string(path) + ".digest: not sha256:<64 lowercase hex>");
  }
  const crypto::Json* size = crypto::find_field(obj, "size");
  if (size == nullptr || !size->is_number_integer() || (size->is_number_integer() && !size->is_number_unsigned() && size->get<std::int64_t>() < 0)) {
    return make_error(Code::kMalformed, std::string(path) + ".size: expected an integer >= 0");
  }
  d.size = size->get<std::uint64_t>();
  if (crypto::find_field(obj, "artifactType") != nullptr) {
    MG_ASSIGN_OR_RETURN(d.artifact_type, crypto::get_string(obj, "artifactType", path));
  }
  if (const crypto::Json* ann = crypto::find_field(obj, "annotations"); ann != nullptr) {
    if (!ann->is_object()) {
      return make_error(Code::kMalformed, std::string(path) + ".annotations: expected object");
    }
    for (const auto& [k, v] : ann->items()) {
      if (!v.is_string()) {
        return make_error(Code::kMalformed, std::string(path) + ".annotations: values must be strings");
      }
      d.annotations[k] = v.get<std::string>();
    }
  }
  return d;
}

Result<std::vector<Descriptor>> parse_index(std::string_view json, std::size_t max_bytes) {
  MG_ASSIGN_OR_RETURN_CTX(crypto::Json doc, crypto::parse_json(json, {max_bytes, 32}), "index");
  if (!doc.is_object()) {
    return make_error(Code::kMalformed, "index: not a JSON object");
  }
  MG_ASSIGN_OR_RETURN(const crypto::Json* manifests, crypto::get_array(doc, "manifests", "index"));
  if (manifests->size() > limits::kMaxOciReferrers) {
    return make_error(Code::kLimit, "index: too many manifests (" + std::to_string(manifests->size()) + " > " +
                                        std::to_string(limits::kMaxOciReferrers) + ")");
  }
  std::vector<Descriptor> out;
  for (std::size_t i = 0; i < manifests->size(); ++i) {
    MG_ASSIGN_OR_RETURN(Descriptor d, parse_descriptor((*manifests)[i], "index.manifests[" + std::to_string(i) + "]"));
    out.push_back(std::move(d));
  }
  return out;
}

crypto::Json descriptor_json(const Descriptor& d) {
  crypto::Json j = crypto::Json::object();
  j["mediaType"] = d.media_type;
  j["digest"] = d.digest;
  j["size"] = d.size;
  if (!d.artifact_type.empty()) {
    j["artifactType"] = d.artifact_type;
  }
  if (!d.annotations.empty()) {
    j["annotations"] = d.annotations;
  }
  return j;
}

std::string render_index(const std::vector<Descriptor>& manifests) {
  crypto::Json j = crypto::Json::object();
  j["schemaVersion"] = 2;
  j["mediaType"] = kMediaTypeImageIndex;
  j["manifests"] = crypto::Json::array();
  for (const Descriptor& d : manifests) {
    j["manifests"].push_back(descriptor_json(d));
  }
  return j.dump();
}

std::string sha256_digest(std::string_view bytes) {
  crypto::Sha256 h;
  h.update(bytes);
  const crypto::Sha256Digest d = h.final();
  return "sha256:" + crypto::to_hex(d);
}

}  // namespace modelgate::oci
