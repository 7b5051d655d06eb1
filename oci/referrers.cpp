// referrers.cpp: oci::Client's referrers API (with the tag-schema fallback) and tag listing.
#include "crypto/json.h"
#include "oci/client.h"
#include "oci/client_impl.h"

namespace modelgate::oci {

Result<std::vector<Descriptor>> Client::referrers(const Reference& repo, std::string_view subject_digest,
                                                  std::string_view artifact_type) {
  const std::string ctx = repo_label(repo) + ": referrers of " + std::string(subject_digest);
  if (!is_sha256_digest(subject_digest)) {
    return make_error(Code::kMalformed, ctx + ": not a sha256 digest");
  }
  Impl::Request rq;
  rq.method = "GET";
  rq.endpoint = repo.endpoint();
  rq.path = "/v2/" + repo.repository + "/referrers/" + std::string(subject_digest);
  rq.headers.emplace("Accept", std::string(kMediaTypeImageIndex));
  rq.max_body = impl_->options.max_manifest_bytes;
  rq.what = "referrers index";
  std::string body;
  rq.on_data = [&body](std::string_view d) -> Result<void> {
    body.append(d);
    return ok_status();
  };
  MG_ASSIGN_OR_RETURN_CTX(Response r, impl_->call(repo.registry, pull_scope(repo), rq), ctx);
  std::vector<Descriptor> all;
  if (r.status == 200) {
    MG_ASSIGN_OR_RETURN_CTX(all, parse_index(body, impl_->options.max_manifest_bytes), ctx);
  } else if (r.status == 404) {
    // No referrers API (distribution 2.8): the tag schema, an index tagged sha256-<hex>.
    Reference tagged = repo;
    tagged.digest.reset();
    tagged.tag = "sha256-" + std::string(subject_digest.substr(7));
    Result<FetchedManifest> m = get_manifest(tagged);
    if (!m.ok()) {
      if (m.error().code == Code::kNotFound) {
        return all;
      }
      return std::move(m).error();
    }
    MG_ASSIGN_OR_RETURN_CTX(all, parse_index(m->bytes, impl_->options.max_manifest_bytes), ctx + " (tag " + *tagged.tag + ")");
  } else {
    return std::move(status_error(r.status, r.body)).context(ctx);
  }
  std::vector<Descriptor> out;
  for (Descriptor& d : all) {
    if (artifact_type.empty() || d.artifact_type == artifact_type) {
      out.push_back(std::move(d));
    }
  }
  return out;
}

Result<std::string> Client::push_referrer(const Reference& repo, std::string_view subject_digest, std::string_view manifest,
                                          const Descriptor& described) {
  Reference by_digest = repo;
  by_digest.tag.reset();
  by_digest.digest = sha256_digest(manifest);
  bool subject_accepted = false;
  MG_ASSIGN_OR_RETURN(std::string digest, put_manifest(by_digest, kMediaTypeImageManifest, manifest, &subject_accepted));
  if (subject_accepted) {
    return digest;
  }
  // Referrers tag schema (distribution spec "Pushing Manifests with Subject"): fetch the index at
  // sha256-<hex> (absent: empty), add this descriptor once, push it back under the tag.
  Reference tagged = repo;
  tagged.digest.reset();
  tagged.tag = "sha256-" + std::string(subject_digest.substr(7));
  std::vector<Descriptor> list;
  Result<FetchedManifest> existing = get_manifest(tagged);
  if (existing.ok()) {
    MG_ASSIGN_OR_RETURN_CTX(list, parse_index(existing->bytes, impl_->options.max_manifest_bytes),
                            repo_label(repo) + ": referrers tag " + *tagged.tag);
  } else if (existing.error().code != Code::kNotFound) {
    return std::move(existing).error();
  }
  for (const Descriptor& d : list) {
    if (d.digest == digest) {
      return digest;
    }
  }
  if (list.size() >= limits::kMaxOciReferrers) {
    return make_error(Code::kLimit, repo_label(repo) + ": too many referrers (" + std::to_string(list.size()) + ")");
  }
  Descriptor d = described;
  d.digest = digest;
  d.size = manifest.size();
  d.media_type = std::string(kMediaTypeImageManifest);
  list.push_back(std::move(d));
  MG_TRY(put_manifest(tagged, kMediaTypeImageIndex, render_index(list)));
  return digest;
}

Result<std::vector<std::string>> Client::tags(const Reference& repo) {
  const std::string ctx = repo_label(repo) + ": tags";
  Impl::Request rq;
  rq.method = "GET";
  rq.endpoint = repo.endpoint();
  rq.path = "/v2/" + repo.repository + "/tags/list?n=" + std::to_string(limits::kMaxOciTags);
  rq.max_body = limits::kMaxOciTags * 160;
  std::string body;
  rq.on_data = [&body](std::string_view d) -> Result<void> {
    body.append(d);
    return ok_status();
  };
  MG_ASSIGN_OR_RETURN_CTX(Response r, impl_->call(repo.registry, pull_scope(repo), rq), ctx);
  if (r.status != 200) {
    return std::move(status_error(r.status, r.body)).context(ctx);
  }
  MG_ASSIGN_OR_RETURN_CTX(crypto::Json doc, crypto::parse_json(body, {rq.max_body, 8}), ctx);
  std::vector<std::string> out;
  const crypto::Json* tags = doc.is_object() ? crypto::find_field(doc, "tags") : nullptr;
  if (tags == nullptr) {
    return out;
  }
  if (!tags->is_array() || tags->size() > limits::kMaxOciTags) {
    return make_error(Code::kMalformed, ctx + ": tags is not a bounded array");
  }
  for (const crypto::Json& t : *tags) {
    if (!t.is_string()) {
      return make_error(Code::kMalformed, ctx + ": a tag is not a string");
    }
    out.push_back(t.get<std::string>());
  }
  return out;
}

}  // namespace modelgate::oci
