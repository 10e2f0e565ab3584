#include "protocols/hl7v2/parser.hpp"

#include <doctest/doctest.h>

#include <optional>
#include <string>

#include "protocols/hl7v2/error.hpp"

using namespace cg;
using namespace cg::hl7v2;

namespace {

const std::string kMsh = "MSH|^~\\&|EMR|CLINIC|GW|DISTRICT|20240101120000||ADT^A01|1|P|2.5";

void check_error(std::string_view text, ErrorCode code, std::optional<ErrorLocation> location,
                 const ParseOptions& options = {}) {
  auto m = parse(text, options);
  REQUIRE_FALSE(m);
  CHECK(error_code(m.error()) == code);
  CHECK(error_location(m.error()) == location);
}

}  // namespace

TEST_CASE("a canonical message round-trips byte for byte") {
  std::string text = kMsh + "\rPID|1||123||Doe^John\rPV1|1|I\r";
  auto m = parse(text);
  REQUIRE(m);
  CHECK(m->canonical_input());
  CHECK(m->segments().size() == 3);
  CHECK(m->serialize() == text);
}

TEST_CASE("segments may end with \\n or \\r\\n, serialized with \\r") {
  const std::string canonical = kMsh + "\rPID|1\rPV1|1\r";
  for (const std::string& text :
       {kMsh + "\nPID|1\nPV1|1\n", kMsh + "\r\nPID|1\r\nPV1|1\r\n", kMsh + "\rPID|1\nPV1|1\r\n"}) {
    auto m = parse(text);
    REQUIRE(m);
    CHECK_FALSE(m->canonical_input());
    CHECK(m->serialize() == canonical);
    CHECK(m->get("PV1-1") == "1");
  }
}

TEST_CASE("a missing last terminator, empty lines and blank lines are tolerated") {
  const std::string canonical = kMsh + "\rPID|1\r";
  for (const std::string& text :
       {kMsh + "\rPID|1", kMsh + "\r\rPID|1\r", kMsh + "\r\n\r\nPID|1\r\n", kMsh + "\rPID|1\r  \r",
        "\r\n" + kMsh + "\rPID|1\r", kMsh + "\rPID|1\r\n\r\n"}) {
    CAPTURE(text);
    auto m = parse(text);
    REQUIRE(m);
    CHECK_FALSE(m->canonical_input());
    CHECK(m->serialize() == canonical);
  }
}

TEST_CASE("a UTF-8 byte order mark is skipped and means UTF-8") {
  auto m = parse("\xEF\xBB\xBF" + kMsh +
                 "\rPID|1||1||N\xC3\xA4"
                 "chname\r");
  REQUIRE(m);
  CHECK_FALSE(m->canonical_input());
  CHECK(m->charset() == Charset::kUtf8);
  CHECK(m->get("PID-5") ==
        "N\xC3\xA4"
        "chname");
  CHECK(m->serialize() == kMsh +
                              "\rPID|1||1||N\xC3\xA4"
                              "chname\r");
}

TEST_CASE("MSH-18 decides the charset; empty means the default") {
  CHECK(parse(kMsh + "\r")->charset() == Charset::kAscii);
  ParseOptions latin1;
  latin1.default_charset = Charset::kLatin1;
  CHECK(parse(kMsh + "\r", latin1)->charset() == Charset::kLatin1);
  CHECK(parse(kMsh + "||||||UNICODE UTF-8\r")->charset() == Charset::kUtf8);
  CHECK(parse(kMsh + "||||||8859/1~ISO IR87\r")->charset() == Charset::kLatin1);
  CHECK(parse(kMsh + "||||||ASCII\r", latin1)->charset() == Charset::kAscii);
}

