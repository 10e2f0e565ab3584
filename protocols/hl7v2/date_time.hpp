#pragma once
// HL7v2 dates and times (DT, DTM, and TS.1) as FHIR date / dateTime text, for every v2 → FHIR
// mapper: birth dates, encounter periods, observation and administration times.
//
// HL7 writes YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]; a value is read at the precision
// it was sent with. FHIR has no hour or minute precision and requires a time zone whenever a
// time is given, so:
// - a date ("20260121", "202601", "2026") stays a date at its precision ("2026-01-21");
// - a time is written to the second ("202601211030" → "...T10:30:00"), fractions kept as sent;
// - the zone is the value's own ("+0300" → "+03:00"), else `zone_when_absent` (HL7 says a
//   time without a zone is in the sender's zone: pass MSH-7's, or the configured one);
//   without either, the value is cut to its date, because guessing a zone would move the
//   instant. A zone on a plain date is dropped (FHIR dates have none).
// Invalid values (not digits, a length between precisions, month 13, 30 February, hour 24,
// a zone outside -13:59..+14:00, year 0000) give nullopt. Pure functions; thread-safe.

#include <optional>
#include <string>
#include <string_view>

namespace cg::hl7v2 {

// HL7 DTM/TS → FHIR dateTime ("2026-01-21T10:30:15.1234+03:00"); see above.
std::optional<std::string> fhir_date_time(std::string_view hl7_dtm);
// Same, with the zone of times that carry none, in HL7 form ("+0100", "-0500"); an empty or
// invalid `zone_when_absent` counts as none.
std::optional<std::string> fhir_date_time(std::string_view hl7_dtm,
                                          std::string_view zone_when_absent);

// HL7 DT (or the date part of a valid DTM) → FHIR date ("2026-01-21", "2026-01", "2026").
std::optional<std::string> fhir_date(std::string_view hl7_dt);

// FHIR date or dateTime → HL7 DTM, the direction of query answers: "2026-01-21" →
// "20260121", "2026-01-21T10:30:15.25+03:00" → "20260121103015.25+0300", "Z" → "+0000".
// Empty for text that is not a FHIR date or dateTime.
std::string hl7_date_time(std::string_view fhir);

// The zone written in a valid HL7 DTM ("+0300"), "" when it has none or is invalid. Mappers
// use it on MSH-7 to find the sender's zone.
std::string hl7_time_zone(std::string_view hl7_dtm);

}  // namespace cg::hl7v2
