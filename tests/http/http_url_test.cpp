#include "protocols/http/http_url.hpp"

#include <doctest/doctest.h>

namespace cg::http {

TEST_CASE("an https URL with a port and a path splits into host, port and target") {
  auto url = parse_http_url("https://district.example:8443/auth/token");
  REQUIRE(url);
  CHECK(url->tls);
  CHECK(url->host == "district.example");
  CHECK(url->port == 8443);
  CHECK(url->target == "/auth/token");
  CHECK(host_header(*url) == "district.example:8443");
}

TEST_CASE("the scheme gives the default port and an absent path is /") {
  auto plain = parse_http_url("HTTP://127.0.0.1");
  REQUIRE(plain);
  CHECK_FALSE(plain->tls);
  CHECK(plain->port == 80);
  CHECK(plain->target == "/");
  auto tls = parse_http_url("https://gw.example?x=1");
  REQUIRE(tls);
  CHECK(tls->port == 443);
  CHECK(tls->target == "/?x=1");
}

TEST_CASE("an IPv6 host is written in brackets and kept without them") {
  auto url = parse_http_url("http://[::1]:8080/auth/token");
  REQUIRE(url);
  CHECK(url->host == "::1");
  CHECK(url->port == 8080);
  CHECK(host_header(*url) == "[::1]:8080");
}

TEST_CASE("user info, fragments, other schemes, bad ports and odd characters are refused") {
  for (const char* bad :
       {"ftp://x/", "https://user:pw@gw.example/", "https://gw.example/a#frag", "https://:443/",
        "https://gw.example:0/", "https://gw.example:65536/", "https://gw.example:/",
        "https://gw.example:8x/", "https://gw example/", "https://[::1/", "https://[g::1]/",
        "https://gw.example/a b", "gw.example/auth/token", "", "https://"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_http_url(bad));
  }
  CHECK_FALSE(parse_http_url("https://gw.example/" + std::string(3000, 'a')));
}

}  // namespace cg::http
