#include "policy/namespace_selector.h"

#include <algorithm>

namespace modelgate::policy {

bool NamespaceSelector::matches(const std::map<std::string, std::string>& labels) const {
  for (const auto& [k, v] : match_labels) {
    auto it = labels.find(k.value);
    if (it == labels.end() || it->second != v.value) {
      return false;
    }
  }
  for (const SelectorRequirement& r : match_expressions) {
    auto it = labels.find(r.key.value);
    const bool has = it != labels.end();
    const bool in = has && std::any_of(r.values.begin(), r.values.end(),
                                       [&](const Located<std::string>& v) { return v.value == it->second; });
    switch (r.op) {
      case SelectorOp::kIn:
        if (!in) {
          return false;
        }
        break;
      case SelectorOp::kNotIn:  // apimachinery: NotIn matches when the label is absent
        if (in) {
          return false;
        }
        break;
      case SelectorOp::kExists:
        if (!has) {
          return false;
        }
        break;
      case SelectorOp::kDoesNotExist:
        if (has) {
          return false;
        }
        break;
    }
  }
  return true;
}

std::string NamespaceSelector::describe() const {
  std::string out;
  auto sep = [&] {
    if (!out.empty()) {
      out += ",";
    }
  };
  for (const auto& [k, v] : match_labels) {
    sep();
    out += k.value + "=" + v.value;
  }
  for (const SelectorRequirement& r : match_expressions) {
    sep();
    std::string vals;
    for (const auto& v : r.values) {
      vals += (vals.empty() ? "" : ",") + v.value;
    }
    switch (r.op) {
      case SelectorOp::kIn: out += r.key.value + " in (" + vals + ")"; break;
      case SelectorOp::kNotIn: out += r.key.value + " notin (" + vals + ")"; break;
      case SelectorOp::kExists: out += r.key.value; break;
      case SelectorOp::kDoesNotExist: out += "!" + r.key.value; break;
    }
  }
  return out.empty() ? "(everything)" : out;
}

}  // namespace modelgate::policy
