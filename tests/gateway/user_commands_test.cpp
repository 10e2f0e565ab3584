#include "gateway/user_commands.hpp"

#include <doctest/doctest.h>

#include "tests/gateway/identity_test_env.hpp"

using namespace cg;
using namespace cg::gateway;
using namespace cg::gateway::testing;

namespace {

Result<UserCommand> parse(std::vector<std::string_view> words) {
  return parse_user_command(words);
}

std::string error_of(std::vector<std::string_view> words) {
  auto parsed = parse(std::move(words));
  REQUIRE_FALSE(parsed.ok());
  return parsed.error().message;
}

struct Fixture : IdentityCommandFixture {
  // Runs "user <words> --config x" and returns its exit code; its output in out / err.
  int run(std::vector<std::string_view> words) {
    clear_output();
    words.insert(words.end(), {"--config", "gateway.toml"});
    auto command = parse(std::move(words));
    REQUIRE_MESSAGE(command.ok(), (command.ok() ? "" : command.error().message));
    return run_user_command(*command, config, env, out, err);
  }
  IdentityStore store() {
    return IdentityStore(open_security_db(dir.path()), IdentityConfig{kFastArgon2});
  }
};

}  // namespace

TEST_CASE("user add parses its name and roles") {
  auto command = parse({"add", "alice", "--role", "clinician", "--role", "admin", "--config", "f"});
  REQUIRE(command.ok());
  CHECK(command->verb == UserCommand::Verb::kAdd);
  CHECK(command->username == "alice");
  CHECK(command->roles == std::vector<std::string>{"clinician", "admin"});
  CHECK(command->config_file == "f");
}

TEST_CASE("user commands refuse the wrong shape with what is wrong") {
  CHECK(error_of({"add", "alice", "--config", "f"}) ==
        "a user needs at least one --role (admin, clinician, device, peer, patient)");
  CHECK(error_of({"add", "alice", "--role", "nurse", "--config", "f"}) ==
        "unknown role 'nurse': admin, clinician, device, peer or patient");
  CHECK(error_of({"passwd", "--config", "f"}) == "which user? give one username");
  CHECK(error_of({"disable", "a", "b", "--config", "f"}) == "which user? give one username");
  CHECK(error_of({"list", "alice", "--config", "f"}) == "'user list' takes no name");
  CHECK(error_of({"passwd", "a", "--role", "admin", "--config", "f"}) ==
        "--role is an option of 'user add' only");
  CHECK(error_of({"add", "a", "--role", "admin", "--scope", "openid", "--config", "f"}) ==
        "--scope and --jwks are options of 'client add'");
  CHECK(error_of({"remove", "a", "--config", "f"}) ==
        "unknown command 'user remove': add, passwd, disable, enable or list");
  CHECK(error_of({}) == "which command? add, passwd, disable, enable or list");
  CHECK(error_of({"add", "w", "--role", "patient", "--config", "f"}) ==
        "the patient role needs --fhir-user Patient/<id>: the record it reads");
  CHECK(error_of({"add", "w", "--role", "patient", "--fhir-user", "Practitioner/1", "--config",
                  "f"}) == "the patient role needs --fhir-user Patient/<id>: the record it reads");
  CHECK(error_of({"add", "w", "--role", "admin", "--fhir-user", "Observation/1", "--config", "f"})
            .starts_with("--fhir-user must be Patient/<id>"));
  CHECK(error_of({"add", "w", "--role", "admin", "--fhir-user", "Patient/a b", "--config", "f"})
            .starts_with("--fhir-user must be"));
  CHECK(error_of({"passwd", "w", "--fhir-user", "Patient/1", "--config", "f"}) ==
        "--fhir-user is an option of 'user add' only");
}

TEST_CASE("user add --fhir-user stores the user's FHIR resource (a patient's own record)") {
  Fixture f;
  CHECK(f.run({"add", "wanjiru", "--role", "patient", "--fhir-user", "Patient/p-42"}) == 0);
  auto user = f.store().find_user("wanjiru");
  REQUIRE(user.ok());
  CHECK(user->fhir_user == "Patient/p-42");
  CHECK(user->roles == std::vector<std::string>{"patient"});
}

TEST_CASE("user add creates security.db, stores the user and prints it without a hash") {
  Fixture f;
  CHECK(f.run({"add", "alice", "--role", "clinician"}) == 0);
  CHECK(f.err.str().empty());
  CHECK(f.out.str().starts_with(
      "added user alice\nusername  roles      disabled  origin  verified upstream  created"));
  CHECK(f.out.str().find("argon2") == std::string::npos);
  CHECK(f.password_reads == 1);
  CHECK(f.store().verify_password("alice", f.password).ok());
}

