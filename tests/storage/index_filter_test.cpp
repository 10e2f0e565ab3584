#include "storage/index_filter.hpp"

#include <doctest/doctest.h>

#include <map>

using namespace cg::storage;
using cg::Result;

namespace {

// Statistics the test sets per parameter; unknown parameters have none.
struct FakeStats final : ParamStatsSource {
  std::map<std::string, ParamStats> by_param;
  int lookups = 0;
  Result<ParamStats> stats(std::string_view, const std::vector<std::string>&,
                           const std::string& param) override {
    ++lookups;
    auto it = by_param.find(param);
    return it == by_param.end() ? ParamStats{} : it->second;
  }
};

Condition date(std::string param, RangeOp op, std::int64_t low, std::int64_t high) {
  return Condition{DateCond{std::move(param), {op, low, high}}};
}

std::string sql_of(const Filter& filter, FakeStats& stats) {
  std::vector<std::string> types{"Observation"};
  Sql sql;
  auto status = write_filter(sql, filter, Scope{"r0", &types, 0}, stats);
  REQUIRE(status.ok());
  return sql.text();
}

std::size_t occurrences(const std::string& text, std::string_view what) {
  std::size_t n = 0;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("ANDed date conditions on a single-valued parameter become one subquery") {
  FakeStats stats;
  stats.by_param["date"] = {1000, 1};
  stats.by_param["when"] = {1000, 3};
  Filter merged{{OrGroup{{date("date", RangeOp::kGe, 0, 10)}},
                 OrGroup{{date("date", RangeOp::kLt, 50, 60)}}}};
  CHECK(occurrences(sql_of(merged, stats), "SELECT x0.id FROM idx_date") == 1);
  Filter separate{{OrGroup{{date("when", RangeOp::kGe, 0, 10)}},
                   OrGroup{{date("when", RangeOp::kLt, 50, 60)}}}};
  CHECK(occurrences(sql_of(separate, stats), "SELECT x0.id FROM idx_date") == 2);
  // A group with an OR is never merged.
  Filter ored{{OrGroup{{date("date", RangeOp::kGe, 0, 10), date("date", RangeOp::kEq, 90, 99)}},
               OrGroup{{date("date", RangeOp::kLt, 50, 60)}}}};
  CHECK(occurrences(sql_of(ored, stats), "SELECT x0.id FROM idx_date") == 3);
}

TEST_CASE("gt, ge, ap and le add a bound on low; eq and lt need none") {
  FakeStats stats;
  stats.by_param["date"] = {1000, 1};
  auto low_terms = [&](RangeOp op) {
    return occurrences(sql_of(Filter{{OrGroup{{date("date", op, 5000, 6000)}}}}, stats), "x0.low");
  };
  // gt compares only high; with the bound, low appears once.
  CHECK(low_terms(RangeOp::kGt) == 1);
  CHECK(low_terms(RangeOp::kGe) == 2);
  CHECK(low_terms(RangeOp::kAp) == 2);
  CHECK(low_terms(RangeOp::kLe) == 2);
  CHECK(low_terms(RangeOp::kEq) == 2);
  CHECK(low_terms(RangeOp::kLt) == 1);
  // An open-ended width gives no bound at all.
  stats.by_param["date"] = {1.8e19, 1};
  CHECK(low_terms(RangeOp::kGt) == 0);
}

TEST_CASE("a composite joins its components through the owner index, by grp when grouped") {
  FakeStats stats;
  CompositeCond c;
  c.parts.push_back(Condition{TokenCond{"c$0", std::nullopt, "x", {}, {}, {}, false}});
  c.parts.push_back(Condition{QuantityCond{"c$1", {RangeOp::kGt, 1, 2}, false, std::nullopt, {}}});
  const std::string grouped = sql_of(Filter{{OrGroup{{Condition{c}}}}}, stats);
  CHECK(grouped.find("JOIN idx_quantity x0_1 INDEXED BY idx_quantity_owner") != std::string::npos);
  CHECK(grouped.find("x0_1.grp = x0_0.grp") != std::string::npos);
  c.grouped = false;
  const std::string root = sql_of(Filter{{OrGroup{{Condition{c}}}}}, stats);
  CHECK(root.find(".grp") == std::string::npos);
  // A negated component is refused.
  CompositeCond bad;
  bad.parts.push_back(Condition{TokenCond{"c$0", std::nullopt, "x", {}, {}, {}, true}});
  std::vector<std::string> types{"Observation"};
  Sql sql;
  CHECK_FALSE(
      write_filter(sql, Filter{{OrGroup{{Condition{bad}}}}}, Scope{"r0", &types, 0}, stats).ok());
}

TEST_CASE("a long OR is split into IN lists SQLite accepts (at most 500 compound terms)") {
  FakeStats stats;
  OrGroup many;
  for (int i = 0; i < 1000; ++i) {
    many.any_of.push_back(
        Condition{TokenCond{"code", std::string("s"), std::to_string(i), {}, {}, {}, false}});
  }
  const std::string sql = sql_of(Filter{{many}}, stats);
  CHECK(occurrences(sql, "r0.id IN (") == 3);
  CHECK(occurrences(sql, "UNION ALL") == 997);
}

TEST_CASE("the count form drives from a group of own index rows; other shapes have none") {
  FakeStats stats;
  std::vector<std::string> one{"Patient"}, two{"Patient", "Group"};
  const Condition male{TokenCond{"gender", std::nullopt, "male", {}, {}, {}, false}};
  auto count_of = [&](const Filter& f, const std::vector<std::string>& types) {
    auto sql = write_count(f, Scope{"r0", &types, 0}, stats);
    REQUIRE(sql.ok());
    return *sql ? (*sql)->text() : std::string();
  };
  const std::string fast = count_of(Filter{{OrGroup{{male}}}}, one);
  CHECK(fast.starts_with("SELECT COUNT(*) FROM (SELECT DISTINCT id FROM (SELECT x0.id FROM"));
  CHECK(fast.find("resources") == std::string::npos);
  CHECK(count_of(Filter{{OrGroup{{male}}}}, two).empty());
  const Condition has{ReverseCond{"Observation", "subject", Filter{}}};
  CHECK(count_of(Filter{{OrGroup{{has}}}}, one).empty());
  // _has as a second group filters the driving group's ids.
  CHECK(count_of(Filter{{OrGroup{{male}}, OrGroup{{has}}}}, one).find("r0.id IN") !=
        std::string::npos);
  const Condition updated{LastUpdatedCond{{RangeOp::kGt, 0, 1}}};
  CHECK(count_of(Filter{{OrGroup{{male}}, OrGroup{{updated}}}}, one).empty());
}

TEST_CASE("the streaming form needs one token with system and code, or one typed reference") {
  FakeStats stats;
  std::vector<std::string> one{"Observation"};
  auto stream_of = [&](const Condition& c) {
    auto sql = write_stream(Filter{{OrGroup{{c}}}}, Scope{"r0", &one, 0}, stats);
    REQUIRE(sql.ok());
    return sql->has_value();
  };
  CHECK(stream_of(Condition{TokenCond{"code", "http://loinc.org", "x", {}, {}, {}, false}}));
  CHECK_FALSE(stream_of(Condition{TokenCond{"code", std::nullopt, "x", {}, {}, {}, false}}));
  CHECK_FALSE(stream_of(Condition{TokenCond{"code", "s", "x", {}, {}, {}, true}}));
  ReferenceCond subject{"subject", ReferenceCond::Kind::kLocal, "Patient", "p1", {}, {}, {}, {}};
  CHECK(stream_of(Condition{subject}));
  subject.target_type.clear();
  CHECK_FALSE(stream_of(Condition{subject}));
  CHECK_FALSE(stream_of(date("date", RangeOp::kEq, 0, 1)));
}
