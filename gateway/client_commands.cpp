#include "gateway/client_commands.hpp"

#include <fstream>
#include <iterator>
#include <system_error>

#include "gateway/hl7_archive_report.hpp"

namespace cg::gateway {
namespace {

constexpr std::string_view kStoreItNow =
    "store the secret now: it is not shown again (only its hash is kept; "
    "'client rotate' makes a new one)";

Result<ClientCommand::Verb> parse_verb(std::string_view word) {
  if (word == "add") return ClientCommand::Verb::kAdd;
  if (word == "rotate") return ClientCommand::Verb::kRotate;
  if (word == "disable") return ClientCommand::Verb::kDisable;
  if (word == "enable") return ClientCommand::Verb::kEnable;
  if (word == "list") return ClientCommand::Verb::kList;
  return Error::invalid("unknown command 'client " + std::string(word) +
                        "': add, rotate, disable, enable or list");
}

// Which options and arguments `verb` takes; kInvalid naming the first thing out of place.
Status check_shape(ClientCommand::Verb verb, const IdentityWords& words) {
  const bool is_add = verb == ClientCommand::Verb::kAdd;
  const bool is_list = verb == ClientCommand::Verb::kList;
  if (!is_add && (!words.roles.empty() || !words.scopes.empty() || words.jwks_file)) {
    return Error::invalid("--role, --scope and --jwks are options of 'client add' only");
  }
  if (is_add && words.scopes.empty()) {
    return Error::invalid("a client needs at least one --scope (e.g. system/Patient.rs)");
  }
  if (is_list && !words.arguments.empty()) return Error::invalid("'client list' takes no id");
  if (is_add && words.arguments.size() != 1) {
    return Error::invalid("name the client: one word, quoted if it has spaces");
  }
  if (!is_add && !is_list && words.arguments.size() != 1) {
    return Error::invalid("which client? give its id (from 'client list')");
  }
  return ok_status();
}

Result<std::string> read_jwks(const std::filesystem::path& file) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(file, ec);
  if (ec) return Error::unavailable("cannot read " + file.string() + ": " + ec.message());
  if (size > kMaxJwksFileBytes) {
    return Error::too_large(file.string() + " is over " + std::to_string(kMaxJwksFileBytes) +
                            " bytes: a JWK Set of public keys is a few KiB");
  }
  std::ifstream in(file, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) return Error::unavailable("cannot read " + file.string());
  return text;
}

std::string auth_method(const Client& client) {
  if (client.jwks) return "private_key_jwt";
  return client.has_secret ? "client_secret" : "none";
}

std::vector<std::string> client_row(const Client& client) {
  return {client.client_id,      terminal_safe(client.name), joined(client.roles),
          joined(client.scopes), auth_method(client),        client.disabled ? "yes" : "no"};
}

void print_secret(std::string_view secret, std::ostream& out) {
  out << "client_secret: " << secret << "\n" << kStoreItNow << "\n";
}

AccountChange client_change(std::string client_id, AccountChange::What what) {
  AccountChange change;
  change.client = true;
  change.subject = std::move(client_id);
  change.what = what;
  return change;
}

int add(IdentityStore& store, const ClientCommand& command, const AccountChangeRecorder& record,
        std::ostream& out, std::ostream& err) {
  std::optional<std::string> jwks;
  if (command.jwks_file) {
    auto text = read_jwks(*command.jwks_file);
    if (!text) {
      err << "client not added: " << text.error().message << "\n";
      return 1;
    }
    jwks = std::move(*text);
  }
  auto made = store.add_client(command.name, command.roles, command.scopes, std::move(jwks));
  if (!made) {
    err << "client not added: " << made.error().message << "\n";
    return 1;
  }
  AccountChange added = client_change(made->client_id, AccountChange::What::kAdded);
  added.roles = command.roles;
  record(std::move(added));
  out << "added client " << terminal_safe(command.name) << "\nclient_id: " << made->client_id
      << "\n";
  if (!made->secret.empty()) print_secret(made->secret, out);
  return 0;
}

int rotate(IdentityStore& store, const ClientCommand& command, const AccountChangeRecorder& record,
           std::ostream& out, std::ostream& err) {
  auto secret = store.rotate_client_secret(command.client_id);
  if (!secret) {
    err << "secret not rotated: " << secret.error().message << "\n";
    return 1;
  }
  record(client_change(command.client_id, AccountChange::What::kPassword));
  out << "client_id: " << command.client_id << "\n";
  print_secret(*secret, out);
  return 0;
}

int set_disabled(IdentityStore& store, const ClientCommand& command, bool disabled,
                 const AccountChangeRecorder& record, std::ostream& out, std::ostream& err) {
  if (auto s = store.set_client_disabled(command.client_id, disabled); !s) {
    err << "client not changed: " << s.error().message << "\n";
    return 1;
  }
  record(client_change(command.client_id,
                       disabled ? AccountChange::What::kDisabled : AccountChange::What::kEnabled));
  out << "client " << command.client_id << (disabled ? " disabled" : " enabled") << "\n";
  return 0;
}

int list(IdentityStore& store, std::ostream& out, std::ostream& err) {
  auto clients = store.list_clients();
  if (!clients) {
    err << "cannot read the clients: " << clients.error().message << "\n";
    return 1;
  }
  std::vector<std::vector<std::string>> rows = {
      {"client_id", "name", "roles", "scopes", "auth", "disabled"}};
  for (const auto& client : *clients) rows.push_back(client_row(client));
  print_table(rows, out);
  return 0;
}

}  // namespace

Result<ClientCommand> parse_client_command(std::span<const std::string_view> words) {
  if (words.empty()) return Error::invalid("which command? add, rotate, disable, enable or list");
  auto split = split_identity_words(words);
  if (!split) return split.take_error();
  auto verb = parse_verb(split->verb);
  if (!verb) return verb.take_error();
  if (auto s = check_shape(*verb, *split); !s) return s.take_error();
  auto roles = checked_roles(split->roles);
  if (!roles) return roles.take_error();
  auto scopes = checked_scopes(split->scopes);
  if (!scopes) return scopes.take_error();
  ClientCommand command;
  command.verb = *verb;
  command.config_file = std::move(split->config_file);
  std::string argument = split->arguments.empty() ? "" : std::move(split->arguments.front());
  (*verb == ClientCommand::Verb::kAdd ? command.name : command.client_id) = std::move(argument);
  command.roles = std::move(*roles);
  command.scopes = std::move(*scopes);
  command.jwks_file = std::move(split->jwks_file);
  return command;
}

int run_client_command(const ClientCommand& command, const GatewayConfig& config,
                       const IdentityCommandEnv& env, std::ostream& out, std::ostream& err) {
  const bool create = command.verb == ClientCommand::Verb::kAdd;
  auto store = open_identity_store(config, env.identity, create);
  if (!store) {
    err << "cannot open the security database: " << store.error().message << "\n";
    return 1;
  }
  const AccountChangeRecorder record = [&](AccountChange change) {
    record_account_change(config, std::move(change), err);
  };
  switch (command.verb) {
    case ClientCommand::Verb::kAdd:
      return add(**store, command, record, out, err);
    case ClientCommand::Verb::kRotate:
      return rotate(**store, command, record, out, err);
    case ClientCommand::Verb::kDisable:
      return set_disabled(**store, command, true, record, out, err);
    case ClientCommand::Verb::kEnable:
      return set_disabled(**store, command, false, record, out, err);
    case ClientCommand::Verb::kList:
      return list(**store, out, err);
  }
  return 1;
}

}  // namespace cg::gateway
