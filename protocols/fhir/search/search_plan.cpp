#include "protocols/fhir/search/search_plan.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <utility>

#include "protocols/fhir/index/composite.hpp"
#include "protocols/fhir/index/string_normalize.hpp"
#include "protocols/fhir/index/ucum.hpp"

namespace cg::fhir::search {
namespace {

namespace st = cg::storage;

constexpr std::string_view kUcum = "http://unitsofmeasure.org";
// Converted query bounds are widened by this fraction of their size, so a value that is
// equal in base units (1 g and 1000 mg) is not lost to binary rounding of the factor.
constexpr double kUnitSlack = 1e-9;
// `near` without a distance: what counts as near, in km (R4 leaves it to the server).
constexpr double kDefaultNearKm = 10;

Error refuse(const Criterion& c, const std::string& what) {
  return Error::invalid("parameter '" + c.name + "': " + what + " is not supported", c.name);
}

st::RangeOp range_op(Prefix prefix) {
  switch (prefix) {
    case Prefix::kEq:
      return st::RangeOp::kEq;
    case Prefix::kNe:
      return st::RangeOp::kNe;
    case Prefix::kGt:
      return st::RangeOp::kGt;
    case Prefix::kLt:
      return st::RangeOp::kLt;
    case Prefix::kGe:
      return st::RangeOp::kGe;
    case Prefix::kLe:
      return st::RangeOp::kLe;
    case Prefix::kSa:
      return st::RangeOp::kSa;
    case Prefix::kEb:
      return st::RangeOp::kEb;
    case Prefix::kAp:
      return st::RangeOp::kAp;
  }
  return st::RangeOp::kEq;
}

std::optional<st::IndexTable> table_of(SearchParamType type) {
  switch (type) {
    case SearchParamType::kString:
      return st::IndexTable::kString;
    case SearchParamType::kToken:
      return st::IndexTable::kToken;
    case SearchParamType::kDate:
      return st::IndexTable::kDate;
    case SearchParamType::kNumber:
      return st::IndexTable::kNumber;
    case SearchParamType::kQuantity:
      return st::IndexTable::kQuantity;
    case SearchParamType::kReference:
      return st::IndexTable::kReference;
    case SearchParamType::kUri:
      return st::IndexTable::kUri;
    case SearchParamType::kComposite:
    case SearchParamType::kSpecial:
      break;
  }
  return std::nullopt;
}

std::optional<std::string> token_system(const TokenValue& t) {
  switch (t.system_match) {
    case SystemMatch::kAny:
      return std::nullopt;
    case SystemMatch::kNone:
      return std::string();
    case SystemMatch::kExact:
      break;
  }
  return t.system;
}

st::Condition cond(auto&& kind) {
  return st::Condition{std::forward<decltype(kind)>(kind)};
}

// The OR-alternatives of one criterion's values, evaluated on its target type. Most
// criteria give one group; :not gives one group per value (neither a nor b), so the result is
// a Filter.
class ValuePlanner {
 public:
  explicit ValuePlanner(const Criterion& c) : c_(c) {}

  Result<st::Filter> run() {
    if (c_.param == nullptr) return list();
    if (c_.modifier == Modifier::kMissing) return missing();
    if (c_.code == "_id") return ids();
    if (c_.code == "_lastUpdated") return last_updated();
    st::Filter filter;
    st::OrGroup group;
    for (const Value& v : c_.any_of) {
      auto converted = convert(v, group);
      if (!converted) return converted.take_error();
      if (c_.modifier == Modifier::kNot) filter.all_of.push_back(std::exchange(group, {}));
    }
    if (!group.any_of.empty()) filter.all_of.push_back(std::move(group));
    return filter;
  }

 private:
  static st::Filter one_group(st::OrGroup group) { return st::Filter{{std::move(group)}}; }

  Result<st::Filter> missing() {
    auto table = c_.code == "near" ? st::IndexTable::kPosition : table_of(c_.param->type);
    if (!table || c_.code == "_id" || c_.code == "_lastUpdated") return refuse(c_, ":missing");
    st::OrGroup group;
    for (const Value& v : c_.any_of) {
      const auto* m = std::get_if<MissingValue>(&v);
      if (m == nullptr) return Error::internal("':missing' without a missing value");
      group.any_of.push_back(cond(st::MissingCond{*table, c_.code, m->missing}));
    }
    return one_group(std::move(group));
  }

  Result<st::Filter> list() {
    st::OrGroup group;
    for (const Value& v : c_.any_of) {
      const auto* r = std::get_if<ReferenceValue>(&v);
      if (r == nullptr) return Error::internal("_list without a List id");
      group.any_of.push_back(cond(st::ListCond{r->id}));
    }
    return one_group(std::move(group));
  }

