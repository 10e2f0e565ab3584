#include "gateway/audit_commands.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <limits>
#include <vector>

#include "gateway/audit_destinations.hpp"
#include "gateway/audit_export.hpp"
#include "gateway/audit_upkeep.hpp"
#include "gateway/text_table.hpp"
#include "protocols/fhir/model/fhir_time.hpp"
#include "storage/resource_store.hpp"

namespace cg::gateway {
namespace {

constexpr std::int64_t kEarliest = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kLatest = std::numeric_limits<std::int64_t>::max();

// An id (all digits) or a FHIR date/dateTime: its start for --since, its end for --until.
Result<AuditBound> parse_bound(std::string_view option, std::string_view value, bool end) {
  AuditBound bound;
  const bool digits = !value.empty() && std::all_of(value.begin(), value.end(),
                                                    [](char c) { return c >= '0' && c <= '9'; });
  if (digits) {
    std::int64_t id = 0;
    const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), id);
    if (ec != std::errc() || ptr != value.data() + value.size()) {
      return Error::invalid(std::string(option) + ": '" + std::string(value) + "' is too large");
    }
    bound.id = id;
    return bound;
  }
  auto range = fhir::parse_time_range(value);
  if (!range) {
    return Error::invalid(std::string(option) + ": '" + std::string(value) +
                          "' is neither a record id nor a date (2026-01-05, "
                          "2026-01-05T10:00:00Z)");
  }
  bound.ms = end ? range->end_ms : range->begin_ms;
  return bound;
}

Result<AuditCommand::Verb> parse_verb(std::string_view word) {
  if (word == "export") return AuditCommand::Verb::kExport;
  if (word == "prune") return AuditCommand::Verb::kPrune;
  if (word == "stats") return AuditCommand::Verb::kStats;
  return Error::invalid("unknown command 'audit " + std::string(word) +
                        "': export, prune or stats");
}

// Which verb an option belongs to; "" for --config (every verb).
std::string_view option_verb(std::string_view option) {
  if (option == "--since" || option == "--until" || option == "--out" ||
      option == "--include-unreadable" || option == "--as-received") {
    return "export";
  }
  if (option == "--before") return "prune";
  return "";
}

Status apply_option(AuditCommand& command, std::string_view option, std::string_view value) {
  if (option == "--config") {
    command.config_file = std::string(value);
  } else if (option == "--since" || option == "--until") {
    auto bound = parse_bound(option, value, option == "--until");
    if (!bound) return bound.take_error();
    (option == "--since" ? command.since : command.until) = *bound;
  } else if (option == "--out") {
    if (value.empty()) return Error::invalid("--out needs a file name");
    command.out = std::filesystem::path(value);
  } else if (option == "--before") {
    auto range = fhir::parse_time_range(value);
    if (!range) return Error::invalid("--before: '" + std::string(value) + "' is not a date");
    command.before_ms = range->begin_ms;
  } else {
    return Error::invalid("unknown option " + std::string(option));
  }
  return ok_status();
}

std::string verb_name(AuditCommand::Verb verb) {
  switch (verb) {
    case AuditCommand::Verb::kExport:
      return "export";
    case AuditCommand::Verb::kPrune:
      return "prune";
    case AuditCommand::Verb::kStats:
      break;
  }
  return "stats";
}

// The id range and receive-time filter of the export's bounds; nullopt when a date bound
// matches no record (nothing to export).
Result<std::optional<ExportRange>> resolve_range(storage::AuditStore& store,
                                                 const AuditCommand& command) {
  ExportRange range;
  range.include_unreadable = command.include_unreadable;
  range.as_received = command.as_received;
  if (command.since.id) range.after_id = *command.since.id;
  if (command.since.ms) {
    auto span = store.ids_received(*command.since.ms, kLatest);
    if (!span) return span.take_error();
    if (!*span) return std::optional<ExportRange>();
    range.after_id = (*span)->first - 1;
    range.received_from_ms = command.since.ms;
  }
  if (command.until.id) range.through_id = *command.until.id;
  if (command.until.ms) {
    auto span = store.ids_received(kEarliest, *command.until.ms);
    if (!span) return span.take_error();
    if (!*span) return std::optional<ExportRange>();
    range.through_id = (*span)->last;
    range.received_to_ms = command.until.ms;
  }
  if (!command.until.id && !command.until.ms) {
    // The records there are now: an export started beside a busy daemon still ends.
    auto stats = store.stats();
    if (!stats) return stats.take_error();
    range.through_id = stats->last_id.value_or(0);
  }
  return std::optional<ExportRange>(range);
}

