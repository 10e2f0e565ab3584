#pragma once
// The `user` commands: the operator enrols and manages the people who log in.
//   user add NAME --role R [--role R…] [--fhir-user Patient/ID] --config F
//                                                   a local user; prints it
//   user passwd NAME --config F                     a new password
//   user disable NAME --config F / user enable NAME --config F
//   user list --config F                            username, roles, disabled, origin (local or
//                                                   upstream), verified upstream, created
// add and passwd read the password with read_new_password() (password_entry.hpp), and the
// identity store applies its policy (check_password_policy). Hashes are never printed.
// How they run beside the daemon: identity_commands.hpp.
// Thread-safety: one call at a time (main()).

#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/identity_commands.hpp"

namespace cg::gateway {

struct UserCommand {
  enum class Verb { kAdd, kPasswd, kDisable, kEnable, kList };
  Verb verb = Verb::kList;
  std::string config_file;
  std::string username;            // all but list
  std::vector<std::string> roles;  // add: at least one, each a role of access_policy.hpp
  // add: the FHIR resource the user is ("Practitioner/7", "Patient/123": the SMART fhirUser
  // claim). The patient role needs a Patient here: it is the patient context of its tokens.
  std::optional<std::string> fhir_user;
};

// Parses the words after "user". Errors: kInvalid saying what is wrong or missing.
Result<UserCommand> parse_user_command(std::span<const std::string_view> words);

// Runs `command` on the security.db of `config`: what it did to `out`, problems to `err`.
// Returns 0 when done, 1 otherwise (password refused or mistyped, name taken, no such
// user, no security.db for anything but add, storage errors).
int run_user_command(const UserCommand& command, const GatewayConfig& config,
                     const IdentityCommandEnv& env, std::ostream& out, std::ostream& err);

}  // namespace cg::gateway
