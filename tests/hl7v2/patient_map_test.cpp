#include "protocols/hl7v2/patient_map.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "protocols/fhir/model/validation.hpp"
#include "protocols/hl7v2/error.hpp"
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

const std::string kMsh =
    "MSH|^~\\&|EMR|CLINIC|GATEWAY|CLINIC|20260121103015+0100||ADT^A01^ADT_A01|"
    "MSG0001|P|2.5.1";
const std::string kMshNoZone =
    "MSH|^~\\&|EMR|CLINIC|GATEWAY|CLINIC|20260121103015||ADT^A01|MSG0002|P|2.5";

Message message_of(std::initializer_list<std::string> segments) {
  std::string bytes;
  for (const std::string& s : segments) bytes += s + "\r";
  auto parsed = parse(bytes);
  REQUIRE_MESSAGE(parsed.ok(), parsed.error().message);
  return std::move(parsed).value();
}

IdentifierSystems clinic_systems() {
  IdentifierSystems systems;
  systems.by_namespace.emplace("CLINIC", "http://clinic.example/mrn");
  return systems;
}

std::string issues_of(const json::object& resource) {
  std::string out;
  for (const auto& issue : cg::fhir::validate_structure(resource)) {
    out += issue.path + ": " + issue.message + "\n";
  }
  return out;
}

// Maps and checks that the Patient is structurally valid FHIR.
MappedPatient mapped(const Message& message, int occurrence = 1) {
  auto result = map_patient(message, clinic_systems(), occurrence);
  REQUIRE_MESSAGE(result.ok(), result.error().message << " " << result.error().location);
  std::string issues = issues_of(result->resource);
  CHECK_MESSAGE(issues.empty(), issues << json::serialize(result->resource));
  return std::move(result).value();
}

ErrorLocation location_of(const cg::Error& error) {
  auto location = error_location(error);
  return location ? *location : ErrorLocation{};
}

void check_error(const cg::Result<MappedPatient>& result, ErrorCode code, ErrorLocation where) {
  REQUIRE_FALSE(result.ok());
  CHECK(error_code(result.error()) == code);
  ErrorLocation actual = location_of(result.error());
  CHECK(actual.segment == where.segment);
  CHECK(actual.field == where.field);
  CHECK(actual.repetition == where.repetition);
  CHECK(actual.component == where.component);
  if (!where.segment.empty()) CHECK(std::max(actual.segment_sequence, 1) == where.segment_sequence);
}

json::value parse_json(std::string_view text) {
  return json::parse(text);
}

}  // namespace

