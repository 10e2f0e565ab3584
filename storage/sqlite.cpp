#include "storage/sqlite.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <system_error>
#include <utility>

namespace cg::storage {
namespace {

// sqlite3_errmsg() of a failed call, with the OS's reason added when SQLite's own words
// ("disk I/O error") do not say what the disk did (no space, read-only file system).
std::string with_os_reason(sqlite3* db, int code) {
  std::string message = sqlite3_errmsg(db);
  const int primary = code & 0xff;
  const int os_error = sqlite3_system_errno(db);
  if ((primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN) && os_error != 0) {
    message += ": ";
    message += std::generic_category().message(os_error);
  }
  return message;
}

}  // namespace

Error sqlite_error(int code, std::string_view what, std::string_view detail) {
  std::string message(what);
  message += ": ";
  message += sqlite3_errstr(code);
  if (!detail.empty() && detail != sqlite3_errstr(code)) {
    message += " (";
    message += detail;
    message += ")";
  }
  switch (code & 0xff) {  // the primary code; extended codes keep it in the low byte
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    // With one writer and WAL readers, BUSY only comes from another process holding the
    // file past busy_timeout: a temporary condition, not a bug.
    case SQLITE_BUSY:
      return Error::unavailable(std::move(message));
    default:
      return Error::internal(std::move(message));
  }
}

std::int64_t sqlite_memory_used() {
  return sqlite3_memory_used();
}

void limit_sqlite_memory(std::int64_t bytes) {
  sqlite3_soft_heap_limit64(bytes);
}

std::optional<DiskProblem> disk_problem(int code, int system_errno) {
  switch (system_errno) {  // the OS's reason is the most precise one when SQLite kept it
    case ENOSPC:
    case EDQUOT:
      return DiskProblem::kFull;
    case EROFS:
      return DiskProblem::kReadOnly;
    default:
      break;
  }
  switch (code & 0xff) {
    case SQLITE_FULL:
      return DiskProblem::kFull;
    case SQLITE_READONLY:
      return DiskProblem::kReadOnly;
    case SQLITE_CANTOPEN:
      if (system_errno == EACCES || system_errno == EPERM) return DiskProblem::kReadOnly;
      return DiskProblem::kIoError;
    case SQLITE_IOERR:
      return DiskProblem::kIoError;
    default:
      return std::nullopt;
  }
}

// ---- Statement -------------------------------------------------------------------------

Statement::~Statement() {
  sqlite3_finalize(stmt_);
}

void Statement::bind(int index, std::int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
}

void Statement::bind(int index, double value) {
  int rc = sqlite3_bind_double(stmt_, index, value);
  if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
}

void Statement::bind(int index, std::string_view value) {
  // An empty view may have a null data(); SQLite would bind NULL for a null pointer.
  const char* data = value.data() != nullptr ? value.data() : "";
  int rc = sqlite3_bind_text64(stmt_, index, data, value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
}

void Statement::bind_blob(int index, std::string_view bytes) {
  // A zero-length blob, not NULL, for an empty view (whose data() may be null).
  int rc = bytes.data() != nullptr
               ? sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT)
               : sqlite3_bind_zeroblob(stmt_, index, 0);
  if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
}

void Statement::bind_null(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
}

void Statement::bind_optional(int index, const std::optional<std::string>& value) {
  if (value) {
    bind(index, std::string_view(*value));
  } else {
    bind_null(index);
  }
}

Result<bool> Statement::step() {
  if (bind_error_ != 0) return sqlite_error(bind_error_, "bind parameter");
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return sqlite_error(rc, "execute statement", with_os_reason(db_, rc));
}

Status Statement::run() {
  for (;;) {
    auto row = step();
    if (!row) return row.take_error();
    if (!*row) return ok_status();
  }
}

std::int64_t Statement::column_int64(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

double Statement::column_double(int column) const {
  return sqlite3_column_double(stmt_, column);
}

std::string Statement::column_blob(int column) const {
  const auto* bytes = static_cast<const char*>(sqlite3_column_blob(stmt_, column));
  if (bytes == nullptr) return {};
  return std::string(bytes, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
}

std::string Statement::column_text(int column) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  if (text == nullptr) return {};
  return std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
}

bool Statement::column_is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_error_ = 0;
}

// ---- StatementLease --------------------------------------------------------------------

StatementLease::StatementLease(StatementLease&& other) noexcept
    : owned_(std::move(other.owned_)),
      stmt_(std::exchange(other.stmt_, nullptr)),
      home_(std::exchange(other.home_, nullptr)),
      sql_(std::move(other.sql_)) {}

StatementLease::~StatementLease() {
  if (stmt_ != nullptr) stmt_->reset();
  if (home_ != nullptr && owned_) home_->check_in(std::move(sql_), std::move(owned_));
}

// ---- GeneratedStatements ---------------------------------------------------------------

std::unique_ptr<Statement> GeneratedStatements::check_out(std::string_view sql) {
  auto it = entries_.find(sql);
  if (it == entries_.end()) return nullptr;
  std::unique_ptr<Statement> out = std::move(it->second.statement);
  entries_.erase(it);
  return out;
}

void GeneratedStatements::check_in(std::string sql, std::unique_ptr<Statement> statement) {
  if (capacity_ == 0 || entries_.contains(sql)) return;  // a twin came back first: drop this
  if (entries_.size() >= capacity_) {
    auto oldest = std::min_element(entries_.begin(), entries_.end(), [](auto& a, auto& b) {
      return a.second.last_used < b.second.last_used;
    });
    entries_.erase(oldest);
  }
  entries_.emplace(std::move(sql), Entry{std::move(statement), ++clock_});
}

// ---- Connection ------------------------------------------------------------------------

Result<Connection> Connection::open(const std::filesystem::path& file, Mode mode) {
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
  if (mode == Mode::kCreate) flags |= SQLITE_OPEN_CREATE;
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(file.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    // The path is the operator's configuration, not patient data: name it.
    Error error = sqlite_error(rc, "open " + file.string(), db ? sqlite3_errmsg(db) : "");
    sqlite3_close_v2(db);
    return error;
  }
  sqlite3_extended_result_codes(db, 1);
  return Connection(db);
}

Connection::Connection(Connection&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)),
      cache_(std::move(other.cache_)),
      generated_(std::move(other.generated_)) {}

Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    close();
    db_ = std::exchange(other.db_, nullptr);
    cache_ = std::move(other.cache_);
    generated_ = std::move(other.generated_);
  }
  return *this;
}

