#include "protocols/http/http_url.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace cg::http {
namespace {

bool starts_with_ignoring_case(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() &&
         std::equal(prefix.begin(), prefix.end(), s.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) ==
                  std::tolower(static_cast<unsigned char>(b));
         });
}

bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

// "host", "host:port", "[v6]" or "[v6]:port" into `url`.
bool parse_authority(std::string_view authority, HttpUrl& url) {
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return false;
    url.host = std::string(authority.substr(1, close - 1));
    const bool v6 = !url.host.empty() && std::all_of(url.host.begin(), url.host.end(), [](char c) {
      return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
    });
    if (!v6) return false;
    authority.remove_prefix(close + 1);
    if (!authority.empty() && authority.front() != ':') return false;
    if (!authority.empty()) port_text = authority.substr(1);
  } else {
    const auto colon = authority.find(':');
    url.host = std::string(authority.substr(0, colon));
    if (url.host.empty() || !std::all_of(url.host.begin(), url.host.end(), is_name_char)) {
      return false;
    }
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (authority.find(':') != std::string_view::npos && port_text.empty()) return false;
  if (port_text.empty()) return true;
  unsigned port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
      port > 65535) {
    return false;
  }
  url.port = static_cast<std::uint16_t>(port);
  return true;
}

}  // namespace

std::optional<HttpUrl> parse_http_url(std::string_view text) {
  constexpr std::size_t kMaxUrlBytes = 2048;
  if (text.size() > kMaxUrlBytes) return std::nullopt;
  const bool printable = std::all_of(text.begin(), text.end(), [](char c) {
    return static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7f;
  });
  if (!printable || text.find('#') != std::string_view::npos) return std::nullopt;
  HttpUrl url;
  if (starts_with_ignoring_case(text, "https://")) {
    url.tls = true;
    text.remove_prefix(8);
  } else if (starts_with_ignoring_case(text, "http://")) {
    text.remove_prefix(7);
  } else {
    return std::nullopt;
  }
  const auto path = text.find_first_of("/?");
  const std::string_view authority = text.substr(0, path);
  if (authority.find('@') != std::string_view::npos) return std::nullopt;
  url.port = url.tls ? 443 : 80;
  if (!parse_authority(authority, url)) return std::nullopt;
  if (path != std::string_view::npos) {
    url.target = std::string(text.substr(path));
    if (url.target.front() == '?') url.target.insert(0, "/");
  }
  return url;
}

std::string host_header(const HttpUrl& url) {
  const bool v6 = url.host.find(':') != std::string::npos;
  return (v6 ? "[" + url.host + "]" : url.host) + ":" + std::to_string(url.port);
}

}  // namespace cg::http
