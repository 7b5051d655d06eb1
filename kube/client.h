// client.h: a small Kubernetes API client over HTTP/1.1 + TLS: GET, LIST (one page or every page
// with limit/continue), WATCH (newline-delimited JSON events from a chunked stream), CREATE (POST)
// and UPDATE (PUT) of any resource, built-in or custom, by group/version/plural. Every response is
// bounded (limits::kMaxKube*), every request has a deadline, errors are ApiError values carrying
// the API's Status reason. Not a cache and not a retry loop (informer.h); no PATCH, no HTTP/2, no
// protobuf. Objects are handed out as crypto::Json; resourceVersions are opaque strings.
//
// For the controller (#15) the same calls serve pods, Leases, Events and custom resources:
//   Resource pods{"", "v1", "pods", true};
//   Resource leases{"coordination.k8s.io", "v1", "leases", true};
//   client.update(leases, "modelgate", "modelgate-controller", lease_json);  // 409 reason Conflict
//   client.create(Resource{"events.k8s.io", "v1", "events", true}, ns, event_json);
//   client.watch(Resource{"modelgate.dev", "v1alpha1", "modelverifications", true}, "", opts, on_event);
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/limits.h"
#include "crypto/json.h"
#include "kube/config.h"
#include "kube/status.h"
#include "kube/transport.h"

namespace modelgate::kube {

using Json = crypto::Json;

// Resource names one API resource: group "" is the core group (/api/v1), anything else is under
// /apis/<group>/<version>.
struct Resource {
  std::string group;
  std::string version;
  std::string plural;      // "persistentvolumeclaims"
  bool namespaced = true;
};

// resource_path returns the collection path ("/api/v1/namespaces/ns/pods"; "ns" empty: every
// namespace, "/api/v1/pods") or, with `name`, the object path. Names are not validated here;
// callers pass API names (DNS labels / subdomains), which need no escaping.
std::string resource_path(const Resource& r, std::string_view ns, std::string_view name = "");

struct ClientOptions {
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds request_timeout{30'000};  // a whole non-watch request
  // A watch asks the server to end at timeoutSeconds and is cut by us at timeoutSeconds + grace
  // (a server or proxy that never ends a stream, or trickles it, cannot hold us).
  std::chrono::milliseconds watch_grace{30'000};
  std::size_t max_response_bytes = limits::kMaxKubeResponseBytes;  // one non-watch body
  std::size_t max_object_bytes = limits::kMaxKubeObjectBytes;      // one list item / watch line
  std::size_t max_list_items = limits::kMaxKubeListPageItems;      // one page
};

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  std::uint32_t limit = 500;       // 0: no limit parameter
  std::string resource_version;    // "" (a consistent read from etcd), "0" (any, from the cache)
  std::string continue_token;      // for list_page
};

// ListPage is one LIST response: its items (each bounded by max_object_bytes when re-serialised
// is NOT checked; the page as a whole is bounded by max_response_bytes), the list's
// resourceVersion, and the continue token ("" on the last page).
struct ListPage {
  std::vector<Json> items;
  std::string resource_version;
  std::string continue_token;
};

enum class EventType { kAdded, kModified, kDeleted, kBookmark };
// event_type_name returns "ADDED", "MODIFIED", "DELETED" or "BOOKMARK".
std::string_view event_type_name(EventType t);

// WatchEvent is one event of a watch stream. `object` is the object (for BOOKMARK only its
// metadata.resourceVersion is meaningful). ERROR events are not events: watch() returns them as
// ApiErrors.
struct WatchEvent {
  EventType type = EventType::kAdded;
  Json object;
  std::string resource_version;  // object.metadata.resourceVersion
};

// parse_watch_event reads one line of a watch stream. An ERROR event becomes an ApiError built
// from its Status (code 410 reason Expired → expired()). Errors: kMalformed (not JSON, not an
// object, an unknown type, no object, no metadata.resourceVersion), kLimit (line over
// max_object_bytes + envelope, nested deeper than limits::kMaxKubeJsonDepth). Pure.
[[nodiscard]] ApiResult<WatchEvent> parse_watch_event(std::string_view line, std::size_t max_object_bytes,
                                                      const RequestDescription& what);

struct WatchOptions {
  std::string resource_version;    // where to start: the list's resourceVersion or the last seen
  std::uint32_t timeout_seconds = 300;  // the server ends the watch then (>= 1)
  bool allow_bookmarks = true;
  std::string label_selector;
  std::string field_selector;
};

// WatchEnd says how a watch that returned ok ended: the server closed the stream cleanly (at its
// timeoutSeconds, or earlier), after `events` events, the last at `last_resource_version` (the
// start's when no event came).
struct WatchEnd {
  std::string last_resource_version;
  std::size_t events = 0;
};

// Client talks to one apiserver. Each call opens its own connection (no pooling: list/watch are
// long-lived and rare). Thread-safe: calls may run concurrently from several threads. The process
// (or the calling thread) must ignore or block SIGPIPE, as `modelgate serve` does and Reflector
// threads do: OpenSSL writes to the socket with write(2).
class Client {
 public:
  // create builds the TLS context once. Errors: those of TlsContext::build.
  [[nodiscard]] static Result<std::shared_ptr<Client>> create(ClusterConfig cfg, ClientOptions opts = {});

