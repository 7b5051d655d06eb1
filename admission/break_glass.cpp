#include "admission/break_glass.h"

#include <algorithm>
#include <optional>

#include "policy/dataset_catalog.h"
#include "policy/diagnostic.h"

namespace modelgate::admission {

namespace {

using policy::quote;

// annotation finds `key` on the object, then on its pod template.
std::optional<std::string> annotation(const Workload& w, std::string_view key) {
  const std::string k(key);
  if (auto it = w.annotations.find(k); it != w.annotations.end()) {
    return it->second;
  }
  if (w.pod) {
    if (auto it = w.pod->annotations.find(k); it != w.pod->annotations.end()) {
      return it->second;
    }
  }
  return std::nullopt;
}

bool blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; });
}

std::string human_duration(std::chrono::seconds s) {
  const auto n = s.count();
  if (n % 86400 == 0) {
    return std::to_string(n / 86400) + "d";
  }
  if (n % 3600 == 0) {
    return std::to_string(n / 3600) + "h";
  }
  if (n % 60 == 0) {
    return std::to_string(n / 60) + "m";
  }
  return std::to_string(n) + "s";
}

}  // namespace

bool is_workload_controller(std::string_view username) {
  static constexpr std::string_view kControllers[] = {
      "system:serviceaccount:kube-system:deployment-controller",
      "system:serviceaccount:kube-system:replicaset-controller",
      "system:serviceaccount:kube-system:statefulset-controller",
      "system:serviceaccount:kube-system:daemon-set-controller",
      "system:serviceaccount:kube-system:job-controller",
      "system:serviceaccount:kube-system:cronjob-controller",
      "system:serviceaccount:kube-system:replication-controller",
      "system:kube-controller-manager",
  };
  return std::find(std::begin(kControllers), std::end(kControllers), username) != std::end(kControllers);
}

BreakGlassCheck check_break_glass(const policy::BreakGlass& bg, const Workload& w, const Workload* old,
                                  const Requester& who, std::chrono::system_clock::time_point now) {
  BreakGlassCheck out;
  if (!bg.allowed.value) {
    return out;  // the policy has no override: the annotation means nothing
  }
  auto value = annotation(w, bg.annotation.value);
  if (!value) {
    return out;
  }
  out.state = BreakGlassState::kRefused;
  out.reason = *value;
  auto expires = annotation(w, policy::kBreakGlassExpiresAnnotation);
  // Carried: the same override on an object whose readable models did not change. An UPDATE that
  // points the overridden workload at other bytes is a new override, judged as this user's.
  const bool same_models = old != nullptr && old->pod.has_value() == w.pod.has_value() &&
                           (!w.pod || model_relevant_equal(*old->pod, *w.pod));
  const bool carried = same_models && annotation(*old, bg.annotation.value) == value &&
                       annotation(*old, policy::kBreakGlassExpiresAnnotation) == expires;
  const bool controller = who.operation == Operation::kCreate && is_workload_controller(who.username);
  const bool user_ok =
      std::any_of(bg.allowed_users.begin(), bg.allowed_users.end(),
                  [&](const policy::Located<std::string>& u) { return u.value == who.username; }) ||
      std::any_of(bg.allowed_groups.begin(), bg.allowed_groups.end(), [&](const policy::Located<std::string>& g) {
        return std::find(who.groups.begin(), who.groups.end(), g.value) != who.groups.end();
      });
  out.placed = !carried && !controller;
  const std::string ann = quote(bg.annotation.value);
  if (!user_ok && !carried && !controller) {
    out.token = "break_glass.unauthorized";
    out.message = "user " + quote(who.username) + " may not override this policy (not in breakGlass.allowedUsers or "
                  "allowedGroups); remove the annotation " + ann + " or ask an authorised user to apply it";
    return out;
  }
  if (blank(*value)) {
    out.token = "break_glass.no_reason";
    out.message = "the annotation " + ann + " needs a reason as its value (an incident or ticket), not an empty string";
    return out;
  }
  const std::string exp_key = quote(policy::kBreakGlassExpiresAnnotation);
  if (!expires) {
    if (bg.max_duration) {
      out.token = "break_glass.no_expiry";
      out.message = "this policy needs " + exp_key + " (an RFC 3339 time at most " +
                    human_duration(bg.max_duration->value) + " ahead) beside " + ann;
      return out;
    }
  } else {
    auto t = policy::parse_timestamp(*expires);
    if (!t.ok()) {
      out.token = "break_glass.bad_expiry";
      out.message = exp_key + " is " + quote(*expires) + ", not an RFC 3339 time such as 2026-12-04T18:00:00Z";
      return out;
    }
    // Compared in whole seconds: a far-future expiry (year 2262 and later) must not overflow the
    // nanosecond clock into the past.
    const auto now_s = std::chrono::floor<std::chrono::seconds>(now);
    if (*t <= now_s) {
      out.token = "break_glass.expired";
      out.message = "the override expired at " + *expires + "; renew it or fix the model";
      return out;
    }
    if (bg.max_duration && *t - now_s > bg.max_duration->value) {
      out.token = "break_glass.expiry_too_far";
      out.message = exp_key + " " + quote(*expires) + " lies more than " + human_duration(bg.max_duration->value) +
                    " ahead (breakGlass.maxDuration)";
      return out;
    }
  }
  out.state = BreakGlassState::kHonoured;
  out.token.clear();
  return out;
}

bool break_glass_annotations_equal(const Workload& a, const Workload& b, const std::vector<std::string>& keys) {
  auto same = [&](std::string_view k) {
    auto on_object = [&](const Workload& w) {
      auto it = w.annotations.find(std::string(k));
      return it == w.annotations.end() ? std::optional<std::string>() : it->second;
    };
    auto on_template = [&](const Workload& w) {
      if (!w.pod) {
        return std::optional<std::string>();
      }
      auto it = w.pod->annotations.find(std::string(k));
      return it == w.pod->annotations.end() ? std::optional<std::string>() : it->second;
    };
    return on_object(a) == on_object(b) && on_template(a) == on_template(b);
  };
  return std::all_of(keys.begin(), keys.end(), same) && same(policy::kBreakGlassExpiresAnnotation);
}

}  // namespace modelgate::admission
