#pragma once
// SecurityDatabase: security.db in the data directory, where the identity store, the
// refresh tokens and the login lockout keep their rows (schema: security_schema.hpp). It
// holds password and secret hashes, so the file (and its -wal and -shm) is made readable
// by the service user only (mode 0600), whatever the process umask.
//
// One connection, used under a mutex. Security traffic is a few logins and token refreshes
// a minute, each a statement or two: a reader pool would cost memory and bring no
// throughput, and one connection makes every read see the latest write. Argon2 work is
// done by the callers outside the mutex. Several processes (the daemon and a
// `clinic-gateway user …` command) may have the file open: SQLite WAL serialises writes.
//
// Thread-safety: with() may be called from any thread, concurrently.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocols/fhir/model/result.hpp"
#include "storage/sqlite.hpp"

namespace cg::gateway {

class SecurityDatabase {
 public:
  // Opens (creating when missing) `directory`/security.db and brings its schema up to date.
  // Errors: kUnavailable when the directory or file cannot be created, opened or made
  // private; kInternal when the file's schema is newer than this build.
  static Result<std::shared_ptr<SecurityDatabase>> open(const std::filesystem::path& directory);

  // Runs `fn(storage::Connection&)` with the connection to itself, returning what fn
  // returns. fn must not call with() again (the mutex is not recursive).
  template <class Fn>
  auto with(Fn&& fn) {
    std::lock_guard lock(mutex_);
    return std::forward<Fn>(fn)(conn_);
  }

  const std::filesystem::path& file() const { return file_; }

  static constexpr std::string_view kFileName = "security.db";

  explicit SecurityDatabase(storage::Connection conn, std::filesystem::path file)
      : conn_(std::move(conn)), file_(std::move(file)) {}

 private:
  std::mutex mutex_;
  storage::Connection conn_;
  std::filesystem::path file_;
};

// Time as the security stores see it; tests pass a Clock they move by hand.
using TimePoint = std::chrono::system_clock::time_point;
using Clock = std::function<TimePoint()>;
inline TimePoint system_now() {
  return std::chrono::system_clock::now();
}

// How times are stored: ms since the epoch, UTC.
std::int64_t to_ms(TimePoint t);
TimePoint from_ms(std::int64_t ms);

// Roles and scopes are stored space-separated, as OAuth writes scopes. kInvalid (naming
// `what`) when a token is empty or holds anything but visible ASCII other than '"' and
// '\' (RFC 6749's scope-token); duplicates are dropped, order kept.
Result<std::string> join_tokens(const std::vector<std::string>& tokens, std::string_view what);
std::vector<std::string> split_tokens(std::string_view joined);

// The security.db schema steps this build knows (storage/migrations.hpp).
std::span<const std::string_view> security_migrations();

// Creates `file` when missing and sets it, and its -wal and -shm when present, to mode 0600.
// Creating the file ourselves, with open(2) and mode 0600, means SQLite never creates it
// under a permissive umask; SQLite gives the -wal and -shm it creates later the mode of the
// database file. kUnavailable when a file cannot be created or changed.
Status make_private_database_file(const std::filesystem::path& file);

}  // namespace cg::gateway
