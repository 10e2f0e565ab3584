#include "gateway/daemon.hpp"

#include <malloc.h>
#include <pwd.h>
#include <signal.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <thread>

#include "gateway/audit_service.hpp"
#include "gateway/audit_upkeep.hpp"
#include "gateway/data_dir.hpp"
#include "gateway/discovery_publisher.hpp"
#include "gateway/hl7_audit.hpp"
#include "gateway/hl7_handlers.hpp"
#include "gateway/hl7_queries.hpp"
#include "gateway/lifecycle_audit.hpp"
#include "gateway/log.hpp"
#include "gateway/operations_endpoints.hpp"
#include "gateway/router.hpp"
#include "gateway/runtime_status.hpp"
#include "gateway/scheduled_worker.hpp"
#include "gateway/service_status.hpp"
#include "gateway/watchdog.hpp"
#include "protocols/fhir/rest/fhir_api.hpp"
#include "protocols/hl7v2/mllp_server.hpp"
#include "protocols/hl7v2/receiver.hpp"
#include "protocols/http/server.hpp"
#include "storage/message_archive.hpp"
#include "storage/resource_store.hpp"
#include "storage/write_gate.hpp"

namespace cg::gateway {
namespace {

sigset_t handled_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

void notify(const std::string& state) {
  sd_notify(0, state.c_str());
}

// The listener's TLS files; nullopt for a plain listener.
std::optional<http::TlsConfig> tls_config(const TlsSettings& tls) {
  if (!tls.certificate || !tls.private_key) return std::nullopt;
  return http::TlsConfig{*tls.certificate, *tls.private_key,
                         tls.client_ca.value_or(std::filesystem::path())};
}

http::ServerConfig server_config(const GatewayConfig& c) {
  http::ServerConfig s;
  s.address = c.http.address;
  s.port = c.http.port;
  s.header_limit = c.http.header_limit_bytes;
  s.body_limit = c.http.body_limit_bytes;
  s.request_timeout = c.http.request_timeout;
  s.idle_timeout = c.http.idle_timeout;
  s.max_connections = c.http.max_connections;
  s.io_threads = c.http.io_threads > 0
                     ? c.http.io_threads
                     : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  s.worker_threads = c.http.worker_threads;
  s.tls = tls_config(c.http.tls);
  s.log = [](int p, std::string_view m) { log(p, m); };
  s.error_response = &GatewayRouter::protocol_error;
  return s;
}

hl7v2::MllpConfig mllp_config(const GatewayConfig& c) {
  hl7v2::MllpConfig m;
  m.address = c.mllp.address;
  m.port = c.mllp.port;
  m.max_connections = c.mllp.max_connections;
  m.max_message_size = c.mllp.max_message_bytes;
  m.idle_timeout = c.mllp.idle_timeout;
  m.read_timeout = c.mllp.read_timeout;
  m.io_threads = static_cast<int>(std::max(1u, std::min(2u, std::thread::hardware_concurrency())));
  m.worker_threads = c.mllp.worker_threads;
  if (auto tls = tls_config(c.mllp.tls)) {
    m.tls = hl7v2::MllpTlsConfig{tls->certificate_chain, tls->private_key, tls->client_ca};
  }
  m.log = [](int p, std::string_view message) { log(p, message); };
  return m;
}

// The HL7v2 side: the message archive (in clinical.db), the receiver with its handlers, the
// MLLP listener.
struct Hl7Service {
  std::unique_ptr<storage::MessageArchive> archive;
  std::unique_ptr<hl7v2::MessageReceiver> receiver;
  std::unique_ptr<hl7v2::MllpServer> server;

