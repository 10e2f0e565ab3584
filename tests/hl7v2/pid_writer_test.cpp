#include "protocols/hl7v2/pid_writer.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "protocols/hl7v2/header.hpp"
#include "protocols/hl7v2/parser.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace cg::hl7v2;

namespace {

// A segment from its numbered fields, so tests say which field holds what.
std::string segment(std::string_view id,
                    std::initializer_list<std::pair<int, std::string>> fields) {
  int last = 0;
  for (const auto& [number, value] : fields) last = std::max(last, number);
  std::vector<std::string> values(static_cast<std::size_t>(last));
  for (const auto& [number, value] : fields) values[static_cast<std::size_t>(number - 1)] = value;
  std::string out(id);
  for (const std::string& value : values) out += "|" + value;
  return out;
}

// MSH-7 carries the sender's zone, which applies to PID-7 and PID-29 sent without one.
const std::string kMsh =
    "MSH|^~\\&|EMR|CLINIC|GATEWAY|CLINIC|20260121103015+0100||ADT^A28^ADT_A05|MSG1|P|2.5.1";

Message parsed(std::string_view bytes) {
  auto m = parse(bytes);
  REQUIRE_MESSAGE(m.ok(), (m.ok() ? "" : m.error().message));
  return std::move(m).value();
}

Message message_of(std::initializer_list<std::string> segments) {
  std::string bytes;
  for (const std::string& s : segments) bytes += s + "\r";
  return parsed(bytes);
}

// CLINIC is configured with a plain URI, HOSP with an OID system.
IdentifierSystems systems() {
  IdentifierSystems out;
  out.by_namespace.emplace("CLINIC", "http://clinic.example/mrn");
  out.by_namespace.emplace("HOSP", "urn:oid:1.2.840.99");
  return out;
}

json::object mapped(const Message& message) {
  auto result = map_patient(message, systems());
  REQUIRE_MESSAGE(result.ok(), (result.ok() ? "" : result.error().message));
  return std::move(result->resource);
}

// The PID that append_pid() writes for `patient` (all identifiers), alone in a new message
// without MSH-7: the written dates carry their own zones.
Message written(const json::object& patient, const IdentifierFilter& filter = {}) {
  Message out = Message::create();
  auto status = append_pid(out, patient, 1, filter, systems());
  REQUIRE_MESSAGE(status.ok(), (status.ok() ? "" : status.error().message));
  // Through the bytes, as the answer travels.
  return parsed(out.serialize());
}

// PID → Patient → PID → Patient: both Patients must be equal.
void check_round_trip(const std::string& pid) {
  CAPTURE(pid);
  const json::object first = mapped(message_of({kMsh, pid}));
  const Message again = written(first);
  CAPTURE(again.find("PID")->raw(3));
  const json::object second = mapped(again);
  CHECK_MESSAGE(second == first, json::serialize(first) << "\n  came back as\n"
                                                        << json::serialize(second));
}

// `patient` as append_pid() can give it back: without what it does not write, and with the
// telecoms in the order and with the use that PID-13 and PID-14 give them (see "what does not
// round-trip" below).
json::object comparable(json::object patient) {
  for (const char* element : {"communication", "generalPractitioner", "contact"}) {
    patient.erase(element);
  }
  if (json::value* telecoms = patient.if_contains("telecom")) {
    json::array& list = telecoms->as_array();
    for (json::value& point : list) {
      if (!point.as_object().contains("use")) point.as_object()["use"] = "home";
    }
    std::stable_partition(list.begin(), list.end(),
                          [](const json::value& point) { return point.at("use") != "work"; });
  }
  return patient;
}

json::object patient_json(std::string_view text) {
  return json::parse(text).as_object();
}

}  // namespace

