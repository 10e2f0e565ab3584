#include "gateway/client_commands.hpp"

#include <doctest/doctest.h>

#include <fstream>

#include "tests/gateway/identity_test_env.hpp"

using namespace cg;
using namespace cg::gateway;
using namespace cg::gateway::testing;

namespace {

Result<ClientCommand> parse(std::vector<std::string_view> words) {
  return parse_client_command(words);
}

std::string error_of(std::vector<std::string_view> words) {
  auto parsed = parse(std::move(words));
  REQUIRE_FALSE(parsed.ok());
  return parsed.error().message;
}

// The value after "<label>: " on its own line of `text`; empty when there is none.
std::string field(const std::string& text, const std::string& label) {
  const auto at = text.find(label + ": ");
  if (at == std::string::npos) return {};
  const auto begin = at + label.size() + 2;
  return text.substr(begin, text.find('\n', begin) - begin);
}

struct Fixture : IdentityCommandFixture {
  int run(std::vector<std::string_view> words) {
    clear_output();
    words.insert(words.end(), {"--config", "gateway.toml"});
    auto command = parse(std::move(words));
    REQUIRE_MESSAGE(command.ok(), (command.ok() ? "" : command.error().message));
    return run_client_command(*command, config, env, out, err);
  }
  IdentityStore store() { return IdentityStore(open_security_db(dir.path())); }
};

}  // namespace

TEST_CASE("client add parses name, roles, scopes and the JWK Set file") {
  auto command =
      parse({"add", "Ward tablet 3", "--role", "device", "--scope", "system/Patient.rs", "--scope",
             "system/Observation.cruds", "--jwks", "k.json", "--config", "f"});
  REQUIRE(command.ok());
  CHECK(command->verb == ClientCommand::Verb::kAdd);
  CHECK(command->name == "Ward tablet 3");
  CHECK(command->roles == std::vector<std::string>{"device"});
  CHECK(command->scopes ==
        std::vector<std::string>{"system/Patient.rs", "system/Observation.cruds"});
  CHECK(command->jwks_file == std::filesystem::path("k.json"));
  auto rotate = parse({"rotate", "abc", "--config", "f"});
  REQUIRE(rotate.ok());
  CHECK(rotate->client_id == "abc");
}

TEST_CASE("client commands refuse bad roles, rejected scopes and the wrong shape") {
  CHECK(error_of({"add", "t", "--role", "device", "--config", "f"}) ==
        "a client needs at least one --scope (e.g. system/Patient.rs)");
  CHECK(error_of({"add", "t", "--role", "robot", "--scope", "openid", "--config", "f"}) ==
        "unknown role 'robot': admin, clinician, device, peer or patient");
  CHECK(error_of({"add", "t", "--scope", "system/Patient.q", "--config", "f"})
            .starts_with("scope 'system/Patient.q' refused: "));
  CHECK(error_of({"add", "--scope", "openid", "--config", "f"}) ==
        "name the client: one word, quoted if it has spaces");
  CHECK(error_of({"rotate", "--config", "f"}) == "which client? give its id (from 'client list')");
  CHECK(error_of({"rotate", "x", "--scope", "openid", "--config", "f"}) ==
        "--role, --scope and --jwks are options of 'client add' only");
  CHECK(error_of({"list", "x", "--config", "f"}) == "'client list' takes no id");
  CHECK(error_of({"delete", "x", "--config", "f"}) ==
        "unknown command 'client delete': add, rotate, disable, enable or list");
}

TEST_CASE("client add prints the id and the secret once; list never shows the secret") {
  Fixture f;
  REQUIRE(f.run({"add", "Ward tablet", "--role", "device", "--scope", "system/Patient.rs"}) == 0);
  const std::string added = f.out.str();
  const std::string id = field(added, "client_id");
  const std::string secret = field(added, "client_secret");
  REQUIRE(id.size() == 22);
  REQUIRE(secret.size() == 43);
  CHECK(added.find("store the secret now: it is not shown again") != std::string::npos);
  CHECK(f.store().verify_client_secret(id, secret).ok());

  REQUIRE(f.run({"list"}) == 0);
  const std::string list = f.out.str();
  CHECK(list.find(id + "  Ward tablet  device  system/Patient.rs  client_secret  no") !=
        std::string::npos);
  CHECK(list.find(secret) == std::string::npos);
  CHECK(list.find("sha256$") == std::string::npos);
}

