// libFuzzer target: the JWT parser and the JWK readers, on untrusted bearer tokens and client
// key sets. Any input either is refused with kUnauthorized / kInvalid (deterministically) or
// parses to a Jws whose signing input is the token up to its last dot. base64url has one
// spelling: whatever decodes re-encodes to the same text. Nothing verifies against a key the
// input cannot know. A JWK that is accepted round-trips through public_jwk().
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/security/jwk.hpp"
#include "gateway/security/jwt.hpp"
#include "gateway/security/jwt_claims.hpp"
#include "gateway/security/signing_key.hpp"

namespace {

using namespace cg;
using namespace cg::gateway;

void check(bool condition) {
  if (!condition) __builtin_trap();
}

const VerifyingKey& unknown_key() {
  static const SigningKey key = SigningKey::generate().value();
  return key.verifying_key();
}

void check_base64url(std::string_view text) {
  auto decoded = base64url_decode(text);
  if (decoded) check(base64url_encode(*decoded) == text);
  auto round = base64url_decode(base64url_encode(text));
  check(round.has_value() && *round == text);
}

void check_jwk(const boost::json::object& object) {
  auto key = VerifyingKey::from_jwk(object);
  if (!key) {
    check(key.error().kind == ErrorKind::kInvalid);
    return;
  }
  auto again = VerifyingKey::from_jwk(key->public_jwk());
  check(again.ok());
  check(again->algorithm() == key->algorithm());
  check(again->public_jwk() == key->public_jwk());
}

void check_parsed(const Jws& jws, std::string_view token) {
  check(token.starts_with(jws.signing_input));
  check(token.size() > jws.signing_input.size() && token[jws.signing_input.size()] == '.');
  check(!jws.signature.empty());
  check(!verify_jwt(jws, unknown_key()).ok());
  ClaimChecks claims;
  claims.now = std::chrono::sys_seconds(std::chrono::seconds(1'700'000'000));
  claims.audience = "https://gateway.example/auth/token";
  claims.require_jti = true;
  auto valid = validate_claims(jws.payload, claims);
  if (!valid) check(valid.error().kind == ErrorKind::kUnauthorized);
  check_jwk(jws.payload);
  check_jwk(jws.header);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto jws = parse_jwt(text);
  if (!jws) {
    check(jws.error().kind == ErrorKind::kUnauthorized);
    check(!parse_jwt(text).ok());  // deterministic
  } else {
    check_parsed(*jws, text);
  }
  check_base64url(text.substr(0, 512));
  auto keys = parse_jwks(text);
  if (!keys) check(keys.error().kind == ErrorKind::kInvalid);
  return 0;
}
