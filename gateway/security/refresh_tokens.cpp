#include "gateway/security/refresh_tokens.hpp"

#include <optional>

#include "gateway/security/password_hash.hpp"

namespace cg::gateway {
namespace {

using storage::Connection;
using storage::Statement;

// Marks the token used only when it is still good; RETURNING tells whether it was.
constexpr std::string_view kConsume =
    "UPDATE refresh_tokens SET used = 1 WHERE token_sha256 = ?1 AND used = 0 AND revoked = 0 "
    "AND expires_at > ?2 RETURNING subject_kind, subject, scopes, issued_at, expires_at, family";

// Whether the user or client a grant names may still use it.
constexpr std::string_view kSubjectEnabled =
    "SELECT EXISTS (SELECT 1 FROM users WHERE ?1 = 'user' AND username = ?2 AND disabled = 0) "
    "OR EXISTS (SELECT 1 FROM clients WHERE ?1 = 'client' AND client_id = ?2 AND disabled = 0)";

constexpr std::string_view kRevokeFamily =
    "UPDATE refresh_tokens SET revoked = 1 WHERE family = "
    "(SELECT family FROM refresh_tokens WHERE token_sha256 = ?1)";

std::string_view kind_name(SubjectKind kind) {
  return kind == SubjectKind::kUser ? "user" : "client";
}

RefreshGrant read_grant(const Statement& s) {
  return {s.column_text(0) == "user" ? SubjectKind::kUser : SubjectKind::kClient,
          s.column_text(1),
          split_tokens(s.column_text(2)),
          from_ms(s.column_int64(3)),
          from_ms(s.column_int64(4)),
          s.column_text(5)};
}

Error invalid_token() {
  return Error::unauthorized("invalid refresh token");
}

// Runs one statement that returns no rows, after `bind`.
template <class Bind>
Status run(Connection& conn, std::string_view sql, Bind bind) {
  auto stmt = conn.statement(sql);
  if (!stmt) return stmt.take_error();
  bind(**stmt);
  return (*stmt)->run();
}

Result<bool> subject_enabled(Connection& conn, const RefreshGrant& grant) {
  auto stmt = conn.statement(kSubjectEnabled);
  if (!stmt) return stmt.take_error();
  (*stmt)->bind(1, kind_name(grant.kind));
  (*stmt)->bind(2, grant.subject);
  auto row = (*stmt)->step();
  if (!row) return row.take_error();
  return *row && (*stmt)->column_int64(0) != 0;
}

// Marks the token used and returns its grant; nullopt when it was not usable.
Result<std::optional<RefreshGrant>> take_unused(Connection& conn, const std::string& digest,
                                                std::int64_t now) {
  auto stmt = conn.statement(kConsume);
  if (!stmt) return stmt.take_error();
  (*stmt)->bind(1, digest);
  (*stmt)->bind(2, now);
  auto row = (*stmt)->step();
  if (!row) return row.take_error();
  if (!*row) return std::optional<RefreshGrant>();
  return std::optional(read_grant(**stmt));
}

// After a failed consume: when the token exists and was used, it is being replayed.
Status revoke_if_replayed(Connection& conn, const std::string& digest) {
  auto stmt = conn.statement("SELECT used FROM refresh_tokens WHERE token_sha256 = ?1");
  if (!stmt) return stmt.take_error();
  (*stmt)->bind(1, digest);
  auto row = (*stmt)->step();
  if (!row) return row.take_error();
  const bool replayed = *row && (*stmt)->column_int64(0) != 0;
  (*stmt)->reset();
  if (!replayed) return ok_status();
  return run(conn, kRevokeFamily, [&](Statement& s) { s.bind(1, digest); });
}

}  // namespace

RefreshTokenStore::RefreshTokenStore(std::shared_ptr<SecurityDatabase> db, Clock clock)
    : db_(std::move(db)), clock_(std::move(clock)) {}

Status RefreshTokenStore::store(std::string_view token, const RefreshGrant& grant) {
  auto scopes = join_tokens(grant.scopes, "scope");
  if (!scopes) return scopes.take_error();
  const std::string digest = sha256_hex(token);
  return db_->with([&](Connection& conn) {
    return run(conn,
               "INSERT INTO refresh_tokens (token_sha256, family, subject_kind, subject, scopes, "
               "issued_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
               [&](Statement& s) {
                 s.bind(1, digest);
                 s.bind(2, grant.family.empty() ? digest : grant.family);
                 s.bind(3, kind_name(grant.kind));
                 s.bind(4, grant.subject);
                 s.bind(5, *scopes);
                 s.bind(6, to_ms(grant.issued_at));
                 s.bind(7, to_ms(grant.expires_at));
               });
  });
}

Result<RefreshGrant> RefreshTokenStore::consume(std::string_view token) {
  const std::string digest = sha256_hex(token);
  const std::int64_t now = to_ms(clock_());
  return db_->with([&](Connection& conn) -> Result<RefreshGrant> {
    auto grant = take_unused(conn, digest, now);
    if (!grant) return grant.take_error();
    if (!*grant) {
      if (auto revoked = revoke_if_replayed(conn, digest); !revoked) return revoked.take_error();
      return invalid_token();
    }
    // Checked after marking it used: a disabled subject's token is spent either way.
    auto enabled = subject_enabled(conn, **grant);
    if (!enabled) return enabled.take_error();
    if (!*enabled) return invalid_token();
    return std::move(**grant);
  });
}

Status RefreshTokenStore::revoke(std::string_view token) {
  const std::string digest = sha256_hex(token);
  return db_->with([&](Connection& conn) {
    return run(conn, kRevokeFamily, [&](Statement& s) { s.bind(1, digest); });
  });
}

Status RefreshTokenStore::revoke_subject(SubjectKind kind, std::string_view subject) {
  return db_->with([&](Connection& conn) {
    return run(conn,
               "UPDATE refresh_tokens SET revoked = 1 WHERE subject_kind = ?1 AND subject = ?2",
               [&](Statement& s) {
                 s.bind(1, kind_name(kind));
                 s.bind(2, subject);
               });
  });
}

Result<std::int64_t> RefreshTokenStore::purge_expired() {
  const std::int64_t now = to_ms(clock_());
  return db_->with([&](Connection& conn) -> Result<std::int64_t> {
    auto stmt = conn.statement("DELETE FROM refresh_tokens WHERE expires_at <= ?1 RETURNING 1");
    if (!stmt) return stmt.take_error();
    (*stmt)->bind(1, now);
    std::int64_t count = 0;
    for (;;) {
      auto row = (*stmt)->step();
      if (!row) return row.take_error();
      if (!*row) return count;
      ++count;
    }
  });
}

}  // namespace cg::gateway
