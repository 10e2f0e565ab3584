#include "protocols/hl7v2/header.hpp"

#include <doctest/doctest.h>

#include <string>

#include "protocols/hl7v2/error.hpp"
#include "protocols/hl7v2/parser.hpp"

using namespace cg;
using namespace cg::hl7v2;

namespace {

Message parsed(const std::string& text) {
  auto m = parse(text);
  REQUIRE(m);
  return std::move(m).value();
}

}  // namespace

TEST_CASE("the MSH fields a receiver acts on are typed") {
  Message m = parsed(
      "MSH|^~\\&|EMR|CLINIC|GW|DISTRICT|20240101120000||VXU^V04^VXU_V04|CTRL-1|P^T|2.5.1^USA|||"
      "AL|NE\r");
  MessageHeader h = read_header(m);
  CHECK(h.type.code == "VXU");
  CHECK(h.type.trigger == "V04");
  CHECK(h.type.structure == "VXU_V04");
  CHECK(h.control_id == "CTRL-1");
  CHECK(h.processing_id == ProcessingId::kProduction);
  CHECK(h.processing_mode == "T");
  CHECK(h.version.major == 2);
  CHECK(h.version.minor == 5);
  CHECK(h.version.patch == 1);
  CHECK(h.version.text == "2.5.1");
  CHECK(h.version.supported());
  CHECK(h.accept_ack == AckCondition::kAlways);
  CHECK(h.application_ack == AckCondition::kNever);
  CHECK(h.enhanced_ack_mode());
  CHECK(check_header(m));
}

TEST_CASE("no MSH-15 and MSH-16 means original acknowledgement mode") {
  MessageHeader h = read_header(parsed("MSH|^~\\&|A|B|C|D|1||ADT^A01|1|T|2.3\r"));
  CHECK(h.accept_ack == AckCondition::kNotGiven);
  CHECK(h.application_ack == AckCondition::kNotGiven);
  CHECK_FALSE(h.enhanced_ack_mode());
  CHECK(h.processing_id == ProcessingId::kTraining);
  CHECK(h.type.structure.empty());
}

TEST_CASE("ack conditions and processing ids follow tables 0155 and 0103") {
  auto header = [](const std::string& msh11, const std::string& msh15) {
    return read_header(parsed("MSH|^~\\&|A|B|C|D|1||ADT^A01|1|" + msh11 + "|2.5|||" + msh15));
  };
  CHECK(header("D", "ER").accept_ack == AckCondition::kErrorOnly);
  CHECK(header("D", "ER").processing_id == ProcessingId::kDebugging);
  CHECK(header("P", "SU").accept_ack == AckCondition::kSuccessOnly);
  CHECK(header("X", "XX").accept_ack == AckCondition::kOther);
  CHECK(header("X", "XX").processing_id == ProcessingId::kOther);
  CHECK(header("", "").processing_id == ProcessingId::kNotGiven);
}

TEST_CASE("versions 2.3 to 2.8 are supported; others parse but are not") {
  auto version = [](const std::string& v) {
    return read_header(parsed("MSH|^~\\&|A|B|C|D|1||ADT^A01|1|P|" + v + "\r")).version;
  };
  for (const char* v :
       {"2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8", "2.8.2"}) {
    CAPTURE(v);
    CHECK(version(v).supported());
  }
  for (const char* v : {"2.1", "2.2", "2.9", "3.0", "", "2", "2.x", "v2.5", "2.5.1.1", "2..5"}) {
    CAPTURE(v);
    CHECK_FALSE(version(v).supported());
  }
  CHECK(version("2.2").major == 2);
  CHECK(version("2.2").minor == 2);
  CHECK(version("2.x").major == 0);
  CHECK(version("2.x").text == "2.x");
}

TEST_CASE("check_header reports the first missing required field as HL7 101") {
  struct Case {
    std::string msh;
    ErrorLocation location;
  };
  for (const Case& c : {
           Case{"MSH|^~\\&|A|B|C|D|1||^A01|1|P|2.5", {"MSH", 1, 9, 1, 1}},
           Case{"MSH|^~\\&|A|B|C|D|1||ADT|1|P|2.5", {"MSH", 1, 9, 1, 2}},
           Case{"MSH|^~\\&|A|B|C|D|1||ADT^A01||P|2.5", {"MSH", 1, 10}},
           Case{"MSH|^~\\&|A|B|C|D|1||ADT^A01|1||2.5", {"MSH", 1, 11, 1, 1}},
           Case{"MSH|^~\\&|A|B|C|D|1||ADT^A01|1|P", {"MSH", 1, 12, 1, 1}},
           Case{"MSH|^~\\&", {"MSH", 1, 9, 1, 1}},
       }) {
    CAPTURE(c.msh);
    auto status = check_header(parsed(c.msh + "\r"));
    REQUIRE_FALSE(status);
    CHECK(error_code(status.error()) == ErrorCode::kRequiredFieldMissing);
    CHECK(error_location(status.error()) == c.location);
  }
}

TEST_CASE("an ACK needs no trigger event; a malformed version is HL7 102") {
  CHECK(check_header(parsed("MSH|^~\\&|A|B|C|D|1||ACK|1|P|2.3\r")));
  auto bad = check_header(parsed("MSH|^~\\&|A|B|C|D|1||ADT^A01|1|P|two\r"));
  REQUIRE_FALSE(bad);
  CHECK(error_code(bad.error()) == ErrorCode::kDataTypeError);
  CHECK(error_location(bad.error()) == ErrorLocation{"MSH", 1, 12, 1, 1});
}
