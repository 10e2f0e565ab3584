#include "gateway/operations_endpoints.hpp"

#include <doctest/doctest.h>

#include <boost/json/parse.hpp>
#include <fstream>

#include "../fhir/rest/temp_store.hpp"
#include "gateway/router.hpp"
#include "gateway/security/password_hash.hpp"
#include "tests/storage/store_fixture.hpp"

using namespace cg;
using namespace cg::gateway;
using namespace std::chrono_literals;

namespace {

OperationsConfig ops_config(const std::filesystem::path& dir) {
  OperationsConfig c;
  c.service_id = "test-gw";
  c.version = "9.9.9";
  c.data_dir = dir;
  c.warn_free_disk_bytes = 0;
  c.metrics_allow = {*hl7v2::parse_network("127.0.0.0/8")};
  c.probe_timeout = 200ms;
  return c;
}

struct Fixture {
  storage::testing::TempDir dir;
  testing::TempStore store;
  fhir::FhirApi api{*store, {}};
  std::string token = generate_token();
  StaticTokenVerifier tokens{{sha256_hex(token)}};
  GatewayRouter router{api, tokens, {}};
  std::unique_ptr<OperationsEndpoints> ops;

  // `adjust` changes the test settings (over this fixture's data directory).
  explicit Fixture(const std::function<void(OperationsConfig&)>& adjust = {}) {
    OperationsConfig config = ops_config(dir.path());
    if (adjust) adjust(config);
    ops = std::make_unique<OperationsEndpoints>(std::move(config));
    ops->register_routes(router);
  }

  http::Response call(std::string method, std::string target, std::string body = {},
                      std::string from = "127.0.0.1", bool with_token = true) {
    http::Request r;
    r.method = std::move(method);
    r.target = std::move(target);
    r.body = std::move(body);
    r.remote_address = std::move(from);
    r.headers.emplace_back("Host", "gw.test:8080");
    if (!r.body.empty()) r.headers.emplace_back("Content-Type", "application/fhir+json");
    if (with_token) r.headers.emplace_back("Authorization", "Bearer " + token);
    return router.handle(r);
  }
};

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.starts_with(line + "\n");
}

}  // namespace

