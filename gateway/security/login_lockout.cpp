#include "gateway/security/login_lockout.hpp"

#include <cctype>

namespace cg::gateway {
namespace {

using storage::Connection;

// One statement, so two failures at the same moment (two sessions, or the daemon and a
// CLI) are both counted. In an UPDATE every expression sees the row as it was; ?2 is now,
// ?3 the window start before which a count has lapsed, ?4 the threshold, ?5 the lock end.
constexpr std::string_view kRecordFailure = R"sql(
INSERT INTO login_failures (key, count, window_start, locked_until)
VALUES (?1, 1, ?2, CASE WHEN 1 >= ?4 THEN ?5 ELSE 0 END)
ON CONFLICT (key) DO UPDATE SET
  count = CASE WHEN window_start <= ?3 THEN 1 ELSE count + 1 END,
  window_start = CASE WHEN window_start <= ?3 THEN ?2 ELSE window_start END,
  locked_until = CASE WHEN (CASE WHEN window_start <= ?3 THEN 1 ELSE count + 1 END) >= ?4
                      THEN ?5 ELSE locked_until END
RETURNING count, locked_until
)sql";

}  // namespace

LoginLockout::LoginLockout(std::shared_ptr<SecurityDatabase> db, LockoutPolicy policy, Clock clock)
    : db_(std::move(db)), policy_(policy), clock_(std::move(clock)) {}

std::string LoginLockout::key(LockoutScope scope, std::string_view name) {
  if (scope == LockoutScope::kAddress) return "addr:" + std::string(name);
  std::string key = "user:";
  for (char c : name) key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return key;
}

Result<bool> LoginLockout::is_locked(LockoutScope scope, std::string_view name) {
  return db_->with([&](Connection& conn) -> Result<bool> {
    auto stmt = conn.statement("SELECT locked_until > ?2 FROM login_failures WHERE key = ?1");
    if (!stmt) return stmt.take_error();
    (*stmt)->bind(1, key(scope, name));
    (*stmt)->bind(2, to_ms(clock_()));
    auto row = (*stmt)->step();
    if (!row) return row.take_error();
    return *row && (*stmt)->column_int64(0) != 0;
  });
}

Result<LockoutState> LoginLockout::record_failure(LockoutScope scope, std::string_view name) {
  const TimePoint now = clock_();
  const int threshold =
      scope == LockoutScope::kUser ? policy_.max_user_failures : policy_.max_address_failures;
  return db_->with([&](Connection& conn) -> Result<LockoutState> {
    auto stmt = conn.statement(kRecordFailure);
    if (!stmt) return stmt.take_error();
    (*stmt)->bind(1, key(scope, name));
    (*stmt)->bind(2, to_ms(now));
    (*stmt)->bind(3, to_ms(now - policy_.window));
    (*stmt)->bind(4, std::int64_t{threshold});
    (*stmt)->bind(5, to_ms(now + policy_.lock_for));
    auto row = (*stmt)->step();
    if (!row) return row.take_error();
    if (!*row) return Error::internal("recording a login failure returned no row");
    LockoutState state{static_cast<int>((*stmt)->column_int64(0)), std::nullopt};
    const std::int64_t until = (*stmt)->column_int64(1);
    if (until > to_ms(now)) state.locked_until = from_ms(until);
    return state;
  });
}

Status LoginLockout::clear_failures(LockoutScope scope, std::string_view name) {
  return db_->with([&](Connection& conn) -> Status {
    auto stmt = conn.statement("DELETE FROM login_failures WHERE key = ?1");
    if (!stmt) return stmt.take_error();
    (*stmt)->bind(1, key(scope, name));
    return (*stmt)->run();
  });
}

}  // namespace cg::gateway