TEST_CASE("a rich PID round-trips through FHIR and back to an equal Patient") {
  // What the round trip cannot carry, because append_pid() does not write it (a query answer
  // gives the patient's identity, not the whole record): PID-15 language, PD1 general
  // practitioners and NK1 contacts. A telecom without a use (only PID-40 gives one) comes
  // back as "home" from PID-13, and work telecoms come back after the others (PID-14 follows
  // PID-13). Those are left out here and tested apart below.
  check_round_trip(
      segment("PID", {{1, "1"},
                      {3,
                       // configured namespace, with a period and a type
                       "MRN1^^^CLINIC^MR^^20200101^20301231"
                       // configured namespace whose system is an OID
                       "~H7^^^HOSP^PI"
                       // namespace and OID, not configured: the OID wins
                       "~N2^^^NHS&2.16.840.1.113883.2.1.4.1&ISO^NH"
                       // &OID&ISO, &uuid&UUID (upper case, read as lower), &http://x&URI
                       "~OID7^^^&1.2.3.4&ISO^PI"
                       "~UU9^^^&6BA7B810-9DAD-11D1-80B4-00C04FD430C8&UUID"
                       "~URI5^^^&http://ids.example/x?a=1\\T\\b=2&URI"
                       // a bare namespace with a space and a percent sign, and escaped delimiters
                       "~SP1^^^Main Clinic 100%^MR"
                       "~SP2^^^A\\S\\B\\T\\C"
                       // a universal id of another type, alone
                       "~DNS4^^^&clinic.example&DNS"
                       // no assigning authority at all
                       "~BARE2"},
                      {5,
                       "D\\S\\Souza^Ada^Ngozi Amara^Jr^Dr^MD^L^^^^^20200101^20291231^PhD"
                       "~Okafor^Ada^^^^^M~Ade^^^^^^N~Smith^Jo^^^^^D^^^20100101&20151231"},
                      {6, "Eze^Chioma"},
                      {7, "19800214103000"},
                      {8, "F"},
                      {11,
                       "12 Main St^Apt 4^Springfield^IL^62701^USA^H^^Sangamon"
                       "~Building 7\\.br\\East wing^^Springfield^IL^62702^USA^B"
                       "~PO Box 9^^Springfield^IL^62703^USA^M"
                       "~1 Old Rd^^Shelbyville^IL^^USA^BA^^^^^^20100101^20151231"
                       "~9 Summer Ln^^Lakeside^MI^^USA^C^^^^^20240601&20240901"},
                      {13,
                       "^PRN^PH^^1^555^1234567^89~^NET^Internet^ada@example.org~^PRN^CP^^^^5550001"
                       "~555-7777^^FX~^^BP^^^^^^^^^555-0100~^^MD^^^^^^^^^sip:ada@example.org"},
                      {14, "^WPN^PH^^^^5559876~^NET^Internet^ada@work.example~030 555 0100"},
                      {16, "M^Married"},
                      {24, "Y"},
                      {25, "2"},
                      {29, "20250101120000.5-0500"},
                      {30, "Y"}}));
}

TEST_CASE("round trips: the other forms of dates, flags and codes") {
  // Birth date at month precision, sex A (other), the deceased and multiple birth flags.
  check_round_trip(segment("PID", {{3, "42"}, {7, "198002"}, {8, "A"}, {24, "N"}, {30, "Y"}}));
  check_round_trip(segment("PID", {{3, "42"}, {8, "U"}, {24, "Y"}, {30, "N"}}));
  // Birth time with its own zone; death at day precision.
  check_round_trip(segment("PID", {{3, "42"}, {7, "198002141030+0530"}, {29, "20250101"}}));
  // An unknown sex code reads as "unknown", which writes U.
  check_round_trip(segment("PID", {{3, "42"}, {8, "X"}}));
  // A minimal PID.
  check_round_trip(segment("PID", {{3, "42"}}));
  // Every table 0002 code, and an unknown one (kept in the v2 code system).
  for (const char* status : {"A", "D", "M", "S", "W", "C", "G", "P", "R", "E", "N", "I", "B", "U",
                             "O", "T", "S^Single", "X^Something else"}) {
    check_round_trip(segment("PID", {{3, "42"}, {16, status}}));
  }
  // Every name type of table 0200 that maps to a name use.
  for (const char* type : {"L", "R", "D", "M", "N", "A", "MSK", "NAV", "TEMP", "BAD"}) {
    check_round_trip(segment("PID", {{3, "42"}, {5, std::string("Doe^Jo^^^^^") + type}}));
  }
  // Every address type of table 0190 that maps to a use or type.
  for (const char* type : {"H", "B", "O", "C", "BA", "BI", "M", "SH"}) {
    check_round_trip(segment("PID", {{3, "42"}, {11, std::string("1 Rd^^Town^^^^") + type}}));
  }
}