TEST_CASE("a rich ADT^A01 maps to a complete Patient") {
  Message message = message_of({
      kMsh,
      "EVN|A01|20260121103015+0100",
      segment("PID",
              {{1, "1"},
               {3,
                "MRN123^^^CLINIC^MR"
                "~9876543210^^^NHS&2.16.840.1.113883.2.1.4.1&ISO^NH^^20200101^20301231"
                "~X55^^^&1.2.3.4&ISO"
                "~P-7^^^OTHER SYS^PI"
                "~\"\"^^^CLINIC^MR"
                "~U1^^^&550E8400-E29B-41D4-A716-446655440000&UUID"
                "~W1^^^&https://ids.example/x&URI"
                "~Q9^^^CLINIC&1.2.3.4.5&ISO"},
               {5, "M\xC3\xBCller^Anna^Maria^Jr^Dr^^L~Schmidt^Anna^^^^^M~^^^^^^L"},
               {6, "Weber^Eva"},
               {7, "19850314083000"},
               {8, "F"},
               {11, "Hauptstr. 1^Apt 2^Berlin^BE^10115^DE^H~Postfach 12^^Berlin^^10001^DE^M"},
               {13,
                "^PRN^PH^^49^30^1234567~^NET^Internet^anna@example.org"
                "~^^CP^^^^^^^^^+491701234567"},
               {14, "030 555 0100^WPN^PH"},
               {15, "de^German^ISO639"},
               {16, "M^Married^HL70002"},
               {24, "Y"},
               {25, "2"}}),
      segment("PD1", {{4, "D123^Hausarzt^Hans^^^Dr^^^KV&1.2.276.0.76.4.8&ISO"}}),
      segment("NK1", {{1, "1"},
                      {2, "M\xC3\xBCller^Hans"},
                      {3, "SPO^Spouse^HL70063"},
                      {4, "Hauptstr. 1^^Berlin^^10115^DE"},
                      {5, "^PRN^PH^^^30^7654321"},
                      {6, "^WPN^PH^^^30^1111"},
                      {7, "N^Next-of-Kin^HL70131"},
                      {15, "M"}}),
      segment("NK1", {{1, "2"}, {3, "FTH^Father"}}),
      segment("NK1", {{1, "3"}, {2, "Nachbar^Nina"}, {3, "XYZ^Neighbour"}, {5, "333-4444"}}),
      "PV1|1|I",
  });
  MappedPatient patient = mapped(message);
  const json::object& p = patient.resource;

  SUBCASE("identifiers: every PID-3 repetition with a value, systems by the documented rules") {
    std::vector<IdentifierKey> expected{
        {"http://clinic.example/mrn", "MRN123"},
        {"urn:oid:2.16.840.1.113883.2.1.4.1", "9876543210"},
        {"urn:oid:1.2.3.4", "X55"},
        {"urn:cg:authority:OTHER%20SYS", "P-7"},
        {"urn:uuid:550e8400-e29b-41d4-a716-446655440000", "U1"},
        {"https://ids.example/x", "W1"},
        {"http://clinic.example/mrn", "Q9"},
    };
    CHECK(patient.identifiers == expected);
    const json::array& ids = p.at("identifier").as_array();
    REQUIRE(ids.size() == expected.size());
    CHECK(ids[0] == parse_json(R"({"type":{"coding":[{"system":
        "http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR"}]},
        "system":"http://clinic.example/mrn","value":"MRN123"})"));
    CHECK(ids[1].at("period") == parse_json(R"({"start":"2020-01-01","end":"2030-12-31"})"));
    CHECK(ids[1].at("type").at("coding").at(0).at("code") == "NH");
    CHECK_FALSE(ids[2].as_object().contains("type"));
  }

  SUBCASE("names, mother's maiden name, birth date and time, gender") {
    const json::array& names = p.at("name").as_array();
    REQUIRE(names.size() == 2);  // the third repetition holds only a name type
    CHECK(names[0] == parse_json(R"({"use":"official","family":"Müller","given":["Anna","Maria"],
        "prefix":["Dr"],"suffix":["Jr"]})"));
    CHECK(names[1] == parse_json(R"({"use":"maiden","family":"Schmidt","given":["Anna"]})"));
    CHECK(p.at("extension") == parse_json(R"([{"url":
        "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName",
        "valueString":"Eva Weber"}])"));
    CHECK(p.at("birthDate") == "1985-03-14");
    // No zone in PID-7: MSH-7's (+0100), the sender's, applies.
    CHECK(p.at("_birthDate") == parse_json(R"({"extension":[{"url":
        "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
        "valueDateTime":"1985-03-14T08:30:00+01:00"}]})"));
    CHECK(p.at("gender") == "female");
  }

  SUBCASE("addresses and telecoms") {
    CHECK(p.at("address") == parse_json(R"([
        {"use":"home","line":["Hauptstr. 1","Apt 2"],"city":"Berlin","state":"BE",
         "postalCode":"10115","country":"DE"},
        {"type":"postal","line":["Postfach 12"],"city":"Berlin","postalCode":"10001",
         "country":"DE"}])"));
    CHECK(p.at("telecom") == parse_json(R"([
        {"system":"phone","value":"+49 30 1234567","use":"home"},
        {"system":"email","value":"anna@example.org","use":"home"},
        {"system":"phone","value":"+491701234567","use":"mobile"},
        {"system":"phone","value":"030 555 0100","use":"work"}])"));
  }

  SUBCASE("language, marital status, multiple birth") {
    CHECK(p.at("communication") == parse_json(R"([{"language":{"coding":[
        {"system":"urn:ietf:bcp:47","code":"de"}],"text":"German"}}])"));
    CHECK(p.at("maritalStatus") == parse_json(R"({"coding":[{"system":
        "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus","code":"M",
        "display":"Married"}],"text":"Married"})"));
    CHECK(p.at("multipleBirthInteger") == 2);
    CHECK_FALSE(p.contains("multipleBirthBoolean"));
  }

  SUBCASE("general practitioner by identifier, never a literal reference") {
    CHECK(p.at("generalPractitioner") == parse_json(R"([{"type":"Practitioner",
        "identifier":{"system":"urn:oid:1.2.276.0.76.4.8","value":"D123"},
        "display":"Dr Hans Hausarzt"}])"));
  }

  SUBCASE("contacts: NK1 with details; one with only a relationship is left out") {
    const json::array& contacts = p.at("contact").as_array();
    REQUIRE(contacts.size() == 2);
    CHECK(contacts[0] == parse_json(R"({
        "relationship":[
          {"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0063","code":"SPO",
                      "display":"Spouse"},
                     {"system":"http://terminology.hl7.org/CodeSystem/v3-RoleCode",
                      "code":"SPS","display":"spouse"}],"text":"Spouse"},
          {"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0131","code":"N",
                      "display":"Next-of-Kin"}],"text":"Next-of-Kin"}],
        "name":{"family":"Müller","given":["Hans"]},
        "telecom":[{"system":"phone","value":"30 7654321","use":"home"},
                   {"system":"phone","value":"30 1111","use":"work"}],
        "address":{"line":["Hauptstr. 1"],"city":"Berlin","postalCode":"10115",
                   "country":"DE"},
        "gender":"male"})"));
    // An unknown relationship code keeps its v2 coding; a phone without type is a phone.
    CHECK(contacts[1] == parse_json(R"({
        "relationship":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0063",
          "code":"XYZ","display":"Neighbour"}],"text":"Neighbour"}],
        "name":{"family":"Nachbar","given":["Nina"]},
        "telecom":[{"system":"phone","value":"333-4444"}]})"));
  }

  SUBCASE("no id, no meta") {
    CHECK(p.at("resourceType") == "Patient");
    CHECK_FALSE(p.contains("id"));
    CHECK_FALSE(p.contains("meta"));
  }
}

