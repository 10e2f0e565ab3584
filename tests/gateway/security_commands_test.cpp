#include "gateway/security_commands.hpp"

#include <doctest/doctest.h>

#include <sstream>

#include "gateway/security/security_events.hpp"
#include "tests/gateway/security_fixture.hpp"

using namespace cg;
using namespace cg::gateway;
using namespace cg::gateway::testing;
using namespace std::chrono_literals;

namespace {

std::string error_of(std::vector<std::string_view> words) {
  auto parsed = parse_security_command(words);
  REQUIRE_FALSE(parsed.ok());
  return parsed.error().message;
}

}  // namespace

TEST_CASE("security events takes --config, --since and --limit") {
  std::vector<std::string_view> words = {"events",     "--config", "g.toml", "--since",
                                         "2026-01-05", "--limit",  "20000"};
  auto parsed = parse_security_command(words);
  REQUIRE(parsed.ok());
  CHECK(parsed->config_file == "g.toml");
  CHECK(to_ms(*parsed->since) == 1'767'571'200'000);  // 2026-01-05T00:00:00Z
  CHECK(parsed->limit == 10'000);
  CHECK(error_of({}) == "which command? events");
  CHECK(error_of({"list", "--config", "g"}) == "unknown command 'security list': events");
  CHECK(error_of({"events"}) == "--config FILE is required");
  CHECK(error_of({"events", "--config", "g", "--since", "yesterday"}) ==
        "--since: 'yesterday' is not a date");
  CHECK(error_of({"events", "--config", "g", "--limit", "0"}) ==
        "--limit must be a positive whole number");
  CHECK(error_of({"events", "--config", "g", "--colour", "red"}) == "unknown option --colour");
  CHECK(error_of({"events", "alice", "--config", "g"}).find("takes no argument") !=
        std::string::npos);
}

TEST_CASE("security events prints the events newest first, and fails without security.db") {
  TempDir dir;
  GatewayConfig config;
  config.data_dir = dir.path() / "data";
  SecurityCommand command;
  std::ostringstream out, err;
  CHECK(run_security_command(command, config, out, err) == 1);
  CHECK(err.str().find("no security database") != std::string::npos);

  auto db = open_security_db(config.data_dir);
  const TimePoint t = from_ms(1'767'571'200'000);
  SecurityEventStore store(db, {}, [t] { return t + 1s; });
  store.record({t, SecurityEventKind::kLoginFailure, "alice", "10.0.0.5", "wrong password"});
  store.record({t + 1s, SecurityEventKind::kLockout, "", "10.0.0.5", "20 failed logins"});
  err.str("");
  CHECK(run_security_command(command, config, out, err) == 0);
  CHECK(err.str().empty());
  CHECK(out.str() ==
        "time                      kind           subject  address   detail\n"
        "2026-01-05T00:00:01.000Z  lockout        -        10.0.0.5  20 failed logins\n"
        "2026-01-05T00:00:00.000Z  login_failure  alice    10.0.0.5  wrong password\n");
  out.str("");
  command.since = t + 1s;
  CHECK(run_security_command(command, config, out, err) == 0);
  CHECK(out.str().find("login_failure") == std::string::npos);
}
