#pragma once
// The `security` commands: what the token endpoint recorded about logins.
//   security events --config F [--since DATE] [--limit N]
// lists the security events of security.db (security_events.hpp) — failed logins, lockouts
// and offline logins with a cached verifier — newest first: time, kind, subject, address,
// detail. No password, secret or patient data is ever among them. Like `user list`, it may
// run while the daemon serves (security.db is SQLite WAL).
// Thread-safety: one call at a time (main()).

#include <cstddef>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>

#include "gateway/config.hpp"
#include "gateway/security/security_db.hpp"

namespace cg::gateway {

struct SecurityCommand {
  std::string config_file;
  std::optional<TimePoint> since;  // --since: a FHIR date or dateTime (2026-01-05)
  std::size_t limit = 100;         // --limit, at most 10000
};

// Parses the words after "security". Errors: kInvalid saying what is wrong or missing.
Result<SecurityCommand> parse_security_command(std::span<const std::string_view> words);

// Prints the events to `out`; problems to `err`. 0 when done, 1 otherwise (no security.db
// in the config's data_dir, storage errors).
int run_security_command(const SecurityCommand& command, const GatewayConfig& config,
                         std::ostream& out, std::ostream& err);

}  // namespace cg::gateway
