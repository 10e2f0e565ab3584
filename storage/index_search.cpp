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

#include "storage/clinical_queries.hpp"

namespace cg::storage {
namespace {

using Binding = std::variant<std::int64_t, double, std::string>;

constexpr std::string_view kTooCostly = "the search is too costly; narrow it";
constexpr int kProgressPeriod = 1000;  // VM steps between budget checks

// SQL text and its positional parameters, appended together so they cannot drift apart.
class Sql {
 public:
  Sql& operator<<(std::string_view text) {
    text_ += text;
    return *this;
  }
  Sql& bind(Binding value) {
    text_ += '?';
    bindings_.push_back(std::move(value));
    return *this;
  }
  Sql& append(const Sql& other) {
    text_ += other.text_;
    bindings_.insert(bindings_.end(), other.bindings_.begin(), other.bindings_.end());
    return *this;
  }
  const std::string& text() const { return text_; }
  void bind_to(Statement& stmt) const {
    int index = 1;
    for (const auto& b : bindings_) {
      std::visit([&](const auto& v) { stmt.bind(index, v); }, b);
      ++index;
    }
  }

 private:
  std::string text_;
  std::vector<Binding> bindings_;
};

std::string json_list(const std::vector<std::string>& values) {
  boost::json::array array;
  for (const auto& v : values) array.emplace_back(v);
  return boost::json::serialize(array);
}

// The smallest string greater than every string starting with `prefix`; nullopt when there
// is none (empty or all 0xFF). `col >= prefix AND col < successor` is a prefix match that the
// lookup indexes serve, without LIKE's escaping and case rules.
std::optional<std::string> prefix_successor(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xFF) prefix.pop_back();
  if (prefix.empty()) return std::nullopt;
  prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

void prefix_match(Sql& sql, std::string_view column, const std::string& prefix) {
  sql << " AND " << column << " >= ";
  sql.bind(prefix);
  if (auto upper = prefix_successor(prefix)) {
    sql << " AND " << column << " < ";
    sql.bind(*upper);
  }
}

std::string_view table_name(IndexTable table) {
  switch (table) {
    case IndexTable::kString:
      return "idx_string";
    case IndexTable::kToken:
      return "idx_token";
    case IndexTable::kDate:
      return "idx_date";
    case IndexTable::kNumber:
      return "idx_number";
    case IndexTable::kQuantity:
      return "idx_quantity";
    case IndexTable::kReference:
      return "idx_reference";
    case IndexTable::kUri:
      return "idx_uri";
  }
  return "idx_token";
}

// A stored range [lo, hi) against the query range, by the rules in index_query.hpp. The
// redundant bounds on `lo` (eq, eb) let the lookup index (…, param, low) narrow the scan.
template <class T>
void range_match(Sql& sql, const std::string& lo, const std::string& hi, const Range<T>& r) {
  const Binding ql = r.low, qh = r.high;
  switch (r.op) {
    case RangeOp::kEq:
      sql << " AND " << lo << " >= ";
      sql.bind(ql) << " AND " << lo << " <= ";
      sql.bind(qh) << " AND " << hi << " <= ";
      sql.bind(qh);
      break;
    case RangeOp::kNe:
      sql << " AND NOT (" << lo << " >= ";
      sql.bind(ql) << " AND " << hi << " <= ";
      sql.bind(qh) << ")";
      break;
    case RangeOp::kGt:
      sql << " AND " << hi << " > ";
      sql.bind(qh);
      break;
    case RangeOp::kLt:
      sql << " AND " << lo << " < ";
      sql.bind(ql);
      break;
    case RangeOp::kGe:
      sql << " AND (" << hi << " > ";
      sql.bind(qh) << " OR " << lo << " >= ";
      sql.bind(ql) << ")";
      break;
    case RangeOp::kLe:
      sql << " AND (" << lo << " < ";
      sql.bind(ql) << " OR " << hi << " <= ";
      sql.bind(qh) << ")";
      break;
    case RangeOp::kSa:
      sql << " AND " << lo << " >= ";
      sql.bind(qh);
      break;
    case RangeOp::kEb:
      sql << " AND " << lo << " <= ";
      sql.bind(ql) << " AND " << hi << " <= ";
      sql.bind(ql);
      break;
    case RangeOp::kAp:
      sql << " AND " << lo << " < ";
      sql.bind(qh) << " AND " << hi << " > ";
      sql.bind(ql);
      break;
  }
}

// _lastUpdated is an instant: [ms, ms + 1). The range rules above then reduce to plain
// comparisons on last_updated_ms, which the (type, last_updated_ms) index serves.
void last_updated_match(Sql& sql, const std::string& col, const Range<std::int64_t>& r) {
  auto cmp = [&](std::string_view op, std::int64_t v) {
    sql << col << op;
    sql.bind(v);
  };
  switch (r.op) {
    case RangeOp::kEq:
    case RangeOp::kAp:
      cmp(" >= ", r.low);
      sql << " AND ";
      cmp(" < ", r.high);
      break;
    case RangeOp::kNe:
      sql << "NOT (";
      cmp(" >= ", r.low);
      sql << " AND ";
      cmp(" < ", r.high);
      sql << ")";
      break;
    case RangeOp::kGt:
    case RangeOp::kSa:
      cmp(" >= ", r.high);
      break;
    case RangeOp::kLt:
    case RangeOp::kEb:
      cmp(" < ", r.low);
      break;
    case RangeOp::kGe:
      cmp(" >= ", std::min(r.low, r.high));
      break;
    case RangeOp::kLe:
      cmp(" < ", std::max(r.low, r.high));
      break;
  }
}

// Where the conditions of a Filter are evaluated: resources `alias` of `types`.
struct Scope {
  std::string alias;  // "r0" at the top, "r1"… in chains
  const std::vector<std::string>* types = nullptr;
  int depth = 0;

