#include "gateway/rest_audit.hpp"

#include <doctest/doctest.h>

#include <set>

#include "../fhir/rest/temp_store.hpp"
#include "gateway/router.hpp"
#include "protocols/fhir/model/json.hpp"
#include "tests/storage/store_fixture.hpp"

using namespace cg;
using namespace cg::gateway;

// Every FHIR request made with a token leaves an audit record: writes inside their own
// job, reads after their response. Driven through the router as the daemon wires it.
namespace {

struct Fixture {
  testing::TempStore store;
  storage::testing::TempDir dir;
  fhir::FhirApi api{*store, {}};
  std::string token = generate_token();
  StaticTokenVerifier tokens{{sha256_hex(token)}};
  GatewayRouter router{api, tokens, {}};
  std::unique_ptr<storage::AuditStore> audits;
  std::unique_ptr<AuditRestApi> audit_api;
  std::unique_ptr<AuditEmitter> emitter;

  Fixture() {
    auto opened = storage::AuditStore::open({dir.path(), 1, 64, 1000, nullptr});
    REQUIRE(opened.ok());
    audits = std::move(*opened);
    audit_api = std::make_unique<AuditRestApi>(*audits, AuditRestConfig{});
    AuditEmitterConfig config;
    config.source = {"gw-test", "127.0.0.1"};
    emitter = std::make_unique<AuditEmitter>(*audits, &*store, config);
    router.set_audit_repository(audit_api.get());
    router.set_audit_emitter(emitter.get());
  }
  ~Fixture() { emitter->stop(); }

  http::Response call(std::string method, std::string target, std::string body = "",
                      bool with_token = true) {
    http::Request r;
    r.method = std::move(method);
    r.target = std::move(target);
    r.body = std::move(body);
    r.remote_address = "192.168.1.20";
    r.headers.emplace_back("Host", "gw.test");
    if (!r.body.empty()) r.headers.emplace_back("Content-Type", "application/fhir+json");
    if (with_token) r.headers.emplace_back("Authorization", "Bearer " + token);
    return router.handle(r);
  }

  // The stored AuditEvents naming `patient`, newest first.
  std::vector<boost::json::object> records_of(std::string_view patient) {
    REQUIRE(emitter->flush().ok());
    storage::AuditQuery q;
    q.all_of.push_back({"patient", {{"", "", std::string(patient)}}});
    auto found = audits->search(q);
    REQUIRE(found.ok());
    std::vector<boost::json::object> out;
    for (const auto& a : *found)
      out.push_back(fhir::parse_json(a.record.resource_json)->as_object());
    return out;
  }

  std::size_t total() {
    REQUIRE(emitter->flush().ok());
    auto all = audits->since(0, 10'000);
    REQUIRE(all.ok());
    return all->size();
  }
};

std::string subtype(const boost::json::object& e) {
  return std::string(e.at("subtype").as_array()[0].at("code").as_string());
}

bool has_entity_role(const boost::json::object& e, std::string_view role) {
  for (const auto& x : e.at("entity").as_array()) {
    if (x.at("role").at("code").as_string() == role) return true;
  }
  return false;
}

const std::string kP1 = R"({"resourceType":"Patient","id":"p1","name":[{"family":"Otieno"}]})";
const std::string kO1 = R"({"resourceType":"Observation","id":"o1","status":"final",
  "code":{"text":"weight"},"subject":{"reference":"Patient/p1"}})";

}  // namespace

TEST_CASE("writes are recorded with the patient they touch, in the write's own commit") {
  Fixture f;
  REQUIRE(f.call("PUT", "/fhir/Patient/p1", kP1).status == 201);
  REQUIRE(f.call("PUT", "/fhir/Observation/o1", kO1).status == 201);
  auto records = f.records_of("Patient/p1");
  REQUIRE(records.size() == 2);
  CHECK(subtype(records[0]) == "update");
  CHECK(records[0].at("action").as_string() == "U");
  CHECK(records[0].at("outcome").as_string() == "0");
  CHECK(has_entity_role(records[0], "4"));  // the Observation, as a domain resource
  const auto& agent = records[0].at("agent").as_array()[0];
  CHECK(agent.at("who").at("identifier").at("value").as_string().starts_with("token:"));
  CHECK(agent.at("network").at("address").as_string() == "192.168.1.20");

  REQUIRE(f.call("DELETE", "/fhir/Observation/o1").status == 204);
  records = f.records_of("Patient/p1");
  REQUIRE(records.size() == 3);
  CHECK(subtype(records[0]) == "delete");  // its patient read from the version before
}

