// sha256.cpp: the streaming SHA-256 hasher (buffering, FIPS 180-4 §5.1.1 padding) and the
// multi-stream driver that feeds several hashers through one multi-lane kernel.
// Not the compression itself (sha256_*.cpp) nor the choice of kernel (sha256_dispatch.cpp).
#include "crypto/sha256.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstdint>
#include <cstring>

#include "crypto/sha256_kernels.h"

namespace modelgate::crypto {
namespace {

// FIPS 180-4 §5.3.3: the initial hash value H(0).
constexpr std::uint32_t kInitialState[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                            0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
constexpr std::size_t kBlockBytes = 64;
// The widest multi-lane kernel we build (AVX-512 has 16 lanes); the driver keeps one slot per
// lane on the stack.
constexpr std::size_t kMaxLanes = 16;

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "modelgate: sha256: %s\n", what);
  std::abort();
}

}  // namespace

Sha256::Sha256(const Sha256Backend& backend) : backend_(&backend) { reset(); }

void Sha256::reset() {
  std::memcpy(state_, kInitialState, sizeof(state_));
  total_bytes_ = 0;
  buffered_ = 0;
}

void Sha256::update(std::string_view data) {
  update(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(data.data()),
                                       data.size()));
}

void Sha256::update(std::span<const std::uint8_t> data) {
  total_bytes_ += data.size();
  const std::uint8_t* p = data.data();
  std::size_t n = data.size();
  if (buffered_ > 0) {
    const std::size_t take = std::min(n, kBlockBytes - buffered_);
    std::memcpy(buffer_.data() + buffered_, p, take);
    buffered_ += take;
    p += take;
    n -= take;
    if (buffered_ < kBlockBytes) {
      return;
    }
    backend_->compress1(state_, buffer_.data(), 1);
    buffered_ = 0;
  }
  const std::size_t blocks = n / kBlockBytes;
  if (blocks > 0) {
    backend_->compress1(state_, p, blocks);
    p += blocks * kBlockBytes;
    n -= blocks * kBlockBytes;
  }
  if (n > 0) {
    std::memcpy(buffer_.data(), p, n);
    buffered_ = n;
  }
}

Sha256Digest Sha256::final() {
  // §5.1.1: append a 1 bit, zeros up to 56 mod 64 bytes, then the message length in bits as a
  // 64-bit big-endian integer. Messages of 2^61 bytes or more are outside SHA-256's domain.
  const std::uint64_t bit_length = total_bytes_ << 3;
  buffer_[buffered_++] = 0x80;
  if (buffered_ > kBlockBytes - 8) {
    std::memset(buffer_.data() + buffered_, 0, kBlockBytes - buffered_);
    backend_->compress1(state_, buffer_.data(), 1);
    buffered_ = 0;
  }
  std::memset(buffer_.data() + buffered_, 0, kBlockBytes - 8 - buffered_);
  for (int i = 0; i < 8; ++i) {
    buffer_[kBlockBytes - 1 - i] = static_cast<std::uint8_t>(bit_length >> (8 * i));
  }
  backend_->compress1(state_, buffer_.data(), 1);
  // §6.2.2: the digest is H0..H7, each big-endian.
  Sha256Digest digest;
  for (int i = 0; i < 8; ++i) {
    digest[4 * i] = static_cast<std::uint8_t>(state_[i] >> 24);
    digest[4 * i + 1] = static_cast<std::uint8_t>(state_[i] >> 16);
    digest[4 * i + 2] = static_cast<std::uint8_t>(state_[i] >> 8);
    digest[4 * i + 3] = static_cast<std::uint8_t>(state_[i]);
  }
  reset();
  return digest;
}

Sha256Digest Sha256::hash(std::span<const std::uint8_t> data, const Sha256Backend& backend) {
  Sha256 hasher(backend);
  hasher.update(data);
  return hasher.final();
}

