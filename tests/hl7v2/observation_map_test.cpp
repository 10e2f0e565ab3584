#include "protocols/hl7v2/observation_map.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "protocols/fhir/model/json.hpp"
#include "protocols/fhir/model/validation.hpp"
#include "protocols/hl7v2/error.hpp"
#include "protocols/hl7v2/header.hpp"
#include "protocols/hl7v2/parser.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace cg::hl7v2;

namespace {

// A segment from its numbered fields, so tests say which field holds what.
std::string segment(std::string_view id, const std::vector<std::pair<int, std::string>>& fields) {
  int last = 0;
  for (const auto& [number, value] : fields) last = std::max(last, number);
  std::vector<std::string> values(static_cast<std::size_t>(last));
  for (const auto& [number, value] : fields) values[static_cast<std::size_t>(number - 1)] = value;
  std::string out(id);
  for (const std::string& value : values) out += "|" + value;
  return out;
}

// OBX with value type, code, value, units and status (OBX-11); `more` adds other fields.
std::string obx(int set, std::string type, std::string code, std::string value,
                std::string units = "", std::string status = "F",
                std::initializer_list<std::pair<int, std::string>> more = {}) {
  std::vector<std::pair<int, std::string>> fields{
      {1, std::to_string(set)}, {2, type}, {3, code}, {5, value}, {6, units}, {11, status}};
  fields.insert(fields.end(), more.begin(), more.end());
  return segment("OBX", fields);
}

const std::string kMsh =
    "MSH|^~\\&|LAB|CLINIC|GW|CLINIC|20260121103015+0100||ORU^R01^ORU_R01|R-1|P|2.5.1";
const std::string kPid = "PID|1||M-1^^^CLINIC^MR||Okafor^Ada||19900101|F";
const std::string kOrc = "ORC|RE|PL-7^EMR|F-900^LAB";
const std::string kObr = segment("OBR", {{1, "1"},
                                         {2, "PL-7^EMR"},
                                         {3, "F-900^LAB"},
                                         {4, "58410-2^CBC panel^LN"},
                                         {7, "202601210800+0100"},
                                         {22, "202601210930+0100"},
                                         {24, "HM"},
                                         {25, "F"}});

Message message_of(std::initializer_list<std::string> segments) {
  std::string bytes;
  for (const std::string& s : segments) bytes += s + "\r";
  auto parsed = parse(bytes);
  if (!parsed.ok()) FAIL(parsed.error().message);
  return std::move(parsed).value();
}

IdentifierSystems clinic_systems() {
  IdentifierSystems systems;
  systems.by_namespace.emplace("CLINIC", "http://clinic.example/mrn");
  systems.by_namespace.emplace("LAB", "http://lab.example/orders");
  return systems;
}

std::string issues_of(const json::object& resource) {
  std::string out;
  for (const auto& issue : cg::fhir::validate_structure(resource)) {
    out += issue.path + ": " + issue.message + "\n";
  }
  return out;
}

// The Bundle's entries, each resource checked to be structurally valid FHIR.
struct Mapped {
  json::object bundle;

  std::vector<const json::object*> entries(std::string_view type) const {
    std::vector<const json::object*> out;
    for (const auto& entry : bundle.at("entry").as_array()) {
      const auto& e = entry.as_object();
      if (e.at("resource").as_object().at("resourceType").as_string() == type) out.push_back(&e);
    }
    return out;
  }
  const json::object& resource(std::string_view type, std::size_t n = 0) const {
    auto all = entries(type);
    REQUIRE(n < all.size());
    return all[n]->at("resource").as_object();
  }
  std::string url(std::string_view type, std::size_t n = 0) const {
    auto all = entries(type);
    REQUIRE(n < all.size());
    return std::string(all[n]->at("request").as_object().at("url").as_string());
  }
  std::string full_url(std::string_view type, std::size_t n = 0) const {
    auto all = entries(type);
    REQUIRE(n < all.size());
    return std::string(all[n]->at("fullUrl").as_string());
  }
};

Mapped mapped(const Message& message) {
  auto result = map_oru(message, clinic_systems());
  if (!result.ok()) FAIL(result.error().message << " " << result.error().location);
  for (const auto& entry : result->at("entry").as_array()) {
    const auto& resource = entry.as_object().at("resource").as_object();
    std::string issues = issues_of(resource);
    CHECK_MESSAGE(issues.empty(), issues << cg::fhir::serialize_json(resource));
  }
  CHECK(issues_of(*result).empty());
  return {std::move(result).value()};
}

std::string reference_of(const json::value& reference) {
  return std::string(reference.at("reference").as_string());
}

std::string text(const json::value& value) {
  return cg::fhir::serialize_json(value);
}

ErrorLocation location_of(const cg::Error& error) {
  auto location = error_location(error);
  return location ? *location : ErrorLocation{};
}

// The error of a message that must not map.
cg::Error failure(const Message& message) {
  auto result = map_oru(message, clinic_systems());
  REQUIRE_FALSE(result.ok());
  return result.error();
}

}  // namespace

