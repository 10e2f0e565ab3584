#include "protocols/atna/audit_event_map.hpp"

#include <doctest/doctest.h>

#include <boost/json/serialize.hpp>
#include <string>

#include "protocols/fhir/rest/resource_io.hpp"
#include "tests/atna/audit_samples.hpp"

namespace json = boost::json;
using namespace cg;
using namespace cg::atna;
using cg::atna::testing::failure_of;
using cg::atna::testing::ipf_audit;
using cg::atna::testing::ipf_audit_files;
using cg::atna::testing::kIpfAudits;

namespace {

// Parses and maps `xml`, and requires the AuditEvent to pass the FHIR layer's validator.
json::object audit_event_of(const std::string& xml) {
  auto message = parse_audit_message(xml);
  REQUIRE_MESSAGE(message.ok(), failure_of(message));
  auto event = map_audit_event(*message);
  REQUIRE_MESSAGE(event.ok(), failure_of(event));
  const Status valid = fhir::check_structure(*event);
  CHECK_MESSAGE(valid.ok(), failure_of(valid) << "\n" << json::serialize(*event));
  return std::move(*event);
}

const json::value& at(const json::value& v, std::string_view pointer) {
  return v.at_pointer(pointer);
}

std::string text_at(const json::value& v, std::string_view pointer) {
  std::error_code ec;
  const json::value* found = v.find_pointer(pointer, ec);
  if (!found || !found->is_string()) return "<absent>";
  return std::string(found->get_string());
}

// A DICOM message whose EventIdentification attributes and objects vary per test.
std::string dicom_message(const std::string& event_attributes, const std::string& objects = {},
                          const std::string& participant =
                              R"(<ActiveParticipant UserID="emr" UserIsRequestor="true"/>)") {
  return "<AuditMessage><EventIdentification " + event_attributes +
         R"(><EventID csd-code="110110" codeSystemName="DCM" originalText="Patient Record"/>)"
         R"(</EventIdentification>)" +
         participant + R"(<AuditSourceIdentification AuditSourceID="gateway"/>)" + objects +
         "</AuditMessage>";
}

const std::string kEvent =
    R"(EventActionCode="R" EventDateTime="2026-01-21T10:30:15Z" EventOutcomeIndicator="0")";

std::string object(const std::string& attributes, const std::string& content = {}) {
  return "<ParticipantObjectIdentification " + attributes + ">" + content +
         "</ParticipantObjectIdentification>";
}

#define SKIP_WITHOUT_CORPUS(xml)                                 \
  if ((xml).empty()) {                                           \
    MESSAGE("skipped: " << kIpfAudits.string() << " is absent"); \
    return;                                                      \
  }

}  // namespace

TEST_CASE("every IPF audit sample maps to an AuditEvent that passes check_structure") {
  const auto files = ipf_audit_files();
  if (files.empty()) {
    MESSAGE("skipped: " << kIpfAudits.string() << " is absent");
    return;
  }
  for (const auto& file : files) {
    CAPTURE(file.filename().string());
    const json::object event = audit_event_of(cg::atna::testing::read_bytes(file));
    CHECK(event.at("resourceType") == "AuditEvent");
    CHECK(event.contains("recorded"));
    CHECK(event.at("agent").as_array().size() >= 1);
  }
}