  bool multi() const { return types->size() != 1; }
  // The key that membership is tested on, and what a key subquery selects (with `x`).
  std::string key() const {
    return multi() ? "(" + alias + ".type, " + alias + ".id)" : alias + ".id";
  }
  std::string index_alias() const { return "x" + std::to_string(depth); }
};

void type_match(Sql& sql, const std::string& column, const std::vector<std::string>& types) {
  if (types.size() == 1) {
    sql << column << " = ";
    sql.bind(types.front());
  } else {
    sql << column << " IN (SELECT value FROM json_each(";
    sql.bind(json_list(types)) << "))";
  }
}

// A condition over a scope: a SELECT of matching keys (tested with IN), of keys that must
// not match (NOT IN), or a predicate on the scope's own row.
struct Rendered {
  enum class Form : std::uint8_t { kKeys, kNotKeys, kPredicate } form = Form::kKeys;
  Sql sql;
};

class FilterWriter {
 public:
  // The AND of the filter's groups, each as " AND (…)".
  Status write(Sql& out, const Filter& filter, const Scope& scope) {
    for (const auto& group : filter.all_of) {
      out << " AND ";
      if (auto s = write_group(out, group, scope); !s) return s;
    }
    return ok_status();
  }

 private:
  Status write_group(Sql& out, const OrGroup& group, const Scope& scope) {
    if (group.any_of.empty()) {
      out << "0";
      return ok_status();
    }
    Sql keys;
    std::vector<Sql> others;
    for (const auto& cond : group.any_of) {
      auto rendered = render(cond, scope);
      if (!rendered) return rendered.take_error();
      if (rendered->form == Rendered::Form::kKeys) {
        if (!keys.text().empty()) keys << " UNION ALL ";
        keys.append(rendered->sql);
      } else if (rendered->form == Rendered::Form::kNotKeys) {
        Sql s;
        s << scope.key() << " NOT IN (";
        s.append(rendered->sql) << ")";
        others.push_back(std::move(s));
      } else {
        others.push_back(std::move(rendered->sql));
      }
    }
    out << "(";
    bool first = true;
    if (!keys.text().empty()) {
      out << scope.key() << " IN (";
      out.append(keys) << ")";
      first = false;
    }
    for (const auto& s : others) {
      if (!first) out << " OR ";
      out << "(";
      out.append(s) << ")";
      first = false;
    }
    out << ")";
    return ok_status();
  }