void sha256_update_many(std::span<Sha256* const> hashers,
                        std::span<const std::span<const std::uint8_t>> data) {
  if (hashers.size() != data.size()) {
    die("sha256_update_many: hashers and data differ in count");
  }
  if (hashers.empty()) {
    return;
  }
  const Sha256Backend& backend = *hashers[0]->backend_;
  const std::size_t lanes = backend.lanes;
  if (lanes > kMaxLanes) {
    die("sha256_update_many: backend has more lanes than the driver supports");
  }
  // The same hasher twice would be two sequential updates of one stream; lanes cannot express
  // that, so fall back to the one-by-one definition.
  std::vector<const Sha256*> sorted(hashers.begin(), hashers.end());
  std::sort(sorted.begin(), sorted.end());
  if (lanes <= 1 || std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
    for (std::size_t i = 0; i < hashers.size(); ++i) {
      hashers[i]->update(data[i]);
    }
    return;
  }

  // Step 1: bring every hasher to a block boundary (exactly as update() would, filling a partial
  // buffer first) and note the whole blocks that follow.
  struct Job {
    Sha256* hasher;
    const std::uint8_t* next;
    std::size_t blocks;
  };
  std::vector<Job> jobs;
  jobs.reserve(hashers.size());
  for (std::size_t i = 0; i < hashers.size(); ++i) {
    Sha256& h = *hashers[i];
    const std::uint8_t* p = data[i].data();
    std::size_t n = data[i].size();
    h.total_bytes_ += n;
    if (h.buffered_ > 0) {
      const std::size_t take = std::min(n, kBlockBytes - h.buffered_);
      std::memcpy(h.buffer_.data() + h.buffered_, p, take);
      h.buffered_ += take;
      p += take;
      n -= take;
      if (h.buffered_ < kBlockBytes) {
        continue;  // all of its data is buffered; nothing left for the lanes
      }
      backend.compress1(h.state_, h.buffer_.data(), 1);
      h.buffered_ = 0;
    }
    const std::size_t blocks = n / kBlockBytes;
    const std::size_t tail = n - blocks * kBlockBytes;
    if (tail > 0) {
      // Buffered now, compressed later: the tail follows the whole blocks in the stream, and the
      // whole blocks only read from `data`, never from the buffer.
      std::memcpy(h.buffer_.data(), p + blocks * kBlockBytes, tail);
      h.buffered_ = tail;
    }
    if (blocks > 0) {
      jobs.push_back({&h, p, blocks});
    }
  }

  // Step 2: longest first, keep `lanes` slots busy; a slot that runs dry takes the next job. Once
  // the queue is empty and slots fall idle, the remaining streams go through whatever the
  // dispatcher measured fastest for that many: the full kernel with scratch lanes, a narrower
  // one (on some of them at a time when it is narrower still), or compress1 one by one.
  std::stable_sort(jobs.begin(), jobs.end(),
                   [](const Job& a, const Job& b) { return a.blocks > b.blocks; });
  std::size_t next_job = 0;
  Job* slots[kMaxLanes] = {};
  std::uint32_t scratch_states[kMaxLanes][8] = {};
  while (true) {
    std::size_t filled = 0;
    for (std::size_t s = 0; s < lanes; ++s) {
      if (slots[s] == nullptr && next_job < jobs.size()) {
        slots[s] = &jobs[next_job++];
      }
      filled += slots[s] != nullptr ? 1 : 0;
    }
    detail::PartialKernel run{backend.compress_lanes, lanes};
    if (filled < lanes) {
      run = detail::sha256_partial_kernel(backend, filled);
      if (run.kernel == nullptr) {
        break;
      }
      if (run.width > kMaxLanes || run.width < 1) {
        die("sha256_update_many: partial kernel width out of range");
      }
    }
    // The first min(filled, width) streams run now; any others wait for a later round.
    bool chosen[kMaxLanes] = {};
    std::uint32_t* states[kMaxLanes];
    const std::uint8_t* inputs[kMaxLanes];
    std::size_t used = 0;
    std::size_t common = SIZE_MAX;
    for (std::size_t s = 0; s < lanes && used < run.width; ++s) {
      if (slots[s] != nullptr) {
        chosen[s] = true;
        common = std::min(common, slots[s]->blocks);
        states[used] = slots[s]->hasher->state_;
        inputs[used] = slots[s]->next;
        ++used;
      }
    }
    // Padding lanes hash real (readable) data into scratch states that are thrown away.
    for (std::size_t k = used; k < run.width; ++k) {
      states[k] = scratch_states[k];
      inputs[k] = inputs[0];
    }
    run.kernel(states, inputs, common);
    for (std::size_t s = 0; s < lanes; ++s) {
      if (chosen[s]) {
        slots[s]->next += common * kBlockBytes;
        slots[s]->blocks -= common;
        if (slots[s]->blocks == 0) {
          slots[s] = nullptr;
        }
      }
    }
  }
  for (std::size_t s = 0; s < lanes; ++s) {
    if (slots[s] != nullptr) {
      backend.compress1(slots[s]->hasher->state_, slots[s]->next, slots[s]->blocks);
    }
  }
}

std::vector<Sha256Digest> sha256_many(std::span<const std::span<const std::uint8_t>> inputs,
                                      const Sha256Backend& backend) {
  std::vector<Sha256> hashers(inputs.size(), Sha256(backend));
  std::vector<Sha256*> pointers;
  pointers.reserve(hashers.size());
  for (Sha256& h : hashers) {
    pointers.push_back(&h);
  }
  sha256_update_many(pointers, inputs);
  std::vector<Sha256Digest> digests;
  digests.reserve(hashers.size());
  for (Sha256& h : hashers) {
    digests.push_back(h.final());
  }
  return digests;
}

}  // namespace modelgate::crypto
