#include "protocols/atna/syslog_destination.hpp"

#include <doctest/doctest.h>

using namespace cg::atna;

TEST_CASE("syslog URLs: tls:// and tcp:// with their default ports, any host form") {
  auto tls = parse_syslog_url("tls://arr.district.org");
  REQUIRE(tls);
  CHECK(tls->tls);
  CHECK(tls->host == "arr.district.org");
  CHECK(tls->port == 6514);
  auto tcp = parse_syslog_url("tcp://10.1.2.3");
  REQUIRE(tcp);
  CHECK_FALSE(tcp->tls);
  CHECK(tcp->port == 514);
  auto v6 = parse_syslog_url("tls://[fd00::7]:10514");
  REQUIRE(v6);
  CHECK(v6->host == "fd00::7");
  CHECK(v6->port == 10514);
  CHECK(to_url(*v6) == "tls://[fd00::7]:10514");
  CHECK(to_url(*tcp) == "tcp://10.1.2.3:514");
}

TEST_CASE("syslog URLs: other schemes, paths, user info and bad ports are refused") {
  for (const char* bad : {"udp://arr:514", "https://arr", "tls://", "tls://arr/path", "tls://arr?x",
                          "tls://user@arr", "tls://arr:0", "tls://arr:70000",
                          "tls://arr:", "tls://ar r", "TLS://arr", "tls://[zz]:1"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_syslog_url(bad));
  }
}
