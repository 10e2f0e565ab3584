#pragma once
// Compartment search (GET Patient/123/Observation): which criteria put a resource of a type
// into one compartment instance, from the R4 CompartmentDefinitions in the definitions
// tables. A resource is in the compartment when ANY of the returned criteria matches (an
// OR across parameters, which one Criterion cannot express); the caller ANDs that group with
// the rest of the search. Pure; thread-safe.

#include <string_view>
#include <vector>

#include "protocols/fhir/model/result.hpp"
#include "protocols/fhir/search/search_query.hpp"

namespace cg::fhir::search {

// One reference Criterion per compartment parameter ("subject", "performer", …), each with
// the single value compartment_type/compartment_id; for the compartment's own type ("{def}"
// in the definitions) an _id criterion. Errors: kNotFound when compartment_type is not a
// compartment or resource_type never belongs to it (404 for Patient/1/Foo); kInvalid for an
// id that is not a valid FHIR id.
Result<std::vector<Criterion>> compartment_criteria(std::string_view compartment_type,
                                                    std::string_view compartment_id,
                                                    std::string_view resource_type);

}  // namespace cg::fhir::search
