#include "gateway/audit_upkeep.hpp"

#include <algorithm>
#include <mutex>
#include <random>

#include "gateway/audit_destinations.hpp"
#include "gateway/audit_forwarder.hpp"
#include "gateway/log.hpp"
#include "gateway/scheduled_worker.hpp"
#include "protocols/atna/syslog_destination.hpp"
#include "protocols/http/tls_context.hpp"
#include "storage/resource_store.hpp"

namespace cg::gateway {
namespace {

constexpr std::int64_t kDayMs = 24 * 60 * 60 * 1000;
// A batch Bundle's answer: an entry per record with its status and location, and room for a
// server that sends the resources back.
constexpr std::size_t kMaxFhirAnswerBytes = 8 * 1024 * 1024;

// The TLS files of [audit.forward] load, or the daemon does not start: a typo in a path is
// better found at start than as a forwarder that fails every attempt.
Status check_client_tls(const AuditForwardSettings& forward) {
  http::ClientTlsConfig tls;
  tls.ca_file = forward.tls_ca;
  tls.certificate_chain = forward.client_certificate;
  tls.private_key = forward.client_key;
  auto made = http::make_client_tls_context(tls);
  if (!made) return Error::invalid("[audit.forward]: " + made.error().message);
  return ok_status();
}

std::unique_ptr<AuditDestination> syslog_destination(const GatewayConfig& config) {
  const AuditForwardSettings& f = config.audit.forward;
  atna::SyslogClientConfig client;
  client.destination = *atna::parse_syslog_url(f.syslog_url);  // checked by load_config
  if (client.destination.tls) {
    client.tls_ca = f.tls_ca;
    client.client_certificate = f.client_certificate;
    client.client_key = f.client_key;
  }
  client.timeout = f.timeout;
  return std::make_unique<SyslogForwardDestination>(std::move(client), config.node_name);
}

std::unique_ptr<AuditDestination> fhir_destination(const AuditForwardSettings& f) {
  http::BodyPost request;
  request.url = *http::parse_http_url(f.fhir_url);  // checked by load_config
  if (request.url.tls) {
    request.tls_ca = f.tls_ca;
    request.client_certificate = f.client_certificate;
    request.client_key = f.client_key;
  }
  request.timeout = f.timeout;
  request.max_response_bytes = kMaxFhirAnswerBytes;
  return std::make_unique<FhirForwardDestination>(std::move(request), f.token_file);
}

}  // namespace

storage::AuditStoreConfig audit_store_config(const GatewayConfig& config) {
  storage::AuditStoreConfig s;
  s.directory = config.data_dir;
  s.log = [](int priority, std::string_view message) { log(priority, message); };
  return s;
}

std::vector<std::string> forward_cursor_names(const AuditForwardSettings& forward) {
  std::vector<std::string> names;
  if (!forward.syslog_url.empty()) names.emplace_back(kSyslogCursorName);
  if (!forward.fhir_url.empty()) names.emplace_back(kFhirCursorName);
  return names;
}

Result<PruneOutcome> prune_audit_records(storage::AuditStore& store,
                                         const AuditForwardSettings& forward,
                                         std::int64_t before_ms, std::stop_token stop) {
  PruneOutcome outcome;
  std::int64_t through_id = storage::AuditStore::kAllIds;
  for (const std::string& name : forward_cursor_names(forward)) {
    auto cursor = store.cursor(name);
    if (!cursor) return cursor.take_error();
    through_id = std::min(through_id, *cursor);
  }
  if (through_id != storage::AuditStore::kAllIds) outcome.kept_after_id = through_id;
  auto pruned = store.prune(before_ms, through_id, std::move(stop));
  if (!pruned) return pruned.take_error();
  outcome.pruned = *pruned;
  return outcome;
}

std::optional<std::int64_t> retention_cutoff_ms(const AuditSettings& audit, std::int64_t now_ms) {
  if (audit.retention_days <= 0) return std::nullopt;
  return now_ms - audit.retention_days * kDayMs;
}

UpkeepEnvironment UpkeepEnvironment::daemon() {
  UpkeepEnvironment env;
  env.now_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  auto random = std::make_shared<std::pair<std::mutex, std::mt19937_64>>();
  random->second.seed(std::random_device{}());
  env.jitter = [random] {
    std::lock_guard lock(random->first);
    return std::uniform_real_distribution<double>(0.0, 1.0)(random->second);
  };
  env.log = [](int priority, std::string_view message) { gateway::log(priority, message); };
  return env;
}

struct AuditUpkeep::Impl {
  Impl(storage::AuditStore& s, const GatewayConfig& c, UpkeepEnvironment e)
      : store(s), audit(c.audit), env(std::move(e)) {}

