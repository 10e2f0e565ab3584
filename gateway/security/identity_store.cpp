#include "gateway/security/identity_store.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <cctype>

namespace cg::gateway {
namespace {

using storage::Connection;
using storage::Statement;

const std::string kUserColumns =
    "username, roles, disabled, created_at, updated_at, fhir_user, bridged, verified_at";
const std::string kClientColumns =
    "client_id, name, roles, scopes, disabled, secret_hash IS NOT NULL, jwks, created_at, "
    "updated_at";
const std::string kPeerColumns = "node_id, cert_sha256, roles, disabled, created_at";

std::optional<std::string> optional_text(const Statement& s, int column) {
  if (s.column_is_null(column)) return std::nullopt;
  return s.column_text(column);
}

User read_user(const Statement& s) {
  User u;
  u.username = s.column_text(0);
  u.roles = split_tokens(s.column_text(1));
  u.disabled = s.column_int64(2) != 0;
  u.created_at = from_ms(s.column_int64(3));
  u.updated_at = from_ms(s.column_int64(4));
  u.fhir_user = optional_text(s, 5);
  u.bridged = s.column_int64(6) != 0;
  if (!s.column_is_null(7)) u.verified_at = from_ms(s.column_int64(7));
  return u;
}

Client read_client(const Statement& s) {
  Client c;
  c.client_id = s.column_text(0);
  c.name = s.column_text(1);
  c.roles = split_tokens(s.column_text(2));
  c.scopes = split_tokens(s.column_text(3));
  c.disabled = s.column_int64(4) != 0;
  c.has_secret = s.column_int64(5) != 0;
  c.jwks = optional_text(s, 6);
  c.created_at = from_ms(s.column_int64(7));
  c.updated_at = from_ms(s.column_int64(8));
  return c;
}

Peer read_peer(const Statement& s) {
  return {s.column_text(0), s.column_text(1), split_tokens(s.column_text(2)),
          s.column_int64(3) != 0, from_ms(s.column_int64(4))};
}

// Steps `stmt` once: the row as `read` makes it, nullopt when there is none.
template <class Read>
auto first_row(Statement& stmt, Read read) -> Result<std::optional<decltype(read(stmt))>> {
  auto row = stmt.step();
  if (!row) return row.take_error();
  if (!*row) return std::optional<decltype(read(stmt))>();
  return std::optional(read(stmt));
}

template <class Read>
auto all_rows(Statement& stmt, Read read) -> Result<std::vector<decltype(read(stmt))>> {
  std::vector<decltype(read(stmt))> out;
  for (;;) {
    auto row = stmt.step();
    if (!row) return row.take_error();
    if (!*row) return out;
    out.push_back(read(stmt));
  }
}

// Prepares `sql`, lets `bind` bind its parameters and returns the first row read by
// `read` (nullopt when none), all under the database's mutex.
template <class Bind, class Read>
auto query_one(SecurityDatabase& db, const std::string& sql, Bind bind, Read read) {
  return db.with([&](Connection& conn) -> decltype(first_row(std::declval<Statement&>(), read)) {
    auto stmt = conn.statement(sql);
    if (!stmt) return stmt.take_error();
    bind(**stmt);
    return first_row(**stmt, read);
  });
}

template <class Read>
auto query_all(SecurityDatabase& db, const std::string& sql, Read read) {
  return db.with([&](Connection& conn) -> decltype(all_rows(std::declval<Statement&>(), read)) {
    auto stmt = conn.statement(sql);
    if (!stmt) return stmt.take_error();
    return all_rows(**stmt, read);
  });
}

// Runs an UPDATE … RETURNING 1 bound by `bind`: kNotFound (`missing`) when no row changed.
template <class Bind>
Status update_one(SecurityDatabase& db, const std::string& sql, Bind bind, std::string missing) {
  auto row = query_one(db, sql, bind, [](const Statement&) { return true; });
  if (!row) return row.take_error();
  if (!*row) return Error::not_found(std::move(missing));
  return ok_status();
}

}  // namespace

Status check_username(std::string_view name) {
  const bool valid =
      !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '@' ||
               c == '-';
      });
  if (!valid) return Error::invalid("a username is 1 to 64 of A-Z a-z 0-9 . _ @ -");
  return ok_status();
}

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