  const ClusterConfig& config() const { return cfg_; }
  const ClientOptions& options() const { return opts_; }

  // get returns the object at `name`. 404 → ApiError not_found(). Bounded by max_response_bytes.
  [[nodiscard]] ApiResult<Json> get(const Resource& r, std::string_view ns, std::string_view name,
                                    const Canceller* cancel = nullptr);
  // list_page fetches one page. Errors: as get; a stale continue token → expired() with a fresh
  // continue_token (an inconsistent continuation the caller may decline); kLimit when the page has
  // more than max_list_items items; kMalformed when it is not a List.
  [[nodiscard]] ApiResult<ListPage> list_page(const Resource& r, std::string_view ns, const ListOptions& opts,
                                              const Canceller* cancel = nullptr);
  // list fetches every page (at most limits::kMaxKubeListPages), calling on_item for each item in
  // order (and stopping at its first error), and returns the resourceVersion of the first page,
  // the one a following watch starts from. A stale continue token is returned as expired(): the
  // caller starts over (an informer never accepts an inconsistent list).
  [[nodiscard]] ApiResult<std::string> list(const Resource& r, std::string_view ns, ListOptions opts,
                                            const std::function<ApiStatus(Json&& item)>& on_item,
                                            const Canceller* cancel = nullptr);
  // create POSTs `object` to the collection (201/200 → the stored object; 409 already_exists()).
  [[nodiscard]] ApiResult<Json> create(const Resource& r, std::string_view ns, const Json& object,
                                       const Canceller* cancel = nullptr);
  // update PUTs `object` (which carries metadata.resourceVersion for optimistic concurrency;
  // 409 conflict() when it is stale).
  [[nodiscard]] ApiResult<Json> update(const Resource& r, std::string_view ns, std::string_view name,
                                       const Json& object, const Canceller* cancel = nullptr);
  // watch streams events to on_event until the server ends the stream (→ WatchEnd), on_event
  // returns an error (→ that error), an ERROR event arrives (→ its ApiError; 410 → expired()),
  // the stream is cut or malformed (kIo / kMalformed; a line over max_object_bytes → kLimit), or
  // timeout_seconds + watch_grace pass (kDeadline: a stream that never ends, or trickles).
  // Lines are split on '\n' whatever the chunk boundaries. `cancel` stops it (kIo "cancelled").
  [[nodiscard]] ApiResult<WatchEnd> watch(const Resource& r, std::string_view ns, const WatchOptions& opts,
                                          const std::function<ApiStatus(WatchEvent&&)>& on_event,
                                          const Canceller* cancel = nullptr);

  // Response is a raw response for request(): status and the whole (bounded) body.
  struct Response {
    int status = 0;
    std::string body;
  };
  // request sends any method to `path_and_query` (below the configured path prefix) with an
  // optional JSON body and returns the response when 2xx, else the ApiError (named after `what`).
  [[nodiscard]] ApiResult<Response> request(std::string_view method, const std::string& path_and_query,
                                            std::string_view body, const RequestDescription& what,
                                            const Canceller* cancel = nullptr);

 private:
  Client(ClusterConfig cfg, ClientOptions opts, std::shared_ptr<const TlsContext> tls)
      : cfg_(std::move(cfg)), opts_(opts), tls_(std::move(tls)) {}
  // exec sends one request and hands the decoded 2xx body to `sink` in pieces as it arrives; a
  // non-2xx response becomes the ApiError. `on_error_body` bounds non-2xx bodies (1 MiB).
  ApiStatus exec(std::string_view method, const std::string& path_and_query, std::string_view body,
                 const RequestDescription& what, Deadline deadline, const Canceller* cancel,
                 const std::function<ApiStatus(std::string_view)>& sink);
  ApiStatus exec_once(std::string_view method, const std::string& path_and_query, std::string_view body,
                      const RequestDescription& what, Deadline deadline, const Canceller* cancel,
                      const std::function<ApiStatus(std::string_view)>& sink, bool& unauthorized);

  ClusterConfig cfg_;
  ClientOptions opts_;
  std::shared_ptr<const TlsContext> tls_;
};

}  // namespace modelgate::kube
