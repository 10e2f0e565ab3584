#include "storage/sqlite.hpp"

#include <doctest/doctest.h>
#include <sqlite3.h>

#include <cerrno>
#include <fstream>

#include "tests/storage/store_fixture.hpp"

using namespace cg::storage;
using cg::ErrorKind;
using cg::storage::testing::TempDir;

namespace {

Connection open_db(const std::filesystem::path& file) {
  auto conn = Connection::open(file, Connection::Mode::kCreate);
  REQUIRE(conn.ok());
  return std::move(conn).value();
}

}  // namespace

TEST_CASE("disk conditions map to kUnavailable and everything else to kInternal") {
  for (int code : {SQLITE_FULL, SQLITE_READONLY, SQLITE_READONLY_DBMOVED, SQLITE_IOERR,
                   SQLITE_IOERR_WRITE, SQLITE_IOERR_FSYNC, SQLITE_CANTOPEN, SQLITE_BUSY}) {
    CAPTURE(code);
    CHECK(sqlite_error(code, "write").kind == ErrorKind::kUnavailable);
  }
  for (int code : {SQLITE_ERROR, SQLITE_CONSTRAINT, SQLITE_CONSTRAINT_UNIQUE, SQLITE_CORRUPT,
                   SQLITE_MISUSE, SQLITE_NOMEM, SQLITE_RANGE}) {
    CAPTURE(code);
    CHECK(sqlite_error(code, "write").kind == ErrorKind::kInternal);
  }
  const auto error = sqlite_error(SQLITE_FULL, "commit batch", "database or disk is full");
  CHECK(error.message.find("commit batch") == 0);
  CHECK(error.message.find("full") != std::string::npos);
}

TEST_CASE("a write refused as read-only comes back as kUnavailable") {
  TempDir dir;
  auto conn = open_db(dir.path() / "t.db");
  REQUIRE(conn.exec("CREATE TABLE t (x INTEGER); PRAGMA query_only = 1").ok());
  auto status = conn.exec("INSERT INTO t VALUES (1)");
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().kind == ErrorKind::kUnavailable);
  CHECK(status.error().message.find("readonly") != std::string::npos);
}

TEST_CASE("a database path under a regular file cannot be opened and is kUnavailable") {
  TempDir dir;
  std::ofstream(dir.path() / "not-a-dir") << "x";
  auto conn = Connection::open(dir.path() / "not-a-dir" / "t.db", Connection::Mode::kCreate);
  REQUIRE_FALSE(conn.ok());
  CHECK(conn.error().kind == ErrorKind::kUnavailable);
  CHECK(conn.error().message.find("not-a-dir") != std::string::npos);
}

TEST_CASE("kExisting does not create a missing database") {
  TempDir dir;
  auto conn = Connection::open(dir.path() / "missing.db", Connection::Mode::kExisting);
  REQUIRE_FALSE(conn.ok());
  CHECK(conn.error().kind == ErrorKind::kUnavailable);
  CHECK_FALSE(std::filesystem::exists(dir.path() / "missing.db"));
}

TEST_CASE("cached statements are reused, rebound and read back values exactly") {
  TempDir dir;
  auto conn = open_db(dir.path() / "t.db");
  REQUIRE(conn.exec("CREATE TABLE t (k TEXT, v INTEGER, n TEXT)").ok());
  const Statement* first = nullptr;
  for (std::int64_t i = 0; i < 3; ++i) {
    auto insert = conn.statement("INSERT INTO t VALUES (?, ?, ?)");
    REQUIRE(insert.ok());
    if (first == nullptr) first = &**insert;
    CHECK(&**insert == first);
    (*insert)->bind(1, std::string_view(i == 0 ? "" : "a\0b", i == 0 ? 0 : 3));
    (*insert)->bind(2, i);
    (*insert)->bind_optional(3, i == 2 ? std::optional<std::string>("x") : std::nullopt);
    REQUIRE((*insert)->run().ok());
  }
  auto select = conn.statement("SELECT k, v, n FROM t ORDER BY v");
  REQUIRE(select.ok());
  REQUIRE(*(*select)->step());
  CHECK((*select)->column_text(0).empty());
  CHECK_FALSE((*select)->column_is_null(0));  // an empty string is not NULL
  REQUIRE(*(*select)->step());
  CHECK((*select)->column_text(0) == std::string("a\0b", 3));
  CHECK((*select)->column_is_null(2));
  REQUIRE(*(*select)->step());
  CHECK((*select)->column_int64(1) == 2);
  CHECK((*select)->column_text(2) == "x");
  CHECK_FALSE(*(*select)->step());
}

TEST_CASE("a bind error is reported by the next step") {
  TempDir dir;
  auto conn = open_db(dir.path() / "t.db");
  auto stmt = conn.statement("SELECT ?");
  REQUIRE(stmt.ok());
  (*stmt)->bind(5, std::int64_t{1});
  auto row = (*stmt)->step();
  REQUIRE_FALSE(row.ok());
  CHECK(row.error().kind == ErrorKind::kInternal);
}

