#include "gateway/user_commands.hpp"

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
    return Error::invalid("a user needs at least one --role (admin, clinician, device, peer)");
  }
  if (is_list && !words.arguments.empty()) return Error::invalid("'user list' takes no name");
  if (!is_list && words.arguments.size() != 1) {
    return Error::invalid("which user? give one username");
  }
  return ok_status();
}

std::vector<std::string> user_row(const User& user) {
  return {user.username, joined(user.roles), user.disabled ? "yes" : "no",
          user.bridged ? "yes" : "no", format_time(user.created_at)};
}

void print_users(std::span<const User> users, std::ostream& out) {
  std::vector<std::vector<std::string>> rows = {
      {"username", "roles", "disabled", "bridged", "created"}};
  for (const auto& user : users) rows.push_back(user_row(user));
  print_table(rows, out);
}

int add(IdentityStore& store, const UserCommand& command, const IdentityCommandEnv& env,
        std::ostream& out, std::ostream& err) {
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
  out << "added user " << user->username << "\n";
  print_users(std::span(&*user, 1), out);
  return 0;
}

int passwd(IdentityStore& store, const UserCommand& command, const IdentityCommandEnv& env,
           std::ostream& out, std::ostream& err) {
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
  out << "password of " << command.username << " changed\n";
  return 0;
}

int set_disabled(IdentityStore& store, const UserCommand& command, bool disabled, std::ostream& out,
                 std::ostream& err) {
  if (auto s = store.set_user_disabled(command.username, disabled); !s) {
    err << "user not changed: " << s.error().message << "\n";
    return 1;
  }
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
  switch (command.verb) {
    case UserCommand::Verb::kAdd:
      return add(**store, command, env, out, err);
    case UserCommand::Verb::kPasswd:
      return passwd(**store, command, env, out, err);
    case UserCommand::Verb::kDisable:
      return set_disabled(**store, command, true, out, err);
    case UserCommand::Verb::kEnable:
      return set_disabled(**store, command, false, out, err);
    case UserCommand::Verb::kList:
      return list(**store, out, err);
  }
  return 1;
}

}  // namespace cg::gateway
