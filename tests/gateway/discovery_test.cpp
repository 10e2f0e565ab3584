#include "gateway/discovery.hpp"

#include <doctest/doctest.h>
#include <net/if.h>

#include <algorithm>

using namespace cg::gateway;

namespace {

GatewayConfig lan_config() {
  GatewayConfig c;
  c.node_name = "kisumu-1";
  c.http.address = "0.0.0.0";
  c.mllp.address = "0.0.0.0";
  c.atna.address = "0.0.0.0";
  return c;
}

const ServiceSpec* find(const DiscoveryPlan& plan, std::string_view type) {
  auto it = std::find_if(plan.services.begin(), plan.services.end(),
                         [&](const ServiceSpec& s) { return s.type == type; });
  return it == plan.services.end() ? nullptr : &*it;
}

bool has_txt(const ServiceSpec& s, std::string_view item) {
  return std::find(s.txt.begin(), s.txt.end(), item) != s.txt.end();
}

}  // namespace

TEST_CASE("every running listener on the LAN becomes one service with its bound port") {
  BoundListeners bound;
  bound.http_port = 8080;
  bound.mllp_port = 2575;
  bound.syslog_tls_port = 6514;
  const DiscoveryPlan plan = discovery_plan(lan_config(), bound, "1.2.3");
  REQUIRE(plan.services.size() == 3);
  CHECK(plan.skipped.empty());

  const ServiceSpec* fhir = find(plan, "_clinic-gateway._tcp");
  REQUIRE(fhir);
  CHECK(fhir->port == 8080);
  CHECK(fhir->address.empty());  // 0.0.0.0: every interface
  CHECK(fhir->family == AddressFamily::kIPv4);
  CHECK(fhir->txt == std::vector<std::string>{"txtvers=1", "node=kisumu-1", "version=1.2.3",
                                              "tls=off", "path=/fhir", "token=/auth/token"});

  const ServiceSpec* mllp = find(plan, "_hl7-mllp._tcp");
  REQUIRE(mllp);
  CHECK(mllp->port == 2575);
  CHECK(mllp->txt ==
        std::vector<std::string>{"txtvers=1", "node=kisumu-1", "version=1.2.3", "tls=off"});

  const ServiceSpec* syslog = find(plan, "_syslog-tls._tcp");
  REQUIRE(syslog);
  CHECK(syslog->port == 6514);
}

TEST_CASE("listeners that do not run are not announced") {
  BoundListeners bound;
  bound.http_port = 8080;
  const DiscoveryPlan plan = discovery_plan(lan_config(), bound, "1.2.3");
  REQUIRE(plan.services.size() == 1);
  CHECK(plan.services[0].type == "_clinic-gateway._tcp");
}

TEST_CASE("tls= follows each listener's own TLS settings") {
  GatewayConfig c = lan_config();
  c.http.tls.certificate = "/etc/gw/cert.pem";
  c.http.tls.private_key = "/etc/gw/key.pem";
  c.atna.tls = c.http.tls;
  BoundListeners bound;
  bound.http_port = 443;
  bound.mllp_port = 2575;
  bound.syslog_tls_port = 6514;
  const DiscoveryPlan plan = discovery_plan(c, bound, "1.2.3");
  CHECK(has_txt(*find(plan, "_clinic-gateway._tcp"), "tls=on"));
  CHECK(has_txt(*find(plan, "_hl7-mllp._tcp"), "tls=off"));
  CHECK(has_txt(*find(plan, "_syslog-tls._tcp"), "tls=on"));
}

TEST_CASE("loopback listeners are skipped with a reason, and nothing is left to announce") {
  GatewayConfig c = lan_config();
  c.http.address = "127.0.0.1";
  c.mllp.address = "::1";
  c.atna.address = "[::ffff:127.0.0.1]";
  BoundListeners bound;
  bound.http_port = 8080;
  bound.mllp_port = 2575;
  bound.syslog_tls_port = 6514;
  const DiscoveryPlan plan = discovery_plan(c, bound, "1.2.3");
  CHECK(plan.services.empty());
  REQUIRE(plan.skipped.size() == 3);
  CHECK(plan.skipped[0] ==
        "FHIR listens on 127.0.0.1 (loopback) only: not announced on the network");
  CHECK(plan.skipped[1].find("HL7v2 MLLP listens on ::1") == 0);
}

