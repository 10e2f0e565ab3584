#include "protocols/fhir/rest/resource_io.hpp"

#include <openssl/rand.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "protocols/fhir/model/json.hpp"
#include "protocols/fhir/model/validation.hpp"
#include "protocols/fhir/model/xml.hpp"

namespace cg::fhir {

Result<boost::json::object> parse_resource(std::string_view body, Format format) {
  if (format == Format::kXml) return resource_from_xml(body);
  auto value = parse_json(body);
  if (!value) return value.take_error();
  if (!value->is_object())
    return Error::invalid("the body must be a JSON object (a FHIR resource)");
  return std::move(value->as_object());
}

Status check_structure(const boost::json::object& resource) {
  auto issues = validate_structure(resource);
  if (issues.empty()) return ok_status();
  std::string message = "the resource is not valid FHIR R4: ";
  for (std::size_t i = 0; i < issues.size() && i < 20; ++i) {
    if (i) message += "; ";
    message += issues[i].path + ": " + issues[i].message;
  }
  if (issues.size() > 20) message += "; and " + std::to_string(issues.size() - 20) + " more";
  return Error::invalid(std::move(message), issues.front().path);
}

Result<boost::json::object> parse_checked_resource(std::string_view text, Format format,
                                                   std::string_view type) {
  auto resource = parse_resource(text, format);
  if (!resource) return resource.take_error();
  const auto* rt = resource->if_contains("resourceType");
  if (!rt || !rt->is_string()) return Error::invalid("resourceType is missing", "resourceType");
  if (!type.empty() && rt->get_string() != type) {
    return Error::invalid(
        "the body is a " + std::string(rt->get_string()) + ", the URL says " + std::string(type),
        "resourceType");
  }
  if (auto s = check_structure(*resource); !s) return s.take_error();
  return resource;
}

std::string render(const boost::json::object& resource, Format format, bool pretty) {
  if (format == Format::kXml) {
    auto xml = resource_to_xml(resource);
    // Rendering our own valid resources cannot fail; an error here is a bug, reported in
    // the body rather than crashing a worker.
    return xml ? std::move(*xml) : "<!-- " + xml.error().message + " -->";
  }
  return pretty ? serialize_json_pretty(resource) : serialize_json(resource);
}

std::string render_stored(const storage::StoredVersion& stored, Format format, bool pretty) {
  if (format == Format::kJson && !pretty) return stored.json;
  auto value = parse_json(stored.json);
  if (!value || !value->is_object()) return stored.json;
  return render(value->as_object(), format, pretty);
}

std::string new_resource_id() {
  // UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, then 74 random bits. Ids made
  // close in time sort close together, so consecutive creates append to the same B-tree
  // pages instead of dirtying a random page per index (a large saving in bytes written per
  // create on SD cards). The time is no secret: meta.lastUpdated carries it anyway.
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) {
    // RAND_bytes only fails when the OS entropy source is broken; ids must still differ.
    static std::atomic<std::uint64_t> counter{0};
    std::uint64_t c = counter.fetch_add(1) ^ static_cast<std::uint64_t>(std::rand());
    for (int i = 0; i < 8; ++i) b[8 + i] = static_cast<unsigned char>(c >> (8 * i));
  }
  auto ms = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count());
  for (int i = 0; i < 6; ++i) b[i] = static_cast<unsigned char>(ms >> (8 * (5 - i)));
  b[6] = (b[6] & 0x0F) | 0x70;  // version 7
  b[8] = (b[8] & 0x3F) | 0x80;  // RFC 9562 variant
  char out[37];
  std::snprintf(out, sizeof out,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return out;
}

}  // namespace cg::fhir
