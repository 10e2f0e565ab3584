#include "gateway/user_commands.hpp"

#include <algorithm>
#include <cctype>

namespace cg::gateway {
namespace {

Result<UserCommand::Verb> parse_verb(std::string_view word) {
  if (word == "add") return UserCommand::Verb::kAdd;
  if (word == "passwd") return UserCommand::Verb::kPasswd;
  if (word == "disable") return UserCommand::Verb::kDisable;
  if (word == "enable") return UserCommand::Verb::kEnable;
  if (word == "list") return UserCommand::Verb::kList;
  return Error::invalid("unknown command 'user " + std::string(word) +
                        "': add, passwd, disable, enable or list");
}

// Which options and arguments `verb` takes; kInvalid naming the first thing out of place.
Status check_shape(UserCommand::Verb verb, const IdentityWords& words) {
  const bool is_list = verb == UserCommand::Verb::kList;
  if (!words.scopes.empty() || words.jwks_file) {
    return Error::invalid("--scope and --jwks are options of 'client add'");
  }
  if (!words.roles.empty() && verb != UserCommand::Verb::kAdd) {
    return Error::invalid("--role is an option of 'user add' only");
  }
  if (verb == UserCommand::Verb::kAdd && words.roles.empty()) {
    return Error::invalid(
        "a user needs at least one --role (admin, clinician, device, peer, patient)");
  }
  if (words.fhir_user && verb != UserCommand::Verb::kAdd) {
    return Error::invalid("--fhir-user is an option of 'user add' only");
  }
  const bool patient_role =
      std::find(words.roles.begin(), words.roles.end(), "patient") != words.roles.end();
  if (patient_role && (!words.fhir_user || !words.fhir_user->starts_with("Patient/"))) {
    return Error::invalid("the patient role needs --fhir-user Patient/<id>: the record it reads");
  }
  if (is_list && !words.arguments.empty()) return Error::invalid("'user list' takes no name");
  if (!is_list && words.arguments.size() != 1) {
    return Error::invalid("which user? give one username");
  }
  return ok_status();
}

// "Type/id" of a type a SMART fhirUser may be, with a valid FHIR id.
Result<std::string> checked_fhir_user(std::string_view reference) {
  auto slash = reference.find('/');
  std::string_view type = reference.substr(0, slash);
  std::string_view id = slash == std::string_view::npos ? "" : reference.substr(slash + 1);
  const bool person_type = type == "Patient" || type == "Practitioner" ||
                           type == "PractitionerRole" || type == "RelatedPerson" ||
                           type == "Person";
  const bool valid_id =
      !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '-' || c == '.';
      });
  if (!person_type || !valid_id) {
    return Error::invalid(
        "--fhir-user must be Patient/<id>, Practitioner/<id>, "
        "PractitionerRole/<id>, RelatedPerson/<id> or Person/<id>");
  }
  return std::string(reference);
}

std::vector<std::string> user_row(const User& user) {
  // A bridged user's last upstream login; "-" once the upstream refused them.
  const std::string verified =
      !user.bridged ? "" : (user.verified_at ? format_time(*user.verified_at) : "-");
  return {user.username,
          joined(user.roles),
          user.disabled ? "yes" : "no",
          user.bridged ? "upstream" : "local",
          verified,
          format_time(user.created_at)};
}

void print_users(std::span<const User> users, std::ostream& out) {
  std::vector<std::vector<std::string>> rows = {
      {"username", "roles", "disabled", "origin", "verified upstream", "created"}};
  for (const auto& user : users) rows.push_back(user_row(user));
  print_table(rows, out);
}

AccountChange user_change(const UserCommand& command, AccountChange::What what) {
  AccountChange change;
  change.subject = command.username;
  change.what = what;
  if (what == AccountChange::What::kAdded) change.roles = command.roles;
  return change;
}

