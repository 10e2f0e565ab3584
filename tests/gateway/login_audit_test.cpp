#include "gateway/login_audit.hpp"

#include <doctest/doctest.h>

#include "gateway/oauth_endpoints.hpp"
#include "protocols/fhir/model/json.hpp"
#include "protocols/fhir/model/validation.hpp"
#include "tests/storage/store_fixture.hpp"

using namespace cg;
using namespace cg::gateway;

// Logins, revocations, lockouts and account changes as audit records: the builders, and the
// token endpoint with an emitter as the daemon wires it.
namespace {

std::string code_of(const boost::json::value& coding) {
  return std::string(coding.at("code").as_string());
}

std::vector<std::string> subtypes(const boost::json::object& e) {
  std::vector<std::string> out;
  for (const auto& s : e.at("subtype").as_array()) out.push_back(code_of(s));
  return out;
}

const boost::json::object& requestor(const boost::json::object& e) {
  return e.at("agent").as_array()[0].as_object();
}

std::string who(const boost::json::object& e) {
  return std::string(requestor(e).at("who").at("identifier").at("value").as_string());
}

const AuditSource kSource{"gw-test", "127.0.0.1"};

// The token endpoint over security.db in a temp dir, recording into an audit.db there.
struct Endpoint {
  storage::testing::TempDir dir;
  std::unique_ptr<storage::AuditStore> audits;
  std::unique_ptr<AuditEmitter> emitter;
  std::unique_ptr<OAuthEndpoints> oauth;

  Endpoint() {
    audits = std::move(storage::AuditStore::open({dir.path(), 1, 64, 1000, nullptr}).value());
    AuditEmitterConfig config;
    config.source = kSource;
    emitter = std::make_unique<AuditEmitter>(*audits, nullptr, config);
    GatewayConfig gateway;
    gateway.data_dir = dir.path();
    auto opened = OAuthEndpoints::open(gateway);
    REQUIRE_MESSAGE(opened.ok(), (opened.ok() ? "" : opened.error().message));
    oauth = std::move(*opened);
    oauth->set_audit_emitter(emitter.get());
    IdentityStore identities(SecurityDatabase::open(dir.path()).value(), {});
    REQUIRE(identities.add_user("alice", "correct horse battery", {"clinician"}).ok());
  }

  http::Response post(std::string target, std::string body) {
    const bool revoke = target == "/auth/revoke";
    http::Request r;
    r.method = "POST";
    r.target = std::move(target);
    r.body = std::move(body);
    r.remote_address = "192.168.1.30";
    r.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    return revoke ? oauth->revoke(r) : oauth->token(r);
  }

  http::Response login(std::string_view password) {
    return post("/auth/token",
                "grant_type=password&username=alice&password=" + std::string(password));
  }

  // The records of `param` = `code`, newest first.
  std::vector<boost::json::object> records(std::string param, std::string code) {
    REQUIRE(emitter->flush().ok());
    storage::AuditQuery q;
    q.all_of.push_back({std::move(param), {{"", "", std::move(code)}}});
    auto found = audits->search(q);
    REQUIRE(found.ok());
    std::vector<boost::json::object> out;
    for (const auto& a : *found) {
      out.push_back(fhir::parse_json(a.record.resource_json).value().as_object());
    }
    return out;
  }
};

}  // namespace

TEST_CASE("a token request is one User Authentication record: Login, ITI-71, its outcome") {
  TokenAttempt ok;
  ok.grant = "client_credentials";
  ok.subject = "tablet-7";
  ok.client = true;
  ok.roles = {"device"};
  ok.scope = "system/Patient.rs";
  ok.token_id = "jti-1";
  ok.address = "10.0.0.9";
  ok.status = 200;
  auto e = token_event(kSource, ok, 0);
  CHECK(fhir::validate_structure(e).empty());
  CHECK(code_of(e.at("type")) == "110114");
  CHECK(subtypes(e) == std::vector<std::string>{"110122", "ITI-71"});
  CHECK(e.at("outcome").as_string() == "0");
  CHECK(who(e) == "tablet-7");
  CHECK(code_of(requestor(e).at("type").at("coding").as_array()[0]) == "110153");
  const auto& token = e.at("entity").as_array()[0];
  CHECK(token.at("what").at("identifier").at("value").as_string() == "jti-1");
  CHECK(token.at("name").as_string() == "grant_type=client_credentials");

  TokenAttempt refused;
  refused.grant = "password";
  refused.subject = "my secret password!";  // typed into the username field
  refused.status = 400;
  refused.error = "invalid_grant: invalid username or password";
  auto r = token_event(kSource, refused, 0);
  CHECK(r.at("outcome").as_string() == "4");
  CHECK(who(r) == "(malformed)");
  CHECK(r.at("outcomeDesc").as_string() == refused.error);
  TokenAttempt unavailable;
  unavailable.status = 503;
  CHECK(token_event(kSource, unavailable, 0).at("outcome").as_string() == "8");
}

