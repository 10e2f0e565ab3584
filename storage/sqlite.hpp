#pragma once
// A thin RAII layer over the SQLite C API: Connection (one sqlite3*), Statement (one
// sqlite3_stmt*), a per-connection cache of prepared statements, and the single place
// where SQLite result codes become cg::Error kinds (sqlite_error()).
//
// Thread-safety: a Connection and its statements are used by one thread at a time (they are
// opened with SQLITE_OPEN_NOMUTEX); moving a Connection to another thread between uses is
// fine. Nothing here throws; failures come back as Result/Status.

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "protocols/fhir/model/result.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace cg::storage {

// Maps a SQLite result code (primary or extended) to an Error: conditions of the disk
// (full, read-only, I/O error, cannot open, busy) are kUnavailable so the caller answers 503
// and keeps serving reads; everything else is kInternal. `what` names the operation;
// `detail` is sqlite3_errmsg() text, which carries no row values.
Error sqlite_error(int code, std::string_view what, std::string_view detail = {});

// Why the disk under a database refuses writes, when a failure says it does.
enum class DiskProblem {
  kFull,      // no space left (SQLITE_FULL, ENOSPC, EDQUOT)
  kReadOnly,  // the file system or file is read-only (SQLITE_READONLY*, EROFS, EACCES)
  kIoError,   // the device failed a write or an open (other SQLITE_IOERR, SQLITE_CANTOPEN)
};

// The disk problem behind SQLite result `code` (primary or extended) with the OS error
// `system_errno` (sqlite3_system_errno, 0 when unknown); nullopt for other failures (busy,
// constraint, misuse, …), which say nothing about the disk.
std::optional<DiskProblem> disk_problem(int code, int system_errno);

// Bytes SQLite holds now across every connection of the process (page caches, prepared
// statements, schemas), for /metrics.
std::int64_t sqlite_memory_used();

// SQLite's soft heap limit for the whole process (0: none). Past it, page caches recycle
// their own least recently used pages instead of allocating more; SQLite never fails a
// statement for it. Call before opening databases.
void limit_sqlite_memory(std::int64_t bytes);

// One prepared statement. Bind errors are remembered and reported by the next step(), so
// call sites can bind a row of values without checking each one.
class Statement {
 public:
  Statement(sqlite3_stmt* stmt, sqlite3* db) : stmt_(stmt), db_(db) {}
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Indexes start at 1, as in SQLite. Text is copied (SQLITE_TRANSIENT).
  void bind(int index, std::int64_t value);
  void bind(int index, double value);
  void bind(int index, std::string_view value);
  // Bytes that need not be UTF-8 (an 8859/1 HL7v2 message), stored as a BLOB.
  void bind_blob(int index, std::string_view bytes);
  void bind_null(int index);
  void bind_optional(int index, const std::optional<std::string>& value);

  // Advances: true when a row is ready, false when the statement is done.
  Result<bool> step();
  // Steps a statement that returns no rows (or whose rows are not wanted) to completion.
  Status run();

  std::int64_t column_int64(int column) const;
  double column_double(int column) const;
  std::string column_text(int column) const;
  std::string column_blob(int column) const;
  bool column_is_null(int column) const;

  // Ends the statement's current execution (and with it any implicit read snapshot) and
  // clears bindings, ready for the next use.
  void reset();

 private:
  sqlite3_stmt* stmt_;
  sqlite3* db_;
  int bind_error_ = 0;  // first failed bind since the last reset, 0 when none
};

class GeneratedStatements;

// A prepared statement borrowed from a Connection's cache (or owned, when the cache is full).
// Resets the statement when dropped, so a half-read SELECT never holds a read snapshot open.
class StatementLease {
 public:
  explicit StatementLease(Statement* cached) : stmt_(cached) {}
  explicit StatementLease(std::unique_ptr<Statement> owned)
      : owned_(std::move(owned)), stmt_(owned_.get()) {}
  // Checked out of `home` under `sql`, and checked back in when dropped.
  StatementLease(std::unique_ptr<Statement> owned, GeneratedStatements* home, std::string sql)
      : owned_(std::move(owned)), stmt_(owned_.get()), home_(home), sql_(std::move(sql)) {}
  StatementLease(StatementLease&& other) noexcept;
  StatementLease& operator=(StatementLease&&) = delete;
  ~StatementLease();

