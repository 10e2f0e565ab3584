#include "protocols/atna/audit_payload.hpp"

#include <doctest/doctest.h>

#include <string>

#include "tests/atna/audit_samples.hpp"

using namespace cg::atna;

namespace {

const std::string kDicom =
    R"(<AuditMessage><EventIdentification EventDateTime="2026-01-21T10:30:15Z" )"
    R"(EventOutcomeIndicator="0"><EventID csd-code="110100" codeSystemName="DCM" )"
    R"(originalText="Application Activity"/></EventIdentification></AuditMessage>)";
const std::string kRfc3881 =
    R"(<AuditMessage><EventIdentification EventDateTime="2026-01-21T10:30:15Z" )"
    R"(EventOutcomeIndicator="0"><EventID code="110100" codeSystemName="DCM" )"
    R"(displayName="Application Activity"/></EventIdentification></AuditMessage>)";

}  // namespace

TEST_CASE("DICOM and RFC 3881 audit XML are told apart by their EventID") {
  CHECK(classify_payload(kDicom).kind == AuditPayloadKind::kDicomXml);
  CHECK(classify_payload(kRfc3881).kind == AuditPayloadKind::kRfc3881Xml);
  CHECK(classify_payload("\xEF\xBB\xBF<?xml version=\"1.0\"?>\r\n" + kDicom).kind ==
        AuditPayloadKind::kDicomXml);
}

TEST_CASE("every IPF sample is DICOM XML") {
  const auto files = testing::ipf_audit_files();
  if (files.empty()) {
    MESSAGE("skipped: " << testing::kIpfAudits.string() << " is absent");
    return;
  }
  for (const auto& file : files) {
    CAPTURE(file.filename().string());
    CHECK(classify_payload(testing::read_bytes(file)).kind == AuditPayloadKind::kDicomXml);
  }
}

TEST_CASE("a FHIR AuditEvent in JSON is recognised; other JSON is not") {
  CHECK(classify_payload(R"( {"resourceType":"AuditEvent","recorded":"2026-01-21T10:30:15Z"})")
            .kind == AuditPayloadKind::kFhirJson);
  const auto patient = classify_payload(R"({"resourceType":"Patient"})");
  CHECK(patient.kind == AuditPayloadKind::kUnknown);
  CHECK(patient.reason == "JSON that is not a FHIR AuditEvent");
  const auto broken = classify_payload(R"({"resourceType":"AuditEvent",)");
  CHECK(broken.kind == AuditPayloadKind::kUnknown);
  CHECK(broken.reason.starts_with("JSON that does not parse"));
  CHECK(classify_payload(R"({"resourceType":7})").kind == AuditPayloadKind::kUnknown);
}

TEST_CASE("anything else is unknown, with a reason") {
  for (const std::string payload :
       {"", "   \n", "plain syslog text", "[1,2]", "<Patient/>", "<AuditMessage>",
        "<AuditMessage><EventIdentification/></AuditMessage>"}) {
    CAPTURE(payload);
    const auto c = classify_payload(payload);
    CHECK(c.kind == AuditPayloadKind::kUnknown);
    CHECK_FALSE(c.reason.empty());
  }
}

TEST_CASE("payloads over the limit are not parsed") {
  AuditLimits limits;
  limits.max_bytes = 16;
  const auto c = classify_payload(kDicom, limits);
  CHECK(c.kind == AuditPayloadKind::kUnknown);
  CHECK(c.reason == "payload over the size limit");
}

TEST_CASE("kind names for logs and metrics") {
  CHECK(payload_kind_name(AuditPayloadKind::kDicomXml) == "DICOM XML");
  CHECK(payload_kind_name(AuditPayloadKind::kRfc3881Xml) == "RFC 3881 XML");
  CHECK(payload_kind_name(AuditPayloadKind::kFhirJson) == "FHIR JSON");
  CHECK(payload_kind_name(AuditPayloadKind::kUnknown) == "unknown");
}
