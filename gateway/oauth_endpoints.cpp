#include "gateway/oauth_endpoints.hpp"

#include <sys/stat.h>

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include "gateway/security/jwk.hpp"
#include "gateway/security/jwt.hpp"
#include "gateway/security/jwt_claims.hpp"
#include "gateway/security/token_request.hpp"

namespace cg::gateway {
namespace {

namespace json = boost::json;

http::Response json_response(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  r.set_header("Content-Type", "application/json");
  return r;
}

// RFC 6749 §5.1/5.2: token answers are never cached; 401 names the scheme it wants.
http::Response oauth_answer(const TokenOutcome& outcome) {
  if (const auto* tokens = std::get_if<TokenResponse>(&outcome)) {
    http::Response r = json_response(200, token_response_json(*tokens));
    r.set_header("Cache-Control", "no-store");
    r.set_header("Pragma", "no-cache");
    return r;
  }
  const auto& error = std::get<OAuthError>(outcome);
  http::Response r = json_response(error.status, oauth_error_json(error));
  r.set_header("Cache-Control", "no-store");
  if (error.status == 401) r.set_header("WWW-Authenticate", "Basic realm=\"clinic-gateway\"");
  return r;
}

std::string issuer_of(const GatewayConfig& config) {
  if (!config.http.public_base_url.empty()) return config.http.public_base_url;
  return "urn:clinic-gateway:" + config.node_name;
}

std::string_view bearer(std::string_view authorization) {
  constexpr std::string_view kScheme = "Bearer ";
  if (authorization.size() <= kScheme.size()) return {};
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) !=
        std::tolower(static_cast<unsigned char>(kScheme[i]))) {
      return {};
    }
  }
  return authorization.substr(kScheme.size());
}

}  // namespace

Result<std::unique_ptr<OAuthEndpoints>> OAuthEndpoints::open(const GatewayConfig& config) {
  auto db = SecurityDatabase::open(config.data_dir);
  if (!db) return db.take_error();
  const auto keys = config.data_dir / "keys";
  std::error_code ec;
  std::filesystem::create_directories(keys, ec);
  if (ec) return Error::unavailable("cannot create " + keys.string() + ": " + ec.message());
  ::chmod(keys.c_str(), 0700);  // the key file is 0600 anyway; the directory hides its name
  auto key = SigningKey::load_or_generate(keys / "token-signing-key.pem");
  if (!key) return key.take_error();
  return std::unique_ptr<OAuthEndpoints>(new OAuthEndpoints(
      std::move(*db), std::move(*key), issuer_of(config), config.http.public_base_url));
}

OAuthEndpoints::OAuthEndpoints(std::shared_ptr<SecurityDatabase> db, SigningKey key,
                               std::string issuer, std::string base_url)
    : db_(std::move(db)),
      key_(std::move(key)),
      issuer_(std::move(issuer)),
      base_url_(std::move(base_url)),
      identities_(db_),
      refresh_tokens_(db_),
      lockout_(db_),
      service_(
          identities_, refresh_tokens_, lockout_,
          [this](const json::object& claims) { return sign_jwt(claims, key_); }, nullptr,
          TokenServiceConfig{issuer_, issuer_}) {}

http::Response OAuthEndpoints::token(const http::Request& request) {
  if (request.method != "POST") {
    return oauth_answer(OAuthError{"invalid_request", "use POST", 405});
  }
  std::string_view type = request.header("Content-Type");
  if (type.substr(0, type.find(';')) != "application/x-www-form-urlencoded") {
    return oauth_answer(
        OAuthError{"invalid_request", "the body must be application/x-www-form-urlencoded", 400});
  }
  auto parsed = parse_token_request(request.body, request.header("Authorization"));
  if (!parsed) {
    const std::string code(oauth_error_code(parsed.error()));
    return oauth_answer(
        OAuthError{code, parsed.error().message, code == "invalid_client" ? 401 : 400});
  }
  return oauth_answer(service_.grant(*parsed, request.remote_address));
}

