#include "storage/audit_store.hpp"

#include <array>
#include <future>

#include "storage/database_file.hpp"
#include "storage/group_commit.hpp"
#include "storage/migrations.hpp"
#include "storage/reader_pool.hpp"

namespace cg::storage {
namespace {

// audit.db, version 1. `recorded` is AuditEvent.recorded in ms (what `date` searches);
// `problem` non-null flags a payload that could not be read (no resource). Keys: one row per
// searchable token, keyed for "which records have param = code" lookups.
constexpr std::string_view kAuditV1 = R"sql(
CREATE TABLE audit_records (
  id          INTEGER PRIMARY KEY,
  received_ms INTEGER NOT NULL,
  recorded_ms INTEGER,
  transport   TEXT NOT NULL,
  peer        TEXT NOT NULL,
  format      TEXT NOT NULL,
  problem     TEXT,
  raw         BLOB NOT NULL,
  resource    TEXT
);
CREATE INDEX audit_records_recorded ON audit_records (recorded_ms);
CREATE INDEX audit_records_received ON audit_records (received_ms);
CREATE TABLE audit_keys (
  param  TEXT NOT NULL,
  code   TEXT NOT NULL,
  system TEXT NOT NULL,
  record INTEGER NOT NULL,
  PRIMARY KEY (param, code, system, record)
) WITHOUT ROWID;
CREATE INDEX audit_keys_record ON audit_keys (record);
)sql";

// Version 2: where each forwarding destination has got to (AuditStore::cursor).
constexpr std::string_view kAuditV2 = R"sql(
CREATE TABLE audit_cursors (
  name       TEXT PRIMARY KEY,
  last_id    INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL
);
)sql";

constexpr std::array<std::string_view, 2> kAuditSteps = {kAuditV1, kAuditV2};

constexpr std::string_view kColumns =
    "id, received_ms, recorded_ms, transport, peer, format, problem, raw, resource";

StoredAudit read_row(const Statement& s) {
  StoredAudit a;
  a.id = s.column_int64(0);
  a.record.received_ms = s.column_int64(1);
  if (!s.column_is_null(2)) a.record.recorded_ms = s.column_int64(2);
  a.record.transport = s.column_text(3);
  a.record.peer = s.column_text(4);
  a.record.format = s.column_text(5);
  a.record.problem = s.column_text(6);
  a.record.raw = s.column_blob(7);
  a.record.resource_json = s.column_text(8);
  return a;
}

Result<std::vector<StoredAudit>> read_rows(Statement& s) {
  std::vector<StoredAudit> out;
  for (;;) {
    auto row = s.step();
    if (!row) return row.take_error();
    if (!*row) return out;
    out.push_back(read_row(s));
  }
}

