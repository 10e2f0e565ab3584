#include "storage/database_file.hpp"

#include <algorithm>
#include <string>
#include <system_error>

namespace cg::storage {
namespace {

// Every connection: wait out short locks (another process, a checkpoint) rather than fail;
// FULL so a commit is on disk when COMMIT returns; a small page cache each (negative = KiB)
// because the whole daemon aims at 64 MB RSS. wal_autocheckpoint stays at its default.
constexpr std::string_view kCommonPragmas =
    "PRAGMA busy_timeout = 5000;"
    "PRAGMA synchronous = FULL;"
    "PRAGMA foreign_keys = OFF;"
    "PRAGMA cache_size = -2048;";
// Readers are ordinary read-write connections (a SQLITE_OPEN_READONLY one cannot recover or
// create the -shm of a WAL database), made read-only by query_only.
// 4 MB per reader: searches walk index pages that a 1 MB cache kept re-reading from the
// OS (docs/benchmarks.md); four readers stay well inside the 64 MB RSS budget.
constexpr std::string_view kReaderPragmas = "PRAGMA query_only = 1; PRAGMA cache_size = -4096;";
// After a checkpoint, shrink the WAL file back to this (bytes) so one burst does not keep
// the SD card space.
// temp_store = MEMORY: every write job runs in a savepoint, whose sub-journal SQLite would
// otherwise write to a temporary file (~300 KB and 100+ pwrite calls per HL7v2 message, a fifth
// of the ingest CPU, docs/benchmarks.md). In memory it is bounded by one job's pages: SQLite
// truncates it when the job's savepoint is released.
constexpr std::string_view kWriterPragmas =
    "PRAGMA journal_size_limit = 16777216; PRAGMA temp_store = MEMORY;";

Status enable_wal(Connection& conn, const std::filesystem::path& file) {
  auto stmt = conn.statement("PRAGMA journal_mode = WAL");
  if (!stmt) return stmt.take_error();
  auto row = (*stmt)->step();
  if (!row) return row.take_error();
  // SQLite reports the mode in force instead of failing when it cannot switch.
  if (!*row || (*stmt)->column_text(0) != "wal") {
    return Error::unavailable(file.filename().string() +
                              " cannot use WAL journaling on this file system");
  }
  return ok_status();
}

Status limit_size(Connection& conn, std::int64_t max_db_bytes) {
  if (max_db_bytes <= 0) return ok_status();
  auto page_size = conn.query_int64("PRAGMA page_size");
  if (!page_size) return page_size.take_error();
  const std::int64_t pages = std::max<std::int64_t>(1, max_db_bytes / *page_size);
  return conn.exec("PRAGMA max_page_count = " + std::to_string(pages));
}

}  // namespace

Result<Connection> open_writer(const std::filesystem::path& file, std::int64_t max_db_bytes) {
  auto conn = Connection::open(file, Connection::Mode::kCreate);
  if (!conn) return conn;
  Status status = conn->exec(kCommonPragmas);
  if (status) status = conn->exec(kWriterPragmas);
  if (status) status = enable_wal(*conn, file);
  if (status) status = limit_size(*conn, max_db_bytes);
  if (!status) return status.take_error();
  return conn;
}

Result<std::vector<Connection>> open_readers(const std::filesystem::path& file, int count) {
  std::vector<Connection> readers;
  for (int i = 0; i < std::max(1, count); ++i) {
    auto conn = Connection::open(file, Connection::Mode::kExisting);
    if (!conn) return conn.take_error();
    Status status = conn->exec(kCommonPragmas);
    if (status) status = conn->exec(kReaderPragmas);
    if (!status) return status.take_error();
    readers.push_back(std::move(*conn));
  }
  return readers;
}

Status ensure_directory(const std::filesystem::path& directory) {
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  if (ec || !std::filesystem::is_directory(directory, ec)) {
    return Error::unavailable("cannot use storage directory " + directory.string() +
                              (ec ? ": " + ec.message() : ": not a directory"));
  }
  return ok_status();
}

}  // namespace cg::storage