TEST_CASE("an unknown charset reads as the default unless the options reject it") {
  // IPF's samples have "code1~code2"; a real sender may declare 8859/15: reading those as
  // ASCII-or-UTF-8-or-Latin-1 is nearly always right and loses nothing.
  auto tolerated = parse(kMsh + "||||||8859/15\rPID|1||1||Andr\xE9\r");
  REQUIRE(tolerated);
  CHECK(tolerated->charset() == Charset::kAscii);
  CHECK(tolerated->get("PID-5") == "Andr\xC3\xA9");
  CHECK(tolerated->get("MSH-18") == "8859/15");
  ParseOptions strict;
  strict.reject_unknown_charset = true;
  auto m = parse(kMsh + "||||||UNICODE UTF-16\r", strict);
  REQUIRE_FALSE(m);
  CHECK(m.error().kind == ErrorKind::kUnsupported);
  CHECK(error_code(m.error()) == ErrorCode::kTableValueNotFound);
  CHECK(error_location(m.error()) == ErrorLocation{"MSH", 1, 18});
}

TEST_CASE("a UTF-8 message keeps its bytes") {
  std::string text =
      kMsh + "||||||UNICODE UTF-8\rPID|1||1||\xE5\xB1\xB1\xE7\x94\xB0^\xE5\xA4\xAA\xE9\x83\x8E\r";
  auto m = parse(text);
  REQUIRE(m);
  CHECK(m->get("PID-5.2") == "\xE5\xA4\xAA\xE9\x83\x8E");
  CHECK(m->serialize() == text);
  REQUIRE(m->set("PID-5.2", "J\xC3\xB6rg"));
  CHECK(m->raw("PID-5.2") == "J\xC3\xB6rg");
}

TEST_CASE("a v2.7 truncation character is a fifth encoding character") {
  std::string text =
      "MSH|^~\\&#|A|B|C|D|20240101||ADT^A01^ADT_A01|1|P|2.7\rNTE|1||cut here#\\P\\\r";
  auto m = parse(text);
  REQUIRE(m);
  CHECK(m->delimiters().truncation == '#');
  CHECK(m->get("MSH-2") == "^~\\&#");
  CHECK(m->get("MSH-9.3") == "ADT_A01");
  CHECK(m->get("NTE-3") == "cut here##");
  CHECK(m->serialize() == text);
}

TEST_CASE("trailing separators and segments without fields round-trip") {
  std::string text = kMsh + "|||\rPID|1||||\rPV1\rZBE|1234|\rNTE|\r";
  auto m = parse(text);
  REQUIRE(m);
  CHECK(m->serialize() == text);
  CHECK(m->find("PV1")->field_count() == 0);
  CHECK(m->find("ZBE")->field_count() == 2);
  CHECK(m->find("NTE")->field_count() == 1);
  CHECK(m->segments()[0].field_count() == 15);
}

TEST_CASE("a message consisting of MSH-1 and MSH-2 only parses") {
  auto m = parse("MSH|^~\\&");
  REQUIRE(m);
  CHECK(m->segments()[0].field_count() == 2);
  CHECK(m->serialize() == "MSH|^~\\&\r");
}

TEST_CASE("a message not starting with MSH is HL7 100") {
  for (std::string text :
       {"", "\r\n", "PID|1\r", "MSX|^~\\&\r", "msh|^~\\&\r", "\xEF\xBB\xBF", "MSHX"}) {
    CAPTURE(text);
    check_error(text, ErrorCode::kSegmentSequenceError, std::nullopt);
  }
}

TEST_CASE("unusable delimiters are HL7 102 at MSH-1 or MSH-2") {
  check_error("MSH", ErrorCode::kDataTypeError, ErrorLocation{"MSH", 1, 1});
  check_error("MSH\r", ErrorCode::kDataTypeError, ErrorLocation{"MSH", 1, 1});
  check_error("MSH|\r", ErrorCode::kDataTypeError, ErrorLocation{"MSH", 1, 2});
  check_error("MSH|^~\\\r", ErrorCode::kDataTypeError, ErrorLocation{"MSH", 1, 2});
  check_error("MSH|^~\\|&\r", ErrorCode::kDataTypeError, ErrorLocation{"MSH", 1, 2});
  check_error("MSH|^^\\&|A\r", ErrorCode::kDataTypeError, ErrorLocation{"MSH", 1, 2});
  check_error("MSHa^~\\&\r", ErrorCode::kSegmentSequenceError, std::nullopt);
}

TEST_CASE("a second MSH is HL7 100 at that MSH") {
  check_error(kMsh + "\rPID|1\r" + kMsh + "\r", ErrorCode::kSegmentSequenceError,
              ErrorLocation{"MSH", 2});
}

