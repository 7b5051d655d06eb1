// bench_support.h: what the C++ benches share: a scratch directory under $TMPDIR, files, an
// openssl-made P-256 key and model signing with it, a stopwatch. Benches only; never tests.
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "crypto/keys.h"
#include "crypto/model_sign.h"

namespace modelgate::bench {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

[[noreturn]] inline void die(const char* bench, const std::string& what) {
  std::fprintf(stderr, "%s: %s\n", bench, what.c_str());
  std::exit(1);
}

inline void write(const fs::path& p, const std::string& s) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << s;
}

inline double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Scratch is a fresh directory $TMPDIR/<name>.XXXXXX with a signing key k.key / k.pub in it,
// removed with everything in it at the end.
struct Scratch {
  const char* name;
  fs::path work;
  std::optional<crypto::PrivateKey> key;

  explicit Scratch(const char* bench_name) : name(bench_name) {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/" + name + ".XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) {
      die(name, "cannot make a directory");
    }
    work = tmpl;
    const std::string k = (work / "k.key").string();
    const std::string p = (work / "k.pub").string();
    if (std::system(("openssl ecparam -name prime256v1 -genkey -noout -out " + k + " && openssl ec -in " + k +
                     " -pubout -out " + p + " 2>/dev/null")
                        .c_str()) != 0) {
      die(name, "openssl could not make a key");
    }
    auto loaded = crypto::load_private_key_file(k, std::nullopt);
    if (!loaded.ok()) {
      die(name, "cannot load the key");
    }
    key = loaded.value();
  }
  ~Scratch() { fs::remove_all(work); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  // sign writes dir/model.sig: every file under `dir`, signed with the key.
  void sign(const fs::path& dir) const {
    crypto::SignOptions o;
    auto b = crypto::sign_model(dir, dir / "model.sig", crypto::KeySigner{*key}, o);
    if (!b.ok()) {
      die(name, "sign: " + b.error().message);
    }
    write(dir / "model.sig", b->bundle_json);
  }
};

}  // namespace modelgate::bench