// A user with what their password is checked against.
struct Credentials {
  User user;
  std::optional<std::string> password_hash;
  std::optional<std::string> verifier_hash;
};

Result<std::optional<Credentials>> load_credentials(SecurityDatabase& db,
                                                    std::string_view username) {
  return query_one(
      db,
      "SELECT " + kUserColumns + ", password_hash, verifier_hash FROM users WHERE username = ?1",
      [&](Statement& s) { s.bind(1, username); },
      [](const Statement& s) {
        return Credentials{read_user(s), optional_text(s, 8), optional_text(s, 9)};
      });
}

// The hash a login is checked against now: a local user's password hash, or a bridged
// user's cached verifier while it holds. Null when there is none.
const std::string* usable_verifier(const Credentials& c, const IdentityStore& store) {
  if (!c.user.bridged) return c.password_hash ? &*c.password_hash : nullptr;
  return store.cached_login_holds(c.user) && c.verifier_hash ? &*c.verifier_hash : nullptr;
}

Error invalid_credentials() {
  return Error::unauthorized("invalid credentials");
}

Error user_not_found(std::string_view username) {
  return Error::not_found("no user '" + std::string(username) + "'");
}

// A JWK Set as RFC 7517 shapes it: an object with a "keys" array. The keys themselves are
// checked when a client assertion is verified against them.
Status check_jwks(const std::optional<std::string>& jwks) {
  if (!jwks) return ok_status();
  boost::system::error_code ec;
  auto value = boost::json::parse(*jwks, ec);
  const auto* object = ec ? nullptr : value.if_object();
  const auto* keys = object ? object->if_contains("keys") : nullptr;
  if (!keys || !keys->is_array())
    return Error::invalid("jwks must be a JWK Set: {\"keys\": [...]}");
  return ok_status();
}

// "AB:cd:…" or "abcd…" → 64 lowercase hex digits; empty when it is not a SHA-256.
std::string normalize_fingerprint(std::string_view text) {
  std::string hex;
  for (char c : text) {
    if (c == ':') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) return {};
    hex += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return hex.size() == 64 ? hex : std::string();
}

}  // namespace

Status check_password_policy(std::string_view username, std::string_view password) {
  // Code points, not bytes: "ä" is one character to the person choosing it.
  const auto code_points = static_cast<std::size_t>(
      std::count_if(password.begin(), password.end(), [](char c) { return (c & 0xC0) != 0x80; }));
  if (code_points < kMinPasswordLength) {
    return Error::invalid("a password needs at least " + std::to_string(kMinPasswordLength) +
                          " characters");
  }
  if (password.size() > kMaxPasswordBytes) {
    return Error::invalid("a password may have at most " + std::to_string(kMaxPasswordBytes) +
                          " bytes");
  }
  if (iequals(password, username)) return Error::invalid("a password must not be the username");
  return ok_status();
}

// Holds one of the Argon2 slots for its lifetime.
class IdentityStore::HashSlot {
 public:
  explicit HashSlot(std::counting_semaphore<16>& slots) : slots_(slots) { slots_.acquire(); }
  HashSlot(const HashSlot&) = delete;
  HashSlot& operator=(const HashSlot&) = delete;
  ~HashSlot() { slots_.release(); }

 private:
  std::counting_semaphore<16>& slots_;
};

IdentityStore::IdentityStore(std::shared_ptr<SecurityDatabase> db, IdentityConfig config)
    : db_(std::move(db)),
      config_(std::move(config)),
      hash_slots_(std::clamp(config_.max_concurrent_hashes, 1, 16)) {}

Result<std::string> IdentityStore::hash(std::string_view password) {
  HashSlot slot(hash_slots_);
  return hash_password(password, config_.argon2);
}

Result<bool> IdentityStore::matches(const std::string& encoded, std::string_view password) {
  HashSlot slot(hash_slots_);
  return gateway::verify_password(encoded, password);
}

// A hash of a random password with the configured parameters: verified against when there
// is no usable verifier, so an unknown name costs the same Argon2 work as a known one.
const std::string& IdentityStore::dummy_hash() {
  std::call_once(dummy_once_, [this] {
    auto made = hash(generate_token());
    dummy_hash_ = made ? std::move(*made) : std::string();
  });
  return dummy_hash_;
}

