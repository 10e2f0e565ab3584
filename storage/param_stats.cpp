#include "storage/param_stats.hpp"

#include <algorithm>
#include <map>
#include <utility>

namespace cg::storage {
namespace {

using Key = std::pair<std::string_view, std::string>;

void add(std::map<Key, ParamStats>& out, std::string_view family, std::string param, double width) {
  ParamStats& s = out[{family, std::move(param)}];
  s.max_width = std::max(s.max_width, width);
  ++s.max_rows;
}

// In double: open-ended dates span the whole int64 range, which overflows as an integer.
double width(std::int64_t low, std::int64_t high) {
  return static_cast<double>(high) - static_cast<double>(low);
}

}  // namespace

std::vector<ParamStatsRow> param_stats(const IndexEntries& index) {
  std::map<Key, ParamStats> by_param;
  for (const auto& d : index.dates) add(by_param, kDateFamily, d.param, width(d.low_ms, d.high_ms));
  for (const auto& n : index.numbers) add(by_param, kNumberFamily, n.param, n.high - n.low);
  for (const auto& q : index.quantities) {
    add(by_param, kQuantityFamily, quantity_stats_key(q.param, q.code), q.high - q.low);
    if (!q.canonical_code.empty()) {
      add(by_param, kCanonicalQuantityFamily, quantity_stats_key(q.param, q.canonical_code),
          q.canonical_high - q.canonical_low);
    }
  }
  std::vector<ParamStatsRow> rows;
  rows.reserve(by_param.size());
  for (const auto& [key, stats] : by_param) {
    rows.push_back({key.first, key.second, stats});
  }
  return rows;
}

std::string quantity_stats_key(std::string_view param, std::string_view unit) {
  std::string key(param);
  key += '|';
  key += unit;
  return key;
}

}  // namespace cg::storage
