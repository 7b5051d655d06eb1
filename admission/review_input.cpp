#include "admission/review_input.h"


#include "base/limits.h"
#include "base/read_file.h"
#include "crypto/json.h"
#include "policy/yaml_reader.h"

namespace modelgate::admission {

namespace {

using crypto::Json;

bool is_int(const std::string& s) {
  if (s.empty() || s.size() > 18) {
    return false;
  }
  std::size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (i == s.size()) {
    return false;
  }
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') {
      return false;
    }
  }
  return true;
}

// to_json converts a YAML node with YAML 1.2 core-schema scalars (plain true/false/null/integers
// typed, quoted scalars strings). Depth was bounded by load_documents.
Json to_json(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      Json o = Json::object();
      for (const auto& kv : n) {
        o[kv.first.Scalar()] = to_json(kv.second);
      }
      return o;
    }
    case YAML::NodeType::Sequence: {
      Json a = Json::array();
      for (const auto& item : n) {
        a.push_back(to_json(item));
      }
      return a;
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      if (n.Tag() == "!") {
        return s;  // quoted
      }
      if (s == "true") {
        return true;
      }
      if (s == "false") {
        return false;
      }
      if (s == "null" || s == "~") {
        return nullptr;
      }
      if (is_int(s)) {
        return std::stoll(s);
      }
      return s;
    }
    default:
      return nullptr;
  }
}

GroupVersionKind gvk_of(const Json& obj) {
  GroupVersionKind g;
  const std::string api = obj.value("apiVersion", "");
  auto slash = api.find('/');
  if (slash == std::string::npos) {
    g.version = api;
  } else {
    g.group = api.substr(0, slash);
    g.version = api.substr(slash + 1);
  }
  g.kind = obj.value("kind", "");
  return g;
}

}  // namespace

Result<std::vector<AdmissionRequest>> parse_review_input(std::string_view text, const std::string& name,
                                                         const std::string& default_namespace) {
  std::vector<AdmissionRequest> out;
  if (text.size() > limits::kMaxAdmissionReviewBytes) {
    return make_error(Code::kLimit, name + ": larger than " + std::to_string(limits::kMaxAdmissionReviewBytes) + " bytes");
  }
  // An AdmissionReview is decoded by the webhook's own codec, so review sees what serve sees.
  auto as_json = crypto::parse_json(text, crypto::JsonLimits{limits::kMaxAdmissionReviewBytes,
                                                              limits::kMaxAdmissionJsonDepth});
  if (as_json.ok() && as_json->is_object() && as_json->value("kind", "") == "AdmissionReview") {
    MG_ASSIGN_OR_RETURN_CTX(AdmissionRequest r, decode_admission_review(text), name);
    out.push_back(std::move(r));
    return out;
  }
  policy::Diagnostics diags;
  policy::yaml::ReadLimits rl{limits::kMaxAdmissionReviewBytes, limits::kMaxPolicyNodes * 10,
                              limits::kMaxAdmissionJsonDepth, limits::kMaxAdmissionReviewBytes * 4};
  std::vector<YAML::Node> docs = policy::yaml::load_documents(text, name, rl, diags);
  if (diags.has_errors()) {
    return policy::diagnostics_error(diags.take());
  }
  std::size_t index = 0;
  for (const YAML::Node& doc : docs) {
    ++index;
    Json obj = to_json(doc);
    const std::string where = name + ": document " + std::to_string(index);
    if (!obj.is_object() || !obj.contains("kind") || !obj["kind"].is_string() || !obj.contains("apiVersion") ||
        !obj["apiVersion"].is_string()) {
      return make_error(Code::kMalformed, where + ": not a Kubernetes object (apiVersion and kind are required)");
    }
    if (obj["kind"] == "List" && obj.contains("items") && obj["items"].is_array()) {
      return make_error(Code::kUnsupported, where + ": a List; give the objects as separate documents");
    }
    AdmissionRequest r;
    r.uid = "review-" + std::to_string(index);
    r.kind = gvk_of(obj);
    r.operation = Operation::kCreate;
    r.username = "modelgate-review";
    const Json* meta = crypto::find_field(obj, "metadata");
    if (meta != nullptr && meta->is_object()) {
      r.name = meta->value("name", "");
      r.namespace_name = meta->value("namespace", "");
    }
    if (r.namespace_name.empty()) {
      r.namespace_name = default_namespace;
    }
    r.object = std::move(obj);
    out.push_back(std::move(r));
  }
  if (out.empty()) {
    return make_error(Code::kMalformed, name + ": holds no Kubernetes object");
  }
  return out;
}

Result<std::vector<AdmissionRequest>> read_review_input(const std::filesystem::path& path,
                                                        const std::string& default_namespace) {
  MG_ASSIGN_OR_RETURN_CTX(std::string text, read_regular_file(path, limits::kMaxAdmissionReviewBytes), path.string());
  return parse_review_input(text, path.string(), default_namespace);
}

}  // namespace modelgate::admission
