#pragma once
// What the `user` and `client` commands (user_commands.hpp, client_commands.hpp) share: the
// words they accept, the role and scope checks and opening security.db in the config's data
// directory (their tables: text_table.hpp). The commands run in their own process while
// the daemon serves, like `reindex`: security.db is SQLite WAL, and the identity store reads
// every row from the file, so the daemon sees an added user or a disabled client at its
// next login or token request.
//
// Nothing here prints a password or a hash; a client secret is printed by client add and
// client rotate only, once. Every change (add, passwd, rotate, disable, enable) is recorded
// in the audit trail: written straight into data_dir/audit.db (login_audit.hpp,
// account_change_event), beside a running daemon like security.db.
//
// Thread-safety: one call at a time (main()).

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/config.hpp"
#include "gateway/login_audit.hpp"
#include "gateway/security/identity_store.hpp"
#include "gateway/text_table.hpp"
#include "protocols/fhir/model/result.hpp"

namespace cg::gateway {

// What an identity command needs beyond its words and the config. main() passes the
// defaults and read_new_password() on the terminal; tests pass cheap Argon2 parameters and
// a password they choose.
struct IdentityCommandEnv {
  IdentityConfig identity;
  std::function<Result<std::string>()> new_password;  // for user add and user passwd
};

// The words after "user" or "client", split: the verb, its positional arguments and the
// options it may take (--config once; --role and --scope repeatable; --jwks once).
struct IdentityWords {
  std::string verb;
  std::vector<std::string> arguments;
  std::string config_file;
  std::vector<std::string> roles;
  std::vector<std::string> scopes;
  std::optional<std::filesystem::path> jwks_file;
  std::optional<std::string> fhir_user;  // --fhir-user Patient/123 (user add)
};

// kInvalid for an option without a value, an unknown option, or a missing --config.
Result<IdentityWords> split_identity_words(std::span<const std::string_view> words);

// `name` when it is a role of access_policy.hpp ("admin", "clinician", "device", "peer");
// kInvalid listing the roles otherwise.
Result<std::string> checked_role(std::string_view name);
// `scope` when parse_scopes() takes it whole as one scope; kInvalid with parse_scopes'
// reason for a rejected scope, or for a value that is not exactly one scope.
Result<std::string> checked_scope(std::string_view scope);
// checked_role / checked_scope over a list, failing at the first bad one.
Result<std::vector<std::string>> checked_roles(const std::vector<std::string>& names);
Result<std::vector<std::string>> checked_scopes(const std::vector<std::string>& scopes);

// The identity store on `config.data_dir`/security.db. With `create` false a missing file
// is an error (kNotFound naming the path: a wrong data_dir is likelier than an empty
// store); with `create` true it is made, mode 0600, like the daemon would.
Result<std::unique_ptr<IdentityStore>> open_identity_store(const GatewayConfig& config,
                                                           const IdentityConfig& identity,
                                                           bool create);

// Records `change` in config.data_dir/audit.db (created when missing) and waits for the
// commit; the operator is $SUDO_USER when set, else the effective user (its uid without a
// passwd entry). The change is made
// already: a failure is a warning on `err`, not an error of the command.
void record_account_change(const GatewayConfig& config, AccountChange change, std::ostream& err);

// Who ran a command, for its audit records: the person behind sudo when there is one, else
// the effective user.
std::string operator_name();
using AccountChangeRecorder = std::function<void(AccountChange)>;

// "2026-01-05T08:00:00.000Z".
std::string format_time(TimePoint t);
}  // namespace cg::gateway
