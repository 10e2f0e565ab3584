#pragma once
// `_summary` and `_elements`: the subsets of a resource a client may ask for instead of the
// whole resource (R4 search.html#summary and #elements), applied to a resource in its JSON
// form (boost::json, decimals tagged as in json.hpp) using the isSummary / isModifier / min
// flags of the generated definitions (definitions.hpp).
//
// Whenever something is removed the resource is marked as incomplete with the meta.tag
// SUBSETTED (kSubsettedSystem | kSubsettedCode), as R4 requires; a resource that loses
// nothing is left exactly as it was. The resource is expected to be structurally valid
// (validation.hpp); the result then is too, since mandatory elements are always kept.
// Pure functions over values; thread-safe; never throw.

#include <boost/json/object.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/fhir/model/result.hpp"

namespace cg::fhir {

inline constexpr std::string_view kSubsettedSystem =
    "http://terminology.hl7.org/CodeSystem/v3-ObservationValue";
inline constexpr std::string_view kSubsettedCode = "SUBSETTED";

// `_summary=count` returns no resources at all and is search's business, not a shaping.
enum class SummaryMode {
  kTrue,   // summary elements only (recursively), plus mandatory and modifier ones
  kText,   // text, id, meta and the top-level mandatory elements
  kData,   // everything but the top-level text
  kFalse,  // the whole resource
};

// Shapes `resource` in place for `mode`:
// - kTrue keeps resourceType, id, meta and every element marked isSummary; inside a kept
//   complex element it keeps the summary children, recursively. Mandatory (min >= 1) and
//   modifier elements are kept as well, so the result stays valid and never hides an element
//   that changes the meaning of the rest. Nested resources (Bundle.entry.resource,
//   Parameters.parameter.resource) are summarised per their own type and tagged themselves;
//   `contained` is not a summary element and goes. Complex values left empty are dropped.
// - kText keeps resourceType, id, meta, text and the top-level mandatory elements, whole.
// - kData removes the top-level text.
// A primitive's `_name` extension companion follows its element; choice elements are matched
// by their typed JSON name (valueQuantity). A resource without a known resourceType is left
// unchanged.
void apply_summary(boost::json::object& resource, SummaryMode mode);

// Keeps only the listed top-level elements of `resource`, plus resourceType, id, meta and —
// as R4 asks of servers — the mandatory and modifier top-level elements, then tags the
// resource SUBSETTED if anything went. Names are element names of the resource's type: a
// choice element by its base name ("value" keeps valueQuantity) or by a typed name; empty
// names are ignored. Errors (the resource is then left untouched): kInvalid naming every
// unknown element, or when the resource has no known resourceType.
Status apply_elements(boost::json::object& resource, const std::vector<std::string>& elements);

}  // namespace cg::fhir
