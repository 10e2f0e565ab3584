#include "protocols/hl7v2/immunization_map.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
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

const std::string kMsh =
    "MSH|^~\\&|MYEHR|RI88140101|IIS|RIHEALTH|20130531103015-0500||VXU^V04^VXU_V04|"
    "VXU-0001|P|2.5.1|||NE|AL\r";
const std::string kPid =
    "PID|1||432155^^^CLINIC^MR||Patient^Johnny^New^^^^L|Lastname^Sally^^^^^M|20130414|M\r";

// Administered today with a VIS given (by document and by vaccine type), funding, provider.
const std::string kAdministered =
    "ORC|RE|PL-9|197023^CMC||||||20130531|^Clerk^Myron||MD67895^Pediatric^MARY^^^^MD^^RIA\r"
    "RXA|0|1|201305311030|201305311030|48^HIB PRP-T^CVX^49281-0545-03^ActHIB^NDC|0.5|"
    "mL^milliliters^UCUM||00^new immunization record^NIP001|7832-1^Lemon^Mike^A^^^^^RIA|"
    "^^^RI2050||||33k2a|20131210|PMC^sanofi^MVX|||CP|A\r"
    "RXR|C28161^Intramuscular^NCIT^IM^IM^HL70162|RT^right thigh^HL70163\r"
    "OBX|1|CE|64994-7^vaccine fund pgm elig cat^LN|1|V02^VFC eligible Medicaid^HL70064||||||F\r"
    "OBX|2|CE|30963-3^funding source^LN|2|VXC1^Federal funds^CDCPHINVS||||||F\r"
    "OBX|3|CE|69764-9^document type^LN|3|253088698300026411121116^Hib VIS^cdcgs1vis||||||F\r"
    "OBX|4|TS|29769-7^VIS presented^LN|3|20130531||||||F\r"
    "OBX|5|CE|30956-7^vaccine type^LN|4|17^Hib, unspecified formulation^CVX||||||F\r"
    "OBX|6|TS|29768-9^VIS published^LN|4|19981216||||||F\r"
    "OBX|7|TS|29769-7^VIS presented^LN|4|20130531||||||F\r";

// A historical dose from the parent's written record, without an order number (CDC's 9999).
const std::string kHistorical =
    "ORC|RE||9999^CDC\r"
    "RXA|0|1|20120814||33^pneumococcal polysaccharide PPV23^CVX|999|||"
    "03^written record^NIP001|||||||||||CP|A\r";

Message message_of(const std::string& text) {
  auto parsed = parse(text);
  REQUIRE_MESSAGE(parsed.ok(), parsed.error().message);
  return std::move(parsed).value();
}

IdentifierSystems clinic_systems() {
  IdentifierSystems systems;
  systems.by_namespace.emplace("CLINIC", "http://clinic.example/mrn");
  return systems;
}

// Maps and checks that every resource of the Bundle is structurally valid FHIR.
json::object mapped(const std::string& text) {
  auto bundle = map_vxu(message_of(text), clinic_systems());
  REQUIRE_MESSAGE(bundle.ok(), bundle.error().message << " " << bundle.error().location);
  for (const auto& entry : bundle->at("entry").as_array()) {
    const json::object& resource = entry.at("resource").as_object();
    std::string issues;
    for (const auto& issue : cg::fhir::validate_structure(resource)) {
      issues += issue.path + ": " + issue.message + "\n";
    }
    CHECK_MESSAGE(issues.empty(), issues << json::serialize(resource));
  }
  return std::move(bundle).value();
}

const json::object& entry(const json::object& bundle, std::size_t n) {
  return bundle.at("entry").as_array().at(n).as_object();
}
const json::object& resource(const json::object& bundle, std::size_t n) {
  return entry(bundle, n).at("resource").as_object();
}
std::string request_of(const json::object& bundle, std::size_t n) {
  const auto& request = entry(bundle, n).at("request").as_object();
  return std::string(request.at("method").as_string()) + " " +
         std::string(request.at("url").as_string());
}

ErrorLocation error_at(const std::string& text, ErrorCode expected) {
  auto bundle = map_vxu(message_of(text), clinic_systems());
  REQUIRE_FALSE(bundle.ok());
  CHECK(error_code(bundle.error()) == expected);
  auto location = error_location(bundle.error());
  return location ? *location : ErrorLocation{};
}

std::string str(const json::value& v) {
  return json::serialize(v);
}

}  // namespace