  // "SELECT x.id FROM idx_… x WHERE x.type = ? AND x.param = ?", ready for more " AND …".
  static Sql index_rows(const Scope& scope, IndexTable table, const std::string& param) {
    const std::string x = scope.index_alias();
    Sql sql;
    sql << "SELECT " << (scope.multi() ? x + ".type, " : "") << x << ".id FROM "
        << table_name(table) << " " << x << " WHERE ";
    type_match(sql, x + ".type", *scope.types);
    sql << " AND " << x << ".param = ";
    sql.bind(param);
    return sql;
  }

  static Rendered keys(Sql sql, bool negate = false) {
    return {negate ? Rendered::Form::kNotKeys : Rendered::Form::kKeys, std::move(sql)};
  }

  Result<Rendered> render(const Condition& cond, const Scope& scope) {
    return std::visit([&](const auto& c) { return render_one(c, scope); }, cond.kind);
  }

  Result<Rendered> render_one(const StringCond& c, const Scope& scope) {
    Sql sql = index_rows(scope, IndexTable::kString, c.param);
    const std::string x = scope.index_alias();
    switch (c.mode) {
      case StringCond::Mode::kPrefix:
        prefix_match(sql, x + ".normalized", c.value);
        break;
      case StringCond::Mode::kExact:
        sql << " AND " << x << ".normalized = ";
        sql.bind(c.normalized) << " AND " << x << ".exact = ";
        sql.bind(c.value);
        break;
      case StringCond::Mode::kContains:
        sql << " AND instr(" << x << ".normalized, ";
        sql.bind(c.value) << ") > 0";
        break;
    }
    return keys(std::move(sql));
  }

  Result<Rendered> render_one(const TokenCond& c, const Scope& scope) {
    Sql sql = index_rows(scope, IndexTable::kToken, c.param);
    const std::string x = scope.index_alias();
    if (c.text) {
      prefix_match(sql, x + ".text", *c.text);
      return keys(std::move(sql), c.negate);
    }
    if (!c.code.empty()) {
      sql << " AND " << x << ".code = ";
      sql.bind(c.code);
    }
    if (c.system) {
      sql << " AND " << x << ".system = ";
      sql.bind(*c.system);
    }
    if (!c.type_system.empty() || !c.type_code.empty()) {
      sql << " AND " << x << ".type_system = ";
      sql.bind(c.type_system) << " AND " << x << ".type_code = ";
      sql.bind(c.type_code);
    }
    return keys(std::move(sql), c.negate);
  }

  Result<Rendered> render_one(const DateCond& c, const Scope& scope) {
    Sql sql = index_rows(scope, IndexTable::kDate, c.param);
    const std::string x = scope.index_alias();
    range_match(sql, x + ".low", x + ".high", c.range);
    return keys(std::move(sql));
  }

  Result<Rendered> render_one(const NumberCond& c, const Scope& scope) {
    Sql sql = index_rows(scope, IndexTable::kNumber, c.param);
    const std::string x = scope.index_alias();
    range_match(sql, x + ".low", x + ".high", c.range);
    return keys(std::move(sql));
  }

  Result<Rendered> render_one(const QuantityCond& c, const Scope& scope) {
    Sql sql = index_rows(scope, IndexTable::kQuantity, c.param);
    const std::string x = scope.index_alias();
    if (c.canonical) {
      sql << " AND " << x << ".canonical_code = ";
      sql.bind(c.code);
      range_match(sql, x + ".canonical_low", x + ".canonical_high", c.range);
      return keys(std::move(sql));
    }
    if (!c.code.empty()) {
      sql << " AND " << x << ".code = ";
      sql.bind(c.code);
    }
    if (c.system) {
      sql << " AND " << x << ".system = ";
      sql.bind(*c.system);
    }
    range_match(sql, x + ".low", x + ".high", c.range);
    return keys(std::move(sql));
  }

