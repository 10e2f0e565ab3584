#include "protocols/fhir/model/primitives.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace cg::fhir;

TEST_CASE("dates allow year, month or day precision and real calendar days") {
  for (auto s : {"2020", "2020-02", "2020-02-29", "0001-01-01", "1999-12-31"}) {
    CHECK_MESSAGE(is_valid_date(s), s);
  }
  for (auto s : {"", "0000", "20", "2020-", "2020-2", "2020-13", "2020-00", "2019-02-29",
                 "2020-04-31", "2020-01-01T10:00:00Z", "2020-01-01 ", "abcd"}) {
    CHECK_FALSE_MESSAGE(is_valid_date(s), s);
  }
}

TEST_CASE("dateTime needs a zone once a time is given; instant needs everything") {
  for (auto s : {"2020", "2020-01", "2020-01-02", "2020-01-02T03:04:05Z",
                 "2020-01-02T03:04:05.123+14:00", "2020-01-02T23:59:60-13:59"}) {
    CHECK_MESSAGE(is_valid_date_time(s), s);
  }
  for (auto s : {"2020-01-02T03:04:05", "2020-01-02T03:04Z", "2020-01-02T24:00:00Z",
                 "2020-01-02T03:04:05+14:01", "2020-01-02T03:04:05.Z", "2020-01T03:04:05Z"}) {
    CHECK_FALSE_MESSAGE(is_valid_date_time(s), s);
  }
  CHECK(is_valid_instant("2015-02-07T13:28:17.239+02:00"));
  CHECK_FALSE(is_valid_instant("2015-02-07"));
  CHECK_FALSE(is_valid_instant("2015-02-07T13:28:17"));
  CHECK(is_valid_time("13:28:17"));
  CHECK(is_valid_time("00:00:00.5"));
  CHECK_FALSE(is_valid_time("13:28"));
  CHECK_FALSE(is_valid_time("13:28:17Z"));
}

TEST_CASE("numbers follow the R4 lexical rules and the 32-bit range") {
  CHECK(is_valid_primitive(PrimitiveType::kInteger, "-2147483648"));
  CHECK(is_valid_primitive(PrimitiveType::kInteger, "2147483647"));
  CHECK(is_valid_primitive(PrimitiveType::kInteger, "0"));
  CHECK_FALSE(is_valid_primitive(PrimitiveType::kInteger, "2147483648"));
  CHECK_FALSE(is_valid_primitive(PrimitiveType::kInteger, "-0"));
  CHECK_FALSE(is_valid_primitive(PrimitiveType::kInteger, "01"));
  CHECK_FALSE(is_valid_primitive(PrimitiveType::kInteger, "1.0"));
  CHECK_FALSE(is_valid_primitive(PrimitiveType::kPositiveInt, "0"));
  CHECK(is_valid_primitive(PrimitiveType::kUnsignedInt, "0"));
  CHECK_FALSE(is_valid_primitive(PrimitiveType::kUnsignedInt, "-1"));
  for (auto s : {"0", "-0", "1.50", "-3.0e-2", "1E+5", "123"}) {
    CHECK_MESSAGE(is_valid_primitive(PrimitiveType::kDecimal, s), s);
  }
  for (auto s : {"", "01", "1.", ".5", "1e", "+1", "--1", "1.5.2", "NaN"}) {
    CHECK_FALSE_MESSAGE(is_valid_primitive(PrimitiveType::kDecimal, s), s);
  }
}

TEST_CASE("string-like types") {
  CHECK(is_valid_string("tab\tand\nnewline"));
  CHECK_FALSE(is_valid_string(""));
  CHECK_FALSE(is_valid_string("bell\a"));
  CHECK(is_valid_code("final"));
  CHECK(is_valid_code("two words"));
  CHECK_FALSE(is_valid_code(" lead"));
  CHECK_FALSE(is_valid_code("trail "));
  CHECK_FALSE(is_valid_code("two  spaces"));
  CHECK(is_valid_id("a-B.9"));
  CHECK_FALSE(is_valid_id("a_b"));
  CHECK_FALSE(is_valid_id(std::string(65, 'a')));
  CHECK(is_valid_primitive(PrimitiveType::kUri, "urn:x:y"));
  CHECK_FALSE(is_valid_primitive(PrimitiveType::kUri, "a b"));
  CHECK(is_valid_primitive(PrimitiveType::kOid, "urn:oid:1.2.840.10008"));
  CHECK_FALSE(is_valid_primitive(PrimitiveType::kOid, "urn:oid:3.1"));
  CHECK_FALSE(is_valid_primitive(PrimitiveType::kOid, "urn:oid:1.02"));
  CHECK_FALSE(is_valid_primitive(PrimitiveType::kOid, "urn:oid:1"));
  CHECK(is_valid_primitive(PrimitiveType::kUuid, "urn:uuid:c757873d-ec9a-4326-a141-556f43239520"));
  CHECK_FALSE(
      is_valid_primitive(PrimitiveType::kUuid, "urn:uuid:C757873D-ec9a-4326-a141-556f43239520"));
  CHECK(is_valid_primitive(PrimitiveType::kBase64Binary, "aGVsbG8="));
  CHECK(is_valid_primitive(PrimitiveType::kBase64Binary, "aGVs bG8=\n"));
  CHECK_FALSE(is_valid_primitive(PrimitiveType::kBase64Binary, "aGVsbG8"));
  CHECK_FALSE(is_valid_primitive(PrimitiveType::kBase64Binary, "aG Vs"));
  CHECK_FALSE(is_valid_primitive(PrimitiveType::kBase64Binary, "aGV*"));
  CHECK(is_valid_primitive(PrimitiveType::kBoolean, "true"));
  CHECK_FALSE(is_valid_primitive(PrimitiveType::kBoolean, "True"));
  CHECK_FALSE(is_valid_primitive(PrimitiveType::kNone, "x"));
}

TEST_CASE("strings are limited to 1 MiB characters, markdown is not") {
  const std::string big(1024 * 1024 + 1, 'a');
  CHECK_FALSE(is_valid_primitive(PrimitiveType::kString, big));
  CHECK(is_valid_primitive(PrimitiveType::kString, big.substr(1)));
  CHECK(is_valid_primitive(PrimitiveType::kMarkdown, big));
  // Multi-byte UTF-8 counts as one character each.
  std::string wide;
  for (int i = 0; i < 1024 * 1024; ++i) wide += "\xC3\xA9";
  CHECK(is_valid_primitive(PrimitiveType::kString, wide));
}
