#include "gateway/security/token_service.hpp"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include "gateway/security/password_hash.hpp"
#include "gateway/security/security_db.hpp"

namespace cg::gateway {
namespace {

namespace json = boost::json;

OAuthError invalid_grant(std::string description) {
  return {"invalid_grant", std::move(description), 400};
}
OAuthError invalid_client(std::string description) {
  return {"invalid_client", std::move(description), 401};
}
OAuthError invalid_scope(std::string description) {
  return {"invalid_scope", std::move(description), 400};
}
OAuthError server_error(const Error& e) {
  // Storage or signing failed: nothing about the credentials is revealed.
  return {e.kind == ErrorKind::kUnavailable ? "temporarily_unavailable" : "server_error",
          "the gateway cannot issue tokens now", e.kind == ErrorKind::kUnavailable ? 503 : 500};
}

std::int64_t seconds_since_epoch(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

bool restriction_covers(const ResourceScope& ceiling, const ResourceScope& requested) {
  if (ceiling.restriction.empty()) return true;
  return ceiling.restriction.size() == requested.restriction.size() &&
         std::is_permutation(ceiling.restriction.begin(), ceiling.restriction.end(),
                             requested.restriction.begin(),
                             [](const ScopeParam& a, const ScopeParam& b) {
                               return a.name == b.name && a.value == b.value;
                             });
}

bool covers(const ResourceScope& ceiling, const ResourceScope& requested) {
  return ceiling.context == requested.context &&
         (ceiling.resource_type == "*" || ceiling.resource_type == requested.resource_type) &&
         ceiling.permissions.covers(requested.permissions) &&
         restriction_covers(ceiling, requested);
}

bool grants_anything(const GrantedScopes& g) {
  return !g.resources.empty() || g.openid || g.fhir_user || g.profile || g.offline_access ||
         g.online_access || !g.opaque.empty();
}

}  // namespace

struct TokenService::Subject {
  SubjectKind kind = SubjectKind::kUser;
  std::string id;  // username or client_id
  std::vector<std::string> roles;
  std::optional<std::string> fhir_user;
};

namespace {

// A user with the patient role reads the record its fhirUser names ("Patient/123" → "123");
// nobody else has a patient context.
std::string patient_context(SubjectKind kind, const std::vector<std::string>& roles,
                            const std::optional<std::string>& fhir_user) {
  const bool patient_role = std::find(roles.begin(), roles.end(), "patient") != roles.end();
  if (kind != SubjectKind::kUser || !patient_role || !fhir_user ||
      !fhir_user->starts_with("Patient/")) {
    return {};
  }
  return fhir_user->substr(8);
}

}  // namespace

std::string token_response_json(const TokenResponse& tokens) {
  json::object body{{"access_token", tokens.access_token},
                    {"token_type", "Bearer"},
                    {"expires_in", tokens.expires_in},
                    {"scope", tokens.scope}};
  if (!tokens.refresh_token.empty()) body["refresh_token"] = tokens.refresh_token;
  if (!tokens.patient.empty()) body["patient"] = tokens.patient;
  return json::serialize(body);
}

std::string oauth_error_json(const OAuthError& error) {
  return json::serialize(
      json::object{{"error", error.error}, {"error_description", error.description}});
}

GrantedScopes role_ceiling(const std::vector<std::string>& roles) {
  GrantedScopes ceiling;
  const bool clinical = std::any_of(roles.begin(), roles.end(), [](const std::string& r) {
    return r == "admin" || r == "clinician";
  });
  if (clinical) {
    ResourceScope all;
    all.context = ScopeContext::kUser;
    all.resource_type = "*";
    for (Permission p : {Permission::kCreate, Permission::kRead, Permission::kUpdate,
                         Permission::kDelete, Permission::kSearch}) {
      all.permissions = all.permissions.with(p);
    }
    ceiling.resources.push_back(all);
  }
  if (std::find(roles.begin(), roles.end(), "patient") != roles.end()) {
    ResourceScope own;
    own.context = ScopeContext::kPatient;
    own.resource_type = "*";
    own.permissions = own.permissions.with(Permission::kRead).with(Permission::kSearch);
    ceiling.resources.push_back(own);
  }
  ceiling.openid = ceiling.fhir_user = ceiling.profile = true;
  ceiling.offline_access = ceiling.online_access = true;
  return ceiling;
}

GrantedScopes within(const GrantedScopes& requested, const GrantedScopes& ceiling) {
  GrantedScopes out;
  for (const ResourceScope& r : requested.resources) {
    if (std::any_of(ceiling.resources.begin(), ceiling.resources.end(),
                    [&](const ResourceScope& c) { return covers(c, r); })) {
      out.resources.push_back(r);
    }
  }
  out.openid = requested.openid && ceiling.openid;
  out.fhir_user = requested.fhir_user && ceiling.fhir_user;
  out.profile = requested.profile && ceiling.profile;
  out.offline_access = requested.offline_access && ceiling.offline_access;
  out.online_access = requested.online_access && ceiling.online_access;
  for (const std::string& s : requested.opaque) {
    if (ceiling.has_opaque(s)) out.opaque.push_back(s);
  }
  return out;
}

TokenService::TokenService(IdentityStore& identities, RefreshTokenStore& refresh_tokens,
                           LoginLockout& lockout, ClaimsSigner signer, AssertionCheck assertions,
                           TokenServiceConfig config, LoginHooks hooks)
    : identities_(identities),
      refresh_tokens_(refresh_tokens),
      lockout_(lockout),
      signer_(std::move(signer)),
      assertions_(std::move(assertions)),
      config_(std::move(config)),
      password_login_(identities, lockout, hooks.events, hooks.upstream, config_.clock) {}

TokenOutcome TokenService::grant(const TokenRequest& request, std::string_view source_address) {
  switch (request.grant_type) {
    case GrantType::kPassword:
      return password_grant(request, source_address);
    case GrantType::kClientCredentials:
      return client_grant(request, source_address);
    case GrantType::kRefreshToken:
      return refresh_grant(request);
  }
  return OAuthError{"unsupported_grant_type", "unsupported grant_type", 400};
}

TokenOutcome TokenService::password_grant(const TokenRequest& request, std::string_view address) {
  auto user = password_login_.authenticate(request.username, request.password, address);
  if (!user) {
    if (user.error().kind != ErrorKind::kUnauthorized) return server_error(user.error());
    return invalid_grant(user.error().message);
  }
  Subject subject{SubjectKind::kUser, user->username, user->roles, user->fhir_user};
  return issue(subject, role_ceiling(user->roles), request.scope, /*with_refresh=*/true);
}

Result<Client> TokenService::authenticate_client(const TokenRequest& request) {
  if (!request.client_assertion.empty()) {
    if (!assertions_) return Error::unauthorized("client assertions are not accepted");
    return assertions_(request.client_assertion, identities_);
  }
  if (request.client_id.empty() || request.client_secret.empty()) {
    return Error::unauthorized("client authentication is required");
  }
  return identities_.verify_client_secret(request.client_id, request.client_secret);
}

TokenOutcome TokenService::client_grant(const TokenRequest& request, std::string_view address) {
  auto locked = lockout_.is_locked(LockoutScope::kAddress, address);
  if (!locked) return server_error(locked.error());
  if (*locked) return invalid_client("too many failed attempts; try again later");
  auto client = authenticate_client(request);
  if (!client) {
    if (client.error().kind != ErrorKind::kUnauthorized) return server_error(client.error());
    password_login_.record_failure("", address,
                                   "client authentication failed: " + client.error().message);
    return invalid_client(client.error().message);
  }
  if (client->disabled) return invalid_client("invalid client credentials");
  auto registered_text = join_tokens(client->scopes, "scope");
  if (!registered_text) return server_error(registered_text.error());
  auto registered = parse_scopes(*registered_text);
  if (!registered) return server_error(registered.error());
  Subject subject{SubjectKind::kClient, client->client_id, client->roles, std::nullopt};
  // RFC 6749 §4.4.3: no refresh token for client credentials; the client asks again.
  return issue(subject, registered->granted, request.scope, /*with_refresh=*/false);
}

TokenOutcome TokenService::refresh_grant(const TokenRequest& request) {
  auto previous = refresh_tokens_.consume(request.refresh_token);
  if (!previous) {
    if (previous.error().kind != ErrorKind::kUnauthorized) return server_error(previous.error());
    return invalid_grant("invalid refresh token");
  }
  Subject subject{previous->kind, previous->subject, {}, std::nullopt};
  if (previous->kind == SubjectKind::kUser) {
    auto user = identities_.find_user(previous->subject);
    if (!user) return invalid_grant("invalid refresh token");
    // A bridged user's sessions last as long as their cached login: once the upstream has
    // refused them, or not been asked for cached_login_ttl, they must log in again.
    if (user->bridged && !identities_.cached_login_holds(*user)) {
      return invalid_grant("log in again: the upstream has not confirmed this user recently");
    }
    subject.roles = user->roles;
    subject.fhir_user = user->fhir_user;
  } else {
    auto client = identities_.find_client(previous->subject);
    if (!client) return invalid_grant("invalid refresh token");
    subject.roles = client->roles;
  }
  auto earlier_text = join_tokens(previous->scopes, "scope");
  if (!earlier_text) return server_error(earlier_text.error());
  auto earlier = parse_scopes(*earlier_text);
  if (!earlier) return server_error(earlier.error());
  // Never wider than before, even if the user's roles grew since: log in again for that.
  return issue(subject, earlier->granted, request.scope, /*with_refresh=*/true, previous->family);
}

TokenOutcome TokenService::issue(const Subject& subject, const GrantedScopes& ceiling,
                                 std::string_view requested, bool with_refresh,
                                 std::string family) {
  GrantedScopes granted = ceiling;
  if (!requested.empty()) {
    auto parsed = parse_scopes(requested);
    if (!parsed) return invalid_scope(parsed.error().message);
    if (!parsed->rejected.empty()) {
      return invalid_scope("scope " + parsed->rejected.front().scope + ": " +
                           parsed->rejected.front().reason);
    }
    granted = within(parsed->granted, ceiling);
    if (!grants_anything(granted)) return invalid_scope("none of the requested scopes is allowed");
  }
  // patient/ scopes mean something only with a patient context; without one they are not
  // granted at all rather than issued as scopes that grant nothing.
  const std::string patient = patient_context(subject.kind, subject.roles, subject.fhir_user);
  if (patient.empty()) {
    std::erase_if(granted.resources,
                  [](const ResourceScope& r) { return r.context == ScopeContext::kPatient; });
    if (!requested.empty() && !grants_anything(granted)) {
      return invalid_scope("patient/ scopes need a patient context, which this login has not");
    }
  }
  const TimePoint now = config_.clock();
  const std::string scope = format_scopes(granted);
  json::array roles(subject.roles.begin(), subject.roles.end());
  json::object claims{{"iss", config_.issuer},
                      {"aud", config_.audience},
                      {"sub", subject.id},
                      {"iat", seconds_since_epoch(now)},
                      {"exp", seconds_since_epoch(now + config_.access_token_ttl)},
                      {"jti", generate_token()},
                      {"scope", scope},
                      {"roles", std::move(roles)}};
  if (subject.kind == SubjectKind::kClient) claims["client_id"] = subject.id;
  if (granted.fhir_user && subject.fhir_user) claims["fhirUser"] = *subject.fhir_user;
  if (!patient.empty()) claims["patient"] = patient;
  auto access = signer_(claims);
  if (!access) return server_error(access.error());
  TokenResponse response{std::move(*access), config_.access_token_ttl.count(), scope, {}, patient};
  if (with_refresh && (granted.offline_access || granted.online_access)) {
    RefreshGrant next{
        subject.kind,     subject.id, split_tokens(scope), now, now + config_.refresh_token_ttl,
        std::move(family)};
    response.refresh_token = generate_token();
    if (auto stored = refresh_tokens_.store(response.refresh_token, next); !stored) {
      return server_error(stored.error());
    }
  }
  return response;
}

}  // namespace cg::gateway
