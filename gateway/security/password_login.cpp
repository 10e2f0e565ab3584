#include "gateway/security/password_login.hpp"

namespace cg::gateway {
namespace {

Error wrong_credentials() {
  return Error::unauthorized("invalid username or password");
}

}  // namespace

PasswordLogin::PasswordLogin(IdentityStore& identities, LoginLockout& lockout,
                             SecurityEventSink* events, UpstreamLogin* upstream, Clock clock)
    : identities_(identities),
      lockout_(lockout),
      events_(events),
      upstream_(upstream),
      clock_(std::move(clock)) {}

Result<User> PasswordLogin::authenticate(std::string_view username, std::string_view password,
                                         std::string_view address) {
  for (auto [scope, name] :
       {std::pair{LockoutScope::kUser, username}, std::pair{LockoutScope::kAddress, address}}) {
    auto locked = lockout_.is_locked(scope, name);
    if (!locked) return locked.take_error();
    // Not counted and not reported: the lock itself was, when it began.
    if (*locked) return Error::unauthorized("too many failed logins; try again later");
  }
  if (!upstream_ || !check_username(username)) return local_login(username, password, address);
  auto known = identities_.find_user(username);
  if (!known && known.error().kind != ErrorKind::kNotFound) return known.take_error();
  if (known && !known->bridged) return local_login(username, password, address);
  return bridged_login(username, password, address);
}

Result<User> PasswordLogin::local_login(std::string_view username, std::string_view password,
                                        std::string_view address) {
  auto user = identities_.verify_password(username, password);
  if (user) return succeeded(std::move(*user));
  if (user.error().kind != ErrorKind::kUnauthorized) return user.take_error();
  record_failure(username, address, "wrong password, or an unknown or disabled user");
  return wrong_credentials();
}

Result<User> PasswordLogin::bridged_login(std::string_view username, std::string_view password,
                                          std::string_view address) {
  UpstreamVerdict verdict = upstream_->check(username, password);
  switch (verdict.kind) {
    case UpstreamVerdictKind::kAccepted: {
      auto cached = identities_.cache_upstream_login(username, password, verdict.roles);
      if (!cached && cached.error().kind != ErrorKind::kConflict) return cached.take_error();
      // kConflict: made a local user meanwhile, and a local user's password is checked here.
      if (!cached) return local_login(username, password, address);
      if (cached->disabled) {
        record_failure(username, address, "accepted by the upstream, but disabled here");
        return wrong_credentials();
      }
      return succeeded(std::move(*cached));
    }
    case UpstreamVerdictKind::kRefused: {
      // The refused password is the cached one: it changed upstream, or the user was
      // disabled there, so it must not open the door offline either. A password that is
      // merely wrong leaves the cache alone: a stranger's guess cannot take away a user's
      // offline login.
      auto stale = identities_.verify_password(username, password);
      if (!stale && stale.error().kind != ErrorKind::kUnauthorized) return stale.take_error();
      if (stale) {
        if (auto dropped = identities_.forget_upstream_login(username); !dropped) {
          return dropped.take_error();
        }
      }
      record_failure(username, address, verdict.detail);
      return wrong_credentials();
    }
    case UpstreamVerdictKind::kUnreachable:
      break;
  }
  return offline_login(username, password, address, verdict.detail);
}

Result<User> PasswordLogin::offline_login(std::string_view username, std::string_view password,
                                          std::string_view address, const std::string& why) {
  auto user = identities_.verify_password(username, password);
  if (user) {
    report(SecurityEventKind::kOfflineLogin, username, address, "upstream unreachable: " + why);
    return succeeded(std::move(*user));
  }
  if (user.error().kind != ErrorKind::kUnauthorized) return user.take_error();
  record_failure(username, address, "upstream unreachable (" + why + "), no cached login matched");
  // One answer whether or not a cached login exists, so it does not reveal which names have
  // logged in here before.
  return Error::unauthorized(
      "the upstream login service cannot be reached, and no cached login here matches "
      "these credentials");
}

Result<User> PasswordLogin::succeeded(User user) {
  (void)lockout_.clear_failures(LockoutScope::kUser, user.username);
  return user;
}

void PasswordLogin::record_failure(std::string_view subject, std::string_view address,
                                   std::string detail) {
  report(SecurityEventKind::kLoginFailure, subject, address, detail);
  if (!subject.empty()) {
    auto user = lockout_.record_failure(LockoutScope::kUser, subject);
    // A failure is only counted while unlocked, so a lock in its answer began with it.
    if (user && user->locked_until) {
      report(SecurityEventKind::kLockout, subject, address,
             std::to_string(user->failures) + " failed logins for this user");
    }
  }
  auto by_address = lockout_.record_failure(LockoutScope::kAddress, address);
  if (by_address && by_address->locked_until) {
    report(SecurityEventKind::kLockout, "", address,
           std::to_string(by_address->failures) + " failed logins from this address");
  }
}

void PasswordLogin::report(SecurityEventKind kind, std::string_view subject,
                           std::string_view address, std::string detail) {
  if (!events_) return;
  events_->record({clock_(), kind, std::string(subject), std::string(address), std::move(detail)});
}

}  // namespace cg::gateway