TEST_CASE("a CDC-style VXU maps to the Patient and one Immunization per order group") {
  json::object bundle = mapped(kMsh + kPid + kAdministered + kHistorical);
  REQUIRE(bundle.at("entry").as_array().size() == 3);
  CHECK(resource(bundle, 0).at("resourceType") == "Patient");
  const std::string patient_url(entry(bundle, 0).at("fullUrl").as_string());

  const json::object& given = resource(bundle, 1);
  CHECK(given.at("resourceType") == "Immunization");
  CHECK(request_of(bundle, 1) == "PUT Immunization?identifier=urn:cg:authority:CMC|197023");
  CHECK(
      str(given.at("identifier")) ==
      R"([{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"FILL"}]},"system":"urn:cg:authority:CMC","value":"197023"},)"
      R"({"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"PLAC"}]},"value":"PL-9"}])");
  CHECK(given.at("status") == "completed");
  CHECK_FALSE(given.contains("isSubpotent"));
  CHECK_FALSE(given.contains("statusReason"));
  CHECK(
      str(given.at("vaccineCode")) ==
      R"({"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":"48","display":"HIB PRP-T"},)"
      R"({"system":"http://hl7.org/fhir/sid/ndc","code":"49281-0545-03","display":"ActHIB"}],"text":"HIB PRP-T"})");
  CHECK(given.at("patient").at("reference").as_string() == patient_url);
  // RXA-3 has no zone: MSH-7's.
  CHECK(given.at("occurrenceDateTime") == "2013-05-31T10:30:00-05:00");
  CHECK(given.at("recorded") == "2013-05-31");
  CHECK(given.at("primarySource") == true);
  CHECK_FALSE(given.contains("reportOrigin"));
  CHECK(str(given.at("location")) == R"({"type":"Location","display":"RI2050"})");
  CHECK(cg::fhir::number_text(given.at("doseQuantity").at("value")) == "0.5");
  CHECK(given.at("doseQuantity").at("unit") == "milliliters");
  CHECK(given.at("doseQuantity").at("system") == "http://unitsofmeasure.org");
  CHECK(given.at("doseQuantity").at("code") == "mL");
  CHECK(given.at("lotNumber") == "33k2a");
  CHECK(given.at("expirationDate") == "2013-12-10");
  CHECK(
      str(given.at("manufacturer")) ==
      R"({"type":"Organization","identifier":{"system":"http://terminology.hl7.org/CodeSystem/MVX","value":"PMC"},"display":"sanofi"})");
  CHECK(
      str(given.at("performer")) ==
      R"([{"function":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0443","code":"AP","display":"Administering Provider"}]},)"
      R"("actor":{"type":"Practitioner","identifier":{"system":"urn:cg:authority:RIA","value":"7832-1"},"display":"Mike A Lemon"}},)"
      R"({"function":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0443","code":"OP","display":"Ordering Provider"}]},)"
      R"("actor":{"type":"Practitioner","identifier":{"system":"urn:cg:authority:RIA","value":"MD67895"},"display":"MARY Pediatric MD"}}])");
  CHECK(
      str(given.at("route")) ==
      R"({"coding":[{"system":"http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl","code":"C28161","display":"Intramuscular"},)"
      R"({"system":"http://terminology.hl7.org/CodeSystem/v2-0162","code":"IM","display":"IM"},)"
      R"({"system":"http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration","code":"IM","display":"Injection, intramuscular"}],"text":"Intramuscular"})");
  CHECK(
      str(given.at("site")) ==
      R"({"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0163","code":"RT","display":"right thigh"}],"text":"right thigh"})");
  CHECK(
      str(given.at("programEligibility")) ==
      R"([{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0064","code":"V02","display":"VFC eligible Medicaid"}],"text":"VFC eligible Medicaid"}])");
  CHECK(given.at("fundingSource").at("coding").at(0).at("code") == "VXC1");
  CHECK(given.at("fundingSource").at("text") == "Federal funds");
  CHECK(
      str(given.at("education")) ==
      R"([{"presentationDate":"2013-05-31","documentType":"Hib VIS"},)"
      R"({"publicationDate":"1998-12-16","presentationDate":"2013-05-31","documentType":"Hib, unspecified formulation"}])");

  const json::object& historical = resource(bundle, 2);
  CHECK(request_of(bundle, 2) == "POST Immunization");
  CHECK_FALSE(historical.contains("identifier"));
  CHECK(historical.at("status") == "completed");
  CHECK(historical.at("occurrenceDateTime") == "2012-08-14");
  CHECK(historical.at("primarySource") == false);
  CHECK(
      str(historical.at("reportOrigin")) ==
      R"({"coding":[{"system":"urn:cg:codesystem:NIP001","code":"03","display":"written record"},)"
      R"({"system":"http://terminology.hl7.org/CodeSystem/immunization-origin","code":"record","display":"Written Record"}]})");
  CHECK_FALSE(historical.contains("doseQuantity"));  // 999: unknown amount
  CHECK(historical.at("patient").at("reference").as_string() == patient_url);
}

