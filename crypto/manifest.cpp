// manifest.cpp: model_signing manifests (model_signing.md §1.4, §1.5, §2): jobs per file or shard,
// a worker pool over the lock-step hasher, canonical order and the root digest.
#include "crypto/manifest.h"

#include <algorithm>
#include <charconv>
#include <exception>
#include <optional>
#include <thread>

#include "base/limits.h"
#include "crypto/model_walk.h"

namespace modelgate::crypto {
namespace {

// compare_paths orders POSIX paths by their component lists, each component compared by code point
// (§2.5: Python sorts PurePosixPath). For valid UTF-8 that is byte order per component, which is
// byte order over the whole string once '/' sorts below every other byte: "a/b" < "a-c" < "a.txt".
int compare_paths(std::string_view a, std::string_view b) {
  const std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned ca = a[i] == '/' ? 0u : static_cast<unsigned char>(a[i]) + 1u;
    const unsigned cb = b[i] == '/' ? 0u : static_cast<unsigned char>(b[i]) + 1u;
    if (ca != cb) {
      return ca < cb ? -1 : 1;
    }
  }
  if (a.size() == b.size()) {
    return 0;
  }
  return a.size() < b.size() ? -1 : 1;
}

bool parse_u64(std::string_view s, std::uint64_t& out) {
  if (s.empty()) {
    return false;
  }
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

struct NameKey {
  std::string_view path;
  std::uint64_t start = 0;
  std::uint64_t end = 0;
};

// shard_key splits "<path>:<start>:<end>" at the last two ':' (the OMS rule; paths may hold ':').
NameKey shard_key(std::string_view name) {
  const std::size_t p2 = name.rfind(':');
  if (p2 == std::string_view::npos || p2 == 0) {
    return {name};
  }
  const std::size_t p1 = name.rfind(':', p2 - 1);
  if (p1 == std::string_view::npos) {
    return {name};
  }
  NameKey k{name.substr(0, p1)};
  if (!parse_u64(name.substr(p1 + 1, p2 - p1 - 1), k.start) || !parse_u64(name.substr(p2 + 1), k.end)) {
    return {name};
  }
  return k;
}

bool key_less(const NameKey& a, const NameKey& b) {
  const int c = compare_paths(a.path, b.path);
  if (c != 0) {
    return c < 0;
  }
  if (a.start != b.start) {
    return a.start < b.start;
  }
  return a.end < b.end;
}

bool is_shard_algorithm(std::string_view algorithm) {
  const std::size_t k = algorithm.find("-sharded-");
  std::uint64_t n = 0;
  return k != std::string_view::npos && k > 0 && parse_u64(algorithm.substr(k + 9), n);
}

Result<void> check_config(const SerializationConfig& config) {
  if (config.method == SerializationMethod::kShards &&
      config.shard_size < std::max<std::uint64_t>(1, limits::kMinShardSize)) {
    return make_error(Code::kMalformed, "shard size must be at least " +
                                            std::to_string(std::max<std::uint64_t>(1, limits::kMinShardSize)) +
                                            " byte");
  }
  return ok_status();
}

std::string cancelled_message(std::uint64_t done, std::uint64_t total) {
  return "cancelled: " + std::to_string(done) + " of " + std::to_string(total) + " bytes hashed";
}

// run_jobs hashes every job on a pool of workers, each keeping up to `width` jobs in lock-step.
// Digests come back in job order; the error reported is that of the first failing job in job
// order (jobs are in canonical order), so it does not depend on thread timing.
// on_digest, when set, is told each job's digest as soon as it is done (from the workers).
Result<std::vector<FileDigest>> run_jobs(const std::vector<HashJob>& jobs, const std::vector<std::uint64_t>& sizes,
                                         HashType type, const HashOptions& options, std::uint64_t total_bytes,
                                         const std::function<void(std::size_t, const FileDigest&)>& on_digest = {}) {
  const std::size_t n = jobs.size();
  if (n == 0) {
    return std::vector<FileDigest>{};
  }
  const Sha256Backend& backend = options.backend != nullptr ? *options.backend : sha256_default_backend();
  std::size_t threads = options.threads != 0 ? options.threads : std::thread::hardware_concurrency();
  threads = std::clamp<std::size_t>(threads, 1, limits::kMaxHashThreads);
  threads = std::min(threads, n);
  // BLAKE2b has no multi-lane kernel: one stream per worker. SHA-256 keeps at least two in flight
  // (SHA-NI hides the latency of sha256rnds2 with two; AVX2 wants eight).
  const std::size_t width =
      type == HashType::kSha256 ? std::min(std::max<std::size_t>(2, backend.lanes), kMaxLockstepWidth) : 1;
  // Spread jobs over the threads first (a core each), then over the lanes.
  const std::size_t per_worker = std::clamp<std::size_t>((n + threads - 1) / threads, 1, width);

  // Biggest first: the long jobs start early and the small ones fill the gaps at the end.
  std::vector<std::size_t> schedule(n);
  for (std::size_t i = 0; i < n; ++i) {
    schedule[i] = i;
  }
  std::stable_sort(schedule.begin(), schedule.end(),
                   [&](std::size_t a, std::size_t b) { return sizes[a] > sizes[b]; });

  std::atomic<std::size_t> next{0};
  std::atomic<bool> abort{false};
  std::atomic<std::uint64_t> done{0};
  std::vector<std::optional<FileDigest>> digests(n);
  std::vector<std::optional<Error>> errors(n);
  std::vector<std::optional<Error>> worker_errors(threads);

  auto cancelled = [&] { return options.cancel != nullptr && options.cancel->load(std::memory_order_relaxed); };
  auto worker = [&](std::size_t w) {
    LockstepHooks hooks;
    hooks.next_job = [&](std::size_t active) -> std::optional<std::size_t> {
      if (active >= per_worker || abort.load(std::memory_order_relaxed) || cancelled()) {
        return std::nullopt;
      }
      const std::size_t i = next.fetch_add(1, std::memory_order_relaxed);
      if (i >= n) {
        return std::nullopt;
      }
      return schedule[i];
    };
    hooks.on_done = [&](std::size_t job, Result<FileDigest> r) {
      if (r.ok()) {
        digests[job] = std::move(r).value();
        if (on_digest) {
          on_digest(job, *digests[job]);
        }
      } else {
        errors[job] = std::move(r).error();
        abort.store(true, std::memory_order_relaxed);
      }
    };
    hooks.on_bytes = [&](std::uint64_t bytes) {
      const std::uint64_t now = done.fetch_add(bytes, std::memory_order_relaxed) + bytes;
      if (options.on_progress) {
        options.on_progress(HashProgress{now, total_bytes});
      }
    };
    hooks.stop = [&] { return abort.load(std::memory_order_relaxed) || cancelled(); };
    try {
      // per_worker, not width: the mmap windows are sized for the streams really in flight.
      hash_jobs_lockstep(jobs, type, backend, per_worker, hooks);
    } catch (const std::exception& e) {
      worker_errors[w] = make_error(Code::kInternal, std::string("hashing worker: ") + e.what());
      abort.store(true, std::memory_order_relaxed);
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  for (std::size_t w = 1; w < threads; ++w) {
    pool.emplace_back(worker, w);
  }
  worker(0);
  for (std::thread& t : pool) {
    t.join();
  }

  for (std::optional<Error>& e : errors) {
    if (e) {
      return std::move(*e);
    }
  }
  for (std::optional<Error>& e : worker_errors) {
    if (e) {
      return std::move(*e);
    }
  }
  if (cancelled()) {
    return make_error(Code::kDeadline, cancelled_message(done.load(), total_bytes));
  }
  std::vector<FileDigest> out;
  out.reserve(n);
  for (std::optional<FileDigest>& d : digests) {
    if (!d) {
      return make_error(Code::kInternal, "hashing ended with a job neither done nor failed");
    }
    out.push_back(std::move(*d));
  }
  return out;
}

// hash_tree turns walked files into jobs (one per file, or per shard), hashes them and builds the
// manifest in canonical order.
Result<Manifest> hash_tree(ModelTree tree, const SerializationConfig& config, const HashOptions& options) {
  std::sort(tree.files.begin(), tree.files.end(),
            [](const ModelFile& a, const ModelFile& b) { return compare_paths(a.name, b.name) < 0; });
  const bool shards = config.method == SerializationMethod::kShards;
  std::uint64_t count = 0;
  for (const ModelFile& f : tree.files) {
    // §2.4: shards [k*s, min((k+1)*s, size)); an empty file has none. §2.3: one entry per file.
    count += shards ? f.stamp.size / config.shard_size + (f.stamp.size % config.shard_size != 0 ? 1 : 0) : 1;
    if (count > limits::kMaxResources) {
      return make_error(Code::kLimit, std::string("too many ") + (shards ? "shards" : "files") + " (more than " +
                                          std::to_string(limits::kMaxResources) + ")");
    }
  }
  std::vector<HashJob> jobs;
  std::vector<std::uint64_t> sizes;
  std::vector<std::string> names;
  jobs.reserve(count);
  sizes.reserve(count);
  names.reserve(count);
  for (const ModelFile& f : tree.files) {
    HashJob job;
    job.dir_fd = tree.root.get();
    job.rel_path = f.rel_path;
    job.follow_symlink = f.via_symlink;
    job.display_name = tree.single_file ? "" : f.name;  // a single file is named by the caller's path
    job.expect = f.stamp;
    if (!shards) {
      job.start = 0;
      job.end = f.stamp.size;
      jobs.push_back(job);
      sizes.push_back(f.stamp.size);
      names.push_back(f.name);
      continue;
    }
    for (std::uint64_t start = 0; start < f.stamp.size; start = job.end) {
      job.start = start;
      job.end = start + std::min(config.shard_size, f.stamp.size - start);  // no overflow
      jobs.push_back(job);
      sizes.push_back(job.end - job.start);
      names.push_back(f.name + ":" + std::to_string(job.start) + ":" + std::to_string(job.end));
    }
  }
  if (options.before_hashing) {
    MG_TRY(options.before_hashing(tree));
  }
  std::vector<FileDigest> digests;
  if (options.cache == nullptr) {
    MG_ASSIGN_OR_RETURN(digests, run_jobs(jobs, sizes, config.hash_type, options, tree.total_bytes));
    if (options.on_hashed) {
      options.on_hashed(tree.total_bytes);
    }
  } else {
    // Ranges of files whose identity is unchanged come from the cache; only the rest are read.
    std::vector<DigestKey> keys(jobs.size());
    std::vector<std::optional<FileDigest>> cached(jobs.size());
    std::vector<HashJob> todo;
    std::vector<std::uint64_t> todo_sizes;
    std::vector<std::size_t> todo_index;
    std::uint64_t cached_bytes = 0;
    // Read before the first lookup: every byte hashed below is read after this instant.
    const std::int64_t read_from = options.cache->now_ns();
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      keys[i] = DigestKey{*jobs[i].expect, jobs[i].start, jobs[i].end, config.hash_type};
      cached[i] = options.cache->lookup(keys[i]);
      if (cached[i]) {
        cached_bytes += sizes[i];
      } else {
        todo.push_back(jobs[i]);
        todo_sizes.push_back(sizes[i]);
        todo_index.push_back(i);
      }
    }
    HashOptions inner = options;
    if (options.on_progress) {
      inner.on_progress = [&](const HashProgress& p) {
        options.on_progress(HashProgress{p.bytes_done + cached_bytes, tree.total_bytes});
      };
      options.on_progress(HashProgress{cached_bytes, tree.total_bytes});
    }
    // Each digest is stored as soon as its range is done, so a run cancelled at its deadline
    // leaves what it finished for the retry.
    auto store = [&](std::size_t k, const FileDigest& d) { options.cache->store(keys[todo_index[k]], d, read_from); };
    MG_ASSIGN_OR_RETURN(std::vector<FileDigest> fresh,
                        run_jobs(todo, todo_sizes, config.hash_type, inner, tree.total_bytes - cached_bytes, store));
    for (std::size_t k = 0; k < fresh.size(); ++k) {
      cached[todo_index[k]] = std::move(fresh[k]);
    }
    if (options.on_hashed) {
      options.on_hashed(tree.total_bytes - cached_bytes);
    }
    digests.reserve(jobs.size());
    for (std::optional<FileDigest>& d : cached) {
      digests.push_back(std::move(*d));
    }
  }
  Manifest m;
  m.config = config;
  m.model_name = tree.model_name;
  m.total_bytes = tree.total_bytes;
  const std::string algorithm = resource_algorithm(config);
  m.resources.reserve(jobs.size());
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    m.resources.push_back(Resource{std::move(names[i]), algorithm, std::move(digests[i])});
  }
  return m;
}

}  // namespace

std::string_view hash_type_name(HashType t) {
  switch (t) {
    case HashType::kSha256: return "sha256";
    case HashType::kBlake2b: return "blake2b";
  }
  return "sha256";
}

Result<HashType> parse_hash_type(std::string_view name) {
  if (name == "sha256") {
    return HashType::kSha256;
  }
  if (name == "blake2b") {
    return HashType::kBlake2b;
  }
  return make_error(Code::kUnsupported,
                    "unsupported hash type " + quote_file_name(name) + " (expected sha256 or blake2b)");
}

std::size_t hash_digest_size(HashType t) { return t == HashType::kBlake2b ? 64 : 32; }

std::string resource_algorithm(const SerializationConfig& config) {
  std::string a(hash_type_name(config.hash_type));
  if (config.method == SerializationMethod::kShards) {
    a += "-sharded-" + std::to_string(config.shard_size);
  }
  return a;
}

Sha256Digest root_digest_of(const std::vector<Resource>& resources) {
  Sha256 h;
  for (const Resource& r : resources) {
    h.update(std::span<const std::uint8_t>(r.digest));
  }
  return h.final();
}

Sha256Digest Manifest::root_digest() const { return root_digest_of(resources); }

bool canonical_less(const Resource& a, const Resource& b, SerializationMethod method) {
  if (method == SerializationMethod::kShards) {
    return key_less(shard_key(a.name), shard_key(b.name));
  }
  return compare_paths(a.name, b.name) < 0;
}

bool canonical_less(const Resource& a, const Resource& b) {
  const bool shards = is_shard_algorithm(a.algorithm) && is_shard_algorithm(b.algorithm);
  return canonical_less(a, b, shards ? SerializationMethod::kShards : SerializationMethod::kFiles);
}

Result<Manifest> hash_model(const std::filesystem::path& model_path, const SerializationConfig& config,
                            const HashOptions& options) {
  MG_TRY(check_config(config));
  WalkOptions walk;
  walk.allow_symlinks = config.allow_symlinks;
  walk.ignore_paths = config.ignore_paths;
  walk.cancel = options.cancel;
  MG_ASSIGN_OR_RETURN(ModelTree tree, walk_model(model_path, walk));
  return hash_tree(std::move(tree), config, options);
}

Result<Manifest> hash_named_resources(const std::filesystem::path& model_root, const std::vector<std::string>& names,
                                      const SerializationConfig& config, const HashOptions& options) {
  MG_TRY(check_config(config));
  MG_ASSIGN_OR_RETURN(ModelTree tree, resolve_model_files(model_root, names, config.allow_symlinks));
  return hash_tree(std::move(tree), config, options);
}

}  // namespace modelgate::crypto
