#include "gateway/security/security_db.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "storage/database_file.hpp"
#include "storage/migrations.hpp"

namespace cg::gateway {
namespace {

// Schema version 1 of security.db. Times are ms since the epoch (UTC). Lists (roles,
// scopes) are space-separated tokens, the OAuth scope syntax, validated before storing.
// users           local and upstream-bridged logins. username is unique ignoring ASCII
//                 case, so "Admin" cannot impersonate "admin" in a log. password_hash is
//                 an Argon2id PHC string, NULL for a bridged user without a local
//                 password; a bridged user's verifier_hash (Argon2id of the password the
//                 upstream last accepted) and cached_roles hold until cached_until.
// clients         OAuth clients (devices, applications). secret_hash is "sha256$<hex>",
//                 NULL for a client that authenticates with a key from jwks instead.
// peers           other gateways, known by their TLS certificate's SHA-256 fingerprint.
// refresh_tokens  SHA-256 of each refresh token issued (never the token), its subject and
//                 scopes. `family` is the hash of the first token of a rotation chain, so a
//                 replayed token can revoke the whole chain.
// login_failures  failure counts for lockout, keyed "user:<lowercase name>" or
//                 "addr:<address>", counted in a window that starts at the first failure.
constexpr std::string_view kSecurityV1 = R"sql(
CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  username TEXT NOT NULL UNIQUE COLLATE NOCASE,
  password_hash TEXT,
  roles TEXT NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  fhir_user TEXT,
  bridged INTEGER NOT NULL DEFAULT 0,
  verifier_hash TEXT,
  cached_roles TEXT,
  cached_until INTEGER
);
CREATE TABLE clients (
  id INTEGER PRIMARY KEY,
  client_id TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  secret_hash TEXT,
  jwks TEXT,
  scopes TEXT NOT NULL,
  roles TEXT NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE peers (
  node_id TEXT PRIMARY KEY,
  cert_sha256 TEXT NOT NULL UNIQUE,
  roles TEXT NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
);
CREATE TABLE refresh_tokens (
  token_sha256 TEXT PRIMARY KEY,
  family TEXT NOT NULL,
  subject_kind TEXT NOT NULL CHECK (subject_kind IN ('user', 'client')),
  subject TEXT NOT NULL,
  scopes TEXT NOT NULL,
  issued_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used INTEGER NOT NULL DEFAULT 0,
  revoked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_by_expiry ON refresh_tokens (expires_at);
CREATE TABLE login_failures (
  key TEXT PRIMARY KEY,
  count INTEGER NOT NULL,
  window_start INTEGER NOT NULL,
  locked_until INTEGER NOT NULL DEFAULT 0
);
)sql";

// Version 2: bridged logins keep when the upstream last accepted the password
// (verified_at); how long that holds is the configured cached_login_ttl, applied when a
// login is checked, so shortening the setting takes effect at once. The unused cached_until
// and cached_roles go (roles holds a bridged user's upstream roles).
// security_events  failed logins, lockouts and offline (cached) logins, for the operator
//                  (`clinic-gateway security events`) until they become ATNA audit records.
//                  kind is login_failure | lockout | offline_login; subject a username or
//                  client id, address the caller's; detail a reason, never a secret.
constexpr std::string_view kSecurityV2 = R"sql(
ALTER TABLE users ADD COLUMN verified_at INTEGER;
ALTER TABLE users DROP COLUMN cached_until;
ALTER TABLE users DROP COLUMN cached_roles;
CREATE TABLE security_events (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  kind TEXT NOT NULL,
  subject TEXT NOT NULL,
  address TEXT NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX security_events_by_time ON security_events (at);
)sql";

constexpr std::array<std::string_view, 2> kSecuritySteps = {kSecurityV1, kSecurityV2};

Error file_error(const std::filesystem::path& file, std::string_view what) {
  return Error::unavailable("cannot " + std::string(what) + " " + file.string() + ": " +
                            std::strerror(errno));
}

}  // namespace

std::int64_t to_ms(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

TimePoint from_ms(std::int64_t ms) {
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(std::chrono::milliseconds(ms)));
}

Result<std::string> join_tokens(const std::vector<std::string>& tokens, std::string_view what) {
  std::string joined;
  std::vector<std::string_view> seen;
  for (const std::string& token : tokens) {
    const bool valid = !token.empty() && std::all_of(token.begin(), token.end(), [](char c) {
      return c >= 0x21 && c <= 0x7e && c != '"' && c != '\\';
    });
    if (!valid) return Error::invalid(std::string(what) + " '" + token + "' is not a valid token");
    if (std::find(seen.begin(), seen.end(), token) != seen.end()) continue;
    seen.push_back(token);
    if (!joined.empty()) joined += ' ';
    joined += token;
  }
  return joined;
}

std::vector<std::string> split_tokens(std::string_view joined) {
  std::vector<std::string> out;
  while (!joined.empty()) {
    const std::size_t space = joined.find(' ');
    if (space != 0) out.emplace_back(joined.substr(0, space));
    if (space == std::string_view::npos) break;
    joined.remove_prefix(space + 1);
  }
  return out;
}

std::span<const std::string_view> security_migrations() {
  return kSecuritySteps;
}

Status make_private_database_file(const std::filesystem::path& file) {
  // O_NOFOLLOW: a symlink planted in the data directory must not redirect the hashes.
  int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return file_error(file, "create");
  // An existing file may have been copied in (a restore) with wider permissions.
  const bool tightened = ::fchmod(fd, 0600) == 0;
  ::close(fd);
  if (!tightened) return file_error(file, "restrict permissions of");
  for (std::string_view suffix : {"-wal", "-shm"}) {
    std::filesystem::path side = file;
    side += suffix;
    if (::chmod(side.c_str(), 0600) != 0 && errno != ENOENT) {
      return file_error(side, "restrict permissions of");
    }
  }
  return ok_status();
}

Result<std::shared_ptr<SecurityDatabase>> SecurityDatabase::open(
    const std::filesystem::path& directory) {
  if (auto dir = storage::ensure_directory(directory); !dir) return dir.take_error();
  std::filesystem::path file = directory / kFileName;
  if (auto made = make_private_database_file(file); !made) return made.take_error();
  auto conn = storage::open_writer(file, 0);
  if (!conn) return conn.take_error();
  if (auto migrated = storage::apply_migrations(*conn, security_migrations()); !migrated) {
    return migrated.take_error();
  }
  return std::make_shared<SecurityDatabase>(std::move(*conn), std::move(file));
}

}  // namespace cg::gateway
