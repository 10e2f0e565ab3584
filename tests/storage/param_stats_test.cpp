#include "storage/param_stats.hpp"

#include <doctest/doctest.h>

#include <limits>

using namespace cg::storage;

TEST_CASE("one row per family and parameter: the widest range and the row count") {
  IndexEntries e;
  e.dates.push_back({"date", 0, 100});
  e.dates.push_back({"date", 500, 550});
  e.dates.push_back({"period", 0, std::numeric_limits<std::int64_t>::max()});
  e.numbers.push_back({"probability", 0.65, 0.75});
  e.quantities.push_back({"value-quantity", "u", "mg", 0.5, 1.5, "g", 0.0005, 0.0015});
  e.quantities.push_back({"value-quantity", "u", "{beats}", 59.5, 60.5, "", 0, 0});
  e.tokens.push_back({"code", "s", "c", {}, {}, {}});  // tokens have no statistics
  auto rows = param_stats(e);
  REQUIRE(rows.size() == 6);
  auto find = [&](std::string_view family, std::string_view param) {
    for (const auto& r : rows) {
      if (r.family == family && r.param == param) return r.stats;
    }
    FAIL("no row for ", family, " ", param);
    return ParamStats{};
  };
  CHECK(find(kDateFamily, "date").max_width == 100);
  CHECK(find(kDateFamily, "date").max_rows == 2);
  // An open end: the width does not overflow, it is just very large.
  CHECK(find(kDateFamily, "period").max_width > 9e18);
  CHECK(find(kNumberFamily, "probability").max_width == doctest::Approx(0.1));
  // Quantities per unit: mg and {beats} values do not widen each other.
  CHECK(find(kQuantityFamily, "value-quantity|mg").max_rows == 1);
  CHECK(find(kQuantityFamily, "value-quantity|mg").max_width == doctest::Approx(1.0));
  CHECK(find(kQuantityFamily, "value-quantity|{beats}").max_width == doctest::Approx(1.0));
  CHECK(find(kCanonicalQuantityFamily, "value-quantity|g").max_rows == 1);
  CHECK(find(kCanonicalQuantityFamily, "value-quantity|g").max_width == doctest::Approx(0.001));
  CHECK(quantity_stats_key("value-quantity", "") == "value-quantity|");
}

TEST_CASE("no range rows, no statistics") {
  CHECK(param_stats(IndexEntries{}).empty());
}