TEST_CASE("pixfeed.xml: ITI-8 with the patient's CX as identifier value and OID system") {
  const std::string xml = ipf_audit("pixfeed.xml");
  SKIP_WITHOUT_CORPUS(xml);
  const json::value event = audit_event_of(xml);
  CHECK(text_at(event, "/type/system") == "http://dicom.nema.org/resources/ontology/DCM");
  CHECK(text_at(event, "/type/code") == "110110");
  CHECK(text_at(event, "/type/display") == "Patient Record");
  CHECK(text_at(event, "/subtype/0/system") == "urn:ihe:event-type-code");
  CHECK(text_at(event, "/subtype/0/code") == "ITI-8");
  CHECK(text_at(event, "/subtype/0/display") == "Patient Identity Feed");
  CHECK(text_at(event, "/action") == "C");
  CHECK(text_at(event, "/recorded") == "2020-03-19T12:24:34.434Z");
  CHECK(text_at(event, "/outcome") == "0");

  CHECK(text_at(event, "/agent/0/who/identifier/value") == "PKL|SAP-ISH");
  CHECK(at(event, "/agent/0/requestor") == true);
  CHECK(text_at(event, "/agent/0/type/coding/0/code") == "110153");
  CHECK(text_at(event, "/agent/0/network/address") == "127.0.0.1");
  CHECK(text_at(event, "/agent/0/network/type") == "2");
  CHECK(text_at(event, "/agent/1/altId") == "18996");
  CHECK(at(event, "/agent/1/requestor") == false);

  CHECK(text_at(event, "/source/site") == "MPI");
  CHECK(text_at(event, "/source/observer/identifier/value") == "MPI");
  CHECK(text_at(event, "/source/observer/display") == "MPI");
  CHECK(text_at(event, "/source/type/0/system") ==
        "http://terminology.hl7.org/CodeSystem/security-source-type");
  CHECK(text_at(event, "/source/type/0/code") == "9");

  CHECK(text_at(event, "/entity/0/what/identifier/value") == "7627199");
  CHECK(text_at(event, "/entity/0/what/identifier/system") ==
        "urn:oid:2.16.840.1.113883.3.37.4.1.1.2.411.1");
  CHECK(text_at(event, "/entity/0/what/identifier/type/coding/0/code") == "2");
  CHECK(text_at(event, "/entity/0/type/system") ==
        "http://terminology.hl7.org/CodeSystem/audit-entity-type");
  CHECK(text_at(event, "/entity/0/type/code") == "1");
  CHECK(text_at(event, "/entity/0/role/system") ==
        "http://terminology.hl7.org/CodeSystem/object-role");
  CHECK(text_at(event, "/entity/0/role/code") == "1");
  CHECK(text_at(event, "/entity/0/detail/0/type") == "MSH-10");
  CHECK(text_at(event, "/entity/0/detail/0/valueBase64Binary") == "MTIzNDU2");
}

TEST_CASE("start.xml: application start, an agent without UserID, no entities") {
  const std::string xml = ipf_audit("start.xml");
  SKIP_WITHOUT_CORPUS(xml);
  const json::value event = audit_event_of(xml);
  CHECK(text_at(event, "/type/code") == "110100");
  CHECK(text_at(event, "/subtype/0/system") == "http://dicom.nema.org/resources/ontology/DCM");
  CHECK(text_at(event, "/subtype/0/code") == "110120");
  CHECK(text_at(event, "/action") == "E");
  CHECK_FALSE(event.at("agent").at(0).as_object().contains("who"));  // UserID=""
  CHECK(text_at(event, "/agent/1/who/identifier/value") == "WDF-LAP-1237$");
  CHECK(text_at(event, "/source/observer/identifier/value") == "app-connect");
  CHECK_FALSE(event.as_object().contains("entity"));
}

TEST_CASE("pdq.xml: the base64 query and the four patients with their PI type") {
  const std::string xml = ipf_audit("pdq.xml");
  SKIP_WITHOUT_CORPUS(xml);
  const json::value event = audit_event_of(xml);
  CHECK(text_at(event, "/subtype/0/code") == "ITI-21");
  const json::array& entities = event.at("entity").as_array();
  REQUIRE(entities.size() == 5);
  CHECK(text_at(event, "/entity/0/role/code") == "24");
  CHECK(text_at(event, "/entity/0/what/identifier/value") == "324406609");
  CHECK(text_at(event, "/entity/0/what/identifier/type/coding/0/system") ==
        "urn:ihe:event-type-code");
  const std::string query = text_at(event, "/entity/0/query");
  CHECK(query.starts_with("TVNIfF5+XCZ8TUVTQV9QRF9DT05TVU1FUnxNRVNBX0RFUEFSVE1FTlR8"));
  CHECK(query.ends_with("DQ=="));
  CHECK(text_at(event, "/entity/1/what/identifier/value") == "24");
  CHECK(text_at(event, "/entity/1/what/identifier/system") ==
        "urn:oid:2.16.840.1.113883.3.37.4.1.1.2.1.1");
  CHECK(text_at(event, "/entity/1/what/identifier/type/coding/1/system") ==
        "http://terminology.hl7.org/CodeSystem/v2-0203");
  CHECK(text_at(event, "/entity/1/what/identifier/type/coding/1/code") == "PI");
}

