#include "gateway/init_command.hpp"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <system_error>
#include <vector>

#include "gateway/oauth_endpoints.hpp"

namespace cg::gateway {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kStorePasswordNow =
    "store the password now: it is not shown again (only its hash is kept; "
    "'clinic-gateway user passwd' sets a new one)";

// Unambiguous when read aloud or copied by hand: no 0/O/o, 1/l/I/i.
constexpr std::string_view kPasswordAlphabet = "23456789abcdefghjkmnpqrstuvwxyz";
constexpr std::size_t kPasswordLength = 24;

Result<std::uint16_t> parse_port(std::string_view text) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > 65535) {
    return Error::invalid("--http-port takes a port number from 0 to 65535");
  }
  return static_cast<std::uint16_t>(value);
}

// Applies "--option value"; kInvalid for an option init does not have.
Status apply_option(InitCommand& command, std::string_view option, std::string_view value) {
  if (option == "--config") {
    command.config_file = fs::path(value);
  } else if (option == "--data-dir") {
    command.data_dir = fs::path(value);
    command.data_dir_given = true;
  } else if (option == "--admin") {
    command.admin = std::string(value);
  } else if (option == "--http-address") {
    command.http_address = std::string(value);
  } else if (option == "--http-port") {
    auto port = parse_port(value);
    if (!port) return port.take_error();
    command.http_port = *port;
  } else {
    return Error::invalid("unknown option " + std::string(option));
  }
  return ok_status();
}

// A TOML basic string: quotes, backslashes and control characters escaped.
std::string toml_string(std::string_view text) {
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      quoted += '\\';
      quoted += c;
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      quoted += "\\u00";
      quoted += kHex[(c >> 4) & 0xf];
      quoted += kHex[c & 0xf];
    } else {
      quoted += c;
    }
  }
  return quoted + "\"";
}

Status write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error::unavailable(std::string("write failed: ") + std::strerror(errno));
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return ok_status();
}

// Writes `text` to `file` with mode 0640 whatever the umask: a temporary file beside it,
// synced, then linked into place (never over an existing file) or, with `replace`, renamed
// over it. A reader never sees half a config. kConflict when `file` exists and !replace.
Status write_config_file(const fs::path& file, std::string_view text, bool replace) {
  std::error_code ec;
  if (!file.parent_path().empty()) fs::create_directories(file.parent_path(), ec);
  if (ec)
    return Error::unavailable("cannot create " + file.parent_path().string() + ": " + ec.message());
  std::string temporary = file.string() + ".XXXXXX";
  const int fd = ::mkostemp(temporary.data(), O_CLOEXEC);
  if (fd < 0)
    return Error::unavailable("cannot write " + file.string() + ": " + std::strerror(errno));
  Status written = ::fchmod(fd, 0640) == 0 ? write_all(fd, text)
                                           : Status(Error::unavailable(std::strerror(errno)));
  if (written && ::fsync(fd) != 0) written = Error::unavailable(std::strerror(errno));
  ::close(fd);
  if (written) {
    const int placed = replace ? ::rename(temporary.c_str(), file.c_str())
                               : ::link(temporary.c_str(), file.c_str());
    if (placed != 0 && errno == EEXIST) {
      written = Error::conflict(file.string() + " exists");
    } else if (placed != 0) {
      written = Error::unavailable(std::strerror(errno));
    }
  }
  ::unlink(temporary.c_str());  // after a rename it is gone already
  if (!written && written.error().kind != ErrorKind::kConflict) {
    return Error::unavailable("cannot write " + file.string() + ": " + written.error().message);
  }
  return written;
}

std::string octal_mode(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "?";
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  return text;
}

