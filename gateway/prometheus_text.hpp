#pragma once
// PrometheusText: writes metrics in the Prometheus text exposition format, version 0.0.4
// (what GET /metrics answers with "Content-Type: text/plain; version=0.0.4"). One family is
// written at a time: family() gives its "# HELP" and "# TYPE" lines, then its samples follow.
// Label values and help text are escaped as the format asks (backslash, double quote and
// line feed in label values; backslash and line feed in help text), so any text is safe.
// Pure and allocation-light; one writer per scrape, not shared between threads.

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

namespace cg::gateway {

struct MetricLabel {
  std::string_view name;  // [a-zA-Z_][a-zA-Z0-9_]*: the caller's constant
  std::string_view value;
};
using MetricLabels = std::initializer_list<MetricLabel>;

enum class MetricType { kCounter, kGauge, kHistogram };

// `value` escaped for a label value between double quotes.
std::string escape_label_value(std::string_view value);
// `text` escaped for a # HELP line.
std::string escape_help(std::string_view text);

class PrometheusText {
 public:
  // Starts the family `name`: its HELP and TYPE lines.
  void family(std::string_view name, std::string_view help, MetricType type);
  // One sample of the current family (counters and gauges): `name{labels} value`.
  void sample(std::string_view name, std::span<const MetricLabel> labels, double value);
  void sample(std::string_view name, double value) { sample(name, MetricLabels{}, value); }
  void sample(std::string_view name, MetricLabels labels, double value) {
    sample(name, std::span<const MetricLabel>(labels.begin(), labels.size()), value);
  }
  // One histogram series of the current family: a _bucket line per upper bound with the
  // cumulative count, the le="+Inf" bucket (= `count`), then _sum and _count. `cumulative`
  // holds one count per bound, each including those below it.
  void histogram(std::string_view name, std::span<const MetricLabel> labels,
                 std::span<const double> bounds, std::span<const std::uint64_t> cumulative,
                 double sum, std::uint64_t count);

  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void series(std::string_view name, std::span<const MetricLabel> labels, std::string_view le);
  void value(double v);

  std::string out_;
};

}  // namespace cg::gateway
