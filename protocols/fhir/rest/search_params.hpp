#pragma once
// Minimal FHIR search (this build): _id, _lastUpdated (with prefixes eq gt ge lt le sa eb),
// identifier (token), _count, _total, _summary=count and the _after page cursor. Parameters
// it does not know are ignored and left out of the self link, or refused (400) under
// Prefer: handling=strict. Pure; thread-safe.

#include <string>
#include <vector>

#include "protocols/fhir/model/result.hpp"
#include "protocols/fhir/rest/fhir_request.hpp"
#include "storage/resource_store.hpp"

namespace cg::fhir {

struct SearchPlan {
  storage::SearchQuery store;
  std::string self_query;  // the parameters that were applied, for the self/next links
  bool summary_count = false;
};

// Parses a _count value: a non-negative integer no larger than max_count (else 400).
Result<std::size_t> parse_count(std::string_view value, std::size_t max_count);

// True when `type` defines the `identifier` search parameter.
bool has_identifier_param(std::string_view type);

// Names of the search parameters this build evaluates for `type`.
std::vector<std::string> supported_search_params(std::string_view type);

Result<SearchPlan> build_search(const std::string& type, const QueryParams& params, bool strict,
                                std::size_t default_count, std::size_t max_count);

}  // namespace cg::fhir
