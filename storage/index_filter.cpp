#include "storage/index_filter.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "storage/geo.hpp"

namespace cg::storage {
namespace {

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

// `v - width` as a bound of type T, rounded down so the bound only ever widens; nullopt when
// it falls below what T holds (an open-ended period makes the width the whole int64 range).
template <class T>
std::optional<T> minus_width(T v, double width) {
  const double bound = static_cast<double>(v) - width;
  if constexpr (std::is_integral_v<T>) {
    if (!(bound > -9.2e18)) return std::nullopt;
    return static_cast<T>(std::floor(bound));
  } else {
    return bound;
  }
}

// Bounds on `lo` implied by the comparison and the widest stored range `width`, R4 §3.1.1.4.2
// as range_match() applies it. They never change the answer; they let the lookup index
// (…, param, low) start near the answer instead of at one end of the parameter:
//   gt  high > qh                → low > qh − W
//   ge  high > qh or low ≥ ql    → low ≥ min(ql, qh − W)
//   ap  high > ql                → low > ql − W
//   le  low < ql or high ≤ qh    → low < qh (low < high)
// Returns whether `lo` is bounded for a gt or ge comparison (the others always are, or
// have nothing to bound them).
template <class T>
bool width_bounds(Sql& sql, const std::string& lo, const Range<T>& r, double width) {
  bool bounded = true;
  auto at_least = [&](std::string_view op, std::optional<T> v) {
    bounded = v.has_value();
    if (!v) return;
    sql << " AND " << lo << op;
    sql.bind(Binding(*v));
  };
  switch (r.op) {
    case RangeOp::kGt:
      at_least(" > ", minus_width(r.high, width));
      break;
    case RangeOp::kGe: {
      auto b = minus_width(r.high, width);
      at_least(" >= ", b ? std::optional<T>(std::min(*b, r.low)) : std::nullopt);
      break;
    }
    case RangeOp::kAp:
      at_least(" > ", minus_width(r.low, width));
      break;
    case RangeOp::kLe:
      sql << " AND " << lo << " < ";
      sql.bind(Binding(r.high));
      break;
    default:
      break;
  }
  return bounded || (r.op != RangeOp::kGt && r.op != RangeOp::kGe);
}

// A condition over a scope: a SELECT of matching keys (tested with IN), of keys that must
// not match (NOT IN), or a predicate on the scope's own row.
struct Rendered {
  enum class Form : std::uint8_t { kKeys, kNotKeys, kPredicate } form = Form::kKeys;
  Sql sql;
};

// One index condition as a table, a parameter and " AND …" predicates on a row alias.
struct Leaf {
  IndexTable table = IndexTable::kToken;
  std::string param;
  Sql predicates;
  bool negate = false;
  // The index that serves the predicates, named with INDEXED BY: without statistics (a new
  // or fast-growing database, before ANALYZE) SQLite may otherwise walk the owner index of
  // the whole type. Empty: let SQLite choose (a gt/ge without a bound on low may do better
  // on the `high` index).
  std::string index;
};

std::string lookup_index(IndexTable table) {
  return std::string(table_name(table)) + "_lookup";
}

// The row family whose statistics bound a range column (param_stats.hpp).
struct RangeFamily {
  std::string_view family;
  std::string param;
};

class FilterWriter {
 public:
  explicit FilterWriter(ParamStatsSource& stats) : stats_(stats) {}

  // The AND of the filter's groups, each as " AND (…)".
  Status write(Sql& out, const Filter& filter, const Scope& scope) {
    auto groups = render_groups(filter, scope);
    if (!groups) return groups.take_error();
    for (const auto& g : *groups) append_group(out, g, scope);
    return ok_status();
  }

