// namespace_selector.h: match.namespaceSelector, the Kubernetes LabelSelector (matchLabels and
// matchExpressions with In, NotIn, Exists, DoesNotExist) evaluated on a Namespace's labels, which
// cluster admins set and pod authors cannot. Pure; not the YAML parser (document.cpp fills it) and
// not where labels come from (admission/cluster_state.h).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "policy/diagnostic.h"

namespace modelgate::policy {

enum class SelectorOp { kIn, kNotIn, kExists, kDoesNotExist };

struct SelectorRequirement {
  Located<std::string> key;
  SelectorOp op = SelectorOp::kIn;
  std::vector<Located<std::string>> values;  // non-empty for In/NotIn, empty otherwise
  Position position;
};

// NamespaceSelector: every matchLabels pair equal AND every requirement true (apimachinery's
// LabelSelector semantics). An empty selector matches every namespace.
struct NamespaceSelector {
  std::vector<std::pair<Located<std::string>, Located<std::string>>> match_labels;
  std::vector<SelectorRequirement> match_expressions;
  Position position;

  // matches evaluates the selector on `labels`. Pure; thread-safe.
  bool matches(const std::map<std::string, std::string>& labels) const;
  // describe renders it as kubectl would ("team=ml,env in (prod,staging),!legacy").
  std::string describe() const;
};

}  // namespace modelgate::policy
