#pragma once
// SyslogDestination: where the gateway sends syslog messages over a stream — an upstream
// audit record repository written as a URL in gateway.toml ([audit.forward] syslog_url):
//   tls://HOST[:PORT]   RFC 5425 syslog over TLS (the ATNA secure transport), port 6514
//   tcp://HOST[:PORT]   RFC 6587 syslog over plain TCP (octet counting), port 514
// HOST is a DNS name, an IPv4 address or a bracketed IPv6 address; no user info, path,
// query or fragment. Pure functions; thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cg::atna {

inline constexpr std::uint16_t kSyslogTlsPort = 6514;  // IANA syslog-tls (RFC 5425)
inline constexpr std::uint16_t kSyslogTcpPort = 514;   // no IANA port; what rsyslog listens on

struct SyslogDestination {
  bool tls = true;
  std::string host;  // without IPv6 brackets
  std::uint16_t port = kSyslogTlsPort;
};

inline constexpr std::string_view kSyslogUrlForm =
    "must be tls://HOST[:PORT] or tcp://HOST[:PORT], without a path";

// nullopt for anything but that form (kSyslogUrlForm says it to a person).
std::optional<SyslogDestination> parse_syslog_url(std::string_view url);

// "tls://host:port" (IPv6 in brackets): the destination as logs and `audit stats` name it.
std::string to_url(const SyslogDestination& destination);

}  // namespace cg::atna
