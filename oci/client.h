// client.h: an OCI distribution-spec registry client over HTTPS: manifests (GET/HEAD/PUT), blobs
// (GET/HEAD, monolithic POST+PUT upload), tags, and the referrers API with the tag-schema fallback
// (`sha256-<hex>` index) for registries without it. Bearer-token (WWW-Authenticate challenge →
// token endpoint) and Basic auth from Docker config.json credentials; a custom CA; a timeout per
// call; every size bounded; every manifest and blob fetched is checked against its digest (fail
// closed) and kept in a bounded cache by digest (immutable content: a hit needs no network).
// Not Kubernetes, policy or models: it moves bytes addressed by digest and says what went wrong.
// Not plain HTTP, redirects (blob storage behind a 307 is not followed yet), mirrors or HTTP/2.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/limits.h"
#include "base/result.h"
#include "oci/descriptor.h"
#include "oci/docker_config.h"
#include "oci/reference.h"

namespace modelgate::oci {

// FetchedManifest is a manifest or index whose bytes hash to `digest` (checked by the client).
struct FetchedManifest {
  std::string digest;      // "sha256:<hex>" of `bytes`
  std::string media_type;  // the Content-Type the registry sent
  std::string bytes;
};

struct ClientOptions {
  // credentials by registry (docker_config.h); sent only to that registry and to the token realm
  // it names over HTTPS.
  Credentials credentials;
  // ca_file (PEM) replaces the system CA store for every registry (and token realm) when set:
  // only its certificates are trusted. Empty: the system store.
  std::filesystem::path ca_file;
  // timeout bounds each call: connecting, every wait for bytes, and (checked as bytes arrive)
  // the whole body.
  std::chrono::milliseconds timeout{30'000};
  std::size_t max_manifest_bytes = limits::kMaxOciManifestBytes;
  std::size_t cache_bytes = limits::kMaxOciCacheBytes;
};

// ClientStats counts what the client did (for tests and metrics).
struct ClientStats {
  std::uint64_t requests = 0;    // HTTP requests sent (token requests included)
  std::uint64_t cache_hits = 0;  // manifests and blobs served from the digest cache
};

// Client talks to any number of registries. Errors (every call; the message names the registry,
// the repository and what was asked, then what went wrong):
//   kIo        cannot connect / TLS / the server certificate is not trusted / 5xx / other status
//   kDeadline  no answer within options.timeout
//   kNotFound  404 (MANIFEST_UNKNOWN, BLOB_UNKNOWN, NAME_UNKNOWN ... quoted from the registry)
//   kUntrusted 401 / 403 after auth (UNAUTHORIZED, DENIED): "auth refused"
//   kLimit     a manifest over max_manifest_bytes, a blob over the caller's cap
//   kMismatch  content that does not hash to the digest asked for (or the registry claimed)
//   kMalformed a response that is not what the spec says (bad JSON, bad digest header)
// Thread-safe (the cache and token store are locked; each call makes its own connection).
class Client {
 public:
  // create checks options (a CA file that cannot be read is kNotFound/kIo, one that holds no
  // certificate kMalformed; a timeout <= 0 kMalformed).
  [[nodiscard]] static Result<std::unique_ptr<Client>> create(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // get_manifest fetches `ref` (by digest when it has one, else by tag), accepting OCI and Docker
  // manifests and indexes. By digest: the bytes must hash to it (a cache hit sends nothing). By
  // tag: the digest is computed, and a Docker-Content-Digest header that disagrees is kMismatch.
  [[nodiscard]] Result<FetchedManifest> get_manifest(const Reference& ref);
  // resolve returns the digest `ref` names now (HEAD; the digest itself when pinned).
  [[nodiscard]] Result<std::string> resolve(const Reference& ref);
  // put_manifest uploads `bytes` under ref's tag (or digest) and returns its digest.
  // `subject_accepted`, when given, says whether the registry processed a `subject` field (it sent
  // an OCI-Subject header): if not, the caller maintains the referrers tag schema.
  [[nodiscard]] Result<std::string> put_manifest(const Reference& ref, std::string_view media_type, std::string_view bytes,
                                                 bool* subject_accepted = nullptr);
  // has_blob is HEAD /v2/<name>/blobs/<digest>: true (200), false (404).
  [[nodiscard]] Result<bool> has_blob(const Reference& repo, std::string_view digest);
  // get_blob streams the blob into memory, refusing more than `max_bytes` (before allocating, by
  // Content-Length, and as bytes arrive), and checks the digest.
  [[nodiscard]] Result<std::string> get_blob(const Reference& repo, std::string_view digest, std::size_t max_bytes);
  // push_blob uploads `bytes` monolithically (POST, then PUT ?digest=) unless has_blob says the
  // registry holds it; returns the digest.
  [[nodiscard]] Result<std::string> push_blob(const Reference& repo, std::string_view bytes);
  // referrers lists the manifests whose subject is `subject_digest` in ref's repository, with
  // `artifact_type` ("" = all): the referrers API, or on 404 the index tagged sha256-<hex>.
  // At most limits::kMaxOciReferrers.
  [[nodiscard]] Result<std::vector<Descriptor>> referrers(const Reference& repo, std::string_view subject_digest,
                                                          std::string_view artifact_type);
  // push_referrer uploads `manifest` (an image manifest whose `subject` is `subject_digest`) by
  // digest and, when the registry has no referrers API, adds it to the sha256-<hex> index tag.
  // Returns the manifest's digest.
  [[nodiscard]] Result<std::string> push_referrer(const Reference& repo, std::string_view subject_digest,
                                                  std::string_view manifest, const Descriptor& described);
  // tags lists ref's repository's tags (≤ limits::kMaxOciTags; the first page only).
  [[nodiscard]] Result<std::vector<std::string>> tags(const Reference& repo);

  ClientStats stats() const;

 private:
  struct Impl;
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// sha256_digest returns "sha256:<hex>" of `bytes`.
std::string sha256_digest(std::string_view bytes);

}  // namespace modelgate::oci
