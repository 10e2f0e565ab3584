#pragma once
// The `serve` command: starts the modules in dependency order (store, FHIR API, router,
// HTTP listener), tells systemd READY=1, waits for signals (SIGHUP reloads TLS and the log
// level; SIGTERM/SIGINT stop), then stops in reverse order with a bounded drain and tells
// systemd STOPPING=1. Call from main() before any other thread exists (it blocks the
// signals it waits for in every thread it creates).

#include <filesystem>

#include "gateway/config.hpp"
#include "storage/resource_store.hpp"

namespace cg::gateway {

// The clinical store settings of a configuration (also used by offline commands).
storage::StoreConfig store_config(const GatewayConfig& config);

// Returns the process exit code: 0 after a clean stop, 1 when startup failed.
int serve(const GatewayConfig& config, const std::filesystem::path& config_file);

}  // namespace cg::gateway
