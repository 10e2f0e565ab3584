#include "protocols/hl7v2/ack.hpp"

#include <doctest/doctest.h>

#include "protocols/hl7v2/error.hpp"
#include "protocols/hl7v2/parser.hpp"

using namespace cg;
using namespace cg::hl7v2;

namespace {

Message parsed(std::string_view text) {
  auto m = parse(text);
  REQUIRE_MESSAGE(m.ok(), (m.ok() ? "" : m.error().message));
  return std::move(m).value();
}

const AckOptions kOptions{"GW-1", "20261121073500", "CLINIC-GATEWAY"};

constexpr std::string_view kAdt =
    "MSH|^~\\&|EMR^1.2.3^ISO|CLINIC|GW|DISTRICT|20261121072000||ADT^A01^ADT_A01|MSG001|P|2.5.1\r"
    "EVN|A01|20261121072000\r"
    "PID|1||123^^^CLINIC^MR||Okafor^Ada\r";

}  // namespace

TEST_CASE("an AA mirrors the message: swapped sender and receiver, same version, MSA-2") {
  Message ack = build_ack(parsed(kAdt), AckCode::kAccept, {}, kOptions);
  CHECK(ack.serialize() ==
        "MSH|^~\\&|GW|DISTRICT|EMR^1.2.3^ISO|CLINIC|20261121073500||ACK^A01^ACK|GW-1|P|2.5.1\r"
        "MSA|AA|MSG001\r");
  // It parses again, and says what it is.
  Message again = parsed(ack.serialize());
  CHECK(again.get("MSA-1") == "AA");
  CHECK(again.get("MSH-5.2") == "1.2.3");
}

TEST_CASE("a query's answer header names its own trigger and structure") {
  Message header = answer_header(parsed(kAdt), "RSP", "K23", "RSP_K23", kOptions);
  CHECK(
      header.serialize() ==
      "MSH|^~\\&|GW|DISTRICT|EMR^1.2.3^ISO|CLINIC|20261121073500||RSP^K23^RSP_K23|GW-1|P|2.5.1\r");
  // Without one, the incoming trigger: what an ACK repeats.
  CHECK(answer_header(parsed(kAdt), "ACK", "ACK", kOptions).get("MSH-9.2") == "A01");
  // The trigger is a value: escaped like any other.
  CHECK(answer_header(parsed(kAdt), "RSP", "K^22", "RSP_K21", kOptions).raw("MSH-9.2") ==
        "K\\S\\22");
}

TEST_CASE("an accept acknowledgement (MSH-15 AL) answers with commit codes CA, CE, CR") {
  std::string enhanced(kAdt);
  enhanced.replace(enhanced.find("P|2.5.1"), 7, "P|2.5.1|||AL|NE");
  Message incoming = parsed(enhanced);
  CHECK(build_ack(incoming, AckCode::kAccept, {}, kOptions).get("MSA-1") == "CA");
  CHECK(build_ack(incoming, AckCode::kError, {}, kOptions).get("MSA-1") == "CE");
  CHECK(build_ack(incoming, AckCode::kReject, {}, kOptions).get("MSA-1") == "CR");
  CHECK(ack_code_text(AckCode::kReject, false) == "AR");
}

TEST_CASE("MSH-15 NE with MSH-16 valued asks for the application acknowledgement: AA, AE, AR") {
  std::string application_only(kAdt);
  application_only.replace(application_only.find("P|2.5.1"), 7, "P|2.5.1|||NE|AL");
  Message incoming = parsed(application_only);
  CHECK(build_ack(incoming, AckCode::kAccept, {}, kOptions).get("MSA-1") == "AA");
  CHECK(build_ack(incoming, AckCode::kError, {}, kOptions).get("MSA-1") == "AE");
  std::string accept_on_error(kAdt);
  accept_on_error.replace(accept_on_error.find("P|2.5.1"), 7, "P|2.5.1|||ER|AL");
  CHECK(build_ack(parsed(accept_on_error), AckCode::kReject, {}, kOptions).get("MSA-1") == "CR");
}

TEST_CASE("each error is an ERR with its location, 0357 code, severity and text (v2.5+)") {
  const Error errors[] = {
      make_error(ErrorCode::kRequiredFieldMissing, "PID-3 is required", {"PID", 1, 3, 0, 0, 0}),
      make_error(ErrorCode::kUnsupportedEventCode, "event A99 is not supported")};
  Message ack = build_ack(parsed(kAdt), AckCode::kError, errors, kOptions);
  CHECK(ack.get("MSA-1") == "AE");
  REQUIRE(ack.count("ERR") == 2);
  const Segment& first = *ack.find("ERR", 1);
  CHECK(first.raw(2) == "PID^1^3");
  CHECK(first.raw(3) == "101^Required field missing^HL70357");
  CHECK(first.get(4) == "E");
  CHECK(first.get(8) == "PID-3 is required");
  const Segment& second = *ack.find("ERR", 2);
  CHECK(second.raw(2).empty());  // the whole message
  CHECK(second.get(3, 1, 1) == "201");
}

TEST_CASE("v2.3 and v2.4 use ERR-1 (ELD) instead") {
  std::string old(kAdt);
  old.replace(old.find("2.5.1"), 5, "2.3");
  const Error errors[] = {
      make_error(ErrorCode::kDataTypeError, "PID-7 is not a date", {"PID", 1, 7, 0, 0, 0})};
  Message ack = build_ack(parsed(old), AckCode::kError, errors, kOptions);
  CHECK(ack.get("MSH-12") == "2.3");
  CHECK(ack.find("ERR")->raw(1) == "PID^1^7^102&Data type error&HL70357");
  CHECK(ack.find("ERR")->presence(2) == Presence::kAbsent);
}

TEST_CASE("the answer keeps the sender's delimiters and character set") {
  Message ack = build_ack(
      parsed("MSH#:*!@#EMR#CLINIC#GW#GW#20261121##ADT:A04#X9#P#2.5.1######8859/1\rPID#1\r"),
      AckCode::kAccept, {}, kOptions);
  const std::string text = ack.serialize();
  CHECK(text.starts_with("MSH#:*!@#GW#GW#EMR#CLINIC#20261121073500##ACK:A04:ACK#GW-1#P#2.5.1"));
  CHECK(ack.get("MSH-18") == "8859/1");
  CHECK(ack.get("MSA-2") == "X9");
}

TEST_CASE("bytes that do not parse get an AR naming the control id when it can be read") {
  const Error error = make_error(ErrorCode::kSegmentSequenceError, "the message has no MSH");
  std::string answer =
      reject_unparsed("MSH|^~\\&|A|B|C|D|20261121||ADT^A01|C-77|P|2.5\rBAD", error, kOptions);
  Message ack = parsed(answer);
  CHECK(ack.get("MSA-1") == "AR");
  CHECK(ack.get("MSA-2") == "C-77");
  CHECK(ack.get("ERR-3") == "100");
  CHECK(parsed(reject_unparsed("garbage", error, kOptions)).get("MSA-2").empty());
  // A control id containing escapes or separators is stored escaped, never breaking the ACK.
  Message odd = parsed(reject_unparsed("MSH|^~\\&|A|B|C|D|1||ADT|a^b&c|P|2.5", error, kOptions));
  CHECK(odd.get("MSA-2") == "a^b&c");
}
