// clinic-gateway: command-line entry point. Parses the command and hands over to the
// module that implements it; nothing else lives here.

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/allocator.hpp"
#include "gateway/audit_commands.hpp"
#include "gateway/backup_command.hpp"
#include "gateway/bulk_export.hpp"
#include "gateway/bulk_import.hpp"
#include "gateway/client_commands.hpp"
#include "gateway/config.hpp"
#include "gateway/daemon.hpp"
#include "gateway/hl7_commands.hpp"
#include "gateway/init_command.hpp"
#include "gateway/log.hpp"
#include "gateway/password_entry.hpp"
#include "gateway/reindex.hpp"
#include "gateway/restore_command.hpp"
#include "gateway/security/static_tokens.hpp"
#include "gateway/security_commands.hpp"
#include "gateway/status_command.hpp"
#include "gateway/user_commands.hpp"
#include "gateway/vacuum_command.hpp"

namespace {

constexpr const char* kUsage =
    "usage: clinic-gateway <command> [options]\n"
    "\n"
    "commands:\n"
    "  init [--config FILE] [--data-dir DIR] [--admin NAME] [--password-stdin]\n"
    "       [--http-address ADDRESS] [--http-port PORT] [--force] [--packaged]\n"
    "                          set up a new gateway: a commented config (default\n"
    "                          /etc/clinic-gateway/gateway.toml; kept if it exists unless\n"
    "                          --force), the data directory, security.db, the token signing\n"
    "                          key and a first admin (default 'admin') with a generated\n"
    "                          password printed once; safe to run again\n"
    "  serve --config FILE     run the gateway in the foreground (systemd: Type=notify)\n"
    "  check-config FILE       validate a configuration file and exit\n"
    "  reindex --config FILE   rebuild the search index of every resource (online)\n"
    "  export --ndjson DIR --config FILE [--types TYPE,TYPE...] [--since DATE]\n"
    "                          every current resource as FHIR Bulk Data NDJSON, one\n"
    "                          TYPE.ndjson per type and export.json (online, one snapshot;\n"
    "                          rerun to resume)\n"
    "  import PATH... --config FILE [--batch N] [--restart]\n"
    "                          load NDJSON files (a directory's *.ndjson) keeping ids, like\n"
    "                          PUT; unchanged content makes no new version (online; rerun to\n"
    "                          resume, --restart ignores import-progress.json)\n"
    "  hl7 list --config FILE [--since DATE] [--outcome AA|AE|AR] [--limit N] [--before ID]\n"
    "                          archived HL7v2 messages, newest first (no patient data)\n"
    "  hl7 show ID --config FILE\n"
    "                          one archived message, its answers and what they wrote\n"
    "  hl7 reprocess ID --config FILE\n"
    "                          run an archived message through its handler again (online)\n"
    "  user add NAME --role ROLE [--role ROLE...] --config FILE\n"
    "                          add a local user; the password is read from the terminal\n"
    "                          (twice, not shown) or, when stdin is not one, its first line\n"
    "  user passwd|disable|enable NAME --config FILE\n"
    "  user list --config FILE username, roles, disabled, origin (local or upstream),\n"
    "                          last verified upstream, created\n"
    "  client add NAME [--role ROLE...] --scope SCOPE [--scope SCOPE...] [--jwks FILE]\n"
    "             --config FILE\n"
    "                          add an OAuth client; prints its id and secret (once)\n"
    "  client rotate ID --config FILE\n"
    "                          a new secret for the client, printed once\n"
    "  client disable|enable ID --config FILE\n"
    "  client list --config FILE\n"
    "                          id, name, roles, scopes, auth method, disabled\n"
    "                          roles: admin, clinician, device, peer\n"
    "  audit export --config FILE [--since ID|DATE] [--until ID|DATE] [--out FILE]\n"
    "               [--include-unreadable] [--as-received]\n"
    "                          stored AuditEvents as NDJSON, oldest first (an ID bound is\n"
    "                          a record id: --since after it, --until up to it; a DATE is\n"
    "                          the receive time; --as-received: the messages as they\n"
    "                          arrived, base64)\n"
    "  audit prune --config FILE --before DATE\n"
    "                          delete older records, except those not yet forwarded\n"
    "  audit stats --config FILE\n"
    "                          counts, ids, receive times, forwarding cursors and queues\n"
    "  status --config FILE [--json]\n"
    "                          version, data directory and free space, each database's size,\n"
    "                          schema and row counts, whether the daemon runs, its listeners\n"
    "                          and last errors\n"
    "  backup FILE --config FILE\n"
    "                          the data directory in one tar file (mode 0600), taken while\n"
    "                          the gateway serves: consistent database copies, the signing\n"
    "                          key, the config, a manifest with checksums\n"
    "  restore FILE --config FILE\n"
    "                          check a backup and swap it in as the data directory (the gateway\n"
    "                          must be stopped); the old one is kept beside it and named\n"
    "  vacuum --config FILE    compact every database (the gateway must be stopped)\n"
    "  security events --config FILE [--since DATE] [--limit N]\n"
    "                          failed logins, lockouts and offline logins, newest first\n"
    "  new-token               print a new random bearer token and its sha256 for the config\n"
    "  hash-token TOKEN        print the sha256 of TOKEN for auth.token_sha256\n"
    "  version                 print the version\n";

// Loads and validates a config file, printing every problem with its key; nullopt when
// there were problems.
std::optional<cg::gateway::GatewayConfig> load_or_report(const std::string& file) {
  auto load = cg::gateway::load_config(file);
  for (const auto& p : load.problems) std::cerr << file << ": " << cg::gateway::describe(p) << "\n";
  if (!load.problems.empty()) return std::nullopt;
  return std::move(load.config);
}

// The config file of "<command> --config FILE"; nullopt (after printing usage) otherwise.
std::optional<std::string> config_argument(int argc, char** argv) {
  if (argc != 4 || std::string_view(argv[2]) != "--config") {
    std::cerr << kUsage;
    return std::nullopt;
  }
  return std::string(argv[3]);
}

int check_config(const std::string& file) {
  if (!load_or_report(file)) return 1;
  std::cout << file << ": ok\n";
  return 0;
}

int serve(int argc, char** argv) {
  auto file = config_argument(argc, argv);
  if (!file) return 2;
  auto config = load_or_report(*file);
  if (!config) return 1;
  return cg::gateway::serve(*config, *file);
}

int reindex(int argc, char** argv) {
  auto file = config_argument(argc, argv);
  if (!file) return 2;
  auto loaded = load_or_report(*file);
  if (!loaded) return 1;
  const auto& config = *loaded;
  cg::gateway::set_log_level(config.log_level);
  auto store = cg::storage::ResourceStore::open(cg::gateway::store_config(config));
  if (!store) {
    std::cerr << "cannot open the clinical store: " << store.error().message << "\n";
    return 1;
  }
  auto outcome = cg::gateway::reindex_all(**store, [](std::string_view type, std::size_t n) {
    std::cout << "reindexed " << n << " " << type << "\n";
  });
  (*store)->close();
  if (!outcome) {
    std::cerr << "reindex failed: " << outcome.error().message << "\n";
    return 1;
  }
  std::cout << "done: " << outcome->reindexed << " resources reindexed, " << outcome->skipped
            << " changed meanwhile (indexed by their own write)\n";
  return 0;
}

int security(int argc, char** argv) {
  const std::vector<std::string_view> words(argv + 2, argv + argc);
  auto command = cg::gateway::parse_security_command(words);
  if (!command) {
    std::cerr << "security: " << command.error().message << "\n" << kUsage;
    return 2;
  }
  auto config = load_or_report(command->config_file);
  if (!config) return 1;
  return cg::gateway::run_security_command(*command, *config, std::cout, std::cerr);
}

int hl7(int argc, char** argv) {
  const std::vector<std::string_view> words(argv + 2, argv + argc);
  auto command = cg::gateway::parse_hl7_command(words);
  if (!command) {
    std::cerr << "hl7: " << command.error().message << "\n" << kUsage;
    return 2;
  }
  auto config = load_or_report(command->config_file);
  if (!config) return 1;
  cg::gateway::set_log_level(config->log_level);
  return cg::gateway::run_hl7_command(*command, *config, std::cout, std::cerr);
}

int audit(int argc, char** argv) {
  const std::vector<std::string_view> words(argv + 2, argv + argc);
  auto command = cg::gateway::parse_audit_command(words);
  if (!command) {
    std::cerr << "audit: " << command.error().message << "\n" << kUsage;
    return 2;
  }
  auto config = load_or_report(command->config_file);
  if (!config) return 1;
  cg::gateway::set_log_level(config->log_level);
  return cg::gateway::run_audit_command(*command, *config, std::cout, std::cerr);
}

// "status", "backup", "restore", "vacuum": parse with `parse` (its messages name the
// command), run with `run` on the config.
template <class Parse, class Run>
int operations(int argc, char** argv, Parse parse, Run run) {
  const std::vector<std::string_view> words(argv + 2, argv + argc);
  auto command = parse(std::span<const std::string_view>(words));
  if (!command) {
    std::cerr << command.error().message << "\n" << kUsage;
    return 2;
  }
  auto config = load_or_report(command->config_file);
  if (!config) return 1;
  cg::gateway::set_log_level(config->log_level);
  return run(*command, *config, std::cout, std::cerr);
}

// The real Argon2 cost, and new passwords from the terminal (or stdin's first line).
cg::gateway::IdentityCommandEnv terminal_env() {
  cg::gateway::IdentityCommandEnv env;
  env.new_password = [] {
    return cg::gateway::read_new_password(STDIN_FILENO, std::cin, std::cerr);
  };
  return env;
}

int init(int argc, char** argv) {
  const std::vector<std::string_view> words(argv + 2, argv + argc);
  auto command = cg::gateway::parse_init_command(words);
  if (!command) {
    std::cerr << "init: " << command.error().message << "\n" << kUsage;
    return 2;
  }
  return cg::gateway::run_init_command(*command, terminal_env(), std::cout, std::cerr);
}

// "export …" and "import …": parse with `parse`, run with `run` on the config's data.
template <class Parse, class Run>
int bulk(std::string_view what, int argc, char** argv, Parse parse, Run run) {
  const std::vector<std::string_view> words(argv + 2, argv + argc);
  auto command = parse(std::span<const std::string_view>(words));
  if (!command) {
    std::cerr << what << ": " << command.error().message << "\n" << kUsage;
    return 2;
  }
  auto config = load_or_report(command->config_file);
  if (!config) return 1;
  cg::gateway::set_log_level(config->log_level);
  return run(*command, *config, std::cout, std::cerr);
}

// "user …" and "client …": parse with `parse`, run with `run` on the config's security.db.
template <class Parse, class Run>
int identity(std::string_view what, int argc, char** argv, Parse parse, Run run) {
  const std::vector<std::string_view> words(argv + 2, argv + argc);
  auto command = parse(std::span<const std::string_view>(words));
  if (!command) {
    std::cerr << what << ": " << command.error().message << "\n" << kUsage;
    return 2;
  }
  auto config = load_or_report(command->config_file);
  if (!config) return 1;
  cg::gateway::set_log_level(config->log_level);
  return run(*command, *config, terminal_env(), std::cout, std::cerr);
}

}  // namespace

