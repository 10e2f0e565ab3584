#pragma once
// FHIRPath System values that are not plain booleans, integers or strings: Decimal (value
// plus the number of digits written after the point, so precision rules can be applied),
// Temporal (Date, DateTime and Time with their precision and optional time-zone offset) and
// Quantity (decimal plus UCUM or calendar unit), with their literal syntax, comparison and
// arithmetic as the FHIRPath N1 specification defines them.
//
// Unit handling is a deliberately small UCUM subset (ucum_canonical): metric prefixes on
// m, g, s, l, mol, eq, the common time atoms, customary length and mass units and `%`,
// combined with `.`, `/` and integer exponents. Anything else is an opaque unit that is only
// comparable with itself. Pure value types and functions; thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cg::fhirpath {

// Three-valued comparison outcome: nullopt when the values are not comparable (different
// precision, different dimension), which FHIRPath turns into an empty result.
using Ordering = std::optional<int>;  // <0, 0, >0

struct Decimal {
  long double value = 0;
  int scale = 0;  // digits after the decimal point as written / computed

  static std::optional<Decimal> parse(std::string_view text);  // "1.50", "-3", "1e3"
  static Decimal from_int(std::int64_t v) { return {static_cast<long double>(v), 0}; }
  std::string to_string() const;
};
// Equality compares at the larger scale (1.10 = 1.1), equivalence at the smaller one
// (1.2 / 1.8 ~ 0.67).
bool decimal_equal(const Decimal& a, const Decimal& b);
bool decimal_equivalent(const Decimal& a, const Decimal& b);
int decimal_compare(const Decimal& a, const Decimal& b);
// Rounds to `digits` after the point (half away from zero).
Decimal decimal_round(const Decimal& d, int digits);

enum class TemporalKind : std::uint8_t { kDate, kDateTime, kTime };
// Precision levels; milliseconds count as part of the second level for comparisons.
enum class TemporalPrecision : std::uint8_t {
  kYear = 1,
  kMonth,
  kDay,
  kHour,
  kMinute,
  kSecond,
  kMillisecond
};

struct Temporal {
  TemporalKind kind = TemporalKind::kDateTime;
  TemporalPrecision precision = TemporalPrecision::kYear;
  int year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0, millisecond = 0;
  bool has_tz = false;
  bool tz_is_z = false;  // written as "Z" rather than "+00:00"
  int tz_minutes = 0;    // offset east of UTC

  // FHIR / FHIRPath text without the leading '@' ("2014-01-05T10:30:00.000+10:00",
  // "T10:30" is not accepted here: times are parsed without the 'T').
  static std::optional<Temporal> parse_date(std::string_view text);
  static std::optional<Temporal> parse_date_time(std::string_view text);
  static std::optional<Temporal> parse_time(std::string_view text);
  std::string to_string() const;  // the FHIR lexical form (no '@', no 'T' for times)
};
// Orders two temporals of compatible kinds (Date and DateTime mix); nullopt when the
// answer depends on the missing precision or time-zone.
Ordering temporal_compare(const Temporal& a, const Temporal& b);
// Equivalence: same precision and equal (false rather than empty when precision differs).
bool temporal_equivalent(const Temporal& a, const Temporal& b);
// Number of precision digits as FHIRPath precision() counts them (4 for a year, 17 for ms).
int temporal_precision_digits(const Temporal& t);

struct Quantity {
  Decimal value;
  std::string unit;       // UCUM code, or a calendar keyword when `calendar`
  bool calendar = false;  // written as a bare keyword: `2 days`, `1 year`

  std::string to_string() const;  // "1 'wk'", "1 week"
};
// The calendar keyword a unit names ("days" → "day"), or empty.
std::string_view calendar_unit(std::string_view word);

// A unit in canonical form: value multiplier, its digits after the point (to adjust the
// decimal scale), and sorted base-unit exponents. Opaque units use their own code as base.
struct CanonicalUnit {
  long double factor = 1;
  int factor_scale = 0;
  std::vector<std::pair<std::string, int>> dims;
};
std::optional<CanonicalUnit> ucum_canonical(std::string_view unit);
// Value of `q` in canonical units; nullopt for year/month keywords compared to UCUM.
Ordering quantity_compare(const Quantity& a, const Quantity& b);
std::optional<bool> quantity_equal(const Quantity& a, const Quantity& b);
std::optional<bool> quantity_equivalent(const Quantity& a, const Quantity& b);
bool quantity_comparable(const Quantity& a, const Quantity& b);
std::optional<Quantity> quantity_multiply(const Quantity& a, const Quantity& b, bool divide);
// a + b or a - b in a's unit; nullopt when the units are not convertible.
std::optional<Quantity> quantity_add(const Quantity& a, const Quantity& b, bool subtract);

// Date/time arithmetic: t + q (or − q). nullopt for units that are not time units or that
// FHIRPath forbids for date arithmetic (UCUM 'a' and 'mo').
std::optional<Temporal> temporal_add(const Temporal& t, const Quantity& q, bool subtract);

}  // namespace cg::fhirpath
