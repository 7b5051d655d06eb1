// worker_pool.h: the TLS listener's worker threads (a cpp-httplib TaskQueue), which can ask for
// an idle keep-alive connection to be closed when a new connection would otherwise wait.
// Not connection tracking (server.cpp decides which connection is idle). Internal to admission/.
#pragma once

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace modelgate::admission {

// WorkerPool is cpp-httplib's ThreadPool plus one thing: a keep-alive connection holds its worker
// while it waits for its next request, so when a new connection finds every worker taken,
// `on_saturated` is asked to free a worker (close an idle or stalled connection), instead of the
// newcomer waiting up to idleTimeout. It is asked only after kSaturationGrace with a connection
// still waiting, and again every kSaturationGrace while one waits (from the pool's own reaper
// thread, outside its lock): a client that reconnects after its keep-alive limit finds its old
// worker busy for a moment, and closing an "idle" connection at once raced that connection's next
// request. Thread-safe.
class WorkerPool : public httplib::TaskQueue {
 public:
  static constexpr std::chrono::milliseconds kSaturationGrace{50};
  WorkerPool(std::size_t n, std::function<void()> on_saturated);
  ~WorkerPool() override;

  void enqueue(std::function<void()> fn) override;
  // waiting is how many accepted connections wait with no worker free to take them (a job just
  // queued while a worker is free is not waiting).
  std::size_t waiting();
  // shutdown serves every queued connection, then joins the workers.
  void shutdown() override;

 private:
  void work();
  void reap();
  // excess is how many connections have no worker (running plus queued beyond size_); mu_ held.
  std::size_t excess() const;

  const std::size_t size_;
  std::function<void()> on_saturated_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  std::size_t running_ = 0;
  bool shutdown_ = false;
  bool saturated_ = false;  // a connection is waiting; the reaper owns what happens next
  std::condition_variable reap_cv_;
  std::thread reaper_;
};

}  // namespace modelgate::admission
