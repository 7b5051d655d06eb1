// http_test.cpp: the HTTP/1.1 framing against the real apiserver captures in
// ../shared/vectors/kube-api/ (the chunked raw watch bodies and their de-chunked NDJSON, every
// captured header section, one whole response off the socket).
#include <catch2/catch.hpp>

#include <filesystem>
#include <random>

#include "kube/http.h"
#include "replay_server.h"
#include "test_support.h"

using namespace modelgate;
using namespace modelgate::kube;
namespace fs = std::filesystem;
using testing::kube_vector;
using testing::read_file;

namespace {

std::vector<std::string> captures_with_suffix(const std::string& suffix) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(kube_vector(""))) {
    const std::string n = e.path().filename().string();
    if (n.size() > suffix.size() && n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0) {
      out.push_back(n.substr(0, n.size() - suffix.size()));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// dechunk feeds `raw` to a decoder in the pieces `split` chooses.
std::string dechunk(const std::string& raw, const std::function<std::size_t(std::size_t)>& split) {
  ChunkedDecoder d;
  std::string out;
  std::size_t off = 0;
  while (off < raw.size()) {
    const std::size_t n = std::min(split(raw.size() - off), raw.size() - off);
    auto used = d.feed(std::string_view(raw).substr(off, n), out);
    REQUIRE(used.ok());
    REQUIRE(*used == n);
    off += n;
  }
  REQUIRE(d.done());
  return out;
}

}  // namespace

TEST_CASE("every captured chunked watch body de-chunks to the captured NDJSON, however the bytes are split") {
  const auto names = captures_with_suffix(".chunked-raw.txt");
  REQUIRE(names.size() == 8);  // pinned: a capture added or lost must be noticed
  std::mt19937 rng(7);
  for (const std::string& name : names) {
    INFO(name);
    const std::string raw = read_file(kube_vector(name + ".chunked-raw.txt"));
    const std::string want = read_file(kube_vector(name + ".ndjson"));
    CHECK(dechunk(raw, [](std::size_t left) { return left; }) == want);
    CHECK(dechunk(raw, [](std::size_t) { return std::size_t{1}; }) == want);
    CHECK(dechunk(raw, [&](std::size_t) { return std::size_t{1} + rng() % 700; }) == want);
  }
}

TEST_CASE("a whole watch response as it came off the socket parses into head and events") {
  const std::string raw = read_file(kube_vector("watch-pvcs-timed.http-response.raw"));
  const std::size_t end = head_end(raw);
  REQUIRE(end > 0);
  auto head = parse_response_head(std::string_view(raw).substr(0, end));
  REQUIRE(head.ok());
  CHECK(head->status == 200);
  CHECK(head->chunked);
  CHECK_FALSE(head->content_length.has_value());
  REQUIRE(head->header("content-type") != nullptr);
  CHECK(*head->header("content-type") == "application/json");
  ChunkedDecoder d;
  std::string body;
  auto used = d.feed(std::string_view(raw).substr(end), body);
  REQUIRE(used.ok());
  CHECK(d.done());
  CHECK(body == read_file(kube_vector("watch-pvcs-timed.ndjson")));
  // Lines, whatever the split: the same events as the NDJSON has lines.
  LineSplitter lines(1 << 20);
  std::vector<std::string> got;
  for (std::size_t i = 0; i < body.size(); i += 13) {
    REQUIRE(lines.feed(std::string_view(body).substr(i, 13), [&](std::string_view l) {
                    got.emplace_back(l);
                    return ok_status();
                  }).ok());
  }
  CHECK_FALSE(lines.partial());
  REQUIRE(got.size() == 4);  // MODIFIED, MODIFIED, BOOKMARK, BOOKMARK (watch-pvcs-timed.txt)
  CHECK(got[2] == got[3]);   // the two identical bookmarks
}

TEST_CASE("every captured HTTP/1.1 header section parses, with the status its name says") {
  int parsed = 0;
  for (const std::string& name : captures_with_suffix(".headers.txt")) {
    INFO(name);
    const std::string text = read_file(kube_vector(name + ".headers.txt"));
    if (text.rfind("HTTP/2", 0) == 0) {
      CHECK_FALSE(parse_response_head(text).ok());  // HTTP/2 captures are not ours to read
      continue;
    }
    REQUIRE(head_end(text) == text.size());
    auto head = parse_response_head(text);
    REQUIRE(head.ok());
    ++parsed;
    if (name.rfind("error-", 0) == 0) {
      CHECK(head->status == std::stoi(name.substr(6, 3)));
    }
    if (head->content_length) {
      CHECK(*head->content_length == fs::file_size(kube_vector(name + ".json")));
    } else {
      CHECK(head->chunked);
    }
  }
  CHECK(parsed >= 50);
}

TEST_CASE("a response head with both Transfer-Encoding and Content-Length is refused") {
  auto h = parse_response_head("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n");
  REQUIRE_FALSE(h.ok());
  CHECK(h.error().code == Code::kMalformed);
  CHECK_FALSE(parse_response_head("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n").ok());
  CHECK_FALSE(parse_response_head("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n").ok());
  CHECK_FALSE(parse_response_head("HTTP/1.1 200 OK\r\n folded\r\n\r\n").ok());
  CHECK_FALSE(parse_response_head("HTTP/1.1 2000 OK\r\n\r\n").ok());
}

TEST_CASE("a malformed chunk size or a missing CRLF after chunk data is an error, not data") {
  std::string out;
  ChunkedDecoder a;
  CHECK(a.feed("zz\r\nabc", out).error().code == Code::kMalformed);
  ChunkedDecoder b;
  CHECK(b.feed("3\r\nabcX\r\n", out).error().code == Code::kMalformed);
  ChunkedDecoder c;
  CHECK(c.feed(std::string(2000, '1'), out).error().code == Code::kLimit);
  ChunkedDecoder d;
  CHECK(d.feed("fffffffffffffffffff\r\n", out).error().code == Code::kMalformed);
}

TEST_CASE("a line longer than the cap is refused whether it arrives whole or in pieces") {
  LineSplitter s(10);
  auto keep = [](std::string_view) { return ok_status(); };
  CHECK(s.feed("0123456789\n", keep).ok());
  CHECK(s.feed("01234", keep).ok());
  auto r = s.feed("567890\n", keep);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == Code::kLimit);
}