  void stop(std::chrono::milliseconds drain) {
    if (server) server->stop(drain);
    if (archive) archive->close();
  }
};

// With `ops`, each message is counted by type and answer for /metrics.
Result<Hl7Service> start_hl7(const GatewayConfig& config, storage::ResourceStore& store,
                             AuditEmitter* audit, std::shared_ptr<storage::WriteGate> gate,
                             OperationsEndpoints* ops) {
  Hl7Service hl7;
  if (!config.mllp.enabled) return hl7;
  auto opened = storage::MessageArchive::open(store, archive_config(config));
  if (!opened) return opened.take_error();
  hl7.archive = std::move(*opened);
  hl7v2::ReceiverConfig receiving = receiver_config(config, audit);
  receiving.write_refusal_reason = [gate] { return gate->write_refusal_reason(); };
  hl7.receiver = std::make_unique<hl7v2::MessageReceiver>(*hl7.archive, std::move(receiving));
  register_hl7_services(*hl7.receiver, store, config);
  auto* r = hl7.receiver.get();
  Hl7Metrics* counted = ops ? ops->count_hl7(r->message_types()) : nullptr;
  auto server = hl7v2::MllpServer::start(
      mllp_config(config), [r, counted](std::string_view message, const hl7v2::MllpPeer& peer) {
        std::string answer = r->receive(message, peer.address, peer.client_subject);
        if (counted) counted->record(message, answer);
        return answer;
      });
  if (!server) {
    hl7.archive->close();
    return server.take_error();
  }
  hl7.server = std::move(*server);
  return hl7;
}

// The gateway's own lifecycle in the audit trail (lifecycle_audit.hpp). Start and stop wait
// for audit.db; a failure to record is logged, never fatal.
void record_activity(AuditEmitter* audit, bool start) {
  if (audit == nullptr) return;
  ApplicationActivity activity;
  activity.start = start;
  activity.version = CG_VERSION;
  if (const passwd* user = getpwuid(geteuid()); user != nullptr) activity.launcher = user->pw_name;
  auto recorded =
      audit->emit_and_wait(application_event(audit->source(), activity, audit->now_ms()));
  if (!recorded) {
    log(kErr, std::string("audit: cannot record the application ") + (start ? "start" : "stop") +
                  ": " + recorded.error().message);
  }
}

void record_reload(AuditEmitter* audit, const std::string& problems) {
  if (audit != nullptr) audit->emit(reload_event(audit->source(), problems, audit->now_ms()));
}

// Waits for SIGTERM/SIGINT; handles SIGHUP reloads in between.
void wait_for_stop(http::HttpServer& server, hl7v2::MllpServer* mllp, atna::SyslogServer* syslog,
                   const std::filesystem::path& config_file, AuditEmitter* audit,
                   ScheduledWorker& status) {
  sigset_t set = handled_signals();
  while (true) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig != SIGHUP) {
      log_lifecycle(std::string("received ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") +
                    ", stopping");
      return;
    }
    notify("RELOADING=1");
    std::string problems;  // for the audit record: what could not be reloaded
    auto reloaded = load_config(config_file);
    if (reloaded.problems.empty()) {
      set_log_level(reloaded.config.log_level);
    } else {
      log(kWarning, "reload: config has problems, keeping the log level: " +
                        describe(reloaded.problems.front()));
      problems = "the config has problems, the log level was kept";
    }
    if (auto s = server.reload_tls(); !s) {
      log(kErr, "reload: TLS: " + s.error().message);
      problems += (problems.empty() ? "" : "; ") + ("TLS: " + s.error().message);
    }
    if (mllp) {
      if (auto s = mllp->reload_tls(); !s) {
        log(kErr, "reload: MLLP TLS: " + s.error().message);
        problems += (problems.empty() ? "" : "; ") + ("MLLP TLS: " + s.error().message);
      }
    }
    if (syslog) {
      if (auto s = syslog->reload_tls(); !s) {
        log(kErr, "reload: syslog TLS: " + s.error().message);
        problems += (problems.empty() ? "" : "; ") + ("syslog TLS: " + s.error().message);
      }
    }
    record_reload(audit, problems);
    log_lifecycle("reloaded configuration");
    notify("READY=1");
    status.wake();  // a fresh STATUS= line: the load since the last one
  }
}

// Whether the data directory takes writes (storage/write_gate.hpp): shared by clinical.db
// and audit.db, rechecked every few seconds so writes resume by themselves when space
// returns or the file system is writable again.
constexpr std::chrono::seconds kDiskCheckEvery{5};

