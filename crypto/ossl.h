// ossl.h: ownership and errors for OpenSSL objects. Ptr<T> frees with the right *_free; take_error
// drains the thread's OpenSSL error queue into an Error so the queue never outlives a call site.
// Not a crypto API: callers still use OpenSSL directly for the primitives.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"

namespace modelgate::crypto::ossl {

template <class T>
struct Deleter;
#define MODELGATE_OSSL_DELETER(T, fn)       \
  template <>                               \
  struct Deleter<T> {                       \
    void operator()(T* p) const { fn(p); }  \
  }
MODELGATE_OSSL_DELETER(BIO, BIO_free_all);
MODELGATE_OSSL_DELETER(EVP_PKEY, EVP_PKEY_free);
MODELGATE_OSSL_DELETER(EVP_PKEY_CTX, EVP_PKEY_CTX_free);
MODELGATE_OSSL_DELETER(EVP_MD_CTX, EVP_MD_CTX_free);
MODELGATE_OSSL_DELETER(X509, X509_free);
MODELGATE_OSSL_DELETER(X509_STORE, X509_STORE_free);
MODELGATE_OSSL_DELETER(X509_STORE_CTX, X509_STORE_CTX_free);
MODELGATE_OSSL_DELETER(X509_VERIFY_PARAM, X509_VERIFY_PARAM_free);
MODELGATE_OSSL_DELETER(ASN1_OBJECT, ASN1_OBJECT_free);
MODELGATE_OSSL_DELETER(ASN1_TIME, ASN1_TIME_free);
#undef MODELGATE_OSSL_DELETER

// Ptr owns one OpenSSL object.
template <class T>
using Ptr = std::unique_ptr<T, Deleter<T>>;

// X509Stack owns a STACK_OF(X509) and the certificates in it.
struct X509StackDeleter {
  void operator()(STACK_OF(X509) * s) const { sk_X509_pop_free(s, X509_free); }
};
using X509Stack = std::unique_ptr<STACK_OF(X509), X509StackDeleter>;

// take_error drains this thread's OpenSSL error queue and returns an Error whose message is
// `what` followed by OpenSSL's reasons (": reason; reason"). Always leaves the queue empty.
Error take_error(Code code, std::string_view what);

// clear_errors empties this thread's OpenSSL error queue (after an expected failure).
void clear_errors();

// mem_bio returns a read-only memory BIO over `data` (which must outlive it).
Ptr<BIO> mem_bio(std::string_view data);

}  // namespace modelgate::crypto::ossl
