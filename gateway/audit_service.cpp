#include "gateway/audit_service.hpp"

#include <algorithm>
#include <thread>

#include "gateway/audit_upkeep.hpp"
#include "gateway/hl7_handlers.hpp"
#include "gateway/log.hpp"

namespace cg::gateway {
namespace {

void log_line(int priority, std::string_view message) {
  log(priority, message);
}

}  // namespace

atna::SyslogConfig syslog_config(const GatewayConfig& c) {
  const AtnaSettings& a = c.atna;
  atna::SyslogConfig s;
  s.address = a.address;
  s.udp_port = a.udp ? std::optional<std::uint16_t>(a.udp_port) : std::nullopt;
  s.tcp_port = a.tcp ? std::optional<std::uint16_t>(a.tcp_port) : std::nullopt;
  s.tls_port = std::nullopt;
  if (a.tls.certificate && a.tls.private_key) {
    s.tls_port = a.tls_port;
    s.tls = atna::SyslogTlsConfig{*a.tls.certificate, *a.tls.private_key,
                                  a.tls.client_ca.value_or(std::filesystem::path())};
  }
  s.max_message_size = a.max_message_bytes;
  s.max_connections = a.max_connections;
  s.idle_timeout = a.idle_timeout;
  // One io thread moves the bytes; the workers read the XML (the costly part).
  s.io_threads = 1;
  s.worker_threads = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 4u));
  s.log = &log_line;
  return s;
}

Result<AuditService> AuditService::open(const GatewayConfig& config,
                                        std::shared_ptr<storage::WriteGate> write_gate) {
  auto store = storage::AuditStore::open(audit_store_config(config), std::move(write_gate));
  if (!store) return store.take_error();
  return AuditService(std::move(*store));
}

Status AuditService::start_receivers(const GatewayConfig& config) {
  if (!config.atna.enabled || receivers_) return ok_status();
  intake_ = std::make_unique<AuditIntake>(*store_, identifier_systems(config.hl7), &log_line);
  AuditIntake* intake = intake_.get();
  auto server = atna::SyslogServer::start(
      syslog_config(config), [intake](atna::SyslogBatch batch, atna::SyslogBatchDone done) {
        intake->ingest(std::move(batch), std::move(done));
      });
  if (!server) return server.take_error();
  receivers_ = std::move(*server);
  return ok_status();
}

std::string AuditService::describe_receivers(const GatewayConfig& config) const {
  if (!receivers_) return {};
  std::string out;
  auto add = [&](std::string_view transport, std::optional<std::uint16_t> port) {
    if (!port) return;
    if (!out.empty()) out += ", ";
    out += std::string(transport) + " " + config.atna.address + ":" + std::to_string(*port);
  };
  add("udp", receivers_->udp_port());
  add("tcp", receivers_->tcp_port());
  add("tls", receivers_->tls_port());
  return out;
}

void AuditService::stop_receivers(std::chrono::milliseconds drain) {
  if (receivers_) receivers_->stop(drain);
}

void AuditService::close() {
  stop_receivers(std::chrono::milliseconds(0));
  // The store runs its queued appends before it closes; their completions reach the intake,
  // which is destroyed only after this.
  if (store_) store_->close();
}

}  // namespace cg::gateway
