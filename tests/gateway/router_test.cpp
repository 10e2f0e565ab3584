#include "gateway/router.hpp"

#include <doctest/doctest.h>

#include <map>
#include <set>

#include "../fhir/rest/temp_store.hpp"
#include "gateway/security/identity_store.hpp"
#include "tests/storage/store_fixture.hpp"

using namespace cg;
using namespace cg::gateway;

namespace {
struct Fixture {
  explicit Fixture(std::shared_ptr<storage::WriteGate> write_gate = nullptr)
      : store(std::move(write_gate)) {}

  testing::TempStore store;
  fhir::FhirApi api{*store, {}};
  std::string token = generate_token();
  StaticTokenVerifier tokens{{sha256_hex(token)}};
  GatewayRouter router{api, tokens, {}};

  http::Response call(std::string method, std::string target, bool with_token) {
    http::Request r;
    r.method = std::move(method);
    r.target = std::move(target);
    r.headers.emplace_back("Host", "gw.test:8080");
    if (with_token) r.headers.emplace_back("Authorization", "Bearer " + token);
    return router.handle(r);
  }

  http::Response post(std::string target, std::string body) {
    http::Request r;
    r.method = "POST";
    r.target = std::move(target);
    r.headers.emplace_back("Host", "gw.test:8080");
    r.headers.emplace_back("Authorization", "Bearer " + token);
    r.headers.emplace_back("Content-Type", "application/fhir+json");
    r.body = std::move(body);
    return router.handle(r);
  }
};

// A gate whose disk never recovers in the test: its probe always fails.
std::shared_ptr<storage::WriteGate> stuck_gate() {
  storage::WriteGateConfig config;
  config.directory = std::filesystem::temp_directory_path();
  config.min_free_bytes = 0;
  config.probe = [](const std::filesystem::path&) -> Status {
    return Error::unavailable("still full");
  };
  return std::make_shared<storage::WriteGate>(std::move(config));
}
}  // namespace

TEST_CASE("only /health, /fhir/metadata and the OAuth discovery and token routes are open") {
  Fixture f;
  CHECK(f.call("GET", "/health", false).status == 200);
  CHECK(f.call("GET", "/fhir/metadata", false).status == 200);
  for (auto [method, target] :
       std::initializer_list<std::pair<const char*, const char*>>{{"GET", "/fhir/Patient"},
                                                                  {"GET", "/fhir/Patient/1"},
                                                                  {"POST", "/fhir/Patient"},
                                                                  {"PUT", "/fhir/Patient/1"},
                                                                  {"DELETE", "/fhir/Patient/1"},
                                                                  {"GET", "/fhir/_history"},
                                                                  {"POST", "/fhir"},
                                                                  {"GET", "/nowhere"},
                                                                  {"POST", "/fhir/metadata"},
                                                                  {"GET", "/fhir/metadata/x"}}) {
    CAPTURE(method);
    CAPTURE(target);
    auto r = f.call(method, target, false);
    CHECK(r.status == 401);
    CHECK(r.header("WWW-Authenticate").starts_with("Bearer"));
  }
  CHECK(f.router.unauthorized_count() == 10);
}

TEST_CASE("routes: exact paths win over prefixes; a prefix takes its base and what is below") {
  Fixture f;
  auto name = [&](std::string_view method, std::string_view path) -> std::string {
    const Route* r = f.router.find_route(method, path);
    return r == nullptr ? "" : r->name;
  };
  CHECK(name("GET", "/fhir/metadata") == "fhir-metadata");
  CHECK(name("POST", "/fhir/metadata") == "fhir");  // FHIR answers 405, after the token check
  CHECK(name("GET", "/fhir") == "fhir");
  CHECK(name("GET", "/fhir/Patient/1") == "fhir");
  CHECK(name("GET", "/fhirx") == "");
  CHECK(name("GET", "/health") == "health");
  CHECK(name("POST", "/health") == "");
}

TEST_CASE("a route registered without a policy refuses every token") {
  Fixture f;
  bool ran = false;
  f.router.add_route({"careless",
                      {"GET"},
                      "/careless",
                      RoutePolicy{},
                      [&](http::Request&, std::string_view, std::string_view, const Principal*) {
                        ran = true;
                        return http::Response{};
                      }});
  CHECK(f.call("GET", "/careless", false).status == 401);
  CHECK(f.call("GET", "/careless", true).status == 403);  // even the static token
  CHECK_FALSE(ran);
}

