#pragma once
// IndexQuery: a search over the typed index tables, in terms the store understands — resource
// types, parameter codes, normalized strings, [low, high) ranges, reference targets — and
// nothing of FHIR's query syntax. protocols/fhir/search/search_plan.hpp builds it from a
// parsed request; ResourceStore::search_index() (storage/index_search.hpp) runs it as SQL on a
// reader connection. Plain values; safe to build on one thread and run on another.
//
// Meaning: a resource matches a Filter when, for every group, at least one Condition of the
// group holds (AND of ORs; an empty group matches nothing). Index conditions hold when one of
// the resource's index rows for the parameter matches ("any value"), except `negate` and
// MissingCond{missing=true}, which hold when none does. Ranges compare as in docs/search.md.

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "storage/resource_store.hpp"

namespace cg::storage {

// Which index table a parameter's rows live in (by its search-parameter type).
enum class IndexTable : std::uint8_t {
  kString,
  kToken,
  kDate,
  kNumber,
  kQuantity,
  kReference,
  kUri,
  kPosition
};

// How a stored range [low, high) is compared with the query's [low, high), R4 §3.1.1.4.2:
//   eq  stored within query            ne  not eq
//   gt  stored high > query high       lt  stored low < query low
//   ge  gt or eq (high > qhigh or low >= qlow)   le  lt or eq (low < qlow or high <= qhigh)
//   sa  stored low >= query high       eb  stored high <= query low
//   ap  overlap (the query range is already widened by the caller)
enum class RangeOp : std::uint8_t { kEq, kNe, kGt, kLt, kGe, kLe, kSa, kEb, kAp };

struct StringCond {
  enum class Mode : std::uint8_t { kPrefix, kExact, kContains };
  std::string param;
  Mode mode = Mode::kPrefix;
  std::string value;       // normalized (normalize_for_search) for kPrefix and kContains;
                           // the text as written for kExact
  std::string normalized;  // kExact only: normalize_for_search(value), the index lookup key
};

struct TokenCond {
  std::string param;
  std::optional<std::string> system;  // nullopt: any system; "": no system; else that system
  std::string code;                   // "" with a system: any code of the system
  std::optional<std::string> text;    // :text: a normalized prefix of the text column; then
                                      // system and code are not compared
  std::string type_system;            // :of-type (both non-empty): the identifier type
  std::string type_code;
  bool negate = false;  // :not: resources without a matching row (also those with no value)
};

// A [low, high) range comparison on a date, number or _lastUpdated.
template <class T>
struct Range {
  RangeOp op = RangeOp::kEq;
  T low{};
  T high{};
};

struct DateCond {
  std::string param;
  Range<std::int64_t> range;  // ms since the epoch, UTC
};

struct NumberCond {
  std::string param;
  Range<double> range;
};

struct QuantityCond {
  std::string param;
  Range<double> range;
  // false: compare system/code/low/high as stored. true: compare canonical_code and the
  // canonical range; `range` and `code` are then in UCUM base units.
  bool canonical = false;
  std::optional<std::string> system;  // nullopt: any; ignored when canonical
  std::string code;                   // "": any unit
};

struct ReferenceCond {
  enum class Kind : std::uint8_t { kLocal, kUrl, kIdentifier };
  // kUrl: the stored url equals the value, starts with it (kBelow), or is a prefix of it
  // (kAbove), as for uris.
  enum class UrlMatch : std::uint8_t { kExact, kBelow, kAbove };
  std::string param;
  Kind kind = Kind::kLocal;
  std::string target_type;                       // kLocal: "" = any type
  std::string target_id;                         // kLocal
  std::string url;                               // kUrl: absolute or canonical URL
  std::string version;                           // kLocal, kUrl: "" = any version
  std::optional<std::string> identifier_system;  // kIdentifier: nullopt = any, "" = none
  std::string identifier_value;
  UrlMatch url_match = UrlMatch::kExact;  // kUrl
};

struct UriCond {
  enum class Mode : std::uint8_t { kExact, kBelow, kAbove };
  std::string param;
  std::string value;
  Mode mode = Mode::kExact;  // kBelow: stored starts with value; kAbove: value starts with stored
};

struct MissingCond {
  IndexTable table = IndexTable::kToken;
  std::string param;
  bool missing = true;  // true: no row for param; false: at least one
};

// near: a position within `distance_m` metres (great circle) of (latitude, longitude).
struct NearCond {
  std::string param;
  double latitude = 0;
  double longitude = 0;
  double distance_m = 0;
};

// _list: the resources the current List `list_id` has as entry.item (its `item` rows).
struct ListCond {
  std::string list_id;
};

// Reference :below / :above on a hierarchy (Location.partOf): the resources whose `param`
// leads to `target_id` through one or more hops (below: its descendants), or the resources
// `target_id`'s `param` leads to (above: its ancestors), at most kMaxHierarchyDepth hops.
// The search type is the hierarchy's type.
struct HierarchyCond {
  std::string param;
  std::string target_id;
  bool below = true;
};

inline constexpr int kMaxHierarchyDepth = 16;

struct IdCond {
  std::vector<std::string> ids;  // any of
};

struct LastUpdatedCond {
  Range<std::int64_t> range;  // the resource's instant covers [ms, ms + 1)
};

struct Condition;

struct OrGroup {
  std::vector<Condition> any_of;
};

struct Filter {
  std::vector<OrGroup> all_of;
};

// Forward chain: the current resource's reference `param` points at a current resource of
// `target_type` that matches `where`.
struct ChainCond {
  std::string param;
  std::string target_type;
  Filter where;
};

// Reverse chain (_has): a current resource of `source_type` whose reference `param` points
// at the current resource matches `where`.
struct ReverseCond {
  std::string source_type;
  std::string param;
  Filter where;
};

// A composite parameter's value: one condition per component (String…UriCond, not negated),
// all holding inside one element instance. `grouped`: on the component rows of the composite
// (params "code$0", "code$1", …) with the same `grp` of one resource, i.e. one
// Observation.component. Not grouped: on rows of ordinary parameters of one resource, for a
// composite whose instance is the resource itself (Observation's code-value-quantity is then
// `code` and `value-quantity` of the same Observation).
struct CompositeCond {
  std::vector<Condition> parts;
  bool grouped = true;
};

struct Condition {
  std::variant<StringCond, TokenCond, DateCond, NumberCond, QuantityCond, ReferenceCond, UriCond,
               MissingCond, IdCond, LastUpdatedCond, ChainCond, ReverseCond, CompositeCond,
               ListCond, HierarchyCond, NearCond>
      kind;
};

// One sort key. kParam sorts by the smallest value of the parameter's rows (largest when
// descending): low for dates, numbers and quantities, normalized for strings, code for
// tokens, uri, and "Type/id" (or url) for references. Resources without one come last.
struct SortSpec {
  enum class Kind : std::uint8_t { kId, kLastUpdated, kParam };
  Kind kind = Kind::kId;
  IndexTable table = IndexTable::kString;  // kParam
  std::string param;                       // kParam
  bool descending = false;
};

// _include (forward: targets of `param` of page resources of `source_type`) or _revinclude
// (resources of `source_type` whose `param` points at page resources of `target_type`).
// Empty strings are wildcards. `iterate` also applies it to included resources.
struct IncludeSpec {
  bool reverse = false;
  bool iterate = false;
  std::string source_type;
  std::string param;
  std::string target_type;
};

// Bounds of one search_index() call, over all its statements. Over either one the call fails
// with kInvalid "the search is too costly; narrow it".
struct QueryBudget {
  std::int64_t max_ms = 2000;            // wall-clock deadline (steady clock)
  std::int64_t max_steps = 100'000'000;  // SQLite virtual-machine steps; 0 = no limit
};

// The most a match inside a write job (WriteContext::find_ids) may cost: the single writer
// thread, and every job queued behind it, waits for it, so it gets a tenth of a search's.
inline constexpr QueryBudget kWriterQueryBudget{200, 10'000'000};

struct IndexQuery {
  std::vector<std::string> types;  // one for a type search; several or none (every type) for
                                   // a system search. Chains need exactly one.
  Filter where;
  std::vector<SortSpec> sort;  // then by type and id
  std::size_t count = 50;      // page size (capped at kMaxIndexPage); 0 = total only
  bool total = false;          // count every match (always done when count is 0)
  std::string cursor;          // next_cursor or previous_cursor of a page; "" = first page
  std::vector<IncludeSpec> includes;
  std::size_t max_included = 1000;  // included resources per page, beyond that cut off
  std::size_t max_iterations = 3;   // rounds of :iterate after the first
  QueryBudget budget;
};

inline constexpr std::size_t kMaxIndexPage = 1000;

struct IndexSearchPage {
  std::vector<StoredVersion> matches;      // current versions, in sort order
  std::vector<StoredVersion> included;     // _include/_revinclude results (search mode include)
  std::optional<std::string> next_cursor;  // set when more matches follow
  // Set when matches precede this page (a page reached through a cursor) and the sort has
  // no keys that may be missing (_id, _lastUpdated): a cursor for the page before it.
  std::optional<std::string> previous_cursor;
  std::int64_t total = -1;          // when total or count == 0
  bool included_truncated = false;  // max_included was reached
};

}  // namespace cg::storage