Result<User> IdentityStore::add_user(std::string_view username, std::string_view password,
                                     const std::vector<std::string>& roles) {
  if (auto valid = check_username(username); !valid) return valid.take_error();
  if (auto valid = check_password_policy(username, password); !valid) return valid.take_error();
  auto joined = join_tokens(roles, "role");
  if (!joined) return joined.take_error();
  auto encoded = hash(password);
  if (!encoded) return encoded.take_error();
  const std::int64_t now = to_ms(config_.clock());
  auto added = query_one(
      *db_,
      "INSERT INTO users (username, password_hash, roles, created_at, updated_at) "
      "VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT (username) DO NOTHING RETURNING " +
          kUserColumns,
      [&](Statement& s) {
        s.bind(1, username);
        s.bind(2, *encoded);
        s.bind(3, *joined);
        s.bind(4, now);
      },
      read_user);
  if (!added) return added.take_error();
  if (!*added) return Error::conflict("user '" + std::string(username) + "' already exists");
  return std::move(**added);
}

Status IdentityStore::set_password(std::string_view username, std::string_view password) {
  auto user = find_user(username);
  if (!user) return user.take_error();
  if (user->bridged) {
    return Error::conflict("user '" + user->username + "' logs in through the upstream");
  }
  if (auto valid = check_password_policy(username, password); !valid) return valid;
  auto encoded = hash(password);
  if (!encoded) return encoded.take_error();
  return update_one(
      *db_, "UPDATE users SET password_hash = ?1, updated_at = ?2 WHERE username = ?3 RETURNING 1",
      [&](Statement& s) {
        s.bind(1, *encoded);
        s.bind(2, to_ms(config_.clock()));
        s.bind(3, username);
      },
      "no user '" + std::string(username) + "'");
}

Status IdentityStore::set_user_disabled(std::string_view username, bool disabled) {
  return update_one(
      *db_, "UPDATE users SET disabled = ?1, updated_at = ?2 WHERE username = ?3 RETURNING 1",
      [&](Statement& s) {
        s.bind(1, std::int64_t{disabled});
        s.bind(2, to_ms(config_.clock()));
        s.bind(3, username);
      },
      "no user '" + std::string(username) + "'");
}

Status IdentityStore::set_fhir_user(std::string_view username,
                                    std::optional<std::string> reference) {
  return update_one(
      *db_, "UPDATE users SET fhir_user = ?1, updated_at = ?2 WHERE username = ?3 RETURNING 1",
      [&](Statement& s) {
        s.bind_optional(1, reference);
        s.bind(2, to_ms(config_.clock()));
        s.bind(3, username);
      },
      "no user '" + std::string(username) + "'");
}

Result<User> IdentityStore::find_user(std::string_view username) {
  auto user = query_one(
      *db_, "SELECT " + kUserColumns + " FROM users WHERE username = ?1",
      [&](Statement& s) { s.bind(1, username); }, read_user);
  if (!user) return user.take_error();
  if (!*user) return user_not_found(username);
  return std::move(**user);
}

Result<std::vector<User>> IdentityStore::list_users() {
  return query_all(*db_, "SELECT " + kUserColumns + " FROM users ORDER BY username", read_user);
}

Result<User> IdentityStore::verify_password(std::string_view username, std::string_view password) {
  auto found = load_credentials(*db_, username);
  if (!found) return found.take_error();
  const std::string* verifier = *found ? usable_verifier(**found, *this) : nullptr;
  auto matched = matches(verifier ? *verifier : dummy_hash(), password);
  // Out of memory is the gateway's trouble, not the caller's credentials; a damaged stored
  // hash counts as a mismatch.
  if (!matched && matched.error().kind == ErrorKind::kUnavailable) return matched.take_error();
  if (!verifier || !matched || !*matched || (*found)->user.disabled) return invalid_credentials();
  if (!(*found)->user.bridged && needs_rehash(*verifier, config_.argon2)) {
    (void)set_password(username, password);  // best effort: the old hash still works
  }
  return std::move((*found)->user);
}

