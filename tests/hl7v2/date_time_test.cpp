#include "protocols/hl7v2/date_time.hpp"

#include <doctest/doctest.h>

#include "protocols/fhir/model/primitives.hpp"

using namespace cg::hl7v2;

TEST_CASE("dates keep the precision they were sent with") {
  CHECK(fhir_date_time("2026") == "2026");
  CHECK(fhir_date_time("202601") == "2026-01");
  CHECK(fhir_date_time("20260121") == "2026-01-21");
  CHECK(fhir_date("20260121") == "2026-01-21");
  CHECK(fhir_date("202601") == "2026-01");
  CHECK(fhir_date("2026") == "2026");
}

TEST_CASE("times with a zone are written to the second with the zone") {
  CHECK(fhir_date_time("2026012110+0300") == "2026-01-21T10:00:00+03:00");
  CHECK(fhir_date_time("202601211030-0500") == "2026-01-21T10:30:00-05:00");
  CHECK(fhir_date_time("20260121103015+0000") == "2026-01-21T10:30:15+00:00");
  CHECK(fhir_date_time("20260121103015.1234+0300") == "2026-01-21T10:30:15.1234+03:00");
  CHECK(fhir_date_time("20260121103015.1-0330") == "2026-01-21T10:30:15.1-03:30");
  CHECK(fhir_date_time("20260121103015+1400") == "2026-01-21T10:30:15+14:00");
}

TEST_CASE("a time without a zone takes the sender's zone, or is cut to its date") {
  CHECK(fhir_date_time("202601211030", "+0100") == "2026-01-21T10:30:00+01:00");
  CHECK(fhir_date_time("20260121103015.5", "-0800") == "2026-01-21T10:30:15.5-08:00");
  CHECK(fhir_date_time("202601211030") == "2026-01-21");
  CHECK(fhir_date_time("202601211030", "") == "2026-01-21");
  CHECK(fhir_date_time("202601211030", "bogus") == "2026-01-21");
  // The value's own zone wins over the default.
  CHECK(fhir_date_time("202601211030+0200", "+0100") == "2026-01-21T10:30:00+02:00");
}

TEST_CASE("a zone on a plain date is dropped; the date part of a time is its date") {
  CHECK(fhir_date_time("20260121+0300") == "2026-01-21");
  CHECK(fhir_date("20260121103015.1234+0300") == "2026-01-21");
  CHECK(fhir_date("1940010100") == "1940-01-01");
}

TEST_CASE("calendar and leap years are checked") {
  CHECK(fhir_date("20240229") == "2024-02-29");
  CHECK(fhir_date("20000229") == "2000-02-29");
  CHECK_FALSE(fhir_date("20230229"));
  CHECK_FALSE(fhir_date("19000229"));
  CHECK_FALSE(fhir_date("20260431"));
  CHECK_FALSE(fhir_date("20261301"));
  CHECK_FALSE(fhir_date("20260001"));
  CHECK_FALSE(fhir_date("20260100"));
  CHECK_FALSE(fhir_date("00000101"));
}

TEST_CASE("malformed values are refused") {
  for (const char* bad :
       {"", "202", "20260", "2026012", "2026-01-21", "2026012124", "202601211060", "20260121103060",
        "20260121103015.", "20260121103015.12345", "202601211030.5", "20260121+03", "20260121+0360",
        "20260121+1401", "20260121 ", "x2026", "20260121103015+0300x", "2026012110+03:00",
        "20260121\xC2\xA0"}) {
    CAPTURE(bad);
    CHECK_FALSE(fhir_date_time(bad));
    CHECK_FALSE(fhir_date(bad));
  }
}

TEST_CASE("the sender's zone is read from a DTM") {
  CHECK(hl7_time_zone("20260121103015+0100") == "+0100");
  CHECK(hl7_time_zone("20260121103015") == "");
  CHECK(hl7_time_zone("garbage+0100") == "");
}

TEST_CASE("every result is a valid FHIR date or dateTime") {
  for (const char* value :
       {"2026", "202612", "20261231", "2026123123", "202612312359", "20261231235959",
        "20261231235959.9999", "20261231235959-1359", "2026123123+1400", "19000101000000"}) {
    CAPTURE(value);
    auto with_zone = fhir_date_time(value, "+0100");
    REQUIRE(with_zone);
    CHECK(cg::fhir::is_valid_date_time(*with_zone));
    auto without = fhir_date_time(value);
    REQUIRE(without);
    CHECK(cg::fhir::is_valid_date_time(*without));
    auto date = fhir_date(value);
    REQUIRE(date);
    CHECK(cg::fhir::is_valid_date(*date));
  }
}
