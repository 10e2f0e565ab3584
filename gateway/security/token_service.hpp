#pragma once
// TokenService: the grants of the OAuth2 token endpoint (`POST /auth/token`), independent of
// HTTP: a parsed TokenRequest and the caller's address in, tokens or an RFC 6749 §5.2 error
// out.
//
// - password: a user of the identity store, local or bridged through the upstream, within
//   the lockout limits (per user and per address; password_login.hpp); the scopes are what
//   was asked for within what the user's roles allow;
// - client_credentials: a client by its secret (body or HTTP Basic) or by a signed client
//   assertion (SMART Backend Services, checked by an AssertionCheck); the scopes within the
//   client's registered ones;
// - refresh_token: the next token of a rotating chain (refresh_tokens.hpp), scopes equal or
//   narrower than before.
// Access tokens are short-lived signed JWTs (the ClaimsSigner: the gateway key); refresh
// tokens are random and kept as digests. A requested scope outside what may be granted is
// dropped from the grant (RFC 6749 §3.3: the response's `scope` says what was granted);
// nothing grantable at all is `invalid_scope`.
//
// Thread-safety: grant() may be called from any thread; it blocks on Argon2 and SQLite, so
// callers keep it off I/O threads.

#include <boost/json/object.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <variant>

#include "gateway/security/identity_store.hpp"
#include "gateway/security/login_lockout.hpp"
#include "gateway/security/password_login.hpp"
#include "gateway/security/refresh_tokens.hpp"
#include "gateway/security/scopes.hpp"
#include "gateway/security/token_request.hpp"

namespace cg::gateway {

struct TokenServiceConfig {
  std::string issuer;    // `iss`: the gateway's base URL
  std::string audience;  // `aud`: the FHIR base URL the tokens are for
  std::chrono::seconds access_token_ttl = std::chrono::minutes(5);
  std::chrono::seconds refresh_token_ttl = std::chrono::hours(24 * 7);
  Clock clock = system_now;
};

// Signs the claims of an access token with the gateway's key; the compact JWT.
using ClaimsSigner = std::function<Result<std::string>(const boost::json::object& claims)>;
// Verifies a client assertion (private_key_jwt): its signature against the client's JWKS,
// iss = sub = the client id, aud = the token endpoint, exp, a jti not seen before. The
// client it authenticates, or an error. Null: the gateway takes no assertions.
using AssertionCheck =
    std::function<Result<Client>(std::string_view assertion, IdentityStore& identities)>;

struct TokenResponse {
  std::string access_token;
  std::int64_t expires_in = 0;  // seconds
  std::string scope;            // what was granted
  std::string refresh_token;    // "" when none is issued
  std::string patient;          // the patient context (SMART `patient`), "" when none
};

struct OAuthError {
  std::string error;        // RFC 6749 §5.2 code: invalid_request, invalid_client, …
  std::string description;  // for humans; never a secret or a password
  int status = 400;         // 401 for invalid_client
};

using TokenOutcome = std::variant<TokenResponse, OAuthError>;

// Where failed logins and lockouts are reported, and the upstream bridged logins go to.
// Null: not reported; no upstream (every user is local). Both must outlive the service.
struct LoginHooks {
  SecurityEventSink* events = nullptr;
  UpstreamLogin* upstream = nullptr;
};

// The JSON bodies of the token endpoint's answers.
std::string token_response_json(const TokenResponse& tokens);
std::string oauth_error_json(const OAuthError& error);

// The most a user with these roles may be granted (docs/security.md): admin and clinician
// get user/*.cruds; patient gets patient/*.rs (its own record: the patient context is its
// fhirUser Patient); other roles no clinical scope through a password login.
GrantedScopes role_ceiling(const std::vector<std::string>& roles);

// The scopes of `requested` that `ceiling` covers (same context, the same type or `*`, a
// subset of the permissions, no restriction or the same one), and the non-clinical ones the
// ceiling allows. An empty request asks for the whole ceiling.
GrantedScopes within(const GrantedScopes& requested, const GrantedScopes& ceiling);

class TokenService {
 public:
  // The stores must outlive the service.
  TokenService(IdentityStore& identities, RefreshTokenStore& refresh_tokens, LoginLockout& lockout,
               ClaimsSigner signer, AssertionCheck assertions, TokenServiceConfig config,
               LoginHooks hooks = {});

  TokenOutcome grant(const TokenRequest& request, std::string_view source_address);

 private:
  struct Subject;
  TokenOutcome password_grant(const TokenRequest& request, std::string_view address);
  TokenOutcome client_grant(const TokenRequest& request, std::string_view address);
  TokenOutcome refresh_grant(const TokenRequest& request);
  Result<Client> authenticate_client(const TokenRequest& request);
  TokenOutcome issue(const Subject& subject, const GrantedScopes& ceiling,
                     std::string_view requested, bool with_refresh, std::string family = {});

  IdentityStore& identities_;
  RefreshTokenStore& refresh_tokens_;
  LoginLockout& lockout_;
  ClaimsSigner signer_;
  AssertionCheck assertions_;
  TokenServiceConfig config_;
  PasswordLogin password_login_;
};

}  // namespace cg::gateway