TEST_CASE("a minimal PID maps to identifiers only") {
  MappedPatient patient = mapped(message_of({kMshNoZone, "PID|||12345"}));
  CHECK(patient.identifiers == std::vector<IdentifierKey>{{"", "12345"}});
  CHECK(patient.resource == parse_json(R"({"resourceType":"Patient",
      "identifier":[{"value":"12345"}]})"));
}

TEST_CASE("HL7 nulls and empty values are left out") {
  MappedPatient patient = mapped(message_of({
      kMshNoZone,
      segment("PID", {{3, "1^^^CLINIC"},
                      {5, "\"\""},
                      {6, "\"\""},
                      {7, "\"\""},
                      {8, "\"\""},
                      {11, "\"\"^^Foo^NW^11000^DE^H"},
                      {13, "\"\""},
                      {16, "\"\""}}),
  }));
  CHECK(patient.resource == parse_json(R"({"resourceType":"Patient",
      "identifier":[{"system":"http://clinic.example/mrn","value":"1"}],
      "address":[{"use":"home","city":"Foo","state":"NW","postalCode":"11000","country":"DE"}]
      })"));
}

TEST_CASE("birth time without any zone keeps only the birth date") {
  MappedPatient patient = mapped(message_of({kMshNoZone, "PID|||1||Doe^J||19400101000000|M"}));
  CHECK(patient.resource.at("birthDate") == "1940-01-01");
  CHECK_FALSE(patient.resource.contains("_birthDate"));
  CHECK(patient.resource.at("gender") == "male");
}

