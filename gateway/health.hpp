#pragma once
// Health evaluation for GET /health/live and /health/ready: checks, each pass, warn or fail,
// combined into one report and written in the shape of the IETF draft "Health Check Response
// Format for HTTP APIs" (draft-inadarei-api-health-check, media type application/health+json):
//
//   {"status":"warn","serviceId":"clinic-gateway","releaseId":"1.4.0",
//    "checks":{"data-dir:free-space":[{"componentType":"system","observedValue":412,
//              "observedUnit":"MiB","status":"warn","output":"…"}], …}}
//
// The report holds no patient data: states, sizes, counts and the gateway's own wording.
// `clinic-gateway status` and monitoring read it; docs/operations.md ("Health checks") lists
// every check, and its keys and fields stay stable.
// Pure functions; thread-safe.

#include <boost/json/value.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cg::gateway {

enum class HealthStatus { kPass, kWarn, kFail };

std::string_view health_status_name(HealthStatus status);  // "pass", "warn", "fail"

struct HealthCheck {
  std::string component;       // "clinical-store": the key's componentName
  std::string measurement;     // "writable": the key's measurementName
  std::string component_type;  // "datastore", "system" or "component"
  HealthStatus status = HealthStatus::kPass;
  boost::json::value observed_value;  // null: none
  std::string observed_unit;          // "" : none
  std::string output;                 // why it is not pass; "" when it is
};

// A readiness condition another part of the gateway plugs in (the clinical store's refused
// writes, for one): returns nullopt while all is well, or why the gateway is not ready, in
// words without patient data ("writes refused: the disk is full"). Called on an HTTP worker
// for each GET /health/ready: must be quick and thread-safe.
struct ReadinessCheck {
  std::string component;    // "clinical-store"
  std::string measurement;  // "writable"
  std::string component_type = "datastore";
  std::function<std::optional<std::string>()> problem;
};

struct HealthReport {
  HealthStatus status = HealthStatus::kPass;  // the worst of the checks
  std::vector<HealthCheck> checks;
};

HealthReport health_report(std::vector<HealthCheck> checks);
// 200 for pass and warn, 503 for fail (as the draft and load balancers expect).
int health_http_status(HealthStatus status);
// The application/health+json document.
std::string health_json(const HealthReport& report, std::string_view service_id,
                        std::string_view release_id);

// The checks /health/ready runs, from what the gateway measured (docs/operations.md).
HealthCheck startup_check(bool finished);
// `listeners`: each configured listener's name ("http", "mllp", "syslog") and whether it runs.
HealthCheck listeners_check(const std::vector<std::pair<std::string, bool>>& listeners);
// Free space of the data directory: warn below `warn_below` bytes; fail when it cannot be
// read (nullopt).
HealthCheck free_space_check(std::optional<std::uint64_t> free_bytes, std::uint64_t warn_below);
// The gateway's own audit records waiting in memory for audit.db: warn from half the
// capacity, fail when full (requests then wait for room).
HealthCheck audit_backlog_check(std::size_t queued, std::size_t capacity);
// A plugged-in condition, evaluated now: fail with its reason.
HealthCheck readiness_hook_check(const ReadinessCheck& hook);
// One event loop's answer to a probe, for /health/live.
HealthCheck event_loop_check(std::string_view loop, bool answered);

}  // namespace cg::gateway
