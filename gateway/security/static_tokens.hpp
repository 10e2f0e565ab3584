#pragma once
// StaticTokenVerifier: accepts bearer tokens whose SHA-256 is listed in the config
// (auth.token_sha256). Only hashes are kept, so the config file never holds a usable
// secret. Comparison is constant-time. Immutable after construction; thread-safe.
// A static token is a bootstrap and migration aid (the demo, scripts written before the
// token endpoint): it is scoped like a backend client holding system/*.cruds, so it passes
// the same authorization point as an access token and reaches no route that needs a role.
// Enrolled clients (client add) are the way for anything that stays.

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
  std::string scope;    // the granted scopes (kStaticTokenScope for a static token)
  std::vector<std::string> roles;
  std::string patient;  // an access token's patient context (`patient` claim), "" when none
};

// What a static token (auth.token_sha256) may do.
inline constexpr std::string_view kStaticTokenScope = "system/*.cruds";

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
