#include "gateway/health.hpp"

#include <doctest/doctest.h>

#include <boost/json/parse.hpp>

using namespace cg::gateway;

TEST_CASE("the report takes the worst status; only fail answers 503") {
  CHECK(health_report({}).status == HealthStatus::kPass);
  auto warn = health_report({startup_check(true), free_space_check(10, 100)});
  CHECK(warn.status == HealthStatus::kWarn);
  CHECK(health_http_status(warn.status) == 200);
  auto fail = health_report({free_space_check(10, 100), startup_check(false)});
  CHECK(fail.status == HealthStatus::kFail);
  CHECK(health_http_status(fail.status) == 503);
}

TEST_CASE("the document follows the health check draft: checks keyed component:measurement") {
  ReadinessCheck refused{"clinical-store", "writable", "datastore",
                         [] { return std::optional<std::string>("writes refused: disk full"); }};
  auto report =
      health_report({startup_check(true), listeners_check({{"http", true}, {"mllp", false}}),
                     free_space_check(std::uint64_t{5} << 30, std::uint64_t{1} << 30),
                     audit_backlog_check(10, 8192), readiness_hook_check(refused)});
  auto doc = boost::json::parse(health_json(report, "clinic-gw", "1.2.3")).as_object();
  CHECK(doc.at("status") == "fail");
  CHECK(doc.at("serviceId") == "clinic-gw");
  CHECK(doc.at("releaseId") == "1.2.3");
  const auto& checks = doc.at("checks").as_object();
  CHECK(checks.size() == 5);
  const auto& startup = checks.at("startup:finished").as_array().at(0).as_object();
  CHECK(startup.at("status") == "pass");
  CHECK(startup.at("observedValue") == true);
  CHECK_FALSE(startup.contains("output"));
  const auto& listeners = checks.at("listeners:up").as_array().at(0).as_object();
  CHECK(listeners.at("status") == "fail");
  CHECK(listeners.at("output") == "not listening: mllp");
  CHECK(listeners.at("observedValue").as_array().size() == 1);
  const auto& disk = checks.at("data-dir:free-space").as_array().at(0).as_object();
  CHECK(disk.at("observedValue") == 5120);
  CHECK(disk.at("observedUnit") == "MiB");
  CHECK(disk.at("status") == "pass");
  const auto& store = checks.at("clinical-store:writable").as_array().at(0).as_object();
  CHECK(store.at("componentType") == "datastore");
  CHECK(store.at("status") == "fail");
  CHECK(store.at("output") == "writes refused: disk full");
  CHECK(checks.at("audit-emitter:backlog").as_array().at(0).as_object().at("status") == "pass");
}

TEST_CASE("free space warns below the threshold and fails when unreadable") {
  CHECK(free_space_check(std::uint64_t{512} << 20, std::uint64_t{1} << 30).status ==
        HealthStatus::kWarn);
  CHECK(free_space_check(std::uint64_t{2} << 30, std::uint64_t{1} << 30).status ==
        HealthStatus::kPass);
  CHECK(free_space_check(std::nullopt, 1).status == HealthStatus::kFail);
}

TEST_CASE("the audit backlog warns from half its capacity and fails when full") {
  CHECK(audit_backlog_check(4095, 8192).status == HealthStatus::kPass);
  CHECK(audit_backlog_check(4096, 8192).status == HealthStatus::kWarn);
  CHECK(audit_backlog_check(8192, 8192).status == HealthStatus::kFail);
}

TEST_CASE("a readiness hook passes while it finds no problem") {
  ReadinessCheck fine{"clinical-store", "writable", "datastore",
                      [] { return std::optional<std::string>(); }};
  auto c = readiness_hook_check(fine);
  CHECK(c.status == HealthStatus::kPass);
  CHECK(c.observed_value == true);
  CHECK(event_loop_check("mllp", false).status == HealthStatus::kFail);
  CHECK(event_loop_check("mllp", true).component == "mllp-loop");
}
