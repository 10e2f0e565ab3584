#include "gateway/operations_endpoints.hpp"

#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <fstream>

#include "gateway/heap.hpp"
#include "gateway/router.hpp"
#include "storage/sqlite.hpp"

namespace cg::gateway {
namespace {

constexpr std::string_view kHealthType = "application/health+json";
constexpr std::string_view kExpositionType = "text/plain; version=0.0.4; charset=utf-8";
constexpr std::size_t kMaxDataFiles = 64;  // bounds the file label's values

double seconds_since_epoch(std::chrono::system_clock::time_point t) {
  return static_cast<double>(
             std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count()) /
         1000.0;
}

http::Response plain(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  r.set_header("Content-Type", "text/plain; charset=utf-8");
  return r;
}

// A data file worth its own series: the SQLite databases and their journals.
bool is_data_file(const std::filesystem::path& file) {
  const std::string name = file.filename().string();
  return name.ends_with(".db") || name.ends_with(".db-wal") || name.ends_with(".db-shm") ||
         name.ends_with(".db-journal");
}

void counter(PrometheusText& out, std::string_view name, std::string_view help,
             std::uint64_t value) {
  out.family(name, help, MetricType::kCounter);
  out.sample(name, static_cast<double>(value));
}

void gauge(PrometheusText& out, std::string_view name, std::string_view help, double value) {
  out.family(name, help, MetricType::kGauge);
  out.sample(name, value);
}

std::uint64_t relaxed(const std::atomic<std::uint64_t>& n) {
  return n.load(std::memory_order_relaxed);
}

}  // namespace

OperationsConfig operations_config(const GatewayConfig& c) {
  OperationsConfig o;
  o.service_id = c.node_name;
  o.version = CG_VERSION;
  o.data_dir = c.data_dir;
  o.warn_free_disk_bytes = c.health.warn_free_disk_mb * 1024ull * 1024;
  o.metrics_enabled = c.metrics.enabled;
  for (const std::string& text : c.metrics.allow) {
    if (auto network = hl7v2::parse_network(text)) o.metrics_allow.push_back(*network);
  }
  o.metrics_token_sha256 = c.metrics.token_sha256;
  o.mllp_expected = c.mllp.enabled;
  o.syslog_expected = c.atna.enabled;
  o.audit_queue_capacity = AuditEmitterConfig{}.max_queued;  // the daemon keeps the default
  return o;
}

std::optional<std::uint64_t> free_disk_bytes(const std::filesystem::path& path) {
  struct statvfs fs {};
  if (statvfs(path.c_str(), &fs) != 0) return std::nullopt;
  return static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
}

std::uint64_t resident_memory_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::uint64_t size = 0;
  std::uint64_t resident = 0;
  if (!(statm >> size >> resident)) return 0;
  return resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

OperationsEndpoints::OperationsEndpoints(OperationsConfig config)
    : config_(std::move(config)),
      scrape_tokens_(config_.metrics_token_sha256),
      started_at_(std::chrono::system_clock::now()),
      started_steady_(std::chrono::steady_clock::now()) {}

void OperationsEndpoints::register_routes(GatewayRouter& router) {
  // Nothing reads the request counters when /metrics is off: do not count them.
  if (config_.metrics_enabled) router.set_http_metrics(&http_);
  auto route = [this](std::string name, std::string path, auto serve) {
    Route r;
    r.name = std::move(name);
    r.methods = {"GET", "HEAD"};
    r.path = std::move(path);
    r.policy = RoutePolicy::public_route();
    r.handler = [serve](http::Request& request, std::string_view, std::string_view,
                        const Principal*) { return serve(request); };
    return r;
  };
  router.add_route(route("health-live", "/health/live",
                         [this](const http::Request&) { return live_response(); }));
  router.add_route(route("health-ready", "/health/ready",
                         [this](const http::Request&) { return ready_response(); }));
  if (config_.metrics_enabled) {
    router.add_route(route("metrics", "/metrics", [this](const http::Request& request) {
      return metrics_response(request);
    }));
  }
}

void OperationsEndpoints::watch_http(http::HttpServer* server) {
  std::lock_guard lock(mutex_);
  http_server_ = server;
}

void OperationsEndpoints::watch_mllp(hl7v2::MllpServer* server) {
  std::lock_guard lock(mutex_);
  mllp_ = server;
}

Hl7Metrics* OperationsEndpoints::count_hl7(std::vector<std::string> known) {
  std::lock_guard lock(mutex_);
  hl7_ = std::make_unique<Hl7Metrics>(std::move(known));
  return hl7_.get();
}

void OperationsEndpoints::watch_syslog(atna::SyslogServer* server, const AuditIntake* intake) {
  std::lock_guard lock(mutex_);
  syslog_ = server;
  intake_ = intake;
}

void OperationsEndpoints::watch_audit_emitter(const AuditEmitter* emitter) {
  std::lock_guard lock(mutex_);
  emitter_ = emitter;
}

void OperationsEndpoints::add_event_loop(std::string name,
                                         std::function<void(std::function<void()>)> post) {
  std::lock_guard lock(mutex_);
  loops_.push_back({std::move(name), std::move(post)});
}

void OperationsEndpoints::add_readiness_check(ReadinessCheck check) {
  std::lock_guard lock(mutex_);
  readiness_checks_.push_back(std::move(check));
}

HealthReport OperationsEndpoints::liveness() const {
  std::vector<EventLoop> loops;
  {
    std::lock_guard lock(mutex_);
    loops = loops_;
  }
  // Each loop runs a probe; the answer waits for all of them, at most probe_timeout. A probe
  // that runs later only touches the shared state, which it keeps alive.
  struct Probes {
    std::mutex mutex;
    std::condition_variable done;
    std::vector<bool> answered;
  };
  auto probes = std::make_shared<Probes>();
  probes->answered.assign(loops.size(), false);
  for (std::size_t i = 0; i < loops.size(); ++i) {
    loops[i].post([probes, i] {
      std::lock_guard lock(probes->mutex);
      probes->answered[i] = true;
      probes->done.notify_all();
    });
  }
  std::vector<HealthCheck> checks;
  std::unique_lock lock(probes->mutex);
  probes->done.wait_for(lock, config_.probe_timeout, [&] {
    return std::all_of(probes->answered.begin(), probes->answered.end(), [](bool b) { return b; });
  });
  for (std::size_t i = 0; i < loops.size(); ++i) {
    checks.push_back(event_loop_check(loops[i].name, probes->answered[i]));
  }
  return health_report(std::move(checks));
}

HealthReport OperationsEndpoints::readiness() const {
  std::vector<HealthCheck> checks;
  checks.push_back(startup_check(started_.load()));
  std::vector<ReadinessCheck> hooks;
  {
    std::lock_guard lock(mutex_);
    std::vector<std::pair<std::string, bool>> listeners{{"http", http_server_ != nullptr}};
    if (config_.mllp_expected) listeners.emplace_back("mllp", mllp_ != nullptr);
    if (config_.syslog_expected) listeners.emplace_back("syslog", syslog_ != nullptr);
    checks.push_back(listeners_check(listeners));
    if (emitter_ != nullptr) {
      checks.push_back(
          audit_backlog_check(emitter_->counters().queued, config_.audit_queue_capacity));
    }
    hooks = readiness_checks_;
  }
  checks.push_back(
      free_space_check(free_disk_bytes(config_.data_dir), config_.warn_free_disk_bytes));
  for (const ReadinessCheck& hook : hooks) checks.push_back(readiness_hook_check(hook));
  return health_report(std::move(checks));
}

http::Response OperationsEndpoints::health_response(const HealthReport& report) const {
  http::Response r;
  r.status = health_http_status(report.status);
  r.body = health_json(report, config_.service_id, config_.version);
  r.set_header("Content-Type", std::string(kHealthType));
  return r;
}

http::Response OperationsEndpoints::live_response() const {
  return health_response(liveness());
}

http::Response OperationsEndpoints::ready_response() const {
  return health_response(readiness());
}

http::Response OperationsEndpoints::metrics_response(const http::Request& request) const {
  const bool allowed =
      std::any_of(config_.metrics_allow.begin(), config_.metrics_allow.end(),
                  [&](const hl7v2::Network& n) { return n.contains(request.remote_address); });
  if (!allowed) return plain(403, "metrics: this address may not scrape (metrics.allow)\n");
  if (!config_.metrics_token_sha256.empty() &&
      !scrape_tokens_.verify(request.header("Authorization"))) {
    http::Response r = plain(401, "metrics: a bearer token is required (metrics.token_sha256)\n");
    r.set_header("WWW-Authenticate", "Bearer realm=\"clinic-gateway metrics\"");
    return r;
  }
  http::Response r;
  r.body = scrape();
  r.set_header("Content-Type", std::string(kExpositionType));
  return r;
}

std::string OperationsEndpoints::scrape() const {
  PrometheusText out;
  write_process(out);
  http_.write(out);
  std::lock_guard lock(mutex_);
  write_connections(out);
  if (hl7_) hl7_->write(out);
  write_audit(out);
  write_data_files(out);
  return out.take();
}

void OperationsEndpoints::write_process(PrometheusText& out) const {
  out.family("clinic_gateway_build_info", "The running build: its version (always 1).",
             MetricType::kGauge);
  out.sample("clinic_gateway_build_info", {{"version", config_.version}}, 1);
  gauge(out, "clinic_gateway_start_time_seconds",
        "When the gateway started, in seconds since the Unix epoch.",
        seconds_since_epoch(started_at_));
  gauge(out, "clinic_gateway_uptime_seconds", "Seconds since the gateway started.",
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_steady_).count());
  gauge(out, "clinic_gateway_process_resident_memory_bytes",
        "Resident set size of the gateway process.", static_cast<double>(resident_memory_bytes()));
  write_heap(out);
  gauge(out, "clinic_gateway_ready", "1 when /health/ready passes or warns, 0 when it fails.",
        readiness().status == HealthStatus::kFail ? 0 : 1);
}

