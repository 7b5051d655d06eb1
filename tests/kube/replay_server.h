// replay_server.h: a loopback HTTPS server that answers the kube client with real apiserver
// responses from ../shared/vectors/kube-api/, byte for byte (headers files, bodies, the chunked raw
// captures of watches), read in place. Faults are applied to those bytes: cut the connection after
// N bytes, hold it open after the bytes (a stream that never ends), trickle them slowly.
// Not an apiserver: it matches requests to a script and records what it was asked.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kube/config.h"

namespace modelgate::testing {

// Reply is what the server writes after reading one request head.
struct Reply {
  std::string bytes;                  // status line, headers, body (as framed on the wire)
  std::size_t cut_after = std::string::npos;  // close the TCP connection after this many bytes
  bool hold_open = false;             // after the bytes, keep the connection open (never end)
  std::size_t piece = 0;              // write in pieces of this many bytes (0: all at once)
  std::chrono::milliseconds pause{0};  // between pieces
};

// kube_vector is ../shared/vectors/kube-api/<name>.
std::filesystem::path kube_vector(const std::string& name);

// vector_reply replays capture `name`: <name>.headers.txt, then <name>.chunked-raw.txt when it
// exists, else <name>.json, framed as one chunk (+ the last chunk) when the captured headers say
// chunked (the capture kept the body, not Go's chunk boundaries), or as is under Content-Length.
Reply vector_reply(const std::string& name);
// raw_reply replays a file that holds a whole response (watch-pvcs-timed.http-response.raw).
Reply raw_reply(const std::string& file);

struct Route {
  std::string method = "GET";
  std::string path;                            // without the query
  std::map<std::string, std::string> query;    // params that must be present with these (decoded) values; "*" any
  std::vector<std::string> absent;             // params that must not be present
  Reply reply;
  bool repeat = false;                          // serve every match, not only the first
};

struct Recorded {
  std::string method;
  std::string path;
  std::map<std::string, std::string> query;  // decoded
  std::string authorization;
  std::string user_agent;
  std::string body;
  bool matched = false;
};

// Pki is a CA and a leaf certificate for 127.0.0.1 made with the openssl CLI, once per process.
struct Pki {
  std::string ca_pem;
  std::filesystem::path leaf_cert;
  std::filesystem::path leaf_key;
  std::string other_ca_pem;  // a CA that did not sign the leaf
};
const Pki& test_pki();

// ReplayServer listens on 127.0.0.1, port 0. Unmatched requests get no answer: the connection is
// held open until the client goes or the server stops (what a silent apiserver looks like).
// Thread-safe; never asserts (Catch2 is not thread-safe).
class ReplayServer {
 public:
  ReplayServer();
  ~ReplayServer();
  ReplayServer(const ReplayServer&) = delete;
  ReplayServer& operator=(const ReplayServer&) = delete;

  void add(Route r);
  // hold_for_routes: an unmatched request waits (recorded, unanswered) until a route that matches
  // it is added, and is then answered by it, instead of being held silent forever. Lets a test
  // decide the moment a watch delivers its next event.
  void hold_for_routes(bool on);
  std::uint16_t port() const { return port_; }
  // config is a ClusterConfig for this server with a static bearer token.
  kube::ClusterConfig config(const std::string& token = "replay-token") const;
  std::vector<Recorded> requests() const;
  // wait_requests waits (up to `bound`) until at least n requests arrived; returns the count.
  std::size_t wait_requests(std::size_t n, std::chrono::milliseconds bound = std::chrono::seconds(20)) const;
  void stop();

 private:
  void accept_loop();
  void serve(int fd);
  int listen_fd_ = -1;
  int stop_fd_ = -1;
  std::uint16_t port_ = 0;
  void* ctx_ = nullptr;  // SSL_CTX
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<Route> routes_;
  std::vector<bool> used_;
  std::vector<Recorded> recorded_;
  std::vector<int> conn_fds_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
  bool stopped_ = false;
  bool hold_for_routes_ = false;
};

}  // namespace modelgate::testing
