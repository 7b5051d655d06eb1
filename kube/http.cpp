#include "kube/http.h"

#include <algorithm>
#include <cctype>

#include "base/limits.h"
#include "crypto/encoding.h"

namespace modelgate::kube {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// RFC 9110 §5.6.2 token characters: what a header name may contain.
bool is_tchar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

Result<std::uint64_t> parse_decimal(std::string_view s) {
  if (s.empty() || s.size() > 18) {
    return make_error(Code::kMalformed, "content-length is not a decimal number");
  }
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') {
      return make_error(Code::kMalformed, "content-length is not a decimal number");
    }
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

}  // namespace

const std::string* ResponseHead::header(std::string_view name) const {
  for (const Header& h : headers) {
    if (iequals(h.name, name)) {
      return &h.value;
    }
  }
  return nullptr;
}

std::size_t head_end(std::string_view bytes) {
  // RFC 9112 §2.2: a recipient may accept a bare LF as a line terminator.
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] != '\n') {
      continue;
    }
    if (i + 1 < bytes.size() && bytes[i + 1] == '\n') {
      return i + 2;
    }
    if (i + 2 < bytes.size() && bytes[i + 1] == '\r' && bytes[i + 2] == '\n') {
      return i + 3;
    }
  }
  return 0;
}

Result<ResponseHead> parse_response_head(std::string_view bytes) {
  if (bytes.size() > limits::kMaxKubeHeaderBytes) {
    return make_error(Code::kLimit, "response head too large (" + std::to_string(bytes.size()) + " > " +
                                        std::to_string(limits::kMaxKubeHeaderBytes) + " bytes)");
  }
  ResponseHead head;
  bool first = true;
  bool saw_te = false;
  while (!bytes.empty()) {
    std::size_t nl = bytes.find('\n');
    if (nl == std::string_view::npos) {
      return make_error(Code::kMalformed, "response head is not terminated by an empty line");
    }
    std::string_view line = bytes.substr(0, nl);
    bytes.remove_prefix(nl + 1);
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (first) {
      first = false;
      // status-line = HTTP-version SP status-code SP [ reason-phrase ]  (RFC 9112 §4)
      if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || (line[7] != '0' && line[7] != '1') || line[8] != ' ' ||
          !std::isdigit(static_cast<unsigned char>(line[9])) || !std::isdigit(static_cast<unsigned char>(line[10])) ||
          !std::isdigit(static_cast<unsigned char>(line[11])) || (line.size() > 12 && line[12] != ' ')) {
        return make_error(Code::kMalformed, "not an HTTP/1.x status line");
      }
      head.status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
      if (head.status < 100) {
        return make_error(Code::kMalformed, "status code out of range");
      }
      head.reason = std::string(line.size() > 13 ? line.substr(13) : std::string_view());
      continue;
    }
    if (line.empty()) {
      if (!bytes.empty()) {
        return make_error(Code::kMalformed, "bytes after the end of the response head");
      }
      break;
    }
    if (line.front() == ' ' || line.front() == '\t') {
      return make_error(Code::kMalformed, "obsolete header line folding");  // RFC 9112 §5.2
    }
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0 ||
        !std::all_of(line.begin(), line.begin() + static_cast<std::ptrdiff_t>(colon), is_tchar)) {
      return make_error(Code::kMalformed, "malformed header line");
    }
    if (head.headers.size() >= limits::kMaxKubeHeaders) {
      return make_error(Code::kLimit, "too many headers (> " + std::to_string(limits::kMaxKubeHeaders) + ")");
    }
    Header h{std::string(line.substr(0, colon)), std::string(trim(line.substr(colon + 1)))};
    if (iequals(h.name, "content-length")) {
      MG_ASSIGN_OR_RETURN(std::uint64_t n, parse_decimal(h.value));
      if (head.content_length && *head.content_length != n) {
        return make_error(Code::kMalformed, "conflicting content-length headers");
      }
      head.content_length = n;
    } else if (iequals(h.name, "transfer-encoding")) {
      // Only "chunked" alone: a coding we do not decode must not be read as the body.
      if (saw_te || !iequals(h.value, "chunked")) {
        return make_error(Code::kMalformed, "unsupported transfer-encoding");
      }
      saw_te = true;
      head.chunked = true;
    }
    head.headers.push_back(std::move(h));
  }
  if (first) {
    return make_error(Code::kMalformed, "empty response head");
  }
  if (head.chunked) {
    // RFC 9112 §6.3: Transfer-Encoding overrides Content-Length (and the pair smells of smuggling).
    if (head.content_length) {
      return make_error(Code::kMalformed, "both transfer-encoding and content-length");
    }
  }
  return head;
}

