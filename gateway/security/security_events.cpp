#include "gateway/security/security_events.hpp"

#include <array>
#include <limits>
#include <utility>

#include "gateway/security/identity_store.hpp"

namespace cg::gateway {
namespace {

using storage::Connection;
using storage::Statement;

constexpr std::array<std::pair<SecurityEventKind, std::string_view>, 3> kKinds = {{
    {SecurityEventKind::kLoginFailure, "login_failure"},
    {SecurityEventKind::kLockout, "lockout"},
    {SecurityEventKind::kOfflineLogin, "offline_login"},
}};

// Syslog priorities, as gateway/log.hpp numbers them.
int priority_of(SecurityEventKind kind) {
  switch (kind) {
    case SecurityEventKind::kLockout:
      return 4;  // warning: someone may be guessing passwords
    case SecurityEventKind::kOfflineLogin:
      return 5;  // notice: the upstream is unreachable
    case SecurityEventKind::kLoginFailure:
      break;
  }
  return 6;  // info
}

// What may be written into the table and the log as a subject: a well-formed username or
// client id (the same character set), nothing a caller could use to forge log lines.
std::string safe_subject(std::string_view subject) {
  if (subject.empty() || check_username(subject)) return std::string(subject);
  return "(malformed)";
}

// Details may quote what another party sent (an upstream's error code): no control bytes,
// so a detail cannot forge log lines or drive a terminal, and bounded in length.
std::string printable(std::string_view text) {
  constexpr std::size_t kMaxDetail = 300;
  std::string out(text.substr(0, kMaxDetail));
  for (char& c : out) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) c = '?';
  }
  return out;
}

SecurityEvent read_event(const Statement& s) {
  SecurityEvent e;
  e.at = from_ms(s.column_int64(0));
  e.kind = security_event_kind(s.column_text(1)).value_or(SecurityEventKind::kLoginFailure);
  e.subject = s.column_text(2);
  e.address = s.column_text(3);
  e.detail = s.column_text(4);
  return e;
}

}  // namespace

std::string_view to_string(SecurityEventKind kind) {
  for (const auto& [k, name] : kKinds) {
    if (k == kind) return name;
  }
  return "login_failure";
}

std::optional<SecurityEventKind> security_event_kind(std::string_view name) {
  for (const auto& [kind, n] : kKinds) {
    if (n == name) return kind;
  }
  return std::nullopt;
}

std::string describe(const SecurityEvent& event) {
  std::string who = event.subject.empty() ? std::string("address ") + event.address
                                          : "'" + event.subject + "' from " + event.address;
  std::string what;
  switch (event.kind) {
    case SecurityEventKind::kLoginFailure:
      what = "login failed for ";
      break;
    case SecurityEventKind::kLockout:
      what = "login locked for ";
      break;
    case SecurityEventKind::kOfflineLogin:
      what = "offline login (cached verifier) for ";
      break;
  }
  return "security: " + what + who + (event.detail.empty() ? "" : ": " + event.detail);
}

SecurityEventStore::SecurityEventStore(std::shared_ptr<SecurityDatabase> db, LogFn log, Clock clock,
                                       std::chrono::hours keep)
    : db_(std::move(db)), log_(std::move(log)), clock_(std::move(clock)), keep_(keep) {}

void SecurityEventStore::record(const SecurityEvent& original) {
  SecurityEvent event = original;
  event.subject = safe_subject(event.subject);
  event.detail = printable(event.detail);
  if (log_) log_(priority_of(event.kind), describe(event));
  if (auto stored = insert(event); !stored && log_) {
    log_(3, "security: cannot store a security event: " + stored.error().message);
  }
}

Status SecurityEventStore::insert(const SecurityEvent& event) {
  const std::int64_t oldest = to_ms(clock_() - keep_);
  return db_->with([&](Connection& conn) -> Status {
    auto prune = conn.statement("DELETE FROM security_events WHERE at < ?1");
    if (!prune) return prune.take_error();
    (*prune)->bind(1, oldest);
    if (auto ran = (*prune)->run(); !ran) return ran;
    auto stmt = conn.statement(
        "INSERT INTO security_events (at, kind, subject, address, detail) "
        "VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!stmt) return stmt.take_error();
    (*stmt)->bind(1, to_ms(event.at));
    (*stmt)->bind(2, to_string(event.kind));
    (*stmt)->bind(3, event.subject);
    (*stmt)->bind(4, event.address);
    (*stmt)->bind(5, event.detail);
    return (*stmt)->run();
  });
}

Result<std::vector<SecurityEvent>> SecurityEventStore::list(std::optional<TimePoint> since,
                                                            std::size_t limit) {
  return db_->with([&](Connection& conn) -> Result<std::vector<SecurityEvent>> {
    auto stmt = conn.statement(
        "SELECT at, kind, subject, address, detail FROM security_events WHERE at >= ?1 "
        "ORDER BY at DESC, id DESC LIMIT ?2");
    if (!stmt) return stmt.take_error();
    (*stmt)->bind(1, since ? to_ms(*since) : std::numeric_limits<std::int64_t>::min());
    (*stmt)->bind(2, static_cast<std::int64_t>(limit));
    std::vector<SecurityEvent> events;
    for (;;) {
      auto row = (*stmt)->step();
      if (!row) return row.take_error();
      if (!*row) return events;
      events.push_back(read_event(**stmt));
    }
  });
}

}  // namespace cg::gateway
