#include "gateway/audit_keys.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "protocols/atna/audit_event_map.hpp"
#include "protocols/atna/audit_message.hpp"
#include "tests/atna/audit_samples.hpp"
#include "tests/storage/store_fixture.hpp"

using namespace cg;
using namespace cg::gateway;

namespace {

bool has(const AuditSearchKeys& k, std::string_view param, std::string_view system,
         std::string_view code) {
  return std::any_of(k.keys.begin(), k.keys.end(), [&](const storage::AuditKey& key) {
    return key.param == param && key.system == system && key.code == code;
  });
}

}  // namespace

TEST_CASE("the ITI-81 keys of a hand-written AuditEvent") {
  auto event = boost::json::parse(R"({
    "resourceType": "AuditEvent",
    "type": {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110110"},
    "subtype": [{"system": "urn:ihe:event-type-code", "code": "ITI-8"}],
    "action": "C", "outcome": "4", "recorded": "2020-03-19T12:24:34.434Z",
    "agent": [{"who": {"identifier": {"value": "PKL|SAP-ISH"}}, "altId": "18996",
               "requestor": true, "network": {"address": "10.1.2.3", "type": "2"}}],
    "source": {"site": "MPI", "observer": {"identifier": {"value": "MPI"}}},
    "entity": [{"what": {"identifier": {"system": "urn:oid:1.2.3", "value": "7627199"}},
                "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1"},
                "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1"}},
               {"what": {"identifier": {"value": "MSG-1"}},
                "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "2"},
                "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "24"}}]
  })")
                   .as_object();
  auto k = audit_search_keys(event);
  CHECK(has(k, "type", "http://dicom.nema.org/resources/ontology/DCM", "110110"));
  CHECK(has(k, "subtype", "urn:ihe:event-type-code", "ITI-8"));
  CHECK(has(k, "action", "http://hl7.org/fhir/audit-event-action", "C"));
  CHECK(has(k, "outcome", "http://hl7.org/fhir/audit-event-outcome", "4"));
  CHECK(has(k, "agent-identifier", "", "PKL|SAP-ISH"));
  CHECK(has(k, "agent-identifier", "", "18996"));
  CHECK(has(k, "address", "", "10.1.2.3"));
  CHECK(has(k, "source", "", "MPI"));
  CHECK(has(k, "site", "", "MPI"));
  CHECK(has(k, "patient-identifier", "urn:oid:1.2.3", "7627199"));
  CHECK(has(k, "entity-identifier", "urn:oid:1.2.3", "7627199"));
  CHECK(has(k, "entity-identifier", "", "MSG-1"));
  CHECK_FALSE(has(k, "patient-identifier", "", "MSG-1"));  // not a patient entity
  CHECK(has(k, "entity-role", "http://terminology.hl7.org/CodeSystem/object-role", "24"));
  REQUIRE(k.recorded_ms.has_value());
  CHECK(*k.recorded_ms == 1584620674434);
}

TEST_CASE("references of agents and entities are keys, and a Patient's also under patient") {
  auto k = audit_search_keys(boost::json::parse(R"({
    "resourceType": "AuditEvent",
    "agent": [{"who": {"reference": "Practitioner/7"}, "requestor": true},
              {"who": {"reference": "Patient/p1"}, "requestor": false}],
    "entity": [{"what": {"reference": "Patient/p2"}},
               {"what": {"reference": "Observation/o1"}}]
  })")
                                 .as_object());
  CHECK(has(k, "agent", "", "Practitioner/7"));
  CHECK(has(k, "agent", "", "Patient/p1"));
  CHECK(has(k, "patient", "", "Patient/p1"));
  CHECK(has(k, "entity", "", "Patient/p2"));
  CHECK(has(k, "patient", "", "Patient/p2"));
  CHECK(has(k, "entity", "", "Observation/o1"));
  CHECK_FALSE(has(k, "patient", "", "Observation/o1"));
  CHECK_FALSE(has(k, "patient", "", "Practitioner/7"));
}

TEST_CASE("an AuditEvent without the optional parts gives no empty keys") {
  auto k = audit_search_keys(boost::json::parse(R"({"resourceType":"AuditEvent"})").as_object());
  CHECK(k.keys.empty());
  CHECK_FALSE(k.recorded_ms.has_value());
}

TEST_CASE("every IPF sample, read and mapped, is findable by its type and patient") {
  auto files = atna::testing::ipf_audit_files();
  if (files.empty()) {
    MESSAGE("skipped: ../shared/data/atna/ipf is absent");
    return;
  }
  int with_patient = 0;
  for (const auto& file : files) {
    CAPTURE(file.filename().string());
    auto message = atna::parse_audit_message(atna::testing::read_bytes(file));
    REQUIRE(message.ok());
    auto event = atna::map_audit_event(*message);
    REQUIRE(event.ok());
    auto k = audit_search_keys(*event);
    CHECK(std::count_if(k.keys.begin(), k.keys.end(),
                        [](const auto& key) { return key.param == "type"; }) == 1);
    CHECK(k.recorded_ms.has_value());
    with_patient += std::any_of(k.keys.begin(), k.keys.end(),
                                [](const auto& key) { return key.param == "patient-identifier"; });
  }
  CHECK(with_patient >= 5);  // the PIX/PDQ samples name patients
  auto pix = atna::parse_audit_message(atna::testing::ipf_audit("pixfeed.xml"));
  REQUIRE(pix.ok());
  auto k = audit_search_keys(*atna::map_audit_event(*pix));
  CHECK(has(k, "patient-identifier", "urn:oid:2.16.840.1.113883.3.37.4.1.1.2.411.1", "7627199"));
  CHECK(has(k, "subtype", "urn:ihe:event-type-code", "ITI-8"));
}

