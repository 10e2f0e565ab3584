#pragma once
// The `client` commands: the operator enrols the devices and applications that get tokens
// with client_credentials (docs/security.md, "Enrolling users and clients").
//   client add NAME [--role R…] --scope S [--scope S…] [--jwks FILE] --config F
//       prints the new client id and, without --jwks, its secret: once, for the operator to
//       store then; only a hash of it is kept. With --jwks (a public JWK Set, for
//       private_key_jwt) the client has no secret.
//   client rotate ID --config F       a new secret, printed once; the old one stops at once
//   client disable ID / client enable ID --config F
//   client list --config F            id, name, roles, scopes, auth method, disabled
// Roles are access_policy.hpp's; each scope must parse whole (scopes.hpp), a rejected one
// is refused with parse_scopes' reason. How they run beside the daemon:
// identity_commands.hpp.
// Thread-safety: one call at a time (main()).

#include <filesystem>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/identity_commands.hpp"

namespace cg::gateway {

// A JWK Set file larger than this is refused: a few public keys are a few KiB.
inline constexpr std::uintmax_t kMaxJwksFileBytes = 64 * 1024;

struct ClientCommand {
  enum class Verb { kAdd, kRotate, kDisable, kEnable, kList };
  Verb verb = Verb::kList;
  std::string config_file;
  std::string name;       // add
  std::string client_id;  // rotate, disable, enable
  std::vector<std::string> roles;
  std::vector<std::string> scopes;  // add: at least one
  std::optional<std::filesystem::path> jwks_file;
};

// Parses the words after "client". Errors: kInvalid saying what is wrong or missing,
// including an unknown role or a refused scope.
Result<ClientCommand> parse_client_command(std::span<const std::string_view> words);

// Runs `command` on the security.db of `config`: what it did to `out` (the secret, for add
// and rotate), problems to `err`. Returns 0 when done, 1 otherwise (unreadable or invalid
// JWK Set, no such client, no security.db for anything but add, storage errors).
int run_client_command(const ClientCommand& command, const GatewayConfig& config,
                       const IdentityCommandEnv& env, std::ostream& out, std::ostream& err);

}  // namespace cg::gateway
