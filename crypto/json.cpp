#include "crypto/json.h"

#include <charconv>
#include <vector>

#include "crypto/encoding.h"
#include "crypto/quote.h"

namespace modelgate::crypto {

namespace {

// StrictSax builds the DOM itself so that it can reject duplicate keys and bound depth while
// parsing (nlohmann keeps the last duplicate silently, and recursion depth is unbounded).
class StrictSax : public nlohmann::json_sax<Json> {
 public:
  explicit StrictSax(std::size_t max_depth) : max_depth_(max_depth) {}

  bool null() override { return put(Json(nullptr)); }
  bool boolean(bool v) override { return put(Json(v)); }
  bool number_integer(number_integer_t v) override { return put(Json(v)); }
  bool number_unsigned(number_unsigned_t v) override { return put(Json(v)); }
  bool number_float(number_float_t v, const string_t&) override { return put(Json(v)); }
  bool string(string_t& v) override { return put(Json(std::move(v))); }
  bool binary(binary_t&) override { return fail(Code::kMalformed, "binary values are not JSON"); }

  bool start_object(std::size_t) override { return open(Json::object()); }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return open(Json::array()); }
  bool end_array() override { return close(); }

  bool key(string_t& k) override {
    Json& obj = *stack_.back();
    if (obj.contains(k)) {
      return fail(Code::kMalformed, "duplicate key " + quote_untrusted(k, 64));
    }
    pending_key_ = std::move(k);
    return true;
  }

  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& ex) override {
    std::string what = ex.what();
    // nlohmann's message starts with "[json.exception.parse_error.101] parse error at line..."
    auto pos = what.find("] ");
    return fail(Code::kMalformed, "at byte " + std::to_string(position) + ": " +
                                      (pos == std::string::npos ? what : what.substr(pos + 2)));
  }

  Json take() { return std::move(root_); }
  const Error& error() const { return error_; }
  bool failed() const { return failed_; }

 private:
  bool fail(Code c, std::string msg) {
    if (!failed_) {
      failed_ = true;
      error_ = Error{c, std::move(msg)};
    }
    return false;
  }

  Json* place(Json&& v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    Json& parent = *stack_.back();
    if (parent.is_object()) {
      Json& slot = parent[pending_key_];
      slot = std::move(v);
      return &slot;
    }
    parent.push_back(std::move(v));
    return &parent.back();
  }

  bool put(Json&& v) {
    place(std::move(v));
    return true;
  }

  bool open(Json&& v) {
    if (stack_.size() + 1 > max_depth_) {
      return fail(Code::kLimit, "nested deeper than " + std::to_string(max_depth_) + " levels");
    }
    stack_.push_back(place(std::move(v)));
    return true;
  }

  bool close() {
    stack_.pop_back();
    return true;
  }

  std::size_t max_depth_;
  Json root_;
  std::vector<Json*> stack_;
  std::string pending_key_;
  Error error_;
  bool failed_ = false;
};

std::string join(std::string_view path, std::string_view key) {
  std::string s(path);
  if (!s.empty()) {
    s += '.';
  }
  s += key;
  return s;
}

}  // namespace

Result<Json> parse_json(std::string_view text, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return make_error(Code::kLimit, "document is " + std::to_string(text.size()) + " bytes (limit " +
                                        std::to_string(limits.max_bytes) + ")");
  }
  // nlohmann's lexer takes a NUL byte for the end of input and ignores what follows, so
  // `{...}\0<anything>` would parse. No JSON text contains a raw NUL (RFC 8259 §2, §7: not
  // whitespace, and escaped inside strings). Found by review_codec_fuzz.
  if (const std::size_t nul = text.find('\0'); nul != std::string_view::npos) {
    return make_error(Code::kMalformed, "invalid JSON: NUL byte at offset " + std::to_string(nul));
  }
  StrictSax sax(limits.max_depth);
  bool ok = false;
  try {
    ok = Json::sax_parse(text.begin(), text.end(), &sax, nlohmann::detail::input_format_t::json, true);
  } catch (const std::exception& e) {
    // Invalid UTF-8 inside strings surfaces as an exception from the lexer in some versions.
    return make_error(Code::kMalformed, std::string("invalid JSON: ") + e.what());
  }
  if (!ok || sax.failed()) {
    Error e = sax.failed() ? sax.error() : make_error(Code::kMalformed, "invalid JSON");
    if (e.code == Code::kMalformed && e.message.rfind("invalid JSON", 0) != 0) {
      e.message = "invalid JSON: " + e.message;
    }
    return e;
  }
  return sax.take();
}

