#pragma once
// GatewayRouter: the top-level HTTP handler. Every request passes its single authorization
// point (authorize()) before any route runs; only the routes listed as open in
// router.cpp (/health, /fhir/metadata) skip the token check. Routes: /fhir/* → FhirApi,
// /health. Adds the security headers every response carries.
// Thread-safety: handle() is called concurrently from the HTTP worker threads.

#include <atomic>
#include <cstdint>
#include <string>

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

  http::Response handle(http::Request& request);

  // Requests refused by the authorization point (for /metrics later).
  std::uint64_t unauthorized_count() const { return unauthorized_.load(); }
  // The answer to an error the HTTP server detects itself (body too large, malformed
  // request, undecodable body): an OperationOutcome with the server's status.
  static http::Response protocol_error(int status, std::string_view reason);
  // Whether a path is open without a token (exposed for the route-policy test).
  static bool is_open_route(std::string_view method, std::string_view path);

 private:
  http::Response route(http::Request& request, std::string_view path, std::string_view query);
  std::string base_url(const http::Request& request) const;

  fhir::FhirApi& fhir_;
  const StaticTokenVerifier& tokens_;
  RouterConfig config_;
  std::atomic<std::uint64_t> unauthorized_{0};
};

}  // namespace cg::gateway
