#pragma once
// The `serve` command: starts the modules in dependency order (clinical store, audit store,
// FHIR API, router, HTTP listener, MLLP listener, ATNA syslog receivers), tells systemd
// READY=1, waits for signals (SIGHUP reloads TLS and the log level; SIGTERM/SIGINT stop),
// then stops in reverse order with a bounded drain and tells systemd STOPPING=1. Call from main()
// before any other thread exists (it blocks the signals it waits for in every thread it creates).

#include <filesystem>

#include "gateway/audit_emitter.hpp"
#include "gateway/config.hpp"
#include "protocols/hl7v2/receiver.hpp"
#include "storage/message_archive.hpp"
#include "storage/resource_store.hpp"

namespace cg::gateway {

// The settings of a configuration for the clinical store, the message archive and the HL7v2
// receiver; the offline commands (reindex, hl7) open them the way the daemon does.
storage::StoreConfig store_config(const GatewayConfig& config);
storage::ArchiveConfig archive_config(const GatewayConfig& config);
// With `audit`, every message a handler or answerer runs for is recorded (hl7_audit.hpp).
hl7v2::ReceiverConfig receiver_config(const GatewayConfig& config, AuditEmitter* audit = nullptr);
// The gateway's own audit records (audit_emitter.hpp): named after node_name, with the HTTP
// listen address as the gateway's (none when it listens on every address).
AuditEmitterConfig audit_emitter_config(const GatewayConfig& config);
// Registers every HL7v2 message handler and query answerer on `receiver`, over `store`
// (which must outlive it): the daemon's receiver and `hl7 reprocess` dispatch alike.
void register_hl7_services(hl7v2::MessageReceiver& receiver, storage::ResourceStore& store,
                           const GatewayConfig& config);

// Returns the process exit code: 0 after a clean stop, 1 when startup failed.
int serve(const GatewayConfig& config, const std::filesystem::path& config_file);

}  // namespace cg::gateway