TEST_CASE("client rotate prints a new secret once and the old one stops working") {
  Fixture f;
  REQUIRE(f.run({"add", "lab analyser", "--scope", "system/Observation.c"}) == 0);
  const std::string id = field(f.out.str(), "client_id");
  const std::string old_secret = field(f.out.str(), "client_secret");
  REQUIRE(f.run({"rotate", id}) == 0);
  const std::string new_secret = field(f.out.str(), "client_secret");
  CHECK(new_secret.size() == 43);
  CHECK(new_secret != old_secret);
  CHECK(f.out.str().find("it is not shown again") != std::string::npos);
  CHECK_FALSE(f.store().verify_client_secret(id, old_secret).ok());
  CHECK(f.store().verify_client_secret(id, new_secret).ok());
  CHECK(f.run({"rotate", "nope"}) == 1);
  CHECK(f.err.str() == "secret not rotated: no client 'nope'\n");
}

TEST_CASE("client disable refuses its secret; enable lets it in again") {
  Fixture f;
  REQUIRE(f.run({"add", "t", "--scope", "system/Patient.r"}) == 0);
  const std::string id = field(f.out.str(), "client_id");
  const std::string secret = field(f.out.str(), "client_secret");
  CHECK(f.run({"disable", id}) == 0);
  CHECK(f.out.str() == "client " + id + " disabled\n");
  CHECK_FALSE(f.store().verify_client_secret(id, secret).ok());
  REQUIRE(f.run({"list"}) == 0);
  CHECK(f.out.str().find("client_secret  yes") != std::string::npos);
  CHECK(f.run({"enable", id}) == 0);
  CHECK(f.store().verify_client_secret(id, secret).ok());
}

TEST_CASE("client add with --jwks keeps the key set and prints no secret") {
  Fixture f;
  const auto jwks = f.dir.path() / "keys.json";
  std::ofstream(jwks) << R"({"keys":[{"kty":"EC","crv":"P-384","x":"a","y":"b"}]})";
  REQUIRE(f.run({"add", "backend", "--scope", "system/*.rs", "--jwks", jwks.string()}) == 0);
  CHECK(field(f.out.str(), "client_id").size() == 22);
  CHECK(f.out.str().find("client_secret") == std::string::npos);
  CHECK(f.out.str().find("not shown again") == std::string::npos);
  REQUIRE(f.run({"list"}) == 0);
  CHECK(f.out.str().find("private_key_jwt") != std::string::npos);
}

TEST_CASE("client add refuses a missing or malformed JWK Set file") {
  Fixture f;
  CHECK(f.run({"add", "b", "--scope", "openid", "--jwks", (f.dir.path() / "no.json").string()}) ==
        1);
  CHECK(f.err.str().starts_with("client not added: cannot read "));
  const auto bad = f.dir.path() / "bad.json";
  std::ofstream(bad) << R"({"kty":"EC"})";
  CHECK(f.run({"add", "b", "--scope", "openid", "--jwks", bad.string()}) == 1);
  CHECK(f.err.str() == "client not added: jwks must be a JWK Set: {\"keys\": [...]}\n");
}

TEST_CASE("client changes are recorded in audit.db; the secret is not") {
  Fixture f;
  REQUIRE(f.run({"add", "t", "--role", "device", "--scope", "system/Patient.r"}) == 0);
  const std::string id = field(f.out.str(), "client_id");
  const std::string secret = field(f.out.str(), "client_secret");
  REQUIRE(f.run({"rotate", id}) == 0);
  REQUIRE(f.run({"disable", id}) == 0);
  REQUIRE(f.run({"enable", id}) == 0);
  CHECK(f.audited_changes() == std::vector<std::string>{"110136 " + id + " client added",
                                                        "110137 " + id + " client secret rotated",
                                                        "110137 " + id + " client disabled",
                                                        "110137 " + id + " client enabled"});
  for (const auto& e : f.audit_records()) {
    CHECK(fhir::serialize_json(e).find(secret) == std::string::npos);
  }
}
