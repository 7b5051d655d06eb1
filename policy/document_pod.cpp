// document_pod.cpp: what of a pod a ModelPolicy governs: match (namespaces, labels), sources (the
// volumes that hold models), otherVolumes (the kinds admitted as "not a model"; everything else is
// denied) and breakGlass (who may override the policy, with a reason, for how long).
#include <algorithm>
#include <cctype>

#include "base/limits.h"
#include "policy/document.h"
#include "policy/document_parser.h"
#include "policy/names.h"
#include "policy/yaml_reader.h"

namespace modelgate::policy {

namespace {

// kVolumeKinds: the volume sources of core/v1 Volume as of Kubernetes 1.35 (api/core/v1/types.go
// VolumeSource). A kind missing here is still judged (denied unless allowed); it only loses the
// "did you mean" help in lint.
constexpr std::string_view kVolumeKinds[] = {
    "awsElasticBlockStore", "azureDisk",  "azureFile",      "cephfs",        "cinder",
    "configMap",            "csi",        "downwardAPI",    "emptyDir",      "ephemeral",
    "fc",                   "flexVolume", "flocker",        "gcePersistentDisk", "gitRepo",
    "glusterfs",            "hostPath",   "image",          "iscsi",         "nfs",
    "persistentVolumeClaim", "photonPersistentDisk", "portworxVolume", "projected", "quobyte",
    "rbd",                  "scaleIO",    "secret",         "storageos",     "vsphereVolume"};

}  // namespace

bool is_known_volume_kind(std::string_view kind) {
  return std::find(std::begin(kVolumeKinds), std::end(kVolumeKinds), kind) != std::end(kVolumeKinds);
}

bool OtherVolumes::allows(std::string_view kind) const {
  if (kind.empty()) {
    return false;  // no source, or several: never "not a model"
  }
  if (defaulted) {
    return std::find(std::begin(kDefaultNotModelVolumeKinds), std::end(kDefaultNotModelVolumeKinds), kind) !=
           std::end(kDefaultNotModelVolumeKinds);
  }
  return std::any_of(allow.begin(), allow.end(), [&](const Located<std::string>& a) { return a.value == kind; });
}

std::string normalize_nfs_server(std::string_view server) {
  std::string out(server);
  if (out.size() > 1 && out.back() == '.') {
    out.pop_back();
  }
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

namespace detail {

void PolicyParser::parse_match(const yaml::Field& f, Match& out) {
  yaml::Map m(r_, f, {"namespaces", "namespaceSelector", "labels"});
  out.position = m.position();
  if (!m.has("namespaces") && !m.has("namespaceSelector")) {
    if (m.ok()) {
      r_.error(m.position(), m.path(), "needs namespaces or namespaceSelector (or both)",
               "select namespaces by the labels cluster admins set: namespaceSelector: {matchLabels: "
               "{modelgate.dev/enforce: \"true\"}}");
    }
  }
  if (auto ns = m.get("namespaces")) {
    if (auto ps = patterns(*ns)) {
      out.namespaces = std::move(*ps);
    }
  }
  if (auto sel = m.get("namespaceSelector")) {
    out.namespace_selector = parse_namespace_selector(*sel);
  }
  auto lf = m.get("labels");
  if (!lf) {
    return;
  }
  yaml::Map labels = yaml::Map::any_keys(r_, *lf);
  if (labels.ok() && labels.entries().empty()) {
    r_.error(*lf, "must not be empty", "omit the field to match pods with any labels");
  }
  if (labels.entries().size() > limits::kMaxPolicyListItems) {
    r_.error(*lf, "too many labels", {}, Code::kLimit);
    return;
  }
  for (const auto& [key, value] : labels.entries()) {
    if (!names::is_qualified_name(key.value)) {
      r_.diags().error(key.position, Code::kMalformed, lf->path + ": " + quote(key.value) + " is not a valid label key",
                       "a label key is [dns-prefix/]name, the name at most 63 characters of [A-Za-z0-9-_.]");
      continue;
    }
    LabelMatcher lm{key, Located<std::string>{}, key.position};
    if (value.node.IsMap()) {
      yaml::Map rm(r_, value, {"regex"});
      auto rf = rm.required("regex");
      auto pat = rf ? pattern(*rf) : std::nullopt;
      if (!pat) {
        continue;
      }
      lm.value = std::move(*pat);
    } else {
      if (!value.node.IsScalar()) {
        r_.error(value, "expected a label value or {regex: PATTERN}, found " + yaml::describe(value.node));
        continue;
      }
      auto v = r_.string(value, /*allow_empty=*/true);
      if (!v) {
        continue;
      }
      if (!names::is_label_value(v->value)) {
        r_.error(value, quote(v->value) + " is not a valid label value",
                 "to match by pattern write {regex: PATTERN}");
        continue;
      }
      lm.value = std::move(*v);
    }
    out.labels.push_back(std::move(lm));
  }
}

std::optional<Source> PolicyParser::parse_source(const yaml::Field& f) {
  yaml::Map m(r_, f, {"name", "pvc", "hostPath", "nfs", "csi", "root", "signatureFile", "requireReadOnly"});
  if (!m.ok()) {
    return std::nullopt;
  }
  Source s;
  s.position = m.position();
  bool ok = required_name(m, s.name);
  const auto kind = exactly_one(m, {"pvc", "hostPath", "nfs", "csi"}, "a source");
  ok = ok && kind.has_value();
  for (std::string_view k : {"pvc", "hostPath", "nfs", "csi"}) {
    auto kf = m.get(k);
    if (!kf) {
      continue;
    }
    const bool chosen = kind && *kind == k;
    if (k == "pvc") {
      yaml::Map v(r_, *kf, {"claimName", "volumeName"});
      auto c = v.required("claimName");
      auto pat = c ? pattern(*c) : std::nullopt;
      std::optional<Pattern> volume;
      bool volume_ok = true;
      if (auto vf = v.get("volumeName")) {
        volume = pattern(*vf);
        volume_ok = volume.has_value();
      }
      if (pat && volume_ok && chosen) {
        s.volume = PvcSource{std::move(*pat), std::move(volume)};
      }
      ok = ok && pat.has_value() && volume_ok;
    } else if (k == "hostPath") {
      yaml::Map v(r_, *kf, {"pathPrefix"});
      auto c = v.required("pathPrefix");
      auto path = c ? absolute_path(*c) : std::nullopt;
      if (path && chosen) {
        s.volume = HostPathSource{std::move(*path)};
      }
      ok = ok && path.has_value();
    } else if (k == "nfs") {
      yaml::Map v(r_, *kf, {"server", "servers", "path"});
      std::vector<Located<std::string>> servers;
      bool servers_ok = true;
      if (v.has("server") == v.has("servers")) {
        r_.error(v.position(), v.path(), "needs exactly one of server or servers",
                 "list every name and address of the server under servers");
        servers_ok = false;
      }
      if (auto sf = v.get("server")) {
        if (auto one = r_.string(*sf)) {
          servers.push_back(std::move(*one));
        } else {
          servers_ok = false;
        }
      }
      if (auto sf = v.get("servers")) {
        if (auto many = r_.string_list(*sf, limits::kMaxPolicyListItems)) {
          servers = std::move(*many);
        } else {
          servers_ok = false;
        }
      }
      for (Located<std::string>& sv : servers) {
        if (sv.value.empty() || sv.value.find_first_of(" /") != std::string::npos) {
          r_.diags().error(sv.position, Code::kMalformed, v.path() + ": " + quote(sv.value) + " is not a host name or address");
          servers_ok = false;
        }
        sv.value = normalize_nfs_server(sv.value);
      }
      auto pf = v.required("path");
      auto path = pf ? absolute_path(*pf) : std::nullopt;
      if (servers_ok && path && chosen) {
        s.volume = NfsSource{std::move(servers), std::move(*path)};
      }
      ok = ok && servers_ok && path;
    } else {
      yaml::Map v(r_, *kf, {"driver", "volumeAttributes"});
      auto df = v.required("driver");
      auto driver = df ? r_.string(*df) : std::nullopt;
      if (driver && !names::is_dns_subdomain(driver->value)) {
        r_.error(*df, quote(driver->value) + " is not a CSI driver name", "CSI drivers are DNS names, e.g. csi.example.com");
        driver.reset();
      }
      CsiSource csi;
      if (auto af = v.get("volumeAttributes")) {
        yaml::Map attrs = yaml::Map::any_keys(r_, *af);
        if (attrs.ok() && attrs.entries().empty()) {
          r_.error(*af, "must not be empty", "omit the field to match any attributes");
          ok = false;
        }
        for (const auto& [key, value] : attrs.entries()) {
          auto val = r_.string(value, /*allow_empty=*/true);
          if (!val) {
            ok = false;
            continue;
          }
          csi.volume_attributes.emplace_back(key, std::move(*val));
        }
        ok = ok && attrs.ok();
      }
      if (driver && chosen) {
        csi.driver = std::move(*driver);
        s.volume = std::move(csi);
      }
      ok = ok && driver.has_value();
    }
  }
  if (auto rf = m.required("root")) {
    auto root = absolute_path(*rf);
    ok = ok && root.has_value();
    if (root) {
      s.root = std::move(*root);
    }
  } else {
    ok = false;
  }
  s.signature_file = Located<std::string>{std::string(kDefaultSignatureFile), s.position};
  if (auto sf = m.get("signatureFile")) {
    auto v = r_.string(*sf);
    if (v && !names::is_plain_file_name(v->value)) {
      r_.error(*sf, quote(v->value) + " is not a plain file name",
               "the signature file sits in the model directory; write a name such as model.sig");
      v.reset();
    }
    ok = ok && v.has_value();
    if (v) {
      s.signature_file = std::move(*v);
    }
  }
  s.require_read_only = Located<bool>{true, s.position};
  if (auto rf = m.get("requireReadOnly")) {
    auto v = r_.boolean(*rf);
    ok = ok && v.has_value();
    if (v) {
      s.require_read_only = *v;
      if (!v->value) {
        r_.diags().warning(v->position, rf->path + ": false admits pods that mount the model writable",
                           "a writable mount lets the pod change the model after it was verified");
      }
    }
  }
  return ok ? std::optional(std::move(s)) : std::nullopt;
}

NamespaceSelector PolicyParser::parse_namespace_selector(const yaml::Field& f) {
  yaml::Map m(r_, f, {"matchLabels", "matchExpressions"});
  NamespaceSelector out;
  out.position = m.position();
  if (!m.ok()) {
    return out;
  }
  if (!m.has("matchLabels") && !m.has("matchExpressions")) {
    r_.error(f, "must have matchLabels or matchExpressions",
             "an empty selector matches every namespace; omit namespaceSelector and write namespaces: [\".*\"] "
             "to say so");
  }
  if (auto lf = m.get("matchLabels")) {
    yaml::Map labels = yaml::Map::any_keys(r_, *lf);
    if (labels.ok() && labels.entries().empty()) {
      r_.error(*lf, "must not be empty", "omit the field");
    }
    if (labels.entries().size() > limits::kMaxPolicyListItems) {
      r_.error(*lf, "too many labels", {}, Code::kLimit);
      return out;
    }
    for (const auto& [key, value] : labels.entries()) {
      if (!names::is_qualified_name(key.value)) {
        r_.diags().error(key.position, Code::kMalformed, lf->path + ": " + quote(key.value) + " is not a valid label key",
                         "a label key is [dns-prefix/]name, the name at most 63 characters of [A-Za-z0-9-_.]");
        continue;
      }
      auto v = r_.string(value, /*allow_empty=*/true);
      if (!v) {
        continue;
      }
      if (!names::is_label_value(v->value)) {
        r_.error(value, quote(v->value) + " is not a valid label value");
        continue;
      }
      out.match_labels.emplace_back(key, std::move(*v));
    }
  }
  if (auto ef = m.get("matchExpressions")) {
    auto items = r_.list(*ef, limits::kMaxPolicyListItems);
    if (!items) {
      return out;
    }
    for (const yaml::Field& item : *items) {
      yaml::Map e(r_, item, {"key", "operator", "values"});
      if (!e.ok()) {
        continue;
      }
      SelectorRequirement req;
      req.position = e.position();
      auto kf = e.required("key");
      auto key = kf ? r_.string(*kf) : std::nullopt;
      if (key && !names::is_qualified_name(key->value)) {
        r_.error(*kf, quote(key->value) + " is not a valid label key");
        key.reset();
      }
      auto of = e.required("operator");
      auto op = of ? r_.string(*of) : std::nullopt;
      bool ok = key.has_value() && op.has_value();
      if (op) {
        if (op->value == "In") {
          req.op = SelectorOp::kIn;
        } else if (op->value == "NotIn") {
          req.op = SelectorOp::kNotIn;
        } else if (op->value == "Exists") {
          req.op = SelectorOp::kExists;
        } else if (op->value == "DoesNotExist") {
          req.op = SelectorOp::kDoesNotExist;
        } else {
          r_.error(*of, "unknown operator " + quote(op->value), "use In, NotIn, Exists or DoesNotExist");
          ok = false;
        }
      }
      const bool wants_values = ok && (req.op == SelectorOp::kIn || req.op == SelectorOp::kNotIn);
      if (auto vf = e.get("values")) {
        if (ok && !wants_values) {
          r_.error(*vf, "must be absent for operator " + quote(op->value));
          ok = false;
        } else if (auto vals = r_.string_list(*vf, limits::kMaxPolicyListItems)) {
          for (const auto& v : *vals) {
            if (!names::is_label_value(v.value)) {
              r_.diags().error(v.position, Code::kMalformed, vf->path + ": " + quote(v.value) + " is not a valid label value");
              ok = false;
            }
          }
          req.values = std::move(*vals);
        } else {
          ok = false;
        }
      } else if (wants_values) {
        r_.error(e.position(), e.path(), "operator " + quote(op->value) + " needs values", "values: [a, b]");
        ok = false;
      }
      if (ok) {
        req.key = std::move(*key);
        out.match_expressions.push_back(std::move(req));
      }
    }
  }
  return out;
}

void PolicyParser::parse_other_volumes(const yaml::Field& f, OtherVolumes& out) {
  yaml::Map m(r_, f, {"allow"});
  out.position = m.position();
  auto af = m.required("allow");
  if (!af) {
    return;
  }
  out.defaulted = false;
  if (af->node.IsSequence() && af->node.size() == 0) {
    return;  // allow: [] admits no other volume at all
  }
  auto kinds = r_.string_list(*af, limits::kMaxPolicyListItems);
  if (!kinds) {
    return;
  }
  for (Located<std::string>& k : *kinds) {
    if (!is_known_volume_kind(k.value)) {
      r_.diags().error(k.position, Code::kMalformed, af->path + ": unknown volume kind " + quote(k.value),
                       did_you_mean(k.value, kVolumeKinds).empty() ? "kinds are the volume source keys of a pod, e.g. emptyDir"
                                                                   : did_you_mean(k.value, kVolumeKinds));
      continue;
    }
    const bool is_default = std::find(std::begin(kDefaultNotModelVolumeKinds), std::end(kDefaultNotModelVolumeKinds),
                                      k.value) != std::end(kDefaultNotModelVolumeKinds);
    if (!is_default) {
      r_.diags().warning(k.position, af->path + ": volumes of kind " + quote(k.value) +
                                         " are admitted without verification",
                         "a pod author can put any model on such a volume; claim it with a source instead");
    }
    out.allow.push_back(std::move(k));
  }
}

void PolicyParser::parse_break_glass(const yaml::Field& f, BreakGlass& out) {
  yaml::Map bg(r_, f, {"allowed", "annotation", "allowedUsers", "allowedGroups", "maxDuration"});
  out = BreakGlass{{false, bg.position()}, {std::string(kDefaultBreakGlassAnnotation), bg.position()}, {}, {},
                   std::nullopt, bg.position()};
  if (auto a = bg.get("allowed")) {
    if (auto v = r_.boolean(*a)) {
      out.allowed = *v;
    }
  }
  if (auto a = bg.get("annotation")) {
    if (auto v = r_.string(*a)) {
      if (names::is_qualified_name(v->value)) {
        out.annotation = *v;
      } else {
        r_.error(*a, quote(v->value) + " is not a valid annotation key",
                 "an annotation key is [dns-prefix/]name, e.g. modelgate.dev/break-glass");
      }
    }
  }
  if (auto a = bg.get("allowedUsers")) {
    if (auto v = r_.string_list(*a, limits::kMaxPolicyListItems)) {
      out.allowed_users = std::move(*v);
    }
  }
  if (auto a = bg.get("allowedGroups")) {
    if (auto v = r_.string_list(*a, limits::kMaxPolicyListItems)) {
      out.allowed_groups = std::move(*v);
    }
  }
  if (auto a = bg.get("maxDuration")) {
    if (auto s = r_.string(*a)) {
      auto d = parse_duration(s->value);
      if (d.ok()) {
        out.max_duration = Located<std::chrono::seconds>{*d, s->position};
      } else {
        r_.error(*a, d.error().message, "write a whole number and one unit: 90d, 36h, 30m or 45s", d.error().code);
      }
    }
  }
  if (out.allowed.value && !bg.has("allowedUsers") && !bg.has("allowedGroups")) {
    r_.error(bg.position(), bg.path(), "allowed: true needs allowedUsers or allowedGroups",
             "otherwise anyone who can create a pod could override the policy");
  }
}

}  // namespace detail

}  // namespace modelgate::policy