TEST_CASE("reads, searches and $everything are recorded with the query and the patients") {
  Fixture f;
  REQUIRE(f.call("PUT", "/fhir/Patient/p1", kP1).status == 201);
  REQUIRE(f.call("PUT", "/fhir/Observation/o1", kO1).status == 201);
  const std::size_t writes = f.total();

  REQUIRE(f.call("GET", "/fhir/Patient/p1").status == 200);
  REQUIRE(f.call("GET", "/fhir/Observation?code:text=weight").status == 200);
  REQUIRE(f.call("GET", "/fhir/Patient/p1/$everything").status == 200);
  REQUIRE(f.call("GET", "/fhir/Observation/o1/_history").status == 200);
  CHECK(f.total() == writes + 4);
  auto records = f.records_of("Patient/p1");
  REQUIRE(records.size() == 6);
  CHECK(subtype(records[0]) == "history-instance");
  CHECK(subtype(records[1]) == "operation");
  CHECK(subtype(records[2]) == "search-type");
  CHECK(has_entity_role(records[2], "24"));  // the query
  CHECK(subtype(records[3]) == "read");
  CHECK(records[3].at("action").as_string() == "R");
}

TEST_CASE("refusals and failed writes are recorded as failures; no token, no record") {
  Fixture f;
  const std::size_t before = f.total();
  CHECK(f.call("GET", "/fhir/Patient/p1", "", false).status == 401);
  CHECK(f.total() == before);
  CHECK(f.call("GET", "/fhir/Patient/nobody").status == 404);
  CHECK(f.call("PUT", "/fhir/Patient/p9", R"({"resourceType":"Patient","id":"other"})").status ==
        400);
  auto nobody = f.records_of("Patient/nobody");
  REQUIRE(nobody.size() == 1);
  CHECK(nobody[0].at("outcome").as_string() == "4");
  auto p9 = f.records_of("Patient/p9");
  REQUIRE(p9.size() == 1);
  CHECK(subtype(p9[0]) == "update");
  CHECK(p9[0].at("outcome").as_string() == "4");
  CHECK(f.call("GET", "/fhir/metadata").status == 200);
  CHECK(f.total() == before + 2);
}

TEST_CASE("a transaction records each write and the transaction itself") {
  Fixture f;
  std::string bundle = R"({"resourceType":"Bundle","type":"transaction","entry":[
    {"resource":)" + kP1 +
                       R"(,"request":{"method":"PUT","url":"Patient/p1"}},
    {"resource":)" + kO1 +
                       R"(,"request":{"method":"PUT","url":"Observation/o1"}}]})";
  auto r = f.call("POST", "/fhir", bundle);
  REQUIRE_MESSAGE(r.status == 200, r.body);
  auto records = f.records_of("Patient/p1");
  REQUIRE(records.size() == 3);
  // Staged write records reach audit.db after the queued ones: look, do not rely on order.
  std::multiset<std::string> kinds;
  for (const auto& e : records) kinds.insert(subtype(e));
  CHECK(kinds == std::multiset<std::string>{"transaction", "update", "update"});
}

TEST_CASE("reading the audit trail is itself recorded as Audit Log Used") {
  Fixture f;
  REQUIRE(f.call("PUT", "/fhir/Patient/p1", kP1).status == 201);
  REQUIRE(f.total() == 1);
  auto search = f.call("GET", "/fhir/AuditEvent?patient=Patient/p1");
  REQUIRE(search.status == 200);
  CHECK(search.body.find("\"total\"") == std::string::npos);
  auto records = f.records_of("Patient/p1");
  REQUIRE(records.size() == 2);
  CHECK(records[0].at("type").at("code").as_string() == "110101");
}
