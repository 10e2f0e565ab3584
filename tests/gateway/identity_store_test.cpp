#include "gateway/security/identity_store.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <ctime>
#include <thread>

#include "tests/gateway/security_fixture.hpp"

using namespace cg;
using namespace cg::gateway;
using namespace cg::gateway::testing;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view kPassword = "correct horse battery";

struct Fixture {
  TempDir dir;
  ManualClock time;
  std::shared_ptr<SecurityDatabase> db = open_security_db(dir.path());
  IdentityStore store{db, IdentityConfig{kFastArgon2, time.clock(), 2}};

  User add(std::string_view name, std::vector<std::string> roles = {"clinician"}) {
    auto user = store.add_user(name, kPassword, roles);
    REQUIRE_MESSAGE(user.ok(), (user.ok() ? "" : user.error().message));
    return *user;
  }
  // The stored hash column, which the API never hands out.
  std::string stored_hash(std::string_view name) {
    return db
        ->with([&](storage::Connection& conn) -> Result<std::string> {
          auto stmt = conn.statement(
              "SELECT coalesce(password_hash, verifier_hash) FROM users WHERE username = ?1");
          if (!stmt) return stmt.take_error();
          (*stmt)->bind(1, name);
          auto row = (*stmt)->step();
          if (!row) return row.take_error();
          return (*stmt)->column_text(0);
        })
        .value();
  }
};

void check_invalid_credentials(const Result<User>& result) {
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().kind == ErrorKind::kUnauthorized);
  CHECK(result.error().message == "invalid credentials");
}

// This thread's CPU time: Argon2 with one lane runs on the calling thread, and unlike the wall
// clock the CPU time does not grow when the test is descheduled on a busy machine (a
// wall-clock version failed once in a loaded CI run).
std::chrono::nanoseconds thread_cpu_now() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return std::chrono::seconds(t.tv_sec) + std::chrono::nanoseconds(t.tv_nsec);
}

template <class Fn>
std::chrono::nanoseconds fastest_of_five(Fn fn) {
  auto best = std::chrono::nanoseconds::max();
  for (int i = 0; i < 5; ++i) {
    const auto start = thread_cpu_now();
    fn();
    best = std::min(best, thread_cpu_now() - start);
  }
  return best;
}

}  // namespace

TEST_CASE("an added user can log in with the password, and only the Argon2id hash is kept") {
  Fixture f;
  const User alice = f.add("alice", {"clinician", "admin"});
  CHECK(alice.username == "alice");
  CHECK(alice.roles == std::vector<std::string>{"clinician", "admin"});
  CHECK_FALSE(alice.disabled);
  CHECK_FALSE(alice.bridged);
  CHECK(alice.created_at == f.time.now());
  auto verified = f.store.verify_password("alice", kPassword);
  REQUIRE(verified.ok());
  CHECK(verified->username == "alice");
  CHECK(verified->roles == alice.roles);
  const std::string hash = f.stored_hash("alice");
  CHECK(hash.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
  CHECK(hash.find(kPassword) == std::string::npos);
}

TEST_CASE("wrong password, unknown user and disabled user get one and the same error") {
  Fixture f;
  f.add("alice");
  check_invalid_credentials(f.store.verify_password("alice", "wrong horse battery"));
  check_invalid_credentials(f.store.verify_password("mallory", kPassword));
  check_invalid_credentials(f.store.verify_password("", kPassword));
  REQUIRE(f.store.set_user_disabled("alice", true).ok());
  CHECK(f.store.find_user("alice")->disabled);
  check_invalid_credentials(f.store.verify_password("alice", kPassword));
  REQUIRE(f.store.set_user_disabled("alice", false).ok());
  CHECK(f.store.verify_password("alice", kPassword).ok());
  CHECK(f.store.set_user_disabled("mallory", true).error().kind == ErrorKind::kNotFound);
}

TEST_CASE("an unknown username costs the same Argon2 work as a known one") {
  TempDir dir;
  // Dear enough (8 MiB) that the hash dominates the SQL around it.
  IdentityStore store(open_security_db(dir.path()), IdentityConfig{{8192, 1, 1}, system_now, 2});
  REQUIRE(store.add_user("alice", kPassword, {}).ok());
  (void)store.verify_password("mallory", kPassword);  // makes the dummy hash once
  const auto known = fastest_of_five([&] { (void)store.verify_password("alice", "wrong one!!"); });
  const auto unknown = fastest_of_five([&] { (void)store.verify_password("mallory", kPassword); });
  MESSAGE("known user " << known.count() / 1000 << " µs, unknown " << unknown.count() / 1000
                        << " µs");
  CHECK(unknown * 3 > known);
  CHECK(known * 3 > unknown);
}

TEST_CASE("usernames are unique ignoring case") {
  Fixture f;
  f.add("alice");
  auto again = f.store.add_user("Alice", kPassword, {});
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().kind == ErrorKind::kConflict);
  CHECK(f.store.verify_password("ALICE", kPassword).ok());
}

