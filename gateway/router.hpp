#pragma once
// GatewayRouter: the top-level HTTP handler. Every route is registered with a RoutePolicy
// (security/access_policy.hpp) and every request passes the single authorization point
// before its route runs: a public route needs nothing; any other needs a valid token (401
// otherwise) whose scopes or roles the policy accepts (403 otherwise); a route registered
// without a policy refuses everyone. routes() lists the registry so a test can prove this
// for each route.
// Routes: /fhir/* → FhirApi, /auth/token, /auth/revoke and /.well-known/* → OAuthEndpoints,
// /health. A request is authorized by a static token (auth.token_sha256) or an access token
// the gateway issued. Adds the security headers every response carries.
// Thread-safety: register routes before the first request; handle() is then called
// concurrently from the HTTP worker threads.

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "gateway/audit_emitter.hpp"
#include "gateway/audit_rest.hpp"
#include "gateway/fhir_authorization.hpp"
#include "gateway/http_metrics.hpp"
#include "gateway/oauth_endpoints.hpp"
#include "gateway/security/access_policy.hpp"
#include "gateway/security/static_tokens.hpp"
#include "protocols/fhir/rest/fhir_api.hpp"
#include "protocols/http/message.hpp"

namespace cg::gateway {

// One registered route. `path` is exact, or a prefix when it ends in "/*" ("/fhir/*" takes
// "/fhir" and everything below it); an exact route wins over a prefix. `methods` empty:
// every method.
struct Route {
  std::string name;  // for tests and logs: "fhir", "health", …
  std::vector<std::string> methods;
  std::string path;
  RoutePolicy policy;
  // `who`: the verified token's holder; null on a public route.
  std::function<http::Response(http::Request&, std::string_view path, std::string_view query,
                               const Principal* who)>
      handler;

  bool matches(std::string_view method, std::string_view path) const;
  bool is_prefix() const { return path.ends_with("/*"); }
};

struct RouterConfig {
  std::string public_base_url;  // empty: derived from the request's Host header
};

class GatewayRouter {
 public:
  GatewayRouter(fhir::FhirApi& fhir, const StaticTokenVerifier& tokens, RouterConfig config);

  // Serves the OAuth endpoints and accepts the access tokens they issue (beside the static
  // tokens). Before the first request; `oauth` must outlive the router.
  void set_oauth(OAuthEndpoints* oauth);
  // Serves /fhir/AuditEvent from the audit record repository (audit.db) instead of the
  // clinical store. Before the first request; `audit` must outlive the router.
  void set_audit_repository(AuditRestApi* audit);
  // Records every FHIR request made with a token as an audit record (rest_audit.hpp):
  // writes inside their own job, everything else after its response. Before the first
  // request; `emitter` must outlive the router.
  void set_audit_emitter(AuditEmitter* emitter) { emitter_ = emitter; }
  // Counts every request in `metrics` (/metrics: operations_endpoints.hpp). Before the first
  // request; `metrics` must outlive the router.
  void set_http_metrics(HttpMetrics* metrics) { metrics_ = metrics; }
  // Registers a route (before the first request). A route without a policy is kept, and
  // refuses every request: the route-enumeration test finds it.
  void add_route(Route route) { routes_.push_back(std::move(route)); }
  const std::vector<Route>& routes() const { return routes_; }

  http::Response handle(http::Request& request);

  // Requests refused by the authorization point (for /metrics later).
  std::uint64_t unauthorized_count() const { return unauthorized_.load(); }
  // Requests with a valid token whose scopes do not cover them.
  std::uint64_t forbidden_count() const { return forbidden_.load(); }
  // The answer to an error the HTTP server detects itself (body too large, malformed
  // request, undecodable body): an OperationOutcome with the server's status.
  static http::Response protocol_error(int status, std::string_view reason);
  // The route a request goes to; nullptr when none matches (404 once authorized).
  const Route* find_route(std::string_view method, std::string_view path) const;

 private:
  // The token (static or access) of the request; kUnauthorized.
  Result<Principal> authenticate(const http::Request& request) const;
  // The route's policy against the principal; for the FHIR API, its scopes against the
  // interaction (fhir_authorization.hpp). kForbidden.
  // kForbidden, or what the request may do (a FHIR request may be confined to a patient
  // compartment or a granular scope: fhir_confinement.hpp serves it).
  Result<FhirGrant> authorize(const Route& route, const Principal& principal,
                              const http::Request& request, std::string_view path,
                              std::string_view query) const;
  http::Response serve_confined_fhir(http::Request& request, std::string_view path,
                                     std::string_view query, const AccessCondition& condition,
                                     const Principal& who);
  // A POST to the FHIR base carrying AuditEvents: the audit repository's.
  bool is_audit_feed(const http::Request& request, std::string_view sub) const;
  void audit_fhir_access(const Principal& who, const http::Request& request, std::string_view path,
                         std::string_view query, const http::Response& response);
  http::Response health() const;
  // "https://gw.clinic.lan:8080": public_base_url, or the scheme and Host of `request`.
  std::string origin(const http::Request& request) const;
  std::string base_url(const http::Request& request) const;  // origin + "/fhir"

  fhir::FhirApi& fhir_;
  const StaticTokenVerifier& tokens_;
  OAuthEndpoints* oauth_ = nullptr;
  AuditEmitter* emitter_ = nullptr;
  AuditRestApi* audit_ = nullptr;
  HttpMetrics* metrics_ = nullptr;
  RouterConfig config_;
  std::vector<Route> routes_;
  std::atomic<std::uint64_t> unauthorized_{0};
  std::atomic<std::uint64_t> forbidden_{0};
};

}  // namespace cg::gateway
