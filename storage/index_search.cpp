#include "storage/index_search.hpp"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <map>
#include <set>
#include <utility>
#include <variant>

#include "protocols/fhir/model/base64.hpp"
#include "storage/clinical_queries.hpp"
#include "storage/index_filter.hpp"
#include "storage/index_sql.hpp"

namespace cg::storage {
namespace {

using Binding = std::variant<std::int64_t, double, std::string>;

constexpr std::string_view kTooCostly = "the search is too costly; narrow it";
constexpr int kProgressPeriod = 1000;  // VM steps between budget checks

enum class KeyType : std::uint8_t { kInt, kReal, kText };

struct OrderKey {
  Sql expr;  // over r0
  KeyType type = KeyType::kText;
  bool descending = false;
  bool nullable = false;
  // Missing values sort first: the flipped order of a backward read, whose forward order
  // has them last.
  bool nulls_first = false;
};

std::string_view sort_column(IndexTable table) {
  switch (table) {
    case IndexTable::kString:
      return "normalized";
    case IndexTable::kToken:
      return "code";
    case IndexTable::kUri:
      return "uri";
    case IndexTable::kReference:
      return "CASE WHEN x.target_id <> '' THEN x.target_type || '/' || x.target_id ELSE x.url END";
    default:
      return "low";
  }
}

KeyType sort_key_type(IndexTable table) {
  if (table == IndexTable::kDate) return KeyType::kInt;
  if (table == IndexTable::kNumber || table == IndexTable::kQuantity) return KeyType::kReal;
  return KeyType::kText;
}

// The sort keys, then the tie-breakers (type for several types, id), all over r0.
std::vector<OrderKey> order_keys(const IndexQuery& query, bool multi) {
  std::vector<OrderKey> keys;
  for (const auto& s : query.sort) {
    OrderKey k;
    k.descending = s.descending;
    if (s.kind == SortSpec::Kind::kId) {
      k.expr << "r0.id";
    } else if (s.kind == SortSpec::Kind::kLastUpdated) {
      k.expr << "r0.last_updated_ms";
      k.type = KeyType::kInt;
    } else {
      const std::string_view column = sort_column(s.table);
      const bool plain = column.find(' ') == std::string_view::npos;
      // INDEXED BY: one resource's rows through the owner index, never a walk of every row of
      // the parameter (what SQLite picks without statistics).
      const std::string_view table = table_name(s.table);
      k.expr << "(SELECT " << (s.descending ? "MAX(" : "MIN(") << (plain ? "x." : "") << column
             << ") FROM " << table << " x INDEXED BY " << table
             << "_owner WHERE x.type = r0.type AND x.id = r0.id AND x.param = ";
      k.expr.bind(s.param) << ")";
      k.type = sort_key_type(s.table);
      k.nullable = true;
    }
    keys.push_back(std::move(k));
  }
  if (multi) keys.push_back({Sql() << "r0.type", KeyType::kText, false, false});
  keys.push_back({Sql() << "r0.id", KeyType::kText, false, false});
  return keys;
}

// Marks a cursor that asks for the page before its position (previous links).
constexpr std::string_view kPreviousMark = "~";

// A signature of the sort, stored in the cursor so a cursor of another sort is refused.
std::string sort_signature(const IndexQuery& query, bool multi) {
  std::string sig = "v1";
  for (const auto& s : query.sort) {
    sig += s.descending ? ",-" : ",";
    if (s.kind == SortSpec::Kind::kId) {
      sig += "_id";
    } else if (s.kind == SortSpec::Kind::kLastUpdated) {
      sig += "_lastUpdated";
    } else {
      sig += std::to_string(static_cast<int>(s.table)) + ":" + s.param;
    }
  }
  return multi ? sig + ",*" : sig;
}

using KeyValue = std::optional<Binding>;  // nullopt: the resource has no value for the key

std::string encode_cursor(const std::string& signature, const std::vector<KeyValue>& values) {
  boost::json::array array;
  array.emplace_back(signature);
  for (const auto& v : values) {
    if (!v) {
      array.emplace_back(nullptr);
    } else {
      std::visit([&](const auto& x) { array.emplace_back(x); }, *v);
    }
  }
  return base64url_encode(boost::json::serialize(array));
}

Result<std::vector<KeyValue>> decode_cursor(const std::string& cursor, const std::string& signature,
                                            const std::vector<OrderKey>& keys) {
  const Error bad = Error::invalid("the page cursor does not belong to this search", "_cursor");
  auto text = base64url_decode(cursor);
  if (!text) return bad;
  boost::system::error_code ec;
  auto value = boost::json::parse(*text, ec);
  const auto* array = ec ? nullptr : value.if_array();
  if (array == nullptr || array->size() != keys.size() + 1 || !(*array)[0].is_string() ||
      (*array)[0].get_string() != signature) {
    return bad;
  }
  std::vector<KeyValue> values;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const auto& v = (*array)[i + 1];
    if (v.is_null() && keys[i].nullable) {
      values.emplace_back();
    } else if (keys[i].type == KeyType::kInt && v.is_int64()) {
      values.emplace_back(Binding(v.get_int64()));
    } else if (keys[i].type == KeyType::kReal && v.is_number()) {
      values.emplace_back(Binding(v.to_number<double>()));
    } else if (keys[i].type == KeyType::kText && v.is_string()) {
      values.emplace_back(Binding(std::string(v.get_string())));
    } else {
      return bad;
    }
  }
  return values;
}

// " AND <rows after the cursor row>": the lexicographic successor over the order keys, with
// missing values last whatever the direction (first when reading backwards). Uniform non-null keys
// use a row-value comparison, which SQLite turns into an index range.
void write_keyset(Sql& sql, const std::vector<OrderKey>& keys, const std::vector<KeyValue>& at) {
  const bool uniform = std::all_of(keys.begin(), keys.end(), [&](const OrderKey& k) {
    return !k.nullable && k.descending == keys.front().descending;
  });
  if (uniform) {
    sql << " AND (";
    for (std::size_t i = 0; i < keys.size(); ++i) {
      sql << (i ? ", " : "");
      sql.append(keys[i].expr);
    }
    sql << ") " << (keys.front().descending ? "<" : ">") << " (";
    for (std::size_t i = 0; i < keys.size(); ++i) {
      sql << (i ? ", " : "");
      sql.bind(*at[i]);
    }
    sql << ")";
    return;
  }
  sql << " AND ";
  std::size_t open = 0;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const OrderKey& k = keys[i];
    sql << "(";
    ++open;
    // Strictly after on this key.
    if (!at[i]) {
      if (k.nulls_first) {
        sql.append(k.expr) << " IS NOT NULL";  // every value follows the missing ones
      } else {
        sql << "0";  // nothing sorts after a missing value
      }
    } else {
      sql << "(";
      if (k.nullable && !k.nulls_first) {
        sql.append(k.expr) << " IS NULL OR ";
      }
      sql.append(k.expr) << (k.descending ? " < " : " > ");
      sql.bind(*at[i]) << ")";
    }
    if (i + 1 == keys.size()) break;
    // Or equal on this key and after on the next ones.
    sql << " OR (";
    ++open;
    if (!at[i]) {
      sql.append(k.expr) << " IS NULL";
    } else {
      sql.append(k.expr) << " = ";
      sql.bind(*at[i]);
    }
    sql << " AND ";
  }
  for (std::size_t i = 0; i < open; ++i) sql << ")";
}

