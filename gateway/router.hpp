#pragma once
// GatewayRouter: the top-level HTTP handler. Every request passes its single authorization
// point before any route runs; only the routes listed as open in router.cpp (/health,
// /fhir/metadata, the token endpoint and the discovery documents) skip the token check.
// Routes: /fhir/* → FhirApi, /auth/token and /.well-known/* → OAuthEndpoints, /health.
// A request is authorized by a static token (auth.token_sha256) or an access token the
// gateway issued. Adds the security headers every response carries.
// Thread-safety: handle() is called concurrently from the HTTP worker threads.

#include <atomic>
#include <cstdint>
#include <string>

#include "gateway/oauth_endpoints.hpp"
#include "gateway/security/static_tokens.hpp"
#include "protocols/fhir/rest/fhir_api.hpp"
#include "protocols/http/message.hpp"

namespace cg::gateway {

struct RouterConfig {
  std::string public_base_url;  // empty: derived from the request's Host header
};

class GatewayRouter {
 public:
  GatewayRouter(fhir::FhirApi& fhir, const StaticTokenVerifier& tokens, RouterConfig config);

  // Serves the OAuth endpoints and accepts the access tokens they issue (beside the static
  // tokens). Before the first request; `oauth` must outlive the router.
  void set_oauth(OAuthEndpoints* oauth) { oauth_ = oauth; }

  http::Response handle(http::Request& request);

  // Requests refused by the authorization point (for /metrics later).
  std::uint64_t unauthorized_count() const { return unauthorized_.load(); }
  // Requests with a valid token whose scopes do not cover them.
  std::uint64_t forbidden_count() const { return forbidden_.load(); }
  // The answer to an error the HTTP server detects itself (body too large, malformed
  // request, undecodable body): an OperationOutcome with the server's status.
  static http::Response protocol_error(int status, std::string_view reason);
  // Whether a path is open without a token (exposed for the route-policy test).
  static bool is_open_route(std::string_view method, std::string_view path);

 private:
  http::Response route(http::Request& request, std::string_view path, std::string_view query);
  // An access token's scopes against the request (fhir_authorization.hpp); kForbidden.
  Status scope_check(const Principal& principal, const http::Request& request,
                     std::string_view path, std::string_view query) const;
  std::string base_url(const http::Request& request) const;

  fhir::FhirApi& fhir_;
  const StaticTokenVerifier& tokens_;
  OAuthEndpoints* oauth_ = nullptr;
  RouterConfig config_;
  std::atomic<std::uint64_t> unauthorized_{0};
  std::atomic<std::uint64_t> forbidden_{0};
};

}  // namespace cg::gateway
