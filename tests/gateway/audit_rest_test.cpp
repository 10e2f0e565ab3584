#include "gateway/audit_rest.hpp"

#include <doctest/doctest.h>

#include "protocols/fhir/model/json.hpp"
#include "tests/storage/store_fixture.hpp"

using namespace cg;
using namespace cg::gateway;

namespace {

constexpr std::string_view kBase = "http://gw.test/fhir";

std::string audit_event(std::string_view patient_value, std::string_view type_code,
                        std::string_view recorded = "2026-11-21T10:00:00Z") {
  return R"({"resourceType":"AuditEvent",
    "type":{"system":"http://dicom.nema.org/resources/ontology/DCM","code":")" +
         std::string(type_code) + R"("},
    "action":"R","recorded":")" +
         std::string(recorded) + R"(","outcome":"0",
    "agent":[{"requestor":true,"who":{"display":"Dr Achieng"},"network":{"address":"10.0.0.7","type":"2"}}],
    "source":{"observer":{"display":"emr-1"}},
    "entity":[{"what":{"identifier":{"system":"urn:oid:1.2.3","value":")" +
         std::string(patient_value) + R"("}},
      "type":{"system":"http://terminology.hl7.org/CodeSystem/audit-entity-type","code":"1"},
      "role":{"system":"http://terminology.hl7.org/CodeSystem/object-role","code":"1"}}]})";
}

struct Fixture {
  storage::testing::TempDir dir;
  std::unique_ptr<storage::AuditStore> store;
  std::unique_ptr<AuditRestApi> api;

  Fixture() {
    auto opened = storage::AuditStore::open({dir.path(), 1, 64, 1000, nullptr});
    REQUIRE(opened.ok());
    store = std::move(*opened);
    api = std::make_unique<AuditRestApi>(
        *store, AuditRestConfig{50, 3, [] { return std::int64_t{1'795'300'000'000}; }});
  }

  http::Response call(std::string method, std::string target, std::string body = "",
                      std::string content_type = "application/fhir+json") {
    http::Request r;
    r.method = std::move(method);
    r.target = std::move(target);
    r.body = std::move(body);
    r.remote_address = "10.0.0.9";
    if (!r.body.empty()) r.headers.emplace_back("Content-Type", content_type);
    auto q = r.target.find('?');
    std::string path = r.target.substr(0, q);
    std::string query = q == std::string::npos ? "" : r.target.substr(q + 1);
    return api->handle(r, path, query, kBase);
  }

  boost::json::object json_of(const http::Response& r) {
    auto v = fhir::parse_json(r.body);
    REQUIRE(v.ok());
    return v->as_object();
  }

  std::size_t entries(const http::Response& r) {
    auto b = json_of(r);
    const auto* e = b.if_contains("entry");
    return e == nullptr ? 0 : e->as_array().size();
  }
};

}  // namespace

TEST_CASE("ITI-20 create stores the AuditEvent in audit.db; read gives it back as version 1") {
  Fixture f;
  auto created = f.call("POST", "AuditEvent", audit_event("7627199", "110110"));
  REQUIRE_MESSAGE(created.status == 201, created.body);
  CHECK(created.header("Location") == std::string(kBase) + "/AuditEvent/1/_history/1");
  CHECK(created.header("ETag") == "W/\"1\"");
  auto body = f.json_of(created);
  CHECK(body.at("id").as_string() == "1");
  CHECK(body.at("meta").as_object().at("versionId").as_string() == "1");

  auto read = f.call("GET", "AuditEvent/1");
  REQUIRE(read.status == 200);
  CHECK(f.json_of(read).at("agent").as_array().size() == 1);
  CHECK(f.call("GET", "AuditEvent/1/_history/1").status == 200);
  CHECK(f.call("GET", "AuditEvent/1/_history/2").status == 404);
  CHECK(f.call("GET", "AuditEvent/2").status == 404);
  CHECK(f.call("GET", "AuditEvent/abc").status == 404);

  auto stored = f.store->read(1);
  REQUIRE(stored.ok());
  CHECK(stored->record.transport == "rest");
  CHECK(stored->record.peer == "10.0.0.9");
  CHECK(stored->record.received_ms == 1'795'300'000'000);
}