TEST_CASE("birth time with its own zone") {
  MappedPatient patient = mapped(message_of({kMshNoZone, "PID|||1||||202601210730-0500"}));
  CHECK(patient.resource.at("birthDate") == "2026-01-21");
  CHECK(patient.resource.at("_birthDate").at("extension").at(0).at("valueDateTime") ==
        "2026-01-21T07:30:00-05:00");
}

TEST_CASE("administrative sex follows table 0001; unknown codes read as unknown") {
  for (auto [code, gender] :
       {std::pair{"M", "male"}, std::pair{"F", "female"}, std::pair{"O", "other"},
        std::pair{"U", "unknown"}, std::pair{"A", "other"}, std::pair{"N", "other"},
        std::pair{"X", "unknown"}, std::pair{"f", "female"}}) {
    CAPTURE(code);
    MappedPatient patient = mapped(message_of({kMshNoZone, segment("PID", {{3, "1"}, {8, code}})}));
    CHECK(patient.resource.at("gender") == gender);
  }
}

TEST_CASE("death: a date/time, else the indicator") {
  MappedPatient dead_at =
      mapped(message_of({kMsh, segment("PID", {{3, "1"}, {29, "202601201200"}, {30, "Y"}})}));
  CHECK(dead_at.resource.at("deceasedDateTime") == "2026-01-20T12:00:00+01:00");
  CHECK_FALSE(dead_at.resource.contains("deceasedBoolean"));
  MappedPatient dead = mapped(message_of({kMsh, segment("PID", {{3, "1"}, {30, "Y"}})}));
  CHECK(dead.resource.at("deceasedBoolean") == true);
  MappedPatient alive = mapped(message_of({kMsh, segment("PID", {{3, "1"}, {30, "N"}})}));
  CHECK(alive.resource.at("deceasedBoolean") == false);
}

TEST_CASE("multiple birth: the indicator when no birth order is given") {
  MappedPatient twin = mapped(message_of({kMsh, segment("PID", {{3, "1"}, {24, "Y"}})}));
  CHECK(twin.resource.at("multipleBirthBoolean") == true);
  MappedPatient single = mapped(message_of({kMsh, segment("PID", {{3, "1"}, {24, "N"}})}));
  CHECK(single.resource.at("multipleBirthBoolean") == false);
}

TEST_CASE("name types, address types and telecom equipment follow the IG's tables") {
  MappedPatient patient = mapped(message_of({
      kMsh,
      segment("PID",
              {{3, "1"},
               {5, "A^B^^^^^D~C^D^^^^^N~E^^^^^^A~F^^^^^^MSK~G^^^^^^TEMP~H^^^^^^BAD~I^^^^^^ZZ"},
               {11, "a^^^^^^B~b^^^^^^O~c^^^^^^C~d^^^^^^BA~e^^^^^^BI~f^^^^^^SH~g^^^^^^ZZ"},
               {13, "1^^FX~2^^BP~3^^X.400^x@y.example~4^^TTY~5^^ZZ"}}),
  }));
  std::vector<std::string> uses;
  for (const auto& name : patient.resource.at("name").as_array()) {
    const json::value* use = name.as_object().if_contains("use");
    uses.push_back(use ? std::string(use->as_string()) : "-");
  }
  CHECK(uses == std::vector<std::string>{"usual", "nickname", "anonymous", "anonymous", "temp",
                                         "old", "-"});
  std::vector<std::string> addresses;
  for (const auto& address : patient.resource.at("address").as_array()) {
    const json::object& a = address.as_object();
    std::string kind = a.contains("use") ? std::string(a.at("use").as_string()) : "-";
    kind += "/";
    kind += a.contains("type") ? std::string(a.at("type").as_string()) : "-";
    addresses.push_back(kind);
  }
  CHECK(addresses == std::vector<std::string>{"work/-", "work/-", "temp/-", "old/-", "billing/-",
                                              "-/postal", "-/-"});
  std::vector<std::string> systems;
  for (const auto& point : patient.resource.at("telecom").as_array()) {
    systems.push_back(std::string(point.at("system").as_string()) + ":" +
                      std::string(point.at("value").as_string()));
  }
  CHECK(systems ==
        std::vector<std::string>{"fax:1", "pager:2", "email:x@y.example", "other:4", "other:5"});
}

