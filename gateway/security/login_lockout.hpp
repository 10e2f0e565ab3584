#pragma once
// LoginLockout: counts failed logins per user and per source address in security.db and
// locks a key once it reaches its threshold within the window, so password guessing gets a
// handful of tries per quarter hour instead of thousands. The counts live in the database,
// not in memory, so a restart does not reset them and a CLI sees what the daemon counted.
//
// How the token endpoint uses it: refuse without checking when the user or the address is
// locked (and do not count that attempt); on a failed check, record_failure() for both —
// for unknown usernames too, so lockout does not reveal which names exist; on success,
// clear_failures() for the user (an address's count runs out with its window).
//
// Thread-safety: every method may be called from any thread, concurrently; each update is
// one SQL statement, so concurrent failures are all counted.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/security/security_db.hpp"

namespace cg::gateway {

struct LockoutPolicy {
  int max_user_failures = 5;      // per user within `window`
  int max_address_failures = 20;  // per source address: several users behind one NAT
  std::chrono::seconds window = std::chrono::minutes(15);  // starts at the first failure
  std::chrono::seconds lock_for = std::chrono::minutes(15);
};

enum class LockoutScope { kUser, kAddress };

struct LockoutState {
  int failures = 0;  // in the current window
  std::optional<TimePoint> locked_until;
};

class LoginLockout {
 public:
  explicit LoginLockout(std::shared_ptr<SecurityDatabase> db, LockoutPolicy policy = {},
                        Clock clock = system_now);

  // Whether `name` (a username or an address) is locked now.
  Result<bool> is_locked(LockoutScope scope, std::string_view name);
  // Counts one failure; a count reaching the scope's threshold locks for `lock_for` from now.
  Result<LockoutState> record_failure(LockoutScope scope, std::string_view name);
  Status clear_failures(LockoutScope scope, std::string_view name);

  // The row key: "user:<username in lowercase>" (usernames are unique ignoring case) or
  // "addr:<address>".
  static std::string key(LockoutScope scope, std::string_view name);

 private:
  std::shared_ptr<SecurityDatabase> db_;
  LockoutPolicy policy_;
  Clock clock_;
};

}  // namespace cg::gateway