  // The count form (index_filter.hpp): the first group whose keys are the scope's own index
  // rows becomes the derived table `r0`, the others stay filters on it.
  Result<std::optional<Sql>> write_count(const Filter& filter, const Scope& scope) {
    if (scope.multi()) return std::optional<Sql>();
    auto groups = render_groups(filter, scope);
    if (!groups) return groups.take_error();
    auto driver = std::find_if(groups->begin(), groups->end(), [](const RenderedGroup& g) {
      return g.own_rows && g.others.empty() && g.key_lists.size() == 1;
    });
    const bool row_free = std::none_of(groups->begin(), groups->end(),
                                       [](const RenderedGroup& g) { return g.needs_row; });
    if (driver == groups->end() || !row_free) return std::optional<Sql>();
    Sql sql;
    sql << "SELECT COUNT(*) FROM (SELECT DISTINCT id FROM (";
    sql.append(driver->key_lists.front()) << ")) " << scope.alias << " WHERE 1";
    for (auto g = groups->begin(); g != groups->end(); ++g) {
      if (g != driver) append_group(sql, *g, scope);
    }
    return std::optional<Sql>(std::move(sql));
  }

  // The streaming form (index_filter.hpp): one group of one token or reference condition
  // whose lookup index, with every column before `id` compared for equality, yields ids in
  // order.
  Result<std::optional<Sql>> write_stream(const Filter& filter, const Scope& scope) {
    if (scope.multi() || filter.all_of.size() != 1 || filter.all_of[0].any_of.size() != 1) {
      return std::optional<Sql>();
    }
    const Condition& only = filter.all_of[0].any_of[0];
    bool ordered = false;
    if (const auto* t = std::get_if<TokenCond>(&only.kind)) {
      ordered = !t->negate && !t->text && !t->code.empty() && t->system.has_value() &&
                t->type_system.empty() && t->type_code.empty();
    } else if (const auto* r = std::get_if<ReferenceCond>(&only.kind)) {
      ordered =
          r->kind == ReferenceCond::Kind::kLocal && !r->target_type.empty() && r->version.empty();
    }
    if (!ordered) return std::optional<Sql>();
    auto leaf = make_leaf(only, scope, scope.index_alias());
    if (!leaf) return leaf.take_error();
    const std::string x = scope.index_alias();
    Sql sql;
    sql << " FROM " << table_name(leaf->table) << " " << x << " INDEXED BY "
        << table_name(leaf->table) << "_lookup JOIN resources " << scope.alias << " ON "
        << scope.alias << ".type = " << x << ".type AND " << scope.alias << ".id = " << x
        << ".id WHERE " << scope.alias << ".deleted = 0 AND ";
    type_match(sql, x + ".type", *scope.types);
    sql << " AND " << x << ".param = ";
    sql.bind(leaf->param);
    sql.append(leaf->predicates);
    return std::optional<Sql>(std::move(sql));
  }

 private:
  // One group of the filter as SQL: IN lists of keys and other terms, ORed.
  struct RenderedGroup {
    std::vector<Sql> key_lists;
    std::vector<Sql> others;  // NOT IN lists and predicates on the scope's row
    bool empty = false;       // no alternatives: matches nothing
    bool own_rows = true;     // every key is the id of one of the scope type's index rows
    bool needs_row = false;   // a term reads a column of the scope row other than its key
  };

  void append_group(Sql& out, const RenderedGroup& g, const Scope& scope) {
    out << " AND (";
    if (g.empty) {
      out << "0)";
      return;
    }
    bool first = true;
    for (const auto& keys : g.key_lists) {
      if (!first) out << " OR ";
      out << scope.key() << " IN (";
      out.append(keys) << ")";
      first = false;
    }
    for (const auto& s : g.others) {
      if (!first) out << " OR ";
      out << "(";
      out.append(s) << ")";
      first = false;
    }
    out << ")";
  }

