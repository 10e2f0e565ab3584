#pragma once
// Per-parameter statistics of the range index tables, kept in idx_param_stats (schema 5) in
// the same transaction as the rows they describe, and only ever raised (a delete or update
// never lowers them; `clinic-gateway reindex` does not either). They are upper bounds the
// search uses to plan without changing any answer:
//   max_width  the widest stored range (high - low) of the parameter. A row with
//              high > X then has low > X - max_width, so `gt`/`ge`/`ap` comparisons, which
//              test `high`, also get a bound on `low` that the lookup index serves.
//   max_rows   the most rows one resource has for the parameter. At most 1 means the
//              parameter is single-valued so far: ANDed conditions on it (`date=ge…&date=lt…`)
//              must hold on the same row, and become one index range scan.
// Families: "date", "number", "quantity" (the value as written) and "quantity-canonical"
// (the value in UCUM base units). Quantities are kept per unit, under "param|unit": a
// parameter holds values of very different scales (weights in g, cell counts in 1/L), and
// one width over all of them would bound nothing. Plain values; thread-safe.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "storage/index_entries.hpp"

namespace cg::storage {

inline constexpr std::string_view kDateFamily = "date";
inline constexpr std::string_view kNumberFamily = "number";
inline constexpr std::string_view kQuantityFamily = "quantity";
inline constexpr std::string_view kCanonicalQuantityFamily = "quantity-canonical";

struct ParamStats {
  double max_width = 0;
  std::int64_t max_rows = 0;
};

struct ParamStatsRow {
  std::string_view family;
  std::string param;
  ParamStats stats;
};

// The statistics of one resource's rows, one row per (family, param) it has.
std::vector<ParamStatsRow> param_stats(const IndexEntries& index);

// "param|unit", the statistics key of a quantity parameter's values in one unit (code, or
// canonical code). With an empty unit it is the prefix of every unit's key.
std::string quantity_stats_key(std::string_view param, std::string_view unit);

}  // namespace cg::storage