  Result<Rendered> render_one(const ReferenceCond& c, const Scope& scope) {
    Sql sql = index_rows(scope, IndexTable::kReference, c.param);
    const std::string x = scope.index_alias();
    auto equal = [&](std::string_view column, const std::string& value) {
      sql << " AND " << x << "." << column << " = ";
      sql.bind(value);
    };
    switch (c.kind) {
      case ReferenceCond::Kind::kLocal:
        equal("target_id", c.target_id);
        if (!c.target_type.empty()) equal("target_type", c.target_type);
        if (!c.version.empty()) equal("version", c.version);
        break;
      case ReferenceCond::Kind::kUrl:
        equal("url", c.url);
        if (!c.version.empty()) equal("version", c.version);
        break;
      case ReferenceCond::Kind::kIdentifier:
        equal("identifier_value", c.identifier_value);
        if (c.identifier_system) equal("identifier_system", *c.identifier_system);
        break;
    }
    return keys(std::move(sql));
  }

  Result<Rendered> render_one(const UriCond& c, const Scope& scope) {
    Sql sql = index_rows(scope, IndexTable::kUri, c.param);
    const std::string x = scope.index_alias();
    switch (c.mode) {
      case UriCond::Mode::kExact:
        sql << " AND " << x << ".uri = ";
        sql.bind(c.value);
        break;
      case UriCond::Mode::kBelow:
        prefix_match(sql, x + ".uri", c.value);
        break;
      case UriCond::Mode::kAbove:
        sql << " AND " << x << ".uri <= ";
        sql.bind(c.value) << " AND substr(";
        sql.bind(c.value) << ", 1, length(" << x << ".uri)) = " << x << ".uri";
        break;
    }
    return keys(std::move(sql));
  }

  Result<Rendered> render_one(const MissingCond& c, const Scope& scope) {
    return keys(index_rows(scope, c.table, c.param), c.missing);
  }

  Result<Rendered> render_one(const IdCond& c, const Scope& scope) {
    Rendered r{Rendered::Form::kPredicate, {}};
    r.sql << scope.alias << ".id IN (SELECT value FROM json_each(";
    r.sql.bind(json_list(c.ids)) << "))";
    return r;
  }

  Result<Rendered> render_one(const LastUpdatedCond& c, const Scope& scope) {
    Rendered r{Rendered::Form::kPredicate, {}};
    last_updated_match(r.sql, scope.alias + ".last_updated_ms", c.range);
    return r;
  }

  // The current resources of `type` matching `where`, as "SELECT rN.id FROM resources rN …".
  Result<Sql> nested(const std::string& type, const Filter& where, const Scope& scope) {
    if (scope.depth >= kMaxDepth) return Error::invalid("chain too deep");
    nested_types_.push_back(std::make_unique<std::vector<std::string>>(1, type));
    Scope inner{"r" + std::to_string(scope.depth + 1), nested_types_.back().get(), scope.depth + 1};
    Sql sql;
    sql << "SELECT " << inner.alias << ".id FROM resources " << inner.alias << " WHERE "
        << inner.alias << ".type = ";
    sql.bind(type) << " AND " << inner.alias << ".deleted = 0";
    if (auto s = write(sql, where, inner); !s) return s.take_error();
    return sql;
  }

  Result<Rendered> render_one(const ChainCond& c, const Scope& scope) {
    if (scope.multi()) return Error::invalid("a chain needs a search on exactly one type");
    auto targets = nested(c.target_type, c.where, scope);
    if (!targets) return targets.take_error();
    Sql sql = index_rows(scope, IndexTable::kReference, c.param);
    const std::string x = scope.index_alias();
    sql << " AND " << x << ".target_type = ";
    sql.bind(c.target_type) << " AND " << x << ".target_id IN (";
    sql.append(*targets) << ")";
    return keys(std::move(sql));
  }