Result<std::int64_t> insert_record(Connection& conn, const AuditRecord& r) {
  auto insert = conn.statement(
      "INSERT INTO audit_records (received_ms, recorded_ms, transport, peer, format, problem, "
      "raw, resource) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  if (!insert) return insert.take_error();
  Statement& s = **insert;
  s.bind(1, r.received_ms);
  if (r.recorded_ms) {
    s.bind(2, *r.recorded_ms);
  } else {
    s.bind_null(2);
  }
  s.bind(3, r.transport);
  s.bind(4, r.peer);
  s.bind(5, r.format);
  if (r.problem.empty()) {
    s.bind_null(6);
  } else {
    s.bind(6, r.problem);
  }
  s.bind_blob(7, r.raw);
  if (r.resource_json.empty()) {
    s.bind_null(8);
  } else {
    s.bind(8, r.resource_json);
  }
  if (auto run = s.run(); !run) return run.take_error();
  return conn.last_insert_rowid();
}

Status insert_keys(Connection& conn, std::int64_t record, const std::vector<AuditKey>& keys) {
  auto insert = conn.statement(
      "INSERT OR IGNORE INTO audit_keys (param, code, system, record) VALUES (?1, ?2, ?3, ?4)");
  if (!insert) return insert.take_error();
  for (const AuditKey& k : keys) {
    Statement& s = **insert;
    s.bind(1, k.param);
    s.bind(2, k.code);
    s.bind(3, k.system);
    s.bind(4, record);
    if (auto run = s.run(); !run) return run;
    s.reset();
  }
  return ok_status();
}

// The SQL of a search and its bound values, in order.
struct SearchSql {
  std::string sql;
  std::vector<std::string> texts;  // bound as ?1…?n, then the integers
  std::vector<std::int64_t> numbers;
};

// One key alternative of `param`: code (and system) given, or only a system (any code).
std::string key_match(const std::string& param, const AuditKey& k, SearchSql& q) {
  auto placeholder = [&q](std::string value) {
    q.texts.push_back(std::move(value));
    return "?" + std::to_string(q.texts.size());
  };
  std::string out = "k.param = " + placeholder(param);
  if (!k.code.empty()) out += " AND k.code = " + placeholder(k.code);
  if (!k.system.empty()) out += " AND k.system = " + placeholder(k.system);
  return out;
}

// `counting`: SELECT count(*) of every match instead of one page of rows.
SearchSql search_sql(const AuditQuery& query, bool counting = false) {
  SearchSql q;
  q.sql = counting ? std::string("SELECT count(*) FROM audit_records r WHERE 1")
                   : "SELECT " + std::string(kColumns) + " FROM audit_records r WHERE 1";
  if (!query.include_unreadable) q.sql += " AND r.problem IS NULL";
  for (const AuditCriterion& c : query.all_of) {
    std::string any;
    for (const AuditKey& k : c.any_of) {
      any += (any.empty() ? "(" : " OR (") + key_match(c.param, k, q) + ")";
    }
    if (any.empty()) any = "0";
    // IN over the key table's primary key (param, code, …): SQLite looks the matching
    // records up instead of testing every record, so a rare patient is found at once.
    q.sql += " AND r.id IN (SELECT k.record FROM audit_keys k WHERE " + any + ")";
  }
  // Integers follow the texts: their placeholders are numbered after them.
  auto number = [&q](std::int64_t value) {
    q.numbers.push_back(value);
    return "?" + std::to_string(q.texts.size() + q.numbers.size());
  };
  if (query.recorded_from_ms) q.sql += " AND r.recorded_ms >= " + number(*query.recorded_from_ms);
  if (query.recorded_to_ms) q.sql += " AND r.recorded_ms < " + number(*query.recorded_to_ms);
  if (query.before_id) q.sql += " AND r.id < " + number(*query.before_id);
  if (counting) return q;
  q.sql += " ORDER BY r.id DESC LIMIT " + number(static_cast<std::int64_t>(query.count));
  return q;
}

// One bounded slice of a prune: deletes up to `limit` of the oldest matching records and
// their keys; `deleted` gets how many records went.
Status prune_slice(Connection& conn, std::int64_t received_before_ms, std::int64_t through_id,
                   std::int64_t limit, std::int64_t& deleted) {
  constexpr std::string_view kVictims =
      "(SELECT id FROM audit_records WHERE received_ms < ?1 AND id <= ?2 ORDER BY id LIMIT ?3)";
  for (std::string_view table : {"audit_keys WHERE record", "audit_records WHERE id"}) {
    auto s = conn.statement("DELETE FROM " + std::string(table) + " IN " + std::string(kVictims));
    if (!s) return s.take_error();
    (*s)->bind(1, received_before_ms);
    (*s)->bind(2, through_id);
    (*s)->bind(3, limit);
    if (auto run = (*s)->run(); !run) return run;
  }
  auto changed = conn.query_int64("SELECT changes()");
  if (!changed) return changed.take_error();
  deleted = *changed;
  return ok_status();
}

std::optional<std::int64_t> optional_int64(const Statement& s, int column) {
  if (s.column_is_null(column)) return std::nullopt;
  return s.column_int64(column);
}

}  // namespace

struct AuditStore::Impl {
  explicit Impl(Connection w) : writer(std::move(w)) {}
  Connection writer;
  std::unique_ptr<GroupCommitWriter> group;
  std::unique_ptr<ReaderPool> readers;

  // Runs `job` on the writer and waits for its commit.
  Status write_and_wait(BatchJob job) {
    std::promise<Status> committed;
    auto future = committed.get_future();
    group->submit(std::move(job),
                  [&committed](Status status) { committed.set_value(std::move(status)); });
    return future.get();
  }

  // Runs `sql` (with `id` bound to ?1, when given) on a reader and returns its one row.
  template <class ReadRow>
  auto read_one(std::string_view sql, std::optional<std::int64_t> id, ReadRow read)
      -> Result<decltype(read(std::declval<const Statement&>()))> {
    auto conn = readers->borrow();
    if (!conn) return conn.take_error();
    auto s = (**conn).statement(sql);
    if (!s) return s.take_error();
    if (id) (*s)->bind(1, *id);
    auto row = (*s)->step();
    if (!row) return row.take_error();
    if (!*row) return Error::internal("audit.db: an aggregate query returned no row");
    return read(**s);
  }
};

