#include "gateway/oauth_endpoints.hpp"

#include <sys/stat.h>

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <fstream>

#include "gateway/log.hpp"
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

std::string string_claim(const json::object& claims, std::string_view name) {
  const json::value* v = claims.if_contains(name);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::string_view grant_name(GrantType grant) {
  switch (grant) {
    case GrantType::kPassword:
      return "password";
    case GrantType::kClientCredentials:
      return "client_credentials";
    case GrantType::kRefreshToken:
      break;
  }
  return "refresh_token";
}

// Who a token request says it is: the username, or the client (its id, or the issuer its
// assertion claims; unverified until the grant succeeds). A refresh token names nobody.
void describe_request(const TokenRequest& request, TokenAttempt& attempt) {
  attempt.grant = grant_name(request.grant_type);
  if (request.grant_type == GrantType::kPassword) {
    attempt.subject = request.username;
    return;
  }
  attempt.client = request.grant_type == GrantType::kClientCredentials;
  attempt.subject = request.client_id;
  if (attempt.subject.empty() && !request.client_assertion.empty()) {
    if (auto jws = parse_jwt(request.client_assertion)) {
      attempt.subject = string_claim(jws->payload, "iss");
    }
  }
}

// Who the issued token is for, from its claims (we signed them a moment ago).
void describe_issued(const TokenResponse& tokens, TokenAttempt& attempt) {
  auto jws = parse_jwt(tokens.access_token);
  if (!jws) return;
  const json::object& claims = jws->payload;
  attempt.subject = string_claim(claims, "sub");
  attempt.client = claims.contains("client_id");
  attempt.token_id = string_claim(claims, "jti");
  attempt.scope = tokens.scope;
  if (const auto* roles = claims.if_contains("roles"); roles && roles->is_array()) {
    for (const auto& role : roles->as_array()) {
      if (role.is_string()) attempt.roles.emplace_back(role.as_string());
    }
  }
}

std::string issuer_of(const GatewayConfig& config) {
  if (!config.http.public_base_url.empty()) return config.http.public_base_url;
  return "urn:clinic-gateway:" + config.node_name;
}

// The first line of upstream.client_secret_file, without its line ending.
Result<std::string> read_client_secret(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string secret;
  if (!in || !std::getline(in, secret)) {
    return Error::unavailable("cannot read upstream.client_secret_file " + file.string());
  }
  if (!secret.empty() && secret.back() == '\r') secret.pop_back();
  if (secret.empty())
    return Error::invalid("upstream.client_secret_file " + file.string() +
                          " starts with an empty line");
  return secret;
}

// The upstream login of [upstream], or null when no token_url is set.
Result<std::unique_ptr<UpstreamLogin>> upstream_login(const UpstreamSettings& upstream) {
  if (upstream.token_url.empty()) return std::unique_ptr<UpstreamLogin>();
  auto url = http::parse_http_url(upstream.token_url);
  if (!url) return Error::invalid("upstream.token_url " + std::string(http::kHttpUrlForm));
  UpstreamLoginConfig login{*url,           upstream.client_id, {},
                            upstream.scope, upstream.timeout,   upstream.tls_ca};
  if (upstream.client_secret_file) {
    auto secret = read_client_secret(*upstream.client_secret_file);
    if (!secret) return secret.take_error();
    login.client_secret = std::move(*secret);
  }
  const bool loopback =
      url->host == "localhost" || url->host == "::1" || url->host.starts_with("127.");
  if (!url->tls && !loopback) {
    log(kWarning,
        "upstream.token_url is plain http: passwords of bridged users cross the "
        "network unencrypted; use https unless the upstream is on this host");
  }
  log(kInfo, "bridged logins go to " + (url->tls ? std::string("https://") : "http://") +
                 http::host_header(*url) + url->target);
  return std::unique_ptr<UpstreamLogin>(std::make_unique<TokenEndpointLogin>(std::move(login)));
}

}  // namespace

std::filesystem::path token_signing_key_file(const std::filesystem::path& data_dir) {
  return data_dir / "keys" / "token-signing-key.pem";
}

Result<SigningKey> open_token_signing_key(const std::filesystem::path& data_dir) {
  const auto file = token_signing_key_file(data_dir);
  const auto keys = file.parent_path();
  std::error_code ec;
  std::filesystem::create_directories(keys, ec);
  if (ec) return Error::unavailable("cannot create " + keys.string() + ": " + ec.message());
  ::chmod(keys.c_str(), 0700);  // the key file is 0600 anyway; the directory hides its name
  return SigningKey::load_or_generate(file);
}

