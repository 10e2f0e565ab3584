#include "protocols/hl7v2/message.hpp"

#include <doctest/doctest.h>

#include <string>

#include "protocols/hl7v2/parser.hpp"

using namespace cg;
using namespace cg::hl7v2;

namespace {

// An ADT^A01 with repeated fields, components, subcomponents, two NK1 and three OBX.
const std::string kAdt =
    "MSH|^~\\&|EMR|CLINIC|GW|DISTRICT|20240101120000||ADT^A01^ADT_A01|MSG0001|P|2.5.1\r"
    "EVN|A01|20240101120000\r"
    "PID|1||12345^^^HOSP&1.2.3&ISO^MR~67890^^^NATION&2.16.840&ISO^NI||Doe^John^Q||19800101|M|||"
    "1 Main St^^Town^^1000^ZA||\"\"|\r"
    "NK1|1|Doe^Jane|SPO\r"
    "NK1|2|Doe^Jim|CHD\r"
    "OBX|1|NM|29463-7^Weight^LN||72|kg\r"
    "OBX|2|ST|8302-2^Height^LN||1.80 \\S\\ 2|m\r"
    "OBX|3|TX|NOTE||\\H\\Urgent\\N\\\\.br\\call back\r";

Message adt() {
  auto m = parse(kAdt);
  REQUIRE(m);
  return std::move(m).value();
}

}  // namespace

TEST_CASE("a created message is just its MSH") {
  Message m = Message::create();
  CHECK(m.serialize() == "MSH|^~\\&\r");
  CHECK(m.canonical_input());
  CHECK(m.get("MSH-1") == "|");
  CHECK(m.get("MSH-2") == "^~\\&");
  Message utf8 = Message::create({}, Charset::kUtf8);
  CHECK(utf8.serialize() == "MSH|^~\\&||||||||||||||||UNICODE UTF-8\r");
  CHECK(utf8.get("MSH-18") == "UNICODE UTF-8");
}

TEST_CASE("MSH-1 is the field separator and MSH-2 the encoding characters") {
  Message m = adt();
  CHECK(m.get("MSH-1") == "|");
  CHECK(m.get("MSH-2") == "^~\\&");
  CHECK(m.raw("MSH-2") == "^~\\&");
  CHECK(m.get("MSH-3") == "EMR");
  CHECK(m.get("MSH-7") == "20240101120000");
  CHECK(m.get("MSH-9") == "ADT");
  CHECK(m.get("MSH-9.2") == "A01");
  CHECK(m.get("MSH-9.3") == "ADT_A01");
  CHECK(m.get("MSH-10") == "MSG0001");
  CHECK(m.get("MSH-12") == "2.5.1");
  CHECK(m.segments()[0].field_count() == 12);
  // The delimiters are one value: never split, never unescaped.
  CHECK(m.get("MSH-2.2") == "");
  CHECK(m.segments()[0].repetition_count(2) == 1);
  CHECK(m.presence("MSH-1") == Presence::kValued);
}

TEST_CASE("MSH-1 and MSH-2 cannot be set") {
  Message m = adt();
  CHECK_FALSE(m.set("MSH-1", "*"));
  CHECK_FALSE(m.set_raw("MSH-2", "^~\\&#"));
  CHECK_FALSE(m.set_null("MSH-2"));
  CHECK(m.serialize() == kAdt);
}

TEST_CASE("terse paths reach repetitions, components and subcomponents") {
  Message m = adt();
  CHECK(m.get("PID-3") == "12345");
  CHECK(m.get("PID-3(1).4") == "HOSP");
  CHECK(m.get("PID-3(1).4.2") == "1.2.3");
  CHECK(m.get("PID-3(2).1") == "67890");
  CHECK(m.get("PID-3(2).4.1") == "NATION");
  CHECK(m.get("PID-3(2).4.2") == "2.16.840");
  CHECK(m.get("PID-3(2).5") == "NI");
  CHECK(m.get("PID", 3, 2, 4, 3) == "ISO");
  CHECK(m.get("PID-3(3)") == "");
  CHECK(m.get("PID-3.9") == "");
  CHECK(m.get("PID-5.2") == "John");
  CHECK(m.get("PID-5.3") == "Q");
  CHECK(m.get("PID-99") == "");
  CHECK(m.get("ZZZ-1") == "");
}