// Step 1: the config file, written or kept; then read the way `serve` will read it.
Result<GatewayConfig> config_step(const InitCommand& command, std::ostream& out,
                                  std::ostream& err) {
  const fs::path& file = command.config_file;
  std::error_code ec;
  const bool existed = fs::exists(file, ec);
  if (existed && !command.force) {
    out << "config: kept " << file.string() << " (it exists; --force writes a new one)\n";
  } else {
    const InitialConfig settings{fs::absolute(command.data_dir), command.http_address,
                                 command.http_port};
    if (Status s = write_config_file(file, initial_config_text(settings), command.force); !s) {
      const bool raced = s.error().kind == ErrorKind::kConflict;
      err << "config not written: " << s.error().message
          << (raced ? " (created meanwhile; run init again to keep it)" : "") << "\n";
      return s.take_error();
    }
    out << "config: " << (existed ? "replaced " : "wrote ") << file.string() << " (mode 0640)\n";
  }
  ConfigLoad load = load_config(file);
  for (const auto& p : load.problems) err << file.string() << ": " << describe(p) << "\n";
  if (!load.problems.empty()) return Error::invalid("the config has problems");
  if (existed && !command.force && command.data_dir_given &&
      fs::absolute(command.data_dir) != load.config.data_dir) {
    err << "note: " << file.string() << " sets node.data_dir = " << load.config.data_dir.string()
        << "; --data-dir " << command.data_dir.string() << " is not used\n";
  }
  return std::move(load.config);
}

// Step 2: the data directory, then security.db and the signing key inside it.
Result<std::unique_ptr<IdentityStore>> data_step(const GatewayConfig& config,
                                                 const IdentityCommandEnv& env, std::ostream& out,
                                                 std::ostream& err) {
  const fs::path& dir = config.data_dir;
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec || ::chmod(dir.c_str(), 0700) != 0) {
      err << "cannot create the data directory " << dir.string() << ": "
          << (ec ? ec.message() : std::strerror(errno)) << "\n";
      return Error::unavailable("data directory");
    }
    out << "data directory: created " << dir.string() << " (mode 0700)\n";
  } else {
    out << "data directory: " << dir.string() << " (exists, mode " << octal_mode(dir) << ")\n";
  }
  auto store = open_identity_store(config, env.identity, /*create=*/true);
  if (!store) {
    err << "cannot open the security database: " << store.error().message << "\n";
    return store.take_error();
  }
  out << "security database: " << (dir / SecurityDatabase::kFileName).string() << " (mode 0600)\n";
  const fs::path key_file = token_signing_key_file(dir);
  const bool had_key = fs::exists(key_file, ec);
  auto key = open_token_signing_key(dir);
  if (!key) {
    err << "cannot set up the token signing key " << key_file.string() << ": "
        << key.error().message << "\n";
    return key.take_error();
  }
  out << "token signing key: " << (had_key ? "kept " : "created ") << key_file.string()
      << " (mode 0600, kid " << key->kid() << ")\n";
  return store;
}

std::vector<std::string> admins(const std::vector<User>& users) {
  std::vector<std::string> names;
  for (const auto& user : users) {
    if (std::find(user.roles.begin(), user.roles.end(), "admin") != user.roles.end()) {
      names.push_back(user.username);
    }
  }
  return names;
}

// Step 3: the first admin, unless there is one.
// Its value: whether it added one.
Result<bool> admin_step(IdentityStore& store, const InitCommand& command,
                        const IdentityCommandEnv& env, std::ostream& out, std::ostream& err) {
  auto users = store.list_users();
  if (!users) {
    err << "cannot read the users: " << users.error().message << "\n";
    return users.take_error();
  }
  if (auto existing = admins(*users); !existing.empty()) {
    out << "admin user: none added; " << joined(existing)
        << (existing.size() == 1 ? " has" : " have") << " the admin role already\n";
    return false;
  }
  auto password = command.password_stdin ? env.new_password() : generate_password();
  if (!password) {
    err << "admin user not added: " << password.error().message << "\n";
    return password.take_error();
  }
  auto user = store.add_user(command.admin, *password, {"admin"});
  if (!user) {
    err << "admin user not added: " << user.error().message << "\n";
    return user.take_error();
  }
  out << "admin user: added " << user->username << " (role admin)\n";
  if (!command.password_stdin)
    out << "password: " << *password << "\n" << kStorePasswordNow << "\n";
  return true;
}

// The URL an operator on the gateway itself reaches it by.
std::string local_url(const GatewayConfig& config) {
  if (!config.http.public_base_url.empty()) return config.http.public_base_url;
  std::string host = config.http.address;
  if (host == "0.0.0.0" || host.empty()) host = "127.0.0.1";
  if (host == "::") host = "::1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  const std::string port = config.http.port == 0 ? "PORT" : std::to_string(config.http.port);
  return std::string(config.http.tls.certificate ? "https://" : "http://") + host + ":" + port;
}

