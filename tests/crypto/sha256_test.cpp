#include "crypto/sha256.h"

#include <openssl/evp.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "crypto/encoding.h"
#include "crypto/sha256_kernels.h"
#include "test_support.h"

namespace crypto = modelgate::crypto;
using crypto::Sha256;
using crypto::Sha256Backend;
using crypto::Sha256Digest;

namespace {

using Bytes = std::vector<std::uint8_t>;
using ByteSpan = std::span<const std::uint8_t>;

// OpenSSL's EVP SHA-256 is the independent oracle for everything that is not a NIST vector.
Sha256Digest openssl_sha256(ByteSpan data) {
  Sha256Digest out{};
  unsigned int len = 0;
  REQUIRE(EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) == 1);
  REQUIRE(len == out.size());
  return out;
}

std::string hex(const Sha256Digest& d) { return modelgate::testing::to_hex(d); }

std::vector<const Sha256Backend*> backends() {
  auto all = crypto::sha256_available_backends();
  return {all.begin(), all.end()};
}

struct NistVector {
  std::size_t line = 0;
  Bytes message;
  std::string expected_hex;
};

// load_rsp reads a CAVP SHA-256 .rsp file: '#' comments, the "[L = 32]" header, then
// Len/Msg/MD triples (Len in bits; Len = 0 comes with the placeholder Msg = 00). Any other line, a
// field out of order, or a Msg whose size is not Len/8 fails the test rather than being skipped.
std::vector<NistVector> load_rsp(const std::filesystem::path& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  std::vector<NistVector> out;
  std::string line;
  std::size_t line_no = 0;
  std::size_t len_bits = 0;
  int expect = 0;  // 0: Len next, 1: Msg next, 2: MD next
  NistVector current;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    INFO(path.filename().string() << ":" << line_no << ": " << line.substr(0, 80));
    if (line.empty() || line[0] == '#') {
      continue;
    }
    if (line == "[L = 32]") {
      REQUIRE(expect == 0);
      continue;
    }
    if (line.rfind("Len = ", 0) == 0) {
      REQUIRE(expect == 0);
      len_bits = std::stoul(line.substr(6));
      REQUIRE(len_bits % 8 == 0);  // byte-oriented vectors only
      current = NistVector{};
      current.line = line_no;
      expect = 1;
    } else if (line.rfind("Msg = ", 0) == 0) {
      REQUIRE(expect == 1);
      auto msg = crypto::from_hex(line.substr(6));
      REQUIRE(msg.ok());
      if (len_bits == 0) {
        REQUIRE(*msg == Bytes{0x00});
      } else {
        REQUIRE(msg->size() == len_bits / 8);
        current.message = std::move(*msg);
      }
      expect = 2;
    } else if (line.rfind("MD = ", 0) == 0) {
      REQUIRE(expect == 2);
      current.expected_hex = line.substr(5);
      REQUIRE(current.expected_hex.size() == 64);
      out.push_back(std::move(current));
      expect = 0;
    } else {
      FAIL("unexpected line");
    }
  }
  REQUIRE(expect == 0);
  return out;
}

// The counts are pinned: a loader that silently drops vectors must fail here.
constexpr std::size_t kShortMsgVectors = 65;
constexpr std::size_t kLongMsgVectors = 64;

std::vector<NistVector> nist_vectors() {
  const auto dir = modelgate::testing::vectors_dir() / "nist-sha256";
  auto vectors = load_rsp(dir / "SHA256ShortMsg.rsp");
  REQUIRE(vectors.size() == kShortMsgVectors);
  auto long_vectors = load_rsp(dir / "SHA256LongMsg.rsp");
  REQUIRE(long_vectors.size() == kLongMsgVectors);
  for (auto& v : long_vectors) {
    vectors.push_back(std::move(v));
  }
  return vectors;
}

// hash_in_pieces feeds `data` to a streaming hasher in random-sized pieces.
Sha256Digest hash_in_pieces(const Sha256Backend& backend, ByteSpan data, std::mt19937_64& rng,
                            std::size_t max_piece) {
  Sha256 h(backend);
  std::size_t pos = 0;
  while (pos < data.size()) {
    std::size_t n = std::min<std::size_t>(data.size() - pos, rng() % (max_piece + 1));
    h.update(data.subspan(pos, n));
    pos += n;
  }
  return h.final();
}