TEST_CASE("raw accessors address the level given, escaped as stored") {
  Message m = adt();
  CHECK(m.raw("PID-3") == "12345^^^HOSP&1.2.3&ISO^MR~67890^^^NATION&2.16.840&ISO^NI");
  CHECK(m.raw("PID-3(2)") == "67890^^^NATION&2.16.840&ISO^NI");
  CHECK(m.raw("PID-3(2).4") == "NATION&2.16.840&ISO");
  CHECK(m.raw("PID-3.4") == "HOSP&1.2.3&ISO");
  CHECK(m.raw("OBX[2]-5") == "1.80 \\S\\ 2");
  CHECK(m.get("OBX[2]-5") == "1.80 ^ 2");
}

TEST_CASE("repeated segments are reached by occurrence") {
  Message m = adt();
  CHECK(m.count("OBX") == 3);
  CHECK(m.count("NK1") == 2);
  CHECK(m.get("NK1-2.2") == "Jane");
  CHECK(m.get("NK1[2]-2.2") == "Jim");
  CHECK(m.get("OBX[3]-3") == "NOTE");
  CHECK(m.get("OBX[4]-3") == "");
  REQUIRE(m.find("OBX", 2) != nullptr);
  CHECK(m.find("OBX", 2)->get(3, 1, 2) == "Height");
  CHECK(m.find("OBX", 4) == nullptr);
}

TEST_CASE("field repetitions, components and subcomponents can be counted") {
  Message m = adt();
  const Segment& pid = *m.find("PID");
  CHECK(pid.id() == "PID");
  CHECK(pid.field_count() == 14);
  CHECK(pid.repetition_count(3) == 2);
  CHECK(pid.component_count(3, 2) == 5);
  CHECK(pid.subcomponent_count(3, 2, 4) == 3);
  CHECK(pid.repetition_count(2) == 0);
  CHECK(pid.repetition_count(99) == 0);
}

TEST_CASE("an empty field is absent, \"\" is an explicit null") {
  Message m = adt();
  CHECK(m.presence("PID-2") == Presence::kAbsent);
  CHECK(m.presence("PID-13") == Presence::kNull);
  CHECK(m.get("PID-13") == "");
  CHECK(m.presence("PID-14") == Presence::kAbsent);  // trailing "|"
  CHECK(m.presence("PID-30") == Presence::kAbsent);
  CHECK(m.presence("PID-3") == Presence::kValued);
  CHECK(m.presence("PID-11.2") == Presence::kAbsent);
  CHECK(m.presence("PID-11.3") == Presence::kValued);
  CHECK(m.presence("ZZZ-1") == Presence::kAbsent);
  // Only separators: nothing is valued.
  REQUIRE(m.set_raw("PID-4", "^~&"));
  CHECK(m.presence("PID-4") == Presence::kAbsent);
}

TEST_CASE("formatting escapes are returned verbatim or as plain text") {
  Message m = adt();
  CHECK(m.get("OBX[3]-5") == "\\H\\Urgent\\N\\\ncall back");
  CHECK(m.get("OBX[3]-5", Formatting::kPlainText) == "Urgent\ncall back");
}