int add(IdentityStore& store, const UserCommand& command, const IdentityCommandEnv& env,
        const AccountChangeRecorder& record, std::ostream& out, std::ostream& err) {
  auto password = env.new_password();
  if (!password) {
    err << "user not added: " << password.error().message << "\n";
    return 1;
  }
  auto user = store.add_user(command.username, *password, command.roles);
  if (!user) {
    err << "user not added: " << user.error().message << "\n";
    return 1;
  }
  record(user_change(command, AccountChange::What::kAdded));
  if (command.fhir_user) {
    if (auto s = store.set_fhir_user(command.username, command.fhir_user); !s) {
      err << "user added, but its FHIR resource was not set: " << s.error().message << "\n";
      return 1;
    }
    user->fhir_user = command.fhir_user;
  }
  out << "added user " << user->username << "\n";
  print_users(std::span(&*user, 1), out);
  return 0;
}

int passwd(IdentityStore& store, const UserCommand& command, const IdentityCommandEnv& env,
           const AccountChangeRecorder& record, std::ostream& out, std::ostream& err) {
  // Asking for a password an unknown user would never get is a trap for a typo.
  if (auto found = store.find_user(command.username); !found) {
    err << "password not changed: " << found.error().message << "\n";
    return 1;
  }
  auto password = env.new_password();
  Status changed =
      password ? store.set_password(command.username, *password) : Status(password.take_error());
  if (!changed) {
    err << "password not changed: " << changed.error().message << "\n";
    return 1;
  }
  record(user_change(command, AccountChange::What::kPassword));
  out << "password of " << command.username << " changed\n";
  return 0;
}

int set_disabled(IdentityStore& store, const UserCommand& command, bool disabled,
                 const AccountChangeRecorder& record, std::ostream& out, std::ostream& err) {
  if (auto s = store.set_user_disabled(command.username, disabled); !s) {
    err << "user not changed: " << s.error().message << "\n";
    return 1;
  }
  record(user_change(command,
                     disabled ? AccountChange::What::kDisabled : AccountChange::What::kEnabled));
  out << "user " << command.username << (disabled ? " disabled" : " enabled") << "\n";
  return 0;
}

int list(IdentityStore& store, std::ostream& out, std::ostream& err) {
  auto users = store.list_users();
  if (!users) {
    err << "cannot read the users: " << users.error().message << "\n";
    return 1;
  }
  print_users(*users, out);
  return 0;
}

}  // namespace

Result<UserCommand> parse_user_command(std::span<const std::string_view> words) {
  if (words.empty()) return Error::invalid("which command? add, passwd, disable, enable or list");
  auto split = split_identity_words(words);
  if (!split) return split.take_error();
  auto verb = parse_verb(split->verb);
  if (!verb) return verb.take_error();
  if (auto s = check_shape(*verb, *split); !s) return s.take_error();
  auto roles = checked_roles(split->roles);
  if (!roles) return roles.take_error();
  UserCommand command;
  command.verb = *verb;
  command.config_file = std::move(split->config_file);
  if (!split->arguments.empty()) command.username = std::move(split->arguments.front());
  command.roles = std::move(*roles);
  if (split->fhir_user) {
    auto reference = checked_fhir_user(*split->fhir_user);
    if (!reference) return reference.take_error();
    command.fhir_user = std::move(*reference);
  }
  return command;
}

int run_user_command(const UserCommand& command, const GatewayConfig& config,
                     const IdentityCommandEnv& env, std::ostream& out, std::ostream& err) {
  const bool create = command.verb == UserCommand::Verb::kAdd;
  auto store = open_identity_store(config, env.identity, create);
  if (!store) {
    err << "cannot open the security database: " << store.error().message << "\n";
    return 1;
  }
  const AccountChangeRecorder record = [&](AccountChange change) {
    record_account_change(config, std::move(change), err);
  };
  switch (command.verb) {
    case UserCommand::Verb::kAdd:
      return add(**store, command, env, record, out, err);
    case UserCommand::Verb::kPasswd:
      return passwd(**store, command, env, record, out, err);
    case UserCommand::Verb::kDisable:
      return set_disabled(**store, command, true, record, out, err);
    case UserCommand::Verb::kEnable:
      return set_disabled(**store, command, false, record, out, err);
    case UserCommand::Verb::kList:
      return list(**store, out, err);
  }
  return 1;
}

}  // namespace cg::gateway
