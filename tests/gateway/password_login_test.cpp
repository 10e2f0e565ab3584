#include "gateway/security/password_login.hpp"

#include <doctest/doctest.h>

#include "tests/gateway/security_fixture.hpp"

using namespace cg;
using namespace cg::gateway;
using namespace cg::gateway::testing;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view kLocalPassword = "correct horse battery";
constexpr std::string_view kUpstreamPassword = "district password 1";

// The upstream as the tests want it: a verdict per call, and a record of who was asked.
class FakeUpstream final : public UpstreamLogin {
 public:
  UpstreamVerdictKind mode = UpstreamVerdictKind::kAccepted;
  std::vector<std::string> roles = {"clinician"};
  std::vector<std::string> asked;

  UpstreamVerdict check(std::string_view username, std::string_view password) override {
    asked.emplace_back(username);
    if (mode == UpstreamVerdictKind::kUnreachable) return {mode, {}, "connection refused"};
    if (password != kUpstreamPassword || mode == UpstreamVerdictKind::kRefused) {
      return {UpstreamVerdictKind::kRefused, {}, "refused by the upstream"};
    }
    return {UpstreamVerdictKind::kAccepted, roles, {}};
  }
};

class RecordingSink final : public SecurityEventSink {
 public:
  std::vector<SecurityEvent> events;
  void record(const SecurityEvent& event) override { events.push_back(event); }
  std::size_t count(SecurityEventKind kind) const {
    return static_cast<std::size_t>(std::count_if(
        events.begin(), events.end(), [kind](const SecurityEvent& e) { return e.kind == kind; }));
  }
};

struct Fixture {
  TempDir dir;
  ManualClock time;
  std::shared_ptr<SecurityDatabase> db = open_security_db(dir.path());
  IdentityStore identities{db, IdentityConfig{kFastArgon2, time.clock(), 2, 24h}};
  LoginLockout lockout{db, LockoutPolicy{3, 10, 15min, 15min}, time.clock()};
  FakeUpstream upstream;
  RecordingSink events;
  PasswordLogin login{identities, lockout, &events, &upstream, time.clock()};

  Fixture() { REQUIRE(identities.add_user("alice", kLocalPassword, {"admin"}).ok()); }

  Result<User> attempt(std::string_view user, std::string_view password,
                       std::string_view address = "10.0.0.5") {
    return login.authenticate(user, password, address);
  }
};

void check_refused(const Result<User>& r, std::string_view words = "invalid username or password") {
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::kUnauthorized);
  CHECK(r.error().message.find(words) != std::string::npos);
}

}  // namespace

TEST_CASE("a local user is checked here and never sent upstream") {
  Fixture f;
  auto user = f.attempt("alice", kLocalPassword);
  REQUIRE(user.ok());
  CHECK_FALSE(user->bridged);
  check_refused(f.attempt("alice", "wrong password here"));
  check_refused(f.attempt("ALICE", kUpstreamPassword));  // usernames ignore case
  CHECK(f.upstream.asked.empty());
  // A name that cannot be a username is not worth a round trip either.
  check_refused(f.attempt("not a user!", kUpstreamPassword));
  CHECK(f.upstream.asked.empty());
}

TEST_CASE("a user the upstream accepts is cached with its roles and let in") {
  Fixture f;
  f.upstream.roles = {"clinician"};
  auto user = f.attempt("wanjiru", kUpstreamPassword);
  REQUIRE_MESSAGE(user.ok(), (user.ok() ? "" : user.error().message));
  CHECK(user->bridged);
  CHECK(user->roles == std::vector<std::string>{"clinician"});
  CHECK(user->verified_at == f.time.now());
  CHECK(f.upstream.asked == std::vector<std::string>{"wanjiru"});
  // Online, the upstream is asked every time, and new roles follow.
  f.upstream.roles = {"admin"};
  CHECK(f.attempt("wanjiru", kUpstreamPassword)->roles == std::vector<std::string>{"admin"});
  CHECK(f.upstream.asked.size() == 2);
  CHECK(f.events.events.empty());
}

TEST_CASE("a wrong password refused upstream leaves the cached verifier alone") {
  Fixture f;
  REQUIRE(f.attempt("wanjiru", kUpstreamPassword).ok());
  check_refused(f.attempt("wanjiru", "a stranger's guess"));
  CHECK(f.identities.find_user("wanjiru")->verified_at.has_value());
  f.upstream.mode = UpstreamVerdictKind::kUnreachable;
  CHECK(f.attempt("wanjiru", kUpstreamPassword).ok());
}

