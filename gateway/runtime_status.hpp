#pragma once
// The serving daemon's runtime status in data_dir/status.json, for `clinic-gateway status`:
// its pid, version, start time, listeners, and the last error-level log lines (which never
// hold patient data, log.hpp). The daemon writes it once it listens and then every minute
// (with its systemd STATUS= line); the command reads it and judges it stale when it is
// older than kStaleAfterMs. Written under a temporary name and renamed, so a reader never
// sees half of one; not synced (a lost update is rewritten a minute later).
//
// Thread-safety: pure functions and plain values; the writes of one daemon come from one
// thread.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/log.hpp"
#include "gateway/scheduled_worker.hpp"
#include "protocols/fhir/model/result.hpp"

namespace cg::gateway {

// Two missed updates: the daemon's status thread is stuck, or the file is a dead one's.
inline constexpr std::int64_t kStaleAfterMs = 150'000;

struct Listener {
  std::string name;  // "FHIR", "HL7v2 MLLP", "ATNA syslog udp" …
  std::string address;
  int port = 0;
  bool tls = false;
};

struct RuntimeStatus {
  long pid = 0;
  std::string version;
  std::string node_name;
  std::int64_t started_ms = 0;  // ms since the Unix epoch
  std::int64_t updated_ms = 0;
  std::vector<Listener> listeners;
  std::vector<LoggedError> recent_errors;  // oldest first
};

std::string runtime_status_json(const RuntimeStatus& status);
// Errors: kInvalid when `text` is not a status file this build can read.
Result<RuntimeStatus> parse_runtime_status(std::string_view text);

// Writes data_dir/status.json (mode 0600). kUnavailable when it cannot.
Status write_runtime_status(const std::filesystem::path& data_dir, const RuntimeStatus& status);
// Reads data_dir/status.json. kNotFound when there is none; kInvalid when unreadable.
Result<RuntimeStatus> read_runtime_status(const std::filesystem::path& data_dir);

// The daemon's task for a ScheduledWorker: writes `status` (updated_ms and recent_errors
// filled in at each run) at once and then every minute; a failed write is logged once.
ScheduledWorker::Task runtime_status_task(std::filesystem::path data_dir, RuntimeStatus status);

}  // namespace cg::gateway
