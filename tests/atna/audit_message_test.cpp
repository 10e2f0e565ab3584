#include "protocols/atna/audit_message.hpp"

#include <doctest/doctest.h>

#include <string>

#include "tests/atna/audit_samples.hpp"

using namespace cg;
using namespace cg::atna;
using cg::atna::testing::failure_of;
using cg::atna::testing::ipf_audit;
using cg::atna::testing::ipf_audit_files;
using cg::atna::testing::kIpfAudits;

namespace {

// A small DICOM audit message; `outcome`, `participant` and `objects` vary per test.
std::string dicom_message(
    const std::string& outcome = "0",
    const std::string& participant = R"(<ActiveParticipant UserID="emr" UserIsRequestor="true"/>)",
    const std::string& objects = {}) {
  return R"(<AuditMessage><EventIdentification EventActionCode="R" )"
         R"(EventDateTime="2026-01-21T10:30:15Z" EventOutcomeIndicator=")" +
         outcome +
         R"("><EventID csd-code="110110" codeSystemName="DCM" originalText="Patient Record"/>)"
         R"(</EventIdentification>)" +
         participant + R"(<AuditSourceIdentification AuditSourceID="gateway"/>)" + objects +
         "</AuditMessage>";
}

// The older RFC 3881 spelling: code/displayName, the sensitivity as an element, a requestor
// flag left to its default and two audit sources.
const std::string kRfc3881 = R"(<?xml version="1.0"?>
<AuditMessage>
  <EventIdentification EventActionCode="E" EventDateTime="2009-06-01T08:00:00.000-05:00"
      EventOutcomeIndicator="4">
    <EventID code="110112" codeSystemName="DCM" displayName="Query"/>
    <EventTypeCode code="ITI-9" codeSystemName="IHE Transactions" displayName="PIX Query"/>
  </EventIdentification>
  <ActiveParticipant UserID="pix-consumer" NetworkAccessPointID="ward-pc"
      NetworkAccessPointTypeCode="1">
    <RoleIDCode code="110153" codeSystemName="DCM" displayName="Source"/>
  </ActiveParticipant>
  <AuditSourceIdentification AuditEnterpriseSiteID="clinic" AuditSourceID="pix-manager">
    <AuditSourceTypeCode code="4"/>
  </AuditSourceIdentification>
  <AuditSourceIdentification AuditSourceID="second-source"/>
  <ParticipantObjectIdentification ParticipantObjectID="p-17^^^&amp;1.2.3.4&amp;ISO"
      ParticipantObjectTypeCode="1" ParticipantObjectTypeCodeRole="1">
    <ParticipantObjectIDTypeCode code="2" codeSystemName="RFC-3881" displayName="Patient Number"/>
    <ParticipantObjectSensitivity>R</ParticipantObjectSensitivity>
  </ParticipantObjectIdentification>
</AuditMessage>)";

}  // namespace

TEST_CASE("every IPF audit sample parses as a DICOM audit message") {
  const auto files = ipf_audit_files();
  if (files.empty()) {
    MESSAGE("skipped: " << kIpfAudits.string() << " is absent");
    return;
  }
  for (const auto& file : files) {
    CAPTURE(file.filename().string());
    auto message = parse_audit_message(cg::atna::testing::read_bytes(file));
    REQUIRE_MESSAGE(message.ok(), failure_of(message));
    CHECK(message->format == AuditFormat::kDicom);
    CHECK_FALSE(message->event_id.code.empty());
    CHECK_FALSE(message->participants.empty());
    CHECK_FALSE(message->source.source_id.empty());
  }
}

