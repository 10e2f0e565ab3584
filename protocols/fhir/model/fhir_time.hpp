#pragma once
// FHIR date/dateTime/instant values as time ranges, for _lastUpdated, _since and If-
// Modified-Since style comparisons. A value covers the whole span its precision names:
// "2026" is [2026-01-01T00:00Z, 2027-01-01T00:00Z). Values without a time zone are read
// as UTC (the server's zone; documented in docs/fhir-api.md). Pure; thread-safe.

#include <cstdint>
#include <string>
#include <string_view>

#include "protocols/fhir/model/result.hpp"

namespace cg::fhir {

struct TimeRange {
  std::int64_t begin_ms = 0;  // inclusive
  std::int64_t end_ms = 0;    // exclusive
};

Result<TimeRange> parse_time_range(std::string_view value);

// RFC 7231 IMF-fixdate, for Last-Modified: "Sat, 21 Nov 2026 04:05:06 GMT".
std::string http_date(std::int64_t ms_since_epoch);

}  // namespace cg::fhir
