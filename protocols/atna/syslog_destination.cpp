#include "protocols/atna/syslog_destination.hpp"

#include "protocols/http/http_url.hpp"

namespace cg::atna {
namespace {

// True when the authority ("host", "host:1", "[::1]:1") names a port.
bool names_port(std::string_view authority) {
  const auto close = authority.rfind(']');
  const auto colon = authority.rfind(':');
  return colon != std::string_view::npos && (close == std::string_view::npos || colon > close);
}

}  // namespace

std::optional<SyslogDestination> parse_syslog_url(std::string_view url) {
  SyslogDestination destination;
  std::string_view rest;
  if (url.starts_with("tls://")) {
    rest = url.substr(6);
  } else if (url.starts_with("tcp://")) {
    destination.tls = false;
    destination.port = kSyslogTcpPort;
    rest = url.substr(6);
  } else {
    return std::nullopt;
  }
  // The authority's rules (host forms, port range, no user info) are those of an http URL.
  if (rest.find_first_of("/?#") != std::string_view::npos) return std::nullopt;
  auto parsed = http::parse_http_url("http://" + std::string(rest));
  if (!parsed) return std::nullopt;
  destination.host = parsed->host;
  if (names_port(rest)) destination.port = parsed->port;
  return destination;
}

std::string to_url(const SyslogDestination& destination) {
  const bool v6 = destination.host.find(':') != std::string::npos;
  return std::string(destination.tls ? "tls://" : "tcp://") +
         (v6 ? "[" + destination.host + "]" : destination.host) + ":" +
         std::to_string(destination.port);
}

}  // namespace cg::atna
