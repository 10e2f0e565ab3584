#pragma once
// FHIR JSON codec: parse and serialize resources as boost::json values without losing
// decimal precision.
//
// FHIR requires decimals to keep their written precision ("1.50" stays "1.50"), which a
// double cannot do. parse_json() therefore keeps every non-integer number as its lexeme in
// a json::string that starts with kDecimalTag. The tag is a control character that a valid
// FHIR string can never contain (FHIR strings exclude code points below U+0020 other than
// tab, CR and LF), so the encoding is unambiguous; serialize_json() writes such strings back
// as bare numbers. Integers stay int64/uint64. Code that reads numbers uses the helpers
// below rather than looking at the tag. Pure functions; thread-safe.

#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "protocols/fhir/model/result.hpp"

namespace cg::fhir {

inline constexpr char kDecimalTag = '\x1F';

struct JsonLimits {
  std::size_t max_depth = 64;
};

// Parses text as one JSON value. Errors name the byte offset; never throws.
Result<boost::json::value> parse_json(std::string_view text, JsonLimits limits = {});

// Appends `text` as a JSON string, quoted and escaped as serialize_json writes strings (for
// code that writes JSON without building a tree first).
void append_json_string(std::string& out, std::string_view text);
// Compact JSON (no spaces), decimals written exactly as they were read.
std::string serialize_json(const boost::json::value& value);
// Same, indented with two spaces, for `_pretty=true`.
std::string serialize_json_pretty(const boost::json::value& value);

// A decimal number value carrying `lexeme` (must be a valid JSON number).
boost::json::value make_decimal(std::string_view lexeme);
bool is_decimal(const boost::json::value& value);
// Lexeme of a decimal or an integer, nullopt for anything else.
std::optional<std::string> number_text(const boost::json::value& value);
// True for integers and decimals.
bool is_number(const boost::json::value& value);

}  // namespace cg::fhir