TEST_CASE("security events: lockouts and offline logins are security alerts, failures are not") {
  SecurityEvent failure{{}, SecurityEventKind::kLoginFailure, "alice", "10.0.0.9", "wrong"};
  CHECK(!security_event_record(kSource, failure, 0));

  SecurityEvent user_lock{{}, SecurityEventKind::kLockout, "alice", "10.0.0.9", "5 failed"};
  auto locked = security_event_record(kSource, user_lock, 0);
  REQUIRE(locked);
  CHECK(fhir::validate_structure(*locked).empty());
  CHECK(code_of(locked->at("type")) == "110113");
  CHECK(subtypes(*locked) == std::vector<std::string>{"110137"});
  CHECK(locked->at("outcome").as_string() == "4");
  CHECK(locked->at("entity").as_array()[0].at("role").at("code").as_string() == "11");

  SecurityEvent address_lock{{}, SecurityEventKind::kLockout, "", "10.0.0.9", "20 failed"};
  auto node = security_event_record(kSource, address_lock, 0);
  REQUIRE(node);
  CHECK(subtypes(*node) == std::vector<std::string>{"110126"});
  CHECK(!node->contains("entity"));

  SecurityEvent offline{{}, SecurityEventKind::kOfflineLogin, "bob", "10.0.0.9", "timeout\x1b"};
  auto cached = security_event_record(kSource, offline, 0);
  REQUIRE(cached);
  CHECK(subtypes(*cached) == std::vector<std::string>{"offline-login"});
  CHECK(cached->at("outcome").as_string() == "0");
  CHECK(cached->at("outcomeDesc").as_string() == "timeout?");
}

TEST_CASE("account changes by the operator: roles granted, attributes changed") {
  AccountChange added;
  added.subject = "nurse1";
  added.roles = {"clinician"};
  added.operator_name = "root";
  auto a = account_change_event(kSource, added, 0);
  CHECK(fhir::validate_structure(a).empty());
  CHECK(subtypes(a) == std::vector<std::string>{"110136"});
  CHECK(who(a) == "root");
  const auto& account = a.at("entity").as_array()[0];
  CHECK(account.at("what").at("identifier").at("value").as_string() == "nurse1");
  CHECK(account.at("description").as_string() == "user; roles: clinician");

  AccountChange rotated;
  rotated.client = true;
  rotated.subject = "emr";
  rotated.what = AccountChange::What::kPassword;
  auto r = account_change_event(kSource, rotated, 0);
  CHECK(subtypes(r) == std::vector<std::string>{"110137"});
  CHECK(r.at("outcomeDesc").as_string() == "client secret rotated");
}

TEST_CASE("the token endpoint records failed and successful logins, a lockout and a logout") {
  Endpoint f;
  CHECK(f.login("wrong password").status == 400);
  auto failed = f.records("agent-identifier", "alice");
  REQUIRE(failed.size() == 1);
  CHECK(code_of(failed[0].at("type")) == "110114");
  CHECK(failed[0].at("outcome").as_string() == "4");
  CHECK(requestor(failed[0]).at("network").at("address").as_string() == "192.168.1.30");
  // Nothing of the password anywhere in the record.
  CHECK(fhir::serialize_json(failed[0]).find("wrong password") == std::string::npos);

  auto ok = f.login("correct horse battery");
  REQUIRE_MESSAGE(ok.status == 200, ok.body);
  auto records = f.records("agent-identifier", "alice");
  REQUIRE(records.size() == 2);
  CHECK(records[0].at("outcome").as_string() == "0");
  CHECK(requestor(records[0]).at("role").as_array()[0].at("text").as_string() == "clinician");
  const std::string body = fhir::serialize_json(records[0]);
  auto tokens = fhir::parse_json(ok.body).value().as_object();
  CHECK(body.find(std::string(tokens.at("access_token").as_string())) == std::string::npos);
  CHECK(body.find(std::string(tokens.at("refresh_token").as_string())) == std::string::npos);

  // Revoking the refresh token is a logout.
  CHECK(f.post("/auth/revoke", "token=" + std::string(tokens.at("refresh_token").as_string()))
            .status == 200);
  auto logouts = f.records("subtype", "110123");
  REQUIRE(logouts.size() == 1);
  CHECK(logouts[0].at("outcome").as_string() == "0");

  // Five failures lock the user: the fifth failed login's record, and a security alert.
  for (int i = 0; i < 5; ++i) CHECK(f.login("guess " + std::to_string(i)).status == 400);
  auto alerts = f.records("type", "110113");
  REQUIRE(alerts.size() == 1);
  CHECK(subtypes(alerts[0]) == std::vector<std::string>{"110137"});
  CHECK(f.records("agent-identifier", "alice").size() == 8);
}
