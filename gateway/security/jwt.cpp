#include "gateway/security/jwt.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdint>

#include "gateway/security/jwk.hpp"
#include "gateway/security/openssl_handles.hpp"
#include "gateway/security/signing_key.hpp"

namespace cg::gateway {
namespace {

const EVP_MD* digest_for(JwsAlgorithm alg) {
  return alg == JwsAlgorithm::kEs256 ? EVP_sha256() : EVP_sha384();
}

// Bytes in each of r and s of a JOSE ECDSA signature; 0 for RSA.
std::size_t ecdsa_half(JwsAlgorithm alg) {
  switch (alg) {
    case JwsAlgorithm::kEs256:
      return 32;
    case JwsAlgorithm::kEs384:
      return 48;
    case JwsAlgorithm::kRs384:
      return 0;
  }
  return 0;
}

// OpenSSL speaks DER (SEQUENCE of two INTEGERs); JOSE wants r||s, each zero-padded to the
// curve size (RFC 7518 §3.4).
Result<std::string> der_to_jose(const std::string& der, std::size_t half) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ossl::EcdsaSig sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) return Error::internal("OpenSSL returned an unreadable ECDSA signature");
  std::string out(2 * half, '\0');
  auto* raw = reinterpret_cast<unsigned char*>(out.data());
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), raw, static_cast<int>(half)) < 0 ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), raw + half, static_cast<int>(half)) < 0) {
    return Error::internal("an ECDSA signature component is larger than the curve");
  }
  return out;
}

std::optional<std::string> jose_to_der(std::string_view raw, std::size_t half) {
  if (raw.size() != 2 * half) return std::nullopt;
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  ossl::Bignum r(BN_bin2bn(bytes, static_cast<int>(half), nullptr));
  ossl::Bignum s(BN_bin2bn(bytes + half, static_cast<int>(half), nullptr));
  ossl::EcdsaSig sig(ECDSA_SIG_new());
  if (!r || !s || !sig || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return std::nullopt;
  (void)r.release();  // owned by sig now
  (void)s.release();
  unsigned char* der = nullptr;
  int len = i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0) return std::nullopt;
  std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return out;
}

Result<std::string> evp_sign(EVP_PKEY* key, JwsAlgorithm alg, std::string_view data) {
  ossl::MdCtx ctx(EVP_MD_CTX_new());
  std::size_t len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(data.data());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, digest_for(alg), nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, in, data.size()) != 1) {
    return Error::internal("OpenSSL could not start a signature");
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in,
                     data.size()) != 1) {
    return Error::internal("OpenSSL could not sign");
  }
  sig.resize(len);
  if (ecdsa_half(alg) == 0) return sig;
  return der_to_jose(sig, ecdsa_half(alg));
}

bool evp_verify(EVP_PKEY* key, JwsAlgorithm alg, std::string_view data, std::string_view sig) {
  std::string der;
  if (ecdsa_half(alg) != 0) {
    auto converted = jose_to_der(sig, ecdsa_half(alg));
    if (!converted) return false;
    der = std::move(*converted);
    sig = der;
  }
  ossl::MdCtx ctx(EVP_MD_CTX_new());
  return ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, digest_for(alg), nullptr, key) == 1 &&
         EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                          reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
}

Result<boost::json::object> decode_json_object(std::string_view part, const char* what,
                                               const JwtLimits& limits) {
  auto bytes = base64url_decode(part);
  if (!bytes) return Error::unauthorized(std::string("the token's ") + what + " is not base64url");
  boost::json::parse_options options;
  options.max_depth = static_cast<std::size_t>(limits.max_json_depth);
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(*bytes, ec, {}, options);
  if (ec || !v.is_object()) {
    return Error::unauthorized(std::string("the token's ") + what + " is not a JSON object");
  }
  return std::move(v.as_object());
}

Result<JwsAlgorithm> read_algorithm(const boost::json::object& header) {
  const auto* alg = header.if_contains("alg");
  if (!alg || !alg->is_string()) return Error::unauthorized("the token's header has no alg");
  std::string_view name = alg->get_string();
  if (auto known = jws_algorithm_from_name(name)) return *known;
  if (name == "none") return Error::unauthorized("unsigned tokens (alg none) are refused");
  if (name.starts_with("HS")) return Error::unauthorized("HMAC-signed tokens are refused");
  return Error::unauthorized("the token's alg is not one this gateway accepts");
}