void write_order(Sql& sql, const std::vector<OrderKey>& keys, bool by_alias) {
  sql << " ORDER BY ";
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const std::string name = "k" + std::to_string(i);
    if (i) sql << ", ";
    if (keys[i].nullable) sql << name << (keys[i].nulls_first ? " IS NULL DESC, " : " IS NULL, ");
    if (by_alias) {
      sql << name;
    } else {
      sql << "p." << name;
    }
    if (keys[i].descending) sql << " DESC";
  }
}

// --- the budget ----------------------------------------------------------------------

// Interrupts statements on a connection once the deadline or the step budget is passed, for
// as long as it lives. Must be destroyed before the read transaction ends, so COMMIT is never
// interrupted.
class BudgetGuard {
 public:
  BudgetGuard(Connection& conn, const QueryBudget& budget)
      : conn_(conn),
        deadline_(std::chrono::steady_clock::now() + std::chrono::milliseconds(budget.max_ms)),
        max_steps_(budget.max_steps) {
    conn_.set_progress_handler(kProgressPeriod, &BudgetGuard::on_progress, this);
  }
  BudgetGuard(const BudgetGuard&) = delete;
  BudgetGuard& operator=(const BudgetGuard&) = delete;
  ~BudgetGuard() { conn_.set_progress_handler(0, nullptr, nullptr); }