  Result<st::Filter> ids() {
    if (c_.modifier != Modifier::kNone) {
      return refuse(c_, "modifier ':" + std::string(to_string(c_.modifier)) + "' on _id");
    }
    st::IdCond ids;
    for (const Value& v : c_.any_of) {
      const auto* t = std::get_if<TokenValue>(&v);
      if (t == nullptr || t->system_match != SystemMatch::kAny) {
        return Error::invalid("parameter '" + c_.name + "': an _id has no system", c_.name);
      }
      ids.ids.push_back(t->code);
    }
    return one_group(st::OrGroup{{cond(std::move(ids))}});
  }

  Result<st::Filter> last_updated() {
    st::OrGroup group;
    for (const Value& v : c_.any_of) {
      const auto* d = std::get_if<DateValue>(&v);
      if (d == nullptr) return Error::internal("_lastUpdated without a date value");
      group.any_of.push_back(
          cond(st::LastUpdatedCond{{range_op(d->prefix), d->begin_ms, d->end_ms}}));
    }
    return one_group(std::move(group));
  }

  Status convert(const Value& v, st::OrGroup& group) {
    return std::visit([&](const auto& x) { return add(x, group); }, v);
  }

  Status add(const StringValue& s, st::OrGroup& group) {
    if (c_.param->type == SearchParamType::kToken) {  // :text
      st::TokenCond t{c_.code, std::nullopt, {}, normalize_for_search(s.value), {}, {}, false};
      group.any_of.push_back(cond(std::move(t)));
      return ok_status();
    }
    st::StringCond sc{c_.code, st::StringCond::Mode::kPrefix, normalize_for_search(s.value), {}};
    if (c_.modifier == Modifier::kExact) {
      sc.mode = st::StringCond::Mode::kExact;
      sc.normalized = std::exchange(sc.value, s.value);
    } else if (c_.modifier == Modifier::kContains) {
      sc.mode = st::StringCond::Mode::kContains;
    }
    group.any_of.push_back(cond(std::move(sc)));
    return ok_status();
  }

  Status add(const TokenValue& t, st::OrGroup& group) {
    if (c_.param->type == SearchParamType::kReference) return add_identifier(t, group);
    // The REST layer rewrites these into plain codes from a stored CodeSystem
    // (rest/code_subsumption.hpp); one that arrives here was not expanded.
    if (c_.modifier == Modifier::kAbove || c_.modifier == Modifier::kBelow) {
      return refuse(c_, "':" + std::string(to_string(c_.modifier)) +
                            "' on a token without a CodeSystem expansion");
    }
    st::TokenCond tc{c_.code,
                     token_system(t),
                     t.code,
                     std::nullopt,
                     t.type_system,
                     t.type_code,
                     c_.modifier == Modifier::kNot};
    group.any_of.push_back(cond(std::move(tc)));
    return ok_status();
  }

  Status add_identifier(const TokenValue& t, st::OrGroup& group) {
    if (t.code.empty()) {
      return Error::invalid("parameter '" + c_.name + "': :identifier needs a value", c_.name);
    }
    st::ReferenceCond r;
    r.param = c_.code;
    r.kind = st::ReferenceCond::Kind::kIdentifier;
    r.identifier_system = token_system(t);
    r.identifier_value = t.code;
    group.any_of.push_back(cond(std::move(r)));
    return ok_status();
  }

  Status add(const ReferenceValue& ref, st::OrGroup& group) {
    const bool above = c_.modifier == Modifier::kAbove;
    const bool below = c_.modifier == Modifier::kBelow;
    if ((above || below) && (ref.form == ReferenceForm::kLocal || ref.form == ReferenceForm::kId)) {
      return add_hierarchy(ref, below, group);
    }
    st::ReferenceCond r;
    if (above) r.url_match = st::ReferenceCond::UrlMatch::kAbove;
    if (below) r.url_match = st::ReferenceCond::UrlMatch::kBelow;
    r.param = c_.code;
    if (ref.form == ReferenceForm::kLocal || ref.form == ReferenceForm::kId) {
      r.kind = st::ReferenceCond::Kind::kLocal;
      r.target_type = ref.type;
      r.target_id = ref.id;
    } else {
      r.kind = st::ReferenceCond::Kind::kUrl;
      r.url = ref.url;
    }
    r.version = ref.version;
    group.any_of.push_back(cond(std::move(r)));
    return ok_status();
  }