TEST_CASE("requests through the router move the request counters /metrics shows") {
  Fixture f;
  REQUIRE(f.call("PUT", "/fhir/Patient/p1", R"({"resourceType":"Patient","id":"p1"})").status ==
          201);
  REQUIRE(f.call("GET", "/fhir/Patient/p1").status == 200);
  REQUIRE(f.call("GET", "/fhir/Patient/p1").status == 200);
  REQUIRE(f.call("GET", "/fhir/Patient/nobody").status == 404);
  REQUIRE(f.call("GET", "/fhir/Patient/p1", {}, "127.0.0.1", false).status == 401);
  auto scrape = f.call("GET", "/metrics", {}, "127.0.0.1", false);
  REQUIRE(scrape.status == 200);
  CHECK(scrape.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
  const std::string& text = scrape.body;
  CHECK(has_line(
      text,
      R"(clinic_gateway_http_requests_total{method="PUT",route="/fhir/{type}/{id}",type="Patient",code="201"} 1)"));
  CHECK(has_line(
      text,
      R"(clinic_gateway_http_requests_total{method="GET",route="/fhir/{type}/{id}",type="Patient",code="200"} 2)"));
  CHECK(has_line(
      text,
      R"(clinic_gateway_http_requests_total{method="GET",route="/fhir/{type}/{id}",type="Patient",code="404"} 1)"));
  CHECK(has_line(
      text,
      R"(clinic_gateway_http_requests_total{method="GET",route="/fhir/{type}/{id}",type="Patient",code="401"} 1)"));
  CHECK(has_line(
      text, R"(clinic_gateway_http_request_duration_seconds_count{route="/fhir/{type}/{id}"} 5)"));
  CHECK(has_line(text, R"(clinic_gateway_build_info{version="9.9.9"} 1)"));
  CHECK(text.find("# TYPE clinic_gateway_process_resident_memory_bytes gauge\n") !=
        std::string::npos);
  CHECK(text.find("clinic_gateway_heap_allocated_bytes{allocator=\"glibc\"} ") !=
        std::string::npos);
  CHECK(text.find("clinic_gateway_heap_resident_bytes{allocator=\"glibc\"} ") != std::string::npos);
  CHECK(text.find("# TYPE clinic_gateway_sqlite_memory_bytes gauge\n") != std::string::npos);
  CHECK(text.find("clinic_gateway_data_file_size_bytes{file=\"") == std::string::npos);
  CHECK(text.find("p1") == std::string::npos);  // no ids
  // The scrape itself is counted with the next one.
  auto again = f.call("GET", "/metrics", {}, "127.0.0.1", false);
  CHECK(has_line(
      again.body,
      R"(clinic_gateway_http_requests_total{method="GET",route="/metrics",code="200"} 1)"));
}

TEST_CASE("/metrics answers only allowed addresses, and with a token when one is configured") {
  Fixture open;
  CHECK(open.call("GET", "/metrics", {}, "192.168.1.20", false).status == 403);
  CHECK(open.call("GET", "/metrics", {}, "127.0.0.1", false).status == 200);
  CHECK(open.call("GET", "/metrics", {}, "::ffff:127.0.0.1", false).status == 200);

  const std::string scrape_token = generate_token();
  Fixture guarded([&](OperationsConfig& config) {
    config.metrics_allow.push_back(*hl7v2::parse_network("192.168.1.0/24"));
    config.metrics_token_sha256 = {sha256_hex(scrape_token)};
  });
  auto none = guarded.call("GET", "/metrics", {}, "192.168.1.20", false);
  CHECK(none.status == 401);
  CHECK(none.header("WWW-Authenticate").starts_with("Bearer"));
  http::Request r;
  r.method = "GET";
  r.target = "/metrics";
  r.remote_address = "192.168.1.20";
  r.headers.emplace_back("Authorization", "Bearer " + scrape_token);
  CHECK(guarded.router.handle(r).status == 200);
  r.remote_address = "10.1.1.1";
  CHECK(guarded.router.handle(r).status == 403);
}

TEST_CASE("with [metrics] off there is no /metrics route and nothing is counted") {
  Fixture f([](OperationsConfig& config) { config.metrics_enabled = false; });
  CHECK(f.router.find_route("GET", "/metrics") == nullptr);
  CHECK(f.call("GET", "/metrics", {}, "127.0.0.1", false).status == 401);
  f.call("GET", "/fhir/Patient/p1");
  CHECK(f.ops->http_metrics().count("GET", classify_route("/fhir/Patient/p1"), 404) == 0);
}

TEST_CASE("/health/ready: 503 until startup finished, then the plugged-in checks decide") {
  Fixture f;
  auto before = f.call("GET", "/health/ready", {}, "192.168.1.20", false);
  CHECK(before.status == 503);
  CHECK(before.header("Content-Type") == "application/health+json");
  auto doc = boost::json::parse(before.body).as_object();
  CHECK(doc.at("status") == "fail");
  CHECK(doc.at("checks").as_object().at("startup:finished").as_array().at(0).at("status") ==
        "fail");
  // No HTTP server is watched in this test: the listeners check fails until one is.
  CHECK(doc.at("checks").as_object().at("listeners:up").as_array().at(0).at("status") == "fail");

  std::atomic<bool> refused{false};
  f.ops->add_readiness_check(
      {"clinical-store", "writable", "datastore", [&]() -> std::optional<std::string> {
         if (refused) return "writes refused: the disk is full";
         return std::nullopt;
       }});
  f.ops->set_started();
  auto report = f.ops->readiness();
  for (const HealthCheck& c : report.checks) {
    CAPTURE(c.component);
    if (c.component != "listeners") CHECK(c.status == HealthStatus::kPass);
  }
  refused = true;
  auto full = f.call("GET", "/health/ready", {}, "10.0.0.1", false);
  CHECK(full.status == 503);
  auto checks = boost::json::parse(full.body).at("checks").as_object();
  CHECK(checks.at("clinical-store:writable").as_array().at(0).at("output") ==
        "writes refused: the disk is full");
}

TEST_CASE("/health/live: every event loop runs its probe, or the answer is 503 naming it") {
  Fixture f;
  f.ops->add_event_loop("http", [](std::function<void()> task) { task(); });
  std::vector<std::function<void()>> stuck;  // a loop that never gets to its queue
  f.ops->add_event_loop("mllp", [&](std::function<void()> task) { stuck.push_back(task); });
  auto r = f.call("GET", "/health/live", {}, "10.0.0.1", false);
  CHECK(r.status == 503);
  auto checks = boost::json::parse(r.body).at("checks").as_object();
  CHECK(checks.at("http-loop:responsive").as_array().at(0).at("status") == "pass");
  CHECK(checks.at("mllp-loop:responsive").as_array().at(0).at("status") == "fail");
  for (auto& task : stuck) task();  // a late probe is harmless
  CHECK(f.call("GET", "/health", {}, "10.0.0.1", false).status == 200);
}

TEST_CASE("the scrape lists the data directory's database files and its free space") {
  Fixture f;
  { std::ofstream(f.dir.path() / "clinical.db") << "12345"; }
  { std::ofstream(f.dir.path() / "clinical.db-wal") << "12"; }
  { std::ofstream(f.dir.path() / "notes.txt") << "x"; }
  const std::string text = f.ops->scrape();
  CHECK(has_line(text, R"(clinic_gateway_data_file_size_bytes{file="clinical.db"} 5)"));
  CHECK(has_line(text, R"(clinic_gateway_data_file_size_bytes{file="clinical.db-wal"} 2)"));
  CHECK(text.find("notes.txt") == std::string::npos);
  CHECK(text.find("\nclinic_gateway_data_dir_free_bytes ") != std::string::npos);
}
