#include "gateway/router.hpp"

#include <algorithm>
#include <chrono>
#include <optional>

#include "gateway/fhir_authorization.hpp"
#include "gateway/fhir_confinement.hpp"
#include "gateway/heap.hpp"
#include "gateway/log.hpp"
#include "gateway/rest_audit.hpp"
#include "protocols/fhir/model/json.hpp"
#include "protocols/fhir/rest/outcome.hpp"

namespace cg::gateway {
namespace {

constexpr std::string_view kFhirPrefix = "/fhir";
constexpr std::size_t kLargeBody = 256 * 1024;

http::Response outcome_response(const Error& e) {
  http::Response r;
  r.status = fhir::http_status(e.kind);
  r.body = fhir::serialize_json(fhir::operation_outcome(e));
  r.set_header("Content-Type", "application/fhir+json;charset=utf-8");
  return r;
}

// "Patient/1" of "/fhir/Patient/1"; "" of "/fhir".
std::string_view fhir_sub_path(std::string_view path) {
  return path.substr(std::min(path.size(), kFhirPrefix.size() + 1));
}

void add_security_headers(http::Response& r) {
  r.set_header("X-Content-Type-Options", "nosniff");
  r.set_header("X-Frame-Options", "DENY");
  r.set_header("Referrer-Policy", "no-referrer");
  // An API, never a page: nothing in a response may load or run anything in a browser.
  r.set_header("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
  // Responses may carry patient data: never cache them anywhere.
  if (r.header("Cache-Control").empty()) r.set_header("Cache-Control", "no-store");
}

}  // namespace

http::Response GatewayRouter::protocol_error(int status, std::string_view reason) {
  ErrorKind kind = ErrorKind::kInternal;
  switch (status) {
    case 400:
      kind = ErrorKind::kInvalid;
      break;
    case 413:
    case 431:
      kind = ErrorKind::kTooLarge;
      break;
    case 415:
      kind = ErrorKind::kUnsupported;
      break;
    default:
      break;
  }
  http::Response r = outcome_response(Error{kind, std::string(reason), {}});
  r.status = status;  // 431 has no kind of its own; keep the server's exact status
  add_security_headers(r);
  return r;
}

GatewayRouter::GatewayRouter(fhir::FhirApi& fhir, const StaticTokenVerifier& tokens,
                             RouterConfig config)
    : fhir_(fhir), tokens_(tokens), config_(std::move(config)) {
  add_route({"health",
             {"GET", "HEAD"},
             "/health",
             RoutePolicy::public_route(),
             [this](http::Request&, std::string_view, std::string_view, const Principal*) {
               return health();
             }});
  // The CapabilityStatement says what the server supports and holds no data.
  auto fhir_handler = [this](http::Request& request, std::string_view path, std::string_view query,
                             const Principal* who) {
    // Writes record their audit inside their own store job (rest_audit.hpp).
    const std::string_view sub = fhir_sub_path(path);
    if (is_audit_feed(request, sub)) return audit_->feed_bundle(request, query, base_url(request));
    std::optional<RestWriteAuditor> auditor;
    if (emitter_ != nullptr && who != nullptr) auditor.emplace(*emitter_, *who, request);
    return fhir_.handle(request, sub, query, base_url(request), auditor ? &*auditor : nullptr);
  };
  add_route({"fhir-metadata",
             {"GET", "HEAD"},
             "/fhir/metadata",
             RoutePolicy::public_route(),
             fhir_handler});
  add_route({"fhir", {}, "/fhir/*", RoutePolicy::fhir(), fhir_handler});
}

void GatewayRouter::set_oauth(OAuthEndpoints* oauth) {
  oauth_ = oauth;
  // The token endpoint authenticates its callers itself (credentials in the body); holding
  // a token is what lets one revoke it. The discovery documents hold no secrets.
  add_route({"auth-token",
             {"POST"},
             "/auth/token",
             RoutePolicy::public_route(),
             [oauth](http::Request& r, std::string_view, std::string_view, const Principal*) {
               return oauth->token(r);
             }});
  add_route({"auth-revoke",
             {"POST"},
             "/auth/revoke",
             RoutePolicy::public_route(),
             [oauth](http::Request& r, std::string_view, std::string_view, const Principal*) {
               return oauth->revoke(r);
             }});
  add_route({"jwks",
             {"GET", "HEAD"},
             "/.well-known/jwks.json",
             RoutePolicy::public_route(),
             [oauth](http::Request&, std::string_view, std::string_view, const Principal*) {
               return oauth->jwks();
             }});
  // SMART App Launch discovery: "[FHIR base]/.well-known/smart-configuration", where SMART
  // clients look, and the same document at the server's root.
  auto smart = [this, oauth](http::Request& r, std::string_view, std::string_view,
                             const Principal*) { return oauth->smart_configuration(origin(r)); };
  add_route({"smart-configuration",
             {"GET", "HEAD"},
             "/.well-known/smart-configuration",
             RoutePolicy::public_route(),
             smart});
  add_route({"fhir-smart-configuration",
             {"GET", "HEAD"},
             "/fhir/.well-known/smart-configuration",
             RoutePolicy::public_route(),
             smart});
}

bool GatewayRouter::is_audit_feed(const http::Request& request, std::string_view sub) const {
  return audit_ != nullptr && request.method == "POST" && sub.empty() &&
         AuditRestApi::classify_bundle(request) != AuditRestApi::BundleKind::kOther;
}

void GatewayRouter::set_audit_repository(AuditRestApi* audit) {
  audit_ = audit;
  // The FHIR policy decides per interaction on the AuditEvent type (user/AuditEvent.rs and
  // the like); these routes win over "/fhir/*" (exact, and the longer prefix).
  auto handler = [this, audit](http::Request& request, std::string_view path,
                               std::string_view query, const Principal*) {
    return audit->handle(request, fhir_sub_path(path), query, base_url(request));
  };
  add_route({"fhir-audit-event", {}, "/fhir/AuditEvent", RoutePolicy::fhir(), handler});
  add_route({"fhir-audit-event-instance", {}, "/fhir/AuditEvent/*", RoutePolicy::fhir(), handler});
}

bool Route::matches(std::string_view method, std::string_view request_path) const {
  if (!methods.empty() && std::find(methods.begin(), methods.end(), method) == methods.end()) {
    return false;
  }
  if (!is_prefix()) return request_path == path;
  std::string_view base = std::string_view(path).substr(0, path.size() - 2);  // "/fhir"
  return request_path == base ||
         (request_path.starts_with(base) && request_path.size() > base.size() &&
          request_path[base.size()] == '/');
}

const Route* GatewayRouter::find_route(std::string_view method, std::string_view path) const {
  const Route* prefix = nullptr;
  for (const auto& r : routes_) {
    if (!r.matches(method, path)) continue;
    if (!r.is_prefix()) return &r;
    if (prefix == nullptr || r.path.size() > prefix->path.size()) prefix = &r;
  }
  return prefix;
}

std::string GatewayRouter::origin(const http::Request& request) const {
  if (!config_.public_base_url.empty()) return config_.public_base_url;
  std::string host(request.header("Host"));
  if (host.empty()) host = "localhost";
  return (request.secure ? "https://" : "http://") + host;
}

std::string GatewayRouter::base_url(const http::Request& request) const {
  return origin(request) + std::string(kFhirPrefix);
}

http::Response GatewayRouter::health() const {
  http::Response r;
  r.body = R"({"status":"pass"})";
  r.set_header("Content-Type", "application/health+json");
  return r;
}

http::Response GatewayRouter::handle(http::Request& request) {
  auto started = std::chrono::steady_clock::now();
  std::string_view target = request.target;
  auto q = target.find('?');
  std::string_view path = target.substr(0, q);
  std::string_view query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);

