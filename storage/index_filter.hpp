#pragma once
// The WHERE part of an index search: a Filter (storage/index_query.hpp) over a Scope becomes
// " AND (…)" terms of uncorrelated key subqueries on the idx_* tables. Range conditions use
// the parameter statistics (storage/param_stats.hpp) to bound the lookup-index scan, and
// ANDed range conditions on a single-valued parameter become one scan. Internal to storage.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/fhir/model/result.hpp"
#include "storage/index_query.hpp"
#include "storage/index_sql.hpp"
#include "storage/param_stats.hpp"

namespace cg::storage {

// Where the filter writer reads statistics; the executor answers from the search's own read
// transaction, so the bounds hold for exactly the rows the search sees.
class ParamStatsSource {
 public:
  virtual ~ParamStatsSource() = default;
  // The statistics over every type of `types` (zero when none has rows for the parameter).
  // A quantity key without a unit ("param|") covers every unit of the parameter.
  virtual Result<ParamStats> stats(std::string_view family, const std::vector<std::string>& types,
                                   const std::string& param) = 0;
};

// Appends " AND (<group>)" for every group of `filter`.
Status write_filter(Sql& out, const Filter& filter, const Scope& scope, ParamStatsSource& stats);

// "SELECT COUNT(*) …" of the matches without reading the resources table, when one group's
// keys are the scope type's own index rows (which exist only for current, non-deleted
// resources) and no term needs a column of the resource row; nullopt otherwise, and for
// several types. Counting over the lookup index alone is several times cheaper than probing
// the resources table once per match.
Result<std::optional<Sql>> write_count(const Filter& filter, const Scope& scope,
                                       ParamStatsSource& stats);

// " FROM idx_… x JOIN resources r0 … WHERE …" over the rows of the filter's only condition
// and their current resources, when that lookup
// index yields ids in order (a token with system and code, a typed local reference); nullopt
// otherwise. A page sorted by id then streams from the index and stops at its size instead
// of collecting every match first.
Result<std::optional<Sql>> write_stream(const Filter& filter, const Scope& scope,
                                        ParamStatsSource& stats);

}  // namespace cg::storage
