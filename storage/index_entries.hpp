#pragma once
// IndexEntries: the search-index rows of one resource version, computed by the FHIR layer
// (protocols/fhir/index) from the R4 search-parameter expressions and stored by the store in
// the same transaction as the resource. One struct per search-parameter type; every entry
// names its parameter code. Ranges are half-open [low, high) and carry the precision of the
// indexed value (a date "2026-11" covers the month; a decimal "1.5" covers [1.45, 1.55)).
// Composite parameters store the rows of their components under "code$0", "code$1", …, with
// `grp` numbering the element instance (1, 2, …) the component values came from, so a search
// can require all components to match inside one instance (one Observation.component).
// Plain values.

#include <cstdint>
#include <string>
#include <vector>

namespace cg::storage {

struct StringIndex {
  std::string param;
  std::string normalized;  // lowercase, accents removed: what default and :contains match
  std::string exact;       // as written: what :exact matches
  std::int32_t grp = 0;    // element instance of a composite parameter; 0 otherwise
  bool operator==(const StringIndex&) const = default;
};

struct TokenIndex {
  std::string param;
  std::string system;  // "" when the value has none
  std::string code;
  std::string text;         // normalized display / CodeableConcept.text, for :text
  std::string type_system;  // Identifier.type coding, for :of-type
  std::string type_code;
  std::int32_t grp = 0;  // element instance of a composite parameter; 0 otherwise
  bool operator==(const TokenIndex&) const = default;
};

struct DateIndex {
  std::string param;
  std::int64_t low_ms = 0;   // inclusive
  std::int64_t high_ms = 0;  // exclusive
  std::int32_t grp = 0;      // element instance of a composite parameter; 0 otherwise
  bool operator==(const DateIndex&) const = default;
};

struct NumberIndex {
  std::string param;
  double low = 0;        // inclusive
  double high = 0;       // exclusive
  std::int32_t grp = 0;  // element instance of a composite parameter; 0 otherwise
  bool operator==(const NumberIndex&) const = default;
};

struct QuantityIndex {
  std::string param;
  std::string system;
  std::string code;  // code, or unit when there is no code
  double low = 0;
  double high = 0;
  // The same value in UCUM base units when the unit is a known UCUM unit, so 1 g matches
  // 1000 mg; empty canonical_code otherwise.
  std::string canonical_code;
  double canonical_low = 0;
  double canonical_high = 0;
  std::int32_t grp = 0;  // element instance of a composite parameter; 0 otherwise
  bool operator==(const QuantityIndex&) const = default;
};

struct ReferenceIndex {
  std::string param;
  std::string target_type;  // "Patient" for "Patient/123" or ".../fhir/Patient/123"
  std::string target_id;
  std::string url;                // absolute or canonical URL (without |version)
  std::string version;            // canonical version, or _history version of a literal reference
  std::string identifier_system;  // Reference.identifier, for :identifier
  std::string identifier_value;
  std::int32_t grp = 0;  // element instance of a composite parameter; 0 otherwise
  bool operator==(const ReferenceIndex&) const = default;
};

struct UriIndex {
  std::string param;
  std::string uri;
  std::int32_t grp = 0;  // element instance of a composite parameter; 0 otherwise
  bool operator==(const UriIndex&) const = default;
};

// Location.position for `near`: degrees, WGS84.
struct PositionIndex {
  std::string param;
  double latitude = 0;
  double longitude = 0;
  std::int32_t grp = 0;  // element instance of a composite parameter; 0 otherwise
  bool operator==(const PositionIndex&) const = default;
};

struct IndexEntries {
  std::vector<StringIndex> strings;
  std::vector<TokenIndex> tokens;
  std::vector<DateIndex> dates;
  std::vector<NumberIndex> numbers;
  std::vector<QuantityIndex> quantities;
  std::vector<ReferenceIndex> references;
  std::vector<UriIndex> uris;
  std::vector<PositionIndex> positions;

  std::size_t size() const {
    return strings.size() + tokens.size() + dates.size() + numbers.size() + quantities.size() +
           references.size() + uris.size() + positions.size();
  }
};

}  // namespace cg::storage
