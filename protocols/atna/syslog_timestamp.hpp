#pragma once
// Syslog timestamps: reading the RFC 5424 form (an RFC 3339 profile) into epoch
// milliseconds, recognising the year-less RFC 3164 form, and writing the RFC 5424 form.
// Pure functions; safe from any thread.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cg::atna {

// RFC 5424 §6.2.3: YYYY-MM-DD "T" hh:mm:ss [ "." fraction ] ( "Z" / ("+"/"-") hh:mm ), with
// upper-case T and Z, a real calendar date, hours 00-23, minutes and seconds 00-59 (no leap
// second, as §6.2.3.1 forbids). Returns milliseconds since 1970-01-01T00:00:00Z, or nullopt.
// The fraction may have more than the six digits the RFC allows (some senders write seven);
// it is truncated to milliseconds.
std::optional<std::int64_t> rfc5424_timestamp_ms(std::string_view text);

// RFC 3164 §4.1.2: "Mmm dd hh:mm:ss" (15 characters, English month abbreviation, the day
// padded with a space or, tolerated, a zero). It has no year and no zone, so it gives no
// epoch time: the receiver's clock is the only reference.
bool is_rfc3164_timestamp(std::string_view text);

// Writes `epoch_ms` as an RFC 5424 timestamp in UTC with millisecond precision,
// "2024-03-01T08:15:30.250Z". Valid for years 0001-9999.
std::string format_rfc5424_timestamp(std::int64_t epoch_ms);

}  // namespace cg::atna
