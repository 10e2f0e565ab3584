#include "gateway/init_command.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "gateway/oauth_endpoints.hpp"
#include "tests/gateway/identity_test_env.hpp"

using namespace cg;
using namespace cg::gateway;
using namespace cg::gateway::testing;

namespace {

namespace fs = std::filesystem;

unsigned mode_of(const fs::path& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

std::string read_text(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The value printed after "<label>: " on a line of its own; "" when there is none.
std::string printed(const std::string& output, const std::string& label) {
  std::smatch m;
  const std::regex line("(^|\n)" + label + ": ([^\n]*)");
  return std::regex_search(output, m, line) ? m[2].str() : std::string();
}

struct Fixture : IdentityCommandFixture {
  fs::path config_file = dir.path() / "etc" / "gateway.toml";
  fs::path data_dir = dir.path() / "lib" / "clinic-gateway";

  // Runs "init --config <config_file> --data-dir <data_dir> <words>"; output in out / err.
  int run(std::vector<std::string_view> words = {}) {
    clear_output();
    const std::string config = config_file.string(), data = data_dir.string();
    words.insert(words.begin(), {"--config", config, "--data-dir", data});
    auto command = parse_init_command(words);
    REQUIRE_MESSAGE(command.ok(), (command.ok() ? "" : command.error().message));
    return run_init_command(*command, env, out, err);
  }
  IdentityStore store() {
    return IdentityStore(open_security_db(data_dir), IdentityConfig{kFastArgon2});
  }
};

}  // namespace

TEST_CASE("init parses its options, with the packaged paths as defaults") {
  auto defaults = parse_init_command({});
  REQUIRE(defaults.ok());
  CHECK(defaults->config_file == "/etc/clinic-gateway/gateway.toml");
  CHECK(defaults->data_dir == "/var/lib/clinic-gateway");
  CHECK(defaults->admin == "admin");
  CHECK_FALSE(defaults->password_stdin);
  CHECK_FALSE(defaults->force);

  std::vector<std::string_view> words = {
      "--config", "/tmp/g.toml",      "--data-dir",  "/tmp/d", "--admin",        "it-support",
      "--force",  "--password-stdin", "--http-port", "0",      "--http-address", "0.0.0.0"};
  auto command = parse_init_command(words);
  REQUIRE(command.ok());
  CHECK(command->config_file == "/tmp/g.toml");
  CHECK(command->data_dir == "/tmp/d");
  CHECK(command->data_dir_given);
  CHECK(command->admin == "it-support");
  CHECK(command->force);
  CHECK(command->password_stdin);
  CHECK(command->http_port == 0);
  CHECK(command->http_address == "0.0.0.0");
}

TEST_CASE("init refuses words it does not know, with what is wrong") {
  const auto error_of = [](std::vector<std::string_view> words) {
    auto parsed = parse_init_command(words);
    REQUIRE_FALSE(parsed.ok());
    return parsed.error().message;
  };
  CHECK(error_of({"--config"}) == "--config needs a value");
  CHECK(error_of({"--role", "admin"}) == "unknown option --role");
  CHECK(error_of({"now"}) == "init takes options only, not 'now'");
  CHECK(error_of({"--http-port", "80000"}) == "--http-port takes a port number from 0 to 65535");
  CHECK(error_of({"--http-port", "80x"}) == "--http-port takes a port number from 0 to 65535");
}

TEST_CASE("the initial config loads with no problem and holds the chosen values") {
  InitialConfig settings{"/var/lib/clinic \"gw\"", "0.0.0.0", 8443};
  const std::string text = initial_config_text(settings);
  auto load = parse_config(text, "/etc/clinic-gateway");
  for (const auto& p : load.problems) MESSAGE(describe(p));
  REQUIRE(load.problems.empty());
  CHECK(load.config.data_dir == "/var/lib/clinic \"gw\"");
  CHECK(load.config.http.address == "0.0.0.0");
  CHECK(load.config.http.port == 8443);
  CHECK_FALSE(load.config.http.tls.certificate);
  CHECK_FALSE(load.config.mllp.enabled);
  CHECK_FALSE(load.config.atna.enabled);
  CHECK(text.find("# [atna.tls]") != std::string::npos);
  CHECK(load.config.auth.token_sha256.empty());
  // What an operator turns on next is there, commented out.
  CHECK(text.find("# [http.tls]") != std::string::npos);
  CHECK(load.config.audit.retention_days == 2190);
  CHECK_FALSE(load.config.audit.forward.enabled());
  CHECK(text.find("# [audit.forward]") != std::string::npos);
  CHECK(text.find("# client_ca = ") != std::string::npos);
  CHECK(text.find("# public_base_url = ") != std::string::npos);
}

TEST_CASE("generated passwords: 24 characters without look-alikes, different every time") {
  std::set<std::string> seen;
  for (int i = 0; i < 20; ++i) {
    auto password = generate_password();
    REQUIRE(password.ok());
    CHECK(std::regex_match(*password, std::regex("([2-9a-hjkmnp-z]{4}-){5}[2-9a-hjkmnp-z]{4}")));
    CHECK(check_password_policy("admin", *password).ok());
    seen.insert(*password);
  }
  CHECK(seen.size() == 20);
}

TEST_CASE("init sets a gateway up: config 0640, data dir 0700, security.db, key, admin") {
  Fixture f;
  REQUIRE(f.run({"--http-port", "0"}) == 0);
  const std::string output = f.out.str();
  INFO(output);
  CHECK(f.err.str().empty());

  CHECK(mode_of(f.config_file) == 0640);
  auto load = load_config(f.config_file);
  CHECK(load.problems.empty());
  CHECK(load.config.data_dir == f.data_dir);
  CHECK(load.config.http.port == 0);

  CHECK(mode_of(f.data_dir) == 0700);
  CHECK(mode_of(f.data_dir / "security.db") == 0600);
  CHECK(mode_of(f.data_dir / "keys") == 0700);
  CHECK(mode_of(token_signing_key_file(f.data_dir)) == 0600);
  CHECK(SigningKey::load_pem_file(token_signing_key_file(f.data_dir)).ok());

  const std::string password = printed(output, "password");
  REQUIRE(password.size() == 29);
  CHECK(output.find("store the password now: it is not shown again") != std::string::npos);
  auto store = f.store();
  auto admin = store.verify_password("admin", password);
  REQUIRE(admin.ok());
  CHECK(admin->roles == std::vector<std::string>{"admin"});
  CHECK(f.password_reads == 0);  // generated, not asked for

  CHECK(output.find("next steps:") != std::string::npos);
  CHECK(output.find("serve --config " + f.config_file.string()) != std::string::npos);
  CHECK(output.find("/auth/token") != std::string::npos);
}

TEST_CASE("init run again changes nothing: config, key and admin are kept") {
  Fixture f;
  REQUIRE(f.run() == 0);
  const std::string config = read_text(f.config_file);
  const std::string key = read_text(token_signing_key_file(f.data_dir));
  const std::string password = printed(f.out.str(), "password");

  REQUIRE(f.run() == 0);
  const std::string again = f.out.str();
  INFO(again);
  CHECK(again.find("config: kept " + f.config_file.string()) != std::string::npos);
  CHECK(again.find("token signing key: kept") != std::string::npos);
  CHECK(again.find("admin user: none added; admin has the admin role already") !=
        std::string::npos);
  CHECK(printed(again, "password").empty());
  CHECK(read_text(f.config_file) == config);
  CHECK(read_text(token_signing_key_file(f.data_dir)) == key);
  CHECK(f.store().verify_password("admin", password).ok());
  CHECK(f.store().list_users()->size() == 1);
}

TEST_CASE("init keeps an existing config unless --force, and uses its data_dir") {
  Fixture f;
  fs::create_directories(f.config_file.parent_path());
  const fs::path elsewhere = f.dir.path() / "elsewhere";
  std::ofstream(f.config_file) << "[node]\ndata_dir = \"" << elsewhere.string() << "\"\n";

  REQUIRE(f.run() == 0);
  CHECK(f.out.str().find("--force writes a new one") != std::string::npos);
  CHECK(f.err.str().find("--data-dir " + f.data_dir.string() + " is not used") !=
        std::string::npos);
  CHECK(fs::exists(elsewhere / "security.db"));
  CHECK_FALSE(fs::exists(f.data_dir));

  REQUIRE(f.run({"--force"}) == 0);
  CHECK(f.out.str().find("config: replaced " + f.config_file.string()) != std::string::npos);
  CHECK(mode_of(f.config_file) == 0640);
  CHECK(load_config(f.config_file).config.data_dir == f.data_dir);
  // The new data dir gets its own first admin; the one in `elsewhere` is left alone.
  CHECK(fs::exists(f.data_dir / "security.db"));
  CHECK_FALSE(printed(f.out.str(), "password").empty());
}

TEST_CASE("init stops at a config with problems and creates nothing") {
  Fixture f;
  fs::create_directories(f.config_file.parent_path());
  std::ofstream(f.config_file) << "[http]\nprot = 8080\n";
  CHECK(f.run() == 1);
  CHECK(f.err.str().find("http.prot: unknown setting") != std::string::npos);
  CHECK_FALSE(fs::exists(f.data_dir));
}

TEST_CASE("init with --password-stdin: the admin gets that password, which is not printed") {
  Fixture f;
  f.password = "a long passphrase for the admin";
  REQUIRE(f.run({"--password-stdin", "--admin", "it-support"}) == 0);
  CHECK(f.password_reads == 1);
  CHECK(f.out.str().find("admin user: added it-support (role admin)") != std::string::npos);
  CHECK(f.out.str().find(f.password) == std::string::npos);
  CHECK(printed(f.out.str(), "password").empty());
  CHECK(f.store().verify_password("it-support", f.password).ok());

  Fixture weak;
  weak.password = "short";
  CHECK(weak.run({"--password-stdin"}) == 1);
  CHECK(weak.err.str().find("admin user not added: ") != std::string::npos);
  CHECK(weak.store().list_users()->empty());
}

TEST_CASE("init adds no admin when any user has the admin role, even under another name") {
  Fixture f;
  REQUIRE(f.run({"--admin", "alice"}) == 0);
  REQUIRE(f.run({"--admin", "bob"}) == 0);
  CHECK(f.out.str().find("alice has the admin role already") != std::string::npos);
  CHECK_FALSE(f.store().find_user("bob").ok());
}

TEST_CASE("init --packaged: next steps for the running service, printed only with a new admin") {
  Fixture f;
  REQUIRE(f.run({"--packaged"}) == 0);
  const std::string first = f.out.str();
  INFO(first);
  CHECK(printed(first, "password").size() == 29);
  CHECK(first.find("next steps:") != std::string::npos);
  CHECK(first.find("systemctl status clinic-gateway") != std::string::npos);
  CHECK(first.find("avahi-browse -rt _clinic-gateway._tcp") != std::string::npos);
  CHECK(first.find("serve --config") == std::string::npos);  // systemd runs it

  REQUIRE(f.run({"--packaged"}) == 0);  // an upgrade: the admin exists
  const std::string again = f.out.str();
  INFO(again);
  CHECK(again.find("admin user: none added") != std::string::npos);
  CHECK(again.find("next steps:") == std::string::npos);
}

TEST_CASE("the packaged gateway.toml loads with no problem: LAN listeners on TLS") {
  const fs::path file = fs::path(CG_SOURCE_DIR) / "packaging" / "gateway.toml";
  auto load = load_config(file);
  for (const auto& p : load.problems) INFO(describe(p));
  REQUIRE(load.problems.empty());
  const GatewayConfig& c = load.config;
  CHECK(c.data_dir == fs::path("/var/lib/clinic-gateway"));
  CHECK(c.http.address == "0.0.0.0");
  CHECK(c.http.port == 8443);
  REQUIRE(c.http.tls.certificate);
  CHECK(*c.http.tls.certificate == file.parent_path() / "tls" / "gateway.crt");
  CHECK(c.mllp.enabled);
  CHECK(c.mllp.address == "0.0.0.0");
  CHECK(c.atna.enabled);
  REQUIRE(c.atna.tls.private_key);
  CHECK(*c.atna.tls.private_key == file.parent_path() / "tls" / "gateway.key");
  CHECK(c.discovery.enabled);
}