TEST_CASE("a refusal is not-done with RXA-18 as its reason") {
  json::object bundle = mapped(kMsh + kPid +
                               "ORC|RE||9999^CDC\r"
                               "RXA|0|1|20130531||107^DTAP-NOS^CVX|999||||||||||||"
                               "00^parental decision^NIP002||RE\r");
  const json::object& refused = resource(bundle, 1);
  CHECK(refused.at("status") == "not-done");
  CHECK(
      str(refused.at("statusReason")) ==
      R"({"coding":[{"system":"urn:cg:codesystem:NIP002","code":"00","display":"parental decision"},)"
      R"({"system":"http://terminology.hl7.org/CodeSystem/v3-ActReason","code":"PATOBJ","display":"patient objection"}],"text":"parental decision"})");
  CHECK(refused.at("occurrenceDateTime") == "2013-05-31");
}

TEST_CASE("not administered with presumed immunity keeps the disease as a note") {
  json::object bundle = mapped(kMsh + kPid +
                               "ORC|RE||IZ-5^CMC\r"
                               "RXA|0|1|20130531||998^no vaccine administered^CVX|999"
                               "||||||||||||||NA\r"
                               "OBX|1|CE|59784-9^Disease with presumed immunity^LN|1|"
                               "38907003^Varicella infection^SCT||||||F\r");
  const json::object& none = resource(bundle, 1);
  CHECK(none.at("status") == "not-done");
  CHECK_FALSE(none.contains("statusReason"));
  CHECK(str(none.at("note")) ==
        R"j([{"text":"Presumed immunity: Varicella infection (SCT 38907003)"}])j");
}

TEST_CASE("completion and action codes: partial dose, deletion, correction") {
  std::string partial =
      kMsh + kPid +
      "ORC|RE||IZ-7^CMC\rRXA|0|1|20130531||48^HIB^CVX|0.25|mL^^UCUM|||||||||||||PA|A\r";
  CHECK(resource(mapped(partial), 1).at("isSubpotent") == true);
  CHECK(resource(mapped(partial), 1).at("status") == "completed");

  // A deletion and a correction name the administration by the same order number, so they
  // update the Immunization the first message created.
  std::string deleted =
      kMsh + kPid + "ORC|RE||IZ-7^CMC\rRXA|0|1|20130531||48^HIB^CVX|999||||||||||||||CP|D\r";
  json::object bundle = mapped(deleted);
  CHECK(resource(bundle, 1).at("status") == "entered-in-error");
  CHECK(request_of(bundle, 1) == "PUT Immunization?identifier=urn:cg:authority:CMC|IZ-7");
  std::string corrected =
      kMsh + kPid + "ORC|RE||IZ-7^CMC\rRXA|0|1|20130531||17^HIB^CVX|999||||||||||||||CP|U\r";
  CHECK(request_of(mapped(corrected), 1) == request_of(bundle, 1));
  CHECK(resource(mapped(corrected), 1).at("status") == "completed");
}

TEST_CASE("an RXA without an ORC still forms its own order group") {
  json::object bundle = mapped(kMsh + kPid +
                               "RXA|0|1|20130531||48^HIB^CVX|999||||||||||||||CP\r"
                               "RXA|0|1|20130601||33^PPV23^CVX|999||||||||||||||CP\r");
  REQUIRE(bundle.at("entry").as_array().size() == 3);
  CHECK(request_of(bundle, 1) == "POST Immunization");
  CHECK(resource(bundle, 2).at("occurrenceDateTime") == "2013-06-01");
}

TEST_CASE("dose amounts: HL7 numbers become FHIR decimals; 999 means unknown") {
  auto dose = [](const std::string& amount) {
    json::object bundle =
        mapped(kMsh + kPid + "RXA|0|1|20130531||48^HIB^CVX|" + amount + "|mL^^UCUM\r");
    const json::object& imm = resource(bundle, 1);
    return imm.contains("doseQuantity") ? *cg::fhir::number_text(imm.at("doseQuantity").at("value"))
                                        : std::string("-");
  };
  CHECK(dose(".5") == "0.5");
  CHECK(dose("+01.50") == "1.50");
  CHECK(dose("1") == "1");
  CHECK(dose("999") == "-");
  CHECK(dose("") == "-");
}

TEST_CASE("errors carry their HL7 code and location") {
  // No RXA at all.
  CHECK(error_at(kMsh + kPid, ErrorCode::kSegmentSequenceError) == ErrorLocation{});
  CHECK(error_at(kMsh + kPid + "ORC|RE||IZ-1^CMC\r", ErrorCode::kSegmentSequenceError) ==
        ErrorLocation{});
  // An ORC whose RXA is missing, next to a complete group.
  CHECK(error_at(kMsh + kPid + "ORC|RE||IZ-1^CMC\rORC|RE||IZ-2^CMC\rRXA|0|1|20130531||48^HIB^CVX\r",
                 ErrorCode::kSegmentSequenceError) == ErrorLocation{"ORC", 1, 0, 0, 0, 0});
  // The patient's errors come first.
  CHECK(error_at(kMsh + "PID|1||\rRXA|0|1|20130531||48^HIB^CVX\r",
                 ErrorCode::kRequiredFieldMissing) == ErrorLocation{"PID", 1, 3, 0, 0, 0});
  CHECK(error_at(kMsh + kPid + "RXA|0|1|20130531||\r", ErrorCode::kRequiredFieldMissing) ==
        ErrorLocation{"RXA", 1, 5, 0, 0, 0});
  CHECK(error_at(kMsh + kPid + "RXA|0|1|||48^HIB^CVX\r", ErrorCode::kRequiredFieldMissing) ==
        ErrorLocation{"RXA", 1, 3, 0, 0, 0});
  CHECK(error_at(kMsh + kPid + "RXA|0|1|20130531||48^HIB^CVX\rRXA|0|1|20130230||48^HIB^CVX\r",
                 ErrorCode::kDataTypeError) == ErrorLocation{"RXA", 2, 3, 0, 0, 0});
  CHECK(error_at(kMsh + kPid + "RXA|0|1|20130531||48^HIB^CVX|||||||||||2013121\r",
                 ErrorCode::kDataTypeError) == ErrorLocation{"RXA", 1, 16, 0, 0, 0});
  CHECK(error_at(kMsh + kPid + "ORC|RE||IZ-1^CMC||||||2013053199\rRXA|0|1|20130531||48^HIB^CVX\r",
                 ErrorCode::kDataTypeError) == ErrorLocation{"ORC", 1, 9, 0, 0, 0});
  CHECK(error_at(kMsh + kPid +
                     "RXA|0|1|20130531||48^HIB^CVX\r"
                     "OBX|1|CE|69764-9^document type^LN|1|X^Hib VIS^cdcgs1vis\r"
                     "OBX|2|TS|29769-7^VIS presented^LN|1|yesterday\r",
                 ErrorCode::kDataTypeError) == ErrorLocation{"OBX", 2, 5, 0, 0, 0});
  CHECK(error_at(kMsh + kPid + "RXA|0|1|20130531||48^HIB^CVX|0,5\r", ErrorCode::kDataTypeError) ==
        ErrorLocation{"RXA", 1, 6, 0, 0, 0});
  CHECK(error_at(kMsh + kPid + "RXA|0|1|20130531||48^HIB^CVX|||||||||||||||XX\r",
                 ErrorCode::kTableValueNotFound) == ErrorLocation{"RXA", 1, 20, 0, 0, 0});
}

TEST_CASE("a VIS statement without a document is left out; observations outside orders too") {
  json::object bundle = mapped(kMsh + kPid +
                               "OBX|1|CE|64994-7^eligibility^LN|1|V01^Not VFC eligible^HL70064\r"
                               "RXA|0|1|20130531||48^HIB^CVX|999\r"
                               "OBX|1|TS|29769-7^VIS presented^LN|1|20130531\r");
  const json::object& imm = resource(bundle, 1);
  CHECK_FALSE(imm.contains("education"));
  CHECK_FALSE(imm.contains("programEligibility"));
}

// ---------------------------------------------------------------------------------------------
// The IPF corpus: every VXU maps.

TEST_CASE("every VXU message of the IPF corpus maps to valid resources") {
  const fs::path ipf = fs::path(CG_SHARED_DATA) / "hl7v2" / "ipf";
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(ipf, ec)) {
    if (e.is_regular_file()) files.push_back(e.path());
  }
  if (files.empty()) {
    MESSAGE("skipped: " << ipf.string() << " is absent");
    return;
  }
  std::sort(files.begin(), files.end());
  int vxu = 0;
  for (const fs::path& file : files) {
    std::ifstream in(file, std::ios::binary);
    std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    for (std::string_view part : split_messages(bytes)) {
      auto message = parse(part);
      REQUIRE(message.ok());
      if (read_header(*message).type.code != "VXU") continue;
      ++vxu;
      CAPTURE(file.filename().string());
      mapped(std::string(part));
    }
  }
  MESSAGE(vxu << " VXU messages in the IPF corpus");
}
