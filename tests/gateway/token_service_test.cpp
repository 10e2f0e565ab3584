#include "gateway/security/token_service.hpp"

#include <doctest/doctest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "tests/gateway/security_fixture.hpp"

using namespace cg;
using namespace cg::gateway;
using namespace cg::gateway::testing;
using namespace std::chrono_literals;

namespace {

// A stand-in signer: the "token" is the claims' JSON, so tests read what would be signed.
Result<std::string> unsigned_claims(const boost::json::object& claims) {
  return boost::json::serialize(claims);
}

struct Fixture {
  TempDir dir;
  ManualClock time;
  std::shared_ptr<SecurityDatabase> db = open_security_db(dir.path());
  IdentityStore identities{db, IdentityConfig{kFastArgon2, time.clock(), 2}};
  RefreshTokenStore refresh{db, time.clock()};
  LoginLockout lockout{db, LockoutPolicy{3, 10, 15min, 15min}, time.clock()};
  TokenService service{
      identities,
      refresh,
      lockout,
      unsigned_claims,
      nullptr,
      TokenServiceConfig{"https://gw.example", "https://gw.example/fhir", 300s, 24h, time.clock()}};

  Fixture() {
    REQUIRE(identities.add_user("alice", "correct horse battery", {"clinician"}).ok());
    REQUIRE(identities.add_user("bob", "another long password", {"device"}).ok());
  }

  TokenOutcome password(std::string user, std::string pass, std::string scope = "",
                        std::string address = "10.0.0.5") {
    TokenRequest r;
    r.grant_type = GrantType::kPassword;
    r.username = std::move(user);
    r.password = std::move(pass);
    r.scope = std::move(scope);
    return service.grant(r, address);
  }
};

// By value: the outcome is usually a temporary.
TokenResponse tokens(const TokenOutcome& outcome) {
  if (const auto* e = std::get_if<OAuthError>(&outcome)) FAIL(e->error << ": " << e->description);
  return std::get<TokenResponse>(outcome);
}

OAuthError error(const TokenOutcome& outcome) {
  REQUIRE(std::holds_alternative<OAuthError>(outcome));
  return std::get<OAuthError>(outcome);
}

boost::json::object claims(const TokenResponse& t) {
  return boost::json::parse(t.access_token).as_object();
}

}  // namespace

TEST_CASE("a password login gets a short-lived token with the scopes the roles allow") {
  Fixture f;
  const auto& t = tokens(f.password("alice", "correct horse battery"));
  CHECK(t.expires_in == 300);
  CHECK(t.refresh_token.empty() == false);  // the ceiling includes offline_access
  auto c = claims(t);
  CHECK(c["sub"] == "alice");
  CHECK(c["iss"] == "https://gw.example");
  CHECK(c["aud"] == "https://gw.example/fhir");
  CHECK(c["exp"].as_int64() - c["iat"].as_int64() == 300);
  CHECK(c["roles"].as_array().size() == 1);
  CHECK(std::string(c["scope"].as_string()).find("user/*.cruds") != std::string::npos);
  CHECK(t.scope == c["scope"].as_string());

  // Asking for less gets less; no refresh token without offline/online access.
  const auto& narrow = tokens(f.password("alice", "correct horse battery", "user/Patient.rs"));
  CHECK(narrow.scope == "user/Patient.rs");
  CHECK(narrow.refresh_token.empty());
  // Asking for more drops what is not allowed; nothing allowed at all is invalid_scope.
  const auto& some =
      tokens(f.password("alice", "correct horse battery", "user/Observation.rs system/*.cruds"));
  CHECK(some.scope == "user/Observation.rs");
  CHECK(error(f.password("alice", "correct horse battery", "system/*.rs")).error ==
        "invalid_scope");
  CHECK(error(f.password("alice", "correct horse battery", "user/Nonsense.rs")).error ==
        "invalid_scope");
  // A role without clinical access gets no clinical scope.
  CHECK(error(f.password("bob", "another long password", "user/Patient.rs")).error ==
        "invalid_scope");
}

TEST_CASE("wrong passwords are invalid_grant, and lock the user out after the threshold") {
  Fixture f;
  for (int i = 0; i < 3; ++i) {
    const auto& e = error(f.password("alice", "wrong password here"));
    CHECK(e.error == "invalid_grant");
    CHECK(e.status == 400);
  }
  // Locked: even the right password is refused, with the same code.
  CHECK(error(f.password("alice", "correct horse battery")).description.find("too many") !=
        std::string::npos);
  f.time.advance(16min);
  CHECK(std::holds_alternative<TokenResponse>(f.password("alice", "correct horse battery")));
  // Unknown users look like wrong passwords.
  CHECK(error(f.password("nobody", "whatever it is")).description ==
        "invalid username or password");
}