TEST_CASE("telephone numbers from their parts, with an extension") {
  MappedPatient patient = mapped(message_of({
      kMsh,
      segment("PID", {{3, "1"}, {13, "^PRN^PH^^1^555^1234567^89"}, {14, "^^PH^^^555^7654321"}}),
  }));
  CHECK(patient.resource.at("telecom") == parse_json(R"([
      {"system":"phone","value":"+1 555 1234567 X89","use":"home"},
      {"system":"phone","value":"555 7654321","use":"work"}])"));
}

TEST_CASE("an unknown marital status code is kept in table 0002's system") {
  MappedPatient patient = mapped(message_of({kMsh, segment("PID", {{3, "1"}, {16, "Q^Quirky"}})}));
  CHECK(patient.resource.at("maritalStatus") == parse_json(R"({"coding":[{"system":
      "http://terminology.hl7.org/CodeSystem/v2-0002","code":"Q","display":"Quirky"}],
      "text":"Quirky"})"));
}

TEST_CASE("identifier systems: configuration, universal ids, stable fallbacks") {
  IdentifierSystems systems = clinic_systems();
  CHECK(identifier_system("CLINIC", "", "", systems) == "http://clinic.example/mrn");
  CHECK(identifier_system("CLINIC", "1.2.3", "ISO", systems) == "http://clinic.example/mrn");
  CHECK(identifier_system("X", "1.2.3", "ISO", systems) == "urn:oid:1.2.3");
  CHECK(identifier_system("", "1.2.3", "iso", systems) == "urn:oid:1.2.3");
  CHECK(identifier_system("", "urn:x:y", "URI", systems) == "urn:x:y");
  CHECK(identifier_system("", "http://a.example/b", "URL", systems) == "http://a.example/b");
  CHECK(identifier_system("", "550e8400-e29b-41d4-a716-446655440000", "GUID", systems) ==
        "urn:uuid:550e8400-e29b-41d4-a716-446655440000");
  CHECK(identifier_system("Dom 1/ä", "", "", systems) == "urn:cg:authority:Dom%201%2F%C3%A4");
  // A universal id that is not what its type says falls back like an unknown type.
  CHECK(identifier_system("NS", "not an oid", "ISO", systems) == "urn:cg:authority:NS");
  CHECK(identifier_system("", "host.example", "DNS", systems) == "urn:cg:authority:host.example");
  CHECK(identifier_system("", "", "", systems) == "");
}

