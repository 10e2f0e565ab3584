#include "gateway/health.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace cg::gateway {
namespace {

constexpr std::uint64_t kMiB = 1024 * 1024;

HealthCheck check(std::string component, std::string measurement, std::string type) {
  HealthCheck c;
  c.component = std::move(component);
  c.measurement = std::move(measurement);
  c.component_type = std::move(type);
  return c;
}

}  // namespace

std::string_view health_status_name(HealthStatus status) {
  switch (status) {
    case HealthStatus::kPass:
      return "pass";
    case HealthStatus::kWarn:
      return "warn";
    case HealthStatus::kFail:
      return "fail";
  }
  return "fail";
}

HealthReport health_report(std::vector<HealthCheck> checks) {
  HealthReport report;
  for (const HealthCheck& c : checks) {
    if (static_cast<int>(c.status) > static_cast<int>(report.status)) report.status = c.status;
  }
  report.checks = std::move(checks);
  return report;
}

int health_http_status(HealthStatus status) {
  return status == HealthStatus::kFail ? 503 : 200;
}

std::string health_json(const HealthReport& report, std::string_view service_id,
                        std::string_view release_id) {
  boost::json::object doc;
  doc["status"] = health_status_name(report.status);
  doc["serviceId"] = service_id;
  doc["releaseId"] = release_id;
  boost::json::object checks;
  for (const HealthCheck& c : report.checks) {
    boost::json::object o;
    o["componentType"] = c.component_type;
    if (!c.observed_value.is_null()) o["observedValue"] = c.observed_value;
    if (!c.observed_unit.empty()) o["observedUnit"] = c.observed_unit;
    o["status"] = health_status_name(c.status);
    if (!c.output.empty()) o["output"] = c.output;
    const std::string key = c.component + ":" + c.measurement;
    checks[key].emplace_array().push_back(std::move(o));
  }
  doc["checks"] = std::move(checks);
  return boost::json::serialize(doc);
}

HealthCheck startup_check(bool finished) {
  HealthCheck c = check("startup", "finished", "system");
  c.observed_value = finished;
  if (!finished) {
    c.status = HealthStatus::kFail;
    c.output = "the gateway is still starting";
  }
  return c;
}

HealthCheck listeners_check(const std::vector<std::pair<std::string, bool>>& listeners) {
  HealthCheck c = check("listeners", "up", "component");
  boost::json::array up;
  std::string down;
  for (const auto& [name, running] : listeners) {
    if (running) {
      up.emplace_back(name);
    } else {
      down += (down.empty() ? "" : ", ") + name;
    }
  }
  c.observed_value = std::move(up);
  if (!down.empty()) {
    c.status = HealthStatus::kFail;
    c.output = "not listening: " + down;
  }
  return c;
}

HealthCheck free_space_check(std::optional<std::uint64_t> free_bytes, std::uint64_t warn_below) {
  HealthCheck c = check("data-dir", "free-space", "system");
  c.observed_unit = "MiB";
  if (!free_bytes) {
    c.status = HealthStatus::kFail;
    c.output = "the free space of the data directory cannot be read";
    return c;
  }
  c.observed_value = *free_bytes / kMiB;
  if (*free_bytes < warn_below) {
    c.status = HealthStatus::kWarn;
    c.output = "less than " + std::to_string(warn_below / kMiB) +
               " MiB free in the data directory (health.warn_free_disk_mb)";
  }
  return c;
}

HealthCheck audit_backlog_check(std::size_t queued, std::size_t capacity) {
  HealthCheck c = check("audit-emitter", "backlog", "component");
  c.observed_value = queued;
  c.observed_unit = "records";
  if (capacity > 0 && queued >= capacity) {
    c.status = HealthStatus::kFail;
    c.output = "the audit record queue is full: requests wait until audit.db takes records";
  } else if (capacity > 0 && queued >= capacity / 2) {
    c.status = HealthStatus::kWarn;
    c.output =
        "the audit record queue is more than half full (" + std::to_string(capacity) + " at most)";
  }
  return c;
}

HealthCheck readiness_hook_check(const ReadinessCheck& hook) {
  HealthCheck c = check(hook.component, hook.measurement, hook.component_type);
  const std::optional<std::string> problem = hook.problem ? hook.problem() : std::nullopt;
  c.observed_value = !problem.has_value();
  if (problem) {
    c.status = HealthStatus::kFail;
    c.output = *problem;
  }
  return c;
}

HealthCheck event_loop_check(std::string_view loop, bool answered) {
  HealthCheck c = check(std::string(loop) + "-loop", "responsive", "component");
  c.observed_value = answered;
  if (!answered) {
    c.status = HealthStatus::kFail;
    c.output = "the event loop did not run a probe in time";
  }
  return c;
}

}  // namespace cg::gateway
