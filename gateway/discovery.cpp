#include "gateway/discovery.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

namespace cg::gateway {
namespace {

// The HTTP routes a client needs first (gateway/router.cpp): the FHIR base and the OAuth2
// token endpoint.
constexpr std::string_view kFhirBasePath = "/fhir";
constexpr std::string_view kTokenPath = "/auth/token";

// A DNS-SD TXT item holds at most 255 bytes (RFC 6763 §6.1).
constexpr std::size_t kMaxTxtItemBytes = 255;

std::string txt_item(std::string_view key, std::string_view value) {
  return utf8_prefix(std::string(key) + "=" + std::string(value), kMaxTxtItemBytes);
}

std::string_view without_brackets(std::string_view address) {
  if (address.size() >= 2 && address.front() == '[' && address.back() == ']') {
    return address.substr(1, address.size() - 2);
  }
  return address;
}

ListenScope ipv4_scope(const in_addr& a) {
  const std::uint32_t host = ntohl(a.s_addr);
  if (host == 0) return {ListenScope::kAllInterfaces, AddressFamily::kIPv4};
  if ((host >> 24) == 127) return {ListenScope::kLoopback, AddressFamily::kIPv4};
  return {ListenScope::kOneAddress, AddressFamily::kIPv4};
}

ListenScope ipv6_scope(const in6_addr& a) {
  // "::" takes IPv4 connections too (Linux's default IPV6_V6ONLY=0): both families.
  if (IN6_IS_ADDR_UNSPECIFIED(&a)) return {ListenScope::kAllInterfaces, AddressFamily::kAny};
  if (IN6_IS_ADDR_LOOPBACK(&a)) return {ListenScope::kLoopback, AddressFamily::kIPv6};
  if (IN6_IS_ADDR_V4MAPPED(&a)) {
    in_addr v4;
    std::memcpy(&v4.s_addr, a.s6_addr + 12, 4);
    return ipv4_scope(v4);
  }
  return {ListenScope::kOneAddress, AddressFamily::kIPv6};
}

}  // namespace

ListenScope listen_scope(std::string_view address) {
  const std::string text(without_brackets(address));
  in_addr v4;
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) return ipv4_scope(v4);
  in6_addr v6;
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) return ipv6_scope(v6);
  return {ListenScope::kAllInterfaces, AddressFamily::kAny};
}

std::string utf8_prefix(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  std::size_t end = max_bytes;
  // Back off over continuation bytes (10xxxxxx) to the start of the cut character.
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return std::string(text.substr(0, end));
}

std::string instance_name(const GatewayConfig& config) {
  if (!config.discovery.name.empty()) return config.discovery.name;
  return utf8_prefix("Clinic Gateway " + config.node_name, kMaxInstanceNameBytes);
}

DiscoveryPlan discovery_plan(const GatewayConfig& config, const BoundListeners& bound,
                             std::string_view version) {
  DiscoveryPlan plan;
  auto add = [&](std::string listener, std::string_view type, const std::string& address,
                 std::uint16_t port, const TlsSettings& tls, std::vector<std::string> txt) {
    const ListenScope scope = listen_scope(address);
    if (scope.kind == ListenScope::kLoopback) {
      plan.skipped.push_back(listener + " listens on " + address +
                             " (loopback) only: not announced on the network");
      return;
    }
    ServiceSpec spec;
    spec.listener = std::move(listener);
    spec.type = std::string(type);
    spec.port = port;
    spec.address = scope.kind == ListenScope::kOneAddress ? address : std::string();
    spec.family = scope.family;
    spec.txt = {"txtvers=1", txt_item("node", config.node_name), txt_item("version", version),
                tls.certificate ? "tls=on" : "tls=off"};
    spec.txt.insert(spec.txt.end(), txt.begin(), txt.end());
    plan.services.push_back(std::move(spec));
  };
  // One line per listener: a new listener adds its own.
  add("FHIR", kFhirServiceType, config.http.address, bound.http_port, config.http.tls,
      {txt_item("path", kFhirBasePath), txt_item("token", kTokenPath)});
  if (bound.mllp_port) {
    add("HL7v2 MLLP", kMllpServiceType, config.mllp.address, *bound.mllp_port, config.mllp.tls, {});
  }
  if (bound.syslog_tls_port) {
    add("ATNA syslog over TLS", kSyslogTlsServiceType, config.atna.address, *bound.syslog_tls_port,
        config.atna.tls, {});
  }
  return plan;
}

std::optional<unsigned> interface_owning(std::string_view address) {
  const std::string text(without_brackets(address));
  in_addr v4;
  in6_addr v6;
  const bool is_v4 = inet_pton(AF_INET, text.c_str(), &v4) == 1;
  if (!is_v4 && inet_pton(AF_INET6, text.c_str(), &v6) != 1) return std::nullopt;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return std::nullopt;
  std::optional<unsigned> found;
  for (const ifaddrs* i = list; i != nullptr && !found; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    if (is_v4 && i->ifa_addr->sa_family == AF_INET) {
      const auto* a = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      if (a->sin_addr.s_addr == v4.s_addr) found = if_nametoindex(i->ifa_name);
    } else if (!is_v4 && i->ifa_addr->sa_family == AF_INET6) {
      const auto* a = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
      if (std::memcmp(&a->sin6_addr, &v6, sizeof v6) == 0) found = if_nametoindex(i->ifa_name);
    }
  }
  freeifaddrs(list);
  if (found && *found == 0) return std::nullopt;  // if_nametoindex failed
  return found;
}

}  // namespace cg::gateway