std::shared_ptr<storage::WriteGate> open_write_gate(const GatewayConfig& c) {
  storage::WriteGateConfig g;
  g.directory = c.data_dir;
  g.min_free_bytes = c.storage.min_free_mb << 20;
  g.log = [](int p, std::string_view m) { log(p, m); };
  auto gate = std::make_shared<storage::WriteGate>(std::move(g));
  (void)gate->check();  // the floor holds from the first write
  return gate;
}

ScheduledWorker::Task disk_check_task(std::shared_ptr<storage::WriteGate> gate) {
  return [gate = std::move(gate)](std::stop_token) {
    (void)gate->check();
    return ScheduledWorker::Clock::now() + kDiskCheckEvery;
  };
}

}  // namespace

storage::StoreConfig store_config(const GatewayConfig& c) {
  storage::StoreConfig s;
  s.directory = c.data_dir;
  s.reader_connections = c.storage.reader_connections;
  s.max_batch_jobs = c.storage.max_batch_jobs;
  s.max_queued_jobs = c.storage.max_queued_jobs;
  s.log = [](int p, std::string_view m) { log(p, m); };
  return s;
}

storage::ArchiveConfig archive_config(const GatewayConfig& c) {
  storage::ArchiveConfig a;
  a.file = c.data_dir / "clinical.db";
  a.import_from = c.data_dir / "messages.db";  // an earlier build's archive, imported once
  a.log = [](int p, std::string_view m) { log(p, m); };
  return a;
}

hl7v2::ReceiverConfig receiver_config(const GatewayConfig& c, AuditEmitter* audit) {
  hl7v2::ReceiverConfig r;
  r.application_name = c.hl7.application_name;
  r.parse.max_message_bytes = c.mllp.max_message_bytes;
  r.log = [](int p, std::string_view m) { log(p, m); };
  r.senders = hl7v2::SenderPolicy(c.mllp.senders);
  if (audit != nullptr) r.audit = hl7_audit_hooks(*audit, c.hl7);
  return r;
}

AuditEmitterConfig audit_emitter_config(const GatewayConfig& c) {
  AuditEmitterConfig a;
  const bool wildcard = c.http.address.empty() || c.http.address == "0.0.0.0" ||
                        c.http.address == "::" || c.http.address == "[::]";
  a.source = {c.node_name, wildcard ? std::string() : c.http.address};
  a.log = [](int p, std::string_view m) { log(p, m); };
  return a;
}

void register_hl7_services(hl7v2::MessageReceiver& receiver, storage::ResourceStore& store,
                           const GatewayConfig& config) {
  register_hl7_handlers(receiver, store, config.hl7);
  register_hl7_queries(receiver, store, config.hl7);
}

// Everything serve() starts, stopped in reverse order by stop(): the listeners first (no
// new requests), then the audit machinery (whose last records are written after the last
// request), then the stores.
// When systemd asked for a watchdog (WatchdogSec= in the unit), pings it while the HTTP,
// MLLP and syslog event loops all turn (gateway/watchdog.hpp).
std::unique_ptr<Watchdog> start_watchdog(http::HttpServer& http, hl7v2::MllpServer* mllp,
                                         atna::SyslogServer* syslog) {
  const auto interval = systemd_watchdog_interval();
  if (!interval) return nullptr;
  WatchdogConfig w;
  w.interval = *interval;
  w.loops.push_back({"HTTP", [&http](std::function<void()> task) { http.post(std::move(task)); }});
  if (mllp) w.loops.push_back({"MLLP", [mllp](auto task) { mllp->post(std::move(task)); }});
  if (syslog) w.loops.push_back({"syslog", [syslog](auto task) { syslog->post(std::move(task)); }});
  w.notify = [](std::string_view state) { notify(std::string(state)); };
  w.log = [](int priority, std::string_view message) { log(priority, message); };
  log_lifecycle("systemd watchdog: pinging every " + std::to_string(interval->count()) + " ms");
  return std::make_unique<Watchdog>(std::move(w));
}