http::Response OAuthEndpoints::revoke(const http::Request& request) {
  if (request.method != "POST") {
    return oauth_answer(OAuthError{"invalid_request", "use POST", 405});
  }
  auto parsed = parse_revocation_request(request.body);
  if (!parsed) {
    return oauth_answer(
        OAuthError{std::string(oauth_error_code(parsed.error())), parsed.error().message, 400});
  }
  // One of ours, still valid: remember its jti until it expires.
  if (auto jws = parse_jwt(parsed->token); jws && verify_jwt(*jws, key_.verifying_key())) {
    const auto* jti = jws->payload.if_contains("jti");
    const auto* exp = jws->payload.if_contains("exp");
    if (jti && jti->is_string() && exp && exp->is_int64()) {
      const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count();
      std::lock_guard lock(revoked_mutex_);
      std::erase_if(revoked_, [now](const auto& entry) { return entry.second < now; });
      // Bounded: access tokens live minutes, so this many revoked at once means abuse.
      constexpr std::size_t kMaxRevoked = 100'000;
      if (revoked_.size() < kMaxRevoked) revoked_[std::string(jti->as_string())] = exp->as_int64();
    }
  } else if (auto s = refresh_tokens_.revoke(parsed->token); !s) {
    return oauth_answer(OAuthError{"temporarily_unavailable", "cannot revoke now", 503});
  }
  http::Response r;
  r.status = 200;
  r.set_header("Cache-Control", "no-store");
  return r;
}

http::Response OAuthEndpoints::jwks() const {
  const VerifyingKey keys[] = {key_.verifying_key()};
  http::Response r = json_response(200, json::serialize(jwks_document(keys)));
  r.set_header("Cache-Control", "max-age=300");  // public data: clients may keep it a while
  return r;
}

http::Response OAuthEndpoints::smart_configuration() const {
  json::object doc{
      {"issuer", issuer_},
      {"jwks_uri", base_url_ + "/.well-known/jwks.json"},
      {"token_endpoint", base_url_ + "/auth/token"},
      {"revocation_endpoint", base_url_ + "/auth/revoke"},
      {"grant_types_supported", json::array{"password", "client_credentials", "refresh_token"}},
      {"token_endpoint_auth_methods_supported",
       json::array{"client_secret_basic", "client_secret_post"}},
      {"scopes_supported", json::array{"openid", "fhirUser", "offline_access", "online_access",
                                       "user/*.cruds", "system/*.cruds"}},
      {"capabilities",
       json::array{"client-confidential-symmetric", "permission-v2", "permission-user"}}};
  http::Response r = json_response(200, json::serialize(doc));
  r.set_header("Cache-Control", "max-age=300");
  return r;
}

Result<Principal> OAuthEndpoints::verify_access_token(std::string_view authorization) const {
  const std::string_view token = bearer(authorization);
  if (token.empty()) return Error::unauthorized("a bearer token is required");
  auto jws = parse_jwt(token);
  if (!jws) return Error::unauthorized("invalid access token");
  if (auto s = verify_jwt(*jws, key_.verifying_key()); !s) {
    return Error::unauthorized("invalid access token");
  }
  ClaimChecks checks;
  checks.now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  checks.issuer = issuer_;
  checks.audience = issuer_;
  if (auto s = validate_claims(jws->payload, checks); !s) {
    return Error::unauthorized("expired or foreign access token");
  }
  if (const auto* jti = jws->payload.if_contains("jti"); jti && jti->is_string()) {
    std::lock_guard lock(revoked_mutex_);
    if (revoked_.contains(std::string(jti->as_string()))) {
      return Error::unauthorized("revoked access token");
    }
  }
  Principal p;
  p.scoped = true;
  const json::object& claims = jws->payload;
  if (const auto* sub = claims.if_contains("sub"); sub && sub->is_string()) {
    p.subject = std::string(sub->as_string());
  }
  if (const auto* scope = claims.if_contains("scope"); scope && scope->is_string()) {
    p.scope = std::string(scope->as_string());
  }
  if (const auto* roles = claims.if_contains("roles"); roles && roles->is_array()) {
    for (const auto& role : roles->as_array()) {
      if (role.is_string()) p.roles.emplace_back(role.as_string());
    }
  }
  return p;
}

}  // namespace cg::gateway
