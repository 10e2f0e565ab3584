#include "gateway/http_metrics.hpp"

#include <doctest/doctest.h>

#include <thread>
#include <vector>

using namespace cg::gateway;
using namespace std::chrono_literals;

namespace {
std::string templ(std::string_view path) {
  return std::string(route_template(classify_route(path).route));
}
std::string type(std::string_view path) {
  return std::string(route_type_label(classify_route(path).type));
}
}  // namespace

TEST_CASE("route templates: ids, versions and operation names never reach a label") {
  CHECK(templ("/fhir/Patient/123") == "/fhir/{type}/{id}");
  CHECK(type("/fhir/Patient/123") == "Patient");
  CHECK(templ("/fhir/Patient") == "/fhir/{type}");
  CHECK(templ("/fhir/Patient/_search") == "/fhir/{type}/_search");
  CHECK(templ("/fhir/Patient/_history") == "/fhir/{type}/_history");
  CHECK(templ("/fhir/Patient/1/_history") == "/fhir/{type}/{id}/_history");
  CHECK(templ("/fhir/Patient/1/_history/3") == "/fhir/{type}/{id}/_history/{vid}");
  CHECK(templ("/fhir/Patient/1/$everything") == "/fhir/{type}/{id}/{operation}");
  CHECK(templ("/fhir/Patient/$match") == "/fhir/{type}/{operation}");
  CHECK(templ("/fhir/Patient/1/Observation") == "/fhir/{type}/{id}/{compartment}");
  CHECK(templ("/fhir") == "/fhir");
  CHECK(templ("/fhir/") == "/fhir");
  CHECK(templ("/fhir/_search") == "/fhir");
  CHECK(templ("/fhir/_history") == "/fhir/_history");
  CHECK(templ("/fhir/$export") == "/fhir/{operation}");
  CHECK(templ("/fhir/metadata") == "/fhir/metadata");
  CHECK(type("/fhir/metadata") == "");
  CHECK(templ("/auth/token") == "/auth/token");
  CHECK(templ("/auth/revoke") == "/auth/revoke");
  CHECK(templ("/.well-known/jwks.json") == "/.well-known/{document}");
  CHECK(templ("/fhir/.well-known/smart-configuration") == "/.well-known/{document}");
  CHECK(templ("/health/ready") == "/health");
  CHECK(templ("/metrics") == "/metrics");
}

TEST_CASE("route templates: unknown types are \"other\", odd paths the \"other\" route") {
  CHECK(templ("/fhir/NotAType/1") == "/fhir/{type}/{id}");
  CHECK(type("/fhir/NotAType/1") == "other");
  CHECK(type("/fhir/patient/1") == "other");
  CHECK(templ("/fhir/Patient/1/_history/3/extra") == "other");
  CHECK(templ("/fhir/Patient//1") == "other");
  CHECK(templ("/fhir/_bogus/1") == "other");
  CHECK(templ("/nowhere") == "other");
  CHECK(templ("/") == "other");
  CHECK(type("/nowhere") == "");
}

TEST_CASE("requests are counted by method, template, type and code, with latency") {
  HttpMetrics m;
  m.record("GET", "/fhir/Patient/1", 200, 2ms);
  m.record("GET", "/fhir/Patient/2", 200, 3ms);
  m.record("GET", "/fhir/Patient/3", 404, 1ms);
  m.record("BREW", "/fhir/Foo/3", 405, 1ms);
  const RouteKey read = classify_route("/fhir/Patient/9");
  CHECK(m.count("GET", read, 200) == 2);
  CHECK(m.count("GET", read, 404) == 1);
  CHECK(m.count("POST", read, 200) == 0);
  CHECK(m.count("other", classify_route("/fhir/Foo/1"), 405) == 1);
  PrometheusText out;
  m.write(out);
  const std::string& text = out.text();
  CHECK(text.find("clinic_gateway_http_requests_total{method=\"GET\",route=\"/fhir/{type}/{id}\","
                  "type=\"Patient\",code=\"200\"} 2\n") != std::string::npos);
  CHECK(text.find("clinic_gateway_http_requests_total{method=\"other\",route=\"/fhir/{type}/{id}\","
                  "type=\"other\",code=\"405\"} 1\n") != std::string::npos);
  CHECK(text.find("clinic_gateway_http_request_duration_seconds_bucket{route=\"/fhir/{type}/{id}\","
                  "le=\"0.001\"} 2\n") != std::string::npos);
  CHECK(text.find("clinic_gateway_http_request_duration_seconds_bucket{route=\"/fhir/{type}/{id}\","
                  "le=\"0.0025\"} 3\n") != std::string::npos);
  CHECK(text.find("clinic_gateway_http_request_duration_seconds_count{route=\"/fhir/{type}/{id}\"} "
                  "4\n") != std::string::npos);
  CHECK(text.find("clinic_gateway_http_requests_unrecorded_total 0\n") != std::string::npos);
  CHECK(text.find("/fhir/Patient/1") == std::string::npos);
}

TEST_CASE("concurrent recording loses no count") {
  HttpMetrics m;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&m, t] {
      for (int i = 0; i < 5000; ++i) {
        m.record(i % 2 ? "GET" : "PUT", "/fhir/Observation/x", 200 + (i % 3), 100us);
        m.record("GET", "/fhir/Patient/1", 200 + t, 100us);
      }
    });
  }
  for (auto& t : threads) t.join();
  const RouteKey obs = classify_route("/fhir/Observation/x");
  std::uint64_t total = 0;
  for (const char* method : {"GET", "PUT"}) {
    for (int code = 200; code < 203; ++code) total += m.count(method, obs, code);
  }
  CHECK(total == 20000);
  for (int t = 0; t < 4; ++t)
    CHECK(m.count("GET", classify_route("/fhir/Patient/1"), 200 + t) == 5000);
  CHECK(m.unrecorded() == 0);
}

TEST_CASE("every route, type, method and a spread of codes fit the table together") {
  HttpMetrics m;
  std::size_t keys = 0;
  for (const char* method : {"GET", "PUT", "DELETE"}) {
    for (std::string_view type : {"Patient", "Observation", "Encounter", "Immunization"}) {
      for (const std::string& path :
           {"/fhir/" + std::string(type), "/fhir/" + std::string(type) + "/1",
            "/fhir/" + std::string(type) + "/_search",
            "/fhir/" + std::string(type) + "/1/_history"}) {
        for (int code : {200, 201, 400, 401, 403, 404, 409, 412, 422, 500, 503}) {
          m.record(method, path, code, 1ms);
          ++keys;
        }
      }
    }
  }
  CHECK(keys == 528);
  CHECK(m.unrecorded() == 0);
  CHECK(m.count("DELETE", classify_route("/fhir/Immunization/x/_history"), 503) == 1);
}