TEST_CASE("what does not round-trip: language, practitioner, contacts, telecom order and use") {
  const json::object first = mapped(message_of({
      kMsh,
      segment("PID", {{3, "42"},
                      {13, "^WPN^PH^^^^111~^PRN^PH^^^^222"},
                      {15, "de^German"},
                      {40, "^^PH^^^^333"}}),
      segment("PD1", {{4, "D1^Hausarzt^Hans"}}),
      segment("NK1", {{1, "1"}, {2, "Doe^Jo"}, {3, "SPO"}}),
  }));
  const json::object second = mapped(written(first));
  // Not written: a query answer's PID carries identity and demographics only.
  for (const std::string element : {"communication", "generalPractitioner", "contact"}) {
    CAPTURE(element);
    CHECK(first.contains(element));
    CHECK_FALSE(second.contains(element));
  }
  // Work telecoms go to PID-14, the others to PID-13, so they come back after the home ones;
  // one without a use (only PID-40 has none) comes back from PID-13 as "home".
  CHECK(first.at("telecom") == json::parse(R"([
      {"system":"phone","value":"111","use":"work"},
      {"system":"phone","value":"222","use":"home"},
      {"system":"phone","value":"333"}])"));
  CHECK(second.at("telecom") == json::parse(R"([
      {"system":"phone","value":"222","use":"home"},
      {"system":"phone","value":"333","use":"home"},
      {"system":"phone","value":"111","use":"work"}])"));
}