  Result<Rendered> render_one(const ReverseCond& c, const Scope& scope) {
    if (scope.multi()) return Error::invalid("_has needs a search on exactly one type");
    auto sources = nested(c.source_type, c.where, scope);
    if (!sources) return sources.take_error();
    const std::string x = scope.index_alias();
    Sql sql;
    // INDEXED BY: probe the references of each matching source; without statistics SQLite
    // would walk every reference of the parameter instead.
    sql << "SELECT " << x << ".target_id FROM idx_reference " << x
        << " INDEXED BY idx_reference_owner WHERE " << x << ".type = ";
    sql.bind(c.source_type) << " AND " << x << ".param = ";
    sql.bind(c.param) << " AND " << x << ".target_type = ";
    sql.bind(scope.types->front()) << " AND " << x << ".id IN (";
    sql.append(*sources) << ")";
    return keys(std::move(sql));
  }

  static constexpr int kMaxDepth = 16;
  std::vector<std::unique_ptr<std::vector<std::string>>> nested_types_;
};

// --- sorting and the keyset cursor -------------------------------------------------------

enum class KeyType : std::uint8_t { kInt, kReal, kText };

struct OrderKey {
  Sql expr;  // over r0
  KeyType type = KeyType::kText;
  bool descending = false;
  bool nullable = false;
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

constexpr std::string_view kBase64Url =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64url_encode(std::string_view in) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kBase64Url[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out += kBase64Url[(acc << (6 - bits)) & 63];
  return out;
}

std::optional<std::string> base64url_decode(std::string_view in) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const auto pos = kBase64Url.find(c);
    if (pos == std::string_view::npos) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(pos);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

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
// missing values last whatever the direction. Uniform non-null keys use a row-value
// comparison, which SQLite turns into an index range.
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
      sql << "0";  // nothing sorts after a missing value
    } else {
      sql << "(";
      if (k.nullable) {
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
    if (keys[i].nullable) sql << name << " IS NULL, ";
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
    FilterWriter writer;
    if (auto s = writer.write(sql, query_.where, scope); !s) return s.take_error();
    return sql;
  }

  Result<std::int64_t> count() {
    auto from = matches();
    if (!from) return from.take_error();
    Sql sql;
    sql << "SELECT COUNT(*)";
    sql.append(*from);
    auto stmt = conn_.statement_once(sql.text());
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

  std::size_t limit() const { return std::min(query_.count, kMaxIndexPage); }

  // Backward paging needs every key present: a missing value has no predecessor order.
  bool can_page_back() const {
    const auto order = keys();
    return std::none_of(order.begin(), order.end(), [](const OrderKey& k) { return k.nullable; });
  }

  // Reads up to limit()+1 rows in `order`; returns whether more rows followed, and the key
  // values of the first and last rows returned.
  Result<bool> read_rows(const std::vector<KeyValue>& after, const std::vector<OrderKey>& order,
                         std::vector<StoredVersion>& rows, std::vector<KeyValue>& first,
                         std::vector<KeyValue>& last) {
    auto sql = page_sql(after, order);
    if (!sql) return sql.take_error();
    auto stmt = conn_.statement_once(sql->text());
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
    if (!after.empty() && !page.matches.empty() && can_page_back()) {
      page.previous_cursor = std::string(kPreviousMark) + encode_cursor(signature(), first);
    }
    return ok_status();
  }

  // The page that ends just before `before`: the same keys with every direction flipped,
  // read from `before` onwards, then put back in forward order.
  Status read_page_before(const std::vector<KeyValue>& before, IndexSearchPage& page) {
    if (!can_page_back()) return Error::invalid("this sort has no previous pages", "_cursor");
    auto flipped = keys();
    for (auto& k : flipped) k.descending = !k.descending;
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
        values.emplace_back(Binding(stmt.column_int64(column)));
      } else if (order[i].type == KeyType::kReal) {
        values.emplace_back(Binding(stmt.column_double(column)));
      } else {
        values.emplace_back(Binding(stmt.column_text(column)));
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
    auto stmt = conn_.statement_once(sql.text());
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