// Where the resident memory goes: the allocator's view (live allocations against the pages it
// holds) and SQLite's share of the live allocations (page caches above all).
void OperationsEndpoints::write_heap(PrometheusText& out) const {
  const HeapFigures heap = heap_figures();
  out.family("clinic_gateway_heap_allocated_bytes", "Bytes in live heap allocations, by allocator.",
             MetricType::kGauge);
  out.sample("clinic_gateway_heap_allocated_bytes", {{"allocator", heap.allocator}},
             static_cast<double>(heap.allocated_bytes));
  out.family("clinic_gateway_heap_resident_bytes",
             "Bytes of heap pages the allocator holds in RAM, free ones included.",
             MetricType::kGauge);
  out.sample("clinic_gateway_heap_resident_bytes", {{"allocator", heap.allocator}},
             static_cast<double>(heap.resident_bytes));
  gauge(out, "clinic_gateway_sqlite_memory_bytes",
        "Bytes SQLite holds (page caches, statements, schemas), part of the allocated heap.",
        static_cast<double>(storage::sqlite_memory_used()));
}

void OperationsEndpoints::write_connections(PrometheusText& out) const {
  out.family("clinic_gateway_open_connections", "Connections open now, by listener.",
             MetricType::kGauge);
  if (http_server_) {
    out.sample("clinic_gateway_open_connections", {{"listener", "http"}},
               static_cast<double>(http_server_->open_connections()));
  }
  if (mllp_) {
    out.sample("clinic_gateway_open_connections", {{"listener", "mllp"}},
               static_cast<double>(mllp_->open_connections()));
  }
  if (syslog_) {
    out.sample("clinic_gateway_open_connections", {{"listener", "syslog"}},
               static_cast<double>(syslog_->open_connections()));
  }
  out.family("clinic_gateway_connections_total",
             "Connections accepted, and refused for being over the listener's max_connections.",
             MetricType::kCounter);
  auto both = [&](std::string_view listener, std::uint64_t accepted, std::uint64_t rejected) {
    out.sample("clinic_gateway_connections_total",
               {{"listener", listener}, {"outcome", "accepted"}}, static_cast<double>(accepted));
    out.sample("clinic_gateway_connections_total",
               {{"listener", listener}, {"outcome", "rejected"}}, static_cast<double>(rejected));
  };
  if (http_server_) {
    const http::ServerCounters& c = http_server_->counters();
    both("http", relaxed(c.connections_accepted), relaxed(c.connections_rejected));
  }
  if (mllp_) {
    const hl7v2::MllpCounters& c = mllp_->counters();
    both("mllp", relaxed(c.connections_accepted), relaxed(c.connections_rejected));
  }
  if (syslog_) {
    const atna::SyslogCounters& c = syslog_->counters();
    both("syslog", relaxed(c.connections_accepted), relaxed(c.connections_rejected));
  }
  if (http_server_) {
    const http::ServerCounters& c = http_server_->counters();
    out.family("clinic_gateway_http_errors_total",
               "HTTP exchanges the server ended itself, by reason: unparseable requests, over "
               "a size limit, deadlines, TLS handshakes, handler failures (500).",
               MetricType::kCounter);
    const std::pair<std::string_view, std::uint64_t> reasons[] = {
        {"bad_request", relaxed(c.bad_requests)},
        {"too_large", relaxed(c.too_large)},
        {"timeout", relaxed(c.timeouts)},
        {"tls_handshake", relaxed(c.tls_handshake_failures)},
        {"handler_error", relaxed(c.handler_errors)}};
    for (const auto& [reason, n] : reasons) {
      out.sample("clinic_gateway_http_errors_total", {{"reason", reason}}, static_cast<double>(n));
    }
  }
  if (mllp_) {
    const hl7v2::MllpCounters& c = mllp_->counters();
    out.family("clinic_gateway_mllp_errors_total",
               "MLLP frames or connections the listener ended itself, by reason.",
               MetricType::kCounter);
    const std::pair<std::string_view, std::uint64_t> reasons[] = {
        {"oversize", relaxed(c.oversize_frames)},
        {"timeout", relaxed(c.timeouts)},
        {"tls_handshake", relaxed(c.tls_handshake_failures)},
        {"handler_error", relaxed(c.handler_errors)}};
    for (const auto& [reason, n] : reasons) {
      out.sample("clinic_gateway_mllp_errors_total", {{"reason", reason}}, static_cast<double>(n));
    }
  }
}