TEST_CASE("xpidsource.xml: the lifecycle of the linked and subsumed patients") {
  const std::string xml = ipf_audit("xpidsource.xml");
  SKIP_WITHOUT_CORPUS(xml);
  const json::value event = audit_event_of(xml);
  CHECK(text_at(event, "/entity/0/lifecycle/system") ==
        "http://terminology.hl7.org/CodeSystem/dicom-audit-lifecycle");
  CHECK(text_at(event, "/entity/0/lifecycle/code") == "1");
  CHECK(text_at(event, "/entity/1/lifecycle/code") == "14");
}

TEST_CASE("outcome indicators 0, 4, 8 and 12 keep their codes") {
  for (const std::string outcome : {"0", "4", "8", "12"}) {
    CAPTURE(outcome);
    const json::value event = audit_event_of(dicom_message(
        R"(EventDateTime="2026-01-21T10:30:15Z" EventOutcomeIndicator=")" + outcome + "\""));
    CHECK(text_at(event, "/outcome") == outcome);
    CHECK_FALSE(event.as_object().contains("action"));
  }
}

TEST_CASE("EventDateTime without a zone is read as UTC, as RFC 3881 defines it") {
  const json::value event = audit_event_of(
      dicom_message(R"(EventDateTime="2026-01-21T10:30:15.25" EventOutcomeIndicator="0")"));
  CHECK(text_at(event, "/recorded") == "2026-01-21T10:30:15.25Z");
  const json::value zoned = audit_event_of(
      dicom_message(R"(EventDateTime="2026-01-21T10:30:15+01:00" EventOutcomeIndicator="0")"));
  CHECK(text_at(zoned, "/recorded") == "2026-01-21T10:30:15+01:00");
}