TEST_CASE("weak passwords, bad usernames and bad roles are refused before anything is stored") {
  Fixture f;
  auto refused = [&](std::string_view name, std::string_view password,
                     std::vector<std::string> roles = {}) {
    auto added = f.store.add_user(name, password, roles);
    REQUIRE_FALSE(added.ok());
    return added.error();
  };
  CHECK(refused("alice", "").kind == ErrorKind::kInvalid);
  CHECK(refused("alice", "123456789").message.find("at least 10") != std::string::npos);
  CHECK(refused("alice", "\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4").kind == ErrorKind::kInvalid);
  CHECK(refused("alice1234567", "ALICE1234567").message.find("username") != std::string::npos);
  CHECK(refused("alice", std::string(1025, 'x')).kind == ErrorKind::kInvalid);
  CHECK(refused("", kPassword).kind == ErrorKind::kInvalid);
  CHECK(refused("al ice", kPassword).kind == ErrorKind::kInvalid);
  CHECK(refused(std::string(65, 'a'), kPassword).kind == ErrorKind::kInvalid);
  CHECK(refused("alice", kPassword, {"two words"}).kind == ErrorKind::kInvalid);
  CHECK(f.store.list_users()->empty());
  // Ten characters are enough, counted as characters rather than bytes.
  CHECK(f.store.add_user("bob", "\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4xxxxx", {}).ok());
}

TEST_CASE("a changed password replaces the old one") {
  Fixture f;
  f.add("alice");
  f.time.advance(1h);
  REQUIRE(f.store.set_password("alice", "another fine password").ok());
  check_invalid_credentials(f.store.verify_password("alice", kPassword));
  CHECK(f.store.verify_password("alice", "another fine password").ok());
  CHECK(f.store.find_user("alice")->updated_at == f.time.now());
  CHECK(f.store.set_password("alice", "short").error().kind == ErrorKind::kInvalid);
  CHECK(f.store.set_password("bob", kPassword).error().kind == ErrorKind::kNotFound);
}