TEST_CASE("the identifier forms are written as CX-4 says them") {
  const json::object patient = patient_json(R"({"resourceType":"Patient","identifier":[
      {"system":"http://clinic.example/mrn","value":"1","type":{"coding":[{"system":
        "http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}]}},
      {"system":"urn:oid:1.2.840.99","value":"2"},
      {"system":"urn:oid:1.2.3","value":"3"},
      {"system":"urn:uuid:6ba7b810-9dad-11d1-80b4-00c04fd430c8","value":"4"},
      {"system":"urn:cg:authority:Main%20Clinic%20100%25","value":"5"},
      {"system":"http://x.example/ids","value":"6"},
      {"value":"7"},
      {"system":"http://x.example/empty"}]})");
  const Message pid = written(patient);
  CHECK(pid.find("PID")->raw(3) ==
        "1^^^CLINIC^MR"
        "~2^^^HOSP&1.2.840.99&ISO"
        "~3^^^&1.2.3&ISO"
        "~4^^^&6ba7b810-9dad-11d1-80b4-00c04fd430c8&UUID"
        "~5^^^Main Clinic 100%"
        "~6^^^&http://x.example/ids&URI"
        "~7");
}

TEST_CASE("assigning_authority() is the inverse of identifier_system() for every rule") {
  const IdentifierSystems configured = systems();
  struct Case {
    std::string system;
    AssigningAuthority authority;
  };
  const Case cases[] = {
      {"http://clinic.example/mrn", {"CLINIC", "", ""}},
      {"urn:oid:1.2.840.99", {"HOSP", "1.2.840.99", "ISO"}},
      {"urn:oid:2.16.840.1.113883.2.1.4.1", {"", "2.16.840.1.113883.2.1.4.1", "ISO"}},
      {"urn:uuid:6ba7b810-9dad-11d1-80b4-00c04fd430c8",
       {"", "6ba7b810-9dad-11d1-80b4-00c04fd430c8", "UUID"}},
      {"urn:cg:authority:OTHER", {"OTHER", "", ""}},
      {"urn:cg:authority:Main%20Clinic%20100%25", {"Main Clinic 100%", "", ""}},
      {"urn:cg:authority:A%5EB%26C~%5C", {"A^B&C~\\", "", ""}},
      {"urn:cg:authority:clinic.example", {"clinic.example", "", ""}},
      {"http://x.example/ids", {"", "http://x.example/ids", "URI"}},
      {"https://x.example/ids?a=1&b=2", {"", "https://x.example/ids?a=1&b=2", "URI"}},
  };
  for (const Case& c : cases) {
    CAPTURE(c.system);
    const AssigningAuthority a = assigning_authority(c.system, configured);
    CHECK(a.namespace_id == c.authority.namespace_id);
    CHECK(a.universal_id == c.authority.universal_id);
    CHECK(a.universal_id_type == c.authority.universal_id_type);
    CHECK(identifier_system(a.namespace_id, a.universal_id, a.universal_id_type, configured) ==
          c.system);
  }
  // No system, no authority (rule 5 both ways).
  const AssigningAuthority none = assigning_authority("", configured);
  CHECK(none.namespace_id.empty());
  CHECK(none.universal_id.empty());
  CHECK(none.universal_id_type.empty());
  CHECK(identifier_system("", "", "", configured).empty());
}

TEST_CASE("the identifier filter admits the query's domains and skips the one asked about") {
  const IdentifierKey a{"urn:oid:1.1", "A1"};
  const IdentifierKey b{"urn:oid:2.2", "B1"};
  const IdentifierKey none{"", "C1"};
  const IdentifierFilter all;
  CHECK(all.admits(a));
  CHECK(all.admits(none));
  const IdentifierFilter domains{{"urn:oid:2.2", "urn:oid:3.3"}, std::nullopt};
  CHECK_FALSE(domains.admits(a));
  CHECK(domains.admits(b));
  CHECK_FALSE(domains.admits(none));
  const IdentifierFilter skip{{}, a};
  CHECK_FALSE(skip.admits(a));
  CHECK(skip.admits({"urn:oid:1.1", "A2"}));  // same system, other value
  CHECK(skip.admits(b));
  const IdentifierFilter both{{"urn:oid:1.1"}, a};
  CHECK_FALSE(both.admits(a));
  CHECK(both.admits({"urn:oid:1.1", "A2"}));
  CHECK_FALSE(both.admits(b));
}

TEST_CASE("listed identifiers keep the resource's order and need a value") {
  const json::object patient = patient_json(R"({"resourceType":"Patient","identifier":[
      {"system":"urn:oid:2.2","value":"B1"},
      "not an object",
      {"system":"urn:oid:1.1","value":"A1"},
      {"system":"urn:oid:1.1"},
      {"value":"C1"},
      {"system":"urn:oid:1.1","value":"A2"}]})");
  CHECK(listed_identifiers(patient, {}) ==
        std::vector<IdentifierKey>{
            {"urn:oid:2.2", "B1"}, {"urn:oid:1.1", "A1"}, {"", "C1"}, {"urn:oid:1.1", "A2"}});
  CHECK(listed_identifiers(patient, {{"urn:oid:1.1"}, IdentifierKey{"urn:oid:1.1", "A1"}}) ==
        std::vector<IdentifierKey>{{"urn:oid:1.1", "A2"}});
  CHECK(listed_identifiers(patient_json(R"({"resourceType":"Patient"})"), {}).empty());
  CHECK(listed_identifiers(patient_json(R"({"identifier":{"value":"x"}})"), {}).empty());
}

TEST_CASE("append_pid lists only the filtered identifiers, with the set id") {
  const json::object patient = patient_json(R"({"resourceType":"Patient","identifier":[
      {"system":"urn:oid:1.1","value":"A1"},{"system":"urn:oid:2.2","value":"B1"}],
      "name":[{"family":"Doe"}],"gender":"male"})");
  Message answer = Message::create();
  REQUIRE(append_pid(answer, patient, 1, {}, systems()).ok());
  REQUIRE(append_pid(answer, patient, 2, {{"urn:oid:2.2"}, std::nullopt}, systems()).ok());
  REQUIRE(append_pid(answer, patient, 3, {{"urn:oid:9.9"}, std::nullopt}, systems()).ok());
  CHECK(answer.serialize() ==
        "MSH|^~\\&\r"
        "PID|1||A1^^^&1.1&ISO~B1^^^&2.2&ISO||Doe|||M\r"
        "PID|2||B1^^^&2.2&ISO||Doe|||M\r"
        "PID|3||||Doe|||M\r");
}

