#include "gateway/identity_commands.hpp"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <system_error>

#include "gateway/audit_emitter.hpp"
#include "gateway/security/access_policy.hpp"
#include "gateway/security/scopes.hpp"
#include "storage/resource_store.hpp"

namespace cg::gateway {
namespace {

// Applies one "--option value"; kInvalid for an option no identity command has.
Status apply_option(IdentityWords& words, std::string_view option, std::string_view value) {
  if (option == "--config") {
    words.config_file = std::string(value);
  } else if (option == "--role") {
    words.roles.emplace_back(value);
  } else if (option == "--scope") {
    words.scopes.emplace_back(value);
  } else if (option == "--fhir-user") {
    words.fhir_user = std::string(value);
  } else if (option == "--jwks") {
    words.jwks_file = std::filesystem::path(value);
  } else {
    return Error::invalid("unknown option " + std::string(option));
  }
  return ok_status();
}

bool has_space(std::string_view text) {
  return std::any_of(text.begin(), text.end(),
                     [](unsigned char c) { return c == ' ' || c == '\t' || c == '\n'; });
}

}  // namespace

std::string operator_name() {
  if (const char* sudo = std::getenv("SUDO_USER"); sudo != nullptr && *sudo != '\0') return sudo;
  if (const passwd* user = getpwuid(geteuid()); user != nullptr) return user->pw_name;
  return "uid " + std::to_string(geteuid());
}

void record_account_change(const GatewayConfig& config, AccountChange change, std::ostream& err) {
  change.operator_name = operator_name();
  storage::AuditStoreConfig where;
  where.directory = config.data_dir;
  where.reader_connections = 1;
  auto audits = storage::AuditStore::open(where);
  Status recorded = audits ? ok_status() : Status(audits.error());
  if (audits) {
    const std::int64_t now = to_ms(system_now());
    std::vector<storage::AuditRecord> one;
    one.push_back(
        self_audit_record(account_change_event({config.node_name, ""}, change, now), now));
    if (auto ids = (*audits)->append_and_wait(std::move(one)); !ids) recorded = ids.error();
    (*audits)->close();
  }
  if (!recorded) {
    err << "warning: the change is made, but it could not be recorded in the audit trail "
           "(audit.db): "
        << recorded.error().message << "\n";
  }
}

Result<IdentityWords> split_identity_words(std::span<const std::string_view> words) {
  IdentityWords split;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string_view word = words[i];
    if (word.starts_with("--")) {
      if (i + 1 == words.size()) return Error::invalid(std::string(word) + " needs a value");
      if (auto s = apply_option(split, word, words[++i]); !s) return s.take_error();
    } else if (split.verb.empty()) {
      split.verb = std::string(word);
    } else {
      split.arguments.emplace_back(word);
    }
  }
  if (split.verb.empty()) return Error::invalid("which command?");
  if (split.config_file.empty()) return Error::invalid("--config FILE is required");
  return split;
}

Result<std::string> checked_role(std::string_view name) {
  if (parse_role(name)) return std::string(name);
  return Error::invalid("unknown role '" + std::string(name) +
                        "': admin, clinician, device, peer or patient");
}

Result<std::string> checked_scope(std::string_view scope) {
  if (scope.empty() || has_space(scope)) {
    return Error::invalid("--scope takes one scope; repeat --scope for more");
  }
  auto parsed = parse_scopes(scope);
  if (!parsed) return parsed.take_error();
  if (!parsed->rejected.empty()) {
    const RejectedScope& bad = parsed->rejected.front();
    return Error::invalid("scope '" + bad.scope + "' refused: " + bad.reason);
  }
  return std::string(scope);
}

Result<std::vector<std::string>> checked_roles(const std::vector<std::string>& names) {
  for (const auto& name : names) {
    if (auto role = checked_role(name); !role) return role.take_error();
  }
  return names;
}

Result<std::vector<std::string>> checked_scopes(const std::vector<std::string>& scopes) {
  for (const auto& scope : scopes) {
    if (auto checked = checked_scope(scope); !checked) return checked.take_error();
  }
  return scopes;
}

Result<std::unique_ptr<IdentityStore>> open_identity_store(const GatewayConfig& config,
                                                           const IdentityConfig& identity,
                                                           bool create) {
  const auto file = config.data_dir / SecurityDatabase::kFileName;
  std::error_code ec;
  if (!create && !std::filesystem::exists(file, ec)) {
    return Error::not_found("no security database at " + file.string() +
                            " (is data_dir right? 'user add' or 'client add' creates it)");
  }
  auto db = SecurityDatabase::open(config.data_dir);
  if (!db) return db.take_error();
  return std::make_unique<IdentityStore>(std::move(*db), identity);
}

std::string format_time(TimePoint t) {
  return storage::format_instant(to_ms(t));
}

}  // namespace cg::gateway