  // :above / :below on a reference to the searched type itself (Location.partOf): walk
  // the hierarchy. Any other reference has no hierarchy to walk.
  Status add_hierarchy(const ReferenceValue& ref, bool below, st::OrGroup& group) {
    const std::string& type = c_.target_type;
    const std::string_view written = ref.type.empty() ? std::string_view(type) : ref.type;
    const bool circular =
        std::find(c_.param->target.begin(), c_.param->target.end(), type) != c_.param->target.end();
    if (type.empty() || !circular || written != type || !ref.version.empty()) {
      return Error::invalid("parameter '" + c_.name +
                                "': ':" + std::string(to_string(c_.modifier)) +
                                "' needs a reference to the hierarchy's own type (" +
                                (type.empty() ? std::string("one _type") : type) + ")",
                            c_.name);
    }
    group.any_of.push_back(cond(st::HierarchyCond{c_.code, ref.id, below}));
    return ok_status();
  }

  Status add(const DateValue& d, st::OrGroup& group) {
    group.any_of.push_back(cond(st::DateCond{c_.code, {range_op(d.prefix), d.begin_ms, d.end_ms}}));
    return ok_status();
  }

  Status add(const NumberValue& n, st::OrGroup& group) {
    group.any_of.push_back(cond(st::NumberCond{c_.code, {range_op(n.prefix), n.low, n.high}}));
    return ok_status();
  }

  // As written (system/code), and, for a known UCUM unit, in base units too: a stored 1 g
  // then matches a query in mg. Either alternative may match.
  Status add(const QuantityValue& q, st::OrGroup& group) {
    const st::Range<double> range{range_op(q.number.prefix), q.number.low, q.number.high};
    std::optional<std::string> system;
    if (q.system_match == SystemMatch::kExact) system = q.system;
    group.any_of.push_back(cond(st::QuantityCond{c_.code, range, false, system, q.code}));
    const bool ucum_ok = q.system_match != SystemMatch::kExact || q.system == kUcum;
    if (q.code.empty() || !ucum_ok) return ok_status();
    auto canonical = ucum_canonical(q.code);
    if (!canonical) return ok_status();
    auto scale = [&](double x) { return x * canonical->factor; };
    double low = scale(range.low), high = scale(range.high);
    const double slack = std::abs(high - low) * kUnitSlack;
    st::Range<double> base{range.op, low - slack, high + slack};
    group.any_of.push_back(
        cond(st::QuantityCond{c_.code, base, true, std::nullopt, canonical->code}));
    return ok_status();
  }

  Status add(const UriValue& u, st::OrGroup& group) {
    if (c_.modifier == Modifier::kIn || c_.modifier == Modifier::kNotIn) {
      return refuse(c_,
                    "':" + std::string(to_string(c_.modifier)) + "' (no local ValueSet expansion)");
    }
    st::UriCond uc{c_.code, u.value, st::UriCond::Mode::kExact};
    if (c_.modifier == Modifier::kAbove) uc.mode = st::UriCond::Mode::kAbove;
    if (c_.modifier == Modifier::kBelow) uc.mode = st::UriCond::Mode::kBelow;
    group.any_of.push_back(cond(std::move(uc)));
    return ok_status();
  }

  // A composite value, per composite.hpp: on the root instance through the ordinary
  // parameters of its components, on other instances through the grouped component rows.
  // A component with several alternatives (a UCUM quantity) gives one condition per
  // combination.
  Status add(const CompositeValue& v, st::OrGroup& group) {
    if (c_.target_type.empty()) return refuse(c_, "a composite parameter without one _type");
    const CompositePlan& plan = composite_plan(*c_.param, c_.target_type);
    if (!plan.root_params.empty()) {
      std::vector<std::string> codes(plan.root_params.begin(), plan.root_params.end());
      if (auto s = add_composite(v, codes, false, group); !s) return s;
    }
    if (plan.grouped) {
      std::vector<std::string> codes;
      for (std::size_t i = 0; i < v.components.size(); ++i) {
        codes.push_back(component_param(c_.code, i));
      }
      if (auto s = add_composite(v, codes, true, group); !s) return s;
    }
    return ok_status();
  }

