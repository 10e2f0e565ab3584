#pragma once
// Normalization of FHIR string search values, applied to indexed values and to query values
// alike so that `name=jose` finds "José" and `name=MULLER` finds "Müller" (FHIR string search
// is case- and accent-insensitive). Covers Latin (Basic, Latin-1, Extended-A, Vietnamese), Greek
// and Cyrillic letters and drops combining marks; other characters pass through unchanged. Pure;
// thread-safe.

#include <string>
#include <string_view>

namespace cg::fhir {

std::string normalize_for_search(std::string_view text);

}  // namespace cg::fhir
