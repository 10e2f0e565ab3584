#include "protocols/hl7v2/appointment_map.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "protocols/fhir/model/validation.hpp"
#include "protocols/hl7v2/error.hpp"
#include "protocols/hl7v2/header.hpp"
#include "protocols/hl7v2/parser.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace cg::hl7v2;

namespace {

std::string msh(const std::string& event) {
  return "MSH|^~\\&|SCHED|CLINIC|GW|GW|20260301080000+0100||SIU^" + event + "^SIU_S12|SIU-" +
         event + "|P|2.5.1\r";
}
const std::string kPid = "PID|1||432155^^^CLINIC^MR||Patient^Johnny||20130414|M\r";

// A 30-minute follow-up with Dr Smith in room 12, on an ultrasound machine.
const std::string kBooking =
    "SCH|PL-77^SCHED|APT-1001^CLINIC||||NEW^New booking^L|FOLLOWUP^Follow-up^HL70276|"
    "Normal^Routine schedule^HL70277|30|min^minutes^ANS+|"
    "^^^20260315093000^20260315100000" +
    std::string(14, '|') +
    "Booked\r"
    "NTE|1||Bring the previous results.\r"
    "NTE|2||Fasting.\r" +
    kPid +
    "RGS|1|A\r"
    "AIS|1|A|US-ABD^Abdominal ultrasound^L|20260315093000|||30|min\r"
    "AIG|1|A|USM-2^Ultrasound machine 2^L|EQP^Equipment^L\r"
    "AIL|1|A|^Room 12^^CLINIC^^^^^Ultrasound room 12|ROOM^Room^L||20260315093000|||30|min\r"
    "AIP|1|A|1234^Smith^Jane^^^Dr^^^NPI|ATND^Attending^HL70443||20260315093000|||30|min||"
    "Booked\r";

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
  auto bundle = map_siu(message_of(text), clinic_systems());
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
  auto bundle = map_siu(message_of(text), clinic_systems());
  REQUIRE_FALSE(bundle.ok());
  CHECK(error_code(bundle.error()) == expected);
  auto location = error_location(bundle.error());
  return location ? *location : ErrorLocation{};
}

std::string str(const json::value& v) {
  return json::serialize(v);
}

}  // namespace

TEST_CASE("an S12 books an Appointment keyed on SCH-2 with its patient, staff, room and device") {
  json::object bundle = mapped(msh("S12") + kBooking);
  REQUIRE(bundle.at("entry").as_array().size() == 2);
  CHECK(resource(bundle, 0).at("resourceType") == "Patient");
  CHECK(request_of(bundle, 0) == "POST Patient");
  const std::string patient_url(entry(bundle, 0).at("fullUrl").as_string());

  const json::object& apt = resource(bundle, 1);
  CHECK(apt.at("resourceType") == "Appointment");
  CHECK(request_of(bundle, 1) == "PUT Appointment?identifier=http://clinic.example/mrn|APT-1001");
  CHECK(
      str(apt.at("identifier")) ==
      R"([{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"FILL"}]},"system":"http://clinic.example/mrn","value":"APT-1001"},)"
      R"({"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"PLAC"}]},"system":"urn:cg:authority:SCHED","value":"PL-77"}])");
  CHECK(apt.at("status") == "booked");
  CHECK(apt.at("appointmentType").at("coding").at(0).at("code") == "Normal");
  CHECK(apt.at("reasonCode").at(0).at("coding").at(0).at("code") == "FOLLOWUP");
  CHECK(apt.at("serviceType").at(0).at("coding").at(0).at("code") == "US-ABD");
  CHECK(apt.at("minutesDuration") == 30);
  CHECK(apt.at("start") == "2026-03-15T09:30:00+01:00");
  CHECK(apt.at("end") == "2026-03-15T10:00:00+01:00");
  CHECK(apt.at("comment") == "Bring the previous results.\nFasting.");

  const json::array& participants = apt.at("participant").as_array();
  REQUIRE(participants.size() == 4);
  CHECK(str(participants.at(0)) ==
        R"({"actor":{"reference":")" + patient_url + R"(","type":"Patient"},"status":"accepted"})");
  const json::object& doctor = participants.at(1).as_object();
  CHECK(
      str(doctor.at("actor")) ==
      R"({"type":"Practitioner","identifier":{"system":"urn:cg:authority:NPI","value":"1234"},"display":"Dr Jane Smith"})");
  CHECK(doctor.at("type").at(0).at("coding").at(0).at("code") == "ATND");
  CHECK(doctor.at("status") == "accepted");
  CHECK(str(doctor.at("period")) ==
        R"({"start":"2026-03-15T09:30:00+01:00","end":"2026-03-15T10:00:00+01:00"})");
  CHECK(
      str(participants.at(2).at("actor")) ==
      R"({"identifier":{"system":"urn:cg:codesystem:L","value":"USM-2"},"display":"Ultrasound machine 2"})");
  CHECK(str(participants.at(3).at("actor")) ==
        R"({"type":"Location","display":"Ultrasound room 12"})");
}

