#pragma once
// FHIR XML codec: converts resources between the FHIR XML form and the JSON form used
// everywhere else (boost::json with decimals tagged as in json.hpp), for every R4 resource
// type, driven by the generated definitions (definitions.hpp).
//
// Mapping (https://hl7.org/fhir/R4/xml.html): elements in definition order, primitives as
// `value` attributes with their `id` and extensions (JSON `_name`) on the same element,
// Element.id and Extension.url as attributes, resources inside contained /
// Bundle.entry.resource / Parameters.parameter.resource wrapped in an element named by their
// type, and Narrative.div as embedded XHTML. The XHTML is carried verbatim both ways (the
// JSON string is the exact source text of the div element), so conversions round-trip.
//
// Limits of the XML side: UTF-8 only, FHIR elements use the default namespace (no
// prefixes), DOCTYPE is refused (no entity expansion, XXE-safe), element order is not
// enforced on input. Pure functions; thread-safe; never throw.

#include <boost/json/object.hpp>
#include <string>
#include <string_view>

#include "protocols/fhir/model/result.hpp"

namespace cg::fhir {

// Serialises a resource (with "resourceType") as a complete XML document with
// xmlns="http://hl7.org/fhir". Error::invalid (with the element path as location) when the
// JSON does not fit the R4 definitions: unknown property, array where one value is
// allowed, wrong JSON kind for a primitive, a div that is not one well-formed XHTML div.
Result<std::string> resource_to_xml(const boost::json::object& resource);

// Parses a FHIR XML document into the JSON form. Cardinality decides arrays; booleans
// become JSON booleans, integer types int64, decimals exact decimal values (make_decimal).
// Error::invalid for malformed XML, DOCTYPE, an unknown element or attribute (location =
// its path), repeated single elements and values that cannot have their JSON type.
Result<boost::json::object> resource_from_xml(std::string_view xml);

// Checks that `div` is exactly one well-formed XHTML <div> element in the XHTML namespace,
// as FHIR requires of Narrative.div; shared by the codec and validation.
Status check_narrative_div(std::string_view div);

}  // namespace cg::fhir
