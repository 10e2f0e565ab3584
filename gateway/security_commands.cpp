#include "gateway/security_commands.hpp"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <vector>

#include "gateway/identity_commands.hpp"
#include "gateway/security/security_events.hpp"
#include "gateway/text_table.hpp"
#include "protocols/fhir/model/fhir_time.hpp"

namespace cg::gateway {
namespace {

constexpr std::size_t kMaxLimit = 10'000;

Status apply_option(SecurityCommand& command, std::string_view option, std::string_view value) {
  if (option == "--config") {
    command.config_file = std::string(value);
  } else if (option == "--since") {
    auto range = fhir::parse_time_range(value);
    if (!range) return Error::invalid("--since: '" + std::string(value) + "' is not a date");
    command.since = from_ms(range->begin_ms);
  } else if (option == "--limit") {
    std::size_t n = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || end != value.data() + value.size() || n == 0) {
      return Error::invalid("--limit must be a positive whole number");
    }
    command.limit = std::min(n, kMaxLimit);
  } else {
    return Error::invalid("unknown option " + std::string(option));
  }
  return ok_status();
}

}  // namespace

Result<SecurityCommand> parse_security_command(std::span<const std::string_view> words) {
  if (words.empty() || words.front() != "events") {
    return Error::invalid(words.empty() ? "which command? events"
                                        : "unknown command 'security " +
                                              std::string(words.front()) + "': events");
  }
  SecurityCommand command;
  for (std::size_t i = 1; i < words.size(); ++i) {
    if (!words[i].starts_with("--")) {
      return Error::invalid("'security events' takes no argument '" + std::string(words[i]) + "'");
    }
    if (i + 1 == words.size()) return Error::invalid(std::string(words[i]) + " needs a value");
    if (auto s = apply_option(command, words[i], words[i + 1]); !s) return s.take_error();
    ++i;
  }
  if (command.config_file.empty()) return Error::invalid("--config FILE is required");
  return command;
}

int run_security_command(const SecurityCommand& command, const GatewayConfig& config,
                         std::ostream& out, std::ostream& err) {
  const auto file = config.data_dir / SecurityDatabase::kFileName;
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) {
    err << "no security database at " << file.string() << " (is data_dir right?)\n";
    return 1;
  }
  auto db = SecurityDatabase::open(config.data_dir);
  if (!db) {
    err << "cannot open the security database: " << db.error().message << "\n";
    return 1;
  }
  SecurityEventStore store(std::move(*db));
  auto events = store.list(command.since, command.limit);
  if (!events) {
    err << "cannot read the security events: " << events.error().message << "\n";
    return 1;
  }
  std::vector<std::vector<std::string>> rows = {{"time", "kind", "subject", "address", "detail"}};
  for (const auto& e : *events) {
    rows.push_back({format_time(e.at), std::string(to_string(e.kind)),
                    e.subject.empty() ? "-" : e.subject, e.address, e.detail});
  }
  print_table(rows, out);
  return 0;
}

}  // namespace cg::gateway
