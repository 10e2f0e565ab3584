#include "gateway/data_dir.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include "tests/storage/store_fixture.hpp"

using namespace cg;
using namespace cg::gateway;

TEST_CASE("one process at a time holds the data directory, and says who it is") {
  storage::testing::TempDir dir;
  CHECK_FALSE(DataDirLock::holder(dir.path()).has_value());
  {
    auto serving = DataDirLock::acquire(dir.path(), "serve");
    REQUIRE(serving.ok());
    auto holder = DataDirLock::holder(dir.path());
    REQUIRE(holder.has_value());
    CHECK(holder->pid == ::getpid());
    CHECK(holder->command == "serve");
    auto second = DataDirLock::acquire(dir.path(), "restore");
    REQUIRE_FALSE(second.ok());
    CHECK(second.error().kind == ErrorKind::kConflict);
    CHECK(second.error().message.find("pid " + std::to_string(::getpid()) + " (serve)") !=
          std::string::npos);
  }
  CHECK_FALSE(DataDirLock::holder(dir.path()).has_value());  // released with the object
  auto again = DataDirLock::acquire(dir.path(), "vacuum");
  CHECK(again.ok());
}

TEST_CASE("the lock of a directory that cannot hold it is unavailable, not a conflict") {
  auto lock = DataDirLock::acquire("/nonexistent/cg-data", "serve");
  REQUIRE_FALSE(lock.ok());
  CHECK(lock.error().kind == ErrorKind::kUnavailable);
}

TEST_CASE("what is state and what is not") {
  for (const char* name : {"clinical.db-wal", "audit.db-shm", "x.db-journal", "status.json.tmp",
                           "daemon.lock", "status.json"}) {
    CHECK_MESSAGE(is_transient_file(name), name);
  }
  for (const char* name : {"clinical.db", "token-signing-key.pem", "messages.db.imported"}) {
    CHECK_FALSE_MESSAGE(is_transient_file(name), name);
  }
}

TEST_CASE("databases are copied with audit.db last and clinical.db required") {
  const auto& dbs = known_databases();
  REQUIRE(dbs.size() == 4);
  CHECK(dbs.back().file == "audit.db");
  CHECK(dbs.front().file == "messages.db");
  REQUIRE(known_database("clinical.db") != nullptr);
  CHECK(known_database("clinical.db")->required);
  CHECK(known_database("clinical.db")->schema_version > 0);
  CHECK(known_database("notes.db") == nullptr);
  CHECK(describe(LockHolder{}) == "another process");
}
