#include "gateway/status_command.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <boost/json.hpp>

#include "tests/gateway/operations_fixture.hpp"

using namespace cg;
using namespace cg::gateway;
using cg::gateway::testing::TestGateway;

namespace {

constexpr std::int64_t kNow = 1'767'571'200'000;

const StoreStatus* store(const GatewayStatus& s, std::string_view file) {
  for (const auto& st : s.stores) {
    if (st.file == file) return &st;
  }
  return nullptr;
}

RuntimeStatus runtime(std::int64_t updated_ms) {
  RuntimeStatus r;
  r.pid = ::getpid();
  r.version = CG_VERSION;
  r.started_ms = kNow - 3'600'000;
  r.updated_ms = updated_ms;
  r.listeners.push_back({"FHIR", "127.0.0.1", 8080, false});
  r.listeners.push_back({"ATNA syslog tls", "0.0.0.0", 6514, true});
  r.recent_errors.push_back({kNow - 1000, "cannot start the audit upkeep"});
  return r;
}

}  // namespace

TEST_CASE("status of a stopped gateway: its stores, sizes, schemas and counts") {
  TestGateway gw;
  gw.put_patient("p2", "Achieng");
  const GatewayStatus s = collect_status(gw.config_file, gw.config, kNow);
  CHECK(s.version == CG_VERSION);
  CHECK(s.node_name == "kisumu-clinic");
  CHECK_FALSE(s.serving);
  CHECK_FALSE(s.lock_holder.has_value());
  CHECK(s.disk_free_bytes > 0);
  const StoreStatus* clinical = store(s, "clinical.db");
  REQUIRE(clinical != nullptr);
  CHECK(clinical->bytes > 0);
  CHECK(clinical->schema_version == known_database("clinical.db")->schema_version);
  REQUIRE(clinical->counts.size() == 2);
  CHECK(clinical->counts[0] == std::pair<std::string, std::int64_t>{"resources", 2});
  CHECK(clinical->counts[1] == std::pair<std::string, std::int64_t>{"HL7v2 messages", 0});
  const StoreStatus* audit = store(s, "audit.db");
  REQUIRE(audit != nullptr);
  CHECK(audit->counts.at(0).second == 3);
  REQUIRE(store(s, "security.db") != nullptr);
  CHECK(store(s, "messages.db") == nullptr);

  std::ostringstream text;
  print_status(s, text);
  CHECK(text.str().find("not running") != std::string::npos);
  CHECK(text.str().find("2 resources, 0 HL7v2 messages") != std::string::npos);
  CHECK(text.str().find("listeners:") == std::string::npos);
}

TEST_CASE("status of a serving gateway shows its listeners and last errors") {
  TestGateway gw;
  auto serving = DataDirLock::acquire(gw.config.data_dir, "serve");
  REQUIRE(serving.ok());
  REQUIRE(write_runtime_status(gw.config.data_dir, runtime(kNow - 20'000)).ok());
  const GatewayStatus s = collect_status(gw.config_file, gw.config, kNow);
  CHECK(s.serving);
  CHECK_FALSE(s.runtime_stale);
  std::ostringstream text;
  print_status(s, text);
  CHECK(text.str().find("running, pid " + std::to_string(::getpid()) + " (serve)") !=
        std::string::npos);
  CHECK(text.str().find("status updated 20 s ago") != std::string::npos);
  CHECK(text.str().find("ATNA syslog tls") != std::string::npos);
  CHECK(text.str().find("6514") != std::string::npos);
  CHECK(text.str().find("cannot start the audit upkeep") != std::string::npos);

  auto json = boost::json::parse(status_json(s)).as_object();
  CHECK(json.at("daemon").at("running").as_bool());
  CHECK(json.at("runtime").at("listeners").as_array().size() == 2);
  CHECK_FALSE(json.at("runtime").at("stale").as_bool());
  CHECK(json.at("stores").as_array().size() == 3);
  CHECK(json.at("data_dir").as_string() == gw.config.data_dir.string());
}

TEST_CASE("a status file not rewritten for minutes, or of an earlier run, is stale") {
  TestGateway gw;
  REQUIRE(write_runtime_status(gw.config.data_dir, runtime(kNow - 10 * 60'000)).ok());
  {
    auto serving = DataDirLock::acquire(gw.config.data_dir, "serve");
    REQUIRE(serving.ok());
    const GatewayStatus s = collect_status(gw.config_file, gw.config, kNow);
    CHECK(s.runtime_stale);
    std::ostringstream text;
    print_status(s, text);
    CHECK(text.str().find("STALE (updated 10 min ago)") != std::string::npos);
    CHECK(text.str().find("listeners:") == std::string::npos);
  }
  REQUIRE(write_runtime_status(gw.config.data_dir, runtime(kNow)).ok());
  const GatewayStatus stopped = collect_status(gw.config_file, gw.config, kNow);
  CHECK(stopped.runtime_stale);  // nobody holds the lock: a dead run's file
  std::ostringstream text;
  print_status(stopped, text);
  CHECK(text.str().find("recent errors (of the last run)") != std::string::npos);
}

TEST_CASE("status names who else holds the data directory") {
  TestGateway gw;
  auto restoring = DataDirLock::acquire(gw.config.data_dir, "restore");
  REQUIRE(restoring.ok());
  std::ostringstream text;
  print_status(collect_status(gw.config_file, gw.config, kNow), text);
  CHECK(text.str().find("not serving: the data directory is held by pid") != std::string::npos);
}