AuditStore::AuditStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

AuditStore::~AuditStore() {
  close();
}

Result<std::unique_ptr<AuditStore>> AuditStore::open(const AuditStoreConfig& config) {
  if (auto s = ensure_directory(config.directory); !s) return s.take_error();
  const auto file = config.directory / "audit.db";
  auto writer = open_writer(file, 0);
  if (!writer) return writer.take_error();
  if (auto migrated = apply_migrations(*writer, kAuditSteps); !migrated) {
    return migrated.take_error();
  }
  auto readers = open_readers(file, std::max(1, config.reader_connections));
  if (!readers) return readers.take_error();
  auto impl = std::make_unique<Impl>(std::move(*writer));
  impl->readers = std::make_unique<ReaderPool>(std::move(*readers));
  impl->group = std::make_unique<GroupCommitWriter>(
      impl->writer, GroupCommitLimits{config.max_batch_jobs, config.max_queued_jobs}, config.log);
  return std::unique_ptr<AuditStore>(new AuditStore(std::move(impl)));
}

void AuditStore::append(std::vector<AuditRecord> records, AppendDone done) {
  auto batch = std::make_shared<std::vector<AuditRecord>>(std::move(records));
  auto ids = std::make_shared<std::vector<std::int64_t>>();
  Connection* conn = &impl_->writer;
  impl_->group->submit(
      [batch, ids, conn]() -> Status {
        ids->clear();
        for (const AuditRecord& r : *batch) {
          auto id = insert_record(*conn, r);
          if (!id) return id.take_error();
          if (auto s = insert_keys(*conn, *id, r.keys); !s) return s;
          ids->push_back(*id);
        }
        return ok_status();
      },
      [ids, done = std::move(done)](Status status) {
        if (!status) {
          done(status.take_error());
        } else {
          done(std::move(*ids));
        }
      });
}

Result<std::vector<std::int64_t>> AuditStore::append_and_wait(std::vector<AuditRecord> records) {
  std::promise<Result<std::vector<std::int64_t>>> committed;
  auto future = committed.get_future();
  append(std::move(records), [&committed](Result<std::vector<std::int64_t>> ids) {
    committed.set_value(std::move(ids));
  });
  return future.get();
}

Result<StoredAudit> AuditStore::read(std::int64_t id) {
  auto conn = impl_->readers->borrow();
  if (!conn) return conn.take_error();
  auto s =
      (**conn).statement("SELECT " + std::string(kColumns) + " FROM audit_records WHERE id = ?1");
  if (!s) return s.take_error();
  (*s)->bind(1, id);
  auto rows = read_rows(**s);
  if (!rows) return rows.take_error();
  if (rows->empty()) return Error::not_found("AuditEvent/" + std::to_string(id) + " is not known");
  return std::move(rows->front());
}

Result<std::vector<StoredAudit>> AuditStore::search(const AuditQuery& query) {
  SearchSql q = search_sql(query);
  auto conn = impl_->readers->borrow();
  if (!conn) return conn.take_error();
  auto s = (**conn).generated_statement(q.sql);
  if (!s) return s.take_error();
  int index = 1;
  for (const auto& text : q.texts) (*s)->bind(index++, text);
  for (auto number : q.numbers) (*s)->bind(index++, number);
  return read_rows(**s);
}

Result<std::int64_t> AuditStore::count(const AuditQuery& query) {
  AuditQuery all = query;
  all.before_id.reset();
  SearchSql q = search_sql(all, /*counting=*/true);
  auto conn = impl_->readers->borrow();
  if (!conn) return conn.take_error();
  auto s = (**conn).generated_statement(q.sql);
  if (!s) return s.take_error();
  int index = 1;
  for (const auto& text : q.texts) (*s)->bind(index++, text);
  for (auto number : q.numbers) (*s)->bind(index++, number);
  auto row = (*s)->step();
  if (!row) return row.take_error();
  return (*s)->column_int64(0);
}

Result<std::vector<StoredAudit>> AuditStore::since(std::int64_t after_id, std::size_t limit) {
  auto conn = impl_->readers->borrow();
  if (!conn) return conn.take_error();
  auto s = (**conn).statement("SELECT " + std::string(kColumns) +
                              " FROM audit_records WHERE id > ?1 ORDER BY id LIMIT ?2");
  if (!s) return s.take_error();
  (*s)->bind(1, after_id);
  (*s)->bind(2, static_cast<std::int64_t>(limit));
  return read_rows(**s);
}

