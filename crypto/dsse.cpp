#include "crypto/dsse.h"

#include "base/limits.h"
#include "crypto/encoding.h"

namespace modelgate::crypto {

Result<DsseEnvelope> parse_dsse_envelope(const Json& obj, std::string_view path) {
  std::string p(path);
  if (!obj.is_object()) {
    return make_error(Code::kMalformed, p + ": expected an object");
  }
  MG_TRY(check_known_fields(obj, {"payload", "payloadType", "signatures"}, p));
  DsseEnvelope env;
  MG_ASSIGN_OR_RETURN(env.payload_type, get_string(obj, "payloadType", p));
  if (env.payload_type.empty()) {
    return make_error(Code::kMalformed, p + ".payloadType: is empty");
  }
  // The payload may legitimately be empty in DSSE, but proto3 JSON then omits the field.
  if (find_field(obj, "payload") != nullptr) {
    MG_ASSIGN_OR_RETURN(env.payload, get_bytes(obj, "payload", p, limits::kMaxDssePayloadBytes));
  }
  MG_ASSIGN_OR_RETURN(const Json* sigs, get_array(obj, "signatures", p));
  if (sigs->empty()) {
    return make_error(Code::kMalformed, p + ".signatures: is empty");
  }
  if (sigs->size() > limits::kMaxDsseSignatures) {
    return make_error(Code::kLimit, p + ".signatures: too many signatures (" + std::to_string(sigs->size()) + " > " +
                                        std::to_string(limits::kMaxDsseSignatures) + ")");
  }
  for (std::size_t i = 0; i < sigs->size(); ++i) {
    std::string sp = p + ".signatures[" + std::to_string(i) + "]";
    const Json& s = (*sigs)[i];
    if (!s.is_object()) {
      return make_error(Code::kMalformed, sp + ": expected an object");
    }
    MG_TRY(check_known_fields(s, {"sig", "keyid"}, sp));
    DsseSignature ds;
    MG_ASSIGN_OR_RETURN(ds.sig, get_bytes(s, "sig", sp, limits::kMaxCertificateBytes));
    if (ds.sig.empty()) {
      return make_error(Code::kMalformed, sp + ".sig: is empty");
    }
    if (find_field(s, "keyid") != nullptr) {
      MG_ASSIGN_OR_RETURN(ds.keyid, get_string(s, "keyid", sp));
    }
    env.signatures.push_back(std::move(ds));
  }
  return env;
}

std::vector<std::uint8_t> dsse_pae(std::string_view payload_type, std::span<const std::uint8_t> payload) {
  // DSSE v1 PAE: "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, LEN = ASCII decimal bytes.
  std::string head = "DSSEv1 " + std::to_string(payload_type.size()) + " " + std::string(payload_type) + " " +
                     std::to_string(payload.size()) + " ";
  std::vector<std::uint8_t> out(head.begin(), head.end());
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

Json dsse_envelope_to_json(const DsseEnvelope& envelope) {
  Json sigs = Json::array();
  for (const auto& s : envelope.signatures) {
    Json j = Json::object();
    j["sig"] = base64_encode(s.sig);
    if (s.keyid) {
      j["keyid"] = *s.keyid;
    }
    sigs.push_back(std::move(j));
  }
  Json out = Json::object();
  out["payload"] = base64_encode(envelope.payload);
  out["payloadType"] = envelope.payload_type;
  out["signatures"] = std::move(sigs);
  return out;
}

}  // namespace modelgate::crypto
