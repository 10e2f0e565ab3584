#pragma once
// Reading resources out of request bodies and writing them into response bodies, in FHIR
// JSON or XML, with structural validation on the way in. Pure; thread-safe.

#include <boost/json/object.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/fhir/model/result.hpp"
#include "protocols/fhir/rest/fhir_request.hpp"
#include "storage/resource_store.hpp"

namespace cg::fhir {

// Parses `body` in `format` into a resource object. Only syntax is checked here.
Result<boost::json::object> parse_resource(std::string_view body, Format format);

// Structural validation (see validation.hpp); the Error lists every issue found in its
// message and names the first path in `location`. `detail` receives all issues when given.
Status check_structure(const boost::json::object& resource);

// What every write of the FHIR API accepts: `text` parsed in `format`, with a resourceType
// that equals `type` (any type when `type` is empty), structurally valid. kInvalid naming
// the first problem otherwise. Used for request bodies and for bulk import lines alike.
Result<boost::json::object> parse_checked_resource(std::string_view text, Format format,
                                                   std::string_view type);

// Body text for a resource or Bundle in `format`.
std::string render(const boost::json::object& resource, Format format, bool pretty);
// Body text of a stored version; reuses the stored JSON text when no conversion is needed.
std::string render_stored(const storage::StoredVersion& stored, Format format, bool pretty);

// A new server-assigned id: a time-ordered UUID (version 7), lowercase.
std::string new_resource_id();

}  // namespace cg::fhir
