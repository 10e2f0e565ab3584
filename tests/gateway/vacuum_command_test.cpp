#include "gateway/vacuum_command.hpp"

#include <doctest/doctest.h>

#include "gateway/data_dir.hpp"
#include "storage/sqlite.hpp"
#include "tests/gateway/operations_fixture.hpp"

using namespace cg;
using namespace cg::gateway;
using cg::gateway::testing::TestGateway;
namespace fs = std::filesystem;

namespace {

int vacuum(TestGateway& gw) {
  gw.out.str("");
  gw.err.str("");
  std::vector<std::string_view> words{"--config", gw.config_file};
  auto command = parse_vacuum_command(words);
  REQUIRE(command.ok());
  return run_vacuum_command(*command, gw.config, gw.out, gw.err);
}

}  // namespace

TEST_CASE("vacuum shrinks a database after deletes and prints the sizes") {
  TestGateway gw;
  gw.add_audit_records(2000);
  const fs::path audit = gw.config.data_dir / "audit.db";
  {
    auto conn = storage::Connection::open(audit, storage::Connection::Mode::kExisting);
    REQUIRE(conn.ok());
    REQUIRE(conn->exec("DELETE FROM audit_records; PRAGMA wal_checkpoint(TRUNCATE);").ok());
  }
  const std::int64_t before = database_bytes(audit);
  REQUIRE_MESSAGE(vacuum(gw) == 0, gw.err.str());
  CHECK(database_bytes(audit) < before);
  CHECK(gw.out.str().find("database") != std::string::npos);
  CHECK(gw.out.str().find("audit.db") != std::string::npos);
  CHECK(gw.out.str().find("clinical.db") != std::string::npos);
  CHECK(gw.family_of("p1") == "Otieno");  // nothing else changed
}

TEST_CASE("vacuum is refused while the gateway serves") {
  TestGateway gw;
  auto serving = DataDirLock::acquire(gw.config.data_dir, "serve");
  REQUIRE(serving.ok());
  CHECK(vacuum(gw) == 1);
  CHECK(gw.err.str().find("vacuum refused") != std::string::npos);
  CHECK(gw.err.str().find("stop the gateway") != std::string::npos);
}

TEST_CASE("vacuum without clinical.db says where it looked") {
  TestGateway gw;
  gw.config.data_dir = gw.dir.path() / "nowhere";
  CHECK(vacuum(gw) == 1);
  CHECK(gw.err.str().find("no clinical.db") != std::string::npos);
}