TEST_CASE("statements beyond the cache limit are prepared per use and still work") {
  TempDir dir;
  auto conn = open_db(dir.path() / "t.db");
  for (std::size_t i = 0; i < Connection::kMaxCachedStatements + 10; ++i) {
    auto value = conn.query_int64("SELECT " + std::to_string(i));
    REQUIRE(value.ok());
    CHECK(*value == static_cast<std::int64_t>(i));
  }
}

TEST_CASE("generated statements are reused when their SQL recurs, and twins in use are two") {
  TempDir dir;
  auto conn = open_db(dir.path() / "t.db");
  const Statement* first = nullptr;
  const Statement* second = nullptr;
  {
    auto a = conn.generated_statement("SELECT ? + 1");
    REQUIRE(a.ok());
    first = &**a;
    (*a)->bind(1, std::int64_t{41});
    REQUIRE(*(*a)->step());
    CHECK((*a)->column_int64(0) == 42);
    // The same SQL while the first is leased: a statement of its own.
    auto twin = conn.generated_statement("SELECT ? + 1");
    REQUIRE(twin.ok());
    second = &**twin;
    CHECK(second != first);
    (*twin)->bind(1, std::int64_t{1});
    REQUIRE(*(*twin)->step());
    CHECK((*twin)->column_int64(0) == 2);
  }
  auto again = conn.generated_statement("SELECT ? + 1");
  REQUIRE(again.ok());
  // One of the two was checked back in (the other dropped), reset and unbound.
  CHECK((&**again == first || &**again == second));
  REQUIRE(*(*again)->step());
  CHECK((*again)->column_is_null(0));
}

TEST_CASE("generated statements beyond the cache's size push out the least recently used") {
  TempDir dir;
  auto conn = open_db(dir.path() / "t.db");
  const Statement* hot = nullptr;
  {
    auto s = conn.generated_statement("SELECT 'hot'");
    REQUIRE(s.ok());
    hot = &**s;
  }
  for (std::size_t i = 0; i < Connection::kMaxGeneratedStatements * 2; ++i) {
    {
      auto s = conn.generated_statement("SELECT " + std::to_string(i));
      REQUIRE(s.ok());
      REQUIRE(*(*s)->step());
      CHECK((*s)->column_int64(0) == static_cast<std::int64_t>(i));
    }
    if (i % 8 == 0) {  // kept recent, it stays
      auto s = conn.generated_statement("SELECT 'hot'");
      REQUIRE(s.ok());
      CHECK(&**s == hot);
    }
  }
  auto cold = conn.generated_statement("SELECT 0");  // used once, long ago: prepared anew
  REQUIRE(cold.ok());
  REQUIRE(*(*cold)->step());
  CHECK((*cold)->column_int64(0) == 0);
}

TEST_CASE("dropping a lease mid-read releases the snapshot so a checkpoint can finish") {
  TempDir dir;
  auto writer = open_db(dir.path() / "t.db");
  auto reader = open_db(dir.path() / "t.db");
  REQUIRE(writer
              .exec("PRAGMA journal_mode = WAL; CREATE TABLE t (x);"
                    "INSERT INTO t VALUES (1), (2), (3)")
              .ok());
  {
    auto select = reader.statement("SELECT x FROM t");
    REQUIRE(select.ok());
    REQUIRE(*(*select)->step());  // one row read, two left: the read is still open
    REQUIRE(writer.exec("INSERT INTO t VALUES (4)").ok());
    CHECK(*writer.query_int64("PRAGMA wal_checkpoint(TRUNCATE)") == 1);  // busy
  }
  CHECK(*writer.query_int64("PRAGMA wal_checkpoint(TRUNCATE)") == 0);
}

TEST_CASE("a read transaction keeps one snapshot until it is dropped") {
  TempDir dir;
  auto writer = open_db(dir.path() / "t.db");
  auto reader = open_db(dir.path() / "t.db");
  REQUIRE(
      writer.exec("PRAGMA journal_mode = WAL; CREATE TABLE t (x); INSERT INTO t VALUES (1)").ok());
  {
    auto txn = ReadTransaction::begin(reader);
    REQUIRE(txn.ok());
    CHECK(*reader.query_int64("SELECT COUNT(*) FROM t") == 1);
    REQUIRE(writer.exec("INSERT INTO t VALUES (2)").ok());
    CHECK(*reader.query_int64("SELECT COUNT(*) FROM t") == 1);
    CHECK(reader.in_transaction());
  }
  CHECK_FALSE(reader.in_transaction());
  CHECK(*reader.query_int64("SELECT COUNT(*) FROM t") == 2);
}

TEST_CASE("a closed connection refuses work with kUnavailable") {
  TempDir dir;
  auto conn = open_db(dir.path() / "t.db");
  conn.close();
  conn.close();
  CHECK_FALSE(conn.is_open());
  CHECK(conn.exec("SELECT 1").error().kind == ErrorKind::kUnavailable);
  CHECK(conn.statement("SELECT 1").error().kind == ErrorKind::kUnavailable);
}