TEST_CASE("client credentials: the client's registered scopes, no refresh token") {
  Fixture f;
  auto client = f.identities.add_client("lab-analyser", {"device"}, {"system/Observation.cruds"});
  REQUIRE(client.ok());
  TokenRequest r;
  r.grant_type = GrantType::kClientCredentials;
  r.client_id = client->client_id;
  r.client_secret = client->secret;
  const auto& t = tokens(f.service.grant(r, "10.0.0.9"));
  CHECK(t.scope == "system/Observation.cruds");
  CHECK(t.refresh_token.empty());
  CHECK(claims(t)["client_id"].as_string() == client->client_id);

  r.scope = "system/Observation.c";
  CHECK(tokens(f.service.grant(r, "10.0.0.9")).scope == "system/Observation.c");
  r.scope = "system/Patient.r";
  CHECK(error(f.service.grant(r, "10.0.0.9")).error == "invalid_scope");

  r.scope.clear();
  r.client_secret = "not-the-secret";
  const auto& bad = error(f.service.grant(r, "10.0.0.9"));
  CHECK(bad.error == "invalid_client");
  CHECK(bad.status == 401);
  // Assertions are refused while no assertion check is configured.
  r.client_secret.clear();
  r.client_assertion = "eyJ.e30.sig";
  CHECK(error(f.service.grant(r, "10.0.0.9")).error == "invalid_client");
  // A disabled client gets nothing.
  REQUIRE(f.identities.set_client_disabled(client->client_id, true).ok());
  r.client_assertion.clear();
  r.client_secret = client->secret;
  CHECK(error(f.service.grant(r, "10.0.0.9")).error == "invalid_client");
}

TEST_CASE("refresh tokens rotate, keep or narrow the scopes, and die with a disabled user") {
  Fixture f;
  const auto first =
      tokens(f.password("alice", "correct horse battery", "user/Patient.rs offline_access"));
  REQUIRE_FALSE(first.refresh_token.empty());
  TokenRequest r;
  r.grant_type = GrantType::kRefreshToken;
  r.refresh_token = first.refresh_token;
  const auto second = tokens(f.service.grant(r, "10.0.0.5"));
  CHECK(second.scope == first.scope);
  CHECK(second.refresh_token != first.refresh_token);
  // Wider than before: dropped to nothing new.
  r.refresh_token = second.refresh_token;
  r.scope = "user/Observation.rs";
  CHECK(error(f.service.grant(r, "10.0.0.5")).error == "invalid_scope");
  // The used one again: invalid, and the chain is revoked.
  r.scope.clear();
  r.refresh_token = first.refresh_token;
  CHECK(error(f.service.grant(r, "10.0.0.5")).error == "invalid_grant");
  // A fresh chain dies when the user is disabled.
  const auto other = tokens(f.password("alice", "correct horse battery", "offline_access"));
  REQUIRE(f.identities.set_user_disabled("alice", true).ok());
  r.refresh_token = other.refresh_token;
  CHECK(error(f.service.grant(r, "10.0.0.5")).error == "invalid_grant");
}

TEST_CASE("the answers' JSON is RFC 6749's") {
  TokenResponse t{"abc", 300, "user/Patient.rs", "", ""};
  auto body = boost::json::parse(token_response_json(t)).as_object();
  CHECK(body["token_type"] == "Bearer");
  CHECK(body["expires_in"] == 300);
  CHECK_FALSE(body.contains("refresh_token"));
  auto e = boost::json::parse(oauth_error_json({"invalid_grant", "why", 400})).as_object();
  CHECK(e["error"] == "invalid_grant");
  CHECK(e["error_description"] == "why");
}

TEST_CASE("a patient's login carries its patient context and reads only through patient/") {
  Fixture f;
  REQUIRE(f.identities.add_user("wanjiru", "her own long password", {"patient"}).ok());
  REQUIRE(f.identities.set_fhir_user("wanjiru", "Patient/p-42").ok());
  const auto& t = tokens(f.password("wanjiru", "her own long password"));
  CHECK(t.patient == "p-42");
  CHECK(t.scope.find("patient/*.rs") != std::string::npos);
  CHECK(t.scope.find("user/") == std::string::npos);
  auto c = claims(t);
  CHECK(c["patient"] == "p-42");
  CHECK(token_response_json(t).find(R"("patient":"p-42")") != std::string::npos);
  // Never more than reading its own record.
  CHECK(error(f.password("wanjiru", "her own long password", "patient/*.cruds")).error ==
        "invalid_scope");
  CHECK(error(f.password("wanjiru", "her own long password", "user/Patient.rs")).error ==
        "invalid_scope");
  // The refreshed token keeps the context.
  TokenRequest refresh;
  refresh.grant_type = GrantType::kRefreshToken;
  refresh.refresh_token = t.refresh_token;
  CHECK(tokens(f.service.grant(refresh, "10.0.0.5")).patient == "p-42");
}

TEST_CASE("patient/ scopes are not granted without a patient context") {
  Fixture f;
  // A clinician has no patient context: patient/ scopes are dropped, not issued empty.
  const auto& t = tokens(
      f.password("alice", "correct horse battery", "patient/Observation.rs user/Patient.rs"));
  CHECK(t.scope == "user/Patient.rs");
  CHECK(t.patient.empty());
  CHECK(claims(t).if_contains("patient") == nullptr);
  CHECK(error(f.password("alice", "correct horse battery", "patient/Observation.rs")).error ==
        "invalid_scope");
  // The patient role without a Patient fhirUser has no context either.
  REQUIRE(f.identities.add_user("nobody", "a long enough password", {"patient"}).ok());
  CHECK(error(f.password("nobody", "a long enough password", "patient/*.rs")).error ==
        "invalid_scope");
}