TEST_CASE("a listener on one address keeps it, to be announced on that address's interface") {
  GatewayConfig c = lan_config();
  c.http.address = "192.168.4.10";
  c.mllp.address = "fd00::10";
  BoundListeners bound;
  bound.http_port = 8080;
  bound.mllp_port = 2575;
  const DiscoveryPlan plan = discovery_plan(c, bound, "1.2.3");
  CHECK(find(plan, "_clinic-gateway._tcp")->address == "192.168.4.10");
  CHECK(find(plan, "_clinic-gateway._tcp")->family == AddressFamily::kIPv4);
  CHECK(find(plan, "_hl7-mllp._tcp")->address == "fd00::10");
  CHECK(find(plan, "_hl7-mllp._tcp")->family == AddressFamily::kIPv6);
}

TEST_CASE("listen scopes: loopback, every interface, one address") {
  CHECK(listen_scope("127.0.0.1").kind == ListenScope::kLoopback);
  CHECK(listen_scope("127.8.9.1").kind == ListenScope::kLoopback);
  CHECK(listen_scope("::1").kind == ListenScope::kLoopback);
  CHECK(listen_scope("[::1]").kind == ListenScope::kLoopback);
  CHECK(listen_scope("::ffff:127.0.0.1").kind == ListenScope::kLoopback);
  CHECK(listen_scope("0.0.0.0").kind == ListenScope::kAllInterfaces);
  CHECK(listen_scope("0.0.0.0").family == AddressFamily::kIPv4);
  CHECK(listen_scope("::").kind == ListenScope::kAllInterfaces);
  CHECK(listen_scope("[::]").family == AddressFamily::kAny);  // dual-stack
  CHECK(listen_scope("").kind == ListenScope::kAllInterfaces);
  CHECK(listen_scope("10.0.0.5").kind == ListenScope::kOneAddress);
  CHECK(listen_scope("::ffff:10.0.0.5").family == AddressFamily::kIPv4);
  CHECK(listen_scope("fe80::1").kind == ListenScope::kOneAddress);
}

TEST_CASE("the instance name: [discovery] name, else from the node name within 63 bytes") {
  GatewayConfig c;
  c.node_name = "kisumu-1";
  CHECK(instance_name(c) == "Clinic Gateway kisumu-1");
  c.discovery.name = "Reception";
  CHECK(instance_name(c) == "Reception");

  c.discovery.name.clear();
  c.node_name = std::string(40, 'x') + "é" + std::string(40, 'y');  // é: 2 bytes at 55-56
  const std::string name = instance_name(c);
  CHECK(name.size() <= kMaxInstanceNameBytes);
  CHECK(name == "Clinic Gateway " + std::string(40, 'x') + "é" + std::string(6, 'y'));
  c.node_name = std::string(47, 'x') + "é";  // "Clinic Gateway " (15) + 47 = 62: é is cut
  CHECK(instance_name(c) == "Clinic Gateway " + std::string(47, 'x'));
}

TEST_CASE("TXT items stay within 255 bytes") {
  GatewayConfig c = lan_config();
  c.node_name = std::string(300, 'n');
  BoundListeners bound;
  bound.http_port = 8080;
  const DiscoveryPlan plan = discovery_plan(c, bound, "1.2.3");
  for (const std::string& item : plan.services[0].txt) CHECK(item.size() <= 255);
  CHECK(plan.services[0].txt[1] == "node=" + std::string(250, 'n'));
}

TEST_CASE("utf8_prefix never splits a character") {
  CHECK(utf8_prefix("abc", 5) == "abc");
  CHECK(utf8_prefix("abc", 2) == "ab");
  CHECK(utf8_prefix("a€b", 3) == "a");  // € is 3 bytes
  CHECK(utf8_prefix("a€b", 4) == "a€");
}

TEST_CASE("the interface holding an address") {
  const unsigned lo = if_nametoindex("lo");
  REQUIRE(lo != 0);
  CHECK(interface_owning("127.0.0.1") == lo);
  CHECK_FALSE(interface_owning("192.0.2.77").has_value());  // TEST-NET-1: nobody's
  CHECK_FALSE(interface_owning("not an address").has_value());
}
