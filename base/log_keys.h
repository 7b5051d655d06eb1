// log_keys.h: the only keys modelgate writes in its JSON log lines (STYLE.md §8).
// Not a logger: keys are a stable interface; change them like an API.
#pragma once

#include <string_view>

namespace modelgate::log_keys {

inline constexpr std::string_view kTime = "time";
inline constexpr std::string_view kLevel = "level";
inline constexpr std::string_view kEvent = "event";
inline constexpr std::string_view kMessage = "msg";
inline constexpr std::string_view kError = "error";
inline constexpr std::string_view kCode = "code";
// per request
inline constexpr std::string_view kUid = "uid";
inline constexpr std::string_view kKind = "kind";
inline constexpr std::string_view kNamespace = "namespace";
inline constexpr std::string_view kName = "name";
inline constexpr std::string_view kOperation = "operation";
inline constexpr std::string_view kUser = "user";
// per decision
inline constexpr std::string_view kDecision = "decision";
inline constexpr std::string_view kMode = "mode";
inline constexpr std::string_view kPolicy = "policy";
inline constexpr std::string_view kRule = "rule";
inline constexpr std::string_view kModel = "model";
inline constexpr std::string_view kReason = "reason";
inline constexpr std::string_view kCache = "cache";
inline constexpr std::string_view kDurationMs = "duration_ms";
inline constexpr std::string_view kDryRun = "dry_run";
inline constexpr std::string_view kBreakGlass = "break_glass";
inline constexpr std::string_view kBreakGlassReason = "break_glass_reason";
// policy loading
inline constexpr std::string_view kPolicies = "policies";
inline constexpr std::string_view kGeneration = "generation";
// hashing
inline constexpr std::string_view kPath = "path";
inline constexpr std::string_view kBytes = "bytes";
inline constexpr std::string_view kFiles = "files";
inline constexpr std::string_view kRootDigest = "root_digest";
inline constexpr std::string_view kImpl = "impl";
inline constexpr std::string_view kLanes = "lanes";
inline constexpr std::string_view kSelectedBy = "selected_by";
inline constexpr std::string_view kBaseline = "baseline";
// server
inline constexpr std::string_view kAddress = "address";
inline constexpr std::string_view kPort = "port";
inline constexpr std::string_view kMetricsPort = "metrics_port";
inline constexpr std::string_view kMethod = "method";
inline constexpr std::string_view kStatus = "status";
inline constexpr std::string_view kConnections = "connections";
inline constexpr std::string_view kCertSha256 = "cert_sha256";
inline constexpr std::string_view kNotAfter = "not_after";
// Kubernetes API client (kube/)
inline constexpr std::string_view kResource = "resource";
inline constexpr std::string_view kObjects = "objects";

}  // namespace modelgate::log_keys
