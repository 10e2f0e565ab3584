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
