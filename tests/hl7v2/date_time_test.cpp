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

TEST_CASE("FHIR dates go back to HL7 at their precision") {
  CHECK(hl7_date_time("2026") == "2026");
  CHECK(hl7_date_time("2026-01") == "202601");
  CHECK(hl7_date_time("2026-01-21") == "20260121");
  CHECK(hl7_date_time("2024-02-29") == "20240229");
}

TEST_CASE("FHIR dateTimes go back to HL7 DTM with their fraction and zone") {
  CHECK(hl7_date_time("2026-01-21T10:30:15+03:00") == "20260121103015+0300");
  CHECK(hl7_date_time("2026-01-21T10:30:15.25+03:00") == "20260121103015.25+0300");
  CHECK(hl7_date_time("2026-01-21T10:30:15.1234-03:30") == "20260121103015.1234-0330");
  CHECK(hl7_date_time("2026-01-21T10:30:15.5Z") == "20260121103015.5+0000");
  CHECK(hl7_date_time("2026-01-21T10:30:15Z") == "20260121103015+0000");
  CHECK(hl7_date_time("2026-01-21T00:00:00-00:00") == "20260121000000-0000");
  CHECK(hl7_date_time("2026-12-31T23:59:59+14:00") == "20261231235959+1400");
  CHECK(hl7_date_time("2026-12-31T23:59:59-13:59") == "20261231235959-1359");
}

TEST_CASE("hl7_date_time refuses what is not a FHIR date or dateTime (or has no HL7 form)") {
  for (const std::string bad : {
           "",
           "2026-01-21T10:30:15",     // a time needs a zone
           "2026-01-21T10:30:15.25",  // also with a fraction
           "2026-02-30",              // 30 February
           "2023-02-29",              // not a leap year
           "2026-13-01",
           "2026-00-10",
           "2026-01-00",
           "0000",
           "2026-01-21T24:00:00Z",  // hour 24
           "2026-01-21T10:60:00Z",
           "2026-01-21T10:30:60Z",
           "2026-01-21T10:30:15.12345+00:00",  // HL7 keeps at most four fraction digits
           "2026-01-21T10:30:15.+00:00",       // a dot without digits
           "2026-01-21T10:30Z",                // FHIR times have seconds
           "2026-01-21T10:30:15+0300",         // the zone needs its colon
           "2026-01-21T10:30:15+03",           // and its minutes
           "2026-01-21T10:30:15+14:30",
           "2026-01-21T10:30:15+03:60",
           "2026-01-21T10:30:15z",  // lower-case Z
           "2026-01-21T10:30:15+03:00x",
           "2026-01-21 ",
           " 2026-01-21",
           "2026-01-21+03:00",  // a date has no zone
           "20260121",          // HL7 already
           "2026-1-21",
           "26-01-21",
           "2026/01/21",
           "2026-",  // separators without what follows
           "2026-01-",
           "2026-01-21T",
           "2026-01-21T10:30:15.25Z+00:00",
       }) {
    CAPTURE(bad);
    CHECK(hl7_date_time(bad) == "");
  }
}

TEST_CASE("FHIR → HL7 → FHIR gives the value back") {
  for (const std::string value : {"2026", "2026-01", "2026-01-21", "2026-01-21T10:30:15+03:00",
                                  "2026-01-21T10:30:15.1234-03:30", "1900-01-01T00:00:00+00:00"}) {
    CAPTURE(value);
    CHECK(fhir_date_time(hl7_date_time(value)) == value);
  }
  // "Z" comes back as +00:00.
  CHECK(fhir_date_time(hl7_date_time("2026-01-21T10:30:15Z")) == "2026-01-21T10:30:15+00:00");
}
