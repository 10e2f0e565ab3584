#pragma once
// Discovery: what the gateway advertises over mDNS/DNS-SD so that tablets on the clinic
// Wi-Fi find it (docs/operations.md, "Discovery"). This header is the pure half: from the
// configuration and the ports the listeners really bound, the list of services to register
// (one ServiceSpec per listener that is reachable from the network) and the instance name.
// discovery_publisher.hpp registers them with avahi-daemon. Pure functions; thread-safe,
// except interface_owning(), which asks the kernel.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/config.hpp"

namespace cg::gateway {

// DNS-SD service types (RFC 6763 §7), one per kind of listener.
inline constexpr std::string_view kFhirServiceType = "_clinic-gateway._tcp";
inline constexpr std::string_view kMllpServiceType = "_hl7-mllp._tcp";
inline constexpr std::string_view kSyslogTlsServiceType = "_syslog-tls._tcp";

// A DNS-SD instance name is at most 63 bytes of UTF-8 (RFC 6763 §4.1.1).
inline constexpr std::size_t kMaxInstanceNameBytes = 63;

// Which IP family a service is announced for (Avahi's protocol of the records).
enum class AddressFamily { kAny, kIPv4, kIPv6 };

// Where a listener listens, as far as announcing it goes.
struct ListenScope {
  enum Kind { kLoopback, kAllInterfaces, kOneAddress } kind = kAllInterfaces;
  AddressFamily family = AddressFamily::kAny;
};

// "127.0.0.1", "::1" (any 127/8 or the v4-mapped form too) → kLoopback; "", "0.0.0.0",
// "::", "[::]" → kAllInterfaces; another IP literal → kOneAddress. Text that is not an IP
// literal counts as every interface (the listener would not have started with it anyway).
ListenScope listen_scope(std::string_view address);

// One DNS-SD service to register.
struct ServiceSpec {
  std::string listener;  // for the log: "FHIR", "HL7v2 MLLP", "ATNA syslog over TLS"
  std::string type;      // e.g. "_clinic-gateway._tcp"
  std::uint16_t port = 0;
  std::string address;  // the listen address when it is one address; "" for every interface
  AddressFamily family = AddressFamily::kAny;
  std::vector<std::string> txt;  // "key=value" items, each at most 255 bytes
};

// The ports the running listeners bound (port 0 in the config means "a free one").
struct BoundListeners {
  std::uint16_t http_port = 0;
  std::optional<std::uint16_t> mllp_port;        // when the MLLP listener runs
  std::optional<std::uint16_t> syslog_tls_port;  // when the ATNA syslog TLS receiver runs
};

struct DiscoveryPlan {
  std::vector<ServiceSpec> services;  // empty: nothing to announce
  std::vector<std::string> skipped;   // why a listener is not announced (logged at info)
};

// The services to announce for `config` with the listeners in `bound`. TXT keys
// (docs/operations.md): txtvers, node, version, tls, and for the FHIR API path and token.
DiscoveryPlan discovery_plan(const GatewayConfig& config, const BoundListeners& bound,
                             std::string_view version);

// [discovery] name, or "Clinic Gateway <node name>" cut to 63 bytes on a character boundary.
std::string instance_name(const GatewayConfig& config);

// `text` cut to at most `max_bytes` without splitting a UTF-8 sequence.
std::string utf8_prefix(std::string_view text, std::size_t max_bytes);

// The index of the network interface that holds `address` (an IP literal), from
// getifaddrs(3); nullopt when no interface holds it.
std::optional<unsigned> interface_owning(std::string_view address);

}  // namespace cg::gateway