// A new file readable by its owner only (audit records name patients), truncated.
bool create_private_file(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

void print_export_summary(const ExportCount& count, bool as_received, std::ostream& err) {
  err << "exported " << count.events << (as_received ? " records as received" : " AuditEvents");
  if (count.first_id) err << " (ids " << *count.first_id << " to " << *count.last_id << ")";
  if (count.unreadable_written > 0) {
    err << " and " << count.unreadable_written << " unreadable records";
  }
  if (count.unreadable_skipped > 0) {
    err << "; " << count.unreadable_skipped
        << " unreadable records left out (--include-unreadable writes them)";
  }
  err << "\n";
}

// Exports to `out`, or to a temporary file renamed to command.out when complete.
int run_export(storage::AuditStore& store, const AuditCommand& command, std::ostream& out,
               std::ostream& err) {
  auto range = resolve_range(store, command);
  if (!range) {
    err << "cannot read audit.db: " << range.error().message << "\n";
    return 1;
  }
  std::ofstream file;
  std::filesystem::path partial;
  if (command.out) {
    partial = command.out->string() + ".partial";
    if (!create_private_file(partial) || (file.open(partial, std::ios::binary), !file)) {
      err << "cannot create " << partial.string() << "\n";
      return 1;
    }
  }
  std::ostream& sink = command.out ? file : out;
  auto count = *range ? export_audit(store, **range, sink) : Result<ExportCount>(ExportCount{});
  std::error_code ec;
  if (!count) {
    err << "export failed: " << count.error().message << "\n";
    if (command.out) std::filesystem::remove(partial, ec);
    return 1;
  }
  if (command.out) {
    file.close();
    std::filesystem::rename(partial, *command.out, ec);
    if (ec || !file) {
      err << "cannot write " << command.out->string() << ": " << ec.message() << "\n";
      return 1;
    }
  }
  print_export_summary(*count, command.as_received, err);
  return 0;
}

int run_prune(storage::AuditStore& store, const AuditCommand& command, const GatewayConfig& config,
              std::ostream& out, std::ostream& err) {
  auto outcome = prune_audit_records(store, config.audit.forward, command.before_ms);
  if (!outcome) {
    err << "prune failed: " << outcome.error().message << "\n";
    return 1;
  }
  out << "pruned " << outcome->pruned << " audit records received before "
      << storage::format_instant(command.before_ms) << "\n";
  if (outcome->kept_after_id) {
    out << "kept every record after id " << *outcome->kept_after_id
        << ": not yet forwarded upstream ([audit.forward])\n";
  }
  return 0;
}

std::string time_span(const storage::AuditStats& stats) {
  if (!stats.oldest_received_ms) return "-";
  return storage::format_instant(*stats.oldest_received_ms) + " to " +
         storage::format_instant(*stats.newest_received_ms);
}

std::string retention_text(const AuditSettings& audit) {
  if (audit.retention_days <= 0) return "off: records are kept forever";
  return std::to_string(audit.retention_days) + " days (pruned at start and daily)";
}

// "tls://arr:6514" or "https://…/fhir" for a configured cursor; "" for one no longer used.
std::string destination_of(std::string_view cursor, const AuditForwardSettings& forward) {
  if (cursor == kSyslogCursorName) return forward.syslog_url;
  if (cursor == kFhirCursorName) return forward.fhir_url;
  return {};
}

Status add_forwarding_rows(storage::AuditStore& store, const AuditForwardSettings& forward,
                           std::vector<std::vector<std::string>>& rows) {
  auto stored = store.cursors();
  if (!stored) return stored.take_error();
  std::vector<std::string> names = forward_cursor_names(forward);
  for (const auto& c : *stored) {
    if (std::find(names.begin(), names.end(), c.name) == names.end()) names.push_back(c.name);
  }
  if (names.empty()) rows.push_back({"forwarding", "none configured ([audit.forward])"});
  for (const std::string& name : names) {
    auto cursor = store.cursor(name);
    if (!cursor) return cursor.take_error();
    auto waiting = store.count_after(*cursor);
    if (!waiting) return waiting.take_error();
    const std::string where = destination_of(name, forward);
    rows.push_back({name, (where.empty() ? std::string("not configured now") : where) +
                              ": cursor " + std::to_string(*cursor) + ", " +
                              std::to_string(*waiting) + " waiting"});
  }
  return ok_status();
}

int run_stats(storage::AuditStore& store, const GatewayConfig& config, std::ostream& out,
              std::ostream& err) {
  auto stats = store.stats();
  if (!stats) {
    err << "cannot read audit.db: " << stats.error().message << "\n";
    return 1;
  }
  std::vector<std::vector<std::string>> rows = {
      {"records",
       std::to_string(stats->records) + " (" + std::to_string(stats->unreadable) + " unreadable)"},
      {"ids", stats->first_id
                  ? std::to_string(*stats->first_id) + " to " + std::to_string(*stats->last_id)
                  : "-"},
      {"received", time_span(*stats)},
      {"retention", retention_text(config.audit)},
  };
  if (Status added = add_forwarding_rows(store, config.audit.forward, rows); !added) {
    err << "cannot read audit.db: " << added.error().message << "\n";
    return 1;
  }
  print_table(rows, out);
  return 0;
}

}  // namespace