TEST_CASE("a PIX answer's PID has PID-3 and the pseudonym name \"~^^^^^^S\" only") {
  const json::object patient = patient_json(R"({"resourceType":"Patient","identifier":[
      {"system":"http://clinic.example/mrn","value":"MRN1"},
      {"system":"urn:oid:1.2.3","value":"X9","type":{"coding":[{"system":
        "http://terminology.hl7.org/CodeSystem/v2-0203","code":"PI"}]}},
      {"system":"urn:oid:4.5.6","value":"Y8"}],
      "name":[{"family":"Doe","given":["Jo"]}],"gender":"female","birthDate":"1980-01-01",
      "address":[{"city":"Town"}],"telecom":[{"system":"phone","value":"555"}]})");
  Message answer = Message::create();
  const IdentifierFilter skip_asked{{}, IdentifierKey{"http://clinic.example/mrn", "MRN1"}};
  REQUIRE(append_identifiers_pid(answer, patient, skip_asked, systems()).ok());
  CHECK(answer.serialize() ==
        "MSH|^~\\&\r"
        "PID|1||X9^^^&1.2.3&ISO^PI~Y8^^^&4.5.6&ISO||~^^^^^^S\r");
  Message domains = Message::create();
  REQUIRE(
      append_identifiers_pid(domains, patient, {{"urn:oid:4.5.6"}, std::nullopt}, systems()).ok());
  CHECK(domains.find("PID")->raw(3) == "Y8^^^&4.5.6&ISO");
  CHECK(domains.find("PID")->raw(5) == "~^^^^^^S");
  CHECK(domains.find("PID")->field_count() == 5);
}

TEST_CASE("the writer ignores what is not FHIR it can use") {
  // Wrong JSON types, invalid dates and unknown codes leave their fields empty.
  const json::object patient = patient_json(R"({"resourceType":"Patient",
      "identifier":[{"system":"urn:oid:1.2","value":"V"}],
      "name":"Doe","birthDate":"1980-02-30","gender":"alien","address":[{"use":"moon"}],
      "telecom":[{"system":"phone"}],"maritalStatus":{"coding":[{"system":"http://x","code":"M"}]},
      "multipleBirthInteger":"2","deceasedDateTime":"yesterday"})");
  const Message pid = written(patient);
  CHECK(pid.serialize() == "MSH|^~\\&\rPID|1||V^^^&1.2&ISO\r");
}

TEST_CASE("every PID of the IPF corpus round-trips") {
  const fs::path ipf = fs::path(CG_SHARED_DATA) / "hl7v2" / "ipf";
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(ipf, ec)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  if (files.empty()) {
    MESSAGE("skipped: " << ipf.string() << " is absent");
    return;
  }
  std::sort(files.begin(), files.end());
  int patients = 0;
  for (const fs::path& file : files) {
    std::ifstream in(file, std::ios::binary);
    const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    for (std::string_view part : split_messages(bytes)) {
      auto message = parse(part);
      REQUIRE(message.ok());
      for (int pid = 1; pid <= message->count("PID"); ++pid) {
        const std::string name = file.filename().string();
        CAPTURE(name);
        CAPTURE(pid);
        auto first = map_patient(*message, systems(), pid);
        if (!first) continue;  // unmappable PIDs are patient_map's business
        ++patients;
        Message answer = Message::create();
        REQUIRE(append_pid(answer, first->resource, 1, {}, systems()).ok());
        auto second = map_patient(parsed(answer.serialize()), systems());
        REQUIRE(second.ok());
        const json::object expected = comparable(first->resource);
        CHECK_MESSAGE(second->resource == expected, json::serialize(expected)
                                                        << "\n  came back as\n"
                                                        << json::serialize(second->resource));
      }
    }
  }
  MESSAGE(patients << " patients");
  CHECK(patients >= 20);
}
