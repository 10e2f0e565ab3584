#include "protocols/hl7v2/encounter_map.hpp"

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

std::string msh(std::string_view trigger) {
  return "MSH|^~\\&|EMR|CLINIC|GATEWAY|CLINIC|20260121103015+0100||ADT^" + std::string(trigger) +
         "|MSG0001|P|2.5.1";
}
const std::string kPid = "PID|1||M-1^^^CLINIC^MR||Okafor^Ada||19900101|F";

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
  systems.by_namespace.emplace("VISITS", "http://clinic.example/visit");
  return systems;
}

std::string issues_of(const json::object& resource) {
  std::string out;
  for (const auto& issue : cg::fhir::validate_structure(resource)) {
    out += issue.path + ": " + issue.message + "\n";
  }
  return out;
}

// A full admit: visit number, class, locations, doctors, times, reason.
std::string full_pv1() {
  return segment("PV1", {{1, "1"},
                         {2, "I"},
                         {3, "WARD3^301^B^GENHOSP"},
                         {4, "E^Emergency"},
                         {6, "ER^1^^GENHOSP"},
                         {7, "1234^Kamau^Wanjiru^^^Dr^^^NPI&2.16.840.1.113883.4.6&ISO"},
                         {8, "5678^Otieno^Baraka"},
                         {10, "MED^Medical service"},
                         {14, "7^Emergency room"},
                         {17, "1234^Kamau^Wanjiru"},
                         {19, "V-100^^^VISITS^VN"},
                         {36, "01^Discharged to home"},
                         {44, "202601210915"},
                         {45, ""}});
}

// Maps and checks that the Encounter is structurally valid FHIR.
MappedEncounter mapped(const Message& message, std::string_view trigger) {
  auto result = map_encounter(message, clinic_systems(), trigger);
  REQUIRE_MESSAGE(result.ok(), result.error().message << " " << result.error().location);
  std::string issues = issues_of(result->resource);
  CHECK_MESSAGE(issues.empty(), issues << json::serialize(result->resource));
  return std::move(result).value();
}

ErrorLocation location_of(const cg::Error& error) {
  auto location = error_location(error);
  return location ? *location : ErrorLocation{};
}

std::string status_of(std::string_view trigger, const std::string& pv1) {
  Message m = message_of({msh(trigger), kPid, pv1});
  return std::string(mapped(m, trigger).resource.at("status").as_string());
}

}  // namespace

TEST_CASE("an admit maps PV1 and PV2 to an Encounter keyed by its visit number") {
  Message m = message_of(
      {msh("A01^ADT_A01"), "EVN|A01|20260121103015", kPid, full_pv1(), "PV2|||CP^Chest pain^I10"});
  MappedEncounter e = mapped(m, "A01");
  REQUIRE(e.identifiers.size() == 1);
  CHECK(e.identifiers[0] == IdentifierKey{"http://clinic.example/visit", "V-100"});
  const json::object& r = e.resource;
  CHECK(r.at("resourceType") == "Encounter");
  CHECK(r.at("status") == "in-progress");
  CHECK(r.at("class") ==
        json::object{{"system", "http://terminology.hl7.org/CodeSystem/v3-ActCode"},
                     {"code", "IMP"},
                     {"display", "inpatient encounter"}});
  const auto& id = r.at("identifier").as_array().at(0).as_object();
  CHECK(id.at("value") == "V-100");
  CHECK(id.at("type").at("coding").at(0).at("code") == "VN");
  CHECK(r.at("type").at(0).at("coding").at(0).at("code") == "E");
  CHECK(r.at("serviceType").at("coding").at(0).at("code") == "MED");
  CHECK(r.at("period") == json::object{{"start", "2026-01-21T09:15:00+01:00"}});
  CHECK(r.at("hospitalization").at("admitSource").at("coding").at(0).at("code") == "7");
  CHECK(r.at("hospitalization").at("dischargeDisposition").at("text") == "Discharged to home");
  const auto& reason = r.at("reasonCode").at(0).at("coding").at(0);
  CHECK(reason.at("system") == "http://hl7.org/fhir/sid/icd-10");
  CHECK(reason.at("code") == "CP");

  const auto& participants = r.at("participant").as_array();
  REQUIRE(participants.size() == 3);
  CHECK(participants[0].at("type").at(0).at("coding").at(0).at("code") == "ATND");
  const auto& attender = participants[0].at("individual").as_object();
  CHECK(attender.at("type") == "Practitioner");
  CHECK(attender.at("identifier") ==
        json::object{{"system", "urn:oid:2.16.840.1.113883.4.6"}, {"value", "1234"}});
  CHECK(attender.at("display") == "Dr Wanjiru Kamau");
  CHECK_FALSE(attender.contains("reference"));
  CHECK(participants[1].at("type").at(0).at("coding").at(0).at("code") == "REF");
  CHECK(participants[2].at("type").at(0).at("coding").at(0).at("code") == "ADM");

  const auto& locations = r.at("location").as_array();
  REQUIRE(locations.size() == 2);
  const auto& bed = locations[0].as_object();
  CHECK(bed.at("status") == "active");
  CHECK(bed.at("location").at("type") == "Location");
  CHECK(bed.at("location").at("identifier") ==
        json::object{{"system", "urn:cg:authority:GENHOSP"}, {"value", "WARD3^301^B"}});
  CHECK(bed.at("location").at("display") == "WARD3 room 301 bed B (GENHOSP)");
  CHECK_FALSE(bed.at("location").as_object().contains("reference"));
  CHECK(locations[1].at("status") == "completed");
  CHECK(locations[1].at("location").at("identifier").at("value") == "ER^1");
}

