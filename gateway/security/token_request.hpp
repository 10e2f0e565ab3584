#pragma once
// TokenRequest: what a POST to the OAuth2 token endpoint asks for, read from its
// application/x-www-form-urlencoded body (RFC 6749 §4.3 password, §4.4
// client_credentials, §6 refresh_token; SMART Backend Services' private_key_jwt client
// assertion) and from HTTP Basic client authentication (§2.3.1). Parsing checks the
// request's shape only; credentials are verified by the endpoint.
//
// Errors are cg::Error values; oauth_error_code() names the RFC 6749 §5.2 error the
// endpoint answers with: kInvalid / kTooLarge → invalid_request, kUnsupported →
// unsupported_grant_type, kUnauthorized → invalid_client (401). Error::location names the
// offending parameter when there is one. Messages never echo a secret.
// Pure functions; thread-safe.

#include <string>
#include <string_view>

#include "protocols/fhir/model/result.hpp"

namespace cg::gateway {

enum class GrantType { kPassword, kClientCredentials, kRefreshToken };

inline constexpr std::string_view kJwtBearerAssertionType =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
// Enough for a client assertion (an RS384 JWT is ~1 KiB) and a long scope list.
inline constexpr std::size_t kMaxTokenRequestBytes = 16 * 1024;
inline constexpr std::size_t kMaxTokenRequestParams = 32;

// Fields the request did not carry (or carried empty: RFC 6749 §3.1 treats a parameter
// without a value as omitted) are empty strings.
struct TokenRequest {
  GrantType grant_type = GrantType::kPassword;
  std::string username;  // password grant
  std::string password;  // password grant
  std::string client_id;
  std::string client_secret;          // from the body or HTTP Basic
  std::string client_assertion_type;  // kJwtBearerAssertionType whenever an assertion is set
  std::string client_assertion;       // the JWT, unverified
  std::string refresh_token;          // refresh_token grant
  std::string scope;                  // as sent; parse_scopes() reads it
  bool basic_auth = false;            // client_id/secret came from the Authorization header
};

struct ClientCredentials {
  std::string client_id;
  std::string client_secret;
};

// Parses the form body. kTooLarge over kMaxTokenRequestBytes or kMaxTokenRequestParams;
// kInvalid for a malformed escape, a control character in a value, a repeated parameter
// (§3.2), a missing grant_type or a parameter the grant requires, an assertion without
// its type or with another type, or two client authentication methods; kUnsupported for
// any other grant_type; kUnauthorized for a client_credentials grant without client
// authentication. Unknown parameters are ignored (§3.2).
Result<TokenRequest> parse_token_request(std::string_view body);

// Reads `Authorization: Basic base64(urlencode(id) ":" urlencode(secret))` (§2.3.1).
// kUnauthorized when it is not the Basic scheme, not strict base64, has no ':' or an empty
// client id, or a malformed escape.
Result<ClientCredentials> parse_basic_client_auth(std::string_view authorization);

// The whole request: the body plus, when `authorization` is not empty, Basic client
// authentication, which then must be the only method (§2.3: no client_secret or
// client_assertion in the body; a body client_id, if any, must be the same client).
Result<TokenRequest> parse_token_request(std::string_view body, std::string_view authorization);

// "invalid_request", "unsupported_grant_type", "invalid_client", … for an error of the
// functions above.
std::string_view oauth_error_code(const Error& error);

// RFC 7009 token revocation: `token` (required) and `token_type_hint` (access_token,
// refresh_token or absent; a hint only). Other parameters (client credentials) are ignored:
// revocation needs no client authentication here, since holding a token is what lets one
// revoke it. Errors as for the token request (kInvalid: invalid_request).
struct RevocationRequest {
  std::string token;
  std::string token_type_hint;
};
Result<RevocationRequest> parse_revocation_request(std::string_view body);

}  // namespace cg::gateway