Result<std::size_t> ChunkedDecoder::feed(std::string_view in, std::string& out) {
  std::size_t i = 0;
  while (i < in.size() && state_ != State::kDone) {
    const char c = in[i];
    switch (state_) {
      case State::kSize:
      case State::kTrailer: {
        if (c != '\n') {
          if (line_.size() >= limits::kMaxKubeChunkLineBytes) {
            return make_error(Code::kLimit, "chunk size line too long");
          }
          line_.push_back(c);
          ++i;
          break;
        }
        ++i;
        std::string_view line = line_;
        if (!line.empty() && line.back() == '\r') {
          line.remove_suffix(1);
        }
        if (state_ == State::kTrailer) {
          if (line.empty()) {
            state_ = State::kDone;
          }
          line_.clear();
          break;
        }
        // chunk = chunk-size [ chunk-ext ] CRLF  (RFC 9112 §7.1)
        std::string_view size = line.substr(0, line.find(';'));
        size = trim(size);
        if (size.empty()) {
          return make_error(Code::kMalformed, "empty chunk size");
        }
        std::uint64_t n = 0;
        for (char h : size) {
          int d = 0;
          if (h >= '0' && h <= '9') {
            d = h - '0';
          } else if (h >= 'a' && h <= 'f') {
            d = h - 'a' + 10;
          } else if (h >= 'A' && h <= 'F') {
            d = h - 'A' + 10;
          } else {
            return make_error(Code::kMalformed, "chunk size is not hexadecimal");
          }
          if (n > (std::uint64_t{1} << 56)) {
            return make_error(Code::kMalformed, "chunk size too large");
          }
          n = n * 16 + static_cast<std::uint64_t>(d);
        }
        line_.clear();
        remaining_ = n;
        state_ = n == 0 ? State::kTrailer : State::kData;
        break;
      }
      case State::kData: {
        const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, in.size() - i));
        out.append(in.substr(i, take));
        i += take;
        remaining_ -= take;
        if (remaining_ == 0) {
          state_ = State::kDataCr;
        }
        break;
      }
      case State::kDataCr:
        if (c == '\r') {
          state_ = State::kDataLf;
          ++i;
          break;
        }
        [[fallthrough]];  // a bare LF is tolerated, as for the head
      case State::kDataLf:
        if (c != '\n') {
          return make_error(Code::kMalformed, "chunk data not followed by CRLF");
        }
        ++i;
        state_ = State::kSize;
        break;
      case State::kDone:
        break;
    }
  }
  return i;
}

Result<void> LineSplitter::feed(std::string_view data, const std::function<Result<void>(std::string_view)>& on_line) {
  while (!data.empty()) {
    const std::size_t nl = data.find('\n');
    const std::size_t take = nl == std::string_view::npos ? data.size() : nl;
    if (buf_.size() + take > max_line_) {
      buf_.clear();
      return make_error(Code::kLimit, "line too long (> " + std::to_string(max_line_) + " bytes)");
    }
    if (nl == std::string_view::npos) {
      buf_.append(data);
      return ok_status();
    }
    Result<void> r;
    if (buf_.empty()) {
      if (take > 0) {
        r = on_line(data.substr(0, take));  // the common case: a whole line inside one read
      }
    } else {
      buf_.append(data.substr(0, take));
      std::string line;
      line.swap(buf_);
      r = on_line(line);
    }
    if (!r.ok()) {
      return r;
    }
    data.remove_prefix(take + 1);
  }
  return ok_status();
}

std::string url_encode(std::string_view s) { return crypto::url_encode(s); }

}  // namespace modelgate::kube