TEST_CASE("user add refuses a weak password and a taken name, with exit 1") {
  Fixture f;
  f.password = "short";
  CHECK(f.run({"add", "alice", "--role", "clinician"}) == 1);
  CHECK(f.err.str() == "user not added: a password needs at least 10 characters\n");
  CHECK(f.out.str().empty());
  f.password = "correct horse battery";
  REQUIRE(f.run({"add", "alice", "--role", "clinician"}) == 0);
  CHECK(f.run({"add", "ALICE", "--role", "admin"}) == 1);
  CHECK(f.err.str().starts_with("user not added: "));
}

TEST_CASE("user add stops when no password can be read") {
  Fixture f;
  f.env.new_password = []() -> Result<std::string> {
    return Error::invalid("no password on standard input");
  };
  CHECK(f.run({"add", "alice", "--role", "clinician"}) == 1);
  CHECK(f.err.str() == "user not added: no password on standard input\n");
}

TEST_CASE("user passwd changes the password; for an unknown user it asks for none") {
  Fixture f;
  REQUIRE(f.run({"add", "alice", "--role", "clinician"}) == 0);
  f.password = "a new and longer one";
  CHECK(f.run({"passwd", "alice"}) == 0);
  CHECK(f.out.str() == "password of alice changed\n");
  CHECK(f.store().verify_password("alice", "a new and longer one").ok());
  const int reads = f.password_reads;
  CHECK(f.run({"passwd", "bob"}) == 1);
  CHECK(f.err.str() == "password not changed: no user 'bob'\n");
  CHECK(f.password_reads == reads);
}

TEST_CASE("user disable and enable; list shows every user and no hash") {
  Fixture f;
  REQUIRE(f.run({"add", "bob", "--role", "admin", "--role", "clinician"}) == 0);
  REQUIRE(f.run({"add", "alice", "--role", "clinician"}) == 0);
  CHECK(f.run({"disable", "bob"}) == 0);
  CHECK(f.out.str() == "user bob disabled\n");
  CHECK_FALSE(f.store().verify_password("bob", f.password).ok());
  CHECK(f.run({"list"}) == 0);
  const std::string list = f.out.str();
  CHECK(list.find("alice     clinician         no        local                     ") !=
        std::string::npos);
  CHECK(list.find("bob       admin, clinician  yes       local                     ") !=
        std::string::npos);
  CHECK(list.find("alice") < list.find("bob"));
  CHECK(list.find('$') == std::string::npos);
  CHECK(f.run({"enable", "bob"}) == 0);
  CHECK(f.store().verify_password("bob", f.password).ok());
  CHECK(f.run({"disable", "carol"}) == 1);
  CHECK(f.err.str() == "user not changed: no user 'carol'\n");
}

TEST_CASE("user list without security.db says where it looked, and creates nothing") {
  Fixture f;
  CHECK(f.run({"list"}) == 1);
  CHECK(f.err.str().find("no security database at ") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(f.dir.path() / "security.db"));
}

TEST_CASE("user list shows a bridged user's origin and when the upstream last verified it") {
  Fixture f;
  REQUIRE(f.run({"add", "alice", "--role", "clinician"}) == 0);
  auto store = f.store();
  REQUIRE(store.cache_upstream_login("wanjiru", "district password", {"clinician"}).ok());
  REQUIRE(store.cache_upstream_login("otieno", "district password", {"admin"}).ok());
  REQUIRE(store.forget_upstream_login("otieno").ok());
  const std::string verified = format_time(*store.find_user("wanjiru")->verified_at);
  CHECK(f.run({"list"}) == 0);
  const std::string list = f.out.str();
  CHECK(list.find("alice     clinician  no        local                               2") !=
        std::string::npos);
  CHECK(list.find("otieno    admin      no        upstream  -                         2") !=
        std::string::npos);
  CHECK(list.find("wanjiru   clinician  no        upstream  " + verified + "  ") !=
        std::string::npos);
}

TEST_CASE("user changes are recorded in audit.db as security alerts; a list or a failure is not") {
  Fixture f;
  REQUIRE(f.run({"add", "alice", "--role", "clinician"}) == 0);
  REQUIRE(f.run({"passwd", "alice"}) == 0);
  REQUIRE(f.run({"disable", "alice"}) == 0);
  REQUIRE(f.run({"enable", "alice"}) == 0);
  REQUIRE(f.run({"list"}) == 0);
  CHECK(f.run({"disable", "nobody"}) == 1);
  CHECK(f.audited_changes() ==
        std::vector<std::string>{"110136 alice user added", "110137 alice user password changed",
                                 "110137 alice user disabled", "110137 alice user enabled"});
  const auto records = f.audit_records();
  CHECK(records[0].at("type").at("code").as_string() == "110113");
  // The password appears nowhere.
  for (const auto& e : records) {
    CHECK(fhir::serialize_json(e).find(f.password) == std::string::npos);
  }
}