Result<std::unique_ptr<OAuthEndpoints>> OAuthEndpoints::open(const GatewayConfig& config) {
  auto db = SecurityDatabase::open(config.data_dir);
  if (!db) return db.take_error();
  auto key = open_token_signing_key(config.data_dir);
  if (!key) return key.take_error();
  auto upstream = upstream_login(config.upstream);
  if (!upstream) return upstream.take_error();
  IdentityConfig identity;
  identity.cached_login_ttl = config.auth.cached_login_ttl;
  return std::unique_ptr<OAuthEndpoints>(
      new OAuthEndpoints(std::move(*db), std::move(*key), issuer_of(config),
                         config.http.public_base_url, identity, std::move(*upstream)));
}

OAuthEndpoints::OAuthEndpoints(std::shared_ptr<SecurityDatabase> db, SigningKey key,
                               std::string issuer, std::string base_url, IdentityConfig identity,
                               std::unique_ptr<UpstreamLogin> upstream)
    : db_(std::move(db)),
      key_(std::move(key)),
      issuer_(std::move(issuer)),
      base_url_(std::move(base_url)),
      identities_(db_, identity),
      refresh_tokens_(db_),
      lockout_(db_),
      events_(db_, [](int priority, std::string_view line) { log(priority, line); }),
      audited_events_(events_),
      upstream_(std::move(upstream)),
      service_(
          identities_, refresh_tokens_, lockout_,
          [this](const json::object& claims) { return sign_jwt(claims, key_); },
          [this](std::string_view assertion, IdentityStore& identities) {
            return check_assertion(assertion, identities);
          },
          TokenServiceConfig{issuer_, issuer_}, LoginHooks{&audited_events_, upstream_.get()}) {}

void OAuthEndpoints::set_audit_emitter(AuditEmitter* emitter) {
  audit_.store(emitter);
  audited_events_.set_emitter(emitter);
}

bool OAuthEndpoints::audience_is_token_endpoint(const json::object& claims) const {
  // SMART: aud is the token endpoint's URL. With http.public_base_url it is known exactly;
  // without it the gateway cannot know the URL clients reach it by, and takes any URL whose
  // path is /auth/token (docs/security.md says to set public_base_url to pin it).
  auto matches = [this](std::string_view aud) {
    if (!base_url_.empty()) return aud == base_url_ + "/auth/token";
    const auto scheme = aud.find("://");
    if (scheme == std::string_view::npos) return false;
    const auto path = aud.find('/', scheme + 3);
    return path != std::string_view::npos && aud.substr(path) == "/auth/token";
  };
  const json::value* aud = claims.if_contains("aud");
  if (aud && aud->is_string()) return matches(aud->as_string());
  if (aud && aud->is_array()) {
    for (const auto& a : aud->as_array()) {
      if (a.is_string() && matches(a.as_string())) return true;
    }
  }
  return false;
}

Result<Client> OAuthEndpoints::check_assertion(std::string_view assertion,
                                               IdentityStore& identities) {
  const auto refused = [] { return Error::unauthorized("invalid client assertion"); };
  auto jws = parse_jwt(assertion);
  if (!jws) return refused();
  const json::value* iss = jws->payload.if_contains("iss");
  if (!iss || !iss->is_string()) return refused();
  const std::string client_id(iss->as_string());
  auto client = identities.find_client(client_id);
  if (!client || client->disabled || !client->jwks) return refused();
  auto keys = parse_jwks(std::string_view(*client->jwks));
  if (!keys || !verify_jwt(*jws, *keys)) return refused();
  ClaimChecks checks;
  checks.now = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  checks.issuer = client_id;
  checks.subject = client_id;  // SMART: iss = sub = the client id
  checks.require_jti = true;
  checks.max_lifetime = std::chrono::minutes(5);
  if (!validate_claims(jws->payload, checks) || !audience_is_token_endpoint(jws->payload)) {
    return refused();
  }
  // Each assertion once: a copied one is worthless after its first use.
  const std::string key = client_id + " " + std::string(jws->payload.at("jti").as_string());
  const json::value& exp_claim = jws->payload.at("exp");  // a number: validate_claims said so
  const std::int64_t exp = exp_claim.is_int64() ? exp_claim.as_int64()
                           : exp_claim.is_uint64()
                               ? static_cast<std::int64_t>(exp_claim.as_uint64())
                               : static_cast<std::int64_t>(exp_claim.as_double());
  const std::int64_t now = checks.now.time_since_epoch().count();
  std::lock_guard lock(assertions_mutex_);
  std::erase_if(seen_assertions_, [now](const auto& e) { return e.second < now - 60; });
  if (seen_assertions_.contains(key)) return Error::unauthorized("client assertion replayed");
  constexpr std::size_t kMaxSeen = 100'000;  // assertions live 5 minutes at most
  if (seen_assertions_.size() >= kMaxSeen) return Error::unavailable("too many assertions");
  seen_assertions_.emplace(key, exp);
  return std::move(*client);
}