struct Running {
  std::unique_ptr<http::HttpServer> http;
  std::optional<Hl7Service> hl7;
  std::unique_ptr<AuditUpkeep> upkeep;
  std::unique_ptr<AuditEmitter> emitter;

  void stop(std::chrono::milliseconds drain, AuditService& audit) {
    audit.stop_receivers(drain);
    if (hl7) hl7->stop(drain);
    if (http) http->stop(drain);
    if (emitter) {
      record_activity(emitter.get(), /*start=*/false);
      emitter->stop();  // moves what writes staged in clinical.db, writes what is queued
    }
    if (upkeep) upkeep->stop();
  }
};

// What /health and /metrics watch (operations_endpoints.hpp), once everything runs.
void watch_for_operations(OperationsEndpoints& ops, const Running& running, AuditService& audit,
                          const AuditEmitter& emitter) {
  http::HttpServer* http = running.http.get();
  ops.watch_http(http);
  ops.add_event_loop("http", [http](std::function<void()> task) { http->post(std::move(task)); });
  if (hl7v2::MllpServer* mllp = running.hl7 ? running.hl7->server.get() : nullptr) {
    ops.watch_mllp(mllp);
    ops.add_event_loop("mllp", [mllp](auto task) { mllp->post(std::move(task)); });
  }
  if (atna::SyslogServer* syslog = audit.receivers()) {
    ops.watch_syslog(syslog, audit.intake());
    ops.add_event_loop("syslog", [syslog](auto task) { syslog->post(std::move(task)); });
  }
  ops.watch_audit_emitter(&emitter);
}

// What the gateway's counters say now (service_status.hpp).
LoadSample sample_load(const Running& running, AuditService& audit, const AuditEmitter& emitter) {
  LoadSample s;
  s.http_requests = running.http->counters().requests;
  s.open_connections = running.http->open_connections();
  if (running.hl7 && running.hl7->server) {
    s.hl7_messages = running.hl7->server->counters().frames;
    s.open_connections += running.hl7->server->open_connections();
  }
  if (auto* receivers = audit.receivers()) {
    s.audit_records = receivers->counters().messages;
    s.open_connections += receivers->open_connections();
  }
  const AuditEmitterCounters own = emitter.counters();
  s.audit_records += own.emitted + own.moved;
  return s;
}

// Every minute (and after a reload), STATUS= with the load since the last update: what
// `systemctl status` shows.
ScheduledWorker::Task status_task(std::vector<std::string> listeners, const Running& running,
                                  AuditService& audit, const AuditEmitter& emitter) {
  using Clock = ScheduledWorker::Clock;
  constexpr std::chrono::seconds kEvery{60};
  struct Last {
    std::optional<LoadSample> load;
    Clock::time_point at;
  };
  auto last = std::make_shared<Last>();
  return [=, &running, &audit, &emitter](std::stop_token) {
    const LoadSample now = sample_load(running, audit, emitter);
    const Clock::time_point at = Clock::now();
    if (last->load) {
      const auto span = std::chrono::duration_cast<std::chrono::seconds>(at - last->at);
      notify("STATUS=" +
             service_status(listeners, &*last->load, now, std::max(span, std::chrono::seconds(1))));
    }
    last->load = now;
    last->at = at;
    return at + kEvery;
  };
}

// The ports the listeners bound, for the mDNS/DNS-SD announcement (discovery.hpp).
BoundListeners bound_listeners(const Running& running, AuditService& audit) {
  BoundListeners bound;
  bound.http_port = running.http->port();
  if (running.hl7 && running.hl7->server) bound.mllp_port = running.hl7->server->port();
  if (const auto* receivers = audit.receivers()) bound.syslog_tls_port = receivers->tls_port();
  return bound;
}

