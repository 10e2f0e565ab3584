#include "gateway/query_continuations.hpp"

#include <doctest/doctest.h>

using cg::gateway::OpenQuery;
using cg::gateway::QueryContinuations;

namespace {

OpenQuery query(std::string sender, std::string tag, std::string cursor = "c") {
  return {std::move(sender), std::move(tag), "QPD|x|", std::move(cursor), 10, 2};
}

}  // namespace

TEST_CASE("a pointer gives its query back once, to the same sender, tag and QPD only") {
  QueryContinuations open(10, 1000);
  const std::string pointer = open.open(query("EMR|WARD", "Q1", "after-2"));
  CHECK(pointer.size() == 16);
  CHECK_FALSE(open.take(pointer, "LAB|WARD", "Q1", "QPD|x|"));
  CHECK_FALSE(open.take(pointer, "EMR|WARD", "Q2", "QPD|x|"));
  CHECK_FALSE(open.take(pointer, "EMR|WARD", "Q1", "QPD|y|"));
  auto taken = open.take(pointer, "EMR|WARD", "Q1", "QPD|x|");
  REQUIRE(taken);
  CHECK(taken->cursor == "after-2");
  CHECK(taken->total == 10);
  CHECK(taken->delivered == 2);
  CHECK_FALSE(open.take(pointer, "EMR|WARD", "Q1", "QPD|x|"));
  CHECK(open.size() == 0);
}

TEST_CASE("pointers expire, and the table keeps at most its capacity, dropping the oldest") {
  std::int64_t now = 0;
  QueryContinuations open(2, 100, [&] { return now; });
  const std::string a = open.open(query("S", "A"));
  now = 50;
  const std::string b = open.open(query("S", "B"));
  const std::string c = open.open(query("S", "C"));
  CHECK(open.size() == 2);
  CHECK_FALSE(open.take(a, "S", "A", "QPD|x|"));  // evicted: the oldest
  now = 120;                                      // b and c were opened at 50: still open
  CHECK(open.take(b, "S", "B", "QPD|x|"));
  now = 150;  // c expires at 150
  CHECK_FALSE(open.take(c, "S", "C", "QPD|x|"));
  CHECK(open.size() == 0);
}

TEST_CASE("cancel drops the sender's open queries with that tag only") {
  QueryContinuations open(10, 1000);
  const std::string mine = open.open(query("S", "Q"));
  const std::string other_tag = open.open(query("S", "R"));
  const std::string other_sender = open.open(query("T", "Q"));
  CHECK(open.cancel("S", "Q") == 1);
  CHECK(open.cancel("S", "Q") == 0);
  CHECK_FALSE(open.take(mine, "S", "Q", "QPD|x|"));
  CHECK(open.take(other_tag, "S", "R", "QPD|x|"));
  CHECK(open.take(other_sender, "T", "Q", "QPD|x|"));
}