  bool exceeded() const { return exceeded_; }
  // `error`, or the budget error when the budget interrupted the statement.
  Error explain(Error error) const {
    return exceeded_ ? Error::invalid(std::string(kTooCostly)) : std::move(error);
  }

 private:
  static int on_progress(void* self) {
    auto* guard = static_cast<BudgetGuard*>(self);
    guard->steps_ += kProgressPeriod;
    if ((guard->max_steps_ > 0 && guard->steps_ > guard->max_steps_) ||
        std::chrono::steady_clock::now() > guard->deadline_) {
      guard->exceeded_ = true;
    }
    return guard->exceeded_ ? 1 : 0;
  }

  Connection& conn_;
  std::chrono::steady_clock::time_point deadline_;
  std::int64_t max_steps_;
  std::int64_t steps_ = 0;
  bool exceeded_ = false;
};

// --- the search ----------------------------------------------------------------------

// Parameter statistics read in the search's own transaction, once per (family, types, param).
class SnapshotStats final : public ParamStatsSource {
 public:
  explicit SnapshotStats(Connection& conn) : conn_(conn) {}

  Result<ParamStats> stats(std::string_view family, const std::vector<std::string>& types,
                           const std::string& param) override {
    std::string key = std::string(family) + '\n' + param + '\n' + json_list(types);
    if (auto it = cache_.find(key); it != cache_.end()) return it->second;
    Sql sql;
    sql << "SELECT coalesce(max(max_width), 0), coalesce(max(max_rows), 0)"
           " FROM idx_param_stats WHERE family = ";
    sql.bind(std::string(family));
    if (param.ends_with('|')) {  // a quantity in any unit: every "param|unit" key
      std::string upper = param;
      upper.back() = '|' + 1;
      sql << " AND param >= ";
      sql.bind(param) << " AND param < ";
      sql.bind(upper) << " AND ";
    } else {
      sql << " AND param = ";
      sql.bind(param) << " AND ";
    }
    type_match(sql, "type", types);
    auto stmt = conn_.generated_statement(sql.text());
    if (!stmt) return stmt.take_error();
    sql.bind_to(**stmt);
    auto row = (*stmt)->step();
    if (!row) return row.take_error();
    ParamStats s{(*stmt)->column_double(0), (*stmt)->column_int64(1)};
    cache_.emplace(std::move(key), s);
    return s;
  }

 private:
  Connection& conn_;
  std::map<std::string, ParamStats> cache_;
};

class IndexSearch {
 public:
  IndexSearch(Connection& conn, const IndexQuery& query) : conn_(conn), query_(query) {}

  Result<IndexSearchPage> run() {
    auto txn = snapshot(conn_);
    if (!txn) return txn.take_error();
    BudgetGuard guard(conn_, query_.budget);  // after txn: removed before it ends
    auto page = run_in_snapshot();
    if (!page) return guard.explain(page.take_error());
    return page;
  }

  Result<std::vector<std::string>> explain() {
    if (auto s = resolve_types(); !s) return s.take_error();
    if (types_.empty()) return std::vector<std::string>();
    auto sql = page_sql({});
    if (!sql) return sql.take_error();
    auto stmt = conn_.statement_once("EXPLAIN QUERY PLAN " + sql->text());
    if (!stmt) return stmt.take_error();
    sql->bind_to(**stmt);
    std::vector<std::string> lines;
    for (;;) {
      auto row = (*stmt)->step();
      if (!row) return row.take_error();
      if (!*row) return lines;
      lines.push_back((*stmt)->column_text(3));
    }
  }