TEST_CASE("the event decides the status; A08 takes it from PV1") {
  const std::string pv1 = full_pv1();
  CHECK(status_of("A01", pv1) == "in-progress");
  CHECK(status_of("A02", pv1) == "in-progress");
  CHECK(status_of("A03", pv1) == "finished");
  CHECK(status_of("A04", pv1) == "in-progress");
  CHECK(status_of("A05", pv1) == "planned");
  CHECK(status_of("A06", pv1) == "in-progress");
  CHECK(status_of("A11", pv1) == "cancelled");
  CHECK(status_of("A13", pv1) == "in-progress");
  CHECK(status_of("A08", pv1) == "in-progress");
  CHECK(status_of("A08", segment("PV1", {{2, "P"}, {19, "V-1"}})) == "planned");
  CHECK(status_of("A08", segment("PV1", {{2, "I"}, {19, "V-1"}, {45, "20260122"}})) == "finished");
}

TEST_CASE("patient classes follow the IG's table 0004 map; unknown ones stay v2 codes") {
  auto class_of = [](const std::string& code) {
    Message m = message_of({msh("A04"), kPid, segment("PV1", {{2, code}})});
    return mapped(m, "A04").resource.at("class").as_object();
  };
  CHECK(class_of("O").at("code") == "AMB");
  CHECK(class_of("E").at("code") == "EMER");
  CHECK(class_of("P").at("code") == "PRENC");
  CHECK(class_of("R") == json::object{{"system", "http://terminology.hl7.org/CodeSystem/v2-0004"},
                                      {"code", "R"},
                                      {"display", "Recurring patient"}});
  CHECK(class_of("X") ==
        json::object{{"system", "http://terminology.hl7.org/CodeSystem/v2-0004"}, {"code", "X"}});
}

TEST_CASE("a discharge ends the period and completes the location; EVN-6 fills in") {
  Message m = message_of(
      {msh("A03"), "EVN|A03|20260125120000||||20260125113000", kPid,
       segment("PV1",
               {{2, "I"}, {3, "WARD3^301"}, {19, "V-100^^^VISITS"}, {44, "20260121091500"}})});
  MappedEncounter e = mapped(m, "A03");
  CHECK(e.resource.at("status") == "finished");
  CHECK(e.resource.at("period") ==
        json::object{{"start", "2026-01-21T09:15:00+01:00"}, {"end", "2026-01-25T11:30:00+01:00"}});
  CHECK(e.resource.at("location").at(0).at("status") == "completed");
}

TEST_CASE("a cancelled discharge reopens the visit: no end, in progress") {
  Message m = message_of(
      {msh("A13"), kPid,
       segment(
           "PV1",
           {{2, "I"}, {19, "V-100^^^VISITS"}, {44, "20260121091500"}, {45, "20260125113000"}})});
  MappedEncounter e = mapped(m, "A13");
  CHECK(e.resource.at("status") == "in-progress");
  CHECK(e.resource.at("period") == json::object{{"start", "2026-01-21T09:15:00+01:00"}});
}

TEST_CASE("a class change keys on the prior visit number too") {
  Message m = message_of({msh("A06"), kPid, "MRG|M-1^^^CLINIC||||V-99^^^VISITS",
                          segment("PV1", {{2, "I"}, {19, "V-100^^^VISITS"}})});
  MappedEncounter e = mapped(m, "A06");
  REQUIRE(e.identifiers.size() == 2);
  CHECK(e.identifiers[1] == IdentifierKey{"http://clinic.example/visit", "V-99"});
  CHECK(e.resource.at("identifier").as_array().size() == 1);  // only the current number
}

