#pragma once
// Log: one line per event on stderr. Under journald (JOURNAL_STREAM names our stderr) each
// line starts with the syslog priority prefix "<N>" so journalctl keeps levels; otherwise it
// starts with a UTC timestamp and the level name. Messages must never contain resource
// content or query strings (patient data); callers log ids, counts and reasons only.
// Thread-safe: each line is written with a single write(2).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cg::gateway {

enum Priority : int { kErr = 3, kWarning = 4, kNotice = 5, kInfo = 6, kDebug = 7 };

// Sets the most verbose priority that is written ("error", "warning", "info", "debug").
void set_log_level(std::string_view level);
bool log_enabled(int priority);
void log(int priority, std::string_view message);
// Lifecycle events (listening, reloaded, stopping, stopped): written at every log level,
// as notice, because operators and scripts (port 0) rely on them.
void log_lifecycle(std::string_view message);

// An error-level line as logged, for the daemon's status file (runtime_status.hpp).
struct LoggedError {
  std::int64_t at_ms = 0;  // ms since the Unix epoch
  std::string message;
};
// The last kRecentErrors error-level lines written, oldest first.
inline constexpr std::size_t kRecentErrors = 20;
std::vector<LoggedError> recent_errors();

// True when stderr is connected to the journal (JOURNAL_STREAM matches it).
bool stderr_is_journal();

}  // namespace cg::gateway