 private:
  Result<IndexSearchPage> run_in_snapshot() {
    IndexSearchPage page;
    if (auto s = resolve_types(); !s) return s.take_error();
    if (types_.empty()) {  // an empty store
      if (query_.total || query_.count == 0) page.total = 0;
      return page;
    }
    if (query_.total || query_.count == 0) {
      auto total = count();
      if (!total) return total.take_error();
      page.total = *total;
    }
    if (query_.count == 0) return page;
    std::vector<KeyValue> after;
    std::string_view cursor = query_.cursor;
    const bool backward = cursor.starts_with(kPreviousMark);
    if (backward) cursor.remove_prefix(kPreviousMark.size());
    if (!cursor.empty()) {
      auto decoded = decode_cursor(std::string(cursor), signature(), keys());
      if (!decoded) return decoded.take_error();
      after = std::move(*decoded);
    }
    auto paged = backward ? read_page_before(after, page) : read_page(after, page);
    if (!paged) return paged.take_error();
    if (auto s = read_includes(page); !s) return s.take_error();
    return page;
  }

  Status resolve_types() {
    types_ = query_.types;
    if (!types_.empty()) return ok_status();
    // Every type in the store, by skipping through the primary key: one probe per type.
    auto stmt = conn_.statement(
        "WITH RECURSIVE t(type) AS (SELECT MIN(type) FROM resources UNION ALL"
        " SELECT (SELECT MIN(type) FROM resources WHERE type > t.type) FROM t"
        " WHERE t.type IS NOT NULL) SELECT type FROM t WHERE type IS NOT NULL");
    if (!stmt) return stmt.take_error();
    for (;;) {
      auto row = (*stmt)->step();
      if (!row) return row.take_error();
      if (!*row) return ok_status();
      types_.push_back((*stmt)->column_text(0));
    }
  }

  bool multi() const { return types_.size() != 1; }
  std::vector<OrderKey> keys() const { return order_keys(query_, multi()); }
  std::string signature() const { return sort_signature(query_, multi()); }

  // "FROM resources r0 WHERE r0.deleted = 0 AND <types> AND <filter>".
  Result<Sql> matches() {
    Sql sql;
    sql << " FROM resources r0 WHERE r0.deleted = 0 AND ";
    type_match(sql, "r0.type", types_);
    Scope scope{"r0", &types_, 0};
    if (auto s = write_filter(sql, query_.where, scope, stats_); !s) return s.take_error();
    return sql;
  }

  Result<std::int64_t> count() {
    Scope scope{"r0", &types_, 0};
    auto fast = write_count(query_.where, scope, stats_);
    if (!fast) return fast.take_error();
    Sql sql;
    if (*fast) {
      sql = std::move(**fast);
    } else {
      auto from = matches();
      if (!from) return from.take_error();
      sql << "SELECT COUNT(*)";
      sql.append(*from);
    }
    auto stmt = conn_.generated_statement(sql.text());
    if (!stmt) return stmt.take_error();
    sql.bind_to(**stmt);
    auto row = (*stmt)->step();
    if (!row) return row.take_error();
    return (*stmt)->column_int64(0);
  }

  // The page: the matching keys in order, limited, then joined to their version rows.
  Result<Sql> page_sql(const std::vector<KeyValue>& after) { return page_sql(after, keys()); }

  // The page after `after` in the order of `order` (flipped keys give the rows before it).
  Result<Sql> page_sql(const std::vector<KeyValue>& after, const std::vector<OrderKey>& order) {
    auto streamed = stream_page_sql(after, order);
    if (!streamed) return streamed.take_error();
    if (*streamed) return std::move(**streamed);
    Sql inner;
    inner << "SELECT r0.seq AS seq";
    for (std::size_t i = 0; i < order.size(); ++i) {
      inner << ", ";
      inner.append(order[i].expr) << " AS k" << std::to_string(i);
    }
    auto from = matches();
    if (!from) return from.take_error();
    inner.append(*from);
    if (!after.empty()) write_keyset(inner, order, after);
    write_order(inner, order, /*by_alias=*/true);
    inner << " LIMIT ";
    inner.bind(static_cast<std::int64_t>(limit() + 1));
    Sql sql;
    sql << "SELECT " << kVersionColumns;
    for (std::size_t i = 0; i < order.size(); ++i) sql << ", p.k" << std::to_string(i);
    sql << " FROM (";
    sql.append(inner) << ") p JOIN resource_versions v ON v.seq = p.seq";
    write_order(sql, order, /*by_alias=*/false);
    return sql;
  }

