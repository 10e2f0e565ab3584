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

constexpr std::array<std::string_view, 1> kAuditSteps = {kAuditV1};

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

SearchSql search_sql(const AuditQuery& query) {
  SearchSql q;
  q.sql = "SELECT " + std::string(kColumns) + " FROM audit_records r WHERE 1";
  if (!query.include_unreadable) q.sql += " AND r.problem IS NULL";
  for (const AuditCriterion& c : query.all_of) {
    std::string any;
    for (const AuditKey& k : c.any_of) {
      any += (any.empty() ? "(" : " OR (") + key_match(c.param, k, q) + ")";
    }
    if (any.empty()) any = "0";
    q.sql += " AND EXISTS (SELECT 1 FROM audit_keys k WHERE k.record = r.id AND (" + any + "))";
  }
  // Integers follow the texts: their placeholders are numbered after them.
  auto number = [&q](std::int64_t value) {
    q.numbers.push_back(value);
    return "?" + std::to_string(q.texts.size() + q.numbers.size());
  };
  if (query.recorded_from_ms) q.sql += " AND r.recorded_ms >= " + number(*query.recorded_from_ms);
  if (query.recorded_to_ms) q.sql += " AND r.recorded_ms < " + number(*query.recorded_to_ms);
  if (query.before_id) q.sql += " AND r.id < " + number(*query.before_id);
  q.sql += " ORDER BY r.id DESC LIMIT " + number(static_cast<std::int64_t>(query.count));
  return q;
}

}  // namespace

struct AuditStore::Impl {
  explicit Impl(Connection w) : writer(std::move(w)) {}
  Connection writer;
  std::unique_ptr<GroupCommitWriter> group;
  std::unique_ptr<ReaderPool> readers;
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

Result<std::int64_t> AuditStore::prune(std::int64_t received_before_ms) {
  std::promise<Result<std::int64_t>> pruned;
  auto future = pruned.get_future();
  auto count = std::make_shared<std::int64_t>(0);
  Connection* conn = &impl_->writer;
  impl_->group->submit(
      [conn, count, received_before_ms]() -> Status {
        auto keys = conn->statement(
            "DELETE FROM audit_keys WHERE record IN "
            "(SELECT id FROM audit_records WHERE received_ms < ?1)");
        if (!keys) return keys.take_error();
        (*keys)->bind(1, received_before_ms);
        if (auto s = (*keys)->run(); !s) return s;
        auto records = conn->statement("DELETE FROM audit_records WHERE received_ms < ?1");
        if (!records) return records.take_error();
        (*records)->bind(1, received_before_ms);
        if (auto s = (*records)->run(); !s) return s;
        auto changed = conn->query_int64("SELECT changes()");
        if (!changed) return changed.take_error();
        *count = *changed;
        return ok_status();
      },
      [&pruned, count](Status status) {
        if (!status) {
          pruned.set_value(status.take_error());
        } else {
          pruned.set_value(*count);
        }
      });
  return future.get();
}

void AuditStore::close() {
  if (!impl_) return;
  if (impl_->group) impl_->group->close();
  if (impl_->readers) impl_->readers->close();
  impl_->writer.close();
}

}  // namespace cg::storage
