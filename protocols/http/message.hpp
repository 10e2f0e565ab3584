#pragma once
// Plain HTTP request/response values handed between the Beast server and the handlers.
// They hold no Beast types so handlers compile fast and are tested without sockets.
// Header names compare case-insensitively. Plain values; not shared between threads.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cg::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

bool iequals(std::string_view a, std::string_view b);

// First value of header `name`, or "" when absent.
std::string_view find_header(const Headers& headers, std::string_view name);

struct Request {
  std::string method;  // "GET", "POST", ... as received
  std::string target;  // origin-form: path and query, percent-encoded as received
  Headers headers;
  std::string body;  // already decoded when the client sent Content-Encoding: gzip
  std::string remote_address;
  bool secure = false;  // arrived over TLS
  // Subject (RFC 2253, "CN=tablet-3,O=Clinic") of the client certificate verified in the TLS
  // handshake, when the listener asks for client certificates; empty otherwise.
  std::string client_subject;

  std::string_view header(std::string_view name) const { return find_header(headers, name); }
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;

  std::string_view header(std::string_view name) const { return find_header(headers, name); }
  // Replaces any existing header of the same name.
  void set_header(std::string name, std::string value);
};

}  // namespace cg::http
