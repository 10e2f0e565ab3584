#include "protocols/hl7v2/merge_map.hpp"

#include <doctest/doctest.h>

#include <boost/json/serialize.hpp>
#include <initializer_list>
#include <string>

#include "protocols/fhir/model/validation.hpp"
#include "protocols/hl7v2/error.hpp"
#include "protocols/hl7v2/parser.hpp"

using namespace cg::hl7v2;
namespace json = boost::json;

namespace {

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

const std::string kMsh =
    "MSH|^~\\&|EMR|CLINIC|GATEWAY|CLINIC|20260121103015+0100||ADT^A40^ADT_A39|M1|P|2.5.1";

}  // namespace

TEST_CASE("an A40 plans the PID as survivor and MRG-1 as the merged identifiers") {
  Message m =
      message_of({kMsh, "EVN|A40|20260121103015", "PID|1||M-1^^^CLINIC^MR||Okafor^Ada||19900101|F",
                  "MRG|M-2^^^CLINIC^MR~77^^^OTHER&1.2.3&ISO"});
  auto plan = map_merge(m, clinic_systems());
  REQUIRE_MESSAGE(plan.ok(), plan.error().message);
  CHECK(plan->survivor.identifiers ==
        std::vector<IdentifierKey>{{"http://clinic.example/mrn", "M-1"}});
  CHECK(plan->merged ==
        std::vector<IdentifierKey>{{"http://clinic.example/mrn", "M-2"}, {"urn:oid:1.2.3", "77"}});
  CHECK(plan->survivor.resource.at("resourceType") == "Patient");
  CHECK(cg::fhir::validate_structure(plan->survivor.resource).empty());
}

TEST_CASE("merge errors: no MRG, empty MRG-1, no PID, several merges in one message") {
  auto code_of = [](const Message& m) {
    auto plan = map_merge(m, clinic_systems());
    REQUIRE_FALSE(plan.ok());
    return error_code(plan.error());
  };
  const std::string pid = "PID|1||M-1^^^CLINIC";
  CHECK(code_of(message_of({kMsh, pid})) == ErrorCode::kSegmentSequenceError);
  CHECK(code_of(message_of({kMsh, pid, "MRG|"})) == ErrorCode::kRequiredFieldMissing);
  CHECK(code_of(message_of({kMsh, "MRG|M-2^^^CLINIC"})) == ErrorCode::kSegmentSequenceError);
  auto two = map_merge(
      message_of({kMsh, pid, "MRG|M-2^^^CLINIC", "PID|2||M-3^^^CLINIC", "MRG|M-4^^^CLINIC"}),
      clinic_systems());
  REQUIRE_FALSE(two.ok());
  CHECK(error_code(two.error()) == ErrorCode::kSegmentSequenceError);
  CHECK(error_location(two.error())->segment_sequence == 2);
}

TEST_CASE("the merge triggers") {
  for (const char* trigger : {"A40", "A39", "A34", "A30"}) CHECK(is_merge_event(trigger));
  CHECK_FALSE(is_merge_event("A01"));
}
