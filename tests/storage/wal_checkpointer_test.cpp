#include "storage/wal_checkpointer.hpp"

#include <doctest/doctest.h>

#include "storage/database_file.hpp"
#include "tests/storage/store_fixture.hpp"

using namespace cg::storage;
using cg::storage::testing::open_store;
using cg::storage::testing::TempDir;

namespace {

// One small committed transaction on `conn`.
void commit_row(Connection& conn, int n) {
  REQUIRE(conn.exec("BEGIN IMMEDIATE").ok());
  auto insert = conn.statement("INSERT INTO t (v) VALUES (?)");
  REQUIRE(insert.ok());
  (*insert)->bind(1, std::string_view(std::string(2000, static_cast<char>('a' + n % 26))));
  REQUIRE((*insert)->run().ok());
  REQUIRE(conn.exec("COMMIT").ok());
}

std::int64_t count_rows(const std::filesystem::path& file) {
  auto reader = open_readers(file, 1);
  REQUIRE(reader.ok());
  return reader->front().query_int64("SELECT count(*) FROM t").value();
}

}  // namespace

TEST_CASE("commits past the threshold get checkpointed by the checkpointer's thread") {
  TempDir dir;
  const auto file = dir.path() / "t.db";
  auto writer = open_writer(file, 0);
  REQUIRE(writer.ok());
  REQUIRE(writer->exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)").ok());
  auto checkpointer = WalCheckpointer::start(*writer, file, 8, {});
  REQUIRE(checkpointer.ok());
  // Each row is a page or so: a few commits cross 8 pages. The checkpoint runs on the other
  // thread, so keep committing (bounded) until it has run.
  int n = 0;
  while ((*checkpointer)->checkpoints() == 0 && n < 20'000) commit_row(*writer, n++);
  CHECK((*checkpointer)->checkpoints() > 0);
  (*checkpointer)->stop();
  (*checkpointer)->stop();  // idempotent
  // After stop the writer is unhooked and goes on committing; nothing was lost.
  commit_row(*writer, n++);
  CHECK(count_rows(file) == n);
  // The database file itself holds checkpointed rows: a TRUNCATE leaves nothing to replay.
  CHECK(writer->query_int64("PRAGMA wal_checkpoint(TRUNCATE)").ok());
  writer->close();
  CHECK(count_rows(file) == n);
}

TEST_CASE("below the threshold nothing is checkpointed in the background") {
  TempDir dir;
  const auto file = dir.path() / "t.db";
  auto writer = open_writer(file, 0);
  REQUIRE(writer.ok());
  REQUIRE(writer->exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)").ok());
  auto checkpointer = WalCheckpointer::start(*writer, file, 1'000'000, {});
  REQUIRE(checkpointer.ok());
  for (int n = 0; n < 50; ++n) commit_row(*writer, n);
  (*checkpointer)->stop();  // joins the thread: a checkpoint due would have run by now
  CHECK((*checkpointer)->checkpoints() == 0);
}

TEST_CASE("the clinical store checkpoints off its writer thread and closes cleanly") {
  TempDir dir;
  auto store = open_store(dir.path());
  for (int i = 0; i < 200; ++i) {
    boost::json::object patient{{"resourceType", "Patient"},
                                {"name", boost::json::array{{{"family", std::string(3000, 'x')}}}}};
    REQUIRE(store
                ->write([&](WriteContext& ctx) -> cg::Status {
                  auto put = ctx.put("Patient", "p" + std::to_string(i), patient, {});
                  return put.ok() ? cg::ok_status() : cg::Status(put.error());
                })
                .ok());
  }
  store->close();
  auto reopened = open_store(dir.path());
  auto last = reopened->head("Patient", "p199");
  REQUIRE(last.ok());
  CHECK(last->has_value());
}