TEST_CASE("set escapes the value and leaves the rest of the field alone") {
  Message m = adt();
  REQUIRE(m.set("PID-5", "O'Brien|Smith"));
  CHECK(m.raw("PID-5") == "O'Brien\\F\\Smith^John^Q");
  CHECK(m.get("PID-5") == "O'Brien|Smith");
  REQUIRE(m.set("PID-3(2).4.2", "9.9.9"));
  CHECK(m.raw("PID-3") == "12345^^^HOSP&1.2.3&ISO^MR~67890^^^NATION&9.9.9&ISO^NI");
  REQUIRE(m.set("PID-5.2", "\\H\\"));
  CHECK(m.raw("PID-5.2") == "\\E\\H\\E\\");
  CHECK(m.get("PID-5.2") == "\\H\\");
}

TEST_CASE("set adds missing fields, repetitions, components and subcomponents empty") {
  Message m = adt();
  REQUIRE(m.set("EVN-5(3).2.3", "x"));
  CHECK(m.raw("EVN-5") == "~~^&&x");
  CHECK(m.find("EVN")->field_count() == 5);
  CHECK(m.get("EVN-5(3).2.3") == "x");
  REQUIRE(m.set("PID-3(4)", "new"));
  CHECK(m.raw("PID-3(3)") == "");
  CHECK(m.raw("PID-3(4)") == "new");
  CHECK(m.find("PID")->repetition_count(3) == 4);
}

TEST_CASE("set_formatted keeps formatting escapes so a formatted value survives get and set") {
  Message m = adt();
  std::string note = m.get("OBX[3]-5");
  REQUIRE(m.set_formatted("OBX[3]-5", note));
  CHECK(m.serialize() == kAdt);
  REQUIRE(m.set_formatted("OBX[3]-5", "\\H\\a|b\\N\\"));
  CHECK(m.raw("OBX[3]-5") == "\\H\\a\\F\\b\\N\\");
}

TEST_CASE("setting the text \"\" stores text, not a null") {
  Message m = adt();
  REQUIRE(m.set("PID-8", "\"\""));
  CHECK(m.presence("PID-8") == Presence::kValued);
  CHECK(m.get("PID-8") == "\"\"");
}

TEST_CASE("set_null writes \"\" at the level given") {
  Message m = adt();
  REQUIRE(m.set_null("PID-8"));
  CHECK(m.raw("PID-8") == "\"\"");
  CHECK(m.presence("PID-8") == Presence::kNull);
  REQUIRE(m.set_null("PID-5.2"));
  CHECK(m.raw("PID-5") == "Doe^\"\"^Q");
  CHECK(m.presence("PID-5.2") == Presence::kNull);
}

TEST_CASE("set_raw refuses separators of the level it writes") {
  Message m = adt();
  CHECK(m.set_raw("PID-5", "A^B~C^D"));
  CHECK(m.get("PID-5(2).2") == "D");
  CHECK_FALSE(m.set_raw("PID-5", "A|B"));
  CHECK_FALSE(m.set_raw("PID-5(1)", "A~B"));
  CHECK_FALSE(m.set_raw("PID-5.1", "A^B"));
  CHECK(m.set_raw("PID-5.1", "A&B"));
  CHECK_FALSE(m.set_raw("PID-5.1.1", "A&B"));
  CHECK_FALSE(m.set_raw("PID-5", "A\rB"));
  CHECK_FALSE(m.set_raw("PID-5", "A\nB"));
}

TEST_CASE("setters report bad paths and missing segments") {
  Message m = adt();
  auto bad = m.set("PID3", "x");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().kind == ErrorKind::kInvalid);
  auto missing = m.set("ZZZ-1", "x");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().kind == ErrorKind::kNotFound);
  CHECK_FALSE(m.set("OBX[4]-1", "x"));
  CHECK_FALSE(m.set("PID", "x"));
  CHECK_FALSE(m.set("PID-1", "\xFF"));
  CHECK_FALSE(m.find("PID")->set(0, 1, 1, 1, "x"));
  CHECK_FALSE(m.find("PID")->set(kMaxPathNumber + 1, 1, 1, 1, "x"));
  CHECK(m.serialize() == kAdt);
}