namespace {

// An upstream that accepts one password and gives the clinician role, or is unreachable.
class ScriptedUpstream final : public UpstreamLogin {
 public:
  bool reachable = true;
  bool accepts = true;
  int calls = 0;
  UpstreamVerdict check(std::string_view, std::string_view password) override {
    ++calls;
    if (!reachable) return {UpstreamVerdictKind::kUnreachable, {}, "timed out"};
    if (!accepts || password != "district password") {
      return {UpstreamVerdictKind::kRefused, {}, "refused by the upstream"};
    }
    return {UpstreamVerdictKind::kAccepted, {"clinician"}, {}};
  }
};

class CountingSink final : public SecurityEventSink {
 public:
  std::vector<SecurityEvent> events;
  void record(const SecurityEvent& event) override { events.push_back(event); }
};

struct BridgedFixture : Fixture {
  ScriptedUpstream upstream;
  CountingSink sink;
  // Cached logins hold 12 hours here, less than the refresh tokens' 24.
  IdentityStore twelve_hours{db, IdentityConfig{kFastArgon2, time.clock(), 2, 12h}};
  TokenService bridged{
      twelve_hours,
      refresh,
      lockout,
      unsigned_claims,
      nullptr,
      TokenServiceConfig{"https://gw.example", "https://gw.example/fhir", 300s, 24h, time.clock()},
      LoginHooks{&sink, &upstream}};

  TokenOutcome login(std::string user, std::string pass, std::string scope = "") {
    TokenRequest r;
    r.grant_type = GrantType::kPassword;
    r.username = std::move(user);
    r.password = std::move(pass);
    r.scope = std::move(scope);
    return bridged.grant(r, "10.0.0.5");
  }
  TokenOutcome refresh_with(const std::string& token) {
    TokenRequest r;
    r.grant_type = GrantType::kRefreshToken;
    r.refresh_token = token;
    return bridged.grant(r, "10.0.0.5");
  }
};

}  // namespace

TEST_CASE("a bridged user gets our own token with the roles the upstream gave") {
  BridgedFixture f;
  const auto t = tokens(f.login("wanjiru", "district password", "user/Patient.rs"));
  auto c = claims(t);
  CHECK(c["sub"] == "wanjiru");
  CHECK(c["iss"] == "https://gw.example");
  CHECK(c["roles"] == boost::json::array{"clinician"});
  CHECK(t.scope == "user/Patient.rs");
  // Local users still log in here, without the upstream.
  CHECK(tokens(f.login("alice", "correct horse battery")).scope.size() > 0);
  CHECK(f.upstream.calls == 1);
  // Offline with the cached verifier: a token all the same, and an event says so.
  f.upstream.reachable = false;
  CHECK(tokens(f.login("wanjiru", "district password")).access_token.size() > 0);
  REQUIRE(f.sink.events.size() == 1);
  CHECK(f.sink.events[0].kind == SecurityEventKind::kOfflineLogin);
  const auto& offline_fail = error(f.login("nobody", "district password"));
  CHECK(offline_fail.error == "invalid_grant");
  CHECK(offline_fail.description.find("cannot be reached") != std::string::npos);
}

TEST_CASE(
    "a bridged user's refresh tokens end when the upstream refuses them or the ttl runs out") {
  BridgedFixture f;
  const auto first = tokens(f.login("wanjiru", "district password", "offline_access"));
  REQUIRE_FALSE(first.refresh_token.empty());
  const auto second = tokens(f.refresh_with(first.refresh_token));
  // The upstream refuses the password (changed there): the session ends at the next refresh.
  f.upstream.accepts = false;
  CHECK(error(f.login("wanjiru", "district password")).error == "invalid_grant");
  CHECK(error(f.refresh_with(second.refresh_token)).error == "invalid_grant");
  // Accepted again, then not confirmed for longer than the cached login holds.
  f.upstream.accepts = true;
  const auto third = tokens(f.login("wanjiru", "district password", "offline_access"));
  f.time.advance(12h - 1s);
  const auto fourth = tokens(f.refresh_with(third.refresh_token));
  f.time.advance(1s);
  CHECK(error(f.refresh_with(fourth.refresh_token)).error == "invalid_grant");
}

TEST_CASE("failed client authentication is reported as a failure from the address") {
  BridgedFixture f;
  TokenRequest r;
  r.grant_type = GrantType::kClientCredentials;
  r.client_id = "no-such-client";
  r.client_secret = "whatever";
  CHECK(error(f.bridged.grant(r, "10.0.0.9")).error == "invalid_client");
  REQUIRE(f.sink.events.size() == 1);
  CHECK(f.sink.events[0].kind == SecurityEventKind::kLoginFailure);
  CHECK(f.sink.events[0].subject.empty());
  CHECK(f.sink.events[0].address == "10.0.0.9");
  CHECK(f.upstream.calls == 0);
}