TEST_CASE("an S15 cancels the same Appointment, whatever SCH-25 says") {
  std::string cancel = msh("S15") +
                       "SCH||APT-1001^CLINIC||||CANC^Patient cancelled^L|||||"
                       "^^^20260315093000^20260315100000" +
                       std::string(14, '|') + "Booked\r" + kPid;
  json::object bundle = mapped(cancel);
  CHECK(request_of(bundle, 1) == "PUT Appointment?identifier=http://clinic.example/mrn|APT-1001");
  CHECK(resource(bundle, 1).at("status") == "cancelled");
  CHECK(resource(bundle, 1).at("identifier").as_array().size() == 1);
  CHECK(resource(bundle, 1).at("cancelationReason").at("coding").at(0).at("code") == "CANC");
}

TEST_CASE("SCH-25 sets the status of other events; AIS-4 + AIS-7 give start and end") {
  std::string noshow = msh("S14") + "SCH|PL-5^SCHED" + std::string(24, '|') + "Noshow\r" + kPid +
                       "RGS|1\rAIS|1||CONS^Consultation^L|202603151000|||2|h\r";
  json::object bundle = mapped(noshow);
  const json::object& apt = resource(bundle, 1);
  CHECK(request_of(bundle, 1) == "PUT Appointment?identifier=urn:cg:authority:SCHED|PL-5");
  CHECK(apt.at("status") == "noshow");
  CHECK(apt.at("start") == "2026-03-15T10:00:00+01:00");
  CHECK(apt.at("end") == "2026-03-15T12:00:00+01:00");
  CHECK_FALSE(apt.contains("minutesDuration"));
}

TEST_CASE("TQ1-7/8 win over SCH-11; an end past midnight rolls the date") {
  std::string text = msh("S13") + "SCH||APT-9^CLINIC|||||||90|min|^^^202603151000\r" +
                     "TQ1|1||||||202603152300+0000\r" + kPid;
  json::object bundle = mapped(text);
  CHECK(resource(bundle, 1).at("start") == "2026-03-15T23:00:00+00:00");
  CHECK(resource(bundle, 1).at("end") == "2026-03-16T00:30:00+00:00");
}

TEST_CASE("SIU errors: no SCH, no appointment id, bad dates and durations") {
  CHECK(error_at(msh("S12") + kPid, ErrorCode::kSegmentSequenceError) == ErrorLocation{});
  CHECK(error_at(msh("S12") + "SCH|||||||||30\r" + kPid, ErrorCode::kRequiredFieldMissing) ==
        ErrorLocation{"SCH", 1, 2, 0, 0, 0});
  CHECK(error_at(msh("S12") + "SCH|A1" + std::string(10, '|') + "^^^20261315\r" + kPid,
                 ErrorCode::kDataTypeError) == ErrorLocation{"SCH", 1, 11, 0, 4, 0});
  CHECK(error_at(msh("S12") + "SCH|A1||||||||half\r" + kPid, ErrorCode::kDataTypeError) ==
        ErrorLocation{"SCH", 1, 9, 0, 0, 0});
  CHECK(error_at(msh("S12") + "SCH|A1\r" + kPid + "AIP|1||99^Doe|||2026-03-15\r",
                 ErrorCode::kDataTypeError) == ErrorLocation{"AIP", 1, 6, 0, 0, 0});
  // The Patient's own errors come through.
  CHECK(error_at(msh("S12") + "SCH|A1\r", ErrorCode::kSegmentSequenceError) == ErrorLocation{});
}

TEST_CASE("every SIU message of the IPF corpus maps to valid resources") {
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
  int siu = 0;
  for (const fs::path& file : files) {
    std::ifstream in(file, std::ios::binary);
    std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    for (std::string_view part : split_messages(bytes)) {
      auto message = parse(part);
      REQUIRE(message.ok());
      if (read_header(*message).type.code != "SIU") continue;
      ++siu;
      CAPTURE(file.filename().string());
      mapped(std::string(part));
    }
  }
  MESSAGE(siu << " SIU messages in the IPF corpus");
}
