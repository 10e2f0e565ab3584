#pragma once
// Typed values of FHIR search parameters: one OR-alternative of a parameter, already parsed
// from its text ("ge2026-03", "http://loinc.org|1234-5", "5.4|http://unitsofmeasure.org|mg")
// by the rules of its SearchParamType, with prefixes, precision ranges and FHIR escapes
// (\, \| \$ \\) resolved. search_query.hpp builds whole requests out of these.
// Pure functions over values; thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocols/fhir/model/definitions.hpp"
#include "protocols/fhir/model/result.hpp"

namespace cg::fhir::search {

using Prefix = SearchComparator;  // eq ne gt lt ge le sa eb ap
std::string_view to_string(Prefix prefix);

// A decimal with the range its written precision covers: "100" is [99.5, 100.5), "1.50" is
// [1.495, 1.505), "1e2" is [50, 150) (half a unit of the last written digit). With prefix
// ap the range is widened to ±10 % of the value when that is wider.
struct NumberValue {
  Prefix prefix = Prefix::kEq;
  double value = 0;
  double low = 0;    // inclusive
  double high = 0;   // exclusive
  std::string text;  // the number as written, without prefix
};

// [begin_ms, end_ms): the span the value's precision names, in UTC ms since the epoch.
// With prefix ap it is widened on each side by 10 % of the distance from `now` to begin.
struct DateValue {
  Prefix prefix = Prefix::kEq;
  std::int64_t begin_ms = 0;
  std::int64_t end_ms = 0;
  std::string text;
};

struct StringValue {
  std::string value;  // unescaped, as written (normalising case/accents is the index's job)
};

enum class SystemMatch : std::uint8_t {
  kAny,    // "code": any system
  kNone,   // "|code": only codes without a system
  kExact,  // "system|code" or "system|" (then code is empty: any code of that system)
};

struct TokenValue {
  SystemMatch system_match = SystemMatch::kAny;
  std::string system;
  std::string code;  // empty only for "system|"
  // Only for :of-type (identifier type system|code|value): the identifier type coding.
  std::string type_system;
  std::string type_code;
};

enum class ReferenceForm : std::uint8_t {
  kLocal,      // "Type/id" (also "Type/id/_history/vid": version kept in `version`)
  kId,         // "id" alone: type comes from the :[type] modifier or any target
  kAbsolute,   // "http://other/fhir/Patient/1" or any absolute URL / urn
  kCanonical,  // "url|version"
};

struct ReferenceValue {
  ReferenceForm form = ReferenceForm::kLocal;
  std::string type;     // kLocal: the written type; kId: the :[type] modifier, else the
                        // only target type, else empty (any target)
  std::string id;       // kLocal, kId
  std::string url;      // kAbsolute, kCanonical (without |version)
  std::string version;  // kCanonical: after '|'; kLocal: _history version if written
};

// "[prefix]number", "[prefix]number|system|code", "[prefix]number||code".
struct QuantityValue {
  NumberValue number;
  SystemMatch system_match = SystemMatch::kAny;  // kAny: no system given
  std::string system;
  std::string code;  // empty: any unit; with kAny it matches the code or the unit text
};

struct UriValue {
  std::string value;
};

// Location near: "latitude|longitude|distance|units" (distance and units optional).
struct NearValue {
  double latitude = 0;
  double longitude = 0;
  std::optional<double> distance;
  std::string units;
};

// :missing=true|false.
struct MissingValue {
  bool missing = true;
};

// One value of a composite component: any non-composite kind.
using ComponentValue = std::variant<NumberValue, DateValue, StringValue, TokenValue, ReferenceValue,
                                    QuantityValue, UriValue>;

struct CompositeComponent {
  const SearchParamDef* param = nullptr;  // the component's own definition
  ComponentValue value;
};

struct CompositeValue {
  std::vector<CompositeComponent> components;  // in definition order
};

using Value = std::variant<NumberValue, DateValue, StringValue, TokenValue, ReferenceValue,
                           QuantityValue, UriValue, CompositeValue, NearValue, MissingValue>;

// --- the individual parsers ------------------------------------------------------------
// Each takes one OR-alternative (already split at unescaped commas, still escaped) and
// returns kInvalid with a message naming the value; callers add the parameter name.

Result<NumberValue> parse_number(std::string_view text);
Result<DateValue> parse_date(std::string_view text, std::int64_t now_ms);
Result<TokenValue> parse_token(std::string_view text);
Result<TokenValue> parse_of_type(std::string_view text);
// `def` supplies the targets a bare id or a :[type] may name; `type_modifier` is the
// :[type] modifier or empty.
Result<ReferenceValue> parse_reference(std::string_view text, const SearchParamDef& def,
                                       std::string_view type_modifier);
Result<QuantityValue> parse_quantity(std::string_view text);
Result<NearValue> parse_near(std::string_view text);
Result<MissingValue> parse_missing(std::string_view text);
// Components of a composite are found by their definition URL in all_search_parameters().
Result<CompositeValue> parse_composite(std::string_view text, const SearchParamDef& def,
                                       std::int64_t now_ms);
// A value of a non-composite parameter without modifier-specific syntax.
Result<ComponentValue> parse_simple(std::string_view text, const SearchParamDef& def,
                                    std::int64_t now_ms);

// --- escaping ----------------------------------------------------------------------------

// Splits at every `sep` not preceded by a backslash escape; pieces stay escaped.
std::vector<std::string_view> split_unescaped(std::string_view text, char sep);
// Resolves \, \| \$ and \\ (a backslash before anything else stays as written).
std::string unescape(std::string_view text);

}  // namespace cg::fhir::search