TEST_CASE("errors carry their HL7 code and location") {
  SUBCASE("no PID: 100 at message level") {
    auto result = map_patient(message_of({kMsh, "EVN|A01"}), clinic_systems());
    check_error(result, ErrorCode::kSegmentSequenceError, {});
  }
  SUBCASE("asking for a PID occurrence that does not exist: 100") {
    auto result = map_patient(message_of({kMsh, "PID|||1"}), clinic_systems(), 2);
    check_error(result, ErrorCode::kSegmentSequenceError, {});
  }
  SUBCASE("PID-3 empty: 101 at PID-3") {
    auto result = map_patient(message_of({kMsh, "PID|1||||Doe^John"}), clinic_systems());
    check_error(result, ErrorCode::kRequiredFieldMissing, {"PID", 1, 3});
  }
  SUBCASE("PID-3 with only nulls and authorities: 101 at PID-3") {
    auto result =
        map_patient(message_of({kMsh, "PID|1||\"\"^^^CLINIC~^^^&1.2.3&ISO"}), clinic_systems());
    check_error(result, ErrorCode::kRequiredFieldMissing, {"PID", 1, 3});
  }
  SUBCASE("PID-7 not a date: 102 at PID-7") {
    for (const char* bad : {"19851345", "1985-03-14", "yesterday", "198503141"}) {
      CAPTURE(bad);
      auto result =
          map_patient(message_of({kMsh, segment("PID", {{3, "1"}, {7, bad}})}), clinic_systems());
      check_error(result, ErrorCode::kDataTypeError, {"PID", 1, 7});
    }
  }
  SUBCASE("PID-29 not a date: 102 at PID-29") {
    auto result = map_patient(message_of({kMsh, segment("PID", {{3, "1"}, {29, "2026013"}})}),
                              clinic_systems());
    check_error(result, ErrorCode::kDataTypeError, {"PID", 1, 29});
  }
  SUBCASE("an identifier's expiry date invalid: 102 at its repetition and component") {
    auto result = map_patient(message_of({kMsh, "PID|||1^^^CLINIC~2^^^CLINIC^MR^^^20261399"}),
                              clinic_systems());
    check_error(result, ErrorCode::kDataTypeError, {"PID", 1, 3, 2, 8});
  }
  SUBCASE("PID-25 not a number: 102 at PID-25") {
    auto result = map_patient(message_of({kMsh, segment("PID", {{3, "1"}, {25, "second"}})}),
                              clinic_systems());
    check_error(result, ErrorCode::kDataTypeError, {"PID", 1, 25});
  }
  SUBCASE("the second patient's error names the second PID") {
    auto result =
        map_patient(message_of({kMsh, "PID|||1", "PID|||2||||19851301"}), clinic_systems(), 2);
    check_error(result, ErrorCode::kDataTypeError, {"PID", 2, 7});
  }
}

TEST_CASE("each PID takes the PD1 and NK1 segments of its own group") {
  Message message = message_of({
      kMsh,
      "PID|||1^^^CLINIC",
      "NK1|1|First^Contact|SPO",
      "PID|||2^^^CLINIC",
      "PD1||||D9^Doc^Second",
      "NK1|1|Second^Contact|CHD",
  });
  MappedPatient first = mapped(message, 1);
  MappedPatient second = mapped(message, 2);
  CHECK(first.identifiers == std::vector<IdentifierKey>{{"http://clinic.example/mrn", "1"}});
  CHECK(second.identifiers == std::vector<IdentifierKey>{{"http://clinic.example/mrn", "2"}});
  REQUIRE(first.resource.at("contact").as_array().size() == 1);
  CHECK(first.resource.at("contact").at(0).at("name").at("family") == "First");
  CHECK_FALSE(first.resource.contains("generalPractitioner"));
  REQUIRE(second.resource.at("contact").as_array().size() == 1);
  CHECK(second.resource.at("contact").at(0).at("name").at("family") == "Second");
  CHECK(second.resource.at("generalPractitioner").at(0).at("display") == "Second Doc");
}

TEST_CASE("merged identifiers come from MRG-1") {
  Message merge = message_of({
      "MSH|^~\\&|A|B|C|D|20260121||ADT^A40^ADT_A39|1|P|2.5",
      "EVN|A40",
      "PID|||NEW1^^^CLINIC",
      "MRG|OLD1^^^CLINIC~OLD2^^^&1.2.3&ISO~\"\"^^^CLINIC|||OLDVISIT",
  });
  auto keys = merged_identifiers(merge, clinic_systems());
  REQUIRE(keys.ok());
  CHECK(*keys == std::vector<IdentifierKey>{{"http://clinic.example/mrn", "OLD1"},
                                            {"urn:oid:1.2.3", "OLD2"}});

  auto none = merged_identifiers(message_of({kMsh, "PID|||1"}), clinic_systems());
  REQUIRE_FALSE(none.ok());
  CHECK(error_code(none.error()) == ErrorCode::kSegmentSequenceError);

  auto empty = merged_identifiers(message_of({kMsh, "PID|||1", "MRG|\"\"|||V1"}), clinic_systems());
  REQUIRE_FALSE(empty.ok());
  CHECK(error_code(empty.error()) == ErrorCode::kRequiredFieldMissing);
  CHECK(location_of(empty.error()).segment == "MRG");
  CHECK(location_of(empty.error()).field == 1);
}

