#pragma once
// IdentityStore: who may authenticate to the gateway, kept in security.db — users (local,
// or bridged from an upstream with a cached verifier for offline logins), OAuth clients
// (devices and applications) and peer gateways — and the checks of their credentials.
// Refresh tokens and lockout live beside it (refresh_tokens.hpp, login_lockout.hpp).
//
// Nothing returned here carries a password or secret hash: the values may be printed,
// logged and audited. A client secret leaves the store once, in add_client() or
// rotate_client_secret(); only its hash is kept.
//
// Thread-safety: every method may be called from any thread, concurrently. Methods that
// hash or verify a password run Argon2id (tens of ms, `memory_kib` each) on the calling
// thread; at most `max_concurrent_hashes` run at once, the others wait, so a burst of
// logins cannot take more than that many times the Argon2 memory.

#include <memory>
#include <mutex>
#include <optional>
#include <semaphore>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/security/identity_types.hpp"
#include "gateway/security/password_hash.hpp"
#include "gateway/security/security_db.hpp"

namespace cg::gateway {

struct IdentityConfig {
  Argon2Parameters argon2;  // for new hashes; older ones are upgraded at the next login
  Clock clock = system_now;
  int max_concurrent_hashes = 2;  // 2 × 19 MiB fits the daemon's 64 MB budget (≤ 16)
  // How long after the upstream last accepted a bridged user's password the cached verifier
  // lets them log in (auth.cached_login_ttl_hours). Zero: never without the upstream.
  std::chrono::seconds cached_login_ttl = std::chrono::hours(24 * 7);
};

// kInvalid unless `name` is 1–64 of [A-Za-z0-9._@-], what a username may be.
Status check_username(std::string_view name);

// The minimal password policy (NIST SP 800-63B style: length, not composition rules):
// at least kMinPasswordLength Unicode code points, at most kMaxPasswordBytes bytes, and not
// the username. kInvalid saying which rule failed (never echoing the password).
inline constexpr std::size_t kMinPasswordLength = 10;
inline constexpr std::size_t kMaxPasswordBytes = 1024;
Status check_password_policy(std::string_view username, std::string_view password);

class IdentityStore {
 public:
  IdentityStore(std::shared_ptr<SecurityDatabase> db, IdentityConfig config = {});

  // Users. Usernames are 1–64 of [A-Za-z0-9._@-], unique ignoring case. Errors: kInvalid
  // (username, password policy, roles), kConflict (name taken), kNotFound (no such user),
  // storage errors as sqlite_error maps them.
  Result<User> add_user(std::string_view username, std::string_view password,
                        const std::vector<std::string>& roles);
  Status set_password(std::string_view username, std::string_view password);
  Status set_user_disabled(std::string_view username, bool disabled);
  Status set_fhir_user(std::string_view username, std::optional<std::string> reference);
  Result<User> find_user(std::string_view username);
  Result<std::vector<User>> list_users();  // by username

  // The user when `password` is theirs and the user may log in now (not disabled; for a
  // bridged user, cached_login_holds()). Otherwise kUnauthorized "invalid credentials", the
  // same error after the same Argon2 work whether the name is unknown, disabled or the
  // password wrong, so neither message nor timing tells which. A hash made with other
  // parameters than the config's is replaced on success.
  Result<User> verify_password(std::string_view username, std::string_view password);

  // After the upstream accepted `password` for `username`: creates or refreshes the bridged
  // user with a verifier of the password and the upstream's `roles`, verified now. A
  // disabled bridged user stays disabled. kConflict for a local user of that name: local
  // users never become bridged.
  Result<User> cache_upstream_login(std::string_view username, std::string_view password,
                                    const std::vector<std::string>& roles);
  // After the upstream refused `username`'s password (changed, or the user disabled there):
  // drops the cached verifier, so offline logins stop too. Nothing for a local or unknown
  // user.
  Status forget_upstream_login(std::string_view username);
  // Whether a bridged user's last upstream login is recent enough (cached_login_ttl) for
  // offline logins and refresh tokens. False for local users.
  bool cached_login_holds(const User& user) const;

  // Clients. With `jwks` (a public JWK Set for private_key_jwt) the client gets no secret
  // and NewClient::secret is empty. Errors as for users.
  Result<NewClient> add_client(std::string_view name, const std::vector<std::string>& roles,
                               const std::vector<std::string>& scopes,
                               std::optional<std::string> jwks = std::nullopt);
  // A new secret replacing the old one at once.
  Result<std::string> rotate_client_secret(std::string_view client_id);
  Status set_client_disabled(std::string_view client_id, bool disabled);
  Result<Client> find_client(std::string_view client_id);
  Result<std::vector<Client>> list_clients();  // by name
  // The client when `secret` is its current secret and it is enabled; otherwise
  // kUnauthorized "invalid client credentials" (one message for every cause).
  Result<Client> verify_client_secret(std::string_view client_id, std::string_view secret);

  // Peers, known by the SHA-256 fingerprint (lowercase hex) of their TLS certificate.
  Status add_peer(std::string_view node_id, std::string_view cert_sha256,
                  const std::vector<std::string>& roles);
  Status set_peer_disabled(std::string_view node_id, bool disabled);
  // kNotFound for an unknown or disabled fingerprint.
  Result<Peer> find_enabled_peer(std::string_view cert_sha256);
  Result<std::vector<Peer>> list_peers();  // by node id

 private:
  class HashSlot;
  Result<std::string> hash(std::string_view password);
  Result<bool> matches(const std::string& encoded, std::string_view password);
  const std::string& dummy_hash();

  std::shared_ptr<SecurityDatabase> db_;
  IdentityConfig config_;
  std::counting_semaphore<16> hash_slots_;
  std::once_flag dummy_once_;
  std::string dummy_hash_;
};

}  // namespace cg::gateway