  Status add_composite(const CompositeValue& v, const std::vector<std::string>& codes, bool grouped,
                       st::OrGroup& group) {
    if (codes.size() != v.components.size()) {
      return Error::internal("composite '" + c_.code + "' components do not match its plan");
    }
    std::vector<std::vector<st::Condition>> combinations{{}};
    for (std::size_t i = 0; i < v.components.size(); ++i) {
      Criterion component = c_;
      component.code = codes[i];
      component.param = v.components[i].param;
      component.modifier = Modifier::kNone;
      st::OrGroup alternatives;
      const Value value = std::visit([](const auto& x) { return Value(x); }, v.components[i].value);
      if (auto s = ValuePlanner(component).convert(value, alternatives); !s) return s;
      std::vector<std::vector<st::Condition>> next;
      for (const auto& partial : combinations) {
        for (const auto& alternative : alternatives.any_of) {
          next.push_back(partial);
          next.back().push_back(alternative);
        }
      }
      combinations = std::move(next);
    }
    for (auto& parts : combinations) {
      group.any_of.push_back(cond(st::CompositeCond{std::move(parts), grouped}));
    }
    return ok_status();
  }
  // near: the distance in metres from its UCUM unit (km when none is given); without a
  // distance, kDefaultNearKm.
  Status add(const NearValue& n, st::OrGroup& group) {
    double metres = kDefaultNearKm * 1000;
    if (n.distance) {
      const std::string unit = n.units.empty() ? "km" : n.units;
      auto canonical = ucum_canonical(unit);
      if (!canonical || canonical->code != "m") {
        return Error::invalid(
            "parameter '" + c_.name + "': '" + unit + "' is not a UCUM unit of length", c_.name);
      }
      metres = *n.distance * canonical->factor;
    }
    group.any_of.push_back(cond(st::NearCond{c_.code, n.latitude, n.longitude, metres}));
    return ok_status();
  }
  Status add(const MissingValue&, st::OrGroup&) {
    return Error::internal("a missing value without ':missing'");
  }

  const Criterion& c_;
};

// The criterion's value filter wrapped in its chain, innermost hop last: a filter on the
// searched type.
Result<st::Filter> criterion_filter(const Criterion& c) {
  auto inner = ValuePlanner(c).run();
  if (!inner) return inner;
  st::Filter filter = std::move(*inner);
  for (auto hop = c.chain.rbegin(); hop != c.chain.rend(); ++hop) {
    st::Condition wrapped;
    if (hop->direction == Hop::Direction::kForward) {
      wrapped = cond(st::ChainCond{std::string(hop->param->code), hop->type, std::move(filter)});
    } else {
      wrapped = cond(st::ReverseCond{hop->type, std::string(hop->param->code), std::move(filter)});
    }
    filter = st::Filter{{st::OrGroup{{std::move(wrapped)}}}};
  }
  return filter;
}

// Compartment membership: any of the compartment's criteria (one value each).
Result<st::OrGroup> compartment_group(const std::vector<Criterion>& criteria) {
  st::OrGroup group;
  for (const auto& c : criteria) {
    auto filter = criterion_filter(c);
    if (!filter) return filter.take_error();
    if (filter->all_of.size() != 1) return Error::internal("compartment criterion with groups");
    for (auto& cnd : filter->all_of.front().any_of) group.any_of.push_back(std::move(cnd));
  }
  return group;
}

Result<st::SortSpec> sort_spec(const SortKey& key) {
  st::SortSpec s;
  s.descending = key.descending;
  if (key.code == "_id") {
    s.kind = st::SortSpec::Kind::kId;
  } else if (key.code == "_lastUpdated") {
    s.kind = st::SortSpec::Kind::kLastUpdated;
  } else {
    auto table = key.param ? table_of(key.param->type) : std::nullopt;
    if (!table) return Error::invalid("cannot sort by '" + key.code + "'", "_sort");
    s.kind = st::SortSpec::Kind::kParam;
    s.table = *table;
    s.param = key.code;
  }
  return s;
}

st::IncludeSpec include_spec(const Include& inc) {
  return st::IncludeSpec{inc.reverse, inc.iterate, inc.source_type,
                         inc.param ? std::string(inc.param->code) : std::string(), inc.target_type};
}

}  // namespace

Result<storage::IndexQuery> plan_search(const SearchRequest& request, const PlanOptions& options) {
  st::IndexQuery query;
  if (!request.resource_type.empty()) {
    query.types.push_back(request.resource_type);
  } else {
    query.types = request.types;
  }
  if (!options.compartment.empty()) {
    auto group = compartment_group(options.compartment);
    if (!group) return group.take_error();
    query.where.all_of.push_back(std::move(*group));
  }
  for (const auto& c : request.criteria) {
    auto filter = criterion_filter(c);
    if (!filter) return filter.take_error();
    for (auto& group : filter->all_of) query.where.all_of.push_back(std::move(group));
  }
  for (const auto& key : request.sort) {
    auto spec = sort_spec(key);
    if (!spec) return spec.take_error();
    query.sort.push_back(std::move(*spec));
  }
  query.count = request.count.value_or(options.default_count);
  query.total = request.total && *request.total != Total::kNone;
  if (request.summary == Summary::kCount) {
    query.count = 0;
    query.total = true;
  }
  for (const auto& inc : request.includes) query.includes.push_back(include_spec(inc));
  query.cursor = request.cursor;
  query.budget = options.budget;
  query.max_included = options.max_included;
  query.max_iterations = options.max_iterations;
  return query;
}

}  // namespace cg::fhir::search
