#pragma once
// The `init` command: sets a new gateway up in one step, for a clinic's IT person and for
// the package's postinst:
//   init --config FILE [--data-dir DIR] [--admin NAME] [--password-stdin]
//        [--http-address ADDRESS] [--http-port PORT] [--force] [--packaged]
// 1. FILE (default /etc/clinic-gateway/gateway.toml): a commented gateway.toml with the
//    defaults (initial_config_text), mode 0640.
//    An existing FILE is kept and used (--force replaces it); its data_dir wins over
//    --data-dir.
// 2. The data directory (made with mode 0700), security.db (0600) and the token signing key
//    (keys/token-signing-key.pem, 0600 in 0700), through the functions the daemon uses.
// 3. The first admin user (role admin) with a generated password printed once, or one read
//    with --password-stdin (password_entry.hpp) — unless a user with the role admin exists;
//    then it says so and adds nobody.
// 4. The next steps: how to start the gateway and get a token.
// Every step does only what is missing, so running it again is harmless.
// Thread-safety: one call at a time (main()).

#include <cstdint>
#include <filesystem>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>

#include "gateway/identity_commands.hpp"

namespace cg::gateway {

inline constexpr std::string_view kDefaultConfigFile = "/etc/clinic-gateway/gateway.toml";
inline constexpr std::string_view kDefaultAdmin = "admin";

struct InitCommand {
  std::filesystem::path config_file;
  std::filesystem::path data_dir = "/var/lib/clinic-gateway";
  bool data_dir_given = false;
  std::string admin{kDefaultAdmin};
  bool password_stdin = false;  // else a generated password
  std::string http_address = "127.0.0.1";
  std::uint16_t http_port = 8080;
  bool force = false;  // replace an existing config file
  // --packaged: run by the Debian package's postinst, the service about to start: the next
  // steps fit that install (HTTPS with its certificate, DNS-SD) and are printed only when
  // this run added the first admin, so an upgrade prints nothing new.
  bool packaged = false;
};

// Parses the words after "init"; --config and --data-dir default to the packaged paths.
// Errors: kInvalid saying what is wrong (an unknown option or a word that is none, a value
// missing, a port out of range).
Result<InitCommand> parse_init_command(std::span<const std::string_view> words);

// What initial_config_text writes; data_dir should be absolute.
struct InitialConfig {
  std::filesystem::path data_dir;
  std::string http_address;
  std::uint16_t http_port = 8080;
};

// The gateway.toml `init` writes: every section with its defaults and a comment on what to
// change, the TLS settings commented out. load_config() reads it with no problem.
std::string initial_config_text(const InitialConfig& settings);

// A password for the first admin: 24 characters in groups of four from an alphabet without
// look-alikes (no 0/o, 1/l/i), about 119 bits from the OpenSSL CSPRNG. kInternal if the
// CSPRNG fails.
Result<std::string> generate_password();

// Runs `command`: what it did and the next steps to `out` (with the generated password,
// once), problems to `err`. env.new_password is read for --password-stdin only; env.identity
// sets the Argon2 cost. Returns 0 when the gateway is set up (also when nothing was left to
// do), 1 otherwise (config unreadable or with problems, file system or storage errors, a
// password the policy refuses).
int run_init_command(const InitCommand& command, const IdentityCommandEnv& env, std::ostream& out,
                     std::ostream& err);

}  // namespace cg::gateway