TEST_CASE("a static token is scoped like system/*.cruds: no route that needs a role") {
  Fixture f;
  f.router.add_route({"admin-only",
                      {"GET"},
                      "/admin-only",
                      RoutePolicy::granted("gateway.admin", {Role::kAdmin}),
                      [](http::Request&, std::string_view, std::string_view, const Principal*) {
                        return http::Response{};
                      }});
  CHECK(f.call("GET", "/admin-only", true).status == 403);
  CHECK(f.call("GET", "/fhir/Patient", true).status == 200);
}

TEST_CASE("with a token, FHIR routes work and unknown paths are 404") {
  Fixture f;
  CHECK(f.call("GET", "/fhir/Patient", true).status == 200);
  CHECK(f.call("GET", "/nowhere", true).status == 404);
}

TEST_CASE("every response carries the security headers") {
  Fixture f;
  auto r = f.call("GET", "/fhir/metadata", false);
  CHECK(r.header("X-Content-Type-Options") == "nosniff");
  CHECK(r.header("Cache-Control") == "no-store");
  CHECK(r.header("Content-Security-Policy") == "default-src 'none'; frame-ancestors 'none'");
  CHECK(r.header("Strict-Transport-Security").empty());  // not over plain HTTP
  CHECK(f.call("GET", "/nowhere", false).header("X-Frame-Options") == "DENY");  // errors too
  http::Request tls;
  tls.method = "GET";
  tls.target = "/health";
  tls.secure = true;
  CHECK(f.router.handle(tls).header("Strict-Transport-Security") == "max-age=31536000");
  auto body = f.call("GET", "/fhir/metadata", false).body;
  CHECK(body.find("http://gw.test:8080/fhir") != std::string::npos);  // base from Host
}

TEST_CASE("errors found by the HTTP server itself become OperationOutcomes") {
  auto r = GatewayRouter::protocol_error(413, "Payload Too Large");
  CHECK(r.status == 413);
  CHECK(r.header("Content-Type").starts_with("application/fhir+json"));
  CHECK(r.body.find("\"too-costly\"") != std::string::npos);
  CHECK(GatewayRouter::protocol_error(431, "x").status == 431);
  CHECK(GatewayRouter::protocol_error(400, "x").body.find("\"invalid\"") != std::string::npos);
}

// The route-enumeration proof (issue 5): for every route the server registers — including
// the OAuth routes — no token is 401, a valid token whose scopes do not cover the request is
// 403, and the right scope reaches the route. The FHIR route is proved interaction by
// interaction. A route this table does not know fails the test, so a new route cannot be
// added without saying what guards it.
namespace {

struct Example {
  std::string method;
  std::string target;
  std::string body;       // FHIR JSON, or a form for the token endpoint
  std::string covering;   // a scope that allows it ("" for a public route)
  std::string uncovered;  // a valid scope that does not
};

const std::string kPatient = R"({"resourceType":"Patient","name":[{"family":"Otieno"}]})";
const std::string kAuditEvent = R"({"resourceType":"AuditEvent",
  "type":{"system":"http://dicom.nema.org/resources/ontology/DCM","code":"110100"},
  "recorded":"2026-11-21T10:00:00Z","agent":[{"requestor":true,"who":{"display":"route test"}}],
  "source":{"observer":{"display":"route test"}}})";

std::string batch_of(std::string_view method, std::string_view url) {
  return R"({"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":")" +
         std::string(method) + R"(","url":")" + std::string(url) + R"("}}]})";
}

