#include "storage/clinical_queries.hpp"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <variant>

namespace cg::storage {
namespace {

using Binding = std::variant<std::int64_t, std::string>;

// A WHERE clause over `resources r` with its positional parameters, shared by search
// pages and search totals so they can never disagree.
struct Filter {
  std::string sql;
  std::vector<Binding> bindings;

  void add(std::string_view clause, Binding value) {
    sql += clause;
    bindings.push_back(std::move(value));
  }
};

StoredVersion read_row(const Statement& stmt) {
  return read_version_row(stmt);
}

void bind_all(Statement& stmt, const std::vector<Binding>& bindings) {
  int index = 1;
  for (const auto& b : bindings) {
    std::visit([&](const auto& value) { stmt.bind(index, value); }, b);
    ++index;
  }
}

// Steps through the rows, keeping at most `limit` + 1 (the extra one says "more follow").
Result<std::vector<StoredVersion>> collect_rows(Statement& stmt, std::size_t limit) {
  std::vector<StoredVersion> rows;
  for (;;) {
    auto row = stmt.step();
    if (!row) return row.take_error();
    if (!*row) return rows;
    rows.push_back(read_row(stmt));
    if (rows.size() > limit) return rows;
  }
}

Result<std::optional<StoredVersion>> first_row(Statement& stmt) {
  auto rows = collect_rows(stmt, 0);
  if (!rows) return rows.take_error();
  if (rows->empty()) return std::optional<StoredVersion>();
  return std::optional<StoredVersion>(std::move(rows->front()));
}

// Ids travel as one JSON array parameter read by json_each(), so the SQL text (and its
// cached statement) does not depend on how many ids there are. These are plain strings,
// not a resource: boost's serializer is the right one here, because fhir::serialize_json
// would write a string starting with the decimal tag as a bare number.
std::string ids_as_json(const std::vector<std::string>& ids) {
  boost::json::array array;
  array.reserve(ids.size());
  for (const auto& id : ids) array.emplace_back(id);
  return boost::json::serialize(array);
}

void add_token_clauses(Filter& filter, const std::string& type,
                       const std::vector<TokenMatch>& tokens) {
  for (const auto& token : tokens) {
    // Uncorrelated, so SQLite evaluates it once and probes r.id against the result.
    filter.add(" AND r.id IN (SELECT t.id FROM idx_token t WHERE t.type = ?", type);
    filter.add(" AND t.param = ?", token.param);
    filter.add(" AND t.code = ?", token.code);
    if (token.system) filter.add(" AND t.system = ?", *token.system);
    filter.sql += ")";
  }
}

Filter search_filter(const SearchQuery& query) {
  Filter filter;
  filter.add("r.type = ? AND r.deleted = 0", query.type);
  if (!query.ids.empty()) {
    filter.add(" AND r.id IN (SELECT value FROM json_each(?))", ids_as_json(query.ids));
  }
  if (query.updated_from_ms) filter.add(" AND r.last_updated_ms >= ?", *query.updated_from_ms);
  if (query.updated_before_ms) {
    filter.add(" AND r.last_updated_ms < ?", *query.updated_before_ms);
  }
  add_token_clauses(filter, query.type, query.tokens);
  return filter;
}

Result<std::int64_t> count_matches(Connection& conn, const Filter& filter) {
  auto stmt = conn.statement("SELECT COUNT(*) FROM resources r WHERE " + filter.sql);
  if (!stmt) return stmt.take_error();
  bind_all(**stmt, filter.bindings);
  auto row = (*stmt)->step();
  if (!row) return row.take_error();
  return (*stmt)->column_int64(0);
}

Result<std::vector<StoredVersion>> search_rows(Connection& conn, Filter filter,
                                               const SearchQuery& query, std::size_t limit) {
  if (!query.after_id.empty()) filter.add(" AND r.id > ?", query.after_id);
  filter.add(" ORDER BY r.id LIMIT ?", static_cast<std::int64_t>(limit + 1));
  auto stmt = conn.statement("SELECT " + std::string(kVersionColumns) +
                             " FROM resources r JOIN resource_versions v ON v.seq = r.seq"
                             " WHERE " +
                             filter.sql);
  if (!stmt) return stmt.take_error();
  bind_all(**stmt, filter.bindings);
  return collect_rows(**stmt, limit);
}

// History SQL per level. INDEXED BY pins the plan: without statistics SQLite could walk
// the whole rowid range backwards for an instance history.
std::string history_sql(const HistoryQuery& query) {
  std::string sql = "SELECT " + std::string(kVersionColumns) + " FROM resource_versions v";
  if (!query.id.empty()) {
    sql += " INDEXED BY resource_versions_by_resource WHERE v.type = ? AND v.id = ? AND";
  } else if (!query.type.empty()) {
    sql += " INDEXED BY resource_versions_by_type_seq WHERE v.type = ? AND";
  } else {
    sql += " WHERE";
  }
  sql += " v.seq <= ?";
  if (query.since_ms) sql += " AND v.last_updated_ms >= ?";
  return sql + " ORDER BY v.seq DESC LIMIT ?";
}

void bind_history(Statement& stmt, const HistoryQuery& query, std::int64_t bound,
                  std::size_t limit) {
  int index = 1;
  if (!query.type.empty()) stmt.bind(index++, std::string_view(query.type));
  if (!query.id.empty()) stmt.bind(index++, std::string_view(query.id));
  stmt.bind(index++, bound);
  if (query.since_ms) stmt.bind(index++, *query.since_ms);
  stmt.bind(index, static_cast<std::int64_t>(limit + 1));
}

}  // namespace

StoredVersion read_version_row(const Statement& stmt) {
  StoredVersion v;
  v.type = stmt.column_text(0);
  v.id = stmt.column_text(1);
  v.version = stmt.column_int64(2);
  v.last_updated_ms = stmt.column_int64(3);
  v.last_updated = format_instant(v.last_updated_ms);
  v.deleted = stmt.column_int64(4) != 0;
  v.json = stmt.column_text(5);
  v.seq = stmt.column_int64(6);
  return v;
}

Result<std::int64_t> scan_current_resources(
    Connection& conn, const ScanQuery& query,
    const std::function<Status(const StoredVersion&)>& visit) {
  auto txn = snapshot(conn);
  if (!txn) return txn.take_error();
  auto seq = read_latest_seq(conn);
  if (!seq) return seq.take_error();
  Filter filter{"r.deleted = 0", {}};
  if (!query.types.empty()) {
    filter.add(" AND r.type IN (SELECT value FROM json_each(?))", ids_as_json(query.types));
  }
  if (!query.skip_types.empty()) {
    filter.add(" AND r.type NOT IN (SELECT value FROM json_each(?))",
               ids_as_json(query.skip_types));
  }
  if (query.updated_from_ms) filter.add(" AND r.last_updated_ms >= ?", *query.updated_from_ms);
  // Prepared for this walk only: a cached statement would keep the snapshot's row cursor.
  auto stmt = conn.statement_once("SELECT " + std::string(kVersionColumns) +
                                  " FROM resources r JOIN resource_versions v ON v.seq = r.seq"
                                  " WHERE " +
                                  filter.sql + " ORDER BY r.type, r.id");
  if (!stmt) return stmt.take_error();
  bind_all(**stmt, filter.bindings);
  while (true) {
    auto row = (*stmt)->step();
    if (!row) return row.take_error();
    if (!*row) break;
    if (auto s = visit(read_version_row(**stmt)); !s) return s.take_error();
  }
  return *seq;
}

Result<std::optional<ReadTransaction>> snapshot(Connection& conn) {
  if (conn.in_transaction()) return std::optional<ReadTransaction>();
  auto txn = ReadTransaction::begin(conn);
  if (!txn) return txn.take_error();
  return std::optional<ReadTransaction>(std::move(*txn));
}

Result<std::optional<HeadInfo>> read_head_info(Connection& conn, const std::string& type,
                                               const std::string& id) {
  auto stmt =
      conn.statement("SELECT current_version, deleted FROM resources WHERE type = ? AND id = ?");
  if (!stmt) return stmt.take_error();
  (*stmt)->bind(1, std::string_view(type));
  (*stmt)->bind(2, std::string_view(id));
  auto row = (*stmt)->step();
  if (!row) return row.take_error();
  if (!*row) return std::optional<HeadInfo>();
  return std::optional<HeadInfo>(HeadInfo{(*stmt)->column_int64(0), (*stmt)->column_int64(1) != 0});
}

Result<std::optional<StoredVersion>> read_head(Connection& conn, const std::string& type,
                                               const std::string& id) {
  auto stmt = conn.statement("SELECT " + std::string(kVersionColumns) +
                             " FROM resources r JOIN resource_versions v ON v.seq = r.seq"
                             " WHERE r.type = ? AND r.id = ?");
  if (!stmt) return stmt.take_error();
  (*stmt)->bind(1, std::string_view(type));
  (*stmt)->bind(2, std::string_view(id));
  return first_row(**stmt);
}

Result<std::optional<StoredVersion>> read_version(Connection& conn, const std::string& type,
                                                  const std::string& id, std::int64_t version) {
  auto stmt = conn.statement("SELECT " + std::string(kVersionColumns) +
                             " FROM resource_versions v"
                             " WHERE v.type = ? AND v.id = ? AND v.version = ?");
  if (!stmt) return stmt.take_error();
  (*stmt)->bind(1, std::string_view(type));
  (*stmt)->bind(2, std::string_view(id));
  (*stmt)->bind(3, version);
  return first_row(**stmt);
}

Result<SearchPage> search_resources(Connection& conn, const SearchQuery& query) {
  auto txn = snapshot(conn);
  if (!txn) return txn.take_error();
  const std::size_t limit = std::min(query.count, kMaxPageSize);
  Filter filter = search_filter(query);
  SearchPage page;
  if (query.with_total) {
    auto total = count_matches(conn, filter);
    if (!total) return total.take_error();
    page.total = *total;
  }
  auto rows = search_rows(conn, std::move(filter), query, limit);
  if (!rows) return rows.take_error();
  page.items = std::move(*rows);
  if (page.items.size() > limit) {
    page.items.resize(limit);
    if (limit > 0) page.next_after_id = page.items.back().id;  // count 0 cannot page
  }
  return page;
}

Result<HistoryPage> read_history(Connection& conn, const HistoryQuery& query) {
  if (query.type.empty() && !query.id.empty()) return Error::invalid("history id without type");
  if (query.at_most_seq < 0) return Error::invalid("negative history seq bound");
  auto txn = snapshot(conn);
  if (!txn) return txn.take_error();
  HistoryPage page;
  page.snapshot_seq = query.at_most_seq;
  if (page.snapshot_seq == 0) {
    auto latest = read_latest_seq(conn);
    if (!latest) return latest.take_error();
    page.snapshot_seq = *latest;
  }
  const std::size_t limit = std::min(query.count, kMaxPageSize);
  auto stmt = conn.statement(history_sql(query));
  if (!stmt) return stmt.take_error();
  bind_history(**stmt, query, page.snapshot_seq, limit);
  auto rows = collect_rows(**stmt, limit);
  if (!rows) return rows.take_error();
  page.items = std::move(*rows);
  if (page.items.size() > limit) {
    page.items.resize(limit);
    if (limit > 0) page.next_at_most_seq = page.items.back().seq - 1;
  }
  return page;
}

Result<std::int64_t> read_latest_seq(Connection& conn) {
  return conn.query_int64("SELECT COALESCE(MAX(seq), 0) FROM changes");
}

Result<std::int64_t> read_latest_timestamp(Connection& conn) {
  return conn.query_int64(
      "SELECT COALESCE((SELECT last_updated_ms FROM resource_versions"
      " ORDER BY seq DESC LIMIT 1), 0)");
}

}  // namespace cg::storage