  http::Response response;
  const Route* route = find_route(request.method, path);
  std::optional<Principal> who;
  if (route != nullptr && !route->policy.needs_token()) {
    response = route->handler(request, path, query, nullptr);
  } else if (auto principal = authenticate(request); !principal) {
    // The authorization point: nothing below runs without a valid token. An unknown path
    // is 401 too, so the route table is not probed without one.
    unauthorized_.fetch_add(1, std::memory_order_relaxed);
    response = outcome_response(principal.error());
    response.set_header("WWW-Authenticate", "Bearer realm=\"clinic-gateway\"");
  } else if (who.emplace(std::move(*principal)); route == nullptr) {
    response = outcome_response(Error::not_found("no such endpoint: " + std::string(path)));
  } else if (auto grant = authorize(*route, *who, request, path, query); !grant) {
    forbidden_.fetch_add(1, std::memory_order_relaxed);
    response = outcome_response(grant.error());
  } else if (grant->confine && route->name != "fhir") {
    // Audit records are not in any patient's compartment: a patient/ or granular scope on
    // AuditEvent cannot be confined, so it does not reach them.
    forbidden_.fetch_add(1, std::memory_order_relaxed);
    response = outcome_response(
        Error::forbidden("AuditEvent needs a user/ or system/ scope without parameters"));
  } else if (grant->confine) {
    response = serve_confined_fhir(request, path, query, *grant->confine, *who);
  } else {
    response = route->handler(request, path, query, &*who);
  }
  if (who && route != nullptr && route->policy.kind() == RoutePolicy::Kind::kFhir) {
    audit_fhir_access(*who, request, path, query, response);
  }
  add_security_headers(response);
  if (request.secure) {
    // Over TLS, tell browsers (a SMART web app) to keep to TLS for this host.
    response.set_header("Strict-Transport-Security", "max-age=31536000");
  }
  if (request.body.size() >= kLargeBody || response.body.size() >= kLargeBody) {
    // A multi-megabyte Bundle (in or out) leaves a large freed heap behind; hand it back to the OS
    // so RSS returns to its steady level (costs well under a millisecond per large request).
    release_free_heap();
  }
  const auto took = std::chrono::steady_clock::now() - started;
  if (metrics_ != nullptr) metrics_->record(request.method, path, response.status, took);
  if (log_enabled(kDebug)) {
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(took).count();
    // Path only: query strings can carry patient identifiers.
    log(kDebug, request.method + " " + std::string(path) + " " + std::to_string(response.status) +
                    " " + std::to_string(us) + "us");
  }
  return response;
}

Result<Principal> GatewayRouter::authenticate(const http::Request& request) const {
  auto principal = tokens_.verify(request.header("Authorization"));
  if (!principal && oauth_ != nullptr) {
    principal = oauth_->verify_access_token(request.header("Authorization"));
  }
  return principal;
}

Result<FhirGrant> GatewayRouter::authorize(const Route& route, const Principal& principal,
                                           const http::Request& request, std::string_view path,
                                           std::string_view query) const {
  if (!route.policy.is_set()) return Error::forbidden("the route has no access policy");
  auto scopes = parse_scopes(principal.scope);
  if (!scopes) return Error::forbidden("the token's scopes cannot be read");
  scopes->granted.patient = principal.patient;
  std::vector<Role> roles;
  for (const auto& name : principal.roles) {
    if (auto role = parse_role(name)) roles.push_back(*role);
  }
  AccessDecision decision = check_route(route.policy, scopes->granted, roles);
  if (!decision.allowed) return Error::forbidden(decision.reason);
  if (route.policy.kind() != RoutePolicy::Kind::kFhir) return FhirGrant{};
  if (allows_every_interaction(scopes->granted)) return FhirGrant{};
  auto parsed = fhir::parse_fhir_request(request, fhir_sub_path(path), query);
  // A request the FHIR layer cannot parse gets its own error from it (404, 405, 406, 400),
  // and touches no data.
  if (!parsed) return FhirGrant{};
  return authorize_fhir(scopes->granted, *parsed, request);
}

http::Response GatewayRouter::serve_confined_fhir(http::Request& request, std::string_view path,
                                                  std::string_view query,
                                                  const AccessCondition& condition,
                                                  const Principal& who) {
  const std::string_view sub = fhir_sub_path(path);
  auto parsed = fhir::parse_fhir_request(request, sub, query);
  if (!parsed) return outcome_response(parsed.error());  // parsed in authorize() already
  std::optional<RestWriteAuditor> auditor;
  if (emitter_ != nullptr) auditor.emplace(*emitter_, who, request);
  return serve_confined(fhir_, request, sub, query, *parsed, condition, base_url(request),
                        auditor ? &*auditor : nullptr);
}

void GatewayRouter::audit_fhir_access(const Principal& who, const http::Request& request,
                                      std::string_view path, std::string_view query,
                                      const http::Response& response) {
  if (emitter_ == nullptr || response.status == 401) return;
  // Parsed again here rather than threaded through the handlers: a few microseconds, and
  // the record describes the request exactly as the FHIR layer reads it. A request it
  // cannot read reached no data.
  auto parsed = fhir::parse_fhir_request(request, fhir_sub_path(path), query);
  if (!parsed) return;
  // A Bundle of audit records is its own trace (like a single AuditEvent create).
  if (is_audit_feed(request, fhir_sub_path(path))) return;
  auto spec = rest_access_event(emitter_->source(), who, request, *parsed, response);
  if (spec) emitter_->emit(*spec);
}

}  // namespace cg::gateway