// ---------------------------------------------------------------------------------------------
// The IPF corpus: every ADT message maps (or is listed with the reason it cannot).

namespace {

const fs::path kIpf = fs::path(CG_SHARED_DATA) / "hl7v2" / "ipf";

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Corpus messages that legitimately cannot map, and the error they must give.
const std::map<std::string, ErrorCode> kUnmappable{
    // An ADT^A01 cut off after EVN: there is no PID at all.
    {"platform-camel_ihe_mllp__iti8_iti8-a01-incomplete.hl7", ErrorCode::kSegmentSequenceError},
};

}  // namespace

TEST_CASE("every ADT message of the IPF corpus maps to a valid Patient") {
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
  int adt = 0;
  int merges = 0;
  for (const fs::path& file : files) {
    std::string bytes = read_file(file);
    for (std::string_view part : split_messages(bytes)) {
      auto message = parse(part);
      REQUIRE(message.ok());
      if (read_header(*message).type.code != "ADT") continue;
      ++adt;
      std::string name = file.filename().string();
      CAPTURE(name);
      auto result = map_patient(*message, clinic_systems());
      if (auto it = kUnmappable.find(name); it != kUnmappable.end()) {
        REQUIRE_FALSE(result.ok());
        CHECK(error_code(result.error()) == it->second);
        continue;
      }
      REQUIRE_MESSAGE(result.ok(), result.error().message << " " << result.error().location);
      CHECK_FALSE(result->identifiers.empty());
      std::string issues = issues_of(result->resource);
      CHECK_MESSAGE(issues.empty(), issues << json::serialize(result->resource));
      if (message->find("MRG") != nullptr) {
        ++merges;
        auto merged = merged_identifiers(*message, clinic_systems());
        REQUIRE_MESSAGE(merged.ok(), merged.error().message);
        CHECK_FALSE(merged->empty());
      }
    }
  }
  MESSAGE(adt << " ADT messages, " << merges << " merges");
  CHECK(adt >= 20);
}

TEST_CASE("IPF samples: identifiers, names and addresses as the IG maps them") {
  fs::path reg =
      kIpf / "commons_ihe_hl7v3__translation_pixfeed_v2_PIX_FEED_REG_Maximal_Request.hl7";
  if (!fs::exists(reg)) {
    MESSAGE("skipped: " << kIpf.string() << " is absent");
    return;
  }
  auto load = [](const fs::path& path) {
    auto m = parse(read_file(path));
    REQUIRE(m.ok());
    return std::move(m).value();
  };
  MappedPatient pix = mapped(load(reg));
  CHECK(pix.identifiers ==
        std::vector<IdentifierKey>{{"urn:oid:1.3.6.1.4.1.21367.2005.1.1", "PIX10515W3"},
                                   {"urn:oid:1.2.3.4.5.1000", "PIX10515W4"},
                                   {"urn:cg:authority:domain2", "PIX10515W5"}});

  MappedPatient sap = mapped(load(kIpf / "platform-camel_ihe_mllp__iti8_hl7v2message.hl7"));
  CHECK(sap.identifiers == std::vector<IdentifierKey>{{"", "72001173A"}});
  CHECK(sap.resource.at("birthDate") == "1953-04-29");
  CHECK(sap.resource.at("telecom") == parse_json(R"([
      {"system":"phone","value":"012-0001","use":"home"},
      {"system":"email","value":"eisner@t-online.de","use":"home"}])"));
  CHECK(sap.resource.at("maritalStatus").at("coding").at(0).at("code") == "M");

  auto merge = merged_identifiers(load(kIpf / "platform-camel_ihe_mllp__iti8_iti8-a40.hl7"),
                                  clinic_systems());
  REQUIRE(merge.ok());
  CHECK(*merge ==
        std::vector<IdentifierKey>{{"", "305010"},
                                   {"urn:oid:2.16.840.1.113883.3.37.4.1.1.2.611.1", "7200117359"}});
}
