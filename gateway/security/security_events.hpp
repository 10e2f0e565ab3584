#pragma once
// Security events: failed logins, lockouts and offline logins with a cached verifier, as the
// token endpoint sees them. SecurityEventSink is what the login code reports to;
// SecurityEventStore keeps each event in security.db's security_events table and writes a
// log line, so an operator can see password guessing and offline use (`clinic-gateway
// security events`). The audit trail is a sink in front of this one (AuditedSecurityEvents,
// gateway/login_audit.hpp).
//
// An event names a username or client id and the caller's address, never a password, a
// secret or patient data. A subject that is not a well-formed username (someone typed a
// password into the username field, or control characters meant for the log) is recorded
// as "(malformed)".
//
// Thread-safety: record() and list() may be called from any thread, concurrently.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/security/security_db.hpp"

namespace cg::gateway {

enum class SecurityEventKind {
  kLoginFailure,  // wrong credentials, unknown or disabled user, upstream refusal
  kLockout,       // a user or an address reached its failure threshold and is locked
  kOfflineLogin,  // a bridged user let in by the cached verifier: the upstream was unreachable
};

// "login_failure", "lockout", "offline_login": the table's and the CLI's spelling.
std::string_view to_string(SecurityEventKind kind);
std::optional<SecurityEventKind> security_event_kind(std::string_view name);

struct SecurityEvent {
  TimePoint at;
  SecurityEventKind kind = SecurityEventKind::kLoginFailure;
  std::string subject;  // username or client id; "" when there is none
  std::string address;  // the caller's address
  std::string detail;   // what happened, for a person
};

class SecurityEventSink {
 public:
  virtual ~SecurityEventSink() = default;
  // Records `event`. Never throws; a sink that cannot record reports that itself (its log),
  // because a login must not fail for want of an audit row.
  virtual void record(const SecurityEvent& event) = 0;
};

// "security: user 'alice' locked (from 10.0.0.5): 5 failed logins in 15 minutes".
std::string describe(const SecurityEvent& event);

class SecurityEventStore final : public SecurityEventSink {
 public:
  // `log(priority, line)` gets every event's line (syslog priorities: lockout 4 warning,
  // offline login 5 notice, failure 6 info); null: table only. Rows older than `keep` are
  // dropped as new ones arrive.
  using LogFn = std::function<void(int priority, std::string_view line)>;
  explicit SecurityEventStore(std::shared_ptr<SecurityDatabase> db, LogFn log = {},
                              Clock clock = system_now,
                              std::chrono::hours keep = std::chrono::hours(24 * 90));

  void record(const SecurityEvent& event) override;

  // Events at or after `since` (all when unset), newest first, at most `limit`.
  Result<std::vector<SecurityEvent>> list(std::optional<TimePoint> since, std::size_t limit);

 private:
  Status insert(const SecurityEvent& event);

  std::shared_ptr<SecurityDatabase> db_;
  LogFn log_;
  Clock clock_;
  std::chrono::hours keep_;
};

}  // namespace cg::gateway