  Result<std::vector<RenderedGroup>> render_groups(const Filter& filter, const Scope& scope) {
    std::vector<RenderedGroup> out;
    std::vector<bool> done(filter.all_of.size(), false);
    if (auto s = merge_ranges(filter, scope, done, out); !s) return s.take_error();
    for (std::size_t i = 0; i < filter.all_of.size(); ++i) {
      if (done[i]) continue;
      auto g = render_group(filter.all_of[i], scope);
      if (!g) return g.take_error();
      out.push_back(std::move(*g));
    }
    return out;
  }

  // ANDed groups that are each one date or number condition on the same parameter, when no
  // resource has more than one row for it: they must hold on the same row, so they become
  // one subquery whose predicates the lookup index turns into one range
  // (`date=ge2025-03&date=lt2025-04` scans one month, not two halves of the table).
  Status merge_ranges(const Filter& filter, const Scope& scope, std::vector<bool>& done,
                      std::vector<RenderedGroup>& out) {
    std::vector<std::pair<std::string, std::vector<std::size_t>>> by_param;
    for (std::size_t i = 0; i < filter.all_of.size(); ++i) {
      const auto& any_of = filter.all_of[i].any_of;
      if (any_of.size() != 1) continue;
      auto key = range_key(any_of.front());
      if (key.empty()) continue;
      auto it = std::find_if(by_param.begin(), by_param.end(),
                             [&](const auto& e) { return e.first == key; });
      if (it == by_param.end()) {
        by_param.push_back({key, {i}});
      } else {
        it->second.push_back(i);
      }
    }
    for (const auto& [key, groups] : by_param) {
      if (groups.size() < 2) continue;
      const Condition& first = filter.all_of[groups.front()].any_of.front();
      auto family = range_family(first);
      auto stats = stats_.stats(family->family, *scope.types, family->param);
      if (!stats) return stats.take_error();
      if (stats->max_rows > 1) continue;
      Sql keys_sql;
      for (std::size_t n = 0; n < groups.size(); ++n) {
        auto leaf = make_leaf(filter.all_of[groups[n]].any_of.front(), scope, scope.index_alias());
        if (!leaf) return leaf.take_error();
        if (n == 0) keys_sql = index_rows(scope, leaf->table, leaf->param, leaf->index);
        keys_sql.append(leaf->predicates);
        done[groups[n]] = true;
      }
      RenderedGroup g;
      g.key_lists.push_back(std::move(keys_sql));
      out.push_back(std::move(g));
    }
    return ok_status();
  }

  // "date:<param>" / "number:<param>" for a mergeable condition, "" otherwise.
  static std::string range_key(const Condition& cond) {
    if (const auto* d = std::get_if<DateCond>(&cond.kind)) return "date:" + d->param;
    if (const auto* n = std::get_if<NumberCond>(&cond.kind)) return "number:" + n->param;
    return {};
  }

  static std::optional<RangeFamily> range_family(const Condition& cond) {
    if (const auto* d = std::get_if<DateCond>(&cond.kind))
      return RangeFamily{kDateFamily, d->param};
    if (const auto* n = std::get_if<NumberCond>(&cond.kind)) {
      return RangeFamily{kNumberFamily, n->param};
    }
    return std::nullopt;
  }

  // Whether a condition's keys are ids of the scope type's own index rows, which exist only
  // for current, non-deleted resources (the store replaces them on every write and removes
  // them on delete). _has, _list and :above select ids of other resources' targets, which
  // may not exist.
  static bool selects_own_rows(const Condition& cond) {
    return !std::holds_alternative<ReverseCond>(cond.kind) &&
           !std::holds_alternative<ListCond>(cond.kind) &&
           !std::holds_alternative<HierarchyCond>(cond.kind);
  }