TEST_CASE("an EventDateTime that is no date-time is refused by the mapper") {
  for (const std::string when : {"yesterday", "2026-01-21", "2026-13-01T00:00:00Z"}) {
    CAPTURE(when);
    auto message = parse_audit_message(
        dicom_message("EventDateTime=\"" + when + R"(" EventOutcomeIndicator="0")"));
    REQUIRE(message.ok());
    auto event = map_audit_event(*message);
    REQUIRE_FALSE(event.ok());
    CHECK(event.error().kind == ErrorKind::kInvalid);
    CHECK(event.error().location == "AuditMessage/EventIdentification/@EventDateTime");
  }
}

TEST_CASE("RFC 3881 message maps like its DICOM equivalent") {
  const std::string xml = R"(<AuditMessage>
    <EventIdentification EventActionCode="E" EventDateTime="2009-06-01T08:00:00-05:00"
        EventOutcomeIndicator="8">
      <EventID code="110112" codeSystemName="DCM" displayName="Query"/>
      <EventTypeCode code="ITI-9" codeSystemName="IHE Transactions" displayName="PIX Query"/>
    </EventIdentification>
    <ActiveParticipant UserID="pix-consumer" UserName="Ward PC" NetworkAccessPointID="ward-pc"
        NetworkAccessPointTypeCode="1">
      <RoleIDCode code="110153" codeSystemName="DCM" displayName="Source"/>
      <RoleIDCode code="110150" codeSystemName="DCM" displayName="Application"/>
    </ActiveParticipant>
    <AuditSourceIdentification AuditSourceID="pix-manager"><AuditSourceTypeCode code="4"/>
    </AuditSourceIdentification>
    <ParticipantObjectIdentification ParticipantObjectID="p-17^^^&amp;1.2.3.4&amp;ISO"
        ParticipantObjectTypeCode="1" ParticipantObjectTypeCodeRole="1">
      <ParticipantObjectIDTypeCode code="2" codeSystemName="RFC-3881" displayName="Patient Number"/>
      <ParticipantObjectSensitivity>R</ParticipantObjectSensitivity>
    </ParticipantObjectIdentification>
  </AuditMessage>)";
  const json::value event = audit_event_of(xml);
  CHECK(text_at(event, "/type/system") == "http://dicom.nema.org/resources/ontology/DCM");
  CHECK(text_at(event, "/type/display") == "Query");
  CHECK(text_at(event, "/subtype/0/system") == "urn:ihe:event-type-code");
  CHECK(text_at(event, "/outcome") == "8");
  CHECK(at(event, "/agent/0/requestor") == true);
  CHECK(text_at(event, "/agent/0/name") == "Ward PC");
  CHECK(text_at(event, "/agent/0/type/coding/0/code") == "110153");
  CHECK(text_at(event, "/agent/0/role/0/coding/0/code") == "110150");
  CHECK(text_at(event, "/agent/0/network/type") == "1");
  CHECK(text_at(event, "/source/type/0/code") == "4");
  CHECK(text_at(event, "/source/type/0/display") == "Application Server");
  CHECK(text_at(event, "/entity/0/what/identifier/system") == "urn:oid:1.2.3.4");
  CHECK(text_at(event, "/entity/0/what/identifier/value") == "p-17");
  // "RFC-3881" has no FHIR code system: the code stays, without a system.
  CHECK(text_at(event, "/entity/0/what/identifier/type/coding/0/system") == "<absent>");
  CHECK(text_at(event, "/entity/0/what/identifier/type/coding/0/code") == "2");
  CHECK(text_at(event, "/entity/0/securityLabel/0/system") ==
        "http://terminology.hl7.org/CodeSystem/v3-Confidentiality");
  CHECK(text_at(event, "/entity/0/securityLabel/0/code") == "R");
}

TEST_CASE("patient ids: CX without an ISO OID and non-patients keep the ID as written") {
  const json::value event = audit_event_of(dicom_message(
      kEvent,
      object(R"(ParticipantObjectID="55^^^LOCAL" ParticipantObjectTypeCode="1" )"
             R"(ParticipantObjectTypeCodeRole="1")") +
          object(R"(ParticipantObjectID="9^^^&amp;1.2.3&amp;ISO" ParticipantObjectTypeCode="2" )"
                 R"(ParticipantObjectTypeCodeRole="3")") +
          object(R"(ParticipantObjectID="urn:oid:1.3.6.1.4.1.21367.13.20.3000|IHEBLUE-2340" )"
                 R"(ParticipantObjectTypeCode="1" ParticipantObjectTypeCodeRole="1")")));
  CHECK(text_at(event, "/entity/0/what/identifier/value") == "55^^^LOCAL");
  CHECK(text_at(event, "/entity/0/what/identifier/system") == "<absent>");
  CHECK(text_at(event, "/entity/1/what/identifier/value") == "9^^^&1.2.3&ISO");
  CHECK(text_at(event, "/entity/1/what/identifier/system") == "<absent>");
  // The FHIR token form PIXm actors write.
  CHECK(text_at(event, "/entity/2/what/identifier/system") ==
        "urn:oid:1.3.6.1.4.1.21367.13.20.3000");
  CHECK(text_at(event, "/entity/2/what/identifier/value") == "IHEBLUE-2340");
}

