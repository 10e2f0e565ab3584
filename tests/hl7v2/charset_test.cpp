#include "protocols/hl7v2/charset.hpp"

#include <doctest/doctest.h>

#include <string>

#include "protocols/hl7v2/error.hpp"

using namespace cg::hl7v2;

TEST_CASE("MSH-18 names map to the three charsets and back") {
  CHECK(charset_from_name("ASCII") == Charset::kAscii);
  CHECK(charset_from_name("ISO IR6") == Charset::kAscii);
  CHECK(charset_from_name("8859/1") == Charset::kLatin1);
  CHECK(charset_from_name("UNICODE UTF-8") == Charset::kUtf8);
  CHECK(charset_from_name(" unicode utf-8 ") == Charset::kUtf8);
  CHECK(charset_from_name("UTF-8") == Charset::kUtf8);
  for (Charset c : {Charset::kAscii, Charset::kLatin1, Charset::kUtf8}) {
    CHECK(charset_from_name(charset_name(c)) == c);
  }
}

TEST_CASE("other and empty MSH-18 values name no charset") {
  for (const char* name : {"", "8859/2", "8859/15", "UNICODE UTF-16", "UNICODE", "ISO IR87"}) {
    CAPTURE(name);
    CHECK_FALSE(charset_from_name(name));
  }
}

TEST_CASE("ISO 8859-1 bytes read as UTF-8 and go back unchanged") {
  std::string latin1 = "M\xFCller \xE9t\xE9 \xA9";
  std::string utf8 = to_utf8(latin1, Charset::kLatin1);
  CHECK(utf8 == "M\xC3\xBCller \xC3\xA9t\xC3\xA9 \xC2\xA9");
  auto back = from_utf8(utf8, Charset::kLatin1);
  REQUIRE(back);
  CHECK(*back == latin1);
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  CHECK(*from_utf8(to_utf8(all, Charset::kLatin1), Charset::kLatin1) == all);
}

TEST_CASE("characters beyond U+00FF cannot be written to an 8859/1 message") {
  auto euro = from_utf8("5 \xE2\x82\xAC", Charset::kLatin1);
  REQUIRE_FALSE(euro);
  CHECK(error_code(euro.error()) == ErrorCode::kDataTypeError);
}

TEST_CASE("an ASCII message tolerates UTF-8 and falls back to Latin-1") {
  CHECK(to_utf8("plain", Charset::kAscii) == "plain");
  CHECK(to_utf8("N\xC3\xA4"
                "chname",
                Charset::kAscii) ==
        "N\xC3\xA4"
        "chname");
  CHECK(to_utf8("N\xE4"
                "chname",
                Charset::kAscii) ==
        "N\xC3\xA4"
        "chname");
  CHECK(*from_utf8("N\xC3\xA4"
                   "chname",
                   Charset::kAscii) ==
        "N\xC3\xA4"
        "chname");
}

TEST_CASE("invalid UTF-8 in a UTF-8 message reads as U+FFFD") {
  CHECK(to_utf8("a\xFF"
                "b",
                Charset::kUtf8) ==
        "a\xEF\xBF\xBD"
        "b");
  CHECK(to_utf8("\xC3", Charset::kUtf8) == "\xEF\xBF\xBD");
  CHECK(to_utf8("\xE2\x82\xAC", Charset::kUtf8) == "\xE2\x82\xAC");
}

TEST_CASE("setters refuse text that is not UTF-8") {
  for (Charset c : {Charset::kAscii, Charset::kLatin1, Charset::kUtf8}) {
    CHECK_FALSE(from_utf8("\xFF", c));
  }
}

TEST_CASE("UTF-8 validation rejects overlong forms, surrogates and too-large code points") {
  CHECK(is_valid_utf8(""));
  CHECK(is_valid_utf8("\xF0\x9F\x98\x80"));  // U+1F600
  CHECK(is_valid_utf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF
  CHECK_FALSE(is_valid_utf8("\xC0\xAF"));    // overlong '/'
  CHECK_FALSE(is_valid_utf8("\xE0\x80\xAF"));
  CHECK_FALSE(is_valid_utf8("\xED\xA0\x80"));  // U+D800
  CHECK_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));
  CHECK_FALSE(is_valid_utf8("\xE2\x82"));
  CHECK_FALSE(is_valid_utf8("\x80"));
}