TEST_CASE("IPF samples stored in audit.db are found by patient and by event type") {
  auto files = atna::testing::ipf_audit_files();
  if (files.empty()) {
    MESSAGE("skipped: ../shared/data/atna/ipf is absent");
    return;
  }
  storage::testing::TempDir dir;
  auto store = storage::AuditStore::open({dir.path(), 1, 64, 1000, nullptr});
  REQUIRE(store.ok());
  std::vector<storage::AuditRecord> records;
  for (const auto& file : files) {
    storage::AuditRecord r;
    r.received_ms = 1;
    r.transport = "tls";
    r.format = "dicom";
    r.raw = atna::testing::read_bytes(file);
    auto event = atna::map_audit_event(*atna::parse_audit_message(r.raw));
    REQUIRE(event.ok());
    auto k = audit_search_keys(*event);
    r.keys = std::move(k.keys);
    r.recorded_ms = k.recorded_ms;
    r.resource_json = boost::json::serialize(*event);
    records.push_back(std::move(r));
  }
  REQUIRE((*store)->append_and_wait(std::move(records)).ok());
  storage::AuditQuery by_patient;
  by_patient.all_of = {
      {"patient-identifier", {{"", "urn:oid:2.16.840.1.113883.3.37.4.1.1.2.411.1", "7627199"}}}};
  auto found = (*store)->search(by_patient);
  REQUIRE(found.ok());
  CHECK_FALSE(found->empty());
  for (const auto& a : *found) {
    CHECK(a.record.raw.find("7627199") != std::string::npos);
  }
  storage::AuditQuery by_type;
  by_type.all_of = {{"subtype", {{"", "urn:ihe:event-type-code", "ITI-8"}}}};
  by_type.count = 100;
  auto feeds = (*store)->search(by_type);
  REQUIRE(feeds.ok());
  CHECK_FALSE(feeds->empty());
  for (const auto& a : *feeds) CHECK(a.record.raw.find("ITI-8") != std::string::npos);
}

namespace {

std::vector<storage::AuditKey> sorted(std::vector<storage::AuditKey> keys) {
  auto order = [](const storage::AuditKey& a, const storage::AuditKey& b) {
    return std::tie(a.param, a.system, a.code) < std::tie(b.param, b.system, b.code);
  };
  std::sort(keys.begin(), keys.end(), order);
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

}  // namespace

TEST_CASE("the keys of a spec are the keys of the AuditEvent it is written as") {
  const AuditSource source{"clinic-7", "192.168.4.2"};
  std::vector<AuditEventSpec> specs;
  AuditEventSpec read;  // a FHIR read by an app
  read.type = {std::string(codes::kEventType), "rest", "Restful Operation"};
  read.subtypes = {{std::string(codes::kRestful), "read", ""}};
  read.action = 'R';
  AuditAgent app;
  app.type = {std::string(codes::kDicom), "110153", "Source Role ID"};
  app.who_identifier = "token:511a36fa";
  app.requestor = true;
  app.address = "192.168.4.31";
  read.agents = {app, gateway_agent(source)};
  read.entities = {resource_entity("Patient/p76"), patient_entity("Patient/p76")};
  specs.push_back(read);
  AuditEventSpec feed = read;  // an HL7v2 feed that failed, with identifiers and details
  feed.type = {std::string(codes::kDicom), "110110", "Patient Record"};
  feed.subtypes = {{std::string(codes::kIheEvent), "ITI-8", "Patient Identity Feed"}};
  feed.action = 'C';
  feed.outcome = 4;
  feed.outcome_description = "AE";
  feed.agents[0].who_identifier = "EMR^CLINIC";
  feed.agents[0].address = "emr.clinic.lan";
  feed.agents[0].who_reference = "Patient/self";  // a patient user
  feed.agents[0].roles = {"clinician"};
  feed.entities = {patient_identifier_entity("urn:oid:1.2.3", "M-1"),
                   query_entity("QPD|x", "/fhir/Patient"), resource_entity("")};
  feed.entities[0].details = {{"MSH-10", "MSG0001"}};
  specs.push_back(feed);
  AuditEventSpec bare;  // no agents, no entities, no address
  bare.type = {std::string(codes::kDicom), "110100", "Application Activity"};
  specs.push_back(bare);
  for (const AuditEventSpec& spec : specs) {
    const auto event = build_audit_event(source, spec, 1'767'607'200'250);
    const auto from_json = audit_search_keys(event);
    CHECK(sorted(audit_spec_keys(source, spec)) == sorted(from_json.keys));
    CHECK(from_json.recorded_ms == 1'767'607'200'250);
  }
}