TEST_CASE("create refuses what is not a valid AuditEvent, and stores nothing") {
  Fixture f;
  CHECK(f.call("POST", "AuditEvent", R"({"resourceType":"Patient"})").status == 400);
  CHECK(f.call("POST", "AuditEvent", R"({"resourceType":"AuditEvent"})").status == 400);
  CHECK(f.call("POST", "AuditEvent", "{not json").status == 400);
  CHECK(f.call("POST", "AuditEvent", "x", "text/plain").status == 415);
  auto all = f.store->since(0, 10);
  REQUIRE(all.ok());
  CHECK(all->empty());
}

TEST_CASE("records are evidence: update, delete and history are refused") {
  Fixture f;
  REQUIRE(f.call("POST", "AuditEvent", audit_event("1", "110110")).status == 201);
  CHECK(f.call("PUT", "AuditEvent/1", audit_event("1", "110110")).status == 405);
  CHECK(f.call("DELETE", "AuditEvent/1").status == 405);
  CHECK(f.call("GET", "AuditEvent/1/_history").status == 405);
  CHECK(f.call("GET", "AuditEvent/_history").status == 405);
}

TEST_CASE("ITI-81 search by patient identifier, type and date, newest first, paged") {
  Fixture f;
  for (int i = 0; i < 5; ++i) {
    REQUIRE(
        f.call("POST", "AuditEvent", audit_event("A" + std::to_string(i % 2), "110110")).status ==
        201);
  }
  REQUIRE(
      f.call("POST", "AuditEvent", audit_event("A0", "110112", "2025-01-01T00:00:00Z")).status ==
      201);

  auto a0 = f.call("GET", "AuditEvent?patient.identifier=urn:oid:1.2.3|A0&_count=10");
  REQUIRE_MESSAGE(a0.status == 200, a0.body);
  CHECK(f.entries(a0) == 3);  // capped at max_page_size 3: records 6, 5, 3
  auto bundle = f.json_of(a0);
  auto entry = bundle.at("entry").as_array();
  CHECK(entry[0].at("fullUrl").as_string() == std::string(kBase) + "/AuditEvent/6");
  CHECK(entry[1].at("fullUrl").as_string() == std::string(kBase) + "/AuditEvent/5");
  const auto& links = bundle.at("link").as_array();
  REQUIRE(links.size() == 2);
  std::string next(links[1].at("url").as_string());
  CHECK(next.ends_with("_cursor=3"));
  auto page2 = f.call("GET", next.substr(kBase.size() + 1));
  REQUIRE(page2.status == 200);
  CHECK(f.entries(page2) == 1);  // record 1

  CHECK(f.entries(f.call("GET", "AuditEvent?type=110112")) == 1);
  CHECK(f.entries(f.call("GET", "AuditEvent?type=110112&patient.identifier=A1")) == 0);
  CHECK(f.entries(f.call("GET", "AuditEvent?date=ge2026-01-01&patient.identifier=A0")) == 3);
  CHECK(f.entries(f.call("GET", "AuditEvent?date=lt2026&_count=10")) == 1);
  CHECK(f.entries(f.call("GET", "AuditEvent?address=10.0.0.7&source=emr-1&outcome=0")) == 3);
  CHECK(f.call("GET", "AuditEvent?type:text=x").status == 400);
  auto post =
      f.call("POST", "AuditEvent/_search", "type=110112", "application/x-www-form-urlencoded");
  CHECK(f.entries(post) == 1);
}