// After a package install the service starts by itself, on HTTPS with the certificate the
// postinst made: say how to reach it from the gateway and from the LAN.
void print_packaged_next_steps(const InitCommand& command, const GatewayConfig& config,
                               std::ostream& out) {
  const std::string file = command.config_file.string();
  const std::string url = local_url(config);
  std::string curl = "curl -s";
  if (config.http.tls.certificate) curl += " --cacert " + config.http.tls.certificate->string();
  out << "\nnext steps:\n"
      << "  is it running:  systemctl status clinic-gateway; clinic-gateway status --config "
      << file << "\n"
      << "  check it:       " << curl << " " << url << "/health\n"
      << "  get a token:    read -rs PW && printf '%s' \"$PW\" | " << curl << " " << url
      << "/auth/token \\\n"
      << "                    -d grant_type=password -d username=" << command.admin
      << " --data-urlencode password@- \\\n"
      << "                    --data-urlencode 'scope=user/*.cruds'\n"
      << "  enrol people and devices:\n"
      << "                  clinic-gateway user add NAME --role clinician --config " << file << "\n"
      << "                  clinic-gateway client add NAME --scope system/Patient.rs --config "
      << file << "\n"
      << "  tablets on the LAN find it by DNS-SD: avahi-browse -rt _clinic-gateway._tcp\n"
      << "  settings: " << file << " (then systemctl restart clinic-gateway)\n";
}

void print_next_steps(const InitCommand& command, const GatewayConfig& config, std::ostream& out) {
  const std::string file = command.config_file.string();
  const std::string url = local_url(config);
  out << "\nnext steps:\n"
      << "  start it:     systemctl enable --now clinic-gateway\n"
      << "                (or in the foreground: clinic-gateway serve --config " << file << ")\n"
      << "  get a token:  read -rs PW && printf '%s' \"$PW\" | curl -s " << url
      << "/auth/token \\\n"
      << "                  -d grant_type=password -d username=" << command.admin
      << " --data-urlencode password@- \\\n"
      << "                  --data-urlencode 'scope=user/*.cruds'\n"
      << "  use it:       curl -s -H \"Authorization: Bearer <the answer's access_token>\" \\\n"
      << "                  " << url << "/fhir/Patient\n"
      << "  enrol people and devices:\n"
      << "                clinic-gateway user add NAME --role clinician --config " << file << "\n"
      << "                clinic-gateway client add NAME --scope system/Patient.rs --config "
      << file << "\n"
      << "  before opening it to the clinic LAN, set up TLS: docs/security.md, "
         "\"Certificates and TLS\"\n";
}

}  // namespace

Result<InitCommand> parse_init_command(std::span<const std::string_view> words) {
  InitCommand command;
  command.config_file = fs::path(kDefaultConfigFile);
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string_view word = words[i];
    if (word == "--force") {
      command.force = true;
    } else if (word == "--password-stdin") {
      command.password_stdin = true;
    } else if (word == "--packaged") {
      command.packaged = true;
    } else if (word.starts_with("--")) {
      if (i + 1 == words.size()) return Error::invalid(std::string(word) + " needs a value");
      if (auto s = apply_option(command, word, words[++i]); !s) return s.take_error();
    } else {
      return Error::invalid("init takes options only, not '" + std::string(word) + "'");
    }
  }
  if (command.config_file.empty()) return Error::invalid("--config needs a file name");
  if (command.data_dir.empty()) return Error::invalid("--data-dir needs a directory");
  return command;
}

std::string initial_config_text(const InitialConfig& s) {
  std::string text;
  text += R"(# clinic-gateway configuration, written by `clinic-gateway init`.
# Every key is explained in docs/configuration.md; `clinic-gateway check-config FILE` checks
# this file. Relative paths are resolved against this file's directory. After a change,
# restart the gateway; TLS certificates and the log level are also re-read on SIGHUP
# (systemctl reload clinic-gateway).

[node]
# This gateway's name; its tokens' issuer while http.public_base_url is not set.
name = "clinic-gateway"
# clinical.db, security.db (users, clients) and keys/: back them up together.
)";
  text += "data_dir = " + toml_string(s.data_dir.string()) + "\n";
  text += R"(