TEST_CASE("blobs keep any bytes, including NUL and invalid UTF-8; an empty blob is not NULL") {
  TempDir dir;
  auto conn = Connection::open(dir.path() / "b.db", Connection::Mode::kCreate);
  REQUIRE(conn.ok());
  REQUIRE(conn->exec("CREATE TABLE t (v BLOB)").ok());
  const std::string bytes("a\0b\xFF\xFE\r", 6);
  for (std::string_view value : {std::string_view(bytes), std::string_view()}) {
    auto insert = conn->statement("INSERT INTO t VALUES (?)");
    REQUIRE(insert.ok());
    (*insert)->bind_blob(1, value);
    REQUIRE((*insert)->run().ok());
  }
  auto select = conn->statement("SELECT v, v IS NULL FROM t ORDER BY rowid");
  REQUIRE(select.ok());
  REQUIRE((*select)->step().value());
  CHECK((*select)->column_blob(0) == bytes);
  REQUIRE((*select)->step().value());
  CHECK((*select)->column_blob(0).empty());
  CHECK((*select)->column_int64(1) == 0);
}

TEST_CASE(
    "disk_problem: full, read-only and failing disks are told apart; other failures are not") {
  CHECK(disk_problem(SQLITE_FULL, 0) == DiskProblem::kFull);
  CHECK(disk_problem(SQLITE_IOERR_WRITE, ENOSPC) == DiskProblem::kFull);
  CHECK(disk_problem(SQLITE_IOERR_FSYNC, EDQUOT) == DiskProblem::kFull);
  CHECK(disk_problem(SQLITE_IOERR_WRITE, EROFS) == DiskProblem::kReadOnly);
  CHECK(disk_problem(SQLITE_READONLY, 0) == DiskProblem::kReadOnly);
  CHECK(disk_problem(SQLITE_READONLY_DBMOVED, 0) == DiskProblem::kReadOnly);
  CHECK(disk_problem(SQLITE_CANTOPEN, EACCES) == DiskProblem::kReadOnly);
  CHECK(disk_problem(SQLITE_CANTOPEN, EROFS) == DiskProblem::kReadOnly);
  CHECK(disk_problem(SQLITE_CANTOPEN, ENOENT) == DiskProblem::kIoError);
  CHECK(disk_problem(SQLITE_IOERR_WRITE, EIO) == DiskProblem::kIoError);
  CHECK_FALSE(disk_problem(SQLITE_BUSY, 0).has_value());
  CHECK_FALSE(disk_problem(SQLITE_CONSTRAINT_UNIQUE, 0).has_value());
  CHECK_FALSE(disk_problem(SQLITE_INTERRUPT, 0).has_value());
}

TEST_CASE("a connection with no failure has no disk problem") {
  TempDir dir;
  Connection conn = open_db(dir.path() / "t.db");
  REQUIRE(conn.exec("CREATE TABLE t(x)").ok());
  CHECK_FALSE(conn.disk_problem().has_value());
  CHECK_FALSE(conn.exec("INSERT INTO missing VALUES (1)").ok());
  CHECK_FALSE(conn.disk_problem().has_value());  // an SQL error says nothing about the disk
}

namespace {

// Reads every page of an 8 MB table (rows inside the pages, not in overflow pages) through a
// connection whose own cache could hold it all; returns what SQLite holds afterwards (the
// connection still open, its cache warm).
std::int64_t memory_after_scan(const std::filesystem::path& file) {
  auto conn = open_db(file);
  REQUIRE(conn.exec("PRAGMA cache_size = -65536").ok());  // 64 MB of its own
  auto sum = conn.query_int64("SELECT sum(length(x)) FROM t");
  REQUIRE(sum.ok());
  CHECK(*sum == 8000 * 1000);
  return sqlite_memory_used();
}

}  // namespace

TEST_CASE("limit_sqlite_memory bounds the page caches of the whole process") {
  TempDir dir;
  const auto file = dir.path() / "big.db";
  {
    auto conn = open_db(file);
    REQUIRE(conn.exec("CREATE TABLE t(x BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL "
                      "SELECT i + 1 FROM n WHERE i < 8000) "
                      "INSERT INTO t SELECT randomblob(1000) FROM n")
                .ok());
  }
  const std::int64_t before = sqlite_memory_used();
  limit_sqlite_memory(0);
  const std::int64_t unlimited = memory_after_scan(file) - before;
  CHECK(unlimited > 6 * 1024 * 1024);  // the scan's pages stayed in the cache
  limit_sqlite_memory(2 * 1024 * 1024);
  const std::int64_t limited = memory_after_scan(file) - before;
  limit_sqlite_memory(0);
  CHECK(limited < 3 * 1024 * 1024);  // pages were recycled instead
}
