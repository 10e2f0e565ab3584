#include "gateway/security/refresh_tokens.hpp"

#include <doctest/doctest.h>

#include "gateway/security/identity_store.hpp"
#include "tests/gateway/security_fixture.hpp"

using namespace cg;
using namespace cg::gateway;
using namespace cg::gateway::testing;
using namespace std::chrono_literals;

namespace {

struct Fixture {
  TempDir dir;
  ManualClock time;
  std::shared_ptr<SecurityDatabase> db = open_security_db(dir.path());
  IdentityStore identities{db, IdentityConfig{kFastArgon2, time.clock(), 2}};
  RefreshTokenStore tokens{db, time.clock()};

  Fixture() { REQUIRE(identities.add_user("alice", "correct horse battery", {"clinician"}).ok()); }

  RefreshGrant grant_for_alice() {
    return {SubjectKind::kUser, "alice", {"openid", "user/*.rs"}, time.now(), time.now() + 8h, {}};
  }
  std::string issue(const RefreshGrant& grant) {
    std::string token = generate_token();
    REQUIRE(tokens.store(token, grant).ok());
    return token;
  }
  ErrorKind refused(std::string_view token) {
    auto consumed = tokens.consume(token);
    REQUIRE_FALSE(consumed.ok());
    return consumed.error().kind;
  }
};

}  // namespace

TEST_CASE("a refresh token is consumed once and gives back its grant") {
  Fixture f;
  const std::string token = f.issue(f.grant_for_alice());
  auto grant = f.tokens.consume(token);
  REQUIRE(grant.ok());
  CHECK(grant->kind == SubjectKind::kUser);
  CHECK(grant->subject == "alice");
  CHECK(grant->scopes == std::vector<std::string>{"openid", "user/*.rs"});
  CHECK(grant->expires_at == f.time.now() + 8h);
  CHECK(grant->family.size() == 64);
  CHECK(f.refused(token) == ErrorKind::kUnauthorized);
}

TEST_CASE("only the token's digest is stored") {
  Fixture f;
  const std::string token = f.issue(f.grant_for_alice());
  auto stored = f.db->with([](storage::Connection& conn) -> Result<std::string> {
    auto stmt = conn.statement("SELECT token_sha256 FROM refresh_tokens");
    if (!stmt) return stmt.take_error();
    auto row = (*stmt)->step();
    if (!row) return row.take_error();
    return (*stmt)->column_text(0);
  });
  REQUIRE(stored.ok());
  CHECK(*stored == sha256_hex(token));
}

TEST_CASE("replaying a rotated-out token revokes its whole family") {
  Fixture f;
  const std::string first = f.issue(f.grant_for_alice());
  auto grant = f.tokens.consume(first);
  REQUIRE(grant.ok());
  const std::string second = f.issue(*grant);  // the rotation: same family
  const std::string unrelated = f.issue(f.grant_for_alice());
  CHECK(f.refused(first) == ErrorKind::kUnauthorized);  // the replay
  CHECK(f.refused(second) == ErrorKind::kUnauthorized);
  CHECK(f.tokens.consume(unrelated).ok());
}

TEST_CASE("an expired, unknown or revoked token is refused") {
  Fixture f;
  const std::string expiring = f.issue(f.grant_for_alice());
  const std::string revoked = f.issue(f.grant_for_alice());
  REQUIRE(f.tokens.revoke(revoked).ok());
  CHECK(f.tokens.revoke("never issued").ok());  // RFC 7009: the same answer for unknown
  CHECK(f.refused(revoked) == ErrorKind::kUnauthorized);
  CHECK(f.refused(generate_token()) == ErrorKind::kUnauthorized);
  f.time.advance(8h);
  CHECK(f.refused(expiring) == ErrorKind::kUnauthorized);
}

TEST_CASE("a disabled user's still-valid refresh token is refused") {
  Fixture f;
  const std::string token = f.issue(f.grant_for_alice());
  REQUIRE(f.identities.set_user_disabled("alice", true).ok());
  CHECK(f.refused(token) == ErrorKind::kUnauthorized);
}

TEST_CASE("a client's token works while the client is enabled") {
  Fixture f;
  auto client = f.identities.add_client("ward tablet", {"device"}, {"system/Patient.rs"});
  REQUIRE(client.ok());
  RefreshGrant grant{SubjectKind::kClient, client->client_id, {"system/Patient.rs"},
                     f.time.now(),         f.time.now() + 1h, {}};
  const std::string first = f.issue(grant);
  auto consumed = f.tokens.consume(first);
  REQUIRE(consumed.ok());
  CHECK(consumed->kind == SubjectKind::kClient);
  const std::string second = f.issue(*consumed);
  REQUIRE(f.identities.set_client_disabled(client->client_id, true).ok());
  CHECK(f.refused(second) == ErrorKind::kUnauthorized);
}

TEST_CASE("revoking a subject ends all its tokens; purging drops expired ones") {
  Fixture f;
  const std::string a = f.issue(f.grant_for_alice());
  const std::string b = f.issue(f.grant_for_alice());
  REQUIRE(f.tokens.revoke_subject(SubjectKind::kUser, "alice").ok());
  CHECK(f.refused(a) == ErrorKind::kUnauthorized);
  CHECK(f.refused(b) == ErrorKind::kUnauthorized);
  f.time.advance(8h);
  CHECK(f.tokens.purge_expired().value() == 2);
  CHECK(f.tokens.purge_expired().value() == 0);
}

TEST_CASE("scopes are validated before a token is stored") {
  Fixture f;
  RefreshGrant grant = f.grant_for_alice();
  grant.scopes = {"two words"};
  auto stored = f.tokens.store(generate_token(), grant);
  REQUIRE_FALSE(stored.ok());
  CHECK(stored.error().kind == ErrorKind::kInvalid);
}