  Result<RenderedGroup> render_group(const OrGroup& group, const Scope& scope) {
    RenderedGroup g;
    g.empty = group.any_of.empty();
    // SQLite allows at most 500 terms in one compound SELECT: a long OR (an expanded
    // ValueSet) becomes several IN lists.
    std::size_t terms = 0;
    for (const auto& cond : group.any_of) {
      auto rendered = render(cond, scope);
      if (!rendered) return rendered.take_error();
      g.needs_row = g.needs_row || std::holds_alternative<LastUpdatedCond>(cond.kind);
      if (rendered->form == Rendered::Form::kKeys) {
        g.own_rows = g.own_rows && selects_own_rows(cond);
        if (g.key_lists.empty() || terms == kMaxCompoundTerms) {
          g.key_lists.emplace_back();
          terms = 0;
        }
        if (terms > 0) g.key_lists.back() << " UNION ALL ";
        g.key_lists.back().append(rendered->sql);
        ++terms;
      } else if (rendered->form == Rendered::Form::kNotKeys) {
        Sql s;
        s << scope.key() << " NOT IN (";
        s.append(rendered->sql) << ")";
        g.others.push_back(std::move(s));
      } else {
        g.others.push_back(std::move(rendered->sql));
      }
    }
    return g;
  }

  // "SELECT x.id FROM idx_… x WHERE x.type = ? AND x.param = ?", ready for more " AND …".
  static Sql index_rows(const Scope& scope, IndexTable table, const std::string& param,
                        std::string_view index = {}) {
    const std::string x = scope.index_alias();
    Sql sql;
    sql << "SELECT " << (scope.multi() ? x + ".type, " : "") << x << ".id FROM "
        << table_name(table) << " " << x;
    if (!index.empty()) sql << " INDEXED BY " << index;
    sql << " WHERE ";
    type_match(sql, x + ".type", *scope.types);
    sql << " AND " << x << ".param = ";
    sql.bind(param);
    return sql;
  }

  Result<Rendered> render(const Condition& cond, const Scope& scope) {
    const std::string x = scope.index_alias();
    return std::visit(
        [&](const auto& c) -> Result<Rendered> {
          using C = std::decay_t<decltype(c)>;
          if constexpr (kIsLeaf<C>) {
            auto leaf = make_leaf_of(c, scope, x);
            if (!leaf) return leaf.take_error();
            Sql sql = index_rows(scope, leaf->table, leaf->param, leaf->index);
            sql.append(leaf->predicates);
            const auto form = leaf->negate ? Rendered::Form::kNotKeys : Rendered::Form::kKeys;
            return Rendered{form, std::move(sql)};
          } else {
            return render_one(c, scope);
          }
        },
        cond.kind);
  }

  template <class C>
  static constexpr bool kIsLeaf = std::is_same_v<C, StringCond> || std::is_same_v<C, TokenCond> ||
                                  std::is_same_v<C, DateCond> || std::is_same_v<C, NumberCond> ||
                                  std::is_same_v<C, QuantityCond> ||
                                  std::is_same_v<C, ReferenceCond> || std::is_same_v<C, UriCond>;

  Result<Leaf> make_leaf(const Condition& cond, const Scope& scope, const std::string& x) {
    return std::visit(
        [&](const auto& c) -> Result<Leaf> {
          using C = std::decay_t<decltype(c)>;
          if constexpr (kIsLeaf<C>) {
            return make_leaf_of(c, scope, x);
          } else {
            return Error::invalid("a composite component must be a plain index condition");
          }
        },
        cond.kind);
  }

  // The widest stored range of (family, param) over the current scope's types.
  Result<double> width(const Scope& scope, std::string_view family, const std::string& param) {
    auto stats = stats_.stats(family, *scope.types, param);
    if (!stats) return stats.take_error();
    return stats->max_width;
  }

  template <class T>
  // The range comparison and its width bounds; whether `lo` is bounded (see Leaf::index).
  Result<bool> ranged(const Scope& scope, Sql& sql, const std::string& lo, const std::string& hi,
                      const Range<T>& r, std::string_view family, const std::string& param) {
    range_match(sql, lo, hi, r);
    auto w = width(scope, family, param);
    if (!w) return w.take_error();
    return width_bounds(sql, lo, r, *w);
  }

