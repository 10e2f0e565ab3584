#include "protocols/http/percent_encoding.hpp"

#include <doctest/doctest.h>

namespace cg::http {

TEST_CASE("escapes of either case decode, and '+' is a space only in form encoding") {
  CHECK(percent_decode("a%2Fb%2fc", false) == "a/b/c");
  CHECK(percent_decode("a+b%20c", true) == "a b c");
  CHECK(percent_decode("a+b", false) == "a+b");
  CHECK(percent_decode("%00", false) == std::string(1, '\0'));
  CHECK(percent_decode("", true) == "");
}

TEST_CASE("a truncated or non-hex escape is refused") {
  CHECK_FALSE(percent_decode("%", true));
  CHECK_FALSE(percent_decode("abc%4", true));
  CHECK_FALSE(percent_decode("%zz", true));
  CHECK_FALSE(percent_decode("%4g", false));
}

TEST_CASE("form encoding keeps the safe characters, turns spaces into '+' and escapes the rest") {
  CHECK(form_encode("user/*.rs openid") == "user%2F*.rs+openid");
  CHECK(form_encode("a+b&c=d%") == "a%2Bb%26c%3Dd%25");
  CHECK(form_encode("Az09-._~") == "Az09-._%7E");
  CHECK(form_encode("\xc3\xa4") == "%C3%A4");
  CHECK(form_encode("") == "");
}

TEST_CASE("decoding a form-encoded value gives back every byte") {
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  CHECK(percent_decode(form_encode(all), true) == all);
}

}  // namespace cg::http

TEST_CASE("percent_encode escapes all but the unreserved bytes, and decodes back") {
  CHECK(cg::http::percent_encode("aZ09-._~") == "aZ09-._~");
  CHECK(cg::http::percent_encode("a b/c|d,e") == "a%20b%2Fc%7Cd%2Ce");
  CHECK(cg::http::percent_encode("\xC3\xA9") == "%C3%A9");
  const std::string any = "http://loinc.org|1234-5 & ?=+%";
  CHECK(cg::http::percent_decode(cg::http::percent_encode(any), true) == any);
}
