#include "oci/client.h"

#include "crypto/encoding.h"
#include "crypto/quote.h"
#include "crypto/sha256.h"
#include "crypto/x509.h"
#include "oci/auth.h"
#include "oci/client_impl.h"

namespace modelgate::oci {


Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;

Result<std::unique_ptr<Client>> Client::create(ClientOptions options) {
  if (!options.ca_file.empty()) {
    MG_TRY_CTX(crypto::load_certificates_file(options.ca_file), "registry CA " + options.ca_file.string());
  }
  if (options.timeout.count() <= 0) {
    return make_error(Code::kMalformed, "registry timeout must be positive");
  }
  return std::unique_ptr<Client>(new Client(std::make_unique<Impl>(std::move(options))));
}

ClientStats Client::stats() const { return ClientStats{impl_->requests.load(), impl_->cache_hits.load()}; }

Result<FetchedManifest> Client::get_manifest(const Reference& ref) {
  const std::string target = ref.digest ? *ref.digest : ref.tag.value_or("latest");
  const std::string ctx = repo_label(ref) + ": manifest " + target;
  if (ref.digest) {
    if (auto hit = impl_->cache.get(*ref.digest)) {
      ++impl_->cache_hits;
      return FetchedManifest{*ref.digest, hit->first, hit->second};
    }
  }
  Impl::Request rq;
  rq.method = "GET";
  rq.endpoint = ref.endpoint();
  rq.path = "/v2/" + ref.repository + "/manifests/" + target;
  rq.headers.emplace("Accept", std::string(kManifestAccept));
  rq.max_body = impl_->options.max_manifest_bytes;
  rq.what = "manifest";
  std::string body;
  rq.on_data = [&body](std::string_view d) -> Result<void> {
    body.append(d);
    return ok_status();
  };
  MG_ASSIGN_OR_RETURN_CTX(Response r, impl_->call(ref.registry, pull_scope(ref), rq), ctx);
  if (r.status != 200) {
    return std::move(status_error(r.status, r.body)).context(ctx);
  }
  FetchedManifest m;
  m.digest = sha256_digest(body);
  m.media_type = strip_params(header_value(r.headers, "Content-Type"));
  if (ref.digest && !crypto::constant_time_equal(crypto::as_bytes(m.digest), crypto::as_bytes(*ref.digest))) {
    return make_error(Code::kMismatch, ctx + ": the registry sent content that does not match the digest (found " + m.digest + ")");
  }
  const std::string claimed = header_value(r.headers, "Docker-Content-Digest");
  if (!claimed.empty() && claimed != m.digest) {
    return make_error(Code::kMismatch, ctx + ": content hashes to " + m.digest + " but the registry claims " +
                                           crypto::quote_untrusted(claimed));
  }
  if (!is_manifest_media_type(m.media_type)) {
    // Distribution sends the manifest's own mediaType; anything else is not a manifest we read.
    return make_error(Code::kUnsupported, ctx + ": not an OCI or Docker manifest (Content-Type " +
                                              crypto::quote_untrusted(m.media_type) + ")");
  }
  m.bytes = std::move(body);
  impl_->cache.put(m.digest, m.media_type, m.bytes);
  return m;
}

Result<std::string> Client::resolve(const Reference& ref) {
  if (ref.digest) {
    return *ref.digest;
  }
  const std::string ctx = repo_label(ref) + ": manifest " + ref.tag.value_or("latest");
  Impl::Request rq;
  rq.method = "HEAD";
  rq.endpoint = ref.endpoint();
  rq.path = "/v2/" + ref.repository + "/manifests/" + ref.tag.value_or("latest");
  rq.headers.emplace("Accept", std::string(kManifestAccept));
  MG_ASSIGN_OR_RETURN_CTX(Response r, impl_->call(ref.registry, pull_scope(ref), rq), ctx);
  if (r.status != 200) {
    return std::move(status_error(r.status, "")).context(ctx);
  }
  const std::string d = header_value(r.headers, "Docker-Content-Digest");
  if (!is_sha256_digest(d)) {
    // Without the header the only way to learn the digest is to fetch (and hash) the manifest.
    MG_ASSIGN_OR_RETURN(FetchedManifest m, get_manifest(ref));
    return m.digest;
  }
  return d;
}

Result<std::string> Client::put_manifest(const Reference& ref, std::string_view media_type, std::string_view bytes,
                                         bool* subject_accepted) {
  const std::string digest = sha256_digest(bytes);
  const std::string target = ref.tag ? *ref.tag : ref.digest.value_or(digest);
  const std::string ctx = repo_label(ref) + ": put manifest " + target;
  if (bytes.size() > impl_->options.max_manifest_bytes) {
    return make_error(Code::kLimit, ctx + ": manifest too large (" + std::to_string(bytes.size()) + " > " +
                                        std::to_string(impl_->options.max_manifest_bytes) + " bytes)");
  }
  Impl::Request rq;
  rq.method = "PUT";
  rq.endpoint = ref.endpoint();
  rq.path = "/v2/" + ref.repository + "/manifests/" + target;
  rq.body = std::string(bytes);
  rq.content_type = std::string(media_type);
  MG_ASSIGN_OR_RETURN_CTX(Response r, impl_->call(ref.registry, push_scope(ref), rq), ctx);
  if (r.status != 201 && r.status != 200) {
    return std::move(status_error(r.status, r.body)).context(ctx);
  }
  const std::string claimed = header_value(r.headers, "Docker-Content-Digest");
  if (!claimed.empty() && claimed != digest) {
    return make_error(Code::kMismatch, ctx + ": the registry stored " + crypto::quote_untrusted(claimed) + ", not " + digest);
  }
  if (subject_accepted != nullptr) {
    *subject_accepted = !header_value(r.headers, "OCI-Subject").empty();
  }
  return digest;
}

Result<bool> Client::has_blob(const Reference& repo, std::string_view digest) {
  const std::string ctx = repo_label(repo) + ": blob " + std::string(digest);
  Impl::Request rq;
  rq.method = "HEAD";
  rq.endpoint = repo.endpoint();
  rq.path = "/v2/" + repo.repository + "/blobs/" + std::string(digest);
  MG_ASSIGN_OR_RETURN_CTX(Response r, impl_->call(repo.registry, pull_scope(repo), rq), ctx);
  if (r.status == 200) {
    return true;
  }
  if (r.status == 404) {
    return false;
  }
  return std::move(status_error(r.status, "")).context(ctx);
}

Result<std::string> Client::get_blob(const Reference& repo, std::string_view digest, std::size_t max_bytes) {
  const std::string ctx = repo_label(repo) + ": blob " + std::string(digest);
  if (!is_sha256_digest(digest)) {
    return make_error(Code::kMalformed, ctx + ": not a sha256 digest");
  }
  if (auto hit = impl_->cache.get(std::string(digest))) {
    ++impl_->cache_hits;
    return hit->second;
  }
  Impl::Request rq;
  rq.method = "GET";
  rq.endpoint = repo.endpoint();
  rq.path = "/v2/" + repo.repository + "/blobs/" + std::string(digest);
  rq.max_body = max_bytes;
  rq.what = "blob";
  std::string body;
  crypto::Sha256 hasher;
  rq.on_data = [&](std::string_view d) -> Result<void> {
    hasher.update(d);
    body.append(d);
    return ok_status();
  };
  MG_ASSIGN_OR_RETURN_CTX(Response r, impl_->call(repo.registry, pull_scope(repo), rq), ctx);
  if (r.status != 200) {
    return std::move(status_error(r.status, r.body)).context(ctx);
  }
  const std::string got = "sha256:" + crypto::to_hex(hasher.final());
  if (!crypto::constant_time_equal(crypto::as_bytes(got), crypto::as_bytes(digest))) {
    return make_error(Code::kMismatch, ctx + ": the registry sent content that does not match the digest (found " + got + ")");
  }
  impl_->cache.put(got, "", body);
  return body;
}

Result<std::string> Client::push_blob(const Reference& repo, std::string_view bytes) {
  const std::string digest = sha256_digest(bytes);
  const std::string ctx = repo_label(repo) + ": push blob " + digest;
  MG_ASSIGN_OR_RETURN(bool present, has_blob(repo, digest));
  if (present) {
    return digest;
  }
  // Monolithic upload (distribution spec "Pushing a blob monolithically"): POST opens a session,
  // PUT <location>?digest= sends every byte.
  Impl::Request open;
  open.method = "POST";
  open.endpoint = repo.endpoint();
  open.path = "/v2/" + repo.repository + "/blobs/uploads/";
  MG_ASSIGN_OR_RETURN_CTX(Response r, impl_->call(repo.registry, push_scope(repo), open), ctx);
  if (r.status != 202) {
    return std::move(status_error(r.status, r.body)).context(ctx);
  }
  std::string location = header_value(r.headers, "Location");
  if (location.empty()) {
    return make_error(Code::kMalformed, ctx + ": upload session without a Location");
  }
  // Location may be absolute; it must point at the same registry (no credentials elsewhere).
  if (location.rfind("https://", 0) == 0) {
    const std::string prefix = "https://" + repo.endpoint() + "/";
    if (location.rfind(prefix, 0) != 0) {
      return make_error(Code::kUntrusted, ctx + ": upload location on another host " + crypto::quote_untrusted(location));
    }
    location = location.substr(prefix.size() - 1);
  } else if (location.front() != '/') {
    return make_error(Code::kMalformed, ctx + ": upload location " + crypto::quote_untrusted(location) + " is not a path");
  }
  Impl::Request put;
  put.method = "PUT";
  put.endpoint = repo.endpoint();
  put.path = location + (location.find('?') == std::string::npos ? "?" : "&") + "digest=" + digest;
  put.body = std::string(bytes);
  put.content_type = "application/octet-stream";
  MG_ASSIGN_OR_RETURN_CTX(Response done, impl_->call(repo.registry, push_scope(repo), put), ctx);
  if (done.status != 201) {
    return std::move(status_error(done.status, done.body)).context(ctx);
  }
  return digest;
}

}  // namespace modelgate::oci