Connection::~Connection() {
  close();
}

void Connection::close() {
  cache_.clear();  // statements must be finalized before the connection closes
  if (generated_) generated_->clear();
  if (db_ != nullptr) sqlite3_close_v2(std::exchange(db_, nullptr));
}

Status Connection::exec(std::string_view sql) {
  if (db_ == nullptr) return Error::unavailable("database connection is closed");
  std::string text(sql);  // sqlite3_exec needs a terminated string
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return sqlite_error(rc, "execute SQL", with_os_reason(db_, rc));
  return ok_status();
}

Result<std::unique_ptr<Statement>> Connection::prepare(std::string_view sql, unsigned flags) {
  if (db_ == nullptr) return Error::unavailable("database connection is closed");
  if (sql.size() > INT_MAX) return Error::internal("SQL text too long");
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), flags, &stmt, nullptr);
  if (rc != SQLITE_OK) return sqlite_error(rc, "prepare statement", sqlite3_errmsg(db_));
  return std::make_unique<Statement>(stmt, db_);
}

Result<StatementLease> Connection::statement(std::string_view sql) {
  if (auto it = cache_.find(sql); it != cache_.end()) return StatementLease(it->second.get());
  auto prepared = prepare(sql, SQLITE_PREPARE_PERSISTENT);
  if (!prepared) return prepared.take_error();
  if (cache_.size() >= kMaxCachedStatements) return StatementLease(std::move(*prepared));
  Statement* raw = prepared->get();
  cache_.emplace(std::string(sql), std::move(*prepared));
  return StatementLease(raw);
}

Result<StatementLease> Connection::generated_statement(std::string_view sql) {
  if (!generated_) generated_ = std::make_unique<GeneratedStatements>(kMaxGeneratedStatements);
  if (auto cached = generated_->check_out(sql)) {
    return StatementLease(std::move(cached), generated_.get(), std::string(sql));
  }
  auto prepared = prepare(sql, SQLITE_PREPARE_PERSISTENT);
  if (!prepared) return prepared.take_error();
  return StatementLease(std::move(*prepared), generated_.get(), std::string(sql));
}

Result<StatementLease> Connection::statement_once(std::string_view sql) {
  auto prepared = prepare(sql, 0);
  if (!prepared) return prepared.take_error();
  return StatementLease(std::move(*prepared));
}

void Connection::set_progress_handler(int period, int (*handler)(void*), void* context) {
  if (db_ != nullptr) sqlite3_progress_handler(db_, handler ? period : 0, handler, context);
}

Result<std::int64_t> Connection::query_int64(std::string_view sql) {
  auto stmt = statement(sql);
  if (!stmt) return stmt.take_error();
  auto row = (*stmt)->step();
  if (!row) return row.take_error();
  if (!*row) return Error::internal("query returned no row");
  return (*stmt)->column_int64(0);
}

std::optional<DiskProblem> Connection::disk_problem() const {
  if (db_ == nullptr) return std::nullopt;
  const int code = sqlite3_extended_errcode(db_);
  if (code == SQLITE_OK || code == SQLITE_ROW || code == SQLITE_DONE) return std::nullopt;
  return storage::disk_problem(code, sqlite3_system_errno(db_));
}

bool Connection::in_transaction() const {
  return db_ != nullptr && sqlite3_get_autocommit(db_) == 0;
}

std::int64_t Connection::last_insert_rowid() const {
  return sqlite3_last_insert_rowid(db_);
}

// ---- ReadTransaction -------------------------------------------------------------------

Result<ReadTransaction> ReadTransaction::begin(Connection& conn) {
  if (auto status = conn.exec("BEGIN"); !status) return status.take_error();
  return ReadTransaction(&conn);
}

ReadTransaction::~ReadTransaction() {
  // A read-only transaction has nothing to lose; COMMIT just releases the snapshot.
  if (conn_ != nullptr) (void)conn_->exec("COMMIT");
}

}  // namespace cg::storage
