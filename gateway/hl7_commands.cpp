#include "gateway/hl7_commands.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>

#include "gateway/daemon.hpp"
#include "gateway/hl7_archive_report.hpp"
#include "protocols/fhir/model/fhir_time.hpp"
#include "protocols/hl7v2/receiver.hpp"

namespace cg::gateway {
namespace {

constexpr std::string_view kAckCodes[] = {"AA", "AE", "AR", "CA", "CE", "CR"};

Result<std::int64_t> positive_number(std::string_view what, std::string_view text) {
  std::int64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n <= 0) {
    return Error::invalid(std::string(what) + " must be a positive whole number, not '" +
                          std::string(text) + "'");
  }
  return n;
}

Result<std::string> ack_code_option(std::string_view value) {
  std::string code(value);
  std::transform(code.begin(), code.end(), code.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  if (std::find(std::begin(kAckCodes), std::end(kAckCodes), code) == std::end(kAckCodes)) {
    return Error::invalid("--outcome must be AA, AE or AR (or CA, CE, CR)");
  }
  return code;
}

// Applies one of list's options; kInvalid for a bad value or an option it does not have.
Status apply_list_option(storage::ArchiveQuery& query, std::string_view option,
                         std::string_view value) {
  if (option == "--since") {
    auto range = fhir::parse_time_range(value);
    if (!range) return Error::invalid("--since: '" + std::string(value) + "' is not a date");
    query.since_ms = range->begin_ms;
  } else if (option == "--outcome") {
    auto code = ack_code_option(value);
    if (!code) return code.take_error();
    query.ack_code = std::move(*code);
  } else if (option == "--limit" || option == "--before") {
    auto n = positive_number(option, value);
    if (!n) return n.take_error();
    if (option == "--limit") query.limit = std::min(static_cast<std::size_t>(*n), kMaxListLimit);
    if (option == "--before") query.before_id = *n;
  } else {
    return Error::invalid("unknown option " + std::string(option));
  }
  return ok_status();
}

// Applies one "--option value" to `command`.
Status apply_option(Hl7Command& command, std::string_view option, std::string_view value) {
  if (option == "--config") {
    command.config_file = std::string(value);
    return ok_status();
  }
  storage::ArchiveQuery query = command.query;
  if (auto s = apply_list_option(query, option, value); !s) return s;
  if (command.verb != Hl7Command::Verb::kList) {
    return Error::invalid(std::string(option) + " is an option of 'hl7 list' only");
  }
  command.query = std::move(query);
  return ok_status();
}

Result<Hl7Command::Verb> parse_verb(std::string_view word) {
  if (word == "list") return Hl7Command::Verb::kList;
  if (word == "show") return Hl7Command::Verb::kShow;
  if (word == "reprocess") return Hl7Command::Verb::kReprocess;
  return Error::invalid("unknown command 'hl7 " + std::string(word) + "': list, show or reprocess");
}

bool accepted(std::string_view ack_code) {
  return ack_code == "AA" || ack_code == "CA";
}

int list(storage::MessageArchive& archive, const storage::ArchiveQuery& query, std::ostream& out,
         std::ostream& err) {
  auto messages = archive.list(query);
  if (!messages) {
    err << "cannot read the archive: " << messages.error().message << "\n";
    return 1;
  }
  print_list(*messages, out);
  return 0;
}

// The message, or nullopt after saying why there is none.
std::optional<storage::ArchivedMessage> lookup(storage::MessageArchive& archive, std::int64_t id,
                                               std::ostream& err) {
  auto found = archive.get(id);
  if (!found) {
    err << "cannot read the archive: " << found.error().message << "\n";
    return std::nullopt;
  }
  if (!*found) err << "no archived message " << id << "\n";
  return std::move(*found);
}

int show(storage::MessageArchive& archive, std::int64_t id, std::ostream& out, std::ostream& err) {
  auto message = lookup(archive, id, err);
  if (!message) return 1;
  print_message(*message, out);
  return 0;
}

int reprocess(storage::MessageArchive& archive, storage::ResourceStore& store,
              const GatewayConfig& config, std::int64_t id, std::ostream& out, std::ostream& err) {
  auto message = lookup(archive, id, err);
  if (!message) return 1;
  // A rerun changes clinical data: it is audited like any message (its record staged in
  // clinical.db with the change, moved to audit.db when the emitter stops).
  storage::AuditStoreConfig where;
  where.directory = config.data_dir;
  where.reader_connections = 1;
  auto audits = storage::AuditStore::open(where);
  if (!audits) {
    err << "message " << id
        << " not reprocessed: cannot open the audit trail (audit.db): " << audits.error().message
        << "\n";
    return 1;
  }
  AuditEmitter emitter(**audits, &store, audit_emitter_config(config));
  hl7v2::MessageReceiver receiver(archive, receiver_config(config, &emitter));
  register_hl7_services(receiver, store, config);
  auto run = receiver.reprocess(id);
  emitter.stop();
  (*audits)->close();
  if (!run) {
    err << "message " << id << " not reprocessed: " << run.error().message << "\n";
    return 1;
  }
  const std::string was(storage::current_answer(*message).ack_code);
  print_answer("message " + std::to_string(id) + " reprocessed (was " + was + ")", run->ack_code,
               run->outcome, out);
  return accepted(run->ack_code) ? 0 : 1;
}

}  // namespace

Result<Hl7Command> parse_hl7_command(std::span<const std::string_view> words) {
  if (words.empty()) return Error::invalid("which command? list, show or reprocess");
  auto verb = parse_verb(words[0]);
  if (!verb) return verb.take_error();
  Hl7Command command;
  command.verb = *verb;
  bool have_id = false;
  for (std::size_t i = 1; i < words.size(); ++i) {
    const std::string_view word = words[i];
    if (word.starts_with("--")) {
      if (i + 1 == words.size()) return Error::invalid(std::string(word) + " needs a value");
      if (auto s = apply_option(command, word, words[++i]); !s) return s.take_error();
    } else if (command.verb != Hl7Command::Verb::kList && !have_id) {
      auto id = positive_number("the message id", word);
      if (!id) return id.take_error();
      command.message_id = *id;
      have_id = true;
    } else {
      return Error::invalid("unexpected argument '" + std::string(word) + "'");
    }
  }
  if (command.config_file.empty()) return Error::invalid("--config FILE is required");
  if (command.verb != Hl7Command::Verb::kList && !have_id) {
    return Error::invalid("which message? give its id (from 'hl7 list')");
  }
  return command;
}

int run_hl7_command(const Hl7Command& command, const GatewayConfig& config, std::ostream& out,
                    std::ostream& err) {
  const storage::ArchiveConfig settings = archive_config(config);
  // Opening would create an empty database; a wrong config or data_dir is the likelier cause.
  std::error_code ec;
  if (!std::filesystem::exists(settings.file, ec)) {
    err << "no clinical database at " << settings.file.string()
        << " (is data_dir right, and has the gateway run?)\n";
    return 1;
  }
  auto store = storage::ResourceStore::open(store_config(config));
  if (!store) {
    err << "cannot open the clinical store: " << store.error().message << "\n";
    return 1;
  }
  auto archive = storage::MessageArchive::open(**store, settings);
  if (!archive) {
    err << "cannot open the HL7v2 archive: " << archive.error().message << "\n";
    (*store)->close();
    return 1;
  }
  int code = 1;
  switch (command.verb) {
    case Hl7Command::Verb::kList:
      code = list(**archive, command.query, out, err);
      break;
    case Hl7Command::Verb::kShow:
      code = show(**archive, command.message_id, out, err);
      break;
    case Hl7Command::Verb::kReprocess:
      code = reprocess(**archive, **store, config, command.message_id, out, err);
      break;
  }
  (*archive)->close();
  (*store)->close();
  return code;
}

}  // namespace cg::gateway