[log]
level = "info"              # error | warning | info | debug

[http]
# The FHIR API (/fhir), the token endpoint (/auth/token) and /health.
# Keep it on 127.0.0.1 until TLS is set up below; then "0.0.0.0" serves the clinic LAN.
)";
  text += "address = " + toml_string(s.http_address) + "\n";
  text += "port = " + std::to_string(s.http_port) + "\n";
  text += R"(# The URL tablets and EMRs use for this gateway; tokens name it as issuer and audience.
# public_base_url = "https://gateway.clinic.lan:8080"

# HTTPS (docs/security.md, "Certificates and TLS"): TLS 1.2+ with AEAD ciphers only.
# [http.tls]
# certificate = "tls/gateway.crt"      # PEM: this gateway's certificate, then intermediates
# private_key = "tls/gateway.key"      # PEM, readable by the service user only
# client_ca = "tls/devices-ca.crt"     # set: every client must show a certificate it issued

[mllp]
# HL7v2 over MLLP from the clinic's EMRs (docs/hl7v2.md).
enabled = false
address = "127.0.0.1"
port = 2575
# [mllp.tls]
# certificate = "tls/gateway.crt"
# private_key = "tls/gateway.key"
# client_ca = "tls/emr-ca.crt"         # set: every sender must show a certificate it issued

[atna]
# IHE ATNA audit records over syslog from the clinic's systems (docs/atna.md).
enabled = false
address = "127.0.0.1"
udp = true                  # syslog over UDP (RFC 5426) on udp_port
udp_port = 5514
tcp = true                  # plain syslog over TCP on tcp_port
tcp_port = 5514
tls_port = 6514             # syslog over TLS (RFC 5425), once [atna.tls] is set
# [atna.tls]
# certificate = "tls/gateway.crt"
# private_key = "tls/gateway.key"
# client_ca = "tls/senders-ca.crt"     # set: every sender must show a certificate it issued

[auth]
# SHA-256 of static bearer tokens (clinic-gateway new-token): they reach the whole API with
# no scopes. Prefer users and clients (clinic-gateway user add / client add) and the
# access tokens of POST /auth/token.
token_sha256 = []

[audit]
# ATNA audit records (audit.db) are kept this long, then pruned; 0 keeps them forever
# (docs/atna.md, "Retention").
retention_days = 2190
# Forwarding them to the district's audit record repository, which keeps working while the
# link is down (docs/atna.md, "Forwarding upstream").
# [audit.forward]
# syslog_url = "tls://arr.district.example:6514"
# tls_ca = "tls/district-ca.crt"
# client_certificate = "tls/gateway.crt"   # mutual TLS: this gateway as an ATNA secure node
# client_key = "tls/gateway.key"

[discovery]
# Tablets find this gateway on the clinic network by mDNS/DNS-SD, through avahi-daemon
# (docs/operations.md, "Discovery"). Listeners on 127.0.0.1 are never announced.
enabled = true
# name = "Reception gateway"   # what tablets show; default "Clinic Gateway " + [node] name
)";
  return text;
}

Result<std::string> generate_password() {
  std::string password;
  while (password.size() < kPasswordLength + kPasswordLength / 4 - 1) {
    unsigned char byte = 0;
    if (RAND_bytes(&byte, 1) != 1) return Error::internal("the random generator failed");
    // 31 symbols: take 5 bits and drop the one value out of range, so each is equally likely.
    const unsigned index = byte & 0x1f;
    if (index >= kPasswordAlphabet.size()) continue;
    if (password.size() % 5 == 4) password += '-';
    password += kPasswordAlphabet[index];
  }
  return password;
}

int run_init_command(const InitCommand& command, const IdentityCommandEnv& env, std::ostream& out,
                     std::ostream& err) {
  auto config = config_step(command, out, err);
  if (!config) return 1;
  auto store = data_step(*config, env, out, err);
  if (!store) return 1;
  auto added_admin = admin_step(**store, command, env, out, err);
  if (!added_admin) return 1;
  if (!command.packaged) {
    print_next_steps(command, *config, out);
  } else if (*added_admin) {
    print_packaged_next_steps(command, *config, out);
  }
  return 0;
}

}  // namespace cg::gateway
