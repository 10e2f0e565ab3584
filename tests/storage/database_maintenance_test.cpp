#include "storage/database_maintenance.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include "storage/migrations.hpp"
#include "storage/sqlite.hpp"
#include "tests/storage/store_fixture.hpp"

using namespace cg;
using namespace cg::storage;
using namespace cg::storage::testing;

namespace {

std::int64_t count_patients(const std::filesystem::path& file) {
  auto n = count_rows(file, "resources", "deleted = 0");
  REQUIRE(n.ok());
  return *n;
}

}  // namespace

TEST_CASE("a copy taken while the store writes is one consistent snapshot") {
  TempDir dir;
  auto store = open_store(dir.path());
  for (int i = 0; i < 20; ++i) put(*store, "Patient", "p" + std::to_string(i), patient());
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 20; !stop; ++i) put(*store, "Patient", "p" + std::to_string(i), patient());
  });
  const auto copy = dir.path() / "copy.db";
  const Status copied = copy_database(dir.path() / "clinical.db", copy);
  stop = true;
  writer.join();
  store->close();
  REQUIRE_MESSAGE(copied.ok(), (copied.ok() ? "" : copied.error().message));
  CHECK(quick_check(copy).value() == "ok");
  CHECK(schema_version(copy).value() == static_cast<std::int64_t>(clinical_migrations().size()));
  // Every head in the copy has its change-log row: nothing half-copied.
  CHECK(count_patients(copy) >= 20);
  CHECK(count_rows(copy, "changes").value() == count_rows(copy, "resource_versions").value());
}

TEST_CASE("copy_database neither overwrites a file nor creates a missing source") {
  TempDir dir;
  open_store(dir.path())->close();
  const auto source = dir.path() / "clinical.db";
  CHECK(copy_database(dir.path() / "nothing.db", dir.path() / "x.db").error().kind ==
        ErrorKind::kNotFound);
  CHECK_FALSE(std::filesystem::exists(dir.path() / "nothing.db"));
  REQUIRE(copy_database(source, dir.path() / "x.db").ok());
  CHECK(copy_database(source, dir.path() / "x.db").error().kind == ErrorKind::kConflict);
  CHECK(schema_version(dir.path() / "nothing.db").error().kind == ErrorKind::kNotFound);
}

TEST_CASE("count_rows is 0 for a table an older schema does not have") {
  TempDir dir;
  open_store(dir.path())->close();
  CHECK(count_rows(dir.path() / "clinical.db", "no_such_table").value() == 0);
}

TEST_CASE("vacuum gives the pages of deleted rows back and leaves an empty WAL") {
  TempDir dir;
  auto store = open_store(dir.path());
  const std::string big(4000, 'x');
  for (int i = 0; i < 300; ++i) put(*store, "Patient", "p" + std::to_string(i), patient(big));
  // Every version is kept, so shrink by dropping the versions' table content directly.
  store->close();
  const auto file = dir.path() / "clinical.db";
  {
    auto conn = Connection::open(file, Connection::Mode::kExisting);
    REQUIRE(conn.ok());
    REQUIRE(conn->exec("DELETE FROM resource_versions; DELETE FROM idx_string; PRAGMA "
                       "wal_checkpoint(TRUNCATE);")
                .ok());
  }
  const auto before = std::filesystem::file_size(file);
  REQUIRE(vacuum_database(file).ok());
  CHECK(std::filesystem::file_size(file) < before / 2);
  std::error_code ec;
  const auto wal = std::filesystem::file_size(dir.path() / "clinical.db-wal", ec);
  CHECK((ec || wal == 0));
  CHECK(quick_check(file).value() == "ok");
}
