#include "protocols/hl7v2/delimiters.hpp"

#include <doctest/doctest.h>

#include "protocols/hl7v2/error.hpp"

using namespace cg::hl7v2;

TEST_CASE("the usual MSH-1 and MSH-2 give the default delimiters") {
  auto d = Delimiters::from_header('|', "^~\\&");
  REQUIRE(d);
  CHECK(*d == Delimiters{});
  CHECK(d->truncation == '\0');
  CHECK(d->encoding_characters() == "^~\\&");
}

TEST_CASE("a fifth encoding character is the v2.7 truncation character") {
  auto d = Delimiters::from_header('|', "^~\\&#");
  REQUIRE(d);
  CHECK(d->truncation == '#');
  CHECK(d->encoding_characters() == "^~\\&#");
  CHECK(d->is_delimiter('#'));
  CHECK_FALSE(Delimiters{}.is_delimiter('#'));
}

TEST_CASE("unusual but valid delimiters are taken in MSH-2 order") {
  auto d = Delimiters::from_header('$', "%!?@");
  REQUIRE(d);
  CHECK(d->field == '$');
  CHECK(d->component == '%');
  CHECK(d->repetition == '!');
  CHECK(d->escape == '?');
  CHECK(d->subcomponent == '@');
  for (char c : {'$', '%', '!', '?', '@'}) CHECK(d->is_delimiter(c));
  CHECK_FALSE(d->is_delimiter('|'));
}

TEST_CASE("unusable delimiters are HL7 102 at MSH-1 or MSH-2") {
  auto bad_field = Delimiters::from_header('A', "^~\\&");
  REQUIRE_FALSE(bad_field);
  CHECK(error_code(bad_field.error()) == ErrorCode::kDataTypeError);
  CHECK(error_location(bad_field.error())->field == 1);
  for (const char* encoding :
       {"", "^~\\", "^~\\&#*", "^^\\&", "^|\\&", "^~ &", "^~\\a", "^~\\\r", "^~\\\x01"}) {
    CAPTURE(encoding);
    auto d = Delimiters::from_header('|', encoding);
    REQUIRE_FALSE(d);
    CHECK(error_code(d.error()) == ErrorCode::kDataTypeError);
    CHECK(error_location(d.error()) == ErrorLocation{"MSH", 1, 2});
  }
  CHECK_FALSE(Delimiters::from_header(' ', "^~\\&"));
  CHECK_FALSE(Delimiters::from_header('\r', "^~\\&"));
}
