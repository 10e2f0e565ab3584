#pragma once
// Search planning: turns a parsed FHIR search (SearchRequest, search_query.hpp) into the
// store's IndexQuery (storage/index_query.hpp). This is where FHIR meaning becomes index
// terms: prefixes become range comparisons, query strings are normalized like indexed ones,
// query quantities are converted to UCUM base units, chains and _has become nested filters,
// compartments become one OR group, and _sort/_count/_total/_summary=count/_include/
// _revinclude/the cursor become page parameters. Pure: no store access; callable from any
// thread. What is refused is listed in docs/search.md ("How searches run").

#include <vector>

#include "protocols/fhir/model/result.hpp"
#include "protocols/fhir/search/search_query.hpp"
#include "storage/index_query.hpp"

namespace cg::fhir::search {

struct PlanOptions {
  std::size_t default_count = 20;  // page size without _count
  // From compartment_criteria() for Patient/123/Observation: ORed into one group that is
  // ANDed with the request's criteria. Empty: no compartment.
  std::vector<Criterion> compartment;
  storage::QueryBudget budget;
  std::size_t max_included = 1000;
  std::size_t max_iterations = 3;  // rounds of _include:iterate after the first
};

// Errors: kInvalid with the parameter name as location for what the store cannot evaluate:
// :in/:not-in (no local ValueSet expansion yet), :above/:below on tokens and references,
// composite parameters, near, _list, :missing on _id/_lastUpdated, and modifiers on _id.
Result<storage::IndexQuery> plan_search(const SearchRequest& request,
                                        const PlanOptions& options = {});

}  // namespace cg::fhir::search