std::map<std::string, std::vector<Example>> examples(const std::string& client_form) {
  return {
      {"health", {{"GET", "/health", "", "", ""}}},
      {"fhir-metadata", {{"GET", "/fhir/metadata", "", "", ""}}},
      {"jwks", {{"GET", "/.well-known/jwks.json", "", "", ""}}},
      {"smart-configuration", {{"GET", "/.well-known/smart-configuration", "", "", ""}}},
      {"fhir-smart-configuration", {{"GET", "/fhir/.well-known/smart-configuration", "", "", ""}}},
      {"auth-token", {{"POST", "/auth/token", client_form, "", ""}}},
      {"auth-revoke", {{"POST", "/auth/revoke", "token=unknown", "", ""}}},
      {"fhir",
       {
           {"GET", "/fhir/Patient/p1", "", "system/Patient.r", "system/Patient.s"},
           {"GET", "/fhir/Patient/p1/_history/1", "", "system/Patient.r", "system/Patient.s"},
           {"GET", "/fhir/Patient?family=Otieno", "", "system/Patient.s", "system/Patient.r"},
           {"POST", "/fhir/Patient/_search", "", "system/Patient.s", "system/Observation.s"},
           {"GET", "/fhir?_type=Patient", "", "system/Patient.s", "system/Observation.s"},
           {"GET", "/fhir/Patient/p1/Observation", "", "system/Observation.s", "system/Patient.s"},
           {"GET", "/fhir/Patient/p1/$everything", "", "system/*.rs", "system/Patient.rs"},
           {"GET", "/fhir/Patient/p1/_history", "", "system/Patient.rs", "system/Patient.r"},
           {"GET", "/fhir/Patient/_history", "", "system/Patient.rs", "system/Patient.s"},
           {"GET", "/fhir/_history", "", "system/*.rs", "system/Patient.rs"},
           {"POST", "/fhir/Patient", kPatient, "system/Patient.c", "system/Patient.u"},
           {"PUT", "/fhir/Patient/p1", R"({"resourceType":"Patient","id":"p1"})",
            "system/Patient.u", "system/Patient.c"},
           {"PUT", "/fhir/Patient?family=Nobody", kPatient, "system/Patient.us",
            "system/Patient.u"},
           {"DELETE", "/fhir/Patient/p2", "", "system/Patient.d", "system/Patient.u"},
           {"DELETE", "/fhir/Patient?family=Nobody", "", "system/Patient.ds", "system/Patient.d"},
           {"POST", "/fhir", batch_of("GET", "Patient/p1"), "system/Patient.r",
            "system/Observation.r"},
           {"POST", "/fhir", batch_of("DELETE", "Patient/p3"), "system/Patient.d",
            "system/Patient.r"},
       }},
      {"fhir-audit-event",
       {
           {"GET", "/fhir/AuditEvent?type=110100", "", "system/AuditEvent.s",
            "system/AuditEvent.r"},
           {"POST", "/fhir/AuditEvent", kAuditEvent, "system/AuditEvent.c", "system/AuditEvent.rs"},
       }},
      {"fhir-audit-event-instance",
       {
           {"GET", "/fhir/AuditEvent/1", "", "system/AuditEvent.r", "system/AuditEvent.s"},
           {"POST", "/fhir/AuditEvent/_search", "", "system/AuditEvent.s", "system/Patient.s"},
           {"DELETE", "/fhir/AuditEvent/1", "", "system/AuditEvent.d", "system/AuditEvent.r"},
       }},
  };
}

struct OAuthFixture : Fixture {
  storage::testing::TempDir dir;
  std::unique_ptr<OAuthEndpoints> oauth;
  std::unique_ptr<storage::AuditStore> audit_store;
  std::unique_ptr<AuditRestApi> audit;
  std::string client_id, secret;

  OAuthFixture() {
    auto opened_audit = storage::AuditStore::open({dir.path(), 1, 64, 1000, nullptr});
    REQUIRE(opened_audit.ok());
    audit_store = std::move(*opened_audit);
    audit = std::make_unique<AuditRestApi>(*audit_store, AuditRestConfig{});
    router.set_audit_repository(audit.get());
    GatewayConfig config;
    config.data_dir = dir.path();
    auto opened = OAuthEndpoints::open(config);
    REQUIRE_MESSAGE(opened.ok(), (opened.ok() ? "" : opened.error().message));
    oauth = std::move(*opened);
    router.set_oauth(oauth.get());
    auto db = SecurityDatabase::open(dir.path());
    REQUIRE(db.ok());
    IdentityStore identities(*db, {});
    auto client = identities.add_client("route test", {"device"}, {"system/*.cruds"});
    REQUIRE(client.ok());
    client_id = client->client_id;
    secret = client->secret;
  }

  std::string client_form(std::string_view scope) const {
    return "grant_type=client_credentials&client_id=" + client_id + "&client_secret=" + secret +
           "&scope=" + std::string(scope);
  }

  std::string token_for(std::string_view scope) {
    auto r = send({"POST", "/auth/token", client_form(scope), "", ""}, "");
    REQUIRE_MESSAGE(r.status == 200, r.body);
    auto body = fhir::parse_json(r.body);
    REQUIRE(body.ok());
    return std::string(body->as_object().at("access_token").as_string());
  }

