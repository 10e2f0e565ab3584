#pragma once
// Lexical rules of the FHIR R4 primitive types: the regexes of the R4 definitions written
// as small hand-made scanners (no regex engine, no allocation), plus the range and calendar
// checks the regexes leave out (integer range, days per month).
// Pure functions; thread-safe.

#include <string_view>

#include "protocols/fhir/model/definitions.hpp"

namespace cg::fhir {

// True when `text` is a valid lexical form of `type` (for boolean "true"/"false", for the
// numeric types their decimal text). Always false for kNone; for kXhtml only checks that
// the text is not empty (check_narrative_div in xml.hpp checks the XHTML).
bool is_valid_primitive(PrimitiveType type, std::string_view text);

// The individual rules, for callers that know the type statically.
bool is_valid_date(std::string_view s);       // YYYY, YYYY-MM, YYYY-MM-DD
bool is_valid_date_time(std::string_view s);  // date, or full date-time with zone
bool is_valid_instant(std::string_view s);    // full date-time with zone
bool is_valid_time(std::string_view s);       // hh:mm:ss[.fff]
bool is_valid_id(std::string_view s);
bool is_valid_code(std::string_view s);
// FHIR strings: not empty, no control characters other than tab, CR and LF, at most
// 1 MiB characters (R4 maxLength of string).
bool is_valid_string(std::string_view s);

}  // namespace cg::fhir
