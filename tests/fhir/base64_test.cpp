#include "protocols/fhir/model/base64.hpp"

#include <doctest/doctest.h>

#include <utility>

using namespace cg;

TEST_CASE("base64 and base64url match the RFC 4648 test vectors") {
  const std::pair<std::string_view, std::string_view> padded[] = {{"", ""},
                                                                  {"f", "Zg=="},
                                                                  {"fo", "Zm8="},
                                                                  {"foo", "Zm9v"},
                                                                  {"foob", "Zm9vYg=="},
                                                                  {"fooba", "Zm9vYmE="},
                                                                  {"foobar", "Zm9vYmFy"},
                                                                  {"\xfb\xff", "+/8="}};
  for (auto [bytes, text] : padded) {
    CHECK(base64_encode(bytes) == text);
    CHECK(base64_decode(text) == std::string(bytes));
  }
  const std::pair<std::string_view, std::string_view> url[] = {
      {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
      {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}, {"\xfb\xff", "-_8"}};
  for (auto [bytes, text] : url) {
    CHECK(base64url_encode(bytes) == text);
    CHECK(base64url_decode(text) == std::string(bytes));
  }
}

TEST_CASE("base64url refuses padding, other alphabets, stray characters and loose bits") {
  for (std::string_view bad :
       {"Zg==", "Zm8=", "Z", "Zm9vY", "Zm+v", "Zm/v", "Zm9v\n", " Zm9v", "Zh", "Zm9", "Zm9vYh"}) {
    CAPTURE(bad);
    CHECK_FALSE(base64url_decode(bad).has_value());
  }
  CHECK(base64url_decode("Zm8").has_value());  // "Zm9" differs from it only in the unused bits
}

TEST_CASE("base64 needs its padding, and refuses the url alphabet, stray '=' and loose bits") {
  for (std::string_view bad : {"Zg", "Zm8", "Zg=", "Z===", "====", "Zm-v", "Zm_v", "Zm9v\n", "Zg=a",
                               "=Zm9", "Zh==", "Zm9=", "Zm9vYh=="}) {
    CAPTURE(bad);
    CHECK_FALSE(base64_decode(bad).has_value());
  }
  CHECK(base64_decode("YTpi") == "a:b");  // Basic credentials "a:b"
}
