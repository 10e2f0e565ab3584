#include "protocols/hl7v2/sender_policy.hpp"

#include <doctest/doctest.h>

using namespace cg::hl7v2;

namespace {

Network net(std::string_view text) {
  auto n = parse_network(text);
  REQUIRE_MESSAGE(n.ok(), std::string(text));
  return *n;
}

}  // namespace

TEST_CASE("networks: IPv4 and IPv6, single addresses and prefixes") {
  CHECK(net("10.0.0.0/24").contains("10.0.0.77"));
  CHECK_FALSE(net("10.0.0.0/24").contains("10.0.1.1"));
  CHECK(net("192.168.1.7").contains("192.168.1.7"));
  CHECK_FALSE(net("192.168.1.7").contains("192.168.1.8"));
  CHECK(net("0.0.0.0/0").contains("8.8.8.8"));
  CHECK(net("fd00::/8").contains("fd12:3456::1"));
  CHECK_FALSE(net("fd00::/8").contains("fe80::1"));
  CHECK(net("::1").contains("::1"));
  // An IPv4 network does not contain IPv6 addresses outside the mapped range, and text that
  // is not an address is contained nowhere.
  CHECK_FALSE(net("10.0.0.0/8").contains("fd00::1"));
  CHECK_FALSE(net("0.0.0.0/0").contains("not-an-address"));
  for (const char* bad :
       {"10.0.0.0/33", "fd00::/129", "10.0.0/8", "10.0.0.0/", "host.example", "10.0.0.0/-1", ""}) {
    CHECK_FALSE(parse_network(bad).ok());
  }
}

TEST_CASE("no rules admit everyone; with rules one must match every part it gives") {
  CHECK(SenderPolicy().admits("ANY", "WHERE", "203.0.113.9", ""));
  SenderRule emr{"EMR", "WARD", {net("10.0.0.0/24")}, {}};
  SenderRule lab{"LAB", "", {}, {"CN=lab-1,O=Clinic"}};
  SenderPolicy policy({emr, lab});
  CHECK(policy.restricts());
  CHECK(policy.admits("EMR", "WARD", "10.0.0.5", ""));
  CHECK_FALSE(policy.admits("EMR", "WARD", "10.0.9.5", ""));   // wrong network
  CHECK_FALSE(policy.admits("EMR", "OTHER", "10.0.0.5", ""));  // wrong facility
  CHECK(policy.admits("LAB", "ANY", "198.51.100.1", "CN=lab-1,O=Clinic"));
  CHECK_FALSE(policy.admits("LAB", "ANY", "198.51.100.1", ""));  // no certificate
  CHECK_FALSE(policy.admits("LAB", "ANY", "198.51.100.1", "CN=lab-2,O=Clinic"));
  CHECK_FALSE(policy.admits("RIS", "", "10.0.0.5", ""));  // no rule for it
}