bool IdentityStore::cached_login_holds(const User& user) const {
  return user.bridged && user.verified_at &&
         config_.clock() < *user.verified_at + config_.cached_login_ttl;
}

Result<User> IdentityStore::cache_upstream_login(std::string_view username,
                                                 std::string_view password,
                                                 const std::vector<std::string>& roles) {
  if (auto valid = check_username(username); !valid) return valid.take_error();
  auto joined = join_tokens(roles, "role");
  if (!joined) return joined.take_error();
  auto encoded = hash(password);
  if (!encoded) return encoded.take_error();
  auto cached = query_one(
      *db_,
      "INSERT INTO users (username, roles, created_at, updated_at, bridged, verifier_hash, "
      "verified_at) VALUES (?1, ?2, ?3, ?3, 1, ?4, ?3) ON CONFLICT (username) DO UPDATE SET "
      "roles = excluded.roles, updated_at = excluded.updated_at, verifier_hash = "
      "excluded.verifier_hash, verified_at = excluded.verified_at WHERE users.bridged = 1 "
      "RETURNING " +
          kUserColumns,
      [&](Statement& s) {
        s.bind(1, username);
        s.bind(2, *joined);
        s.bind(3, to_ms(config_.clock()));
        s.bind(4, *encoded);
      },
      read_user);
  if (!cached) return cached.take_error();
  if (!*cached) return Error::conflict("user '" + std::string(username) + "' is a local user");
  return std::move(**cached);
}

Status IdentityStore::forget_upstream_login(std::string_view username) {
  return db_->with([&](Connection& conn) -> Status {
    auto stmt = conn.statement(
        "UPDATE users SET verifier_hash = NULL, verified_at = NULL, updated_at = ?1 "
        "WHERE username = ?2 AND bridged = 1");
    if (!stmt) return stmt.take_error();
    (*stmt)->bind(1, to_ms(config_.clock()));
    (*stmt)->bind(2, username);
    return (*stmt)->run();
  });
}

Result<NewClient> IdentityStore::add_client(std::string_view name,
                                            const std::vector<std::string>& roles,
                                            const std::vector<std::string>& scopes,
                                            std::optional<std::string> jwks) {
  if (name.empty() || name.size() > 200) return Error::invalid("a client name is 1 to 200 bytes");
  auto joined_roles = join_tokens(roles, "role");
  if (!joined_roles) return joined_roles.take_error();
  auto joined_scopes = join_tokens(scopes, "scope");
  if (!joined_scopes) return joined_scopes.take_error();
  if (auto valid = check_jwks(jwks); !valid) return valid.take_error();
  // 22 base64url characters: 132 random bits, unique without a counter to coordinate.
  NewClient made{generate_token().substr(0, 22), jwks ? "" : generate_client_secret()};
  const std::int64_t now = to_ms(config_.clock());
  return db_->with([&](Connection& conn) -> Result<NewClient> {
    auto stmt = conn.statement(
        "INSERT INTO clients (client_id, name, secret_hash, jwks, scopes, roles, created_at, "
        "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)");
    if (!stmt) return stmt.take_error();
    (*stmt)->bind(1, made.client_id);
    (*stmt)->bind(2, name);
    if (jwks) (*stmt)->bind_null(3);
    if (!jwks) (*stmt)->bind(3, hash_client_secret(made.secret));
    (*stmt)->bind_optional(4, jwks);
    (*stmt)->bind(5, *joined_scopes);
    (*stmt)->bind(6, *joined_roles);
    (*stmt)->bind(7, now);
    if (auto ran = (*stmt)->run(); !ran) return ran.take_error();
    return made;
  });
}

Result<std::string> IdentityStore::rotate_client_secret(std::string_view client_id) {
  std::string secret = generate_client_secret();
  Status updated = update_one(
      *db_, "UPDATE clients SET secret_hash = ?1, updated_at = ?2 WHERE client_id = ?3 RETURNING 1",
      [&](Statement& s) {
        s.bind(1, hash_client_secret(secret));
        s.bind(2, to_ms(config_.clock()));
        s.bind(3, client_id);
      },
      "no client '" + std::string(client_id) + "'");
  if (!updated) return updated.take_error();
  return secret;
}

