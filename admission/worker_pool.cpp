// worker_pool.cpp: worker threads for the TLS listener; see worker_pool.h.
#include "admission/worker_pool.h"

namespace modelgate::admission {

WorkerPool::WorkerPool(std::size_t n, std::function<void()> on_saturated)
    : size_(n), on_saturated_(std::move(on_saturated)) {
  for (std::size_t i = 0; i < n; ++i) {
    threads_.emplace_back([this] { work(); });
  }
  reaper_ = std::thread([this] { reap(); });
}

WorkerPool::~WorkerPool() { shutdown(); }

void WorkerPool::reap() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!shutdown_) {
    reap_cv_.wait(lock, [this] { return shutdown_ || saturated_; });
    if (shutdown_) {
      return;
    }
    // Give a worker the chance to come free on its own (its client closing after
    // "Connection: close", or finishing a request) before a connection is taken away.
    reap_cv_.wait_for(lock, kSaturationGrace, [this] { return shutdown_; });
    // Still waiting: ask again, and keep asking every grace period while a connection waits (a
    // stalled connection may become one to cut only later).
    saturated_ = excess() > 0;
    if (saturated_ && on_saturated_ && !shutdown_) {
      lock.unlock();
      on_saturated_();
      lock.lock();
    }
  }
}

void WorkerPool::enqueue(std::function<void()> fn) {
  bool saturated = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    jobs_.push_back(std::move(fn));
    saturated = excess() > 0;
    if (saturated) {
      saturated_ = true;
    }
  }
  cv_.notify_one();
  if (saturated) {
    reap_cv_.notify_one();
  }
}

std::size_t WorkerPool::excess() const {
  const std::size_t taken = running_ + jobs_.size();
  return taken > size_ ? taken - size_ : 0;
}

std::size_t WorkerPool::waiting() {
  std::lock_guard<std::mutex> lock(mu_);
  return excess();
}

void WorkerPool::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutdown_ = true;
  }
  cv_.notify_all();
  reap_cv_.notify_all();
  if (reaper_.joinable()) {
    reaper_.join();
  }
  for (std::thread& t : threads_) {
    if (t.joinable()) {  // idempotent: cpp-httplib calls shutdown(), and so does the destructor
      t.join();
    }
  }
}

void WorkerPool::work() {
  while (true) {
    std::function<void()> fn;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return shutdown_ || !jobs_.empty(); });
      if (jobs_.empty()) {
        return;  // shutdown, and every queued connection was served
      }
      fn = std::move(jobs_.front());
      jobs_.pop_front();
      ++running_;
    }
    fn();
    std::lock_guard<std::mutex> lock(mu_);
    --running_;
  }
}

}  // namespace modelgate::admission
