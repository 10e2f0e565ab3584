#pragma once
// Index values of one FHIR element for one search parameter: what a search parameter's
// FHIRPath expression yields (an element and its FHIR type) becomes rows of the typed index
// tables, following the R4 search rules per parameter type:
//   string    string-like primitives, HumanName and Address parts (normalized + exact)
//   token     code/boolean/string/id/uri, Coding, CodeableConcept, Identifier, ContactPoint
//   date      date/dateTime/instant (range by precision), Period, Timing events
//   number    integer/decimal (range by precision)
//   quantity  Quantity and its profiles, Money; plus UCUM base units when known
//   reference Reference (literal, absolute, identifier), canonical, uri
//   uri       uri/url/canonical/oid/uuid
// Elements of a type the parameter type cannot use are skipped. Pure; thread-safe.

#include <boost/json/value.hpp>
#include <string_view>

#include "protocols/fhir/model/definitions.hpp"
#include "storage/index_entries.hpp"

namespace cg::fhir {

// Adds the rows for `node` (of FHIR type `fhir_type`, e.g. "HumanName", "dateTime") found by
// the search parameter `code` of type `type`.
void add_index_values(std::string_view code, SearchParamType type, std::string_view fhir_type,
                      const boost::json::value& node, storage::IndexEntries& out);

}  // namespace cg::fhir
