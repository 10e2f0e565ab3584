#include "gateway/prometheus_text.hpp"

#include <doctest/doctest.h>

#include <array>

using namespace cg::gateway;

TEST_CASE("label values escape backslash, double quote and line feed; help text its own two") {
  CHECK(escape_label_value("plain") == "plain");
  CHECK(escape_label_value(R"(a\b"c)"
                           "\n") == R"(a\\b\"c\n)");
  CHECK(escape_help("line\none \\ \"kept\"") == R"(line\none \\ "kept")");
}

TEST_CASE("a family: HELP and TYPE lines, then its samples") {
  PrometheusText out;
  out.family("clinic_gateway_things_total", "Things.\nCounted.", MetricType::kCounter);
  out.sample("clinic_gateway_things_total", {{"kind", "a\"b"}, {"where", "x"}}, 3);
  out.sample("clinic_gateway_things_total", 0.25);
  out.family("clinic_gateway_up", "Up.", MetricType::kGauge);
  out.sample("clinic_gateway_up", 1);
  CHECK(out.text() ==
        "# HELP clinic_gateway_things_total Things.\\nCounted.\n"
        "# TYPE clinic_gateway_things_total counter\n"
        "clinic_gateway_things_total{kind=\"a\\\"b\",where=\"x\"} 3\n"
        "clinic_gateway_things_total 0.25\n"
        "# HELP clinic_gateway_up Up.\n"
        "# TYPE clinic_gateway_up gauge\n"
        "clinic_gateway_up 1\n");
}

TEST_CASE("a histogram: cumulative buckets, le=\"+Inf\" equal to the count, then _sum, _count") {
  PrometheusText out;
  out.family("latency_seconds", "Latency.", MetricType::kHistogram);
  const std::array<double, 3> bounds{0.005, 0.1, 1};
  const std::array<std::uint64_t, 3> cumulative{2, 5, 5};
  const MetricLabel labels[] = {{"route", "/fhir/{type}/{id}"}};
  out.histogram("latency_seconds", labels, bounds, cumulative, 1.5, 6);
  CHECK(out.text() ==
        "# HELP latency_seconds Latency.\n"
        "# TYPE latency_seconds histogram\n"
        "latency_seconds_bucket{route=\"/fhir/{type}/{id}\",le=\"0.005\"} 2\n"
        "latency_seconds_bucket{route=\"/fhir/{type}/{id}\",le=\"0.1\"} 5\n"
        "latency_seconds_bucket{route=\"/fhir/{type}/{id}\",le=\"1\"} 5\n"
        "latency_seconds_bucket{route=\"/fhir/{type}/{id}\",le=\"+Inf\"} 6\n"
        "latency_seconds_sum{route=\"/fhir/{type}/{id}\"} 1.5\n"
        "latency_seconds_count{route=\"/fhir/{type}/{id}\"} 6\n");
}

TEST_CASE("a histogram without labels has only le on its buckets") {
  PrometheusText out;
  const std::array<double, 1> bounds{0.5};
  const std::array<std::uint64_t, 1> cumulative{1};
  out.histogram("h", {}, bounds, cumulative, 0.25, 1);
  CHECK(out.text() == "h_bucket{le=\"0.5\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 0.25\nh_count 1\n");
}

TEST_CASE("numbers: integers bare, fractions shortest, large counts exact") {
  PrometheusText out;
  out.sample("n", 12345678901.0);
  out.sample("n", 0.1);
  CHECK(out.text() == "n 12345678901\nn 0.1\n");
}
