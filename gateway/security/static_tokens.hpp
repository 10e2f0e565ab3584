#pragma once
// StaticTokenVerifier: accepts bearer tokens whose SHA-256 is listed in the config
// (auth.token_sha256). Only hashes are kept, so the config file never holds a usable
// secret. Comparison is constant-time. Immutable after construction; thread-safe.
// (OAuth2-issued JWTs replace this in the security issue; the router's authorization
// point stays the same.)

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/security/password_hash.hpp"
#include "protocols/fhir/model/result.hpp"

namespace cg::gateway {

struct Principal {
  std::string subject;  // "token:<first 8 hex digits of its hash>" or the token's `sub`:
                        // safe to log and audit
  std::string scope;    // a JWT access token's granted scopes ("" for a static token)
  std::vector<std::string> roles;
  std::string patient;  // an access token's patient context (`patient` claim), "" when none
  // An access token from /auth/token, whose scopes the router enforces; a static token
  // (auth.token_sha256) reaches the whole API.
  bool scoped = false;
};

// The token of an Authorization header value in the Bearer scheme (case-insensitive
// scheme name), "" when there is none. Shared by every verifier of bearer tokens.
std::string_view bearer_token(std::string_view authorization);

class StaticTokenVerifier {
 public:
  explicit StaticTokenVerifier(const std::vector<std::string>& sha256_hex);

  // Checks an Authorization header value ("Bearer <token>"). kUnauthorized when it is
  // missing, malformed or unknown.
  Result<Principal> verify(std::string_view authorization) const;

 private:
  std::vector<std::array<unsigned char, 32>> hashes_;
};

// sha256_hex() and generate_token(), which make what auth.token_sha256 lists, are in
// password_hash.hpp with the other secret hashing.

}  // namespace cg::gateway
