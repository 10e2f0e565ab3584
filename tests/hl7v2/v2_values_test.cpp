#include "protocols/hl7v2/v2_values.hpp"

#include <doctest/doctest.h>

#include <boost/json/serialize.hpp>
#include <string>

#include "protocols/hl7v2/parser.hpp"

namespace json = boost::json;
using namespace cg::hl7v2;

namespace {

// The first segment after the MSH of a message made of `segment`.
Message message_with(const std::string& segment) {
  auto parsed = parse("MSH|^~\\&|A|B|C|D|20260121||ORU^R01|1|P|2.5.1\r" + segment + "\r");
  REQUIRE(parsed.ok());
  return std::move(parsed).value();
}

}  // namespace

TEST_CASE("coding system names follow table 0396; local systems get a stable URN") {
  CHECK(code_system_uri("LN") == "http://loinc.org");
  CHECK(code_system_uri("ln") == "http://loinc.org");
  CHECK(code_system_uri("SCT") == "http://snomed.info/sct");
  CHECK(code_system_uri("UCUM") == "http://unitsofmeasure.org");
  CHECK(code_system_uri("HL70078") == "http://terminology.hl7.org/CodeSystem/v2-0078");
  CHECK(code_system_uri("HL7 78") == "http://terminology.hl7.org/CodeSystem/v2-0078");
  CHECK(code_system_uri("MDC") == "urn:iso:std:iso:11073:10101");
  CHECK(code_system_uri("99Lab") == "urn:cg:codesystem:99Lab");
  CHECK(code_system_uri("MY LAB") == "urn:cg:codesystem:MY%20LAB");
  CHECK(code_system_uri("HL7ABC") == "urn:cg:codesystem:HL7ABC");
  CHECK(code_system_uri("") == "");
}

TEST_CASE("a CWE becomes a CodeableConcept with a coding per triplet") {
  Message m = message_with(
      "OBX|1|CWE|2951-2^Sodium^LN^230-007^Na^99Lab^2.73^^Serum sodium|||||||||||||||||||||");
  auto concept_value = codeable_concept(*m.find("OBX"), 3);
  REQUIRE(concept_value);
  CHECK(
      json::serialize(*concept_value) ==
      R"({"coding":[{"system":"http://loinc.org","version":"2.73","code":"2951-2","display":"Sodium"},)"
      R"({"system":"urn:cg:codesystem:99Lab","code":"230-007","display":"Na"}],"text":"Serum sodium"})");

  Message oid = message_with("OBX|1|CWE|X1^Thing^^^^^^^^^^^^1.2.3");
  CHECK(json::serialize(*codeable_concept(*oid.find("OBX"), 3)) ==
        R"({"coding":[{"system":"urn:oid:1.2.3","code":"X1","display":"Thing"}],"text":"Thing"})");

  Message text_only = message_with("OBX|1|CWE|^Free text");
  CHECK(json::serialize(*codeable_concept(*text_only.find("OBX"), 3)) == R"({"text":"Free text"})");
  Message empty = message_with("OBX|1|CWE|\"\"");
  CHECK_FALSE(codeable_concept(*empty.find("OBX"), 3));
}

TEST_CASE("entity identifiers and practitioners use the assigning authority rules") {
  IdentifierSystems systems;
  systems.by_namespace.emplace("LAB", "http://lab.example/orders");
  Message m = message_with("OBR|1|P-1^EMR^1.2.3^ISO|F-1^LAB" + std::string(13, '|') +
                           "77^Doe^Jane^^^Dr^^^LAB");
  const Segment& obr = *m.find("OBR");
  CHECK(*entity_identifier(obr, 2, systems) == IdentifierKey{"urn:oid:1.2.3", "P-1"});
  CHECK(*entity_identifier(obr, 3, systems) == IdentifierKey{"http://lab.example/orders", "F-1"});
  CHECK_FALSE(entity_identifier(obr, 4, systems));
  auto doctor = practitioner_reference(obr, 16, 1, systems);
  REQUIRE(doctor);
  CHECK(
      json::serialize(*doctor) ==
      R"({"type":"Practitioner","identifier":{"system":"http://lab.example/orders","value":"77"},"display":"Dr Jane Doe"})");
  CHECK_FALSE(practitioner_reference(obr, 17, 1, systems));
}

TEST_CASE("plain text: formatting escapes read as text, trimmed, control characters dropped") {
  Message m = message_with("NTE|1||  one\\.br\\two \\X07\\ ");
  CHECK(plain_text(*m.find("NTE"), 3) == "one\ntwo");
  CHECK(fhir_code("  a   b ") == "a b");
}