  void prune_old_records(std::stop_token stop) {
    const auto cutoff = retention_cutoff_ms(audit, env.now_ms());
    if (!cutoff) return;
    auto outcome = prune_audit_records(store, audit.forward, *cutoff, std::move(stop));
    if (!outcome) {
      env.log(kErr, "audit retention: pruning audit.db failed: " + outcome.error().message +
                        " (tried again tomorrow)");
      return;
    }
    if (outcome->pruned == 0) return;
    env.log(kInfo, "audit retention: pruned " + std::to_string(outcome->pruned) +
                       " audit records received before " + storage::format_instant(*cutoff) +
                       (outcome->kept_after_id
                            ? "; records after id " + std::to_string(*outcome->kept_after_id) +
                                  " wait for forwarding"
                            : std::string()));
  }

  storage::AuditStore& store;
  AuditSettings audit;
  UpkeepEnvironment env;
  std::vector<std::unique_ptr<AuditDestination>> destinations;
  std::vector<std::unique_ptr<AuditForwarder>> forwarders;
  std::vector<std::unique_ptr<ScheduledWorker>> forwarding;  // after what they use
  std::unique_ptr<ScheduledWorker> retention;
};

AuditUpkeep::AuditUpkeep(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

AuditUpkeep::~AuditUpkeep() {
  stop();
}

Result<std::unique_ptr<AuditUpkeep>> AuditUpkeep::start(storage::AuditStore& store,
                                                        const GatewayConfig& config,
                                                        UpkeepEnvironment environment) {
  const AuditForwardSettings& forward = config.audit.forward;
  if (forward.enabled()) {
    if (Status tls = check_client_tls(forward); !tls) return tls.take_error();
  }
  auto impl = std::make_unique<Impl>(store, config, std::move(environment));
  if (!forward.syslog_url.empty()) impl->destinations.push_back(syslog_destination(config));
  if (!forward.fhir_url.empty()) impl->destinations.push_back(fhir_destination(forward));
  ForwarderOptions options;
  options.batch_size = forward.batch_size;
  for (auto& destination : impl->destinations) {
    impl->forwarders.push_back(std::make_unique<AuditForwarder>(store, *destination, options,
                                                                impl->env.jitter, impl->env.log));
    AuditForwarder* forwarder = impl->forwarders.back().get();
    impl->forwarding.push_back(std::make_unique<ScheduledWorker>([forwarder](std::stop_token s) {
      return forwarder->run_once(ScheduledWorker::Clock::now(), std::move(s));
    }));
  }
  if (config.audit.retention_days > 0) {
    Impl* upkeep = impl.get();
    impl->retention = std::make_unique<ScheduledWorker>([upkeep](std::stop_token s) {
      upkeep->prune_old_records(std::move(s));
      return ScheduledWorker::Clock::now() + std::chrono::hours(24);
    });
  }
  return std::unique_ptr<AuditUpkeep>(new AuditUpkeep(std::move(impl)));
}

void AuditUpkeep::records_appended() {
  for (auto& worker : impl_->forwarding) worker->wake();
}

std::string AuditUpkeep::describe() const {
  std::string out = impl_->audit.retention_days > 0
                        ? "retention " + std::to_string(impl_->audit.retention_days) + " days"
                        : std::string("retention off (records kept forever)");
  for (const auto& destination : impl_->destinations) {
    out += "; forwarding to " + destination->describe();
  }
  return out;
}

void AuditUpkeep::stop() {
  if (!impl_) return;
  if (impl_->retention) impl_->retention->stop();
  for (auto& worker : impl_->forwarding) worker->stop();
}

}  // namespace cg::gateway