TEST_CASE("pixfeed.xml: the ITI-8 feed's event, participants, source and patient") {
  const std::string xml = ipf_audit("pixfeed.xml");
  if (xml.empty()) {
    MESSAGE("skipped: " << kIpfAudits.string() << " is absent");
    return;
  }
  auto m = parse_audit_message(xml);
  REQUIRE(m.ok());
  CHECK(m->event_id.code == "110110");
  CHECK(m->event_id.code_system_name == "DCM");
  CHECK(m->event_id.display == "Patient Record");
  CHECK(m->event_action_code == "C");
  CHECK(m->event_date_time == "2020-03-19T12:24:34.434Z");
  CHECK(m->event_outcome_indicator == "0");
  REQUIRE(m->event_type_codes.size() == 1);
  CHECK(m->event_type_codes[0].code == "ITI-8");
  CHECK(m->event_type_codes[0].code_system_name == "IHE Transactions");

  REQUIRE(m->participants.size() == 2);
  CHECK(m->participants[0].user_id == "PKL|SAP-ISH");
  CHECK(m->participants[0].user_is_requestor);
  CHECK(m->participants[0].network_access_point_id == "127.0.0.1");
  CHECK(m->participants[0].network_access_point_type_code == "2");
  REQUIRE(m->participants[0].role_id_codes.size() == 1);
  CHECK(m->participants[0].role_id_codes[0].code == "110153");
  CHECK(m->participants[1].alternative_user_id == "18996");
  CHECK_FALSE(m->participants[1].user_is_requestor);

  CHECK(m->source.enterprise_site_id == "MPI");
  CHECK(m->source.source_id == "MPI");
  REQUIRE(m->source.type_codes.size() == 1);
  CHECK(m->source.type_codes[0].code == "9");

  REQUIRE(m->objects.size() == 1);
  const ParticipantObject& patient = m->objects[0];
  CHECK(patient.id == "7627199^^^HZLN&2.16.840.1.113883.3.37.4.1.1.2.411.1&ISO");
  CHECK(patient.type_code == "1");
  CHECK(patient.type_code_role == "1");
  REQUIRE(patient.id_type_code.has_value());
  CHECK(patient.id_type_code->code == "2");
  REQUIRE(patient.details.size() == 1);
  CHECK(patient.details[0].type == "MSH-10");
  CHECK(patient.details[0].value == "MTIzNDU2");
}

TEST_CASE("pdq.xml: the query object keeps its base64 query as written") {
  const std::string xml = ipf_audit("pdq.xml");
  if (xml.empty()) {
    MESSAGE("skipped: " << kIpfAudits.string() << " is absent");
    return;
  }
  auto m = parse_audit_message(xml);
  REQUIRE(m.ok());
  REQUIRE(m->objects.size() == 5);
  CHECK(m->objects[0].type_code_role == "24");
  CHECK(m->objects[0].query.starts_with("TVNIfF5+XCZ8"));
  CHECK(m->objects[0].query.ends_with("DQ=="));
}

TEST_CASE("RFC 3881 messages: code/displayName, sensitivity element, default requestor") {
  auto m = parse_audit_message(kRfc3881);
  REQUIRE_MESSAGE(m.ok(), failure_of(m));
  CHECK(m->format == AuditFormat::kRfc3881);
  CHECK(m->event_id.code == "110112");
  CHECK(m->event_id.display == "Query");
  CHECK(m->event_outcome_indicator == "4");
  REQUIRE(m->event_type_codes.size() == 1);
  CHECK(m->event_type_codes[0].display == "PIX Query");
  REQUIRE(m->participants.size() == 1);
  CHECK(m->participants[0].user_is_requestor);  // the RFC 3881 schema's default
  CHECK(m->participants[0].role_id_codes[0].display == "Source");
  CHECK(m->source.source_id == "pix-manager");  // the first of the two sources
  REQUIRE(m->source.type_codes.size() == 1);
  CHECK(m->source.type_codes[0].code == "4");
  REQUIRE(m->objects.size() == 1);
  CHECK(m->objects[0].sensitivity == "R");
  CHECK(m->objects[0].id_type_code->display == "Patient Number");
}

TEST_CASE("a UTF-8 BOM, an XML declaration and leading whitespace are tolerated") {
  auto m = parse_audit_message("\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" +
                               dicom_message());
  REQUIRE_MESSAGE(m.ok(), failure_of(m));
  CHECK(m->event_id.code == "110110");
  CHECK(parse_audit_message("\n  " + dicom_message()).ok());
}

