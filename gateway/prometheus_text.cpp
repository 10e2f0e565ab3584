#include "gateway/prometheus_text.hpp"

#include <charconv>
#include <cmath>

namespace cg::gateway {
namespace {

std::string_view type_name(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

// A float as the format writes it: integers without a fraction, others in the shortest
// form that reads back the same, and +Inf, -Inf, NaN by name.
void append_number(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  if (ec != std::errc()) {
    out += "NaN";
    return;
  }
  out.append(buf, end);
}

}  // namespace

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string escape_help(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void PrometheusText::family(std::string_view name, std::string_view help, MetricType type) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  out_ += escape_help(help);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type_name(type);
  out_ += '\n';
}

void PrometheusText::series(std::string_view name, std::span<const MetricLabel> labels,
                            std::string_view le) {
  out_ += name;
  if (labels.empty() && le.empty()) return;
  char sep = '{';
  for (const MetricLabel& l : labels) {
    out_ += sep;
    out_ += l.name;
    out_ += "=\"";
    out_ += escape_label_value(l.value);
    out_ += '"';
    sep = ',';
  }
  if (!le.empty()) {
    out_ += sep;
    out_ += "le=\"";
    out_ += le;
    out_ += '"';
  }
  out_ += '}';
}

void PrometheusText::value(double v) {
  out_ += ' ';
  append_number(out_, v);
  out_ += '\n';
}

void PrometheusText::sample(std::string_view name, std::span<const MetricLabel> labels, double v) {
  series(name, labels, {});
  value(v);
}

void PrometheusText::histogram(std::string_view name, std::span<const MetricLabel> labels,
                               std::span<const double> bounds,
                               std::span<const std::uint64_t> cumulative, double sum,
                               std::uint64_t count) {
  const std::string bucket = std::string(name) + "_bucket";
  for (std::size_t i = 0; i < bounds.size() && i < cumulative.size(); ++i) {
    std::string le;
    append_number(le, bounds[i]);
    series(bucket, labels, le);
    value(static_cast<double>(cumulative[i]));
  }
  series(bucket, labels, "+Inf");
  value(static_cast<double>(count));
  series(std::string(name) + "_sum", labels, {});
  value(sum);
  series(std::string(name) + "_count", labels, {});
  value(static_cast<double>(count));
}

}  // namespace cg::gateway