TEST_CASE("the upstream refusing the cached password fails the login and drops the cache") {
  Fixture f;
  REQUIRE(f.attempt("wanjiru", kUpstreamPassword).ok());
  f.upstream.mode = UpstreamVerdictKind::kRefused;  // say the password changed upstream
  check_refused(f.attempt("wanjiru", kUpstreamPassword));
  CHECK(f.events.count(SecurityEventKind::kLoginFailure) == 1);
  // Offline now, the old password no longer works.
  f.upstream.mode = UpstreamVerdictKind::kUnreachable;
  check_refused(f.attempt("wanjiru", kUpstreamPassword), "cannot be reached");
}

TEST_CASE("offline, the cached verifier lets the user in until the ttl runs out") {
  Fixture f;  // cached_login_ttl 24 h
  REQUIRE(f.attempt("wanjiru", kUpstreamPassword).ok());
  f.upstream.mode = UpstreamVerdictKind::kUnreachable;
  f.time.advance(23h);
  auto offline = f.attempt("wanjiru", kUpstreamPassword, "10.0.0.9");
  REQUIRE(offline.ok());
  CHECK(offline->roles == std::vector<std::string>{"clinician"});
  REQUIRE(f.events.count(SecurityEventKind::kOfflineLogin) == 1);
  const auto& event = f.events.events.back();
  CHECK(event.subject == "wanjiru");
  CHECK(event.address == "10.0.0.9");
  CHECK(event.detail == "upstream unreachable: connection refused");
  // A wrong password offline fails as it would online.
  check_refused(f.attempt("wanjiru", "district password 2"), "cannot be reached");
  f.time.advance(1h);
  check_refused(f.attempt("wanjiru", kUpstreamPassword), "cannot be reached");
}

TEST_CASE("offline, a name with no cached login fails with the same words as a wrong password") {
  Fixture f;
  f.upstream.mode = UpstreamVerdictKind::kUnreachable;
  auto never_seen = f.attempt("stranger", kUpstreamPassword);
  check_refused(never_seen, "the upstream login service cannot be reached");
  REQUIRE(f.attempt("wanjiru", "district password 2").error().message ==
          never_seen.error().message);
  CHECK(never_seen.error().message.find(kUpstreamPassword) == std::string::npos);
}

TEST_CASE("a bridged user disabled here is refused even when the upstream accepts") {
  Fixture f;
  REQUIRE(f.attempt("wanjiru", kUpstreamPassword).ok());
  REQUIRE(f.identities.set_user_disabled("wanjiru", true).ok());
  check_refused(f.attempt("wanjiru", kUpstreamPassword));
  CHECK(f.identities.find_user("wanjiru")->disabled);
  f.upstream.mode = UpstreamVerdictKind::kUnreachable;
  check_refused(f.attempt("wanjiru", kUpstreamPassword), "cannot be reached");
}

TEST_CASE("lockout covers bridged logins and is checked before the upstream is asked") {
  Fixture f;  // 3 failures per user
  for (int i = 0; i < 3; ++i) check_refused(f.attempt("wanjiru", "wrong guess number"));
  CHECK(f.upstream.asked.size() == 3);
  CHECK(f.events.count(SecurityEventKind::kLoginFailure) == 3);
  REQUIRE(f.events.count(SecurityEventKind::kLockout) == 1);
  CHECK(f.events.events.back().subject == "wanjiru");
  check_refused(f.attempt("wanjiru", kUpstreamPassword), "too many failed logins");
  CHECK(f.upstream.asked.size() == 3);                           // not asked while locked
  CHECK(f.events.count(SecurityEventKind::kLoginFailure) == 3);  // nor counted
  f.time.advance(15min);
  CHECK(f.attempt("wanjiru", kUpstreamPassword).ok());
}

TEST_CASE("failures from one address lock the address, reported without a user") {
  Fixture f;  // 10 failures per address
  for (int i = 0; i < 10; ++i) {
    check_refused(f.attempt("user" + std::to_string(i), "wrong guess", "192.0.2.7"));
  }
  REQUIRE(f.events.count(SecurityEventKind::kLockout) == 1);
  const auto& lock = f.events.events.back();
  CHECK(lock.subject.empty());
  CHECK(lock.address == "192.0.2.7");
  check_refused(f.attempt("alice", kLocalPassword, "192.0.2.7"), "too many failed logins");
  CHECK(f.attempt("alice", kLocalPassword, "192.0.2.8").ok());
}

TEST_CASE("without an upstream every user is local, and bridged ones use their cache") {
  Fixture f;
  REQUIRE(f.attempt("wanjiru", kUpstreamPassword).ok());  // cached while there was one
  PasswordLogin alone{f.identities, f.lockout, &f.events, nullptr, f.time.clock()};
  CHECK(alone.authenticate("alice", kLocalPassword, "10.0.0.5").ok());
  CHECK(alone.authenticate("wanjiru", kUpstreamPassword, "10.0.0.5").ok());
  check_refused(alone.authenticate("stranger", kUpstreamPassword, "10.0.0.5"));
  CHECK(f.upstream.asked.size() == 1);
}
