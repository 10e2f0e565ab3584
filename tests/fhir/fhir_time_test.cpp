#include "protocols/fhir/model/fhir_time.hpp"

#include <doctest/doctest.h>

using namespace cg::fhir;

TEST_CASE("a value covers the span its precision names") {
  auto year = parse_time_range("2026");
  REQUIRE(year.ok());
  CHECK(year->begin_ms == 1767225600000);
  CHECK(year->end_ms == 1798761600000);
  auto month = parse_time_range("2024-02");
  CHECK(month->end_ms - month->begin_ms == 29LL * 86'400'000);  // leap year
  auto day = parse_time_range("2026-11-21");
  CHECK(day->end_ms - day->begin_ms == 86'400'000);
  auto second = parse_time_range("2026-11-21T04:05:06Z");
  CHECK(second->end_ms - second->begin_ms == 1000);
  auto ms = parse_time_range("2026-11-21T04:05:06.123Z");
  CHECK(ms->begin_ms == second->begin_ms + 123);
  CHECK(ms->end_ms - ms->begin_ms == 1);
}

TEST_CASE("time zones shift the instant") {
  auto utc = parse_time_range("2026-11-21T04:00:00Z");
  auto plus2 = parse_time_range("2026-11-21T06:00:00+02:00");
  auto minus5 = parse_time_range("2026-11-20T23:00:00-05:00");
  CHECK(utc->begin_ms == plus2->begin_ms);
  CHECK(utc->begin_ms == minus5->begin_ms);
}

TEST_CASE("impossible or malformed values are refused") {
  for (const char* bad :
       {"", "26", "2026-13", "2026-02-30", "2026-11-21T25:00:00Z", "2026-11-21T04:61:00Z",
        "2026-11-21X", "2026-11-21T04:00:00+2", "2026-11-21T04:00:00.Z", "abcd"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_time_range(bad).ok());
  }
}

TEST_CASE("http dates are IMF-fixdate") {
  CHECK(http_date(1763697906000) == "Fri, 21 Nov 2025 04:05:06 GMT");
}