// pad_message applies FIPS 180-4 §5.1.1 padding by hand, so the kernels can be driven directly.
Bytes pad_message(ByteSpan msg) {
  Bytes out(msg.begin(), msg.end());
  out.push_back(0x80);
  while (out.size() % 64 != 56) {
    out.push_back(0);
  }
  const std::uint64_t bits = static_cast<std::uint64_t>(msg.size()) * 8;
  for (int i = 7; i >= 0; --i) {
    out.push_back(static_cast<std::uint8_t>(bits >> (8 * i)));
  }
  return out;
}

constexpr std::uint32_t kIv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                  0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

Sha256Digest state_to_digest(const std::uint32_t state[8]) {
  Sha256Digest d{};
  for (int i = 0; i < 8; ++i) {
    for (int b = 0; b < 4; ++b) {
      d[4 * i + b] = static_cast<std::uint8_t>(state[i] >> (24 - 8 * b));
    }
  }
  return d;
}

}  // namespace

TEST_CASE("every sha256 backend reproduces all NIST CAVP ShortMsg and LongMsg digests",
          "[sha256]") {
  const auto vectors = nist_vectors();
  std::mt19937_64 rng(20240601);
  for (const Sha256Backend* b : backends()) {
    for (const auto& v : vectors) {
      INFO(b->name << " vector at line " << v.line << " (" << v.message.size() << " bytes)");
      REQUIRE(hex(Sha256::hash(v.message, *b)) == v.expected_hex);
      REQUIRE(hex(hash_in_pieces(*b, v.message, rng, 70)) == v.expected_hex);
      const ByteSpan one[1] = {v.message};
      REQUIRE(hex(crypto::sha256_many(one, *b)[0]) == v.expected_hex);
    }
  }
}

TEST_CASE(
    "every sha256 backend matches OpenSSL for all lengths 0 to 300 and around block boundaries",
    "[sha256]") {
  // One buffer, hashed from several start offsets so the kernels see unaligned data.
  const Bytes data = modelgate::testing::random_bytes(70000, 7);
  std::vector<std::size_t> lengths;
  for (std::size_t n = 0; n <= 300; ++n) {
    lengths.push_back(n);
  }
  for (std::size_t blocks : {5, 8, 15, 16, 17, 63, 64, 100, 1023, 1024}) {
    for (int delta : {-9, -8, -1, 0, 1, 55, 56, 57}) {
      lengths.push_back(static_cast<std::size_t>(static_cast<long>(blocks * 64) + delta));
    }
  }
  std::mt19937_64 rng(99);
  for (const Sha256Backend* b : backends()) {
    for (std::size_t n : lengths) {
      const std::size_t offset = n % 7;
      const ByteSpan msg(data.data() + offset, n);
      INFO(b->name << " length " << n << " offset " << offset);
      const Sha256Digest want = openssl_sha256(msg);
      REQUIRE(hex(Sha256::hash(msg, *b)) == hex(want));
      REQUIRE(hex(hash_in_pieces(*b, msg, rng, 130)) == hex(want));
    }
  }
}

TEST_CASE(
    "every sha256 backend matches OpenSSL on random inputs up to 3 MiB split at random points",
    "[sha256]") {
  constexpr std::size_t kMax = 3u << 20;
  const Bytes data = modelgate::testing::random_bytes(kMax + 64, 11);
  std::mt19937_64 rng(12345);
  for (int round = 0; round < 12; ++round) {
    const std::size_t n = round == 0 ? kMax : rng() % kMax;
    const std::size_t offset = rng() % 64;
    const ByteSpan msg(data.data() + offset, n);
    const Sha256Digest want = openssl_sha256(msg);
    for (const Sha256Backend* b : backends()) {
      INFO(b->name << " length " << n << " offset " << offset);
      REQUIRE(hex(Sha256::hash(msg, *b)) == hex(want));
      REQUIRE(hex(hash_in_pieces(*b, msg, rng, round % 2 == 0 ? 200 : 300000)) == hex(want));
    }
  }
}

TEST_CASE("every sha256 backend matches OpenSSL for every length 0 to 4 KiB through its lanes",
          "[sha256]") {
  // sha256_many over `lanes` inputs of consecutive lengths, each at its own misaligned offset,
  // so every length 0..4096 goes through every lane position of the multi-lane kernel, with
  // ragged ends (inputs of different block counts drop out one by one).
  const Bytes data = modelgate::testing::random_bytes(4096 + 64 * 17, 13);
  for (const Sha256Backend* b : backends()) {
    for (std::size_t first = 0; first <= 4096; first += b->lanes) {
      std::vector<ByteSpan> inputs;
      for (std::size_t i = 0; i < b->lanes && first + i <= 4096; ++i) {
        const std::size_t n = first + i;
        inputs.emplace_back(data.data() + (n % 61), n);
      }
      const auto digests = crypto::sha256_many(inputs, *b);
      for (std::size_t i = 0; i < inputs.size(); ++i) {
        INFO(b->name << " length " << inputs[i].size());
        REQUIRE(hex(digests[i]) == hex(openssl_sha256(inputs[i])));
      }
    }
  }
}