const Json* find_field(const Json& obj, std::string_view key) {
  if (!obj.is_object()) {
    return nullptr;
  }
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    return nullptr;
  }
  return &*it;
}

Result<std::string> get_string(const Json& obj, std::string_view key, std::string_view path) {
  const Json* v = find_field(obj, key);
  if (v == nullptr) {
    return make_error(Code::kMalformed, join(path, key) + ": is missing");
  }
  if (!v->is_string()) {
    return make_error(Code::kMalformed, join(path, key) + ": expected a string");
  }
  return v->get<std::string>();
}

Result<const Json*> get_object(const Json& obj, std::string_view key, std::string_view path) {
  const Json* v = find_field(obj, key);
  if (v == nullptr) {
    return make_error(Code::kMalformed, join(path, key) + ": is missing");
  }
  if (!v->is_object()) {
    return make_error(Code::kMalformed, join(path, key) + ": expected an object");
  }
  return v;
}

Result<const Json*> get_array(const Json& obj, std::string_view key, std::string_view path) {
  const Json* v = find_field(obj, key);
  if (v == nullptr) {
    return make_error(Code::kMalformed, join(path, key) + ": is missing");
  }
  if (!v->is_array()) {
    return make_error(Code::kMalformed, join(path, key) + ": expected an array");
  }
  return v;
}

Result<bool> get_bool(const Json& obj, std::string_view key, std::string_view path) {
  const Json* v = find_field(obj, key);
  if (v == nullptr) {
    return make_error(Code::kMalformed, join(path, key) + ": is missing");
  }
  if (!v->is_boolean()) {
    return make_error(Code::kMalformed, join(path, key) + ": expected true or false");
  }
  return v->get<bool>();
}

Result<std::int64_t> get_int64(const Json& obj, std::string_view key, std::string_view path) {
  const Json* v = find_field(obj, key);
  if (v == nullptr) {
    return make_error(Code::kMalformed, join(path, key) + ": is missing");
  }
  if (v->is_number_integer()) {
    if (v->is_number_unsigned() && v->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
      return make_error(Code::kMalformed, join(path, key) + ": integer out of range");
    }
    return v->get<std::int64_t>();
  }
  if (v->is_string()) {
    const std::string& s = v->get_ref<const std::string&>();
    std::int64_t out = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size() || s[0] == '+') {
      return make_error(Code::kMalformed, join(path, key) + ": expected a decimal integer");
    }
    return out;
  }
  return make_error(Code::kMalformed, join(path, key) + ": expected an integer");
}

Result<std::vector<std::uint8_t>> get_bytes(const Json& obj, std::string_view key, std::string_view path,
                                            std::size_t max_bytes) {
  MG_ASSIGN_OR_RETURN(std::string text, get_string(obj, key, path));
  auto r = base64_decode(text, max_bytes);
  if (!r.ok()) {
    return std::move(r).error().context(join(path, key));
  }
  return std::move(r).value();
}

Result<void> check_known_fields(const Json& obj, std::initializer_list<std::string_view> known,
                                std::string_view path) {
  if (!obj.is_object()) {
    return make_error(Code::kMalformed, std::string(path) + ": expected an object");
  }
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool found = false;
    for (auto k : known) {
      if (it.key() == k) {
        found = true;
        break;
      }
    }
    if (!found) {
      // Plain keys read as a path ("bundle.extra"); anything needing escapes is shown quoted.
      std::string quoted = quote_untrusted(it.key(), 64);
      bool plain = quoted.size() == it.key().size() + 2;
      return make_error(Code::kMalformed, join(path, plain ? it.key() : quoted) + ": unknown field");
    }
  }
  return ok_status();
}

}  // namespace modelgate::crypto
