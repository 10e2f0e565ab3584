#include "gateway/identity_commands.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "tests/gateway/identity_test_env.hpp"

using namespace cg;
using namespace cg::gateway;
using namespace cg::gateway::testing;

namespace {

Result<IdentityWords> split(std::vector<std::string_view> words) {
  return split_identity_words(words);
}

}  // namespace

TEST_CASE("identity words: verb, arguments and repeated options in any order") {
  auto words = split({"add", "--role", "admin", "alice", "--config", "/etc/g.toml", "--role",
                      "clinician", "--scope", "system/Patient.rs", "--jwks", "keys.json"});
  REQUIRE(words.ok());
  CHECK(words->verb == "add");
  CHECK(words->arguments == std::vector<std::string>{"alice"});
  CHECK(words->config_file == "/etc/g.toml");
  CHECK(words->roles == std::vector<std::string>{"admin", "clinician"});
  CHECK(words->scopes == std::vector<std::string>{"system/Patient.rs"});
  CHECK(words->jwks_file == std::filesystem::path("keys.json"));
}

TEST_CASE("identity words: missing --config, a value-less option and unknown options are refused") {
  CHECK(split({"list"}).error().message == "--config FILE is required");
  CHECK(split({"list", "--config"}).error().message == "--config needs a value");
  CHECK(split({"list", "--password", "x", "--config", "f"}).error().message ==
        "unknown option --password");
  CHECK(split({"--config", "f"}).error().message == "which command?");
}

TEST_CASE("roles are access_policy's role names") {
  CHECK(checked_role("clinician").ok());
  CHECK(checked_role("peer").ok());
  auto bad = checked_role("root");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message == "unknown role 'root': admin, clinician, device, peer or patient");
  CHECK_FALSE(checked_roles({"admin", "Admin"}).ok());
}

TEST_CASE("scopes: well-formed SMART and opaque scopes pass, rejected ones carry the reason") {
  CHECK(checked_scope("system/Patient.rs").ok());
  CHECK(checked_scope("user/*.cruds").ok());
  CHECK(checked_scope("patient/Observation.rs?category=laboratory").ok());
  CHECK(checked_scope("offline_access").ok());
  auto bad = checked_scope("system/Patient.xyz");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.starts_with("scope 'system/Patient.xyz' refused: "));
  CHECK(bad.error().message.size() > std::string("scope 'system/Patient.xyz' refused: ").size());
  CHECK(checked_scope("system/Patient.rs user/*.r").error().message ==
        "--scope takes one scope; repeat --scope for more");
  CHECK_FALSE(checked_scope("").ok());
}

TEST_CASE("the store is created only when asked, and then private") {
  IdentityCommandFixture f;
  auto missing = open_identity_store(f.config, f.env.identity, false);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().kind == ErrorKind::kNotFound);
  CHECK(missing.error().message.find("security.db") != std::string::npos);
  REQUIRE(open_identity_store(f.config, f.env.identity, true).ok());
  const auto perms = std::filesystem::status(f.dir.path() / "security.db").permissions();
  CHECK((perms & std::filesystem::perms::all) ==
        (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
  CHECK(open_identity_store(f.config, f.env.identity, false).ok());
}

TEST_CASE("an account change is recorded with the operator; an audit.db that cannot open warns") {
  IdentityCommandFixture f;
  AccountChange change;
  change.subject = "alice";
  change.roles = {"admin"};
  record_account_change(f.config, change, f.err);
  CHECK(f.err.str().empty());
  auto records = f.audit_records();
  REQUIRE(records.size() == 1);
  const auto& operator_agent = records[0].at("agent").as_array()[0];
  CHECK(operator_agent.at("requestor").as_bool());
  CHECK(!operator_agent.at("who").at("identifier").at("value").as_string().empty());

  f.config.data_dir = f.dir.path() / "not-a-directory";
  { std::ofstream(f.config.data_dir) << "x"; }
  record_account_change(f.config, change, f.err);
  CHECK(f.err.str().starts_with("warning: the change is made, but it could not be recorded"));
}