// What `clinic-gateway status` shows of this run (runtime_status.hpp): pid, start, listeners.
RuntimeStatus runtime_status_at_start(const GatewayConfig& config, const Running& running,
                                      AuditService& audit) {
  RuntimeStatus s;
  s.pid = static_cast<long>(::getpid());
  s.version = CG_VERSION;
  s.node_name = config.node_name;
  s.started_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  const bool https = config.http.tls.certificate.has_value();
  s.listeners.push_back({"FHIR", config.http.address, running.http->port(), https});
  if (running.hl7 && running.hl7->server) {
    s.listeners.push_back({"HL7v2 MLLP", config.mllp.address, running.hl7->server->port(),
                           config.mllp.tls.certificate.has_value()});
  }
  if (const auto* syslog = audit.receivers()) {
    if (auto port = syslog->udp_port())
      s.listeners.push_back({"ATNA syslog udp", config.atna.address, *port, false});
    if (auto port = syslog->tcp_port())
      s.listeners.push_back({"ATNA syslog tcp", config.atna.address, *port, false});
    if (auto port = syslog->tls_port())
      s.listeners.push_back({"ATNA syslog tls", config.atna.address, *port, true});
  }
  return s;
}

int serve(const GatewayConfig& config, const std::filesystem::path& config_file) {
  sigset_t set = handled_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // threads created below inherit the mask
  // Builds on glibc's malloc (the sanitizer builds; the daemon links jemalloc, set up the
  // same way in gateway/allocator.cpp): glibc gives each busy thread its own heap arena;
  // with 30+ worker threads the freed memory of large Bundles stays spread over many arenas.
  // Two arenas keep RSS flat.
  mallopt(M_ARENA_MAX, 2);
  set_log_level(config.log_level);

  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) {
    log(kErr, "cannot create data directory " + config.data_dir.string() + ": " + ec.message());
    return 1;
  }
  // One daemon per data directory; restore and vacuum take the same lock (data_dir.hpp).
  // A lock file that cannot be made (a full or read-only disk) does not stop the service.
  auto data_dir_lock = DataDirLock::acquire(config.data_dir, "serve");
  if (!data_dir_lock && data_dir_lock.error().kind == ErrorKind::kConflict) {
    log(kErr, "cannot serve: " + data_dir_lock.error().message);
    return 1;
  }
  if (!data_dir_lock)
    log(kWarning, "serving without the data directory's lock: " + data_dir_lock.error().message);
  // Before any database opens: bounds every connection's page cache together.
  storage::limit_sqlite_memory(static_cast<std::int64_t>(config.storage.sqlite_memory_mb << 20));
  auto gate = open_write_gate(config);
  ScheduledWorker disk_checks(disk_check_task(gate));
  storage::StoreConfig clinical = store_config(config);
  clinical.write_gate = gate;
  auto store = storage::ResourceStore::open(std::move(clinical));
  if (!store) {
    log(kErr, "cannot open the clinical store in " + config.data_dir.string() + ": " +
                  store.error().message);
    return 1;
  }
  auto audit = AuditService::open(config, gate);
  if (!audit) {
    log(kErr, "cannot open the audit store (audit.db) in " + config.data_dir.string() + ": " +
                  audit.error().message);
    (*store)->close();
    return 1;
  }
  Running running;
  auto fail = [&](const std::string& message) {
    log(kErr, message);
    running.stop(std::chrono::milliseconds(0), *audit);
    audit->close();
    (*store)->close();
    return 1;
  };
  // The gateway's own audit trail (docs/atna.md): every FHIR and HL7v2 access, logins,
  // start, stop and reloads. Writes stage their record in clinical.db with the write.
  AuditEmitterConfig own_audit = audit_emitter_config(config);
  own_audit.write_gate = gate;
  running.emitter = std::make_unique<AuditEmitter>(audit->store(), store->get(), own_audit);
  AuditEmitter* emitter = running.emitter.get();

  fhir::FhirApi api(**store, {config.fhir.default_page_size, config.fhir.max_page_size,
                              config.fhir.max_bundle_entries, CG_VERSION});
  AuditRestApi audit_api(audit->store(),
                         {config.fhir.default_page_size, config.fhir.max_page_size, {}});
  StaticTokenVerifier tokens(config.auth.token_sha256);
  if (config.auth.token_sha256.empty())
    log(kInfo, "auth.token_sha256 is empty: only access tokens from /auth/token are accepted");
  auto oauth = OAuthEndpoints::open(config);
  if (!oauth) {
    return fail("cannot set up the token endpoint (security.db and the signing key in " +
                config.data_dir.string() + ", [upstream]): " + oauth.error().message);
  }
  (*oauth)->set_audit_emitter(emitter);
  // /health/live, /health/ready and /metrics; other parts add readiness checks to it
  // (add_readiness_check) before startup finishes.
  OperationsEndpoints ops(operations_config(config));
  // A full or read-only disk: the gateway still serves reads, but is not ready for writes.
  ops.add_readiness_check(
      {"clinical-store", "writable", "datastore", [gate] { return gate->write_refusal_reason(); }});
  GatewayRouter router(api, tokens, {config.http.public_base_url});
  ops.register_routes(router);
  router.set_oauth(oauth->get());
  router.set_audit_repository(&audit_api);
  router.set_audit_emitter(emitter);
  auto server = http::HttpServer::start(server_config(config),
                                        [&router](http::Request& r) { return router.handle(r); });
  if (!server) return fail("cannot start the HTTP listener: " + server.error().message);
  running.http = std::move(*server);
  auto hl7 = start_hl7(config, **store, emitter, gate, &ops);
  if (!hl7) return fail("cannot start the HL7v2 MLLP listener: " + hl7.error().message);
  running.hl7.emplace(std::move(*hl7));
  if (running.hl7->server) {
    log_lifecycle(std::string("HL7v2 MLLP") + (config.mllp.tls.certificate ? " over TLS" : "") +
                  " listening on " + config.mllp.address + ":" +
                  std::to_string(running.hl7->server->port()));
  }
  if (auto started = audit->start_receivers(config); !started) {
    return fail("cannot start the ATNA syslog receivers: " + started.error().message);
  }
  const std::string syslog = audit->describe_receivers(config);
  if (!syslog.empty()) log_lifecycle("ATNA syslog listening on " + syslog);
  auto upkeep = AuditUpkeep::start(audit->store(), config, UpkeepEnvironment::daemon());
  if (!upkeep) return fail("cannot start the audit upkeep: " + upkeep.error().message);
  running.upkeep = std::move(*upkeep);
  log_lifecycle("audit.db: " + running.upkeep->describe());

  std::string scheme = config.http.tls.certificate ? "https" : "http";
  std::string url =
      scheme + "://" + config.http.address + ":" + std::to_string(running.http->port()) + "/fhir";
  log_lifecycle("clinic-gateway " CG_VERSION " listening on " + url);
  record_activity(emitter, /*start=*/true);
  std::vector<std::string> listeners{"FHIR on " + url};
  if (running.hl7->server) {
    listeners.push_back("HL7v2 MLLP on " + config.mllp.address + ":" +
                        std::to_string(running.hl7->server->port()));
  }
  if (!syslog.empty()) listeners.push_back("ATNA syslog on " + syslog);
  auto discovery = start_discovery(config, bound_listeners(running, *audit),
                                   [](int p, std::string_view m) { log(p, m); });
  watch_for_operations(ops, running, *audit, *emitter);
  ops.set_started();
  notify("READY=1\nSTATUS=" + service_status(listeners, nullptr, {}, {}));

  auto watchdog = start_watchdog(*running.http, running.hl7->server.get(), audit->receivers());
  ScheduledWorker status_updates(status_task(listeners, running, *audit, *emitter));
  ScheduledWorker status_file(
      runtime_status_task(config.data_dir, runtime_status_at_start(config, running, *audit)));

  wait_for_stop(*running.http, running.hl7->server.get(), audit->receivers(), config_file, emitter,
                status_updates);

  if (watchdog) watchdog->stop();  // pings end with the loops they vouch for
  status_updates.stop();
  status_file.stop();
  notify("STOPPING=1\nSTATUS=Draining connections");
  if (discovery) discovery->stop();  // tablets stop finding a gateway that is going away
  running.stop(config.shutdown_drain, *audit);
  audit->close();
  (*store)->close();
  log_lifecycle("stopped cleanly");
  return 0;
}

}  // namespace cg::gateway
