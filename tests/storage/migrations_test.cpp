#include "storage/migrations.hpp"

#include <doctest/doctest.h>

#include <array>

#include "tests/storage/store_fixture.hpp"

using namespace cg::storage;
using namespace cg::storage::testing;
using cg::ErrorKind;

namespace {

Connection open_db(const std::filesystem::path& file) {
  auto conn = Connection::open(file, Connection::Mode::kCreate);
  REQUIRE(conn.ok());
  return std::move(conn).value();
}

bool has_table(Connection& conn, const std::string& name) {
  auto n = conn.query_int64("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '" +
                            name + "'");
  REQUIRE(n.ok());
  return *n == 1;
}

}  // namespace

TEST_CASE("a fresh database gets every clinical step and records the version") {
  TempDir dir;
  auto conn = open_db(dir.path() / "clinical.db");
  auto outcome = apply_migrations(conn, clinical_migrations());
  REQUIRE(outcome.ok());
  CHECK(outcome->from_version == 0);
  CHECK(outcome->to_version == static_cast<std::int64_t>(clinical_migrations().size()));
  CHECK(*conn.query_int64("PRAGMA user_version") == outcome->to_version);
  for (const char* table : {"resources", "resource_versions", "changes", "idx_string", "idx_token",
                            "idx_date", "idx_number", "idx_quantity", "idx_reference", "idx_uri"}) {
    CHECK(has_table(conn, table));
  }
  CHECK_FALSE(has_table(conn, "resource_tokens"));  // replaced by idx_token in version 2
  CHECK_FALSE(conn.in_transaction());
}

TEST_CASE("applying the same steps again changes nothing") {
  TempDir dir;
  auto conn = open_db(dir.path() / "clinical.db");
  REQUIRE(apply_migrations(conn, clinical_migrations()).ok());
  auto again = apply_migrations(conn, clinical_migrations());
  REQUIRE(again.ok());
  CHECK(again->from_version == again->to_version);
}

TEST_CASE("only the steps after the recorded version run") {
  TempDir dir;
  auto conn = open_db(dir.path() / "t.db");
  const std::array<std::string_view, 1> v1 = {"CREATE TABLE a (x)"};
  const std::array<std::string_view, 2> v2 = {"CREATE TABLE a (x)", "CREATE TABLE b (y)"};
  REQUIRE(apply_migrations(conn, v1).ok());
  auto outcome = apply_migrations(conn, v2);  // would fail if step 1 ran again
  REQUIRE(outcome.ok());
  CHECK(outcome->from_version == 1);
  CHECK(outcome->to_version == 2);
  CHECK(has_table(conn, "b"));
}

TEST_CASE("a failing step leaves the schema and user_version as they were") {
  TempDir dir;
  auto conn = open_db(dir.path() / "t.db");
  const std::array<std::string_view, 2> steps = {"CREATE TABLE a (x)", "CREATE TABLE b ("};
  auto outcome = apply_migrations(conn, steps);
  REQUIRE_FALSE(outcome.ok());
  CHECK(outcome.error().message.find("schema version 2") != std::string::npos);
  CHECK(*conn.query_int64("PRAGMA user_version") == 0);
  CHECK_FALSE(has_table(conn, "a"));
  CHECK_FALSE(conn.in_transaction());
}

TEST_CASE("a database from a newer build is refused, naming both versions") {
  TempDir dir;
  auto conn = open_db(dir.path() / "t.db");
  REQUIRE(conn.exec("PRAGMA user_version = 99").ok());
  const std::array<std::string_view, 1> steps = {"CREATE TABLE a (x)"};
  auto outcome = apply_migrations(conn, steps);
  REQUIRE_FALSE(outcome.ok());
  CHECK(outcome.error().kind == ErrorKind::kInternal);
  CHECK(outcome.error().message.find("99") != std::string::npos);
  CHECK(outcome.error().message.find("(1)") != std::string::npos);
  CHECK_FALSE(has_table(conn, "a"));
  CHECK(*conn.query_int64("PRAGMA user_version") == 99);
}

TEST_CASE("the store refuses to open a clinical.db with a newer schema") {
  TempDir dir;
  {
    auto conn = open_db(dir.path() / "clinical.db");
    const auto newer = static_cast<std::int64_t>(clinical_migrations().size()) + 1;
    REQUIRE(conn.exec("PRAGMA user_version = " + std::to_string(newer)).ok());
  }
  StoreConfig config;
  config.directory = dir.path();
  auto store = ResourceStore::open(config);
  REQUIRE_FALSE(store.ok());
  CHECK(store.error().kind == ErrorKind::kInternal);
  CHECK(store.error().message.find("newer than this build") != std::string::npos);
}

TEST_CASE("version 2 carries the version 1 token index over into idx_token") {
  TempDir dir;
  auto conn = open_db(dir.path() / "clinical.db");
  REQUIRE(apply_migrations(conn, clinical_migrations().first(1)).ok());
  REQUIRE(conn.exec("INSERT INTO resource_tokens (type, param, code, system, id)"
                    " VALUES ('Patient', 'identifier', '42', 'urn:mrn', 'p1')")
              .ok());
  auto outcome = apply_migrations(conn, clinical_migrations());
  REQUIRE(outcome.ok());
  CHECK(outcome->from_version == 1);
  CHECK(*conn.query_int64("SELECT count(*) FROM idx_token WHERE type = 'Patient' AND id = 'p1'"
                          " AND param = 'identifier' AND code = '42' AND system = 'urn:mrn'") == 1);
}

TEST_CASE("version 5 adds grp to the index tables and fills the range statistics") {
  TempDir dir;
  auto conn = open_db(dir.path() / "clinical.db");
  REQUIRE(apply_migrations(conn, clinical_migrations().first(4)).ok());
  // Two date rows for one resource, one open-ended; one quantity with base units.
  REQUIRE(conn.exec("INSERT INTO idx_date (type, id, param, low, high) VALUES"
                    " ('Encounter', 'e1', 'date', 0, 1000),"
                    " ('Encounter', 'e1', 'date', 5000, 9223372036854775807),"
                    " ('Encounter', 'e2', 'date', 0, 3000)")
              .ok());
  REQUIRE(conn.exec("INSERT INTO idx_quantity (type, id, param, system, code, low, high,"
                    " canonical_code, canonical_low, canonical_high) VALUES"
                    " ('Observation', 'o1', 'value-quantity', 'u', 'mg', 0.5, 1.5, 'g',"
                    " 0.0005, 0.0015)")
              .ok());
  REQUIRE(apply_migrations(conn, clinical_migrations()).ok());
  CHECK(*conn.query_int64("SELECT max_rows FROM idx_param_stats WHERE family = 'date'"
                          " AND type = 'Encounter' AND param = 'date'") == 2);
  CHECK(*conn.query_int64("SELECT max_width > 9e18 FROM idx_param_stats WHERE family = 'date'"
                          " AND type = 'Encounter'") == 1);
  CHECK(*conn.query_int64("SELECT count(*) FROM idx_param_stats WHERE type = 'Observation'"
                          " AND family IN ('quantity', 'quantity-canonical')") == 2);
  CHECK(*conn.query_int64("SELECT count(*) FROM idx_param_stats WHERE type = 'Observation'"
                          " AND param IN ('value-quantity|mg', 'value-quantity|g')") == 2);
  CHECK(*conn.query_int64("SELECT sum(grp) FROM idx_date") == 0);
}
