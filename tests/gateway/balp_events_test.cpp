#include "gateway/balp_events.hpp"

#include <doctest/doctest.h>

#include "protocols/fhir/model/json.hpp"
#include "protocols/fhir/model/validation.hpp"

using namespace cg;
using namespace cg::gateway;

TEST_CASE("a built AuditEvent is valid R4 and carries source, agents and entities") {
  AuditSource source{"clinic-7", "10.0.0.1"};
  AuditEventSpec spec;
  spec.type = {std::string(codes::kEventType), "rest", "Restful Operation"};
  spec.subtypes.push_back({std::string(codes::kRestful), "read", ""});
  spec.action = 'R';
  spec.outcome = 4;
  spec.outcome_description = "refused";
  AuditAgent user;
  user.type = {std::string(codes::kSecurityRole), "humanuser", "human user"};
  user.who_identifier = "alice";
  user.roles = {"clinician"};
  user.requestor = true;
  user.address = "192.168.1.20";
  spec.agents = {user, gateway_agent(source)};
  spec.entities = {patient_entity("Patient/p1"), resource_entity("Observation/o1/_history/2"),
                   query_entity("name=Otieno", "/fhir/Patient"),
                   patient_identifier_entity("urn:oid:1.2.3", "42")};
  auto event = build_audit_event(source, spec, 1'795'255'200'000);
  CHECK(fhir::validate_structure(event).empty());
  CHECK(event.at("recorded").as_string() == "2026-11-21T10:00:00.000Z");
  CHECK(event.at("action").as_string() == "R");
  CHECK(event.at("outcome").as_string() == "4");
  CHECK(event.at("source").at("observer").at("display").as_string() == "clinic-7");
  const auto& agents = event.at("agent").as_array();
  CHECK(agents[0].at("network").at("type").as_string() == "2");
  CHECK(agents[0].at("who").at("identifier").at("value").as_string() == "alice");
  CHECK(agents[1].at("requestor").as_bool() == false);
  const auto& entities = event.at("entity").as_array();
  CHECK(entities[0].at("what").at("reference").as_string() == "Patient/p1");
  CHECK(entities[2].at("query").as_string() == "bmFtZT1PdGllbm8=");
  CHECK(entities[3].at("what").at("identifier").at("system").as_string() == "urn:oid:1.2.3");
}

TEST_CASE("entity details are written as base64 (IHE's MSH-10 of an HL7v2 message)") {
  AuditSource source{"gw", ""};
  AuditEventSpec spec;
  spec.type = {std::string(codes::kDicom), "110110", "Patient Record"};
  spec.agents = {gateway_agent(source)};
  AuditEntity patient = patient_identifier_entity("urn:oid:1.2.3", "42");
  patient.details.emplace_back("MSH-10", "MSG-1");
  spec.entities = {patient};
  auto event = build_audit_event(source, spec, 0);
  CHECK(fhir::validate_structure(event).empty());
  const auto& detail = event.at("entity").as_array()[0].at("detail").as_array()[0];
  CHECK(detail.at("type").as_string() == "MSH-10");
  CHECK(detail.at("valueBase64Binary").as_string() == "TVNHLTE=");
}

TEST_CASE("a host name is network type 1, an address type 2") {
  AuditSource source{"gw", "gw.clinic.lan"};
  AuditEventSpec spec;
  spec.type = {std::string(codes::kDicom), "110100", "Application Activity"};
  spec.agents = {gateway_agent(source)};
  auto event = build_audit_event(source, spec, 0);
  CHECK(event.at("agent").as_array()[0].at("network").at("type").as_string() == "1");
}

TEST_CASE("patients named in a response: references, fullUrls, JSON and XML, distinct") {
  auto m = patients_mentioned(
      R"({"entry":[{"fullUrl":"http://gw/fhir/Patient/p1","resource":{"resourceType":"Patient","id":"p1"}},
          {"resource":{"subject":{"reference":"Patient/p2"},"performer":[{"reference":"Patient/p1"}]}}],
          "link":[{"url":"http://gw/fhir/Patient/$everything"},{"url":"http://gw/fhir/Patient?name=x"}]})",
      10);
  REQUIRE(m.references.size() == 2);
  CHECK(m.references[0] == "Patient/p1");
  CHECK(m.references[1] == "Patient/p2");
  CHECK_FALSE(m.truncated);

  auto xml = patients_mentioned(R"(<subject><reference value="Patient/x-9"/></subject>)", 10);
  REQUIRE(xml.references.size() == 1);
  CHECK(xml.references[0] == "Patient/x-9");

  CHECK(patients_mentioned(R"({"reference":"RelatedPatient/1"})", 10).references.empty());
  auto capped = patients_mentioned(R"("Patient/1" "Patient/2" "Patient/3")", 2);
  CHECK(capped.references.size() == 2);
  CHECK(capped.truncated);
}

TEST_CASE("outcome codes of HTTP statuses") {
  CHECK(outcome_of_status(200) == 0);
  CHECK(outcome_of_status(304) == 0);
  CHECK(outcome_of_status(403) == 4);
  CHECK(outcome_of_status(503) == 8);
}

TEST_CASE("the AuditEvent text is written in FHIR's member order, escaped, compact") {
  AuditSource source{"gw", ""};
  AuditEventSpec spec;
  spec.type = {"http://s", "t", ""};
  spec.action = 'E';
  AuditAgent agent;
  agent.who_identifier = "a\"b\\c\n";
  agent.who_display = "Dr. O";
  agent.requestor = true;
  spec.agents = {agent};
  AuditEntity entity = patient_identifier_entity("urn:oid:1", "7");
  entity.details = {{"MSH-10", "M1"}};
  spec.entities = {entity};
  const std::string text = audit_event_json(source, spec, 0);
  CHECK(text ==
        R"({"resourceType":"AuditEvent","type":{"system":"http://s","code":"t"},"action":"E",)"
        R"("recorded":"1970-01-01T00:00:00.000Z","outcome":"0","agent":[{"who":{"identifier":)"
        R"({"value":"a\"b\\c\n"},"display":"Dr. O"},"requestor":true}],"source":{"site":"gw",)"
        R"("observer":{"identifier":{"value":"gw"},"display":"gw"},"type":[{"system":)"
        R"("http://terminology.hl7.org/CodeSystem/security-source-type","code":"4","display":)"
        R"("Application Server"}]},"entity":[{"what":{"identifier":{"value":"7","system":)"
        R"("urn:oid:1"}},"type":{"system":"http://terminology.hl7.org/CodeSystem/)"
        R"(audit-entity-type","code":"1","display":"Person"},"role":{"system":)"
        R"("http://terminology.hl7.org/CodeSystem/object-role","code":"1","display":"Patient"},)"
        R"("detail":[{"type":"MSH-10","valueBase64Binary":"TTE="}]}]})");
  // The JSON tree is the same document.
  CHECK(fhir::serialize_json(build_audit_event(source, spec, 0)) == text);
}