  // In id order (no _sort) over one condition whose lookup index yields ids in order: the
  // page walks that index from the cursor and stops after limit() + 1 resources
  // (write_stream in index_filter.hpp). nullopt when the search has another shape.
  Result<std::optional<Sql>> stream_page_sql(const std::vector<KeyValue>& after,
                                             const std::vector<OrderKey>& order) {
    if (!query_.sort.empty() || multi()) return std::optional<Sql>();
    Scope scope{"r0", &types_, 0};
    auto rows = write_stream(query_.where, scope, stats_);
    if (!rows || !*rows) return rows;
    const std::string x = scope.index_alias();
    std::vector<OrderKey> by_row = order;  // the same key, read from the index row
    by_row.front().expr = Sql() << x << ".id";
    Sql inner;
    inner << "SELECT r0.seq AS seq, " << x << ".id AS k0";
    inner.append(**rows);
    if (!after.empty()) write_keyset(inner, by_row, after);
    inner << " GROUP BY " << x << ".id";
    write_order(inner, by_row, /*by_alias=*/true);
    inner << " LIMIT ";
    inner.bind(static_cast<std::int64_t>(limit() + 1));
    Sql sql;
    sql << "SELECT " << kVersionColumns << ", p.k0 FROM (";
    sql.append(inner) << ") p JOIN resource_versions v ON v.seq = p.seq";
    write_order(sql, by_row, /*by_alias=*/false);
    return std::optional<Sql>(std::move(sql));
  }

  std::size_t limit() const { return std::min(query_.count, kMaxIndexPage); }

  // Reads up to limit()+1 rows in `order`; returns whether more rows followed, and the key
  // values of the first and last rows returned.
  Result<bool> read_rows(const std::vector<KeyValue>& after, const std::vector<OrderKey>& order,
                         std::vector<StoredVersion>& rows, std::vector<KeyValue>& first,
                         std::vector<KeyValue>& last) {
    auto sql = page_sql(after, order);
    if (!sql) return sql.take_error();
    auto stmt = conn_.generated_statement(sql->text());
    if (!stmt) return stmt.take_error();
    sql->bind_to(**stmt);
    for (;;) {
      auto row = (*stmt)->step();
      if (!row) return row.take_error();
      if (!*row) return false;
      if (rows.size() == limit()) return true;  // one more row: another page follows
      rows.push_back(read_version_row(**stmt));
      last = key_values(**stmt, order);
      if (rows.size() == 1) first = last;
    }
  }

  Status read_page(const std::vector<KeyValue>& after, IndexSearchPage& page) {
    std::vector<KeyValue> first, last;
    auto more = read_rows(after, keys(), page.matches, first, last);
    if (!more) return more.take_error();
    if (*more) page.next_cursor = encode_cursor(signature(), last);
    if (!after.empty() && !page.matches.empty()) {
      page.previous_cursor = std::string(kPreviousMark) + encode_cursor(signature(), first);
    }
    return ok_status();
  }

  // The page that ends just before `before`: the same keys with every direction flipped,
  // read from `before` onwards, then put back in forward order.
  Status read_page_before(const std::vector<KeyValue>& before, IndexSearchPage& page) {
    auto flipped = keys();
    for (auto& k : flipped) {
      k.descending = !k.descending;
      k.nulls_first = k.nullable;
    }
    std::vector<KeyValue> first, last;
    auto more = read_rows(before, flipped, page.matches, first, last);
    if (!more) return more.take_error();
    std::reverse(page.matches.begin(), page.matches.end());
    // Flipped reading met the rows in reverse: `first` is the page's last row.
    if (!page.matches.empty()) page.next_cursor = encode_cursor(signature(), first);
    if (*more) page.previous_cursor = std::string(kPreviousMark) + encode_cursor(signature(), last);
    return ok_status();
  }