TEST_CASE("a CBC panel: one report, an Observation per OBX with values, units, ranges, flags") {
  Mapped m = mapped(message_of({
      kMsh,
      kPid,
      kOrc,
      kObr,
      obx(1, "NM", "718-7^Hemoglobin^LN", "13.50", "g/dL^^UCUM", "F", {{7, "12.0-16.0"}, {8, "N"}}),
      obx(2, "NM", "6690-2^Leukocytes^LN", "11.2", "10*3/uL", "F",
          {{7, "4.0 - 10.0"}, {8, "H"}, {14, "202601210805+0100"}}),
      "NTE|1|L|Sample slightly hemolysed.",
      "NTE|2|L|Repeat advised.",
      obx(3, "NM", "777-3^Platelets^LN", "+0095", "10*3/uL^^UCUM", "F",
          {{7, "150-400"},
           {8, "LL~A"},
           {16, "123^Doe^Jane^^^Dr^^^LAB"},
           {23, "ACME Lab^^^^^ACME&1.2.3&ISO^^^^L-77"}}),
  }));
  REQUIRE(m.entries("Patient").size() == 1);
  REQUIRE(m.entries("Observation").size() == 3);
  REQUIRE(m.entries("DiagnosticReport").size() == 1);
  std::string patient = m.full_url("Patient");

  const json::object& report = m.resource("DiagnosticReport");
  CHECK(m.url("DiagnosticReport") == "DiagnosticReport?identifier=http://lab.example/orders|F-900");
  CHECK(report.at("status") == "final");
  CHECK(text(report.at("identifier")).find("\"FILL\"") != std::string::npos);
  CHECK(text(report.at("identifier")).find("\"PLAC\"") != std::string::npos);
  CHECK(text(report.at("code")).find("\"http://loinc.org\"") != std::string::npos);
  CHECK(report.at("category").as_array()[0].at("coding").as_array()[0].at("code") == "HM");
  CHECK(report.at("effectiveDateTime") == "2026-01-21T08:00:00+01:00");
  CHECK(report.at("issued") == "2026-01-21T09:30:00+01:00");
  CHECK(reference_of(report.at("subject")) == patient);
  const auto& results = report.at("result").as_array();
  REQUIRE(results.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(reference_of(results[i]) == m.full_url("Observation", i));
  }

  const json::object& hb = m.resource("Observation", 0);
  CHECK(m.url("Observation", 0) ==
        "Observation?identifier=http://lab.example/orders|F-900-1-718-7");
  CHECK(hb.at("status") == "final");
  CHECK(reference_of(hb.at("subject")) == patient);
  CHECK(text(hb.at("valueQuantity")) ==
        R"({"value":13.50,"unit":"g/dL","system":"http://unitsofmeasure.org","code":"g/dL"})");
  CHECK(
      text(hb.at("referenceRange")) ==
      R"([{"text":"12.0-16.0","low":{"value":12.0,"unit":"g/dL","system":"http://unitsofmeasure.org","code":"g/dL"},)"
      R"("high":{"value":16.0,"unit":"g/dL","system":"http://unitsofmeasure.org","code":"g/dL"}}])");
  CHECK(text(hb.at("interpretation")).find("v3-ObservationInterpretation\",\"code\":\"N\"") !=
        std::string::npos);
  CHECK(hb.at("effectiveDateTime") == "2026-01-21T08:00:00+01:00");  // OBR-7
  CHECK(hb.at("category").as_array()[0].at("coding").as_array()[0].at("code") == "laboratory");

  const json::object& wbc = m.resource("Observation", 1);
  // No coding system in OBX-6, but the unit is UCUM.
  CHECK(text(wbc.at("valueQuantity")).find("\"system\":\"http://unitsofmeasure.org\"") !=
        std::string::npos);
  CHECK(wbc.at("referenceRange").as_array()[0].at("low").at("value") ==
        cg::fhir::make_decimal("4.0"));
  CHECK(wbc.at("effectiveDateTime") == "2026-01-21T08:05:00+01:00");  // OBX-14
  CHECK(text(wbc.at("note")) ==
        R"([{"text":"Sample slightly hemolysed."},{"text":"Repeat advised."}])");

  const json::object& plt = m.resource("Observation", 2);
  CHECK(plt.at("valueQuantity").at("value") == cg::fhir::make_decimal("95"));
  CHECK(plt.at("interpretation").as_array().size() == 2);
  const auto& performers = plt.at("performer").as_array();
  REQUIRE(performers.size() == 2);
  CHECK(
      text(performers[0]) ==
      R"({"type":"Practitioner","identifier":{"system":"http://lab.example/orders","value":"123"},"display":"Dr Jane Doe"})");
  CHECK(
      text(performers[1]) ==
      R"({"type":"Organization","identifier":{"system":"urn:oid:1.2.3","value":"L-77"},"display":"ACME Lab"})");
  CHECK_FALSE(plt.contains("note"));
}

TEST_CASE("SN values: comparators, ratios, ranges, and text when they do not parse") {
  auto value_of = [](const std::string& sn) {
    Mapped m =
        mapped(message_of({kMsh, kPid, kObr, obx(1, "SN", "5048-4^Titer^LN", sn, "mg/dL^^UCUM")}));
    return m.resource("Observation");
  };
  auto less = value_of("<^5");
  CHECK(
      text(less.at("valueQuantity")) ==
      R"({"value":5,"comparator":"<","unit":"mg/dL","system":"http://unitsofmeasure.org","code":"mg/dL"})");
  CHECK(value_of("^1^:^2").contains("valueRatio"));
  CHECK(text(value_of("^1^:^2").at("valueRatio").at("denominator")) == R"({"value":2})");
  CHECK(value_of("^1^/^128").contains("valueRatio"));
  auto range = value_of("^10^-^20");
  CHECK(range.at("valueRange").at("high").at("value") == cg::fhir::make_decimal("20"));
  CHECK(value_of("=^7.0").at("valueQuantity").at("value") == cg::fhir::make_decimal("7.0"));
  CHECK(value_of(">=^3").at("valueQuantity").at("comparator") == ">=");
  // Not SN as HL7 defines it (comparator in the wrong place, "<>", a suffix): kept as text.
  CHECK(value_of("1^:^2").at("valueString") == "1:2");
  CHECK(value_of("<>^5").at("valueString") == "<>5");
  CHECK(value_of("^2^+").at("valueString") == "2+");
}

TEST_CASE("text and coded results, dates and times") {
  Mapped m = mapped(message_of({
      kMsh,
      kPid,
      kObr,
      obx(1, "ST", "8251-1^Service comment^LN", "Sample received late"),
      obx(2, "TX", "11502-2^Lab report^LN", "First line~Second line"),
      obx(3, "FT", "11502-2^Lab report^LN", "Growth:\\.br\\  E. coli \\H\\heavy\\N\\"),
      obx(4, "CWE", "600-7^Blood culture^LN", "3092008^Staphylococcus aureus^SCT"),
      obx(5, "CE", "883-9^ABO group^LN", "A^Group A^99Lab", "", "P"),
      obx(6, "DTM", "8665-2^Last menstrual period^LN", "20251224"),
      obx(7, "TM", "8867-4^Time^L", "0830"),
      obx(8, "ED", "18748-4^Diagnostic imaging study^LN", "^AP^PDF^Base64^JVBERi0="),
  }));
  REQUIRE(m.entries("Observation").size() == 8);
  CHECK(m.resource("Observation", 0).at("valueString") == "Sample received late");
  CHECK(m.resource("Observation", 1).at("valueString") == "First line\nSecond line");
  CHECK(m.resource("Observation", 2).at("valueString") == "Growth:\n  E. coli heavy");
  CHECK(
      text(m.resource("Observation", 3).at("valueCodeableConcept")) ==
      R"({"coding":[{"system":"http://snomed.info/sct","code":"3092008","display":"Staphylococcus aureus"}],"text":"Staphylococcus aureus"})");
  const json::object& abo = m.resource("Observation", 4);
  CHECK(abo.at("status") == "preliminary");
  CHECK(abo.at("valueCodeableConcept").at("coding").as_array()[0].at("system") ==
        "urn:cg:codesystem:99Lab");
  CHECK(m.resource("Observation", 5).at("valueDateTime") == "2025-12-24");
  CHECK(m.resource("Observation", 6).at("valueTime") == "08:30:00");
  CHECK(m.resource("Observation", 6).at("code").at("coding").as_array()[0].at("system") ==
        "urn:cg:codesystem:L");
  // Documents are not Observation values in R4: the Observation says so.
  const json::object& document = m.resource("Observation", 7);
  CHECK_FALSE(document.contains("valueString"));
  CHECK(text(document.at("dataAbsentReason")).find("\"unsupported\"") != std::string::npos);
}

TEST_CASE("a corrected resend under a new control id updates the same resources") {
  auto oru = [](std::string_view control_id, std::string_view value, std::string_view status) {
    std::string msh = kMsh;
    msh.replace(msh.find("R-1"), 3, control_id);
    return message_of({msh, kPid, kOrc,
                       segment("OBR", {{1, "1"},
                                       {2, "PL-7^EMR"},
                                       {3, "F-900^LAB"},
                                       {4, "24331-1^Lipid panel^LN"},
                                       {7, "202601210800+0100"},
                                       {24, "CH"},
                                       {25, std::string(status)}}),
                       obx(1, "NM", "2093-3^Cholesterol^LN", "180", "mg/dL^^UCUM"),
                       obx(2, "NM", "2571-8^Triglyceride^LN", std::string(value), "mg/dL^^UCUM",
                           std::string(status))});
  };
  Mapped first = mapped(oru("R-1", "150", "F"));
  Mapped corrected = mapped(oru("R-2", "105", "C"));
  CHECK(first.url("Observation", 1) == corrected.url("Observation", 1));
  CHECK(first.url("DiagnosticReport") == corrected.url("DiagnosticReport"));
  CHECK(corrected.resource("Observation", 1).at("status") == "corrected");
  CHECK(corrected.resource("DiagnosticReport").at("status") == "corrected");

  // Only the corrected OBX, without OBX-4: still the same Observation (the count of its code
  // in the report, not its position, makes the key).
  Mapped alone = mapped(message_of(
      {kMsh, kPid, kOrc,
       segment("OBR", {{1, "1"}, {3, "F-900^LAB"}, {4, "24331-1^Lipid panel^LN"}, {25, "C"}}),
       obx(1, "NM", "2571-8^Triglyceride^LN", "105", "mg/dL^^UCUM", "C")}));
  CHECK(alone.url("Observation") == first.url("Observation", 1));
}

TEST_CASE("sub-ids key repeated codes; repeated values become components") {
  Mapped m = mapped(message_of({
      kMsh,
      kPid,
      kObr,
      obx(1, "CWE", "11475-1^Organism^LN", "3092008^S. aureus^SCT", "", "F", {{4, "1"}}),
      obx(2, "CWE", "11475-1^Organism^LN", "112283007^E. coli^SCT", "", "F", {{4, "2"}}),
      obx(3, "NM", "2345-7^Glucose^LN", "100~200~300", "mg/dL^^UCUM"),
      obx(4, "NM", "2345-7^Glucose^LN", "90", "mg/dL^^UCUM"),
  }));
  CHECK(m.url("Observation", 0).ends_with("F-900-1-11475-1"));
  CHECK(m.url("Observation", 1).ends_with("F-900-2-11475-1"));
  CHECK(m.url("Observation", 2).ends_with("F-900-1-2345-7"));
  CHECK(m.url("Observation", 3).ends_with("F-900-2-2345-7"));
  const auto& components = m.resource("Observation", 2).at("component").as_array();
  REQUIRE(components.size() == 3);
  CHECK(components[2].at("valueQuantity").at("value") == cg::fhir::make_decimal("300"));
}

TEST_CASE("OBR groups of one order number form one report; OBX before any OBR have none") {
  Mapped merged = mapped(message_of({
      kMsh,
      kPid,
      "OBR|1||F-1^LAB|528391^BP^MDC|||20260121",
      "OBX|1|NM|150021^Systolic^MDC|1.0.1|120|266016^mmHg^MDC|||||R",
      "OBR|2||F-1^LAB|528391^BP^MDC|||20260121",
      "OBX|1|NM|150022^Diastolic^MDC|1.0.2|80|266016^mmHg^MDC|||||R",
  }));
  REQUIRE(merged.entries("DiagnosticReport").size() == 1);
  CHECK(merged.resource("DiagnosticReport").at("result").as_array().size() == 2);
  CHECK(merged.resource("DiagnosticReport").at("status") == "unknown");
  CHECK(text(merged.resource("Observation").at("valueQuantity")) ==
        R"({"value":120,"unit":"mmHg","system":"urn:iso:std:iso:11073:10101","code":"266016"})");
  CHECK(merged.resource("Observation").at("status") == "preliminary");

  Mapped patient_level = mapped(message_of(
      {kMsh, kPid, obx(1, "NM", "14134-1^Hemoglobin^LN", "12.4", "g/dL^^UCUM"),
       obx(2, "NM", "14134-1^Hemoglobin^LN", "12.5", "g/dL^^UCUM", "F", {{21, "OBS-2^LAB"}})}));
  CHECK(patient_level.entries("DiagnosticReport").empty());
  CHECK(patient_level.url("Observation", 0) == "Observation");  // created: nothing names it
  CHECK(patient_level.url("Observation", 1) ==
        "Observation?identifier=http://lab.example/orders|OBS-2");
}

TEST_CASE("statuses: table 0085 and 0123, cancelled and deleted results") {
  Mapped m = mapped(message_of(
      {kMsh, kPid, segment("OBR", {{1, "1"}, {3, "F-2^LAB"}, {4, "2345-7^Glucose^LN"}, {25, "X"}}),
       obx(1, "NM", "2345-7^Glucose^LN", "", "", "X"),
       obx(2, "NM", "2345-7^Glucose^LN", "90", "", "D"),
       obx(3, "NM", "2345-7^Glucose^LN", "91", "", "N"),
       obx(4, "NM", "2345-7^Glucose^LN", "92", "", "Q")}));
  CHECK(m.resource("DiagnosticReport").at("status") == "cancelled");
  CHECK(m.resource("Observation", 0).at("status") == "cancelled");
  CHECK(text(m.resource("Observation", 0).at("dataAbsentReason")).find("not-performed") !=
        std::string::npos);
  CHECK(m.resource("Observation", 1).at("status") == "entered-in-error");
  CHECK(m.resource("Observation", 2).at("status") == "cancelled");
  CHECK_FALSE(m.resource("Observation", 2).contains("dataAbsentReason"));  // it has a value
  CHECK(m.resource("Observation", 3).at("status") == "unknown");
}

TEST_CASE("several patients: each OBR group's results belong to the PID before it") {
  Mapped m = mapped(
      message_of({kMsh, kPid, "OBR|1||F-3^LAB|2345-7^Glucose^LN",
                  "OBX|1|NM|2345-7^Glucose^LN||90|||||F", "PID|2||M-2^^^CLINIC^MR||Kamau^Ben",
                  "OBR|1||F-4^LAB|2345-7^Glucose^LN", "OBX|1|NM|2345-7^Glucose^LN||95|||||F"}));
  REQUIRE(m.entries("Patient").size() == 2);
  CHECK(reference_of(m.resource("Observation", 0).at("subject")) == m.full_url("Patient", 0));
  CHECK(reference_of(m.resource("Observation", 1).at("subject")) == m.full_url("Patient", 1));
  CHECK(reference_of(m.resource("DiagnosticReport", 1).at("subject")) == m.full_url("Patient", 1));
}

TEST_CASE("errors carry their HL7 code and location") {
  SUBCASE("no OBR and no OBX") {
    auto error = failure(message_of({kMsh, kPid}));
    CHECK(error_code(error) == ErrorCode::kSegmentSequenceError);
  }
  SUBCASE("no PID") {
    auto error = failure(message_of({kMsh, kObr, "OBX|1|NM|2345-7^Glucose^LN||90|||||F"}));
    CHECK(error_code(error) == ErrorCode::kSegmentSequenceError);
  }
  SUBCASE("OBX-3 empty") {
    auto error = failure(message_of(
        {kMsh, kPid, kObr, "OBX|1|NM|2345-7^Glucose^LN||90|||||F", "OBX|2|NM|||91|||||F"}));
    CHECK(error_code(error) == ErrorCode::kRequiredFieldMissing);
    CHECK(to_string(location_of(error)) == "OBX[2]-3");
  }
  SUBCASE("OBR-4 empty") {
    auto error = failure(message_of({kMsh, kPid, "OBR|1||F-5^LAB|", "OBX|1|ST|1-8^X^LN||a"}));
    CHECK(error_code(error) == ErrorCode::kRequiredFieldMissing);
    CHECK(to_string(location_of(error)) == "OBR[1]-4");
  }
  SUBCASE("an NM value that is not a number") {
    for (std::string bad : {"abc", "1,5", "1.2.3", "-", ".", "12 mg"}) {
      CAPTURE(bad);
      auto error = failure(message_of({kMsh, kPid, kObr, "OBX|1|NM|2345-7^Glucose^LN||90",
                                       "OBX|2|NM|2345-7^Glucose^LN||" + bad + "|mg/dL"}));
      CHECK(error_code(error) == ErrorCode::kDataTypeError);
      CHECK(to_string(location_of(error)) == "OBX[2]-5");
    }
    auto repeated = failure(message_of({kMsh, kPid, kObr, "OBX|1|NM|2345-7^Glucose^LN||90~x"}));
    CHECK(to_string(location_of(repeated)) == "OBX[1]-5(2)");
  }
  SUBCASE("bad dates at their place") {
    auto obx14 = failure(message_of(
        {kMsh, kPid, kObr, obx(1, "NM", "2345-7^Glucose^LN", "90", "", "F", {{14, "20261341"}})}));
    CHECK(error_code(obx14) == ErrorCode::kDataTypeError);
    CHECK(to_string(location_of(obx14)) == "OBX[1]-14");
    auto obr7 = failure(message_of({kMsh, kPid, "OBR|1||F-6^LAB|2345-7^Glucose^LN|||2026013",
                                    "OBX|1|NM|2345-7^Glucose^LN||90"}));
    CHECK(to_string(location_of(obr7)) == "OBR[1]-7");
    auto value = failure(message_of({kMsh, kPid, kObr, "OBX|1|DTM|8665-2^LMP^LN||20250230"}));
    CHECK(to_string(location_of(value)) == "OBX[1]-5");
    auto time = failure(message_of({kMsh, kPid, kObr, "OBX|1|TM|8867-4^Time^L||2561"}));
    CHECK(to_string(location_of(time)) == "OBX[1]-5");
  }
  SUBCASE("the same OBX-4 and OBX-3 twice in one order") {
    auto error = failure(message_of(
        {kMsh, kPid, kObr, "OBX|1|NM|2345-7^Glucose^LN|1|90", "OBX|2|NM|2345-7^Glucose^LN|1|91"}));
    CHECK(error_code(error) == ErrorCode::kDuplicateKeyIdentifier);
    CHECK(to_string(location_of(error)) == "OBX[2]-4");
  }
  SUBCASE("more OBX than one message may hold") {
    std::string bytes = kMsh + "\r" + kPid + "\r" + kObr + "\r";
    for (int i = 1; i <= kMaxObservationsPerMessage + 1; ++i) {
      bytes += "OBX|" + std::to_string(i) + "|NM|2345-7^Glucose^LN|" + std::to_string(i) + "|90\r";
    }
    auto message = parse(bytes);
    REQUIRE(message.ok());
    auto error = failure(*message);
    CHECK(error_code(error) == ErrorCode::kApplicationInternalError);
  }
}

TEST_CASE("exactly the maximum number of OBX still maps") {
  std::string bytes = kMsh + "\r" + kPid + "\r" + kObr + "\r";
  for (int i = 1; i <= kMaxObservationsPerMessage; ++i) {
    bytes += "OBX|" + std::to_string(i) + "|NM|2345-7^Glucose^LN|" + std::to_string(i) + "|90\r";
  }
  auto message = parse(bytes);
  REQUIRE(message.ok());
  auto result = map_oru(*message, clinic_systems());
  REQUIRE(result.ok());
  CHECK(result->at("entry").as_array().size() ==
        static_cast<std::size_t>(kMaxObservationsPerMessage) + 2);
}

// ---------------------------------------------------------------------------------------------
// The IPF corpus: every ORU^R01 maps to valid resources.

namespace {

const fs::path kIpf = fs::path(CG_SHARED_DATA) / "hl7v2" / "ipf";

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("every ORU^R01 of the IPF corpus maps to valid resources") {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(kIpf, ec)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  if (files.empty()) {
    MESSAGE("skipped: " << kIpf.string() << " is absent");
    return;
  }
  std::sort(files.begin(), files.end());
  int oru = 0;
  for (const fs::path& file : files) {
    std::string bytes = read_file(file);
    for (std::string_view part : split_messages(bytes)) {
      auto message = parse(part);
      REQUIRE(message.ok());
      auto header = read_header(*message);
      if (header.type.code != "ORU" || header.type.trigger != "R01") continue;
      ++oru;
      std::string name = file.filename().string();
      CAPTURE(name);
      Mapped m = mapped(*message);
      CHECK_FALSE(m.entries("Observation").empty());
    }
  }
  MESSAGE(oru << " ORU^R01 messages");
  CHECK(oru >= 8);
}