  Result<Leaf> make_leaf_of(const StringCond& c, const Scope& /*scope*/, const std::string& x) {
    Leaf leaf{IndexTable::kString, c.param, {}, false, lookup_index(IndexTable::kString)};
    Sql& sql = leaf.predicates;
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
    return leaf;
  }

  Result<Leaf> make_leaf_of(const TokenCond& c, const Scope& /*scope*/, const std::string& x) {
    Leaf leaf{IndexTable::kToken, c.param, {}, c.negate, lookup_index(IndexTable::kToken)};
    Sql& sql = leaf.predicates;
    if (c.text) {
      prefix_match(sql, x + ".text", *c.text);
      return leaf;
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
    return leaf;
  }

  Result<Leaf> make_leaf_of(const DateCond& c, const Scope& scope, const std::string& x) {
    Leaf leaf{IndexTable::kDate, c.param, {}, false, {}};
    auto bounded =
        ranged(scope, leaf.predicates, x + ".low", x + ".high", c.range, kDateFamily, c.param);
    if (!bounded) return bounded.take_error();
    if (*bounded) leaf.index = lookup_index(IndexTable::kDate);
    return leaf;
  }

  Result<Leaf> make_leaf_of(const NumberCond& c, const Scope& scope, const std::string& x) {
    Leaf leaf{IndexTable::kNumber, c.param, {}, false, {}};
    auto bounded =
        ranged(scope, leaf.predicates, x + ".low", x + ".high", c.range, kNumberFamily, c.param);
    if (!bounded) return bounded.take_error();
    if (*bounded) leaf.index = lookup_index(IndexTable::kNumber);
    return leaf;
  }

  Result<Leaf> make_leaf_of(const QuantityCond& c, const Scope& scope, const std::string& x) {
    Leaf leaf{IndexTable::kQuantity, c.param, {}, false, {}};
    Sql& sql = leaf.predicates;
    if (c.canonical) {
      sql << " AND " << x << ".canonical_code = ";
      sql.bind(c.code);
      auto s = ranged(scope, sql, x + ".canonical_low", x + ".canonical_high", c.range,
                      kCanonicalQuantityFamily, quantity_stats_key(c.param, c.code));
      if (!s) return s.take_error();
      leaf.index = "idx_quantity_canonical";
      return leaf;
    }
    if (!c.code.empty()) {
      sql << " AND " << x << ".code = ";
      sql.bind(c.code);
    }
    if (c.system) {
      sql << " AND " << x << ".system = ";
      sql.bind(*c.system);
    }
    auto s = ranged(scope, sql, x + ".low", x + ".high", c.range, kQuantityFamily,
                    quantity_stats_key(c.param, c.code));
    if (!s) return s.take_error();
    leaf.index = lookup_index(IndexTable::kQuantity);
    return leaf;
  }

  Result<Leaf> make_leaf_of(const ReferenceCond& c, const Scope& /*scope*/, const std::string& x) {
    Leaf leaf{IndexTable::kReference,
              c.param,
              {},
              false,
              c.kind == ReferenceCond::Kind::kUrl ? "idx_reference_url"
                                                  : lookup_index(IndexTable::kReference)};
    Sql& sql = leaf.predicates;
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
        switch (c.url_match) {
          case ReferenceCond::UrlMatch::kExact:
            equal("url", c.url);
            break;
          case ReferenceCond::UrlMatch::kBelow:
            prefix_match(sql, x + ".url", c.url);
            break;
          case ReferenceCond::UrlMatch::kAbove:
            sql << " AND " << x << ".url <> '' AND " << x << ".url <= ";
            sql.bind(c.url) << " AND substr(";
            sql.bind(c.url) << ", 1, length(" << x << ".url)) = " << x << ".url";
            break;
        }
        if (!c.version.empty()) equal("version", c.version);
        break;
      case ReferenceCond::Kind::kIdentifier:
        equal("identifier_value", c.identifier_value);
        if (c.identifier_system) equal("identifier_system", *c.identifier_system);
        break;
    }
    return leaf;
  }

