// http.h: the HTTP/1.1 wire format the Kubernetes client reads: a response head (status line and
// headers), Content-Length / chunked / read-to-close bodies (RFC 9112 §6, §7.1), and a splitter
// that turns a streamed body into newline-terminated lines. Pure: no sockets (transport.h does
// I/O). Not a general HTTP library: no HTTP/2, no compression, no 1xx, no trailers kept.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace modelgate::kube {

struct Header {
  std::string name;
  std::string value;
};

// ResponseHead is a parsed status line and header section.
struct ResponseHead {
  int status = 0;                 // 100..599
  std::string reason;             // "OK", "Gone", ...
  std::vector<Header> headers;    // in order received
  bool chunked = false;           // Transfer-Encoding: chunked
  std::optional<std::uint64_t> content_length;  // absent: chunked, or read until close

  // header returns the first value of `name` (case-insensitive), or nullptr.
  const std::string* header(std::string_view name) const;
};

// head_end returns the offset just past the "\r\n\r\n" that ends a response head in `bytes`, or
// 0 when it is not complete yet.
std::size_t head_end(std::string_view bytes);

// parse_response_head parses a complete head (status line, headers, the empty line; CRLF line
// ends, a bare LF tolerated as RFC 9112 §2.2 allows). Errors: kMalformed (no HTTP/1.x status
// line, a header without ':', obs-fold, Content-Length that is not one decimal number or
// conflicts with itself, a Transfer-Encoding other than exactly "chunked"), kLimit (over
// limits::kMaxKubeHeaderBytes or kMaxKubeHeaders). Thread-safe.
[[nodiscard]] Result<ResponseHead> parse_response_head(std::string_view bytes);

// ChunkedDecoder decodes a chunked body incrementally: feed() any split of the wire bytes, in
// order; chunk boundaries are invisible to the caller. Chunk extensions are skipped; trailers are
// read and dropped. Not thread-safe (one per response).
class ChunkedDecoder {
 public:
  // feed consumes bytes from `in`, appends the decoded data to `out`, and returns how many bytes
  // of `in` were consumed (all of them unless the body ended: bytes after the last chunk are
  // left). Errors: kMalformed (bad size line, missing CRLF after data, a size over 2^60),
  // kLimit (a size or trailer line over limits::kMaxKubeChunkLineBytes).
  [[nodiscard]] Result<std::size_t> feed(std::string_view in, std::string& out);
  // done is true once the terminating 0-size chunk and its trailer section were read.
  bool done() const { return state_ == State::kDone; }
  // mid_body is true when bytes of an unfinished chunk (or size line) were seen: a connection
  // that closes now was cut mid-chunk.
  bool mid_body() const { return state_ != State::kSize || !line_.empty(); }

 private:
  enum class State { kSize, kData, kDataCr, kDataLf, kTrailer, kDone };
  State state_ = State::kSize;
  std::uint64_t remaining_ = 0;
  std::string line_;
};

// LineSplitter splits a body stream into lines ending in '\n' (the '\n' removed; a '\r' before it
// is kept, JSON ignores it). Lines may span any number of feeds. Empty lines are skipped.
// Not thread-safe.
class LineSplitter {
 public:
  explicit LineSplitter(std::size_t max_line) : max_line_(max_line) {}
  // feed appends `data` and calls on_line for every complete line, stopping at the first error
  // on_line returns. Errors: kLimit when a line grows past max_line (the line is dropped and the
  // stream must be abandoned), or on_line's error.
  [[nodiscard]] Result<void> feed(std::string_view data, const std::function<Result<void>(std::string_view)>& on_line);
  // partial is true when bytes of an unfinished line are buffered (a stream cut mid-line).
  bool partial() const { return !buf_.empty(); }

 private:
  std::size_t max_line_;
  std::string buf_;
};

// url_encode percent-encodes everything outside RFC 3986's unreserved set (for query values:
// continue tokens, label selectors).
std::string url_encode(std::string_view s);

}  // namespace modelgate::kube
