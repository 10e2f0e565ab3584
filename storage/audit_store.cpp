#include "storage/audit_store.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <future>
#include <unordered_map>

#include "storage/audit_codec.hpp"
#include "storage/audit_postings.hpp"
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

// Version 3: compact rows, so the single writer keeps up with a clinic's audit traffic and
// the gateway's own read records (docs/benchmarks.md, issue 6). Raw bytes and AuditEvent
// JSON become zstd frames (`codec`, storage/audit_codec.hpp); each distinct search key is
// stored once, as a term, and the records of a term are kept in blocks, one row per term
// per write job (storage/audit_postings.hpp). `terms` lists a record's term ids, so that a
// prune knows which terms' blocks to drop. Keys of schema 2 become one-record blocks.
constexpr std::string_view kAuditV3 = R"sql(
CREATE TABLE audit_terms (
  id     INTEGER PRIMARY KEY,
  param  TEXT NOT NULL,
  code   TEXT NOT NULL,
  system TEXT NOT NULL,
  UNIQUE (param, code, system)
);
CREATE TABLE audit_postings (
  term         INTEGER NOT NULL,
  last_record  INTEGER NOT NULL,
  first_record INTEGER NOT NULL,
  records      BLOB NOT NULL,
  PRIMARY KEY (term, last_record)
) WITHOUT ROWID;
ALTER TABLE audit_records ADD COLUMN codec INTEGER NOT NULL DEFAULT 0;
ALTER TABLE audit_records ADD COLUMN terms TEXT;
INSERT INTO audit_terms (param, code, system)
  SELECT DISTINCT param, code, system FROM audit_keys;
INSERT INTO audit_postings (term, last_record, first_record, records)
  SELECT t.id, k.record, k.record, x'' FROM audit_keys k JOIN audit_terms t
    ON t.param = k.param AND t.code = k.code AND t.system = k.system;
UPDATE audit_records SET terms = (
  SELECT group_concat(t.id) FROM audit_keys k JOIN audit_terms t
    ON t.param = k.param AND t.code = k.code AND t.system = k.system
  WHERE k.record = audit_records.id);
DROP TABLE audit_keys;
)sql";

constexpr std::array<std::string_view, 3> kAuditSteps = {kAuditV1, kAuditV2, kAuditV3};

constexpr std::string_view kColumns =
    "id, received_ms, recorded_ms, transport, peer, format, problem, raw, resource, codec";

Result<StoredAudit> read_row(const Statement& s) {
  StoredAudit a;
  a.id = s.column_int64(0);
  a.record.received_ms = s.column_int64(1);
  if (!s.column_is_null(2)) a.record.recorded_ms = s.column_int64(2);
  a.record.transport = s.column_text(3);
  a.record.peer = s.column_text(4);
  a.record.format = s.column_text(5);
  a.record.problem = s.column_text(6);
  const auto codec = static_cast<AuditCodec>(s.column_int64(9));
  auto raw = expand_audit_bytes(s.column_blob(7), codec);
  if (!raw) return raw.take_error();
  auto resource = expand_audit_bytes(s.column_blob(8), codec);
  if (!resource) return resource.take_error();
  a.record.raw = std::move(*raw);
  a.record.resource_json = std::move(*resource);
  return a;
}

Result<std::vector<StoredAudit>> read_rows(Statement& s) {
  std::vector<StoredAudit> out;
  for (;;) {
    auto row = s.step();
    if (!row) return row.take_error();
    if (!*row) return out;
    auto audit = read_row(s);
    if (!audit) return audit.take_error();
    out.push_back(std::move(*audit));
  }
}

// A record as the writer stores it: raw and resource_json become zstd frames, compressed by
// the thread that appends the record, not by the one writer every record waits for.
AuditRecord pack(AuditRecord r) {
  r.raw = compress_audit_bytes(r.raw);
  r.resource_json = compress_audit_bytes(r.resource_json);
  return r;
}