TEST_CASE("patient ids: a repeated CX gives its first repetition, with its own type") {
  const json::value event = audit_event_of(dicom_message(
      kEvent,
      object(R"(ParticipantObjectID="A-1^^^A&amp;1.2.3&amp;ISO^PI~B-2^^^B&amp;1.2.4&amp;ISO^MR" )"
             R"(ParticipantObjectTypeCode="1" ParticipantObjectTypeCodeRole="1")")));
  CHECK(text_at(event, "/entity/0/what/identifier/system") == "urn:oid:1.2.3");
  CHECK(text_at(event, "/entity/0/what/identifier/value") == "A-1");
  CHECK(text_at(event, "/entity/0/what/identifier/type/coding/0/code") == "PI");
}

TEST_CASE("patient ids: authority_system decides the system of every CX authority") {
  auto message = parse_audit_message(dicom_message(
      kEvent,
      object(R"(ParticipantObjectID="55^^^LOCAL" ParticipantObjectTypeCode="1" )"
             R"(ParticipantObjectTypeCodeRole="1")") +
          object(
              R"(ParticipantObjectID="7^^^HZLN&amp;1.2.3&amp;ISO" ParticipantObjectTypeCode="1" )"
              R"(ParticipantObjectTypeCodeRole="1")") +
          object(R"(ParticipantObjectID="8^^^NONE" ParticipantObjectTypeCode="1" )"
                 R"(ParticipantObjectTypeCodeRole="1")")));
  REQUIRE(message.ok());
  AuditMapOptions options;
  options.authority_system = [](std::string_view ns, std::string_view uid,
                                std::string_view type) -> std::string {
    if (ns == "NONE") return {};
    return "urn:test:" + std::string(ns) + ":" + std::string(uid) + ":" + std::string(type);
  };
  auto event = map_audit_event(*message, options);
  REQUIRE(event.ok());
  const json::value v = std::move(*event);
  CHECK(text_at(v, "/entity/0/what/identifier/system") == "urn:test:LOCAL::");
  CHECK(text_at(v, "/entity/0/what/identifier/value") == "55");
  CHECK(text_at(v, "/entity/1/what/identifier/system") == "urn:test:HZLN:1.2.3:ISO");
  CHECK(text_at(v, "/entity/1/what/identifier/value") == "7");
  CHECK(text_at(v, "/entity/2/what/identifier/system") == "<absent>");  // "" : kept as written
  CHECK(text_at(v, "/entity/2/what/identifier/value") == "8^^^NONE");
}

TEST_CASE("queries and details: base64 kept, plain text encoded or kept as a string") {
  const json::value event = audit_event_of(dicom_message(
      kEvent,
      object(R"(ParticipantObjectID="q" ParticipantObjectTypeCode="2" )"
             R"(ParticipantObjectTypeCodeRole="24")",
             "<ParticipantObjectQuery>\n  aGVs\n  bG8=\n</ParticipantObjectQuery>"
             R"(<ParticipantObjectDetail type="b64" value="aGk="/>)"
             R"(<ParticipantObjectDetail type="plain" value="not base64!"/>)"
             R"(<ParticipantObjectDetail type="empty" value=""/>)") +
          object(R"(ParticipantObjectID="q2")",
                 "<ParticipantObjectQuery>family=Doe&amp;given=J</ParticipantObjectQuery>")));
  CHECK(text_at(event, "/entity/0/query") == "aGVsbG8=");  // whitespace removed
  CHECK(text_at(event, "/entity/0/detail/0/valueBase64Binary") == "aGk=");
  CHECK(text_at(event, "/entity/0/detail/1/valueString") == "not base64!");
  CHECK(event.at("entity").at(0).at("detail").as_array().size() == 2);     // the empty one left out
  CHECK(text_at(event, "/entity/1/query") == "ZmFtaWx5PURvZSZnaXZlbj1K");  // "family=Doe&given=J"
}