  static std::vector<KeyValue> key_values(const Statement& stmt,
                                          const std::vector<OrderKey>& order) {
    std::vector<KeyValue> values;
    for (std::size_t i = 0; i < order.size(); ++i) {
      const int column = 7 + static_cast<int>(i);
      if (stmt.column_is_null(column)) {
        values.emplace_back();
      } else if (order[i].type == KeyType::kInt) {
        values.emplace_back(std::in_place, stmt.column_int64(column));
      } else if (order[i].type == KeyType::kReal) {
        values.emplace_back(std::in_place, stmt.column_double(column));
      } else {
        values.emplace_back(std::in_place, stmt.column_text(column));
      }
    }
    return values;
  }

  // --- includes ------------------------------------------------------------------------

  using Frontier = std::map<std::string, std::vector<std::string>>;  // type → ids

  static void add_to(Frontier& frontier, const StoredVersion& v) {
    frontier[v.type].push_back(v.id);
  }

  Status read_includes(IndexSearchPage& page) {
    if (query_.includes.empty() || page.matches.empty()) return ok_status();
    Frontier frontier;
    for (const auto& v : page.matches) {
      seen_.emplace(v.type, v.id);
      add_to(frontier, v);
    }
    for (std::size_t round = 0; round <= query_.max_iterations && !frontier.empty(); ++round) {
      Frontier next;
      for (const auto& spec : query_.includes) {
        if (round > 0 && !spec.iterate) continue;
        for (const auto& [type, ids] : frontier) {
          if (auto s = include(spec, type, ids, page, next); !s) return s;
          if (page.included_truncated) return ok_status();
        }
      }
      frontier = std::move(next);
    }
    return ok_status();
  }

  Status include(const IncludeSpec& spec, const std::string& type,
                 const std::vector<std::string>& ids, IndexSearchPage& page, Frontier& next) {
    const std::string& anchor = spec.reverse ? spec.target_type : spec.source_type;
    if (!anchor.empty() && anchor != type) return ok_status();
    Sql sql;
    sql << "SELECT " << kVersionColumns
        << " FROM resources r JOIN resource_versions v ON v.seq = r.seq"
           " WHERE r.deleted = 0 AND (r.type, r.id) IN (";
    if (spec.reverse) {
      sql << "SELECT x.type, x.id FROM idx_reference x WHERE x.target_type = ";
      sql.bind(type) << " AND x.target_id IN (SELECT value FROM json_each(";
      sql.bind(json_list(ids)) << "))";
      if (!spec.source_type.empty()) {
        sql << " AND x.type = ";
        sql.bind(spec.source_type);
      }
    } else {
      // INDEXED BY: the page resources' own references, not every row of the parameter.
      sql << "SELECT x.target_type, x.target_id FROM idx_reference x"
             " INDEXED BY idx_reference_owner WHERE x.type = ";
      sql.bind(type) << " AND x.id IN (SELECT value FROM json_each(";
      sql.bind(json_list(ids)) << ")) AND x.target_id <> ''";
      if (!spec.target_type.empty()) {
        sql << " AND x.target_type = ";
        sql.bind(spec.target_type);
      }
    }
    if (!spec.param.empty()) {
      sql << " AND x.param = ";
      sql.bind(spec.param);
    }
    sql << ") ORDER BY r.type, r.id";
    auto stmt = conn_.generated_statement(sql.text());
    if (!stmt) return stmt.take_error();
    sql.bind_to(**stmt);
    for (;;) {
      auto row = (*stmt)->step();
      if (!row) return row.take_error();
      if (!*row) return ok_status();
      StoredVersion v = read_version_row(**stmt);
      if (!seen_.emplace(v.type, v.id).second) continue;
      if (page.included.size() >= query_.max_included) {
        page.included_truncated = true;
        return ok_status();
      }
      add_to(next, v);
      page.included.push_back(std::move(v));
    }
  }

  Connection& conn_;
  const IndexQuery& query_;
  SnapshotStats stats_{conn_};
  std::vector<std::string> types_;
  std::set<std::pair<std::string, std::string>> seen_;
};

}  // namespace

Result<IndexSearchPage> run_index_search(Connection& conn, const IndexQuery& query) {
  return IndexSearch(conn, query).run();
}

Result<std::vector<std::string>> explain_index_search(Connection& conn, const IndexQuery& query) {
  return IndexSearch(conn, query).explain();
}

}  // namespace cg::storage