TEST_CASE("a segment without a valid id is HL7 100") {
  for (std::string line : {"pid|1", "PI|1", "PIDX|1",
                           "P\x01"
                           "D|1",
                           "1ID|1", "PID^1", " PID|1"}) {
    CAPTURE(line);
    check_error(kMsh + "\r" + line + "\r", ErrorCode::kSegmentSequenceError, std::nullopt);
  }
}

TEST_CASE("limits are HL7 207 with kind kTooLarge") {
  std::string text = kMsh + "\rPID|1|2|3\rOBX|1\rOBX|2\r";
  ParseOptions size;
  size.max_message_bytes = text.size() - 1;
  auto big = parse(text, size);
  REQUIRE_FALSE(big);
  CHECK(big.error().kind == ErrorKind::kTooLarge);
  CHECK(error_code(big.error()) == ErrorCode::kApplicationInternalError);
  size.max_message_bytes = text.size();
  CHECK(parse(text, size));

  ParseOptions segments;
  segments.max_segments = 3;
  auto many = parse(text, segments);
  REQUIRE_FALSE(many);
  CHECK(many.error().kind == ErrorKind::kTooLarge);
  segments.max_segments = 4;
  CHECK(parse(text, segments));

  ParseOptions fields;
  fields.max_fields_per_segment = 2;
  auto wide = parse(kMsh + "\rPID|1|2|3\r", fields);
  REQUIRE_FALSE(wide);  // the MSH already has 12
  CHECK(error_location(wide.error()) == ErrorLocation{"MSH", 1});
  fields.max_fields_per_segment = 12;
  wide = parse(kMsh + "\rPID|1|2|3\rPID|1|2|3|4|5|6|7|8|9|10|11|12|13\r", fields);
  REQUIRE_FALSE(wide);
  CHECK(wide.error().kind == ErrorKind::kTooLarge);
  CHECK(error_location(wide.error()) == ErrorLocation{"PID", 2});
}

TEST_CASE("error messages never quote the message") {
  auto m = parse(kMsh + "\rSECRET-NAME|1\r");
  REQUIRE_FALSE(m);
  CHECK(m.error().message.find("SECRET") == std::string::npos);
  CHECK(m.error().location.find("SECRET") == std::string::npos);
}

TEST_CASE("split_messages cuts a file at each MSH") {
  std::string a = kMsh + "\rPID|1\r";
  std::string b = kMsh + "\nPID|2\n";
  std::string c = kMsh + "\r\nPID|3";
  std::string file = a + b + c;
  auto parts = split_messages(file);
  REQUIRE(parts.size() == 3);
  CHECK(parts[0] == a);
  CHECK(parts[1] == b);
  CHECK(parts[2] == c);
  CHECK(split_messages("").empty());
  CHECK(split_messages("\r\n\r\n").empty());
}

TEST_CASE("split_messages drops batch envelopes and blank lines between messages") {
  std::string a = kMsh + "\rPID|1\r";
  std::string b = kMsh + "\rPID|2\r";
  std::string file = "FHS|^~\\&|A\rBHS|^~\\&|A\r" + a + "\r\n" + b + "BTS|2\rFTS|1\r";
  auto parts = split_messages(file);
  REQUIRE(parts.size() == 2);
  CHECK(parts[0] == a + "\r\n");
  CHECK(parts[1] == b);
  CHECK(parse(parts[0]));
}

TEST_CASE("split_messages keeps stray text so that parse rejects it") {
  std::string file = "garbage\r" + kMsh + "\r";
  auto parts = split_messages(file);
  REQUIRE(parts.size() == 2);
  CHECK(parts[0] == "garbage\r");
  CHECK_FALSE(parse(parts[0]));
}

TEST_CASE("split_messages keeps a leading byte order mark with the first message") {
  std::string text = "\xEF\xBB\xBF" + kMsh + "\r" + kMsh + "\r";
  auto parts = split_messages(text);
  REQUIRE(parts.size() == 2);
  CHECK(parts[0] == "\xEF\xBB\xBF" + kMsh + "\r");
  CHECK(parse(parts[0])->charset() == Charset::kUtf8);
}
