#include "gateway/security/security_events.hpp"

#include <doctest/doctest.h>

#include <mutex>

#include "tests/gateway/security_fixture.hpp"

using namespace cg;
using namespace cg::gateway;
using namespace cg::gateway::testing;
using namespace std::chrono_literals;

namespace {

struct Fixture {
  TempDir dir;
  ManualClock time;
  std::shared_ptr<SecurityDatabase> db = open_security_db(dir.path());
  std::vector<std::pair<int, std::string>> lines;
  SecurityEventStore store{
      db, [this](int priority, std::string_view line) { lines.emplace_back(priority, line); },
      time.clock(), 24h};

  void record(SecurityEventKind kind, std::string subject, std::string detail = "why") {
    store.record({time.now(), kind, std::move(subject), "10.0.0.5", std::move(detail)});
  }
};

}  // namespace

TEST_CASE("each event is a row and a log line; a lockout is a warning") {
  Fixture f;
  f.record(SecurityEventKind::kLoginFailure, "alice", "wrong password");
  f.time.advance(1s);
  f.record(SecurityEventKind::kLockout, "alice", "5 failed logins for this user");
  f.time.advance(1s);
  f.record(SecurityEventKind::kOfflineLogin, "dr.who", "upstream unreachable: timed out");

  REQUIRE(f.lines.size() == 3);
  CHECK(f.lines[0].first == 6);
  CHECK(f.lines[1].first == 4);
  CHECK(f.lines[1].second ==
        "security: login locked for 'alice' from 10.0.0.5: 5 failed logins for this user");
  CHECK(f.lines[2].first == 5);

  auto events = f.store.list(std::nullopt, 10);
  REQUIRE(events.ok());
  REQUIRE(events->size() == 3);
  CHECK((*events)[0].kind == SecurityEventKind::kOfflineLogin);  // newest first
  CHECK((*events)[0].subject == "dr.who");
  CHECK((*events)[2].detail == "wrong password");
  CHECK((*events)[2].address == "10.0.0.5");
  CHECK((*events)[2].at == f.time.now() - 2s);
}

TEST_CASE("list takes a start time and a limit") {
  Fixture f;
  for (int i = 0; i < 5; ++i) {
    f.record(SecurityEventKind::kLoginFailure, "u" + std::to_string(i));
    f.time.advance(1min);
  }
  auto recent = f.store.list(f.time.now() - 2min, 10);
  REQUIRE(recent.ok());
  REQUIRE(recent->size() == 2);
  CHECK((*recent)[0].subject == "u4");
  CHECK((*recent)[1].subject == "u3");
  CHECK(f.store.list(std::nullopt, 3)->size() == 3);
}

TEST_CASE("an address lockout names the address; a subject that is no username is not kept") {
  Fixture f;
  f.record(SecurityEventKind::kLockout, "");
  f.record(SecurityEventKind::kLoginFailure, "alice\nsecurity: forged line");
  f.record(SecurityEventKind::kLoginFailure, "my secret password!");
  CHECK(f.lines[0].second.find("login locked for address 10.0.0.5") != std::string::npos);
  CHECK(f.lines[1].second.find("forged") == std::string::npos);
  CHECK(f.lines[2].second.find("secret") == std::string::npos);
  f.record(SecurityEventKind::kLoginFailure, "bob", "upstream said \x1b[2J\nsecurity: forged");
  CHECK(f.lines[3].second.find('\n') == std::string::npos);
  CHECK(f.lines[3].second.find('\x1b') == std::string::npos);
  auto events = f.store.list(std::nullopt, 10);
  REQUIRE(events.ok());
  CHECK((*events)[0].detail == "upstream said ?[2J?security: forged");
  events->erase(events->begin());
  CHECK((*events)[0].subject == "(malformed)");
  CHECK((*events)[1].subject == "(malformed)");
}

TEST_CASE("events older than the retention are dropped as new ones arrive") {
  Fixture f;  // keeps 24 hours
  f.record(SecurityEventKind::kLoginFailure, "old");
  f.time.advance(25h);
  f.record(SecurityEventKind::kLoginFailure, "new");
  auto events = f.store.list(std::nullopt, 10);
  REQUIRE(events.ok());
  REQUIRE(events->size() == 1);
  CHECK((*events)[0].subject == "new");
}

TEST_CASE("kinds have one spelling each way") {
  for (auto kind : {SecurityEventKind::kLoginFailure, SecurityEventKind::kLockout,
                    SecurityEventKind::kOfflineLogin}) {
    CHECK(security_event_kind(to_string(kind)) == kind);
  }
  CHECK(to_string(SecurityEventKind::kOfflineLogin) == "offline_login");
  CHECK_FALSE(security_event_kind("login_success"));
}
