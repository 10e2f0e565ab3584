#include "storage/database_file.hpp"

#include <doctest/doctest.h>

#include <fstream>

#include "tests/storage/store_fixture.hpp"

using namespace cg::storage;
using namespace cg::storage::testing;
using cg::ErrorKind;

TEST_CASE("the writer creates a WAL database with synchronous=FULL") {
  TempDir dir;
  auto writer = open_writer(dir.path() / "x.db", 0);
  REQUIRE(writer.ok());
  CHECK(writer->query_int64("PRAGMA synchronous").value() == 2);  // FULL
  REQUIRE(writer->exec("CREATE TABLE t (v INTEGER)").ok());
  auto readers = open_readers(dir.path() / "x.db", 2);
  REQUIRE(readers.ok());
  CHECK(readers->size() == 2);
  // Readers read, and refuse to write.
  CHECK(readers->front().query_int64("SELECT count(*) FROM t").value() == 0);
  CHECK_FALSE(readers->front().exec("INSERT INTO t VALUES (1)").ok());
  CHECK(std::filesystem::exists(dir.path() / "x.db-wal"));
}

TEST_CASE("a size cap makes writes past it fail as unavailable, not corrupt") {
  TempDir dir;
  auto writer = open_writer(dir.path() / "small.db", 64 * 1024);
  REQUIRE(writer.ok());
  REQUIRE(writer->exec("CREATE TABLE t (v BLOB)").ok());
  auto status = writer->exec("INSERT INTO t VALUES (zeroblob(200000))");
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().kind == ErrorKind::kUnavailable);
}

TEST_CASE("a storage directory is created, and a file in its place is refused") {
  TempDir dir;
  CHECK(ensure_directory(dir.path() / "a" / "b").ok());
  std::ofstream(dir.path() / "file") << "x";
  auto status = ensure_directory(dir.path() / "file");
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().kind == ErrorKind::kUnavailable);
  // Readers need an existing file.
  CHECK_FALSE(open_readers(dir.path() / "missing.db", 1).ok());
}

TEST_CASE("the writer keeps temporary data (savepoint sub-journals) in memory") {
  TempDir dir;
  auto writer = open_writer(dir.path() / "t.db", 0);
  REQUIRE(writer.ok());
  CHECK(writer->query_int64("PRAGMA temp_store").value() == 2);  // MEMORY
}