TEST_CASE("a change in one lane of a multi-lane kernel changes that lane's digest only",
          "[sha256]") {
  // All lanes start with the same message; then each lane in turn gets one flipped byte. A kernel
  // that mixed lanes (a wrong shuffle, transpose or shared register) would change the others.
  const Bytes base = modelgate::testing::random_bytes(64 * 9 + 1, 14);
  for (const Sha256Backend* b : backends()) {
    if (b->lanes < 2) {
      continue;
    }
    const Bytes padded = pad_message(base);
    const std::size_t nblocks = padded.size() / 64;
    const Sha256Digest same = openssl_sha256(base);
    for (std::size_t changed = 0; changed < b->lanes; ++changed) {
      INFO(b->name << " changed lane " << changed);
      std::vector<Bytes> lanes(b->lanes, padded);
      Bytes flipped_msg = base;
      flipped_msg[(changed * 37) % base.size()] ^= 0x01;
      lanes[changed] = pad_message(flipped_msg);
      std::vector<std::array<std::uint32_t, 8>> states(b->lanes);
      std::vector<std::uint32_t*> state_ptrs;
      std::vector<const std::uint8_t*> data_ptrs;
      for (std::size_t i = 0; i < b->lanes; ++i) {
        std::memcpy(states[i].data(), kIv, sizeof kIv);
        state_ptrs.push_back(states[i].data());
        data_ptrs.push_back(lanes[i].data());
      }
      b->compress_lanes(state_ptrs.data(), data_ptrs.data(), nblocks);
      for (std::size_t i = 0; i < b->lanes; ++i) {
        INFO("lane " << i);
        REQUIRE(hex(state_to_digest(states[i].data())) ==
                hex(i == changed ? openssl_sha256(flipped_msg) : same));
      }
    }
  }
}

TEST_CASE("sha256_update_many matches OpenSSL for every stream count up to twice the lanes",
          "[sha256]") {
  // Fewer streams than lanes take the kernel the dispatcher measured best for that count (padded,
  // narrower, or narrower on some streams at a time): every count reaches its path here, with
  // streams of equal and of ragged lengths.
  const Bytes data = modelgate::testing::random_bytes(1 << 18, 15);
  for (const Sha256Backend* b : backends()) {
    for (std::size_t count = 1; count <= 2 * b->lanes + 1; ++count) {
      for (bool ragged : {false, true}) {
        INFO(b->name << " streams " << count << (ragged ? " ragged" : " equal"));
        std::vector<ByteSpan> inputs;
        for (std::size_t i = 0; i < count; ++i) {
          const std::size_t n = ragged ? 64 * (1 + (i * 7) % 23) + i : 64 * 20;
          inputs.emplace_back(data.data() + 1000 * i + i % 5, n);
        }
        const auto digests = crypto::sha256_many(inputs, *b);
        for (std::size_t i = 0; i < count; ++i) {
          INFO("stream " << i);
          REQUIRE(hex(digests[i]) == hex(openssl_sha256(inputs[i])));
        }
      }
    }
  }
}

TEST_CASE("sha256 kernels leave the state untouched for zero blocks", "[sha256]") {
  for (const Sha256Backend* b : backends()) {
    INFO(b->name);
    std::vector<std::array<std::uint32_t, 8>> states(b->lanes);
    std::vector<std::uint32_t*> state_ptrs;
    std::vector<const std::uint8_t*> data_ptrs(b->lanes, nullptr);
    for (std::size_t i = 0; i < b->lanes; ++i) {
      for (int j = 0; j < 8; ++j) {
        states[i][j] = static_cast<std::uint32_t>(0x01020304u * (i + 1) + j);
      }
      state_ptrs.push_back(states[i].data());
    }
    const auto before = states;
    b->compress1(states[0].data(), nullptr, 0);
    b->compress_lanes(state_ptrs.data(), data_ptrs.data(), 0);
    REQUIRE(states == before);
  }
}

