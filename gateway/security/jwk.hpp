#pragma once
// Public keys as JWKs (RFC 7517). VerifyingKey is a public key bound to exactly one JWS
// algorithm, made from a client's registered JWK or JWK Set (SMART Backend Services: EC P-384
// for ES384, RSA for RS384) or from the gateway's own key (EC P-256, ES256); jwks_document()
// is what /.well-known/jwks.json serves. Binding the algorithm to the key, not to the token,
// is what stops a token from choosing how it is checked.
// VerifyingKey is immutable after construction and safe to share between threads.

#include <openssl/types.h>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/security/jwt.hpp"

namespace cg::gateway {

class VerifyingKey {
 public:
  // From a public JWK: kty "EC" with crv "P-256" (ES256) or "P-384" (ES384), or kty "RSA" of
  // at least 2048 bits (RS384). kInvalid when a member is missing or malformed, the point is
  // not on the curve, "alg" names another algorithm, "use" is not "sig", "key_ops" lacks
  // "verify", or the JWK holds private members ("d"): a private key pasted by mistake.
  static Result<VerifyingKey> from_jwk(const boost::json::object& jwk);

  JwsAlgorithm algorithm() const { return algorithm_; }
  // The JWK's "kid", or its RFC 7638 thumbprint when it had none.
  const std::string& kid() const { return kid_; }
  // kty, crv/x/y or n/e, kid, "use": "sig", alg. Never private members.
  boost::json::object public_jwk() const;
  // For jwt.cpp. Owned by this key; valid while it lives.
  EVP_PKEY* native() const { return key_.get(); }

 private:
  VerifyingKey(std::shared_ptr<EVP_PKEY> key, JwsAlgorithm alg, std::string kid);
  std::shared_ptr<EVP_PKEY> key_;
  JwsAlgorithm algorithm_;
  std::string kid_;
};

// A JWK Set ({"keys": [...]}, at most 32 keys). Keys of another kty or with "use" other than
// "sig" are skipped (RFC 7517 §5); any other key that does not parse refuses the whole set,
// and so does a set left with no key (kInvalid).
Result<std::vector<VerifyingKey>> parse_jwks(const boost::json::value& jwks);
Result<std::vector<VerifyingKey>> parse_jwks(std::string_view json);
boost::json::object jwks_document(std::span<const VerifyingKey> keys);

// RFC 7638 thumbprint: base64url(SHA-256) of the key's required members in lexicographic
// order without whitespace. kInvalid when kty is not EC or RSA or a required member is absent.
Result<std::string> jwk_thumbprint(const boost::json::object& jwk);

// A JWK Set ({"keys": [...]}, at most 32 keys, 64 KiB of text). Keys of another kty or with
// "use" other than "sig" are skipped (RFC 7517 §5); any other key that does not parse refuses
// the whole set, and so does a set left with no key (kInvalid).
Result<std::vector<VerifyingKey>> parse_jwks(const boost::json::value& jwks);
Result<std::vector<VerifyingKey>> parse_jwks(std::string_view json);
boost::json::object jwks_document(std::span<const VerifyingKey> keys);

// RFC 7638 thumbprint: base64url(SHA-256) of the key's required members in lexicographic
// order without whitespace. kInvalid when kty is not EC or RSA or a required member is absent.
Result<std::string> jwk_thumbprint(const boost::json::object& jwk);

// The required public members (kty, crv/x/y or n/e) of any key OpenSSL holds, private or
// public; kInvalid for a kind of key no algorithm here serves. For SigningKey.
Result<boost::json::object> public_jwk_of(EVP_PKEY* key);

}  // namespace cg::gateway