TEST_CASE("a hash made with older parameters is upgraded at the next successful login") {
  Fixture f;
  f.add("alice");
  IdentityStore stronger(f.db, IdentityConfig{{128, 2, 1}, f.time.clock(), 2});
  REQUIRE(stronger.verify_password("alice", "wrong horse battery").error().kind ==
          ErrorKind::kUnauthorized);
  CHECK(f.stored_hash("alice").starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
  REQUIRE(stronger.verify_password("alice", kPassword).ok());
  CHECK(f.stored_hash("alice").starts_with("$argon2id$v=19$m=128,t=2,p=1$"));
  CHECK(f.store.verify_password("alice", kPassword).ok());
}

TEST_CASE("users are listed by name with their fhirUser, never with a hash") {
  Fixture f;
  f.add("carol");
  f.add("alice");
  REQUIRE(f.store.set_fhir_user("alice", "Practitioner/17").ok());
  auto users = f.store.list_users();
  REQUIRE(users.ok());
  REQUIRE(users->size() == 2);
  CHECK((*users)[0].username == "alice");
  CHECK((*users)[0].fhir_user == "Practitioner/17");
  CHECK((*users)[1].username == "carol");
  CHECK_FALSE((*users)[1].fhir_user.has_value());
  REQUIRE(f.store.set_fhir_user("alice", std::nullopt).ok());
  CHECK_FALSE(f.store.find_user("alice")->fhir_user.has_value());
  CHECK(f.store.find_user("dave").error().kind == ErrorKind::kNotFound);
}

TEST_CASE("a bridged user logs in offline with the cached verifier until the ttl runs out") {
  Fixture f;  // cached_login_ttl: the default week
  auto cached = f.store.cache_upstream_login("dr.who", kPassword, {"clinician"});
  REQUIRE(cached.ok());
  CHECK(cached->bridged);
  CHECK(cached->verified_at == f.time.now());
  CHECK(f.store.cached_login_holds(*cached));
  auto offline = f.store.verify_password("dr.who", kPassword);
  REQUIRE(offline.ok());
  CHECK(offline->roles == std::vector<std::string>{"clinician"});
  check_invalid_credentials(f.store.verify_password("dr.who", "wrong horse battery"));
  CHECK(f.store.set_password("dr.who", "a local password").error().kind == ErrorKind::kConflict);
  f.time.advance(7 * 24h - 1ms);
  CHECK(f.store.verify_password("dr.who", kPassword).ok());
  f.time.advance(1ms);
  CHECK_FALSE(f.store.cached_login_holds(*f.store.find_user("dr.who")));
  check_invalid_credentials(f.store.verify_password("dr.who", kPassword));
  // The upstream accepts a new password and other roles: the cache follows.
  REQUIRE(f.store.cache_upstream_login("dr.who", "changed upstream", {"nurse"}).ok());
  check_invalid_credentials(f.store.verify_password("dr.who", kPassword));
  CHECK(f.store.verify_password("dr.who", "changed upstream")->roles ==
        std::vector<std::string>{"nurse"});
}

TEST_CASE("the ttl is the configured one at login time, and zero means never offline") {
  Fixture f;
  REQUIRE(f.store.cache_upstream_login("dr.who", kPassword, {"clinician"}).ok());
  f.time.advance(2h);
  IdentityStore hour{f.db, IdentityConfig{kFastArgon2, f.time.clock(), 2, 1h}};
  check_invalid_credentials(hour.verify_password("dr.who", kPassword));
  IdentityStore never{f.db, IdentityConfig{kFastArgon2, f.time.clock(), 2, 0s}};
  REQUIRE(never.cache_upstream_login("dr.who", kPassword, {"clinician"}).ok());
  check_invalid_credentials(never.verify_password("dr.who", kPassword));
  CHECK(f.store.verify_password("dr.who", kPassword).ok());
}

TEST_CASE("when the upstream refuses the password the cached verifier is forgotten") {
  Fixture f;
  f.add("alice");
  REQUIRE(f.store.cache_upstream_login("dr.who", kPassword, {"clinician"}).ok());
  REQUIRE(f.store.forget_upstream_login("dr.who").ok());
  auto forgotten = f.store.find_user("dr.who");
  REQUIRE(forgotten.ok());
  CHECK(forgotten->bridged);
  CHECK_FALSE(forgotten->verified_at.has_value());
  check_invalid_credentials(f.store.verify_password("dr.who", kPassword));
  // A local user's password is not the upstream's to drop; unknown names change nothing.
  REQUIRE(f.store.forget_upstream_login("alice").ok());
  CHECK(f.store.verify_password("alice", kPassword).ok());
  CHECK(f.store.forget_upstream_login("nobody").ok());
}

TEST_CASE("a local user never becomes bridged, and a disabled bridged user stays disabled") {
  Fixture f;
  f.add("alice");
  auto taken = f.store.cache_upstream_login("Alice", "upstream password", {"admin"});
  REQUIRE_FALSE(taken.ok());
  CHECK(taken.error().kind == ErrorKind::kConflict);
  CHECK(f.store.verify_password("alice", kPassword)->roles ==
        std::vector<std::string>{"clinician"});
  CHECK_FALSE(f.store.cached_login_holds(*f.store.find_user("alice")));
  REQUIRE(f.store.cache_upstream_login("bob", kPassword, {}).ok());
  REQUIRE(f.store.set_user_disabled("bob", true).ok());
  REQUIRE(f.store.cache_upstream_login("bob", kPassword, {}).ok());
  CHECK(f.store.find_user("bob")->disabled);
  check_invalid_credentials(f.store.verify_password("bob", kPassword));
}

TEST_CASE("a client's secret is shown once, verifies, and rotates") {
  Fixture f;
  auto made = f.store.add_client("ward tablet", {"device"},
                                 {"system/Patient.rs", "system/Observation.cruds"});
  REQUIRE(made.ok());
  CHECK(made->client_id.size() == 22);
  CHECK(made->secret.size() == 43);
  auto client = f.store.find_client(made->client_id);
  REQUIRE(client.ok());
  CHECK(client->name == "ward tablet");
  CHECK(client->has_secret);
  CHECK_FALSE(client->jwks.has_value());
  CHECK(client->scopes ==
        std::vector<std::string>{"system/Patient.rs", "system/Observation.cruds"});
  CHECK(f.store.verify_client_secret(made->client_id, made->secret).ok());
  auto wrong = f.store.verify_client_secret(made->client_id, made->secret + "x");
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().message == "invalid client credentials");
  auto rotated = f.store.rotate_client_secret(made->client_id);
  REQUIRE(rotated.ok());
  CHECK(*rotated != made->secret);
  CHECK_FALSE(f.store.verify_client_secret(made->client_id, made->secret).ok());
  CHECK(f.store.verify_client_secret(made->client_id, *rotated).ok());
  REQUIRE(f.store.set_client_disabled(made->client_id, true).ok());
  CHECK(f.store.verify_client_secret(made->client_id, *rotated).error().kind ==
        ErrorKind::kUnauthorized);
  CHECK(f.store.rotate_client_secret("nope").error().kind == ErrorKind::kNotFound);
  CHECK(f.store.verify_client_secret("nope", *rotated).error().kind == ErrorKind::kUnauthorized);
}