Status check_header(const boost::json::object& header) {
  if (header.contains("crit")) {
    return Error::unauthorized("the token's header has crit extensions, which are not supported");
  }
  for (const char* name : {"kid", "typ"}) {
    const auto* member = header.if_contains(name);
    if (member && !member->is_string()) {
      return Error::unauthorized(std::string("the token's ") + name + " is not a string");
    }
  }
  return ok_status();
}

}  // namespace

std::string_view to_string(JwsAlgorithm alg) {
  switch (alg) {
    case JwsAlgorithm::kEs256:
      return "ES256";
    case JwsAlgorithm::kEs384:
      return "ES384";
    case JwsAlgorithm::kRs384:
      return "RS384";
  }
  return "";
}

std::optional<JwsAlgorithm> jws_algorithm_from_name(std::string_view name) {
  for (auto alg : {JwsAlgorithm::kEs256, JwsAlgorithm::kEs384, JwsAlgorithm::kRs384}) {
    if (name == to_string(alg)) return alg;
  }
  return std::nullopt;
}

Result<Jws> parse_jwt(std::string_view token, const JwtLimits& limits) {
  if (token.size() > limits.max_token_bytes) {
    return Error::unauthorized("the token is longer than " +
                               std::to_string(limits.max_token_bytes) + " bytes");
  }
  const auto first = token.find('.');
  const auto second = first == token.npos ? token.npos : token.find('.', first + 1);
  if (second == token.npos || token.find('.', second + 1) != token.npos) {
    return Error::unauthorized("the token is not three dot-separated parts");
  }
  Jws jws;
  auto header = decode_json_object(token.substr(0, first), "header", limits);
  if (!header) return header.take_error();
  jws.header = std::move(*header);
  auto alg = read_algorithm(jws.header);
  if (!alg) return alg.take_error();
  jws.algorithm = *alg;
  if (auto checked = check_header(jws.header); !checked) return checked.take_error();
  auto payload = decode_json_object(token.substr(first + 1, second - first - 1), "payload", limits);
  if (!payload) return payload.take_error();
  jws.payload = std::move(*payload);
  auto signature = base64url_decode(token.substr(second + 1));
  if (!signature || signature->empty()) {
    return Error::unauthorized("the token's signature is missing or not base64url");
  }
  jws.signature = std::move(*signature);
  jws.signing_input = std::string(token.substr(0, second));
  return jws;
}

Result<std::string> sign_jwt(const boost::json::object& payload, const SigningKey& key,
                             std::string_view typ) {
  boost::json::object header;
  header["alg"] = to_string(key.algorithm());
  header["typ"] = typ;
  header["kid"] = key.kid();
  std::string input = base64url_encode(boost::json::serialize(header)) + "." +
                      base64url_encode(boost::json::serialize(payload));
  auto signature = evp_sign(key.native(), key.algorithm(), input);
  if (!signature) return signature.take_error();
  return input + "." + base64url_encode(*signature);
}

Status verify_jwt(const Jws& jws, const VerifyingKey& key) {
  if (jws.algorithm != key.algorithm()) {
    return Error::unauthorized("the token's alg is not the one its key is registered for");
  }
  if (!evp_verify(key.native(), jws.algorithm, jws.signing_input, jws.signature)) {
    return Error::unauthorized("the token's signature does not verify");
  }
  return ok_status();
}

Status verify_jwt(const Jws& jws, std::span<const VerifyingKey> keys) {
  const auto* kid = jws.header.if_contains("kid");  // a string: parse_jwt checked
  for (const VerifyingKey& key : keys) {
    if (kid && key.kid() != kid->get_string()) continue;
    if (key.algorithm() == jws.algorithm && verify_jwt(jws, key)) return ok_status();
  }
  return Error::unauthorized("no registered key verifies the token");
}

}  // namespace cg::gateway
