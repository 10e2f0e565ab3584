#include "gateway/hl7_keyed_writes.hpp"

#include <doctest/doctest.h>

#include "tests/gateway/hl7_fixture.hpp"

using namespace cg;

namespace {

constexpr const char* kLab = "urn:cg:authority:LAB";

// An ORU for patient `mrn` with order F-77 and the given OBX segments.
std::string oru(std::string_view mrn, std::string_view obx) {
  return "PID|1||" + std::string(mrn) +
         "^^^CLINIC^MR||Wanjiru^Esther||19800202|F\r"
         "ORC|RE|PL-1|F-77^LAB\r"
         "OBR|1|PL-1|F-77^LAB|24326-1^Electrolytes^LN|||20261121080000+0300\r" +
         std::string(obx);
}

constexpr const char* kSodium = "OBX|1|NM|2951-2^Sodium^LN||140|mmol/L^^UCUM|135-145|N|||F\r";
constexpr const char* kPotassium = "OBX|2|NM|2823-3^Potassium^LN||5.9|mmol/L^^UCUM||||F\r";
constexpr const char* kPotassiumCorrected = "OBX|2|NM|2823-3^Potassium^LN||4.9|mmol/L^^UCUM||||C\r";

std::string json_of(const std::vector<storage::StoredVersion>& found) {
  REQUIRE(found.size() == 1);
  return found[0].json;
}

}  // namespace

TEST_CASE("an order number already stored for another patient is AE 205 and changes nothing") {
  gateway::testing::Hl7Gateway g;
  REQUIRE(g.send(oru("M-1", std::string(kSodium) + kPotassium), "ORU^R01^ORU_R01").get("MSA-1") ==
          "AA");
  const auto report = g.find("DiagnosticReport", "identifier", kLab, "F-77");
  REQUIRE(report.size() == 1);

  // The same order number, another patient (new to the gateway, then a stored one).
  for (std::string_view other : {"M-2", "M-3"}) {
    if (other == "M-3") {
      REQUIRE(g.send("PID|1||M-3^^^CLINIC^MR||Otieno^Ben\r", "ADT^A28^ADT_A05").get("MSA-1") ==
              "AA");
    }
    auto answer = g.send(oru(other, kSodium), "ORU^R01^ORU_R01");
    CHECK(answer.get("MSA-1") == "AE");
    CHECK(answer.get("ERR-3") == "205");
    CHECK(answer.get("ERR-8").find("another patient") != std::string::npos);
  }
  const auto after = g.find("DiagnosticReport", "identifier", kLab, "F-77");
  REQUIRE(after.size() == 1);
  CHECK(after[0].version == report[0].version);
  CHECK(g.find("Patient", "identifier", "http://clinic.example/mrn", "M-2").empty());
}

TEST_CASE("the same patient's resend of only the corrected OBX keeps the report's other results") {
  gateway::testing::Hl7Gateway g;
  REQUIRE(g.send(oru("M-1", std::string(kSodium) + kPotassium), "ORU^R01^ORU_R01").get("MSA-1") ==
          "AA");
  const auto sodium = g.find("Observation", "code", "http://loinc.org", "2951-2");
  const auto potassium = g.find("Observation", "code", "http://loinc.org", "2823-3");
  REQUIRE(sodium.size() == 1);
  REQUIRE(potassium.size() == 1);

  REQUIRE(g.send(oru("M-1", kPotassiumCorrected), "ORU^R01^ORU_R01").get("MSA-1") == "AA");
  const std::string report = json_of(g.find("DiagnosticReport", "identifier", kLab, "F-77"));
  CHECK(report.find("Observation/" + sodium[0].id) != std::string::npos);
  CHECK(report.find("Observation/" + potassium[0].id) != std::string::npos);
  // Listed once each, the resent one in the message's place.
  CHECK(report.find("Observation/" + potassium[0].id) < report.find("Observation/" + sodium[0].id));
  CHECK(report.find("Observation/" + sodium[0].id) == report.rfind("Observation/" + sodium[0].id));
  CHECK(json_of(g.find("Observation", "code", "http://loinc.org", "2823-3")).find("4.9") !=
        std::string::npos);
}

TEST_CASE("a vaccination's order already stored for another patient is refused too") {
  gateway::testing::Hl7Gateway g;
  auto vxu = [](std::string_view mrn) {
    return "PID|1||" + std::string(mrn) +
           "^^^CLINIC^MR||Achieng^Mary||20240101|F\r"
           "ORC|RE||IZ-1^CLINIC\r"
           "RXA|0|1|20261121||08^HepB^CVX|0.5|mL^^UCUM||00^New^NIP001\r";
  };
  REQUIRE(g.send(vxu("M-1"), "VXU^V04^VXU_V04").get("MSA-1") == "AA");
  auto answer = g.send(vxu("M-9"), "VXU^V04^VXU_V04");
  CHECK(answer.get("MSA-1") == "AE");
  CHECK(answer.get("ERR-3") == "205");
  CHECK(g.send(vxu("M-1"), "VXU^V04^VXU_V04").get("MSA-1") == "AA");  // its own patient: fine
}
