#include "storage/index_sql.hpp"

#include <doctest/doctest.h>

using namespace cg::storage;

TEST_CASE("SQL text and bindings are appended together") {
  Sql a;
  a << "x = ";
  a.bind(std::int64_t{1});
  Sql b;
  b << " AND y = ";
  b.bind(std::string("two"));
  a.append(b);
  CHECK(a.text() == "x = ? AND y = ?");
}

TEST_CASE("type_match is an equality for one type and a json_each list for several") {
  Sql one;
  type_match(one, "r.type", {"Patient"});
  CHECK(one.text() == "r.type = ?");
  Sql many;
  type_match(many, "r.type", {"Patient", "Group"});
  CHECK(many.text() == "r.type IN (SELECT value FROM json_each(?))");
  CHECK(json_list({"a", "b\"c"}) == R"(["a","b\"c"])");
}

TEST_CASE("every index table has its name") {
  CHECK(table_name(IndexTable::kString) == "idx_string");
  CHECK(table_name(IndexTable::kUri) == "idx_uri");
  CHECK(table_name(IndexTable::kQuantity) == "idx_quantity");
}

TEST_CASE("a scope's key is the id for one type and (type, id) for several") {
  std::vector<std::string> one{"Patient"}, two{"Patient", "Group"};
  CHECK(Scope{"r0", &one, 0}.key() == "r0.id");
  CHECK(Scope{"r1", &two, 1}.key() == "(r1.type, r1.id)");
  CHECK(Scope{"r1", &two, 1}.index_alias() == "x1");
}