void OperationsEndpoints::write_audit(PrometheusText& out) const {
  if (syslog_ && intake_) {
    const AuditIntakeCounters& in = intake_->counters();
    out.family("clinic_gateway_audit_intake_received_total",
               "Audit records (syslog messages) received, by transport.", MetricType::kCounter);
    out.sample("clinic_gateway_audit_intake_received_total", {{"transport", "udp"}},
               static_cast<double>(relaxed(in.received_udp)));
    out.sample("clinic_gateway_audit_intake_received_total", {{"transport", "tcp"}},
               static_cast<double>(relaxed(in.received_tcp)));
    out.sample("clinic_gateway_audit_intake_received_total", {{"transport", "tls"}},
               static_cast<double>(relaxed(in.received_tls)));
    counter(out, "clinic_gateway_audit_intake_stored_total",
            "Received audit records committed to audit.db (unreadable ones included).",
            relaxed(in.records));
    counter(out, "clinic_gateway_audit_intake_unreadable_total",
            "Stored audit records whose header or payload could not be read (kept raw, flagged).",
            relaxed(in.unreadable));
    const atna::SyslogCounters& s = syslog_->counters();
    out.family("clinic_gateway_audit_intake_rejected_total",
               "Syslog input refused before it became a record, by reason.", MetricType::kCounter);
    const std::pair<std::string_view, std::uint64_t> reasons[] = {
        {"oversize", relaxed(s.oversize)},
        {"malformed", relaxed(s.malformed)},
        {"truncated", relaxed(s.truncated)}};
    for (const auto& [reason, n] : reasons) {
      out.sample("clinic_gateway_audit_intake_rejected_total", {{"reason", reason}},
                 static_cast<double>(n));
    }
    counter(out, "clinic_gateway_audit_intake_dropped_total",
            "Received audit records not stored: audit.db refused them, or UDP overflow.",
            relaxed(s.dropped));
  }
  if (emitter_) {
    const AuditEmitterCounters own = emitter_->counters();
    out.family("clinic_gateway_audit_emitted_total",
               "The gateway's own audit records written to audit.db, by path: queued in memory "
               "(reads, logins, lifecycle) or staged with a write in clinical.db.",
               MetricType::kCounter);
    out.sample("clinic_gateway_audit_emitted_total", {{"path", "queued"}},
               static_cast<double>(own.emitted));
    out.sample("clinic_gateway_audit_emitted_total", {{"path", "staged"}},
               static_cast<double>(own.moved));
    counter(out, "clinic_gateway_audit_emit_failures_total",
            "The gateway's own audit records that could not be stored (logged; staged ones are "
            "retried).",
            own.failed);
    gauge(out, "clinic_gateway_audit_emitter_queue_depth",
          "The gateway's own audit records waiting in memory for audit.db.",
          static_cast<double>(own.queued));
  }
}

void OperationsEndpoints::write_data_files(PrometheusText& out) const {
  std::vector<std::pair<std::string, std::uint64_t>> files;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(config_.data_dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    if (files.size() == kMaxDataFiles) break;
    std::error_code size_ec;
    if (!it->is_regular_file(size_ec) || !is_data_file(it->path())) continue;
    const std::uintmax_t size = it->file_size(size_ec);
    if (!size_ec) files.emplace_back(it->path().filename().string(), size);
  }
  std::sort(files.begin(), files.end());
  out.family("clinic_gateway_data_file_size_bytes",
             "Size of each database file in the data directory (WAL and journal files included).",
             MetricType::kGauge);
  for (const auto& [name, size] : files) {
    out.sample("clinic_gateway_data_file_size_bytes", {{"file", name}}, static_cast<double>(size));
  }
  if (auto free = free_disk_bytes(config_.data_dir)) {
    gauge(out, "clinic_gateway_data_dir_free_bytes",
          "Free space for the gateway in the file system of the data directory.",
          static_cast<double>(*free));
  }
}

}  // namespace cg::gateway
