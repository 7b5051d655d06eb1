// tls_credentials.h: the server's certificate chain and private key as read from two PEM files,
// with the files' identities so a rotation (a Secret update, cert-manager renewal) is noticed.
// Not the TLS server (server.h installs these per handshake) and not certificate verification.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "base/result.h"
#include "crypto/ossl.h"

namespace modelgate::admission {

// FileIdentity is what changes when a file is replaced or rewritten (stat, symlinks followed:
// Kubernetes swaps a Secret volume's ..data symlink). `exists` false when stat failed.
struct FileIdentity {
  bool exists = false;
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  std::int64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::int64_t ctime_ns = 0;
  friend bool operator==(const FileIdentity&, const FileIdentity&) = default;
};

// file_identity stats `path`. Never fails: a missing file is {exists = false}. Thread-safe.
FileIdentity file_identity(const std::filesystem::path& path);

// TlsCredentials is one loaded pair: the leaf certificate, the rest of the chain in file order, and
// the key, which matches the leaf. Immutable once loaded; shared by handshakes in flight.
struct TlsCredentials {
  crypto::ossl::Ptr<X509> leaf;
  crypto::ossl::X509Stack chain;
  crypto::ossl::Ptr<EVP_PKEY> key;
  FileIdentity cert_id;
  FileIdentity key_id;
  std::string leaf_sha256;  // lowercase hex over the leaf's DER
  std::string not_after;    // the leaf's notAfter, as OpenSSL prints it

  // install puts these credentials on one connection (called from the handshake's cert
  // callback). Returns false when OpenSSL refuses them; the handshake then fails.
  bool install(SSL* ssl) const;
};

// load_tls_credentials reads the PEM chain (leaf first, at most limits::kMaxChainCertificates,
// each file at most limits::kMaxKeyFileBytes) and an unencrypted PEM private key, and checks that
// the key belongs to the leaf. Errors carry the file as context: kNotFound / kIo (cannot read),
// kMalformed (no certificate, unreadable PEM), kLimit, kMismatch (key does not match the
// certificate). Thread-safe.
[[nodiscard]] Result<std::shared_ptr<const TlsCredentials>> load_tls_credentials(const std::filesystem::path& cert_file,
                                                                              const std::filesystem::path& key_file);

}  // namespace modelgate::admission
