#pragma once
// Result-size parameters shared by history, search and $everything. (Search parameters
// themselves are parsed by protocols/fhir/search.) Pure; thread-safe.

#include <cstddef>
#include <string_view>

#include "protocols/fhir/model/result.hpp"

namespace cg::fhir {

// Parses a _count value: a non-negative integer no larger than max_count (else 400).
Result<std::size_t> parse_count(std::string_view value, std::size_t max_count);

}  // namespace cg::fhir