Result<AuditCommand> parse_audit_command(std::span<const std::string_view> words) {
  if (words.empty()) return Error::invalid("which command? export, prune or stats");
  auto verb = parse_verb(words[0]);
  if (!verb) return verb.take_error();
  AuditCommand command;
  command.verb = *verb;
  bool have_before = false;
  for (std::size_t i = 1; i < words.size(); ++i) {
    const std::string_view word = words[i];
    if (!word.starts_with("--")) {
      return Error::invalid("unexpected argument '" + std::string(word) + "'");
    }
    const std::string_view belongs = option_verb(word);
    if (!belongs.empty() && belongs != verb_name(command.verb)) {
      return Error::invalid(std::string(word) + " is an option of 'audit " + std::string(belongs) +
                            "' only");
    }
    if (word == "--include-unreadable" || word == "--as-received") {
      (word == "--as-received" ? command.as_received : command.include_unreadable) = true;
      continue;
    }
    if (i + 1 == words.size()) return Error::invalid(std::string(word) + " needs a value");
    if (auto s = apply_option(command, word, words[++i]); !s) return s.take_error();
    have_before = have_before || word == "--before";
  }
  if (command.config_file.empty()) return Error::invalid("--config FILE is required");
  if (command.verb == AuditCommand::Verb::kPrune && !have_before) {
    return Error::invalid("--before DATE is required: records received before it are pruned");
  }
  return command;
}

int run_audit_command(const AuditCommand& command, const GatewayConfig& config, std::ostream& out,
                      std::ostream& err) {
  const storage::AuditStoreConfig settings = audit_store_config(config);
  // Opening would create an empty database; a wrong config or data_dir is the likelier cause.
  std::error_code ec;
  if (!std::filesystem::exists(settings.directory / "audit.db", ec)) {
    err << "no audit database at " << (settings.directory / "audit.db").string()
        << " (is data_dir right, and has the gateway run?)\n";
    return 1;
  }
  auto store = storage::AuditStore::open(settings);
  if (!store) {
    err << "cannot open audit.db: " << store.error().message << "\n";
    return 1;
  }
  int code = 1;
  switch (command.verb) {
    case AuditCommand::Verb::kExport:
      code = run_export(**store, command, out, err);
      break;
    case AuditCommand::Verb::kPrune:
      code = run_prune(**store, command, config, out, err);
      break;
    case AuditCommand::Verb::kStats:
      code = run_stats(**store, config, out, err);
      break;
  }
  (*store)->close();
  return code;
}

}  // namespace cg::gateway
