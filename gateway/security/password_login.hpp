#pragma once
// PasswordLogin: whose username and password these are, for the token endpoint's password
// grant (token_service.hpp). In order:
//   1. lockout: a locked user or address is refused without checking anything;
//   2. a local user (`clinic-gateway user add`) is checked against its hash here, and its
//      password never leaves the gateway;
//   3. any other name, when an upstream is configured, is a bridged login: the upstream
//      decides (UpstreamLogin). Accepted: a verifier of the password and the upstream's
//      roles are cached (IdentityStore::cache_upstream_login) and the user is let in unless
//      disabled here. Refused: the login fails, and when the refused password is the cached
//      one (changed upstream, or the user disabled there) the cached verifier is dropped.
//      Unreachable: the cached verifier decides while it holds (cached_login_ttl), recorded
//      as an offline login.
// Every failure counts for lockout (user and address) and is reported to the
// SecurityEventSink, with a lockout event when it locks the user or the address.
//
// Thread-safety: authenticate() and record_failure() may be called from any thread; they
// block on Argon2, SQLite and the upstream (up to its timeout), so keep them off I/O threads.

#include <string_view>

#include "gateway/security/identity_store.hpp"
#include "gateway/security/login_lockout.hpp"
#include "gateway/security/security_events.hpp"
#include "gateway/security/upstream_login.hpp"

namespace cg::gateway {

class PasswordLogin {
 public:
  // `identities` and `lockout` must outlive this; `events` and `upstream` too when set
  // (null: no events; no upstream, so every user is local).
  PasswordLogin(IdentityStore& identities, LoginLockout& lockout, SecurityEventSink* events,
                UpstreamLogin* upstream, Clock clock = system_now);

  // The user the password proves. kUnauthorized with a message fit for the token endpoint's
  // invalid_grant description (the same one for an unknown name, a disabled user and a wrong
  // password); other kinds are the gateway's trouble (storage, memory), not the caller's.
  Result<User> authenticate(std::string_view username, std::string_view password,
                            std::string_view address);

  // Counts a failed attempt for `subject` (a username; "" for none, e.g. a client's failure,
  // which counts only for the address) and `address`, and reports it, with a lockout event
  // for each of them the failure locked.
  void record_failure(std::string_view subject, std::string_view address, std::string detail);

 private:
  Result<User> local_login(std::string_view username, std::string_view password,
                           std::string_view address);
  Result<User> bridged_login(std::string_view username, std::string_view password,
                             std::string_view address);
  Result<User> offline_login(std::string_view username, std::string_view password,
                             std::string_view address, const std::string& why);
  Result<User> succeeded(User user);
  void report(SecurityEventKind kind, std::string_view subject, std::string_view address,
              std::string detail);

  IdentityStore& identities_;
  LoginLockout& lockout_;
  SecurityEventSink* events_;
  UpstreamLogin* upstream_;
  Clock clock_;
};

}  // namespace cg::gateway
