#pragma once
// OperationsEndpoints: what a clinic's monitoring asks the gateway, over HTTP.
//
//   GET /health/live   liveness: the process answers and its event loops (HTTP, MLLP, syslog)
//                      each run a probe within a bound; 503 when one does not
//   GET /health/ready  readiness, with reasons: startup finished, listeners up, free disk
//                      space in the data directory, the audit record backlog, and every
//                      ReadinessCheck another part plugs in (the clinical store's writes);
//                      503 when one fails
//   GET /metrics       Prometheus text exposition (version 0.0.4) of the gateway's counters
//
// Both health documents are application/health+json (health.hpp) and public: they hold no
// patient data. /metrics holds none either, but tells how busy the clinic is, so it answers
// only the networks in [metrics] allow (loopback by default) and, when [metrics]
// token_sha256 is set, only with one of those bearer tokens (docs/operations.md).
//
// The daemon hands over what to watch as each part starts (watch_*); anything not watched is
// left out of the scrape and the checks. Thread-safety: every method may be called from any
// thread; watch_*, add_* and set_started() while requests are being served. The watched
// parts must outlive every request that reads them (the daemon stops the HTTP listener
// first).

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "gateway/audit_emitter.hpp"
#include "gateway/audit_intake.hpp"
#include "gateway/config.hpp"
#include "gateway/health.hpp"
#include "gateway/hl7_metrics.hpp"
#include "gateway/http_metrics.hpp"
#include "gateway/security/static_tokens.hpp"
#include "protocols/atna/syslog_server.hpp"
#include "protocols/hl7v2/mllp_server.hpp"
#include "protocols/http/message.hpp"
#include "protocols/http/server.hpp"

namespace cg::gateway {

class GatewayRouter;

struct OperationsConfig {
  std::string service_id = "clinic-gateway";  // [node] name
  std::string version;                        // CG_VERSION
  std::filesystem::path data_dir;
  std::uint64_t warn_free_disk_bytes = 1024ull * 1024 * 1024;
  bool metrics_enabled = true;
  std::vector<hl7v2::Network> metrics_allow;      // who may scrape /metrics
  std::vector<std::string> metrics_token_sha256;  // empty: no token needed
  bool mllp_expected = false;                     // [mllp] enabled: its listener must run
  bool syslog_expected = false;                   // [atna] enabled
  std::size_t audit_queue_capacity = 8'192;       // AuditEmitterConfig::max_queued
  std::chrono::milliseconds probe_timeout{2'000};
};

// The settings of a configuration ([node], [health], [metrics], which listeners run).
OperationsConfig operations_config(const GatewayConfig& config);

class OperationsEndpoints {
 public:
  explicit OperationsEndpoints(OperationsConfig config);
  OperationsEndpoints(const OperationsEndpoints&) = delete;
  OperationsEndpoints& operator=(const OperationsEndpoints&) = delete;

  // Registers /health/live, /health/ready and (when enabled) /metrics as public routes,
  // and makes the router count every request in http_metrics(). Before the first request.
  void register_routes(GatewayRouter& router);
  HttpMetrics& http_metrics() { return http_; }

  void watch_http(http::HttpServer* server);
  void watch_mllp(hl7v2::MllpServer* server);
  // The HL7v2 message counters, naming `known` types (MessageReceiver::message_types()); the
  // MLLP handler records each message and answer in them. Lives as long as this object.
  Hl7Metrics* count_hl7(std::vector<std::string> known);
  void watch_syslog(atna::SyslogServer* server, const AuditIntake* intake);
  void watch_audit_emitter(const AuditEmitter* emitter);
  // An event loop for the liveness probe: `post` runs a task on it.
  void add_event_loop(std::string name, std::function<void(std::function<void()>)> post);
  // A condition /health/ready fails on (health.hpp).
  void add_readiness_check(ReadinessCheck check);
  // Startup finished: every listener runs (before READY=1 to systemd).
  void set_started() { started_.store(true); }

  HealthReport liveness() const;
  HealthReport readiness() const;
  // The whole exposition text.
  std::string scrape() const;

  http::Response live_response() const;
  http::Response ready_response() const;
  // Refuses addresses outside metrics_allow (403) and, with tokens configured, requests
  // without one of them (401).
  http::Response metrics_response(const http::Request& request) const;

 private:
  http::Response health_response(const HealthReport& report) const;
  void write_process(PrometheusText& out) const;
  void write_heap(PrometheusText& out) const;
  void write_connections(PrometheusText& out) const;
  void write_audit(PrometheusText& out) const;
  void write_data_files(PrometheusText& out) const;

  const OperationsConfig config_;
  const StaticTokenVerifier scrape_tokens_;
  const std::chrono::system_clock::time_point started_at_;
  const std::chrono::steady_clock::time_point started_steady_;
  HttpMetrics http_;
  std::atomic<bool> started_{false};

  mutable std::mutex mutex_;  // guards what follows
  http::HttpServer* http_server_ = nullptr;
  hl7v2::MllpServer* mllp_ = nullptr;
  std::unique_ptr<Hl7Metrics> hl7_;
  atna::SyslogServer* syslog_ = nullptr;
  const AuditIntake* intake_ = nullptr;
  const AuditEmitter* emitter_ = nullptr;
  struct EventLoop {
    std::string name;
    std::function<void(std::function<void()>)> post;
  };
  std::vector<EventLoop> loops_;
  std::vector<ReadinessCheck> readiness_checks_;
};

// Free bytes for an unprivileged writer in the file system holding `path`; nullopt when
// statvfs fails.
std::optional<std::uint64_t> free_disk_bytes(const std::filesystem::path& path);
// Resident set size of this process, from /proc/self/statm; 0 when unreadable.
std::uint64_t resident_memory_bytes();

}  // namespace cg::gateway
