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

}  // namespace cg::http

TEST_CASE("percent_encode escapes all but the unreserved bytes, and decodes back") {
  CHECK(cg::http::percent_encode("aZ09-._~") == "aZ09-._~");
  CHECK(cg::http::percent_encode("a b/c|d,e") == "a%20b%2Fc%7Cd%2Ce");
  CHECK(cg::http::percent_encode("\xC3\xA9") == "%C3%A9");
  const std::string any = "http://loinc.org|1234-5 & ?=+%";
  CHECK(cg::http::percent_decode(cg::http::percent_encode(any), true) == any);
}
