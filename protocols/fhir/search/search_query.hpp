#pragma once
// FHIR search queries: turns the decoded parameters of a type or system search into a
// validated, typed SearchRequest (the AST the storage layer turns into SQL), resolving each
// parameter against the R4 definitions: its type, modifier, prefixes and values, chains
// (subject:Patient.name), reverse chains (_has), and the result parameters (_sort, _count,
// _include, …). No storage, no sockets: callable from any thread; plain values out.
// Syntax and exact semantics for integrators: docs/search.md.

#include <concepts>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/fhir/model/definitions.hpp"
#include "protocols/fhir/model/result.hpp"
#include "protocols/fhir/search/search_values.hpp"

namespace cg::fhir::search {

// Bounds every request is checked against (over → kInvalid naming the parameter).
struct SearchLimits {
  std::size_t max_params = 64;      // name=value pairs in one request
  std::size_t max_or_values = 32;   // comma-separated values of one parameter (also _sort…)
  std::size_t max_chain_depth = 3;  // hops (chain or _has) in one parameter name
  std::size_t max_includes = 16;    // _include + _revinclude values together
  std::size_t max_count = 1000;     // largest _count
};

enum class Modifier : std::uint8_t {
  kNone,
  kMissing,
  kExact,
  kContains,
  kText,
  kNot,
  kAbove,
  kBelow,
  kIdentifier,
  kIn,
  kNotIn,
  kOfType,
  kType,  // :[type] on a reference: Criterion::type_modifier holds the type
};
std::string_view to_string(Modifier modifier);

// One hop of a chain. kForward: follow reference `param` of the current resource to
// `type` (subject:Patient). kReverse: resources of `type` whose reference `param` points at
// the current resource (_has:Observation:patient).
struct Hop {
  enum class Direction : std::uint8_t { kForward, kReverse } direction = Direction::kForward;
  std::string type;                       // the resource type reached by the hop
  const SearchParamDef* param = nullptr;  // a reference parameter (forward: of the current
                                          // type; reverse: of `type`)
};

// One name=value pair of the query: the values are ORed; separate Criteria are ANDed.
struct Criterion {
  std::string name;         // the parameter name as written ("subject:Patient.name:exact")
  std::string raw_value;    // the value as written, for the self link
  std::vector<Hop> chain;   // empty for a plain parameter
  std::string target_type;  // the type `param` is evaluated on: the searched type or
                            // chain.back().type ("" for a system search without _type)
  const SearchParamDef* param = nullptr;  // null only for _list (a List id, ReferenceValue)
  std::string code;                       // param->code, or "_list"
  Modifier modifier = Modifier::kNone;
  std::string type_modifier;  // Modifier::kType: the resource type named by :[type]
  // Non-empty. Kinds by param type and modifier: see docs/search.md ("AST").
  std::vector<Value> any_of;
};

struct SortKey {
  std::string code;  // a parameter of the searched type, or _id / _lastUpdated
  const SearchParamDef* param = nullptr;
  bool descending = false;
};

struct Include {
  bool reverse = false;                   // _revinclude
  bool iterate = false;                   // :iterate (or the R3 :recurse)
  bool wildcard = false;                  // "*" or "Type:*": every reference parameter
  std::string source_type;                // the type holding the reference ("" for a bare "*")
  const SearchParamDef* param = nullptr;  // null when wildcard
  std::string target_type;                // optional third part; "" = every target
};

enum class Total : std::uint8_t { kNone, kEstimate, kAccurate };
enum class Summary : std::uint8_t { kTrue, kText, kData, kCount, kFalse };

// A parameter left out of the search (lenient handling), with why.
struct IgnoredParam {
  std::string name;
  std::string value;
  std::string reason;
};

struct SearchRequest {
  std::string resource_type;        // "" for a system search
  std::vector<std::string> types;   // _type (system search only)
  std::vector<Criterion> criteria;  // ANDed, in request order
  std::vector<SortKey> sort;
  std::optional<std::size_t> count;
  std::optional<Total> total;
  std::optional<Summary> summary;
  std::vector<std::string> elements;
  std::vector<Include> includes;
  std::string cursor_name;  // "_after" or "_cursor" when present; value opaque
  std::string cursor;
  std::string format;  // _format as written ("" when absent); the REST layer interprets it
  std::optional<bool> pretty;
  std::vector<IgnoredParam> ignored;

  struct Applied {
    std::string name;
    std::string value;
    bool paging = false;  // the cursor: dropped when building next links
  };
  std::vector<Applied> applied;  // what was used, in request order

  // The applied parameters as a percent-encoded query string in request order, for the
  // self link; without the paging cursor when with_cursor is false (to build next links).
  std::string self_query(bool with_cursor = true) const;
};

// Decoded name/value pairs, as the REST layer's QueryParams (which this library may not
// include: rest depends on search). Views into the caller's strings.
struct ParamView {
  std::string_view name;
  std::string_view value;
};

std::int64_t system_now_ms();

// Percent-encodes a parameter name or value for the links the server builds (self, next,
// previous): what FHIR values commonly hold (`|`, `:`, `,`, `$`) stays readable.
std::string encode_query_value(std::string_view text);

// Parses a search on resource_type ("" = system search). Unknown or unsupported parameters
// are listed in `ignored`, or refused when strict. Errors (all kInvalid, location = the
// parameter name): unknown/unsupported parameter when strict; unknown modifier or one not
// allowed for the type; malformed or empty value; ambiguous or unknown chain; over a limit.
// now_ms anchors the `ap` prefix on dates.
Result<SearchRequest> parse_search(std::string_view resource_type,
                                   std::span<const ParamView> params, const SearchLimits& limits,
                                   bool strict, std::int64_t now_ms = system_now_ms());

// Any range of {name, value} objects (the REST layer's QueryParams).
template <class Params>
requires requires(const Params& ps) {
  { ps.begin()->name } -> std::convertible_to<std::string_view>;
  { ps.begin()->value } -> std::convertible_to<std::string_view>;
}
Result<SearchRequest> parse_search(std::string_view resource_type, const Params& params,
                                   const SearchLimits& limits, bool strict,
                                   std::int64_t now_ms = system_now_ms()) {
  std::vector<ParamView> views;
  views.reserve(params.size());
  for (const auto& p : params) views.push_back({p.name, p.value});
  return parse_search(resource_type, std::span<const ParamView>(views), limits, strict, now_ms);
}

}  // namespace cg::fhir::search