  http::Response send(const Example& e, const std::string& token) {
    http::Request r;
    r.method = e.method;
    r.target = e.target;
    r.body = e.body;
    r.headers.emplace_back("Host", "gw.test:8080");
    if (e.target.starts_with("/auth/")) {
      r.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    } else if (!e.body.empty()) {
      r.headers.emplace_back("Content-Type", "application/fhir+json");
    }
    if (!token.empty()) r.headers.emplace_back("Authorization", "Bearer " + token);
    return router.handle(r);
  }
};

}  // namespace

TEST_CASE(
    "every registered route: no token 401, a token without the scope 403, the scope allowed") {
  OAuthFixture f;
  for (const char* id : {"p1", "p2", "p3"}) {
    http::Request put;
    put.method = "PUT";
    put.target = std::string("/fhir/Patient/") + id;
    put.body = R"({"resourceType":"Patient","id":")" + std::string(id) +
               R"(","name":[{"family":"Otieno"}]})";
    put.headers.emplace_back("Content-Type", "application/fhir+json");
    put.headers.emplace_back("Authorization", "Bearer " + f.token);
    REQUIRE(f.router.handle(put).status < 300);
  }
  auto table = examples(f.client_form("system/Patient.r"));
  std::set<std::string> seen;
  for (const Route& route : f.router.routes()) {
    CAPTURE(route.name);
    REQUIRE_MESSAGE(route.policy.is_set(), "route " << route.name << " has no access policy");
    REQUIRE_MESSAGE(seen.insert(route.name).second, "two routes named " << route.name);
    auto it = table.find(route.name);
    REQUIRE_MESSAGE(it != table.end(),
                    "route " << route.name << " is not covered by the route-enumeration test");
    for (const Example& e : it->second) {
      CAPTURE(e.method);
      CAPTURE(e.target);
      REQUIRE(f.router.find_route(e.method, e.target.substr(0, e.target.find('?'))) == &route);
      if (!route.policy.needs_token()) {
        auto open = f.send(e, "");
        CHECK(open.status != 401);
        CHECK(open.status != 403);
        CHECK(open.header("WWW-Authenticate").empty());
        continue;
      }
      auto none = f.send(e, "");
      CHECK(none.status == 401);
      CHECK(none.header("WWW-Authenticate").starts_with("Bearer"));
      auto wrong = f.send(e, f.token_for(e.uncovered));
      CHECK_MESSAGE(wrong.status == 403, wrong.body);
      auto right = f.send(e, f.token_for(e.covering));
      CHECK_MESSAGE(right.status != 401, right.body);
      CHECK_MESSAGE(right.status != 403, right.body);
      CHECK_MESSAGE(right.status < 500, right.body);
    }
  }
  CHECK(seen.size() == table.size());
}

TEST_CASE("a full disk: FHIR writes get 503, Retry-After and an OperationOutcome; reads 200") {
  auto gate = stuck_gate();
  Fixture f(gate);
  testing::put_json(*f.store, "Patient", "p1", R"({"resourceType":"Patient"})");
  (void)gate->note_failure(storage::DiskProblem::kFull, "database or disk is full");

  auto refused = f.post("/fhir/Patient",
                        R"({"resourceType":"Patient","name":[{"family":"Nakamura-Okafor"}]})");
  CHECK(refused.status == 503);
  CHECK(refused.header("Retry-After") == "10");
  CHECK(refused.body.find("OperationOutcome") != std::string::npos);
  CHECK(refused.body.find("\"transient\"") != std::string::npos);
  CHECK(refused.body.find("disk is full") != std::string::npos);
  CHECK(refused.body.find("Nakamura") == std::string::npos);  // no patient data
  auto bundle = f.post("/fhir", R"({"resourceType":"Bundle","type":"transaction","entry":[
      {"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}}]})");
  CHECK(bundle.status == 503);

  CHECK(f.call("GET", "/fhir/Patient/p1", true).status == 200);
  CHECK(f.call("GET", "/fhir/Patient", true).status == 200);
  auto listed = f.call("GET", "/fhir/Patient?_total=accurate", true);
  CHECK(listed.body.find("\"total\":1") != std::string::npos);  // nothing of the refused stored
}