http::Response OAuthEndpoints::token(const http::Request& request) {
  TokenAttempt attempt;
  attempt.address = request.remote_address;
  http::Response response = answer_token(request, attempt);
  if (AuditEmitter* audit = audit_.load()) {
    attempt.status = response.status;
    audit->emit(token_event(audit->source(), attempt, audit->now_ms()));
  }
  return response;
}

http::Response OAuthEndpoints::answer_token(const http::Request& request, TokenAttempt& attempt) {
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
    attempt.error = code + ": " + parsed.error().message;
    return oauth_answer(
        OAuthError{code, parsed.error().message, code == "invalid_client" ? 401 : 400});
  }
  describe_request(*parsed, attempt);
  TokenOutcome outcome = service_.grant(*parsed, request.remote_address);
  if (const auto* error = std::get_if<OAuthError>(&outcome)) {
    attempt.error = error->error + ": " + error->description;
  } else {
    describe_issued(std::get<TokenResponse>(outcome), attempt);
  }
  return oauth_answer(outcome);
}

http::Response OAuthEndpoints::revoke(const http::Request& request) {
  RevocationAttempt attempt;
  attempt.address = request.remote_address;
  http::Response response = answer_revocation(request, attempt);
  if (AuditEmitter* audit = audit_.load()) {
    attempt.status = response.status;
    audit->emit(revocation_event(audit->source(), attempt, audit->now_ms()));
  }
  return response;
}

http::Response OAuthEndpoints::answer_revocation(const http::Request& request,
                                                 RevocationAttempt& attempt) {
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
    attempt.token_kind = "access token";
    attempt.subject = string_claim(jws->payload, "sub");
    attempt.token_id = string_claim(jws->payload, "jti");
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
  } else {
    attempt.token_kind = "refresh token (or a token not known here)";
    if (auto s = refresh_tokens_.revoke(parsed->token); !s) {
      return oauth_answer(OAuthError{"temporarily_unavailable", "cannot revoke now", 503});
    }
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

http::Response OAuthEndpoints::smart_configuration(std::string_view origin) const {
  const std::string base(origin);
  json::object doc{
      {"issuer", issuer_},
      {"jwks_uri", base + "/.well-known/jwks.json"},
      {"token_endpoint", base + "/auth/token"},
      {"revocation_endpoint", base + "/auth/revoke"},
      {"grant_types_supported", json::array{"password", "client_credentials", "refresh_token"}},
      {"token_endpoint_auth_methods_supported",
       json::array{"client_secret_basic", "client_secret_post", "private_key_jwt"}},
      {"token_endpoint_auth_signing_alg_values_supported", json::array{"ES384", "RS384"}},
      {"scopes_supported", json::array{"openid", "fhirUser", "offline_access", "online_access",
                                       "user/*.cruds", "system/*.cruds", "patient/*.rs"}},
      {"capabilities",
       json::array{"client-confidential-symmetric", "client-confidential-asymmetric",
                   "permission-v2", "permission-user", "permission-patient"}}};
  http::Response r = json_response(200, json::serialize(doc));
  // URLs taken from the Host header are the asker's own; no cache may hand them to others.
  if (!base_url_.empty()) r.set_header("Cache-Control", "max-age=300");
  return r;
}

bool OAuthEndpoints::subject_enabled(const std::string& subject, bool client) const {
  if (client) {
    auto found = identities_.find_client(subject);
    return found && !found->disabled;
  }
  auto found = identities_.find_user(subject);
  return found && !found->disabled;
}

Result<Principal> OAuthEndpoints::verify_access_token(std::string_view authorization) const {
  const std::string_view token = bearer_token(authorization);
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
  const json::object& claims = jws->payload;
  if (const auto* sub = claims.if_contains("sub"); sub && sub->is_string()) {
    p.subject = std::string(sub->as_string());
  }
  if (const auto* scope = claims.if_contains("scope"); scope && scope->is_string()) {
    p.scope = std::string(scope->as_string());
  }
  // A disabled user or client is refused everywhere at once, not when its token expires:
  // one indexed lookup in security.db per request made with an access token.
  if (!subject_enabled(p.subject, claims.contains("client_id"))) {
    return Error::unauthorized("the token's user or client is disabled");
  }
  if (const auto* roles = claims.if_contains("roles"); roles && roles->is_array()) {
    for (const auto& role : roles->as_array()) {
      if (role.is_string()) p.roles.emplace_back(role.as_string());
    }
  }
  if (const auto* patient = claims.if_contains("patient"); patient && patient->is_string()) {
    p.patient = std::string(patient->as_string());
  }
  return p;
}

}  // namespace cg::gateway