TEST_CASE("a name and a query together: the query stays, the name becomes what.display") {
  const json::value event = audit_event_of(
      dicom_message(kEvent, object(R"(ParticipantObjectID="q")",
                                   "<ParticipantObjectName>Doe query</ParticipantObjectName>"
                                   "<ParticipantObjectQuery>eA==</ParticipantObjectQuery>") +
                                object(R"(ParticipantObjectID="n")",
                                       "<ParticipantObjectName>Report 7</ParticipantObjectName>")));
  CHECK(text_at(event, "/entity/0/query") == "eA==");
  CHECK(text_at(event, "/entity/0/what/display") == "Doe query");
  CHECK_FALSE(event.at("entity").at(0).as_object().contains("name"));
  CHECK(text_at(event, "/entity/1/name") == "Report 7");
}

TEST_CASE("object role codes beyond R4's object-role keep their code without a system") {
  const json::value event = audit_event_of(dicom_message(
      kEvent, object(R"(ParticipantObjectID="s" ParticipantObjectTypeCodeRole="25")")));
  CHECK(text_at(event, "/entity/0/role/code") == "25");
  CHECK(text_at(event, "/entity/0/role/system") == "<absent>");
}

TEST_CASE("purpose of use, media and code system OIDs") {
  const std::string xml =
      R"(<AuditMessage><EventIdentification EventDateTime="2026-01-21T10:30:15Z" )"
      R"(EventOutcomeIndicator="0"><EventID csd-code="110106" codeSystemName="DCM" )"
      R"(originalText="Export"/><PurposeOfUse csd-code="TREAT" )"
      R"(codeSystemName="2.16.840.1.113883.5.8" originalText="treatment"/>)"
      R"(</EventIdentification><ActiveParticipant UserID="media" UserIsRequestor="false">)"
      R"(<RoleIDCode csd-code="110154" codeSystemName="DCM" originalText="Destination Media"/>)"
      R"(<MediaIdentifier><MediaType csd-code="110033" codeSystemName="DCM" originalText="DVD"/>)"
      R"(</MediaIdentifier></ActiveParticipant><AuditSourceIdentification AuditSourceID="s">)"
      R"(<AuditSourceTypeCode csd-code="X1" codeSystemName="urn:example:types" )"
      R"(originalText="x"/></AuditSourceIdentification></AuditMessage>)";
  const json::value event = audit_event_of(xml);
  CHECK(text_at(event, "/purposeOfEvent/0/coding/0/system") ==
        "http://terminology.hl7.org/CodeSystem/v3-ActReason");
  CHECK(text_at(event, "/purposeOfEvent/0/coding/0/code") == "TREAT");
  CHECK(text_at(event, "/agent/0/media/code") == "110033");
  CHECK(text_at(event, "/agent/0/media/system") == "http://dicom.nema.org/resources/ontology/DCM");
  CHECK(text_at(event, "/source/type/0/system") == "urn:example:types");
}

TEST_CASE("text that a FHIR string cannot hold is refused, not dropped") {
  // &#1; is a character reference pugixml decodes; FHIR strings exclude control characters.
  auto message = parse_audit_message(dicom_message(
      kEvent, {}, R"(<ActiveParticipant UserID="emr" UserName="a&#1;b" UserIsRequestor="true"/>)"));
  if (!message.ok()) return;  // refusing it already at parse time is fine too
  auto event = map_audit_event(*message);
  REQUIRE_FALSE(event.ok());
  CHECK(event.error().kind == ErrorKind::kInvalid);
  CHECK(event.error().location == "AuditMessage/ActiveParticipant[0]/@UserName");
}

TEST_CASE("a participant object with nothing to record is refused") {
  // Found by audit_xml_fuzz: misspelt attributes left an empty entity, which FHIR forbids.
  auto message = parse_audit_message(dicom_message(kEvent, object(R"(ParticipantObjektID="x")")));
  REQUIRE(message.ok());
  auto event = map_audit_event(*message);
  REQUIRE_FALSE(event.ok());
  CHECK(event.error().location == "AuditMessage/ParticipantObjectIdentification[0]");
}