TEST_CASE("a private_key_jwt client has its JWK Set and no secret") {
  Fixture f;
  const std::string jwks = R"({"keys":[{"kty":"EC","crv":"P-384","x":"AA","y":"BB"}]})";
  auto made = f.store.add_client("lab system", {}, {"system/*.rs"}, jwks);
  REQUIRE(made.ok());
  CHECK(made->secret.empty());
  auto client = f.store.find_client(made->client_id);
  CHECK_FALSE(client->has_secret);
  CHECK(client->jwks == jwks);
  CHECK_FALSE(f.store.verify_client_secret(made->client_id, "").ok());
  CHECK(f.store.add_client("bad", {}, {}, std::string("{\"keys\":1}")).error().kind ==
        ErrorKind::kInvalid);
  CHECK(f.store.add_client("bad", {}, {}, std::string("not json")).error().kind ==
        ErrorKind::kInvalid);
  CHECK(f.store.add_client("", {}, {}).error().kind == ErrorKind::kInvalid);
  auto clients = f.store.list_clients();
  REQUIRE(clients.ok());
  CHECK(clients->size() == 1);
}

TEST_CASE("a peer is found by its certificate fingerprint while enabled") {
  Fixture f;
  const std::string hex(64, 'a');
  REQUIRE(f.store.add_peer("node-2", hex, {"sync"}).ok());
  std::string colons;
  for (std::size_t i = 0; i < 64; i += 2) colons += (i ? ":" : "") + std::string("AA");
  auto peer = f.store.find_enabled_peer(colons);
  REQUIRE(peer.ok());
  CHECK(peer->node_id == "node-2");
  CHECK(peer->cert_sha256 == hex);
  CHECK(peer->roles == std::vector<std::string>{"sync"});
  CHECK(f.store.add_peer("node-3", hex, {}).error().kind == ErrorKind::kConflict);
  CHECK(f.store.add_peer("node-3", "abc", {}).error().kind == ErrorKind::kInvalid);
  REQUIRE(f.store.set_peer_disabled("node-2", true).ok());
  CHECK(f.store.find_enabled_peer(hex).error().kind == ErrorKind::kNotFound);
  CHECK(f.store.list_peers()->size() == 1);
}

TEST_CASE("concurrent logins all succeed through a single hashing slot") {
  Fixture f;
  f.add("alice");
  IdentityStore one_at_a_time(f.db, IdentityConfig{kFastArgon2, f.time.clock(), 1});
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 5; ++j) ok += one_at_a_time.verify_password("alice", kPassword).ok();
    });
  }
  for (auto& t : threads) t.join();
  CHECK(ok == 40);
}

TEST_CASE("with the real default parameters a user is added and logs in") {
  TempDir dir;
  IdentityStore store(open_security_db(dir.path()));
  REQUIRE(store.add_user("alice", kPassword, {"admin"}).ok());
  CHECK(store.verify_password("alice", kPassword).ok());
  check_invalid_credentials(store.verify_password("alice", "wrong horse battery"));
}
