#pragma once
// The `audit` commands: the operator's hand on the audit record repository (audit.db).
//   audit export --config F [--since ID|DATE] [--until ID|DATE] [--out FILE]
//                [--include-unreadable]
//       the stored AuditEvents as NDJSON, oldest first (audit_export.hpp); to FILE
//       (created 0600, written under a temporary name and renamed when complete) or stdout.
//       An ID bound is a record id: --since is exclusive (the last id you already have),
//       --until inclusive. A DATE bound is a FHIR date or dateTime (2026-01-05,
//       2026-01-05T10:00:00Z) on the time the gateway received the record: --since from its
//       start, --until to its end (--until 2026-01-31 includes that whole day). A number is
//       always an id; write a year as 2026-01-01.
//   audit prune --config F --before DATE
//       deletes the records received before DATE, keeping those a configured forwarding
//       destination has not had yet — the rule of the daily retention, run now.
//   audit stats --config F
//       record counts, ids and receive times, retention, and each forwarding destination's
//       cursor and queue length.
// Like `hl7` and `security`, these run beside a serving daemon (audit.db is SQLite WAL).
// Thread-safety: one call at a time (main()).

#include <cstdint>
#include <filesystem>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>

#include "gateway/config.hpp"
#include "protocols/fhir/model/result.hpp"

namespace cg::gateway {

// One end of an export range: a record id or a receive time.
struct AuditBound {
  std::optional<std::int64_t> id;
  std::optional<std::int64_t> ms;  // --since: the date's start; --until: its end (exclusive)
};

struct AuditCommand {
  enum class Verb { kExport, kPrune, kStats };
  Verb verb = Verb::kStats;
  std::string config_file;
  AuditBound since;  // export
  AuditBound until;
  std::optional<std::filesystem::path> out;
  bool include_unreadable = false;
  bool as_received = false;    // --as-received: the payloads as received
  std::int64_t before_ms = 0;  // prune
};

// Parses the words after "audit". Errors: kInvalid saying what is wrong or missing.
Result<AuditCommand> parse_audit_command(std::span<const std::string_view> words);

// Runs `command` against the config's audit.db: its output to `out` (the NDJSON of an
// export without --out), a summary and problems to `err`. Returns the exit code: 0 when
// done, 1 otherwise (no audit.db, storage errors, an unwritable --out).
int run_audit_command(const AuditCommand& command, const GatewayConfig& config, std::ostream& out,
                      std::ostream& err);

}  // namespace cg::gateway