  Statement* operator->() const { return stmt_; }
  Statement& operator*() const { return *stmt_; }

 private:
  std::unique_ptr<Statement> owned_;
  Statement* stmt_;
  GeneratedStatements* home_ = nullptr;
  std::string sql_;
};

// The least-recently-used cache behind Connection::generated_statement().
class GeneratedStatements {
 public:
  explicit GeneratedStatements(std::size_t capacity) : capacity_(capacity) {}
  // The statement cached under `sql`, taken out of the cache; null when there is none.
  std::unique_ptr<Statement> check_out(std::string_view sql);
  // Back into the cache as the most recently used; when full, the least recently used goes.
  void check_in(std::string sql, std::unique_ptr<Statement> statement);
  void clear() { entries_.clear(); }
  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::unique_ptr<Statement> statement;
    std::uint64_t last_used = 0;
  };
  std::size_t capacity_;
  std::uint64_t clock_ = 0;
  std::map<std::string, Entry, std::less<>> entries_;
};

class Connection {
 public:
  enum class Mode { kCreate, kExisting };

  // Opens `file` (read-write; kCreate also creates it). Errors: kUnavailable when the file
  // or directory cannot be opened, kInternal otherwise.
  static Result<Connection> open(const std::filesystem::path& file, Mode mode);

  Connection(Connection&& other) noexcept;
  Connection& operator=(Connection&& other) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // Runs one or more SQL statements that return no rows (DDL, PRAGMA, BEGIN/COMMIT).
  Status exec(std::string_view sql);
  // A statement prepared once per connection and reused; statements beyond
  // kMaxCachedStatements are prepared for this use only.
  Result<StatementLease> statement(std::string_view sql);
  // A statement prepared for this use only, never cached.
  Result<StatementLease> statement_once(std::string_view sql);
  // For generated SQL (searches): statements kept in a small least-recently-used cache of
  // their own, apart from the fixed statements', so that the many shapes of searches cannot
  // crowd those out while the shapes that recur (a feed's conditional update by identifier,
  // an app's usual searches) skip SQLite's parser and planner. The statement is checked out
  // while leased, so the same SQL used twice at once gets a second one.
  Result<StatementLease> generated_statement(std::string_view sql);
  // Integer result of a one-row query such as "PRAGMA user_version".
  Result<std::int64_t> query_int64(std::string_view sql);

  // False in autocommit mode: SQLite may roll a transaction back by itself on some errors
  // (SQLITE_FULL, SQLITE_IOERR), and the writer must notice that.
  bool in_transaction() const;
  // The disk problem behind this connection's most recent failure (its extended error code
  // and OS errno); nullopt when it was not the disk's or nothing failed. Ask right after the
  // failing call: the next successful statement clears it.
  std::optional<DiskProblem> disk_problem() const;
  std::int64_t last_insert_rowid() const;
  // Finalizes cached statements and closes. Idempotent.
  void close();
  bool is_open() const { return db_ != nullptr; }
  // Calls handler(context) about every `period` virtual-machine steps of statements running
  // on this connection; a non-zero return interrupts the statement, whose step() then fails
  // (SQLITE_INTERRUPT, kInternal). A null handler removes it. For query budgets.
  void set_progress_handler(int period, int (*handler)(void*), void* context);

  static constexpr std::size_t kMaxCachedStatements = 48;
  static constexpr std::size_t kMaxGeneratedStatements = 64;

 private:
  explicit Connection(sqlite3* db) : db_(db) {}
  Result<std::unique_ptr<Statement>> prepare(std::string_view sql, unsigned flags);

  sqlite3* db_ = nullptr;
  std::map<std::string, std::unique_ptr<Statement>, std::less<>> cache_;
  // Behind a pointer: leases point at it, and a Connection moves.
  std::unique_ptr<GeneratedStatements> generated_;
};

// A read transaction on a connection: one snapshot for several queries (a page and its
// total, a page and its seq bound). Ends (COMMIT) when dropped.
class ReadTransaction {
 public:
  static Result<ReadTransaction> begin(Connection& conn);
  ReadTransaction(ReadTransaction&& other) noexcept : conn_(other.conn_) { other.conn_ = nullptr; }
  ReadTransaction& operator=(ReadTransaction&&) = delete;
  ~ReadTransaction();

 private:
  explicit ReadTransaction(Connection* conn) : conn_(conn) {}
  Connection* conn_;
};

}  // namespace cg::storage