// "12,5,40": how a record lists its term ids (read back only by prune).
std::string term_list(const std::vector<std::int64_t>& terms) {
  std::string out;
  for (std::int64_t t : terms) {
    if (!out.empty()) out += ',';
    out += std::to_string(t);
  }
  return out;
}

std::vector<std::int64_t> parse_term_list(std::string_view text) {
  std::vector<std::int64_t> out;
  while (!text.empty()) {
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec == std::errc()) out.push_back(value);
    const auto comma = text.find(',', static_cast<std::size_t>(end - text.data()));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

Result<std::int64_t> insert_record(Connection& conn, const AuditRecord& r,
                                   const std::vector<std::int64_t>& terms) {
  auto insert = conn.statement(
      "INSERT INTO audit_records (received_ms, recorded_ms, transport, peer, format, problem, "
      "raw, resource, codec, terms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
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
    s.bind_blob(8, r.resource_json);
  }
  s.bind(9, static_cast<std::int64_t>(AuditCodec::kV1));
  s.bind(10, term_list(terms));
  if (auto run = s.run(); !run) return run.take_error();
  return conn.last_insert_rowid();
}

// The ids of the terms that match one criterion: any of its alternatives (code and system
// given, or only a system: any code).
Result<TermAlternatives> matching_terms(Connection& conn, const AuditCriterion& c) {
  std::string sql = "SELECT id FROM audit_terms WHERE 0";
  std::vector<std::string> values;
  for (const AuditKey& k : c.any_of) {
    values.push_back(c.param);
    sql += " OR (param = ?" + std::to_string(values.size());
    if (!k.code.empty()) {
      values.push_back(k.code);
      sql += " AND code = ?" + std::to_string(values.size());
    }
    if (!k.system.empty()) {
      values.push_back(k.system);
      sql += " AND system = ?" + std::to_string(values.size());
    }
    sql += ")";
  }
  auto s = conn.generated_statement(sql);
  if (!s) return s.take_error();
  for (std::size_t i = 0; i < values.size(); ++i) (*s)->bind(static_cast<int>(i + 1), values[i]);
  TermAlternatives terms;
  for (;;) {
    auto row = (*s)->step();
    if (!row) return row.take_error();
    if (!*row) return terms;
    terms.push_back((*s)->column_int64(0));
  }
}

// Whether a stored record passes the query's conditions besides its criteria.
bool passes(const AuditQuery& q, std::optional<std::int64_t> recorded_ms, bool unreadable) {
  if (unreadable && !q.include_unreadable) return false;
  if (q.recorded_from_ms && (!recorded_ms || *recorded_ms < *q.recorded_from_ms)) return false;
  if (q.recorded_to_ms && (!recorded_ms || *recorded_ms >= *q.recorded_to_ms)) return false;
  return true;
}

// A search without criteria: straight down audit_records.
std::string plain_search_sql(const AuditQuery& query, bool counting) {
  std::string sql = counting ? std::string("SELECT count(*) FROM audit_records WHERE 1")
                             : "SELECT " + std::string(kColumns) + " FROM audit_records WHERE 1";
  if (!query.include_unreadable) sql += " AND problem IS NULL";
  if (query.recorded_from_ms) sql += " AND recorded_ms >= ?1";
  if (query.recorded_to_ms) sql += " AND recorded_ms < ?2";
  if (!counting && query.before_id) sql += " AND id < ?3";
  if (!counting) sql += " ORDER BY id DESC LIMIT ?4";
  return sql;
}

void bind_plain_search(Statement& s, const AuditQuery& query, bool counting) {
  if (query.recorded_from_ms) s.bind(1, *query.recorded_from_ms);
  if (query.recorded_to_ms) s.bind(2, *query.recorded_to_ms);
  if (counting) return;
  if (query.before_id) s.bind(3, *query.before_id);
  s.bind(4, static_cast<std::int64_t>(query.count));
}

// Runs `body` inside a read transaction, so a search that takes several statements sees one
// snapshot of audit.db.
template <class Body>
auto in_read_snapshot(Connection& conn, Body body) -> decltype(body()) {
  if (auto begun = conn.exec("BEGIN"); !begun) return begun.take_error();
  auto result = body();
  (void)conn.exec(result ? "COMMIT" : "ROLLBACK");
  return result;
}

// One bounded slice of a prune: deletes up to `limit` of the oldest matching records, then
// the blocks of their terms that hold only records older than the oldest one left, and the
// terms no block mentions any more (a pruned patient's identifier does not outlive its
// records); `deleted` gets how many records went.
Status prune_slice(Connection& conn, std::int64_t received_before_ms, std::int64_t through_id,
                   std::int64_t limit, std::int64_t& deleted) {
  auto victims = conn.statement(
      "SELECT id, terms FROM audit_records WHERE received_ms < ?1 AND id <= ?2 "
      "ORDER BY id LIMIT ?3");
  if (!victims) return victims.take_error();
  (*victims)->bind(1, received_before_ms);
  (*victims)->bind(2, through_id);
  (*victims)->bind(3, limit);
  std::vector<std::int64_t> ids;
  std::vector<std::int64_t> terms;
  for (;;) {
    auto row = (*victims)->step();
    if (!row) return row.take_error();
    if (!*row) break;
    ids.push_back((*victims)->column_int64(0));
    for (std::int64_t t : parse_term_list((*victims)->column_text(1))) terms.push_back(t);
  }
  (*victims)->reset();
  auto remove = conn.statement("DELETE FROM audit_records WHERE id = ?1");
  if (!remove) return remove.take_error();
  for (std::int64_t id : ids) {
    (*remove)->bind(1, id);
    if (auto run = (*remove)->run(); !run) return run;
    (*remove)->reset();
  }
  std::sort(terms.begin(), terms.end());
  terms.erase(std::unique(terms.begin(), terms.end()), terms.end());
  auto first_kept =
      conn.query_int64("SELECT coalesce(min(id), 9223372036854775807) FROM audit_records");
  if (!first_kept) return first_kept.take_error();
  if (auto dropped = drop_postings_before(conn, terms, *first_kept); !dropped) return dropped;
  deleted = static_cast<std::int64_t>(ids.size());
  return ok_status();
}

std::optional<std::int64_t> optional_int64(const Statement& s, int column) {
  if (s.column_is_null(column)) return std::nullopt;
  return s.column_int64(column);
}

// The ids of the terms the writer has met, so a record's dozen keys cost no lookups in
// audit_terms when they are the usual ones. Used on the writer thread only. An entry is
// added only after the commit that made its term durable (a rolled-back job must not leave
// an id behind), and a prune, which may delete terms, empties the cache.
class TermCache {
 public:
  static constexpr std::size_t kMaxEntries = 16'384;  // ~2 MB at most; then it starts over

  static std::string key_of(const AuditKey& k) {
    std::string key;
    key.reserve(k.param.size() + k.code.size() + k.system.size() + 2);
    key.append(k.param).append(1, '\0').append(k.code).append(1, '\0').append(k.system);
    return key;
  }
  std::optional<std::int64_t> find(const std::string& key) const {
    auto it = ids_.find(key);
    if (it == ids_.end()) return std::nullopt;
    return it->second;
  }
  std::uint64_t generation() const { return generation_; }
  void learn(std::uint64_t generation, std::vector<std::pair<std::string, std::int64_t>> terms) {
    if (generation != generation_) return;  // a prune ran since: the ids may be gone
    for (auto& [key, id] : terms) {
      if (ids_.size() >= kMaxEntries) ids_.clear();
      ids_.emplace(std::move(key), id);
    }
  }
  void forget_all() {
    ids_.clear();
    ++generation_;
  }

 private:
  std::unordered_map<std::string, std::int64_t> ids_;
  std::uint64_t generation_ = 0;
};

// The term ids of a record's keys (sorted, each once), inserting terms never seen; terms
// read or inserted here that the cache lacks are added to `learned`.
Result<std::vector<std::int64_t>> resolve_terms(
    Connection& conn, const TermCache& cache, const std::vector<AuditKey>& keys,
    std::vector<std::pair<std::string, std::int64_t>>& learned) {
  std::vector<std::int64_t> ids;
  ids.reserve(keys.size());
  for (const AuditKey& k : keys) {
    std::string key = TermCache::key_of(k);
    if (auto id = cache.find(key)) {
      ids.push_back(*id);
      continue;
    }
    auto known = std::find_if(learned.begin(), learned.end(),
                              [&](const auto& entry) { return entry.first == key; });
    if (known != learned.end()) {
      ids.push_back(known->second);
      continue;
    }
    auto select =
        conn.statement("SELECT id FROM audit_terms WHERE param = ?1 AND code = ?2 AND system = ?3");
    if (!select) return select.take_error();
    (*select)->bind(1, k.param);
    (*select)->bind(2, k.code);
    (*select)->bind(3, k.system);
    auto row = (*select)->step();
    if (!row) return row.take_error();
    std::int64_t id = 0;
    if (*row) {
      id = (*select)->column_int64(0);
      (*select)->reset();
    } else {
      (*select)->reset();
      auto insert =
          conn.statement("INSERT INTO audit_terms (param, code, system) VALUES (?1, ?2, ?3)");
      if (!insert) return insert.take_error();
      (*insert)->bind(1, k.param);
      (*insert)->bind(2, k.code);
      (*insert)->bind(3, k.system);
      if (auto run = (*insert)->run(); !run) return run.take_error();
      id = conn.last_insert_rowid();
    }
    learned.emplace_back(std::move(key), id);
    ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

}  // namespace

struct AuditStore::Impl {
  explicit Impl(Connection w) : writer(std::move(w)) {}
  Connection writer;
  std::unique_ptr<GroupCommitWriter> group;
  std::unique_ptr<ReaderPool> readers;
  TermCache terms;  // writer thread only

  // Walks the records that match the query's criteria, newest first below its before_id.
  Status walk(Connection& conn, const AuditQuery& query,
              const std::function<Result<bool>(std::int64_t)>& visit) {
    std::vector<TermAlternatives> criteria;
    for (const AuditCriterion& c : query.all_of) {
      auto terms = matching_terms(conn, c);
      if (!terms) return terms.take_error();
      if (terms->empty()) return ok_status();  // a criterion no record meets
      criteria.push_back(std::move(*terms));
    }
    return walk_matches(conn, criteria, query.before_id.value_or(AuditStore::kAllIds), visit);
  }

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

std::span<const std::string_view> audit_migrations() {
  return kAuditSteps;
}

AuditStore::AuditStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

AuditStore::~AuditStore() {
  close();
}

Result<std::unique_ptr<AuditStore>> AuditStore::open(const AuditStoreConfig& config,
                                                     std::shared_ptr<WriteGate> write_gate) {
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
      impl->writer, GroupCommitLimits{config.max_batch_jobs, config.max_queued_jobs}, config.log,
      std::move(write_gate), WriteClass::kAudit);
  return std::unique_ptr<AuditStore>(new AuditStore(std::move(impl)));
}

void AuditStore::append(std::vector<AuditRecord> records, AppendDone done) {
  auto batch = std::make_shared<std::vector<AuditRecord>>();
  batch->reserve(records.size());
  for (AuditRecord& r : records) batch->push_back(pack(std::move(r)));
  struct Outcome {
    std::vector<std::int64_t> ids;
    std::vector<std::pair<std::string, std::int64_t>> learned;  // terms new to the cache
    std::uint64_t generation = 0;
  };
  auto outcome = std::make_shared<Outcome>();
  Impl* impl = impl_.get();
  impl_->group->submit(
      [batch, outcome, impl]() -> Status {
        Connection& conn = impl->writer;
        outcome->ids.clear();
        outcome->learned.clear();
        outcome->generation = impl->terms.generation();
        PostingBatch postings;
        for (const AuditRecord& r : *batch) {
          auto terms = resolve_terms(conn, impl->terms, r.keys, outcome->learned);
          if (!terms) return terms.take_error();
          auto id = insert_record(conn, r, *terms);
          if (!id) return id.take_error();
          postings.add(*id, *terms);
          outcome->ids.push_back(*id);
        }
        return postings.write(conn);
      },
      [outcome, impl, done = std::move(done)](Status status) {
        if (!status) {
          done(status.take_error());
          return;
        }
        // Committed: the terms this job inserted are durable now.
        impl->terms.learn(outcome->generation, std::move(outcome->learned));
        done(std::move(outcome->ids));
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
  auto conn = impl_->readers->borrow();
  if (!conn) return conn.take_error();
  Connection& c = **conn;
  if (query.all_of.empty()) {
    auto s = c.generated_statement(plain_search_sql(query, false));
    if (!s) return s.take_error();
    bind_plain_search(**s, query, false);
    return read_rows(**s);
  }
  return in_read_snapshot(c, [&]() -> Result<std::vector<StoredAudit>> {
    std::vector<StoredAudit> found;
    auto row = c.statement("SELECT " + std::string(kColumns) + " FROM audit_records WHERE id = ?1");
    if (!row) return row.take_error();
    Status walked = impl_->walk(c, query, [&](std::int64_t id) -> Result<bool> {
      (*row)->bind(1, id);
      auto rows = read_rows(**row);
      (*row)->reset();
      if (!rows) return rows.take_error();
      if (rows->empty()) return true;  // pruned; its id was left in a block
      StoredAudit& a = rows->front();
      if (passes(query, a.record.recorded_ms, !a.record.problem.empty())) {
        found.push_back(std::move(a));
      }
      return found.size() < query.count;
    });
    if (!walked) return walked.take_error();
    return found;
  });
}

Result<std::int64_t> AuditStore::count(const AuditQuery& query) {
  auto conn = impl_->readers->borrow();
  if (!conn) return conn.take_error();
  Connection& c = **conn;
  if (query.all_of.empty()) {
    auto s = c.generated_statement(plain_search_sql(query, true));
    if (!s) return s.take_error();
    bind_plain_search(**s, query, true);
    auto row = (*s)->step();
    if (!row) return row.take_error();
    return (*s)->column_int64(0);
  }
  AuditQuery all = query;
  all.before_id.reset();
  return in_read_snapshot(c, [&]() -> Result<std::int64_t> {
    std::int64_t n = 0;
    auto row =
        c.statement("SELECT recorded_ms, problem IS NOT NULL FROM audit_records WHERE id = ?1");
    if (!row) return row.take_error();
    Status walked = impl_->walk(c, all, [&](std::int64_t id) -> Result<bool> {
      (*row)->bind(1, id);
      auto found = (*row)->step();
      if (!found) return found.take_error();
      if (*found) {
        std::optional<std::int64_t> recorded;
        if (!(*row)->column_is_null(0)) recorded = (*row)->column_int64(0);
        if (passes(all, recorded, (*row)->column_int64(1) != 0)) ++n;
      }
      (*row)->reset();
      return true;
    });
    if (!walked) return walked.take_error();
    return n;
  });
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
    Impl* impl = impl_.get();
    Status slice = impl_->write_and_wait([impl, deleted, received_before_ms, through_id] {
      impl->terms.forget_all();  // the slice may delete terms the cache knows
      return prune_slice(impl->writer, received_before_ms, through_id, kPruneBatch, *deleted);
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