TEST_CASE("errors carry HL7 codes and locations") {
  auto error_of = [](const Message& m, std::string_view trigger) {
    auto result = map_encounter(m, clinic_systems(), trigger);
    REQUIRE_FALSE(result.ok());
    return result.error();
  };
  auto no_pv1 = error_of(message_of({msh("A01"), kPid}), "A01");
  CHECK(error_code(no_pv1) == ErrorCode::kSegmentSequenceError);

  auto no_class = error_of(message_of({msh("A01"), kPid, segment("PV1", {{19, "V-1"}})}), "A01");
  CHECK(error_code(no_class) == ErrorCode::kRequiredFieldMissing);
  CHECK(location_of(no_class) == ErrorLocation{"PV1", 1, 2, 0, 0, 0});

  auto bad_date =
      error_of(message_of({msh("A01"), kPid, segment("PV1", {{2, "I"}, {44, "20261340"}})}), "A01");
  CHECK(error_code(bad_date) == ErrorCode::kDataTypeError);
  CHECK(location_of(bad_date) == ErrorLocation{"PV1", 1, 44, 0, 0, 0});

  auto bad_event = error_of(
      message_of({msh("A03"), "EVN|A03|||||2026XX", kPid, segment("PV1", {{2, "I"}})}), "A03");
  CHECK(location_of(bad_event) == ErrorLocation{"EVN", 1, 6, 0, 0, 0});

  auto cancel = error_of(message_of({msh("A11"), kPid, segment("PV1", {{2, "I"}})}), "A11");
  CHECK(error_code(cancel) == ErrorCode::kRequiredFieldMissing);
  CHECK(location_of(cancel) == ErrorLocation{"PV1", 1, 19, 0, 0, 0});
}

TEST_CASE("a visit event is a Bundle of the Patient and its Encounter") {
  Message m = message_of({msh("A01^ADT_A01"), kPid, full_pv1()});
  auto bundle = map_adt_visit(m, clinic_systems());
  REQUIRE_MESSAGE(bundle.ok(), bundle.error().message);
  const auto& entries = bundle->at("entry").as_array();
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].at("request").at("url") == "Patient?identifier=http://clinic.example/mrn|M-1");
  CHECK(entries[1].at("request").at("method") == "PUT");
  CHECK(entries[1].at("request").at("url") ==
        "Encounter?identifier=http://clinic.example/visit|V-100");
  CHECK(entries[1].at("resource").at("subject").at("reference") == entries[0].at("fullUrl"));
  CHECK(issues_of(entries[1].at("resource").as_object()).empty());
}

TEST_CASE("without a visit number the Encounter is created; an A08 then only updates the Patient") {
  Message a04 = message_of({msh("A04"), kPid, "PV1||O"});
  auto created = map_adt_visit(a04, clinic_systems());
  REQUIRE(created.ok());
  REQUIRE(created->at("entry").as_array().size() == 2);
  CHECK(created->at("entry").at(1).at("request").at("method") == "POST");

  Message a08 = message_of({msh("A08"), kPid, "PV1||O"});
  auto updated = map_adt_visit(a08, clinic_systems());
  REQUIRE(updated.ok());
  CHECK(updated->at("entry").as_array().size() == 1);

  Message a08_no_pv1 = message_of({msh("A08"), kPid});
  CHECK(map_adt_visit(a08_no_pv1, clinic_systems())->at("entry").as_array().size() == 1);

  Message a28 = message_of({msh("A28"), kPid, "PV1||O"});
  auto refused = map_adt_visit(a28, clinic_systems());
  REQUIRE_FALSE(refused.ok());
  CHECK(error_code(refused.error()) == ErrorCode::kUnsupportedEventCode);
}

// ---------------------------------------------------------------------------------------------
// The IPF corpus: every visit event with a PV1 maps to valid resources.

namespace {

const fs::path kIpf = fs::path(CG_SHARED_DATA) / "hl7v2" / "ipf";

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("every visit event of the IPF corpus with a PV1 maps to a valid Bundle") {
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
  int visits = 0;
  for (const fs::path& file : files) {
    std::string bytes = read_file(file);
    for (std::string_view part : split_messages(bytes)) {
      auto message = parse(part);
      REQUIRE(message.ok());
      MessageHeader header = read_header(*message);
      if (header.type.code != "ADT" || !is_visit_event(header.type.trigger)) continue;
      if (message->find("PV1") == nullptr || message->find("PID") == nullptr) continue;
      std::string name = file.filename().string();
      CAPTURE(name);
      ++visits;
      auto bundle = map_adt_visit(*message, clinic_systems());
      REQUIRE_MESSAGE(bundle.ok(), bundle.error().message << " " << bundle.error().location);
      for (const auto& entry : bundle->at("entry").as_array()) {
        const json::object& resource = entry.at("resource").as_object();
        std::string issues = issues_of(resource);
        CHECK_MESSAGE(issues.empty(), issues << json::serialize(resource));
      }
    }
  }
  CHECK(visits >= 10);
}
