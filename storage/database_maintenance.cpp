#include "storage/database_maintenance.hpp"

#include <sqlite3.h>

#include <system_error>

#include "storage/sqlite.hpp"

namespace cg::storage {
namespace {

namespace fs = std::filesystem;

// An existing database, opened read-write but not created: a SQLITE_OPEN_READONLY
// connection cannot create the -shm of a WAL database when no daemon has it open. Waits
// out short locks like the daemon's connections do.
Result<Connection> open_existing(const fs::path& file) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) return Error::not_found("no database at " + file.string());
  auto conn = Connection::open(file, Connection::Mode::kExisting);
  if (!conn) return conn;
  if (auto s = conn->exec("PRAGMA busy_timeout = 5000"); !s) return s.take_error();
  return conn;
}

// The raw handle for the backup API, which Connection does not wrap.
struct RawDatabase {
  sqlite3* db = nullptr;
  ~RawDatabase() { sqlite3_close_v2(db); }
};

Status open_raw(const fs::path& file, int flags, RawDatabase& raw) {
  const int rc = sqlite3_open_v2(file.c_str(), &raw.db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    return sqlite_error(rc, "open " + file.filename().string(),
                        raw.db ? sqlite3_errmsg(raw.db) : "");
  }
  sqlite3_busy_timeout(raw.db, 5000);
  return ok_status();
}

}  // namespace

Status copy_database(const fs::path& source, const fs::path& target) {
  std::error_code ec;
  if (!fs::is_regular_file(source, ec))
    return Error::not_found("no database at " + source.string());
  if (fs::exists(target, ec)) return Error::conflict(target.string() + " exists");
  RawDatabase from, to;
  if (auto s = open_raw(source, SQLITE_OPEN_READWRITE, from); !s) return s;
  if (auto s = open_raw(target, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, to); !s) return s;
  sqlite3_backup* backup = sqlite3_backup_init(to.db, "main", from.db, "main");
  if (backup == nullptr) {
    return sqlite_error(sqlite3_errcode(to.db), "backup of " + source.filename().string(),
                        sqlite3_errmsg(to.db));
  }
  // -1: every page in one step, so one read transaction covers the whole copy.
  const int stepped = sqlite3_backup_step(backup, -1);
  const int finished = sqlite3_backup_finish(backup);
  if (stepped != SQLITE_DONE) {
    return sqlite_error(stepped, "backup of " + source.filename().string(),
                        sqlite3_errstr(stepped));
  }
  if (finished != SQLITE_OK) {
    return sqlite_error(finished, "backup of " + source.filename().string(), sqlite3_errmsg(to.db));
  }
  return ok_status();
}

Result<std::int64_t> schema_version(const fs::path& file) {
  auto conn = open_existing(file);
  if (!conn) return conn.take_error();
  return conn->query_int64("PRAGMA user_version");
}

Result<std::string> quick_check(const fs::path& file) {
  auto conn = open_existing(file);
  if (!conn) return conn.take_error();
  auto stmt = conn->statement_once("PRAGMA quick_check(1)");
  if (!stmt) return stmt.take_error();
  auto row = (*stmt)->step();
  if (!row) return row.take_error();
  if (!*row) return Error::internal("quick_check returned no row");
  return (*stmt)->column_text(0);
}

Result<std::int64_t> count_rows(const fs::path& file, std::string_view table,
                                std::string_view where) {
  auto conn = open_existing(file);
  if (!conn) return conn.take_error();
  auto stmt =
      conn->statement_once("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?");
  if (!stmt) return stmt.take_error();
  (*stmt)->bind(1, table);
  auto row = (*stmt)->step();
  if (!row) return row.take_error();
  if (!*row || (*stmt)->column_int64(0) == 0) return std::int64_t{0};
  std::string sql = "SELECT count(*) FROM " + std::string(table);
  if (!where.empty()) sql += " WHERE " + std::string(where);
  return conn->query_int64(sql);
}

Status vacuum_database(const fs::path& file) {
  auto conn = open_existing(file);
  if (!conn) return conn.take_error();
  if (auto s = conn->exec("VACUUM"); !s) return s;
  if (auto s = conn->exec("PRAGMA optimize"); !s) return s;
  return conn->exec("PRAGMA wal_checkpoint(TRUNCATE)");
}

}  // namespace cg::storage
