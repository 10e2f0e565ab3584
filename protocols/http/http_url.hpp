#pragma once
// HttpUrl: an absolute http:// or https:// URL split into what a client connects to and what
// it asks for — scheme, host, port and request target. Used for the URLs an operator writes
// into gateway.toml (upstream.token_url), so the parser is strict and small: no user info
// (credentials do not belong in a URL that is logged and shown), no fragment, a host that is
// a DNS name, an IPv4 address or a bracketed IPv6 address.
// Pure functions; thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cg::http {

struct HttpUrl {
  bool tls = false;          // https
  std::string host;          // as written, without IPv6 brackets ("::1")
  std::uint16_t port = 0;    // the scheme's default (80, 443) when the URL names none
  std::string target = "/";  // path and query: "/auth/token"
};

inline constexpr std::string_view kHttpUrlForm =
    "must be http://HOST[:PORT]/PATH or https://…, without user info or fragment";

// nullopt for anything but that form (kHttpUrlForm says it to a person), for a port outside
// 1–65535, for spaces or control characters, and for URLs longer than 2048 bytes.
std::optional<HttpUrl> parse_http_url(std::string_view url);

// "host:port", with brackets around an IPv6 host: the Host header's value.
std::string host_header(const HttpUrl& url);

}  // namespace cg::http