int main(int argc, char** argv) {
  std::string_view cmd = argc > 1 ? argv[1] : "";
  if (cmd == "serve") return serve(argc, argv);
  if (cmd == "init") return init(argc, argv);
  if (cmd == "check-config" && argc == 3) return check_config(argv[2]);
  if (cmd == "reindex") return reindex(argc, argv);
  if (cmd == "hl7") return hl7(argc, argv);
  if (cmd == "export") {
    return bulk("export", argc, argv, cg::gateway::parse_bulk_export_command,
                cg::gateway::run_bulk_export_command);
  }
  if (cmd == "import") {
    return bulk("import", argc, argv, cg::gateway::parse_bulk_import_command,
                cg::gateway::run_bulk_import_command);
  }
  if (cmd == "security") return security(argc, argv);
  if (cmd == "audit") return audit(argc, argv);
  if (cmd == "status") {
    return operations(argc, argv, cg::gateway::parse_status_command,
                      cg::gateway::run_status_command);
  }
  if (cmd == "backup") {
    return operations(argc, argv, cg::gateway::parse_backup_command,
                      cg::gateway::run_backup_command);
  }
  if (cmd == "restore") {
    return operations(argc, argv, cg::gateway::parse_restore_command,
                      [](const auto& c, const auto& config, auto& out, auto& err) {
                        return cg::gateway::run_restore_command(c, config, out, err);
                      });
  }
  if (cmd == "vacuum") {
    return operations(argc, argv, cg::gateway::parse_vacuum_command,
                      cg::gateway::run_vacuum_command);
  }
  if (cmd == "user") {
    return identity("user", argc, argv, cg::gateway::parse_user_command,
                    cg::gateway::run_user_command);
  }
  if (cmd == "client") {
    return identity("client", argc, argv, cg::gateway::parse_client_command,
                    cg::gateway::run_client_command);
  }
  if (cmd == "hash-token" && argc == 3) {
    std::cout << cg::gateway::sha256_hex(argv[2]) << "\n";
    return 0;
  }
  if (cmd == "new-token" && argc == 2) {
    auto token = cg::gateway::generate_token();
    std::cout << "token:  " << token << "\nsha256: " << cg::gateway::sha256_hex(token) << "\n";
    return 0;
  }
  if (cmd == "version" || cmd == "--version") {
    std::cout << "clinic-gateway " CG_VERSION "\n"
              << "allocator: " << cg::gateway::allocator_description() << "\n";
    return 0;
  }
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::cout << kUsage;
    return 0;
  }
  std::cerr << kUsage;
  return 2;
}
