// worker_pool.cpp: worker threads for the TLS listener; see worker_pool.h.
#include "admission/worker_pool.h"

namespace modelgate::admission {

WorkerPool::WorkerPool(std::size_t n, std::function<void()> on_saturated)
    : size_(n), on_saturated_(std::move(on_saturated)) {
  for (std::size_t i = 0; i < n; ++i) {
    threads_.emplace_back([this] { work(); });
  }
}

void WorkerPool::enqueue(std::function<void()> fn) {
  bool saturated = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    jobs_.push_back(std::move(fn));
    saturated = running_ + jobs_.size() > size_;
  }
  cv_.notify_one();
  if (saturated && on_saturated_) {
    on_saturated_();
  }
}

std::size_t WorkerPool::waiting() {
  std::lock_guard<std::mutex> lock(mu_);
  return running_ + jobs_.size() > size_ ? running_ + jobs_.size() - size_ : 0;
}

void WorkerPool::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutdown_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : threads_) {
    t.join();
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
