// tls_credentials.cpp: PEM chain + key loading and file identities for certificate rotation.
#include "admission/tls_credentials.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <array>

#include "base/limits.h"
#include "base/read_file.h"
#include "crypto/encoding.h"

namespace modelgate::admission {

namespace ossl = crypto::ossl;

namespace {

Result<std::string> read_pem(const std::filesystem::path& path) {
  auto text = read_regular_file(path, limits::kMaxKeyFileBytes);
  if (!text.ok()) {
    return std::move(text).error().context(path.string());
  }
  return text;
}

std::string asn1_time_text(const ASN1_TIME* t) {
  ossl::Ptr<BIO> bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || t == nullptr || ASN1_TIME_print(bio.get(), t) != 1) {
    ossl::clear_errors();
    return {};
  }
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

}  // namespace

FileIdentity file_identity(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return {};
  }
  FileIdentity id;
  id.exists = true;
  id.device = static_cast<std::uint64_t>(st.st_dev);
  id.inode = static_cast<std::uint64_t>(st.st_ino);
  id.size = static_cast<std::int64_t>(st.st_size);
  id.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  id.ctime_ns = static_cast<std::int64_t>(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec;
  return id;
}

bool TlsCredentials::install(SSL* ssl) const {
  // SSL_use_cert_and_key takes its own references: a rotation that frees this object later does
  // not pull the certificate from under a connection that is still using it.
  if (SSL_use_cert_and_key(ssl, leaf.get(), key.get(), chain.get(), 1) != 1) {
    ossl::clear_errors();
    return false;
  }
  return true;
}

Result<std::shared_ptr<const TlsCredentials>> load_tls_credentials(const std::filesystem::path& cert_file,
                                                                const std::filesystem::path& key_file) {
  auto out = std::make_shared<TlsCredentials>();
  // Identities first: a file replaced while we read it then looks changed at the next check.
  out->cert_id = file_identity(cert_file);
  out->key_id = file_identity(key_file);

  auto cert_pem = read_pem(cert_file);
  if (!cert_pem.ok()) {
    return std::move(cert_pem).error();
  }
  ossl::Ptr<BIO> bio = ossl::mem_bio(*cert_pem);
  if (bio == nullptr) {
    return ossl::take_error(Code::kInternal, cert_file.string() + ": cannot allocate");
  }
  out->leaf.reset(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (out->leaf == nullptr) {
    ossl::clear_errors();
    return make_error(Code::kMalformed, cert_file.string() + ": no PEM certificate");
  }
  out->chain.reset(sk_X509_new_null());
  if (out->chain == nullptr) {
    return ossl::take_error(Code::kInternal, "cannot allocate");
  }
  while (true) {
    ossl::Ptr<X509> next(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (next == nullptr) {
      // End of input is PEM_R_NO_START_LINE; anything else is a damaged block.
      const unsigned long e = ERR_peek_last_error();
      const bool end = ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
      if (!end) {
        return ossl::take_error(Code::kMalformed, cert_file.string() + ": certificate " +
                                                      std::to_string(sk_X509_num(out->chain.get()) + 2));
      }
      ossl::clear_errors();
      break;
    }
    if (static_cast<std::size_t>(sk_X509_num(out->chain.get())) + 1 >= limits::kMaxChainCertificates) {
      return make_error(Code::kLimit, cert_file.string() + ": too many certificates (more than " +
                                          std::to_string(limits::kMaxChainCertificates) + ")");
    }
    if (sk_X509_push(out->chain.get(), next.get()) == 0) {
      return ossl::take_error(Code::kInternal, "cannot allocate");
    }
    next.release();
  }

  auto key_pem = read_pem(key_file);
  if (!key_pem.ok()) {
    return std::move(key_pem).error();
  }
  ossl::Ptr<BIO> key_bio = ossl::mem_bio(*key_pem);
  if (key_bio == nullptr) {
    return ossl::take_error(Code::kInternal, key_file.string() + ": cannot allocate");
  }
  // An empty passphrase callback result: an encrypted key fails instead of prompting on a tty.
  pem_password_cb* no_password = [](char*, int, int, void*) { return 0; };
  out->key.reset(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, no_password, nullptr));
  if (out->key == nullptr) {
    return ossl::take_error(Code::kMalformed, key_file.string() + ": no unencrypted PEM private key");
  }
  if (X509_check_private_key(out->leaf.get(), out->key.get()) != 1) {
    ossl::clear_errors();
    return make_error(Code::kMismatch,
                      key_file.string() + ": private key does not match the certificate in " + cert_file.string());
  }

  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (X509_digest(out->leaf.get(), EVP_sha256(), md, &md_len) != 1) {
    return ossl::take_error(Code::kInternal, "cannot digest certificate");
  }
  out->leaf_sha256 = crypto::to_hex(std::span<const std::uint8_t>(md, md_len));
  out->not_after = asn1_time_text(X509_get0_notAfter(out->leaf.get()));
  return std::shared_ptr<const TlsCredentials>(std::move(out));
}

}  // namespace modelgate::admission
