#include "kube/client.h"

#include "kube/http.h"

namespace modelgate::kube {

namespace {

// Bodies of error responses are small Status objects; more is not read.
constexpr std::size_t kMaxErrorBodyBytes = 1u << 20;
constexpr std::size_t kReadBytes = 64u << 10;
// A watch line is the object plus {"type":"MODIFIED","object":...}: 256 bytes cover the envelope.
constexpr std::size_t kEventEnvelopeBytes = 256;

std::string api_prefix(const Resource& r) {
  return r.group.empty() ? "/api/" + r.version : "/apis/" + r.group + "/" + r.version;
}

RequestDescription describe(std::string verb, const Resource& r, std::string_view ns) {
  return RequestDescription{std::move(verb), r.plural, r.group, std::string(ns)};
}

void add_param(std::string& q, std::string_view key, std::string_view value) {
  q += q.empty() ? "?" : "&";
  q.append(key).append("=").append(url_encode(value));
}

std::string list_query(const ListOptions& o) {
  std::string q;
  if (!o.label_selector.empty()) {
    add_param(q, "labelSelector", o.label_selector);
  }
  if (!o.field_selector.empty()) {
    add_param(q, "fieldSelector", o.field_selector);
  }
  if (o.limit != 0) {
    add_param(q, "limit", std::to_string(o.limit));
  }
  if (!o.resource_version.empty()) {
    add_param(q, "resourceVersion", o.resource_version);
  }
  if (!o.continue_token.empty()) {
    add_param(q, "continue", o.continue_token);
  }
  return q;
}

ApiError malformed(const RequestDescription& what, std::string msg) {
  ApiError e = transport_error(Code::kMalformed, what.verb + " " + what.resource + ": " + std::move(msg));
  return e;
}

ApiResult<Json> parse_body(const std::string& body, std::size_t max_bytes, const RequestDescription& what) {
  auto j = crypto::parse_json(body, crypto::JsonLimits{max_bytes, limits::kMaxKubeJsonDepth});
  if (!j.ok()) {
    ApiError e = transport_error(j.error().code, what.verb + " " + what.resource + ": response: " + j.error().message);
    return e;
  }
  if (!j->is_object()) {
    return malformed(what, "response is not a JSON object");
  }
  return std::move(j).value();
}

std::string string_at(const Json& obj, std::string_view key) {
  const Json* v = crypto::find_field(obj, key);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

}  // namespace

std::string resource_path(const Resource& r, std::string_view ns, std::string_view name) {
  std::string p = api_prefix(r);
  if (r.namespaced && !ns.empty()) {
    p.append("/namespaces/").append(ns);
  }
  p.append("/").append(r.plural);
  if (!name.empty()) {
    p.append("/").append(name);
  }
  return p;
}

std::string_view event_type_name(EventType t) {
  switch (t) {
    case EventType::kAdded: return "ADDED";
    case EventType::kModified: return "MODIFIED";
    case EventType::kDeleted: return "DELETED";
    case EventType::kBookmark: return "BOOKMARK";
  }
  return "ADDED";
}

Result<std::shared_ptr<Client>> Client::create(ClusterConfig cfg, ClientOptions opts) {
  MG_ASSIGN_OR_RETURN(std::shared_ptr<const TlsContext> tls, TlsContext::build(cfg));
  return std::shared_ptr<Client>(new Client(std::move(cfg), opts, std::move(tls)));
}

ApiStatus Client::exec(std::string_view method, const std::string& path_and_query, std::string_view body,
                       const RequestDescription& what, Deadline deadline, const Canceller* cancel,
                       const std::function<ApiStatus(std::string_view)>& sink) {
  bool unauthorized = false;
  ApiStatus r = exec_once(method, path_and_query, body, what, deadline, cancel, sink, unauthorized);
  if (!r.ok() && unauthorized && !cfg_.token.file().empty()) {
    // A projected token may have rotated between our read and the server's check: re-read once.
    cfg_.token.invalidate();
    bool again = false;
    return exec_once(method, path_and_query, body, what, deadline, cancel, sink, again);
  }
  return r;
}

ApiStatus Client::exec_once(std::string_view method, const std::string& path_and_query, std::string_view body,
                            const RequestDescription& what, Deadline deadline, const Canceller* cancel,
                            const std::function<ApiStatus(std::string_view)>& sink, bool& unauthorized) {
  auto token = cfg_.token.token();
  if (!token.ok()) {
    return transport_error(token.error().code, "credentials: " + token.error().message);
  }
  const std::string verify = cfg_.tls_server_name.empty() ? cfg_.host : cfg_.tls_server_name;
  const Deadline connect_deadline = std::min(deadline, Clock::now() + opts_.connect_timeout);
  auto conn = Connection::open(*tls_, cfg_.host, cfg_.port, verify, connect_deadline, cancel);
  if (!conn.ok()) {
    return std::move(conn).error().context(what.verb + " " + what.resource);
  }
  std::string req;
  req.reserve(512 + body.size());
  req.append(method).append(" ").append(cfg_.path_prefix).append(path_and_query).append(" HTTP/1.1\r\n");
  const bool v6 = cfg_.host.find(':') != std::string::npos;
  req.append("Host: ").append(v6 ? "[" + cfg_.host + "]" : cfg_.host);
  if (cfg_.port != 443) {
    req.append(":").append(std::to_string(cfg_.port));
  }
  req.append("\r\nUser-Agent: ").append(cfg_.user_agent);
  req.append("\r\nAccept: application/json\r\n");
  if (!token->empty()) {
    req.append("Authorization: Bearer ").append(*token).append("\r\n");
  }
  if (!body.empty() || method == "POST" || method == "PUT") {
    req.append("Content-Type: application/json\r\nContent-Length: ").append(std::to_string(body.size())).append("\r\n");
  }
  req.append("Connection: close\r\n\r\n");
  req.append(body);
  Connection& c = **conn;
  ApiStatus w = c.write_all(req, deadline);
  if (!w.ok()) {
    return std::move(w).error().context(what.verb + " " + what.resource);
  }

  // Head.
  std::string buf;
  std::string got;
  std::size_t end = 0;
  while ((end = head_end(buf)) == 0) {
    if (buf.size() > limits::kMaxKubeHeaderBytes) {
      return transport_error(Code::kLimit, what.verb + " " + what.resource + ": response head too large");
    }
    ApiStatus r = c.read_some(got, kReadBytes, deadline);
    if (!r.ok()) {
      return std::move(r).error().context(what.verb + " " + what.resource);
    }
    if (got.empty()) {
      return transport_error(Code::kIo, what.verb + " " + what.resource + ": connection closed before a response");
    }
    buf += got;
  }
  auto head = parse_response_head(std::string_view(buf).substr(0, end));
  if (!head.ok()) {
    return transport_error(head.error().code, what.verb + " " + what.resource + ": response: " + head.error().message);
  }
  std::string rest = buf.substr(end);
  const bool success = head->status >= 200 && head->status < 300;

  // Body: handed to `sink` (2xx) or gathered for the error (bounded).
  std::string error_body;
  auto deliver = [&](std::string_view data) -> ApiStatus {
    if (data.empty()) {
      return Done{};
    }
    if (success) {
      return sink(data);
    }
    if (error_body.size() + data.size() > kMaxErrorBodyBytes) {
      return transport_error(Code::kLimit, what.verb + " " + what.resource + ": error response too large");
    }
    error_body.append(data);
    return Done{};
  };
  ChunkedDecoder chunked;
  std::uint64_t left = head->content_length.value_or(0);
  const bool until_close = !head->chunked && !head->content_length;
  std::string decoded;
  bool first = true;
  while (true) {
    std::string_view data;
    if (first) {
      data = rest;
      first = false;
    } else {
      if ((head->chunked && chunked.done()) || (head->content_length && left == 0)) {
        break;
      }
      ApiStatus r = c.read_some(got, kReadBytes, deadline);
      if (!r.ok()) {
        return std::move(r).error().context(what.verb + " " + what.resource);
      }
      if (got.empty()) {
        if (until_close) {
          break;
        }
        return transport_error(Code::kIo, what.verb + " " + what.resource +
                                              (head->chunked && chunked.mid_body() ? ": connection cut mid-chunk"
                                                                                  : ": connection closed before the body ended"));
      }
      data = got;
    }
    if (head->chunked) {
      decoded.clear();
      auto used = chunked.feed(data, decoded);
      if (!used.ok()) {
        return transport_error(used.error().code, what.verb + " " + what.resource + ": response: " + used.error().message);
      }
      ApiStatus d = deliver(decoded);
      if (!d.ok()) {
        return d;
      }
    } else {
      if (head->content_length) {
        if (data.size() > left) {
          data = data.substr(0, static_cast<std::size_t>(left));  // bytes past the body: Connection: close, ignore
        }
        left -= data.size();
      }
      ApiStatus d = deliver(data);
      if (!d.ok()) {
        return d;
      }
    }
  }
  if (!success) {
    unauthorized = head->status == 401;
    const std::string* ra = head->header("Retry-After");
    return api_error_from_response(head->status, ra != nullptr ? std::string_view(*ra) : std::string_view(), error_body,
                                   what);
  }
  return Done{};
}

ApiResult<Client::Response> Client::request(std::string_view method, const std::string& path_and_query,
                                            std::string_view body, const RequestDescription& what,
                                            const Canceller* cancel) {
  Response resp;
  const std::size_t cap = opts_.max_response_bytes;
  ApiStatus r = exec(method, path_and_query, body, what, Clock::now() + opts_.request_timeout, cancel,
                     [&](std::string_view data) -> ApiStatus {
                       if (resp.body.size() + data.size() > cap) {
                         return transport_error(Code::kLimit, what.verb + " " + what.resource + ": response too large (> " +
                                                                  std::to_string(cap) + " bytes)");
                       }
                       resp.body.append(data);
                       return Done{};
                     });
  if (!r.ok()) {
    return std::move(r).error();
  }
  resp.status = 200;
  return resp;
}

ApiResult<Json> Client::get(const Resource& r, std::string_view ns, std::string_view name, const Canceller* cancel) {
  const RequestDescription what = describe("get", r, ns);
  auto resp = request("GET", resource_path(r, ns, name), "", what, cancel);
  if (!resp.ok()) {
    return std::move(resp).error();
  }
  return parse_body(resp->body, opts_.max_object_bytes, what);
}

ApiResult<ListPage> Client::list_page(const Resource& r, std::string_view ns, const ListOptions& opts,
                                      const Canceller* cancel) {
  const RequestDescription what = describe("list", r, ns);
  auto resp = request("GET", resource_path(r, ns) + list_query(opts), "", what, cancel);
  if (!resp.ok()) {
    return std::move(resp).error();
  }
  auto j = parse_body(resp->body, opts_.max_response_bytes, what);
  if (!j.ok()) {
    return std::move(j).error();
  }
  Json& list = *j;
  ListPage page;
  const Json* md = crypto::find_field(list, "metadata");
  if (md == nullptr || !md->is_object()) {
    return malformed(what, "list has no metadata");
  }
  page.resource_version = string_at(*md, "resourceVersion");
  page.continue_token = string_at(*md, "continue");
  if (page.resource_version.empty()) {
    return malformed(what, "list has no metadata.resourceVersion");
  }
  if (page.resource_version.size() > limits::kMaxKubeFieldBytes || page.continue_token.size() > limits::kMaxKubeFieldBytes) {
    return transport_error(Code::kLimit, what.verb + " " + what.resource + ": resourceVersion or continue token too long");
  }
  auto it = list.find("items");
  if (it == list.end() || it->is_null()) {
    return page;  // an empty list may omit items
  }
  if (!it->is_array()) {
    return malformed(what, "list items is not an array");
  }
  if (it->size() > opts_.max_list_items) {
    return transport_error(Code::kLimit, what.verb + " " + what.resource + ": too many items in one page (" +
                                             std::to_string(it->size()) + " > " + std::to_string(opts_.max_list_items) + ")");
  }
  page.items.reserve(it->size());
  for (Json& item : *it) {
    if (!item.is_object()) {
      return malformed(what, "list item is not an object");
    }
    page.items.push_back(std::move(item));
  }
  return page;
}

ApiResult<std::string> Client::list(const Resource& r, std::string_view ns, ListOptions opts,
                                    const std::function<ApiStatus(Json&& item)>& on_item, const Canceller* cancel) {
  opts.continue_token.clear();
  std::string rv;
  for (std::size_t pages = 0;; ++pages) {
    if (pages == limits::kMaxKubeListPages) {
      return transport_error(Code::kLimit, "list " + r.plural + ": too many pages (> " +
                                               std::to_string(limits::kMaxKubeListPages) + ")");
    }
    auto page = list_page(r, ns, opts, cancel);
    if (!page.ok()) {
      return std::move(page).error();
    }
    if (pages == 0) {
      rv = page->resource_version;
    }
    for (Json& item : page->items) {
      ApiStatus s = on_item(std::move(item));
      if (!s.ok()) {
        return std::move(s).error();
      }
    }
    if (page->continue_token.empty()) {
      return rv;
    }
    opts.continue_token = page->continue_token;
  }
}

ApiResult<Json> Client::create(const Resource& r, std::string_view ns, const Json& object, const Canceller* cancel) {
  const RequestDescription what = describe("create", r, ns);
  auto resp = request("POST", resource_path(r, ns), object.dump(), what, cancel);
  if (!resp.ok()) {
    return std::move(resp).error();
  }
  return parse_body(resp->body, opts_.max_object_bytes, what);
}

ApiResult<Json> Client::update(const Resource& r, std::string_view ns, std::string_view name, const Json& object,
                               const Canceller* cancel) {
  const RequestDescription what = describe("update", r, ns);
  auto resp = request("PUT", resource_path(r, ns, name), object.dump(), what, cancel);
  if (!resp.ok()) {
    return std::move(resp).error();
  }
  return parse_body(resp->body, opts_.max_object_bytes, what);
}

ApiResult<WatchEvent> parse_watch_event(std::string_view line, std::size_t max_object_bytes,
                                        const RequestDescription& what) {
  auto j = crypto::parse_json(line, crypto::JsonLimits{max_object_bytes + kEventEnvelopeBytes, limits::kMaxKubeJsonDepth});
  if (!j.ok()) {
    return transport_error(j.error().code, "watch " + what.resource + ": event: " + j.error().message);
  }
  if (!j->is_object()) {
    return malformed(what, "watch event is not an object");
  }
  const std::string type = string_at(*j, "type");
  auto obj = j->find("object");
  if (obj == j->end() || !obj->is_object()) {
    return malformed(what, "watch event has no object");
  }
  if (type == "ERROR") {
    // The in-stream error (RFC-less, apimachinery watch.Error): a Status inside a 200 stream.
    int code = 500;
    if (const Json* c = crypto::find_field(*obj, "code"); c != nullptr && c->is_number_integer()) {
      const auto v = c->get<std::int64_t>();
      code = v >= 100 && v <= 599 ? static_cast<int>(v) : 500;
    }
    ApiError e = api_error_from_response(code, "", obj->dump(), RequestDescription{"watch", what.resource, what.group, what.ns});
    return e;
  }
  WatchEvent ev;
  if (type == "ADDED") {
    ev.type = EventType::kAdded;
  } else if (type == "MODIFIED") {
    ev.type = EventType::kModified;
  } else if (type == "DELETED") {
    ev.type = EventType::kDeleted;
  } else if (type == "BOOKMARK") {
    ev.type = EventType::kBookmark;
  } else {
    return malformed(what, "unknown watch event type");
  }
  const Json* md = crypto::find_field(*obj, "metadata");
  if (md == nullptr || !md->is_object()) {
    return malformed(what, "watch event object has no metadata");
  }
  ev.resource_version = string_at(*md, "resourceVersion");
  if (ev.resource_version.empty() || ev.resource_version.size() > limits::kMaxKubeFieldBytes) {
    return malformed(what, "watch event object has no usable metadata.resourceVersion");
  }
  ev.object = std::move(*obj);
  return ev;
}

ApiResult<WatchEnd> Client::watch(const Resource& r, std::string_view ns, const WatchOptions& opts,
                                  const std::function<ApiStatus(WatchEvent&&)>& on_event, const Canceller* cancel) {
  const RequestDescription what = describe("watch", r, ns);
  std::string q;
  add_param(q, "watch", "1");
  if (!opts.resource_version.empty()) {
    add_param(q, "resourceVersion", opts.resource_version);
  }
  if (opts.allow_bookmarks) {
    add_param(q, "allowWatchBookmarks", "true");
  }
  const std::uint32_t timeout = std::max<std::uint32_t>(opts.timeout_seconds, 1);
  add_param(q, "timeoutSeconds", std::to_string(timeout));
  if (!opts.label_selector.empty()) {
    add_param(q, "labelSelector", opts.label_selector);
  }
  if (!opts.field_selector.empty()) {
    add_param(q, "fieldSelector", opts.field_selector);
  }
  WatchEnd end;
  end.last_resource_version = opts.resource_version;
  LineSplitter lines(opts_.max_object_bytes + kEventEnvelopeBytes);
  ApiError pending;
  bool have_pending = false;
  const Deadline deadline = Clock::now() + std::chrono::seconds(timeout) + opts_.watch_grace;
  ApiStatus s = exec("GET", resource_path(r, ns) + q, "", what, deadline, cancel, [&](std::string_view data) -> ApiStatus {
    Result<void> fed = lines.feed(data, [&](std::string_view line) -> Result<void> {
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) {
        line.remove_suffix(1);
      }
      if (line.empty()) {
        return ok_status();
      }
      auto ev = parse_watch_event(line, opts_.max_object_bytes, what);
      if (!ev.ok()) {
        pending = std::move(ev).error();
        have_pending = true;
        return make_error(pending.code, "stop");
      }
      std::string rv = ev->resource_version;
      ApiStatus handled = on_event(std::move(ev).value());
      if (!handled.ok()) {
        pending = std::move(handled).error();
        have_pending = true;
        return make_error(pending.code, "stop");
      }
      end.last_resource_version = std::move(rv);
      ++end.events;
      return ok_status();
    });
    if (!fed.ok()) {
      if (have_pending) {
        return pending;
      }
      return transport_error(fed.error().code, "watch " + r.plural + ": " + fed.error().message);
    }
    return Done{};
  });
  if (!s.ok()) {
    return std::move(s).error();
  }
  if (lines.partial()) {
    return transport_error(Code::kMalformed, "watch " + r.plural + ": stream ended inside an event");
  }
  return end;
}

}  // namespace modelgate::kube