TEST_CASE("segments can be appended, inserted and removed but the MSH stays first") {
  Message m = Message::create();
  auto msa = m.append_segment("MSA");
  REQUIRE(msa);
  CHECK(*msa == 1);
  REQUIRE(m.set("MSA-1", "AA"));
  REQUIRE(m.set("MSA-2", "MSG0001"));
  auto err = m.append_segment("ERR");
  REQUIRE(err);
  auto sft = m.insert_segment(1, "SFT");
  REQUIRE(sft);
  CHECK(m.serialize() == "MSH|^~\\&\rSFT\rMSA|AA|MSG0001\rERR\r");
  REQUIRE(m.remove_segment(1));
  CHECK(m.serialize() == "MSH|^~\\&\rMSA|AA|MSG0001\rERR\r");
  CHECK_FALSE(m.append_segment("MSH"));
  CHECK_FALSE(m.append_segment("msa"));
  CHECK_FALSE(m.insert_segment(0, "SFT"));
  CHECK_FALSE(m.insert_segment(5, "SFT"));
  CHECK_FALSE(m.remove_segment(0));
  CHECK_FALSE(m.remove_segment(3));
  REQUIRE(m.segment(1).set(3, 1, 1, 1, "x"));
  CHECK(m.get("MSA-3") == "x");
}

TEST_CASE("an ASCII message stays 7-bit: non-ASCII text is written as hex escapes") {
  Message m = adt();
  REQUIRE(m.set("PID-5", "M\xC3\xBCller"));
  CHECK(m.raw("PID-5.1") == "M\\XC3BC\\ller");
  CHECK(m.get("PID-5") == "M\xC3\xBCller");
}

TEST_CASE("a Latin-1 message reads as UTF-8 and stores Latin-1 bytes") {
  std::string text =
      "MSH|^~\\&|A|B|C|D|20240101||ADT^A08|1|P|2.5|||||DEU|8859/1\rPID|1||1||M\xFCller^J\xF6rg\r";
  auto m = parse(text);
  REQUIRE(m);
  CHECK(m->charset() == Charset::kLatin1);
  CHECK(m->get("PID-5") == "M\xC3\xBCller");
  CHECK(m->get("PID-5.2") == "J\xC3\xB6rg");
  CHECK(m->serialize() == text);
  REQUIRE(m->set("PID-5.2", "Ren\xC3\xA9"));
  CHECK(m->raw("PID-5.2") == "Ren\xE9");
  auto euro = m->set("PID-5.2", "\xE2\x82\xAC");
  REQUIRE_FALSE(euro);
  CHECK(euro.error().kind == ErrorKind::kInvalid);
}

TEST_CASE("MSH-18 can only be set to the charset the message is in") {
  Message m = adt();
  CHECK(m.set("MSH-18", "ASCII"));
  CHECK(m.set("MSH-18", ""));
  CHECK_FALSE(m.set("MSH-18", "UNICODE UTF-8"));
  Message utf8 = Message::create({}, Charset::kUtf8);
  CHECK_FALSE(utf8.set("MSH-18", "8859/1"));
  CHECK(utf8.set("MSH-18", "UNICODE UTF-8"));
}

TEST_CASE("unusual delimiters are used for reading, writing and serializing") {
  std::string text = "MSH$%!?@$A$B$$$$$ADT%A01$1$P$2.5\rPID$1$$1%%%X@Y!2$$Doe?F?%J\r";
  auto m = parse(text);
  REQUIRE(m);
  CHECK(m->get("MSH-1") == "$");
  CHECK(m->get("MSH-2") == "%!?@");
  CHECK(m->get("MSH-9.2") == "A01");
  CHECK(m->get("PID-3(1).4.2") == "Y");
  CHECK(m->get("PID-3(2)") == "2");
  CHECK(m->get("PID-5") == "Doe$");
  CHECK(m->serialize() == text);
  REQUIRE(m->set("PID-5.2", "a|^$"));
  CHECK(m->raw("PID-5.2") == "a|^?F?");
}
