#pragma once
// Compact JWS / JWT (RFC 7515, RFC 7519): base64url, a strict parser, ES256 signing and
// ES256 / ES384 / RS384 verification. The gateway signs its access tokens with ES256; SMART
// Backend Services clients sign their assertions with RS384 or ES384.
//
// Only those three algorithms exist here: "none" and the HMAC family (HS*) are refused at
// parse time, so a token can never choose to be unsigned or to be checked with a public key
// used as an HMAC secret. A verifying key is bound to one algorithm (see signing_key.hpp) and
// verify_jwt() refuses a token whose "alg" differs, which closes algorithm confusion.
//
// Claims (exp, aud, ...) are checked by jwt_claims.hpp. Pure functions over values; thread-safe.

#include <boost/json/object.hpp>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "protocols/fhir/model/base64.hpp"  // base64url_encode/decode: JWS parts
#include "protocols/fhir/model/result.hpp"

namespace cg::gateway {

class SigningKey;
class VerifyingKey;

enum class JwsAlgorithm { kEs256, kEs384, kRs384 };

std::string_view to_string(JwsAlgorithm alg);
// nullopt for anything but "ES256", "ES384", "RS384" (exact case).
std::optional<JwsAlgorithm> jws_algorithm_from_name(std::string_view name);

struct JwtLimits {
  std::size_t max_token_bytes = 16 * 1024;
  int max_json_depth = 16;
};

// A parsed token whose signature has not been checked yet: nothing in it is trustworthy
// until verify_jwt() succeeds.
struct Jws {
  JwsAlgorithm algorithm = JwsAlgorithm::kEs256;
  boost::json::object header;
  boost::json::object payload;
  std::string signing_input;  // "<header>.<payload>" as received: the bytes that were signed
  std::string signature;      // raw bytes (JOSE form: r||s for ECDSA)
};

// kUnauthorized when the token is not three base64url parts, is over the size limit, when
// header or payload is not a JSON object, when "alg" is missing, "none", HS* or unknown, when
// "kid" or "typ" is not a string, or when the header has "crit" (no extension is understood).
// Duplicate member names keep the lexically last one (RFC 7515 §4 allows this).
Result<Jws> parse_jwt(std::string_view token, const JwtLimits& limits = {});

// Signs `payload` as {"alg": <key's>, "typ": typ, "kid": <key's kid>}. kInternal when
// OpenSSL fails (not expected).
Result<std::string> sign_jwt(const boost::json::object& payload, const SigningKey& key,
                             std::string_view typ = "JWT");

// kUnauthorized when the token's alg is not the key's, or the signature does not verify.
Status verify_jwt(const Jws& jws, const VerifyingKey& key);
// With a client's registered key set: keys whose kid matches the header's (all of them when
// the header has no kid) and whose algorithm is the token's are tried.
Status verify_jwt(const Jws& jws, std::span<const VerifyingKey> keys);

}  // namespace cg::gateway
