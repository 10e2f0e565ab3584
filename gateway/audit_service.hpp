#pragma once
// AuditService: the gateway's ATNA audit record repository as the daemon runs it — audit.db,
// always open while serving (the FHIR AuditEvent API and the gateway's own audit records
// use it too), and, when [atna] is enabled, the syslog receivers with their intake.
//
// Lifecycle: open() opens the store; start_receivers() starts the receivers (nothing when
// [atna] is off); stop_receivers(drain) stops them; close() stops them and closes the store
// after its queued appends have committed (their completions still reach the intake). The
// destructor calls close(). Not thread-safe: the daemon's main thread drives it; the store
// and the receivers are thread-safe themselves.

#include <chrono>
#include <memory>
#include <string>

#include "gateway/audit_intake.hpp"
#include "gateway/config.hpp"
#include "protocols/atna/syslog_server.hpp"
#include "storage/audit_store.hpp"

namespace cg::gateway {

// The receivers' settings from [atna] (and [atna.tls]).
atna::SyslogConfig syslog_config(const GatewayConfig& config);

class AuditService {
 public:
  // Opens data_dir/audit.db; its writes go through `write_gate` (null: none).
  static Result<AuditService> open(const GatewayConfig& config,
                                   std::shared_ptr<storage::WriteGate> write_gate = nullptr);
  AuditService(AuditService&&) = default;
  AuditService& operator=(AuditService&&) = delete;
  ~AuditService() { close(); }

  // Starts the syslog receivers when [atna] is enabled; errors name what failed (a port in
  // use, an unusable certificate).
  Status start_receivers(const GatewayConfig& config);
  // "udp 127.0.0.1:5514, tcp 127.0.0.1:5514, tls 127.0.0.1:6514" for the logs and systemd
  // status; "" when no receiver runs.
  std::string describe_receivers(const GatewayConfig& config) const;
  void stop_receivers(std::chrono::milliseconds drain);
  void close();

  storage::AuditStore& store() { return *store_; }
  // Null when no receiver runs.
  atna::SyslogServer* receivers() { return receivers_.get(); }
  const AuditIntake* intake() const { return intake_.get(); }

 private:
  explicit AuditService(std::unique_ptr<storage::AuditStore> store) : store_(std::move(store)) {}

  // Declared in dependency order: the receivers call the intake, the intake the store.
  std::unique_ptr<storage::AuditStore> store_;
  std::unique_ptr<AuditIntake> intake_;
  std::unique_ptr<atna::SyslogServer> receivers_;
};

}  // namespace cg::gateway