Result<std::optional<AuditIdSpan>> AuditStore::ids_received(std::int64_t from_ms,
                                                            std::int64_t to_ms) {
  auto conn = impl_->readers->borrow();
  if (!conn) return conn.take_error();
  auto s = (**conn).statement(
      "SELECT min(id), max(id) FROM audit_records WHERE received_ms >= ?1 AND received_ms < ?2");
  if (!s) return s.take_error();
  (*s)->bind(1, from_ms);
  (*s)->bind(2, to_ms);
  auto row = (*s)->step();
  if (!row) return row.take_error();
  if (!*row || (*s)->column_is_null(0)) return std::optional<AuditIdSpan>();
  AuditIdSpan span;
  span.first = (*s)->column_int64(0);
  span.last = (*s)->column_int64(1);
  return std::optional<AuditIdSpan>(span);
}

Result<std::int64_t> AuditStore::prune(std::int64_t received_before_ms, std::int64_t through_id,
                                       std::stop_token stop) {
  std::int64_t total = 0;
  while (!stop.stop_requested()) {
    auto deleted = std::make_shared<std::int64_t>(0);
    Connection* conn = &impl_->writer;
    Status slice = impl_->write_and_wait([conn, deleted, received_before_ms, through_id] {
      return prune_slice(*conn, received_before_ms, through_id, kPruneBatch, *deleted);
    });
    if (!slice) return slice.take_error();
    total += *deleted;
    if (*deleted < kPruneBatch) break;
  }
  return total;
}

Result<AuditStats> AuditStore::stats() {
  return impl_->read_one(
      "SELECT count(*), count(problem), min(id), max(id), min(received_ms), max(received_ms) "
      "FROM audit_records",
      std::nullopt, [](const Statement& s) {
        AuditStats stats;
        stats.records = s.column_int64(0);
        stats.unreadable = s.column_int64(1);
        stats.first_id = optional_int64(s, 2);
        stats.last_id = optional_int64(s, 3);
        stats.oldest_received_ms = optional_int64(s, 4);
        stats.newest_received_ms = optional_int64(s, 5);
        return stats;
      });
}

Result<std::int64_t> AuditStore::count_after(std::int64_t after_id) {
  return impl_->read_one("SELECT count(*) FROM audit_records WHERE id > ?1", after_id,
                         [](const Statement& s) { return s.column_int64(0); });
}

Result<std::int64_t> AuditStore::cursor(std::string_view name) {
  auto conn = impl_->readers->borrow();
  if (!conn) return conn.take_error();
  auto s = (**conn).statement("SELECT last_id FROM audit_cursors WHERE name = ?1");
  if (!s) return s.take_error();
  (*s)->bind(1, name);
  auto row = (*s)->step();
  if (!row) return row.take_error();
  return *row ? (*s)->column_int64(0) : std::int64_t{0};
}

Status AuditStore::set_cursor(std::string_view name, std::int64_t last_id,
                              std::int64_t updated_ms) {
  Connection* conn = &impl_->writer;
  return impl_->write_and_wait([conn, name = std::string(name), last_id, updated_ms]() -> Status {
    auto s = conn->statement(
        "INSERT INTO audit_cursors (name, last_id, updated_ms) VALUES (?1, ?2, ?3) "
        "ON CONFLICT (name) DO UPDATE SET last_id = excluded.last_id, "
        "updated_ms = excluded.updated_ms");
    if (!s) return s.take_error();
    (*s)->bind(1, name);
    (*s)->bind(2, last_id);
    (*s)->bind(3, updated_ms);
    return (*s)->run();
  });
}

Result<std::vector<AuditCursor>> AuditStore::cursors() {
  auto conn = impl_->readers->borrow();
  if (!conn) return conn.take_error();
  auto s = (**conn).statement("SELECT name, last_id, updated_ms FROM audit_cursors ORDER BY name");
  if (!s) return s.take_error();
  std::vector<AuditCursor> out;
  for (;;) {
    auto row = (*s)->step();
    if (!row) return row.take_error();
    if (!*row) return out;
    AuditCursor c;
    c.name = (*s)->column_text(0);
    c.last_id = (*s)->column_int64(1);
    c.updated_ms = (*s)->column_int64(2);
    out.push_back(std::move(c));
  }
}

void AuditStore::close() {
  if (!impl_) return;
  if (impl_->group) impl_->group->close();
  if (impl_->readers) impl_->readers->close();
  impl_->writer.close();
}

}  // namespace cg::storage