Status IdentityStore::set_client_disabled(std::string_view client_id, bool disabled) {
  return update_one(
      *db_, "UPDATE clients SET disabled = ?1, updated_at = ?2 WHERE client_id = ?3 RETURNING 1",
      [&](Statement& s) {
        s.bind(1, std::int64_t{disabled});
        s.bind(2, to_ms(config_.clock()));
        s.bind(3, client_id);
      },
      "no client '" + std::string(client_id) + "'");
}

Result<Client> IdentityStore::find_client(std::string_view client_id) {
  auto client = query_one(
      *db_, "SELECT " + kClientColumns + " FROM clients WHERE client_id = ?1",
      [&](Statement& s) { s.bind(1, client_id); }, read_client);
  if (!client) return client.take_error();
  if (!*client) return Error::not_found("no client '" + std::string(client_id) + "'");
  return std::move(**client);
}

Result<std::vector<Client>> IdentityStore::list_clients() {
  return query_all(*db_, "SELECT " + kClientColumns + " FROM clients ORDER BY name, client_id",
                   read_client);
}

Result<Client> IdentityStore::verify_client_secret(std::string_view client_id,
                                                   std::string_view secret) {
  auto found = query_one(
      *db_, "SELECT " + kClientColumns + ", secret_hash FROM clients WHERE client_id = ?1",
      [&](Statement& s) { s.bind(1, client_id); },
      [](const Statement& s) { return std::pair(read_client(s), optional_text(s, 9)); });
  if (!found) return found.take_error();
  // SHA-256 takes microseconds, so skipping it for an unknown client tells an attacker
  // only that the client id (not a secret) is unknown.
  const bool valid = *found && (*found)->second && !(*found)->first.disabled &&
                     gateway::verify_client_secret(*(*found)->second, secret);
  if (!valid) return Error::unauthorized("invalid client credentials");
  return std::move((*found)->first);
}

Status IdentityStore::add_peer(std::string_view node_id, std::string_view cert_sha256,
                               const std::vector<std::string>& roles) {
  auto id = join_tokens({std::string(node_id)}, "node id");
  if (!id) return id.take_error();
  const std::string fingerprint = normalize_fingerprint(cert_sha256);
  if (fingerprint.empty()) return Error::invalid("a certificate fingerprint is a SHA-256 in hex");
  auto joined = join_tokens(roles, "role");
  if (!joined) return joined.take_error();
  auto added = query_one(
      *db_,
      "INSERT INTO peers (node_id, cert_sha256, roles, created_at) VALUES (?1, ?2, ?3, ?4) "
      "ON CONFLICT DO NOTHING RETURNING 1",
      [&](Statement& s) {
        s.bind(1, node_id);
        s.bind(2, fingerprint);
        s.bind(3, *joined);
        s.bind(4, to_ms(config_.clock()));
      },
      [](const Statement&) { return true; });
  if (!added) return added.take_error();
  if (!*added) return Error::conflict("that node id or certificate is already a peer");
  return ok_status();
}

Status IdentityStore::set_peer_disabled(std::string_view node_id, bool disabled) {
  return update_one(
      *db_, "UPDATE peers SET disabled = ?1 WHERE node_id = ?2 RETURNING 1",
      [&](Statement& s) {
        s.bind(1, std::int64_t{disabled});
        s.bind(2, node_id);
      },
      "no peer '" + std::string(node_id) + "'");
}

Result<Peer> IdentityStore::find_enabled_peer(std::string_view cert_sha256) {
  const std::string fingerprint = normalize_fingerprint(cert_sha256);
  auto peer = query_one(
      *db_, "SELECT " + kPeerColumns + " FROM peers WHERE cert_sha256 = ?1 AND disabled = 0",
      [&](Statement& s) { s.bind(1, fingerprint); }, read_peer);
  if (!peer) return peer.take_error();
  if (!*peer) return Error::not_found("no enabled peer with that certificate");
  return std::move(**peer);
}

Result<std::vector<Peer>> IdentityStore::list_peers() {
  return query_all(*db_, "SELECT " + kPeerColumns + " FROM peers ORDER BY node_id", read_peer);
}

}  // namespace cg::gateway
