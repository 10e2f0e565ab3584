#pragma once
// `clinic-gateway status --config F [--json]`: what an operator asks first. This build's
// version, the config file, the data directory and the free space on its file system; each
// database with its size, its -wal's, its schema version and the row counts that are cheap
// (resources, HL7v2 messages, audit records, users, clients); whether the daemon runs (the
// data directory's lock, data_dir.hpp) and, from its status file (runtime_status.hpp), its
// pid, version, start time, listeners and last errors — said to be stale when the daemon
// has not rewritten it for kStaleAfterMs or it is an earlier run's. Text, or one JSON
// object with --json. Reads only; runs beside the daemon.
//
// Thread-safety: one call at a time (main()).

#include <cstdint>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gateway/config.hpp"
#include "gateway/data_dir.hpp"
#include "gateway/operations_args.hpp"
#include "gateway/runtime_status.hpp"

namespace cg::gateway {

struct StoreStatus {
  std::string file;  // "clinical.db"
  std::string what;
  std::int64_t bytes = 0;
  std::int64_t wal_bytes = 0;
  std::optional<std::int64_t> schema_version;
  std::vector<std::pair<std::string, std::int64_t>> counts;  // {"resources", 1234}
  std::string problem;                                       // when it could not be read
};

struct GatewayStatus {
  std::string version;
  std::string config_file;
  std::string data_dir;
  std::string node_name;
  std::int64_t disk_free_bytes = -1;
  std::int64_t disk_total_bytes = -1;
  std::optional<LockHolder> lock_holder;  // who holds the data directory now
  bool serving = false;                   // the holder is `serve`
  std::optional<RuntimeStatus> runtime;   // status.json, when there is one
  bool runtime_stale = false;
  std::vector<StoreStatus> stores;
  std::int64_t now_ms = 0;
};

// The words after "status": --config F [--json].
Result<OperationsArgs> parse_status_command(std::span<const std::string_view> words);

GatewayStatus collect_status(const std::string& config_file, const GatewayConfig& config,
                             std::int64_t now_ms);
void print_status(const GatewayStatus& status, std::ostream& out);
std::string status_json(const GatewayStatus& status);

// Collects and prints; returns 0 (1 only when the data directory does not exist).
int run_status_command(const OperationsArgs& command, const GatewayConfig& config,
                       std::ostream& out, std::ostream& err);

}  // namespace cg::gateway