TEST_CASE("prefixed element names are read by their local name") {
  const std::string xml =
      R"(<a:AuditMessage xmlns:a="urn:example"><a:EventIdentification )"
      R"(EventDateTime="2026-01-21T10:30:15Z" EventOutcomeIndicator="0"><a:EventID )"
      R"(csd-code="110100" codeSystemName="DCM" originalText="Application Activity"/>)"
      R"(</a:EventIdentification><a:ActiveParticipant UserID="x" UserIsRequestor="false"/>)"
      R"(<a:AuditSourceIdentification AuditSourceID="s"/></a:AuditMessage>)";
  auto m = parse_audit_message(xml);
  REQUIRE_MESSAGE(m.ok(), failure_of(m));
  CHECK(m->event_id.code == "110100");
  CHECK(m->participants.size() == 1);
}

TEST_CASE("token attributes are whitespace-normalised") {
  auto m = parse_audit_message(dicom_message(
      " 8 ",
      R"(<ActiveParticipant UserID=" kept as is " UserIsRequestor=" true ">)"
      R"(<RoleIDCode csd-code="  110153 " codeSystemName="DCM" originalText="Source   Role"/>)"
      "</ActiveParticipant>"));
  REQUIRE_MESSAGE(m.ok(), failure_of(m));
  CHECK(m->event_outcome_indicator == "8");
  CHECK(m->participants[0].user_id == " kept as is ");
  CHECK(m->participants[0].role_id_codes[0].code == "110153");
  CHECK(m->participants[0].role_id_codes[0].display == "Source Role");
}

TEST_CASE("malformed XML is refused with kInvalid and the byte offset") {
  auto m = parse_audit_message("<AuditMessage><EventIdentification>");
  REQUIRE_FALSE(m.ok());
  CHECK(m.error().kind == ErrorKind::kInvalid);
  CHECK(m.error().message.find("malformed XML at byte") != std::string::npos);
  CHECK_FALSE(parse_audit_message("").ok());
  CHECK_FALSE(parse_audit_message("not xml at all").ok());
}

TEST_CASE("bytes that are not UTF-8 are refused") {
  for (const std::string bad :
       {"\x92\x88", "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xE2\x82"}) {
    auto m = parse_audit_message(dicom_message(
        "0", R"(<ActiveParticipant UserID="a)" + bad + R"(" UserIsRequestor="true"/>)"));
    REQUIRE_FALSE(m.ok());
    CHECK(m.error().message.starts_with("not UTF-8 at byte"));
  }
  CHECK(parse_audit_message(dicom_message("0",
                                          "<ActiveParticipant UserID=\"Wanjir\xC5\xA9 \xE2\x82\xAC "
                                          "\xF0\x9F\x8F\xA5\" UserIsRequestor=\"true\"/>"))
            .ok());
}

TEST_CASE("a DOCTYPE is refused") {
  auto m = parse_audit_message("<!DOCTYPE AuditMessage [<!ENTITY x \"y\">]>" + dicom_message());
  REQUIRE_FALSE(m.ok());
  CHECK(m.error().message.find("DOCTYPE") != std::string::npos);
}

TEST_CASE("another root element is refused") {
  auto m = parse_audit_message("<Patient xmlns=\"http://hl7.org/fhir\"/>");
  REQUIRE_FALSE(m.ok());
  CHECK(m.error().message.find("AuditMessage") != std::string::npos);
}

TEST_CASE("missing required parts are named in the error location") {
  auto no_time = parse_audit_message(
      R"(<AuditMessage><EventIdentification EventOutcomeIndicator="0"><EventID csd-code="1" )"
      R"(codeSystemName="DCM" originalText="x"/></EventIdentification></AuditMessage>)");
  REQUIRE_FALSE(no_time.ok());
  CHECK(no_time.error().location == "AuditMessage/EventIdentification/@EventDateTime");

  auto no_event = parse_audit_message("<AuditMessage/>");
  REQUIRE_FALSE(no_event.ok());
  CHECK(no_event.error().location == "AuditMessage/EventIdentification");

  auto no_participant = parse_audit_message(dicom_message("0", ""));
  REQUIRE_FALSE(no_participant.ok());
  CHECK(no_participant.error().location == "AuditMessage/ActiveParticipant");

  auto no_requestor =
      parse_audit_message(dicom_message("0", R"(<ActiveParticipant UserID="emr"/>)"));
  REQUIRE_FALSE(no_requestor.ok());
  CHECK(no_requestor.error().location == "AuditMessage/ActiveParticipant/@UserIsRequestor");
}

