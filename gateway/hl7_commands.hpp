#pragma once
// The `hl7` commands: the operator's hand on the archive (in clinical.db) of every inbound
// HL7v2 message (storage/message_archive.hpp).
//   hl7 list --config F [--since DATE] [--outcome CODE] [--limit N] [--before ID]
//       newest first, one line per message, without patient data (hl7_archive_report.hpp);
//   hl7 show ID --config F
//       the message's segments, every answer it got and what each wrote. Patient data, on
//       the operator's explicit request, to the terminal only: nothing of it is logged;
//   hl7 reprocess ID --config F
//       the message through its handler again (MessageReceiver::reprocess, with the
//       daemon's registrations, register_hl7_services, and the config file as it is now),
//       against the clinical store; the run is appended to its history in the archive,
//       and audited like a received message (hl7_audit.hpp; data_dir/audit.db must open).
//
// Online, like `reindex`: these run in their own process while the daemon serves. Both
// files are SQLite WAL, where processes take turns at the one write lock (BEGIN IMMEDIATE,
// 5 s busy timeout) and every write job reads what it decides on (version numbers,
// identifier matches, change-log sequence) inside its own write transaction, so a rerun and
// the daemon's writes serialise like two of the daemon's own jobs. The daemon keeps no
// state of either file in memory that another writer could invalidate (its only one, the
// last version timestamp, follows the same system clock). A lock held longer than the busy
// timeout makes the rerun fail as unavailable, with nothing recorded: run it again.
//
// Thread-safety: one call at a time (main()).

#include <cstdint>
#include <ostream>
#include <span>
#include <string>
#include <string_view>

#include "gateway/config.hpp"
#include "protocols/fhir/model/result.hpp"
#include "storage/message_archive.hpp"

namespace cg::gateway {

inline constexpr std::size_t kMaxListLimit = 10'000;

struct Hl7Command {
  enum class Verb { kList, kShow, kReprocess };
  Verb verb = Verb::kList;
  std::string config_file;
  std::int64_t message_id = 0;  // show and reprocess
  storage::ArchiveQuery query;  // list
};

// Parses the words after "hl7". Errors: kInvalid saying what is wrong or missing.
Result<Hl7Command> parse_hl7_command(std::span<const std::string_view> words);

// Runs `command` against the files of `config`: its report to `out`, problems to `err`.
// Returns the exit code: 0 when done (reprocess: the new answer is AA or CA), 1 otherwise
// (no archive, unknown id, a store that cannot write now, a rerun answered AE or AR).
int run_hl7_command(const Hl7Command& command, const GatewayConfig& config, std::ostream& out,
                    std::ostream& err);

}  // namespace cg::gateway