TEST_CASE("sha256 multi-lane kernels hash each lane independently, matching OpenSSL", "[sha256]") {
  const Bytes data = modelgate::testing::random_bytes(1 << 16, 3);
  for (const Sha256Backend* b : backends()) {
    // Lane i hashes a different message of the same padded length (so the same block count),
    // starting at a different, mostly unaligned offset.
    for (std::size_t msg_len : {0, 55, 56, 64, 119, 1000, 5000}) {
      INFO(b->name << " message length " << msg_len);
      std::vector<Bytes> padded;
      std::vector<Sha256Digest> want;
      for (std::size_t i = 0; i < b->lanes; ++i) {
        const ByteSpan msg(data.data() + 3 * i + 1, msg_len);
        want.push_back(openssl_sha256(msg));
        // Shift each padded copy by i bytes inside its vector to vary alignment further.
        Bytes p(i, 0xAA);
        const Bytes body = pad_message(msg);
        p.insert(p.end(), body.begin(), body.end());
        padded.push_back(std::move(p));
      }
      const std::size_t nblocks = (padded[0].size()) / 64;
      std::vector<std::array<std::uint32_t, 8>> states(b->lanes);
      std::vector<std::uint32_t*> state_ptrs;
      std::vector<const std::uint8_t*> data_ptrs;
      for (std::size_t i = 0; i < b->lanes; ++i) {
        std::memcpy(states[i].data(), kIv, sizeof kIv);
        state_ptrs.push_back(states[i].data());
        data_ptrs.push_back(padded[i].data() + i);
      }
      b->compress_lanes(state_ptrs.data(), data_ptrs.data(), nblocks);
      for (std::size_t i = 0; i < b->lanes; ++i) {
        INFO("lane " << i);
        REQUIRE(hex(state_to_digest(states[i].data())) == hex(want[i]));
      }
      std::array<std::uint32_t, 8> single{};
      std::memcpy(single.data(), kIv, sizeof kIv);
      b->compress1(single.data(), padded[0].data(), nblocks);
      REQUIRE(hex(state_to_digest(single.data())) == hex(want[0]));
    }
  }
}

TEST_CASE("sha256_update_many equals per-hasher updates for mixed lengths, counts and alignments",
          "[sha256]") {
  const Bytes data = modelgate::testing::random_bytes(1 << 20, 5);
  std::mt19937_64 rng(777);
  for (const Sha256Backend* b : backends()) {
    // Counts below, at and above the lane count: fewer streams than lanes take the narrower or
    // padded kernels, more take several groups.
    for (std::size_t count :
         {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{3}, b->lanes - 1, b->lanes,
          b->lanes + 1, 2 * b->lanes + 3, std::size_t{40}}) {
      for (int trial = 0; trial < 4; ++trial) {
        INFO(b->name << " hashers " << count << " trial " << trial);
        // Each hasher's stream is a slice of `data`; it is fed as an optional unaligned prefix
        // through update(), then several rounds of update_many, so rounds mix aligned and
        // unaligned hashers, empty inputs, and inputs shorter and longer than a block.
        std::vector<Sha256> hashers(count, Sha256(*b));
        std::vector<Bytes> streams(count);
        for (std::size_t i = 0; i < count; ++i) {
          if (rng() % 3 == 0) {
            const std::size_t prefix = rng() % 100;
            const std::size_t start = rng() % (data.size() - prefix);
            const ByteSpan piece(data.data() + start, prefix);
            hashers[i].update(piece);
            streams[i].insert(streams[i].end(), piece.begin(), piece.end());
          }
        }
        std::vector<Sha256*> ptrs;
        for (auto& h : hashers) {
          ptrs.push_back(&h);
        }
        for (int step = 0; step < 3; ++step) {
          std::vector<ByteSpan> inputs;
          for (std::size_t i = 0; i < count; ++i) {
            std::size_t n = 0;
            switch (rng() % 5) {
              case 0:
                n = 0;
                break;
              case 1:
                n = rng() % 64;
                break;
              case 2:
                n = 64 * (rng() % 40);
                break;
              case 3:
                n = rng() % 20000;
                break;
              default:
                n = rng() % 200000;
                break;
            }
            const std::size_t start = rng() % (data.size() - n);
            inputs.emplace_back(data.data() + start, n);
            streams[i].insert(streams[i].end(), inputs.back().begin(), inputs.back().end());
          }
          crypto::sha256_update_many(ptrs, inputs);
        }
        for (std::size_t i = 0; i < count; ++i) {
          INFO("hasher " << i << " stream " << streams[i].size() << " bytes");
          REQUIRE(hex(hashers[i].final()) == hex(openssl_sha256(streams[i])));
        }
      }
    }
  }
}

