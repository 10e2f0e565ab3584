#pragma once
// RefreshTokenStore: the refresh tokens the gateway has issued, kept in security.db as
// SHA-256 digests (a copied database yields no usable token), with rotation: consuming a
// token marks it used, the caller issues its successor in the same family, and presenting
// a used token again revokes the whole family — the replay of a stolen token ends the
// thief's and the victim's chain alike (OAuth 2.0 Security BCP, RFC 9700 §4.14.2).
// SHA-256 suffices because the tokens are 256 random bits (password_hash.hpp).
//
// Thread-safety: every method may be called from any thread, concurrently.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/security/security_db.hpp"

namespace cg::gateway {

enum class SubjectKind { kUser, kClient };

struct RefreshGrant {
  SubjectKind kind = SubjectKind::kUser;
  std::string subject;  // username or client_id
  std::vector<std::string> scopes;
  TimePoint issued_at;
  TimePoint expires_at;
  // The rotation chain: filled by consume(); store() starts a new one when it is empty.
  std::string family;
};

class RefreshTokenStore {
 public:
  explicit RefreshTokenStore(std::shared_ptr<SecurityDatabase> db, Clock clock = system_now);

  // Keeps `token`'s digest with `grant`. kInvalid for bad scopes; kInternal when the token
  // is already stored (tokens are random: a repeat is a bug).
  Status store(std::string_view token, const RefreshGrant& grant);

  // The grant of `token`, which is marked used, when the token is known, unused, not
  // revoked or expired, and its user or client exists and is enabled. Otherwise
  // kUnauthorized "invalid refresh token"; when the token had been used, its family is
  // revoked first.
  Result<RefreshGrant> consume(std::string_view token);

  // Revokes `token`'s family (RFC 7009). An unknown token is not an error: the revocation
  // endpoint answers the same either way.
  Status revoke(std::string_view token);
  // Revokes every token of a user or client (disabled, password changed, secret rotated).
  Status revoke_subject(SubjectKind kind, std::string_view subject);
  // Deletes tokens expired before now; returns how many.
  Result<std::int64_t> purge_expired();

 private:
  std::shared_ptr<SecurityDatabase> db_;
  Clock clock_;
};

}  // namespace cg::gateway
