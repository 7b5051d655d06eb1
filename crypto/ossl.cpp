#include "crypto/ossl.h"

#include <openssl/err.h>

#include <climits>

namespace modelgate::crypto::ossl {

Error take_error(Code code, std::string_view what) {
  std::string msg(what);
  bool first = true;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    const char* reason = ERR_reason_error_string(e);
    msg += first ? ": " : "; ";
    first = false;
    if (reason != nullptr) {
      msg += reason;
    } else {
      char buf[256];
      ERR_error_string_n(e, buf, sizeof buf);
      msg += buf;
    }
  }
  return Error{code, std::move(msg)};
}

void clear_errors() { ERR_clear_error(); }

Ptr<BIO> mem_bio(std::string_view data) {
  if (data.size() > static_cast<std::size_t>(INT_MAX)) {
    return nullptr;
  }
  return Ptr<BIO>(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

}  // namespace modelgate::crypto::ossl