TEST_CASE("sha256_update_many with the same hasher listed twice appends both inputs in order",
          "[sha256]") {
  const Bytes data = modelgate::testing::random_bytes(10000, 8);
  for (const Sha256Backend* b : backends()) {
    INFO(b->name);
    std::vector<Sha256> hashers(b->lanes + 1, Sha256(*b));
    std::vector<Sha256*> ptrs;
    std::vector<ByteSpan> inputs;
    for (std::size_t i = 0; i < hashers.size(); ++i) {
      ptrs.push_back(&hashers[i]);
      inputs.emplace_back(data.data() + 100 * i, 640 + i);
    }
    ptrs.push_back(&hashers[0]);
    inputs.emplace_back(data.data() + 5000, 1280);
    crypto::sha256_update_many(ptrs, inputs);
    Bytes stream0(inputs[0].begin(), inputs[0].end());
    stream0.insert(stream0.end(), inputs.back().begin(), inputs.back().end());
    REQUIRE(hex(hashers[0].final()) == hex(openssl_sha256(stream0)));
    for (std::size_t i = 1; i < hashers.size(); ++i) {
      REQUIRE(hex(hashers[i].final()) == hex(openssl_sha256(inputs[i])));
    }
  }
}

TEST_CASE("sha256_update_many over hashers of different backends uses the first and stays exact",
          "[sha256]") {
  const Bytes data = modelgate::testing::random_bytes(50000, 9);
  const auto all = backends();
  std::vector<Sha256> hashers;
  for (std::size_t i = 0; i < 12; ++i) {
    hashers.emplace_back(*all[(i + all.size() - 1) % all.size()]);
  }
  std::vector<Sha256*> ptrs;
  std::vector<ByteSpan> inputs;
  for (std::size_t i = 0; i < hashers.size(); ++i) {
    ptrs.push_back(&hashers[i]);
    inputs.emplace_back(data.data() + i, 3000 * i + 17);
  }
  crypto::sha256_update_many(ptrs, inputs);
  for (std::size_t i = 0; i < hashers.size(); ++i) {
    REQUIRE(hex(hashers[i].final()) == hex(openssl_sha256(inputs[i])));
  }
}

TEST_CASE("sha256_many returns OpenSSL's digest for each input in input order", "[sha256]") {
  const Bytes data = modelgate::testing::random_bytes(1 << 20, 10);
  std::mt19937_64 rng(4242);
  for (const Sha256Backend* b : backends()) {
    for (std::size_t count :
         {std::size_t{0}, std::size_t{1}, b->lanes, 2 * b->lanes + 1, std::size_t{33}}) {
      INFO(b->name << " inputs " << count);
      std::vector<ByteSpan> inputs;
      for (std::size_t i = 0; i < count; ++i) {
        const std::size_t n = (i % 4 == 0) ? 0 : (i % 4 == 1) ? rng() % 200 : rng() % 300000;
        const std::size_t start = rng() % (data.size() - n);
        inputs.emplace_back(data.data() + start, n);
      }
      const auto digests = crypto::sha256_many(inputs, *b);
      REQUIRE(digests.size() == count);
      for (std::size_t i = 0; i < count; ++i) {
        INFO("input " << i << " length " << inputs[i].size());
        REQUIRE(hex(digests[i]) == hex(openssl_sha256(inputs[i])));
      }
    }
  }
}

TEST_CASE("a sha256 hasher is reusable after final and copies diverge independently", "[sha256]") {
  const Bytes data = modelgate::testing::random_bytes(1000, 12);
  for (const Sha256Backend* b : backends()) {
    INFO(b->name);
    Sha256 h(*b);
    h.update(ByteSpan(data).first(100));
    Sha256 copy = h;
    h.update(ByteSpan(data).subspan(100, 200));
    copy.update(ByteSpan(data).subspan(300, 50));
    REQUIRE(hex(h.final()) == hex(openssl_sha256(ByteSpan(data).first(300))));
    Bytes copy_stream(data.begin(), data.begin() + 100);
    copy_stream.insert(copy_stream.end(), data.begin() + 300, data.begin() + 350);
    REQUIRE(hex(copy.final()) == hex(openssl_sha256(copy_stream)));
    // After final the hasher is back at the empty state.
    REQUIRE(h.block_aligned());
    REQUIRE(hex(h.final()) == hex(openssl_sha256({})));
    h.update(std::string_view("abc"));
    REQUIRE(hex(h.final()) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    h.update(ByteSpan(data).first(10));
    h.reset();
    REQUIRE(hex(h.final()) == hex(openssl_sha256({})));
  }
}
