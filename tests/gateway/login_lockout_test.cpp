#include "gateway/security/login_lockout.hpp"

#include <doctest/doctest.h>

#include "tests/gateway/security_fixture.hpp"

using namespace cg;
using namespace cg::gateway;
using namespace cg::gateway::testing;
using namespace std::chrono_literals;

namespace {

struct Fixture {
  TempDir dir;
  ManualClock time;
  LoginLockout lockout{open_security_db(dir.path()), LockoutPolicy{}, time.clock()};

  void fail(LockoutScope scope, std::string_view name, int times) {
    for (int i = 0; i < times; ++i) REQUIRE(lockout.record_failure(scope, name).ok());
  }
  bool locked(LockoutScope scope, std::string_view name) {
    return lockout.is_locked(scope, name).value();
  }
};

}  // namespace

TEST_CASE("five failures within 15 minutes lock the user for 15 minutes") {
  Fixture f;
  f.fail(LockoutScope::kUser, "alice", 4);
  CHECK_FALSE(f.locked(LockoutScope::kUser, "alice"));
  auto fifth = f.lockout.record_failure(LockoutScope::kUser, "alice");
  REQUIRE(fifth.ok());
  CHECK(fifth->failures == 5);
  REQUIRE(fifth->locked_until.has_value());
  CHECK(*fifth->locked_until == f.time.now() + 15min);
  CHECK(f.locked(LockoutScope::kUser, "alice"));
  CHECK(f.locked(LockoutScope::kUser, "ALICE"));  // usernames are one ignoring case
  CHECK_FALSE(f.locked(LockoutScope::kUser, "bob"));
  f.time.advance(15min - 1ms);
  CHECK(f.locked(LockoutScope::kUser, "alice"));
  f.time.advance(1ms);
  CHECK_FALSE(f.locked(LockoutScope::kUser, "alice"));
}

TEST_CASE("failures spread beyond the window never add up to a lock") {
  Fixture f;
  for (int i = 0; i < 12; ++i) {
    auto state = f.lockout.record_failure(LockoutScope::kUser, "alice");
    REQUIRE(state.ok());
    CHECK_FALSE(state->locked_until.has_value());
    f.time.advance(4min);  // four failures per window at most
  }
  CHECK_FALSE(f.locked(LockoutScope::kUser, "alice"));
}

TEST_CASE("a source address is locked after 20 failures, whichever users they named") {
  Fixture f;
  f.fail(LockoutScope::kAddress, "192.0.2.7", 19);
  CHECK_FALSE(f.locked(LockoutScope::kAddress, "192.0.2.7"));
  f.fail(LockoutScope::kAddress, "192.0.2.7", 1);
  CHECK(f.locked(LockoutScope::kAddress, "192.0.2.7"));
  CHECK_FALSE(f.locked(LockoutScope::kAddress, "192.0.2.8"));
  CHECK_FALSE(f.locked(LockoutScope::kUser, "192.0.2.7"));  // separate key spaces
}

TEST_CASE("a successful login clears the user's count") {
  Fixture f;
  f.fail(LockoutScope::kUser, "alice", 4);
  REQUIRE(f.lockout.clear_failures(LockoutScope::kUser, "Alice").ok());
  auto next = f.lockout.record_failure(LockoutScope::kUser, "alice");
  REQUIRE(next.ok());
  CHECK(next->failures == 1);
}

TEST_CASE("thresholds and durations come from the policy") {
  TempDir dir;
  ManualClock time;
  LoginLockout strict(open_security_db(dir.path()), LockoutPolicy{2, 3, 1min, 1h}, time.clock());
  REQUIRE(strict.record_failure(LockoutScope::kUser, "alice").ok());
  auto second = strict.record_failure(LockoutScope::kUser, "alice");
  REQUIRE(second.ok());
  CHECK(second->locked_until == time.now() + 1h);
  time.advance(59min);
  CHECK(strict.is_locked(LockoutScope::kUser, "alice").value());
}

TEST_CASE("counts survive a restart: they live in security.db") {
  TempDir dir;
  ManualClock time;
  {
    LoginLockout before(open_security_db(dir.path()), LockoutPolicy{}, time.clock());
    for (int i = 0; i < 5; ++i) REQUIRE(before.record_failure(LockoutScope::kUser, "a").ok());
  }
  LoginLockout after(open_security_db(dir.path()), LockoutPolicy{}, time.clock());
  CHECK(after.is_locked(LockoutScope::kUser, "a").value());
}

TEST_CASE("lockout keys name the scope") {
  CHECK(LoginLockout::key(LockoutScope::kUser, "Alice") == "user:alice");
  CHECK(LoginLockout::key(LockoutScope::kAddress, "2001:db8::1") == "addr:2001:db8::1");
}