TEST_CASE("XML in and out") {
  Fixture f;
  auto created = f.call("POST", "AuditEvent?_format=xml", audit_event("X", "110110"));
  REQUIRE(created.status == 201);
  CHECK(created.header("Content-Type").starts_with("application/fhir+xml"));
  CHECK(created.body.find("<AuditEvent") != std::string::npos);
  auto search = f.call("GET", "AuditEvent?_format=xml");
  CHECK(search.body.find("<Bundle") != std::string::npos);
}

TEST_CASE("a record whose payload could not be read is kept but has no AuditEvent to serve") {
  Fixture f;
  storage::AuditRecord unreadable;
  unreadable.received_ms = 1;
  unreadable.transport = "udp";
  unreadable.format = "unknown";
  unreadable.problem = "not an audit message";
  unreadable.raw = "hello";
  std::vector<storage::AuditRecord> records;
  records.push_back(unreadable);
  REQUIRE(f.store->append_and_wait(std::move(records)).ok());
  CHECK(f.call("GET", "AuditEvent/1").status == 404);
  CHECK(f.entries(f.call("GET", "AuditEvent")) == 0);
}

TEST_CASE("a batch Bundle of AuditEvents: valid entries stored together, the others refused") {
  Fixture f;
  std::string bundle = R"({"resourceType":"Bundle","type":"batch","entry":[
    {"resource":)" + audit_event("B1", "110110") +
                       R"(,"request":{"method":"POST","url":"AuditEvent"}},
    {"resource":{"resourceType":"AuditEvent"},"request":{"method":"POST","url":"AuditEvent"}},
    {"resource":)" + audit_event("B2", "110110") +
                       R"(,"request":{"method":"POST","url":"AuditEvent"}}]})";
  http::Request r;
  r.method = "POST";
  r.target = "/fhir";
  r.body = bundle;
  r.headers.emplace_back("Content-Type", "application/fhir+json");
  CHECK(AuditRestApi::classify_bundle(r) == AuditRestApi::BundleKind::kAuditEvents);
  auto answer = f.api->feed_bundle(r, "", kBase);
  REQUIRE_MESSAGE(answer.status == 200, answer.body);
  auto entries = f.json_of(answer).at("entry").as_array();
  REQUIRE(entries.size() == 3);
  CHECK(entries[0].at("response").at("status").as_string().starts_with("201"));
  CHECK(entries[0].at("response").at("location").as_string() == "AuditEvent/1/_history/1");
  CHECK(entries[1].at("response").at("status").as_string() == "400");
  CHECK(entries[2].at("response").at("location").as_string() == "AuditEvent/2/_history/1");
  auto counted = f.json_of(f.call("GET", "AuditEvent?_summary=count"));
  CHECK(counted.at("total").as_int64() == 2);
  CHECK(counted.if_contains("entry") == nullptr);

  // A transaction is all or nothing.
  std::string txn = bundle;
  txn.replace(txn.find("\"batch\""), 7, "\"transaction\"");
  r.body = txn;
  CHECK(f.api->feed_bundle(r, "", kBase).status == 400);
  CHECK(f.json_of(f.call("GET", "AuditEvent?_total=accurate")).at("total").as_int64() == 2);
}

TEST_CASE("Bundles that are not all AuditEvents are told apart") {
  http::Request r;
  r.method = "POST";
  r.headers.emplace_back("Content-Type", "application/fhir+json");
  r.body = R"({"resourceType":"Bundle","type":"batch","entry":[
    {"request":{"method":"GET","url":"Patient/1"}}]})";
  CHECK(AuditRestApi::classify_bundle(r) == AuditRestApi::BundleKind::kOther);
  r.body = R"({"resourceType":"Bundle","type":"batch","entry":[
    {"resource":{"resourceType":"AuditEvent"},"request":{"method":"POST","url":"AuditEvent"}},
    {"request":{"method":"GET","url":"Patient/1"}}]})";
  CHECK(AuditRestApi::classify_bundle(r) == AuditRestApi::BundleKind::kMixed);
  Fixture f;
  CHECK(f.api->feed_bundle(r, "", kBase).status == 400);
}
