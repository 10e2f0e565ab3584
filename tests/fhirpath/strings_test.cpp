#include "protocols/fhir/fhirpath/strings.hpp"

#include <doctest/doctest.h>

using namespace cg::fhirpath;

TEST_CASE("length, index and substring count characters, not bytes") {
  const std::string s = "du March\xC3\xA9 x";  // "du Marché x"
  CHECK(utf8_length(s) == 11);
  CHECK(utf8_index(s, s.find(' ', 3)) == 9);
  CHECK(*utf8_substring(s, 8, 1) == "\xC3\xA9");
  CHECK_FALSE(utf8_substring(s, 11, std::nullopt));
  CHECK(utf8_chars("a\xC3\xA9").size() == 2);
}

TEST_CASE("split keeps empty parts and replace with an empty pattern interleaves") {
  CHECK(split_string("A,,C", ",") == std::vector<std::string>{"A", "", "C"});
  CHECK(replace_all("abc", "", "x") == "xaxbxcx");
  CHECK(replace_all("123456", "234", "") == "156");
}

TEST_CASE("regular expressions are single-line and refuse nested quantifiers") {
  CHECK(*regex_matches("A\nB", "A.*B", false));
  CHECK_FALSE(*regex_matches("xLibraryx", "Library", true));
  CHECK(*regex_matches("xLibraryx", "Library", false));
  CHECK_FALSE(regex_matches("aaaa", "(a*)*b", false).ok());
  CHECK_FALSE(regex_matches("aaaa", "^[(a]*+$", false).ok());
  CHECK_FALSE(regex_matches("aaaa", "^[ a-c]?+$", false).ok());
  CHECK(*regex_matches("aaab", "^a*?b$", false));
  CHECK(*regex_matches("b", "^(a*)?b$", false));
  CHECK(*regex_matches("a(b", "^[a(]+b$", false));
  CHECK(*regex_matches("ab", "^(ab)?$", false));
  CHECK_FALSE(regex_matches("a", "(", false).ok());
  CHECK(*regex_replace_all("abc123", "[0-9]", "-") == "abc---");
}

TEST_CASE("encode, decode, escape and unescape round-trip") {
  CHECK(*encode_string("subjects?_d", "base64") == "c3ViamVjdHM/X2Q=");
  CHECK(*encode_string("subjects?_d", "urlbase64") == "c3ViamVjdHM_X2Q=");
  CHECK(*decode_string("c3ViamVjdHM_X2Q=", "urlbase64") == "subjects?_d");
  CHECK(*encode_string("test", "hex") == "74657374");
  CHECK(*decode_string("74657374", "hex") == "test");
  CHECK_FALSE(decode_string("7", "hex"));
  CHECK(*escape_string("\"1<2\"", "html") == "&quot;1&lt;2&quot;");
  CHECK(*unescape_string("&quot;1&lt;2&quot;", "html") == "\"1<2\"");
  CHECK(*escape_string("\"a\"", "json") == "\\\"a\\\"");
  CHECK_FALSE(encode_string("x", "rot13"));
}
