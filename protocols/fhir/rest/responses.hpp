#pragma once
// Response building shared by the FHIR REST handlers: bodies in the negotiated format,
// OperationOutcome errors, version tags and status lines. Pure; thread-safe.

#include <boost/json/object.hpp>
#include <cstdint>
#include <string>

#include "protocols/fhir/model/result.hpp"
#include "protocols/fhir/rest/fhir_request.hpp"
#include "protocols/http/message.hpp"

namespace cg::fhir {

// "200 OK", "201 Created", ... for Bundle entry responses.
std::string status_line(int status);
// W/"3"
std::string version_tag(std::int64_t version);
http::Response body_response(int status, std::string body, Format format);
http::Response object_response(int status, const boost::json::object& o, Format format,
                               bool pretty);
// A Bundle built as JSON text (BundleWriter); XML and pretty clients get it converted.
http::Response bundle_response(int status, std::string json_text, Format format, bool pretty);
// The status and OperationOutcome for `e` (outcome.hpp); a 503 also gets Retry-After.
http::Response error_response(const Error& e, Format format, bool pretty);
// Retry-After of a 503: a little longer than the write gate's recheck period.
inline constexpr int kRetryAfterSeconds = 10;
// The current instant, for Bundle.meta.lastUpdated of response Bundles.
std::string now_instant();

}  // namespace cg::fhir
