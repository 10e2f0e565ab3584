#include "gateway/router.hpp"

#include <malloc.h>

#include <chrono>

#include "gateway/fhir_authorization.hpp"
#include "gateway/log.hpp"
#include "protocols/fhir/model/json.hpp"
#include "protocols/fhir/rest/outcome.hpp"

namespace cg::gateway {
namespace {

constexpr std::string_view kFhirPrefix = "/fhir";
constexpr std::size_t kLargeBody = 512 * 1024;

http::Response outcome_response(const Error& e) {
  http::Response r;
  r.status = fhir::http_status(e.kind);
  r.body = fhir::serialize_json(fhir::operation_outcome(e));
  r.set_header("Content-Type", "application/fhir+json;charset=utf-8");
  return r;
}

void add_security_headers(http::Response& r) {
  r.set_header("X-Content-Type-Options", "nosniff");
  r.set_header("X-Frame-Options", "DENY");
  r.set_header("Referrer-Policy", "no-referrer");
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
    : fhir_(fhir), tokens_(tokens), config_(std::move(config)) {}

bool GatewayRouter::is_open_route(std::string_view method, std::string_view path) {
  // The token endpoint authenticates its callers itself (credentials in the body); holding
  // a token is what lets one revoke it.
  if (method == "POST" && (path == "/auth/token" || path == "/auth/revoke")) return true;
  if (method != "GET" && method != "HEAD") return false;
  return path == "/health" || path == "/fhir/metadata" || path == "/fhir/metadata/" ||
         path == "/.well-known/jwks.json" || path == "/.well-known/smart-configuration";
}

std::string GatewayRouter::base_url(const http::Request& request) const {
  if (!config_.public_base_url.empty()) return config_.public_base_url + std::string(kFhirPrefix);
  std::string host(request.header("Host"));
  if (host.empty()) host = "localhost";
  return (request.secure ? "https://" : "http://") + host + std::string(kFhirPrefix);
}

http::Response GatewayRouter::handle(http::Request& request) {
  auto started = std::chrono::steady_clock::now();
  std::string_view target = request.target;
  auto q = target.find('?');
  std::string_view path = target.substr(0, q);
  std::string_view query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);

  http::Response response;
  if (!is_open_route(request.method, path)) {
    // The authorization point: nothing below runs without a valid token.
    auto principal = tokens_.verify(request.header("Authorization"));
    if (!principal && oauth_ != nullptr) {
      principal = oauth_->verify_access_token(request.header("Authorization"));
    }
    if (!principal) {
      unauthorized_.fetch_add(1, std::memory_order_relaxed);
      response = outcome_response(principal.error());
      response.set_header("WWW-Authenticate", "Bearer realm=\"clinic-gateway\"");
    } else if (auto denied = scope_check(*principal, request, path, query); !denied) {
      forbidden_.fetch_add(1, std::memory_order_relaxed);
      response = outcome_response(denied.error());
    } else {
      response = route(request, path, query);
    }
  } else {
    response = route(request, path, query);
  }
  add_security_headers(response);
  if (request.body.size() >= kLargeBody) {
    // A multi-megabyte Bundle leaves a large freed heap behind; hand it back to the OS so
    // RSS returns to its steady level (costs well under a millisecond per large request).
    malloc_trim(0);
  }
  if (log_enabled(kDebug)) {
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                  std::chrono::steady_clock::now() - started)
                  .count();
    // Path only: query strings can carry patient identifiers.
    log(kDebug, request.method + " " + std::string(path) + " " + std::to_string(response.status) +
                    " " + std::to_string(us) + "us");
  }
  return response;
}

Status GatewayRouter::scope_check(const Principal& principal, const http::Request& request,
                                  std::string_view path, std::string_view query) const {
  if (!principal.scoped) return ok_status();  // a static token: the whole API
  const bool fhir = path == kFhirPrefix || path.starts_with("/fhir/");
  if (!fhir) return Error::forbidden("this route does not accept access tokens yet");
  auto parsed = fhir::parse_fhir_request(
      request, path.substr(std::min(path.size(), kFhirPrefix.size() + 1)), query);
  // A request the FHIR layer cannot parse gets its own error from it (404, 405, 406, 400),
  // and touches no data.
  if (!parsed) return ok_status();
  auto scopes = parse_scopes(principal.scope);
  if (!scopes) return Error::forbidden("the token's scopes cannot be read");
  return authorize_fhir(scopes->granted, *parsed, request);
}

http::Response GatewayRouter::route(http::Request& request, std::string_view path,
                                    std::string_view query) {
  if (path == "/health") {
    http::Response r;
    r.body = R"({"status":"pass"})";
    r.set_header("Content-Type", "application/health+json");
    return r;
  }
  if (oauth_ != nullptr) {
    if (path == "/auth/token") return oauth_->token(request);
    if (path == "/auth/revoke") return oauth_->revoke(request);
    if (path == "/.well-known/jwks.json") return oauth_->jwks();
    if (path == "/.well-known/smart-configuration") return oauth_->smart_configuration();
  }
  if (path == kFhirPrefix || path.starts_with("/fhir/")) {
    std::string_view sub = path.substr(std::min(path.size(), kFhirPrefix.size() + 1));
    return fhir_.handle(request, sub, query, base_url(request));
  }
  return outcome_response(Error::not_found("no such endpoint: " + std::string(path)));
}

}  // namespace cg::gateway