  Result<Leaf> make_leaf_of(const UriCond& c, const Scope& /*scope*/, const std::string& x) {
    Leaf leaf{IndexTable::kUri, c.param, {}, false, lookup_index(IndexTable::kUri)};
    Sql& sql = leaf.predicates;
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
    return leaf;
  }

  Result<Rendered> render_one(const MissingCond& c, const Scope& scope) {
    const auto form = c.missing ? Rendered::Form::kNotKeys : Rendered::Form::kKeys;
    return Rendered{form, index_rows(scope, c.table, c.param, lookup_index(c.table))};
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

  // Positions in the latitude band (the lookup index), then within the chord.
  Result<Rendered> render_one(const NearCond& c, const Scope& scope) {
    const std::string x = scope.index_alias();
    const LatitudeBand band = latitude_band(c.latitude, c.distance_m);
    const UnitSpherePoint p = unit_sphere_point(c.latitude, c.longitude);
    // A hair of slack so a point exactly at the distance is not lost to rounding.
    const double limit = squared_chord(c.distance_m) * (1 + 1e-9) + 1e-15;
    Sql sql =
        index_rows(scope, IndexTable::kPosition, c.param, lookup_index(IndexTable::kPosition));
    sql << " AND " << x << ".latitude >= ";
    sql.bind(band.low - 1e-9) << " AND " << x << ".latitude <= ";
    sql.bind(band.high + 1e-9) << " AND ";
    auto square = [&](std::string_view column, double v) {
      sql << "(" << x << "." << column << " - ";
      sql.bind(v) << ") * (" << x << "." << column << " - ";
      sql.bind(v) << ")";
    };
    square("x", p.x);
    sql << " + ";
    square("y", p.y);
    sql << " + ";
    square("z", p.z);
    sql << " <= ";
    sql.bind(limit);
    return Rendered{Rendered::Form::kKeys, std::move(sql)};
  }

  Result<Rendered> render_one(const ListCond& c, const Scope& scope) {
    const std::string x = scope.index_alias();
    Sql sql;
    // INDEXED BY: the List's own rows; SQLite would otherwise walk every List reference.
    sql << "SELECT " << (scope.multi() ? x + ".target_type, " : "") << x << ".target_id FROM"
        << " idx_reference " << x << " INDEXED BY idx_reference_owner WHERE " << x
        << ".type = 'List' AND " << x << ".id = ";
    sql.bind(c.list_id) << " AND " << x << ".param = 'item' AND ";
    type_match(sql, x + ".target_type", *scope.types);
    return Rendered{Rendered::Form::kKeys, std::move(sql)};
  }

  // A recursive walk of the hierarchy's reference rows: downwards through the lookup by
  // target (idx_reference_lookup), upwards through each resource's own rows (the owner
  // index). UNION (not ALL) stops at cycles.
  Result<Rendered> render_one(const HierarchyCond& c, const Scope& scope) {
    if (scope.multi()) return Error::invalid(":above and :below need a search on one type");
    const std::string& type = scope.types->front();
    const std::string h = "h" + std::to_string(scope.depth);
    const std::string x = scope.index_alias();
    Sql sql;
    sql << "WITH RECURSIVE " << h << "(id, depth) AS (SELECT ";
    sql.bind(c.target_id) << ", 0 UNION SELECT ";
    if (c.below) {
      sql << x << ".id, " << h << ".depth + 1 FROM " << h << " JOIN idx_reference " << x
          << " INDEXED BY idx_reference_lookup ON " << x << ".type = ";
      sql.bind(type) << " AND " << x << ".param = ";
      sql.bind(c.param) << " AND " << x << ".target_id = " << h << ".id AND " << x
                        << ".target_type = ";
      sql.bind(type);
    } else {
      sql << x << ".target_id, " << h << ".depth + 1 FROM " << h << " JOIN idx_reference " << x
          << " INDEXED BY idx_reference_owner ON " << x << ".type = ";
      sql.bind(type) << " AND " << x << ".id = " << h << ".id AND " << x << ".param = ";
      sql.bind(c.param) << " AND " << x << ".target_type = ";
      sql.bind(type);
    }
    sql << " WHERE " << h << ".depth < ";
    sql.bind(std::int64_t{kMaxHierarchyDepth}) << ") SELECT id FROM " << h << " WHERE depth > 0";
    return Rendered{Rendered::Form::kKeys, std::move(sql)};
  }

  // The component rows of one instance: the first component's rows joined to each other
  // component's rows of the same resource (and the same grp when grouped). The later
  // components are found through the owner index (type, id) of the first's matches.
  Result<Rendered> render_one(const CompositeCond& c, const Scope& scope) {
    if (c.parts.empty()) return Error::invalid("a composite condition without components");
    const std::string base = scope.index_alias();
    std::vector<Leaf> leaves;
    for (std::size_t i = 0; i < c.parts.size(); ++i) {
      auto leaf = make_leaf(c.parts[i], scope, base + "_" + std::to_string(i));
      if (!leaf) return leaf.take_error();
      if (leaf->negate) return Error::invalid("a composite component cannot be negated");
      leaves.push_back(std::move(*leaf));
    }
    const std::string x0 = base + "_0";
    Sql sql;
    sql << "SELECT " << (scope.multi() ? x0 + ".type, " : "") << x0 << ".id FROM "
        << table_name(leaves[0].table) << " " << x0;
    if (!leaves[0].index.empty()) sql << " INDEXED BY " << leaves[0].index;
    for (std::size_t i = 1; i < leaves.size(); ++i) {
      const std::string xi = base + "_" + std::to_string(i);
      sql << " JOIN " << table_name(leaves[i].table) << " " << xi << " INDEXED BY "
          << table_name(leaves[i].table) << "_owner ON " << xi << ".type = " << x0 << ".type AND "
          << xi << ".id = " << x0 << ".id AND " << xi << ".param = ";
      sql.bind(leaves[i].param);
      if (c.grouped) sql << " AND " << xi << ".grp = " << x0 << ".grp";
      sql.append(leaves[i].predicates);
    }
    sql << " WHERE ";
    type_match(sql, x0 + ".type", *scope.types);
    sql << " AND " << x0 << ".param = ";
    sql.bind(leaves[0].param);
    sql.append(leaves[0].predicates);
    return Rendered{Rendered::Form::kKeys, std::move(sql)};
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
    Sql sql =
        index_rows(scope, IndexTable::kReference, c.param, lookup_index(IndexTable::kReference));
    const std::string x = scope.index_alias();
    sql << " AND " << x << ".target_type = ";
    sql.bind(c.target_type) << " AND " << x << ".target_id IN (";
    sql.append(*targets) << ")";
    return Rendered{Rendered::Form::kKeys, std::move(sql)};
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
    return Rendered{Rendered::Form::kKeys, std::move(sql)};
  }

  static constexpr int kMaxDepth = 16;
  static constexpr std::size_t kMaxCompoundTerms = 400;
  ParamStatsSource& stats_;
  std::vector<std::unique_ptr<std::vector<std::string>>> nested_types_;
};

}  // namespace

Status write_filter(Sql& out, const Filter& filter, const Scope& scope, ParamStatsSource& stats) {
  return FilterWriter(stats).write(out, filter, scope);
}

Result<std::optional<Sql>> write_count(const Filter& filter, const Scope& scope,
                                       ParamStatsSource& stats) {
  return FilterWriter(stats).write_count(filter, scope);
}

Result<std::optional<Sql>> write_stream(const Filter& filter, const Scope& scope,
                                        ParamStatsSource& stats) {
  return FilterWriter(stats).write_stream(filter, scope);
}

}  // namespace cg::storage
