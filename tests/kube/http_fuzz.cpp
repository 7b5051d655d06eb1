// fuzz-max-len: 65536
// http_fuzz.cpp: a whole HTTP/1.1 response as the apiserver would send it (head, chunked or
// Content-Length body, newline-delimited watch events). Properties: never kInternal; a head that
// parses has a status in 100..599 and not both chunked and Content-Length; the chunked decoder
// gives the same bytes whether fed whole or one byte at a time and never consumes past its end;
// every line the splitter yields is within its cap and holds no '\n'; a watch event that parses
// has a non-empty resourceVersion.
#include <cstdint>
#include <string>

#include "fuzz/fuzz_check.h"
#include "kube/client.h"
#include "kube/http.h"

using namespace modelgate;
using namespace modelgate::kube;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in = fuzz::as_text(data, size);
  const std::size_t end = head_end(in);
  if (end == 0) {
    return 0;
  }
  auto head = parse_response_head(in.substr(0, end));
  if (!head.ok()) {
    FUZZ_CHECK(head.error().code != Code::kInternal, head.error().message);
    return 0;
  }
  FUZZ_CHECK(head->status >= 100 && head->status <= 599, "status range");
  FUZZ_CHECK(!(head->chunked && head->content_length), "chunked and content-length");
  const std::string_view body = in.substr(end);
  std::string whole;
  std::string bytewise;
  ChunkedDecoder a;
  auto used = a.feed(body, whole);
  ChunkedDecoder b;
  bool b_ok = true;
  std::size_t b_used = 0;
  for (std::size_t i = 0; i < body.size() && !b.done(); ++i) {
    auto r = b.feed(body.substr(i, 1), bytewise);
    if (!r.ok()) {
      b_ok = false;
      break;
    }
    b_used += *r;
  }
  FUZZ_CHECK(used.ok() == b_ok, "whole and bytewise decoding agree on errors");
  if (used.ok()) {
    FUZZ_CHECK(*used == b_used, "consumed the same bytes");
    FUZZ_CHECK(whole == bytewise, "decoded the same bytes");
    FUZZ_CHECK(*used <= body.size(), "consumed no more than given");
  } else {
    FUZZ_CHECK(used.error().code != Code::kInternal, used.error().message);
  }
  LineSplitter lines(4096);
  const RequestDescription what{"watch", "persistentvolumeclaims", "", ""};
  auto fed = lines.feed(head->chunked ? std::string_view(whole) : body, [&](std::string_view line) -> Result<void> {
    FUZZ_CHECK(line.size() <= 4096 && line.find('\n') == std::string_view::npos, "line bounds");
    auto ev = parse_watch_event(line, 4096, what);
    if (ev.ok()) {
      FUZZ_CHECK(!ev->resource_version.empty(), "event without a resourceVersion");
    } else {
      FUZZ_CHECK(ev.error().code != Code::kInternal, ev.error().message);
    }
    return ok_status();
  });
  if (!fed.ok()) {
    FUZZ_CHECK(fed.error().code == Code::kLimit, fed.error().message);
  }
  return 0;
}
