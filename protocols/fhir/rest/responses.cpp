#include "protocols/fhir/rest/responses.hpp"

#include <chrono>

#include "protocols/fhir/model/json.hpp"
#include "protocols/fhir/rest/outcome.hpp"
#include "protocols/fhir/rest/resource_io.hpp"
#include "storage/resource_store.hpp"

namespace cg::fhir {

namespace json = boost::json;

std::string status_line(int status) {
  switch (status) {
    case 200:
      return "200 OK";
    case 201:
      return "201 Created";
    case 204:
      return "204 No Content";
    case 304:
      return "304 Not Modified";
    default:
      return std::to_string(status);
  }
}

std::string version_tag(std::int64_t version) {
  return "W/\"" + std::to_string(version) + "\"";
}

http::Response body_response(int status, std::string body, Format format) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  r.set_header("Content-Type", std::string(content_type(format)));
  return r;
}

http::Response object_response(int status, const json::object& o, Format format, bool pretty) {
  return body_response(status, render(o, format, pretty), format);
}

http::Response bundle_response(int status, std::string json_text, Format format, bool pretty) {
  if (format == Format::kJson && !pretty)
    return body_response(status, std::move(json_text), format);
  auto v = parse_json(json_text);
  return object_response(status, v->as_object(), format, pretty);
}

http::Response error_response(const Error& e, Format format, bool pretty) {
  http::Response r = object_response(http_status(e.kind), operation_outcome(e), format, pretty);
  // 503 is temporary (disk full or read-only, write queue full, shutting down): say when to
  // come back (RFC 9110 §10.2.3), so clients retry instead of giving up.
  if (r.status == 503) r.set_header("Retry-After", std::to_string(kRetryAfterSeconds));
  return r;
}

std::string now_instant() {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  return storage::format_instant(
      std::chrono::duration_cast<std::chrono::milliseconds>(now).count());
}

}  // namespace cg::fhir