TEST_CASE("values outside the schemas' enumerations are refused") {
  auto outcome = parse_audit_message(dicom_message("3"));
  REQUIRE_FALSE(outcome.ok());
  CHECK(outcome.error().location == "AuditMessage/EventIdentification/@EventOutcomeIndicator");

  auto network = parse_audit_message(dicom_message(
      "0",
      R"(<ActiveParticipant UserID="a" UserIsRequestor="true" NetworkAccessPointTypeCode="9"/>)"));
  CHECK_FALSE(network.ok());

  auto role = parse_audit_message(dicom_message(
      "0", R"(<ActiveParticipant UserID="a" UserIsRequestor="true"/>)",
      R"(<ParticipantObjectIdentification ParticipantObjectID="x" ParticipantObjectTypeCodeRole="27"/>)"));
  REQUIRE_FALSE(role.ok());
  CHECK(role.error().location ==
        "AuditMessage/ParticipantObjectIdentification/@ParticipantObjectTypeCodeRole");

  auto detail = parse_audit_message(dicom_message(
      "0", R"(<ActiveParticipant UserID="a" UserIsRequestor="true"/>)",
      R"(<ParticipantObjectIdentification ParticipantObjectID="x">)"
      R"(<ParticipantObjectDetail value="eA=="/></ParticipantObjectIdentification>)"));
  CHECK_FALSE(detail.ok());
}

TEST_CASE("errors never repeat the values of the message") {
  auto m = parse_audit_message(
      dicom_message("0", R"(<ActiveParticipant UserID="a" UserIsRequestor="true"/>)",
                    R"(<ParticipantObjectIdentification ParticipantObjectID="SECRET-MRN-991" )"
                    R"(ParticipantObjectTypeCode="77"/>)"));
  REQUIRE_FALSE(m.ok());
  CHECK(m.error().message.find("SECRET") == std::string::npos);
  CHECK(m.error().location.find("SECRET") == std::string::npos);
}

TEST_CASE("input over the size limit is refused before parsing") {
  AuditLimits limits;
  limits.max_bytes = 64;
  auto m = parse_audit_message(dicom_message(), limits);
  REQUIRE_FALSE(m.ok());
  CHECK(m.error().kind == ErrorKind::kTooLarge);

  std::string huge = dicom_message();
  huge.insert(huge.size() - std::string_view("</AuditMessage>").size(),
              std::string(2 * 1024 * 1024, ' '));
  auto big = parse_audit_message(huge);
  REQUIRE_FALSE(big.ok());
  CHECK(big.error().kind == ErrorKind::kTooLarge);
}

TEST_CASE("too many participants or objects are refused") {
  std::string participants;
  for (int i = 0; i < 300; ++i)
    participants += R"(<ActiveParticipant UserID="u" UserIsRequestor="false"/>)";
  auto m = parse_audit_message(dicom_message("0", participants));
  REQUIRE_FALSE(m.ok());
  CHECK(m.error().kind == ErrorKind::kTooLarge);
}

TEST_CASE("deeply nested unknown content stays bounded") {
  // 100 000 levels inside an element the reader skips: pugixml's parser does not recurse
  // and the reader only looks three levels deep, so this neither overflows nor crawls.
  std::string nested;
  for (int i = 0; i < 100000; ++i) nested += "<x>";
  for (int i = 0; i < 100000; ++i) nested += "</x>";
  auto m = parse_audit_message(
      dicom_message("0", R"(<ActiveParticipant UserID="a" UserIsRequestor="true">)" + nested +
                             "</ActiveParticipant>"));
  REQUIRE_MESSAGE(m.ok(), failure_of(m));
  CHECK(m->participants.size() == 1);
}

TEST_CASE("detect_audit_format tells the dialects apart") {
  auto dicom = detect_audit_format(dicom_message());
  REQUIRE(dicom.ok());
  CHECK(*dicom == AuditFormat::kDicom);
  auto rfc = detect_audit_format(kRfc3881);
  REQUIRE(rfc.ok());
  CHECK(*rfc == AuditFormat::kRfc3881);
  CHECK_FALSE(detect_audit_format("<AuditMessage><EventIdentification><EventID/>"
                                  "</EventIdentification></AuditMessage>")
                  .ok());
}
