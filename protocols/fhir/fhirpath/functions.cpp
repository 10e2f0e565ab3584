// The FHIRPath function library (N1 plus the FHIR extras: extension, hasValue, getValue,
// resolve, memberOf, htmlChecks, conformsTo).
#include <algorithm>
#include <array>
#include <boost/json/object.hpp>
#include <cctype>
#include <cmath>
#include <regex>

#include "protocols/fhir/fhirpath/evaluator.hpp"
#include "protocols/fhir/fhirpath/strings.hpp"

namespace cg::fhirpath {

namespace {

constexpr FunctionInfo kFunctions[] = {
#define CG_FHIRPATH_FUNCTION(id, text, min_args, max_args, group) \
  {text, FunctionId::id, min_args, max_args, FunctionGroup::group},
#include "protocols/fhir/fhirpath/functions.def"
#undef CG_FHIRPATH_FUNCTION
};

}  // namespace

const FunctionInfo* find_function(std::string_view name) {
  for (const FunctionInfo& f : kFunctions) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

FunctionGroup function_group(FunctionId id) {
  // The table is in FunctionId order (both come from functions.def).
  const auto i = static_cast<std::size_t>(id);
  return i < std::size(kFunctions) ? kFunctions[i].group : FunctionGroup::kUnsupported;
}

namespace {

namespace json = boost::json;
using Kind = ItemKind;

Collection single(Item i) {
  return Collection{std::move(i)};
}
Collection boolean(bool b) {
  return Collection{Item::boolean(b)};
}

bool is_numeric(Kind k) {
  return k == Kind::kInteger || k == Kind::kDecimal;
}
Decimal as_dec(const Item& i) {
  return i.kind() == Kind::kInteger ? Decimal::from_int(i.as_integer()) : i.as_decimal();
}

int computed_scale(long double v) {
  for (int k = 0; k < 8; ++k) {
    const long double scaled = v * std::pow(10.0L, k);
    if (std::fabs(scaled - std::round(scaled)) < 1e-9L) return k;
  }
  return 8;
}

bool same_node(const Item& a, const Item& b) {
  return a.is_node() && b.is_node() && a.as_node().value == b.as_node().value &&
         a.as_node().extension == b.as_node().extension;
}

bool contains_equal(const Collection& c, const Item& x) {
  return std::any_of(c.begin(), c.end(),
                     [&](const Item& y) { return items_equal(x, y).value_or(false); });
}

// --- conversions ---------------------------------------------------------------------

std::optional<Item> convert_boolean(const Item& x) {
  switch (x.kind()) {
    case Kind::kBoolean:
      return x;
    case Kind::kInteger:
      if (x.as_integer() == 1) return Item::boolean(true);
      if (x.as_integer() == 0) return Item::boolean(false);
      return std::nullopt;
    case Kind::kDecimal:
      if (x.as_decimal().value == 1) return Item::boolean(true);
      if (x.as_decimal().value == 0) return Item::boolean(false);
      return std::nullopt;
    case Kind::kString: {
      std::string s = lower_ascii(x.as_string());
      if (s == "true" || s == "t" || s == "yes" || s == "y" || s == "1" || s == "1.0") {
        return Item::boolean(true);
      }
      if (s == "false" || s == "f" || s == "no" || s == "n" || s == "0" || s == "0.0") {
        return Item::boolean(false);
      }
      return std::nullopt;
    }
    default:
      return std::nullopt;
  }
}

std::optional<Item> convert_integer(const Item& x) {
  switch (x.kind()) {
    case Kind::kInteger:
      return x;
    case Kind::kBoolean:
      return Item::integer(x.as_bool() ? 1 : 0);
    case Kind::kString: {
      const std::string& s = x.as_string();
      std::size_t i = (!s.empty() && (s[0] == '+' || s[0] == '-')) ? 1 : 0;
      if (i == s.size() || s.size() > 19) return std::nullopt;
      for (std::size_t k = i; k < s.size(); ++k) {
        if (!std::isdigit(static_cast<unsigned char>(s[k]))) return std::nullopt;
      }
      return Item::integer(std::stoll(s));
    }
    default:
      return std::nullopt;
  }
}

std::optional<Item> convert_decimal(const Item& x) {
  switch (x.kind()) {
    case Kind::kInteger:
      return Item::decimal(Decimal::from_int(x.as_integer()));
    case Kind::kDecimal:
      return x;
    case Kind::kBoolean:
      return Item::decimal({x.as_bool() ? 1.0L : 0.0L, 1});
    case Kind::kString: {
      const std::string& s = x.as_string();
      if (s.find_first_of("eE") != std::string::npos) return std::nullopt;
      if (auto d = Decimal::parse(s)) return Item::decimal(*d);
      return std::nullopt;
    }
    default:
      return std::nullopt;
  }
}

std::optional<Item> convert_date(const Item& x) {
  if (x.kind() == Kind::kDate) return x;
  std::optional<Temporal> t;
  if (x.kind() == Kind::kDateTime) t = x.as_temporal();
  if (x.kind() == Kind::kString) {
    t = Temporal::parse_date(x.as_string());
    if (!t) t = Temporal::parse_date_time(x.as_string());
  }
  if (!t) return std::nullopt;
  t->kind = TemporalKind::kDate;
  t->precision = std::min(t->precision, TemporalPrecision::kDay);
  t->has_tz = false;
  t->hour = t->minute = t->second = t->millisecond = 0;
  return Item::temporal(*t);
}

std::optional<Item> convert_date_time(const Item& x) {
  if (x.kind() == Kind::kDateTime) return x;
  std::optional<Temporal> t;
  if (x.kind() == Kind::kDate) t = x.as_temporal();
  if (x.kind() == Kind::kString) t = Temporal::parse_date_time(x.as_string());
  if (!t) return std::nullopt;
  t->kind = TemporalKind::kDateTime;
  return Item::temporal(*t);
}

std::optional<Item> convert_time(const Item& x) {
  if (x.kind() == Kind::kTime) return x;
  if (x.kind() != Kind::kString) return std::nullopt;
  std::string_view s = x.as_string();
  if (s.starts_with('T')) s.remove_prefix(1);
  if (auto t = Temporal::parse_time(s)) return Item::temporal(*t);
  return std::nullopt;
}

std::optional<Quantity> parse_quantity(std::string_view s) {
  s = trim_view(s);
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  auto value = Decimal::parse(s.substr(0, i));
  if (!value) return std::nullopt;
  std::string_view rest = trim_view(s.substr(i));
  if (rest.empty()) return Quantity{*value, "1", false};
  if (rest.size() >= 2 && rest.front() == '\'' && rest.back() == '\'') {
    return Quantity{*value, std::string(rest.substr(1, rest.size() - 2)), false};
  }
  if (!calendar_unit(rest).empty()) return Quantity{*value, std::string(rest), true};
  return std::nullopt;
}

std::optional<Item> convert_quantity(const Item& x) {
  switch (x.kind()) {
    case Kind::kQuantity:
      return x;
    case Kind::kInteger:
    case Kind::kDecimal:
      return Item::quantity({as_dec(x), "1", false});
    case Kind::kBoolean:
      return Item::quantity({{x.as_bool() ? 1.0L : 0.0L, 1}, "1", false});
    case Kind::kString:
      if (auto q = parse_quantity(x.as_string())) return Item::quantity(std::move(*q));
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

std::optional<Item> convert_string(const Item& x) {
  if (auto s = to_string_value(x)) return Item::string(std::move(*s));
  return std::nullopt;
}

// --- boundaries --------------------------------------------------------------------

// lowBoundary / highBoundary of a decimal: the value is uncertain by half a unit of its
// last written digit. The result follows the official suite (the Java reference engine):
// for a non-negative value the low end is truncated and the high end rounded half-up to
// `digits` places; a negative value mirrors its absolute value (low(-x) = -high(x)).
std::optional<Item> decimal_boundary(const Decimal& d, std::optional<std::int64_t> precision,
                                     bool high) {
  const int digits = precision ? static_cast<int>(*precision) : 8;
  if (digits < 0 || digits > 28) return std::nullopt;
  const bool negative = d.value < 0;
  const bool upper = negative ? !high : high;
  const long double half = 0.5L * std::pow(10.0L, -d.scale);
  const long double v = std::fabs(d.value) + (upper ? half : -half);
  const long double f = std::pow(10.0L, digits);
  long double scaled = v * f;
  const long double nearest = std::round(scaled);
  if (std::fabs(scaled - nearest) < 1e-9L) {
    scaled = nearest;
  } else {
    scaled = upper ? std::floor(scaled + 0.5L) : std::floor(scaled);
  }
  const long double result = scaled / f;
  return Item::decimal({negative ? -result : result, digits});
}

std::optional<Item> temporal_boundary(Temporal t, std::optional<std::int64_t> precision,
                                      bool high) {
  const bool time = t.kind == TemporalKind::kTime;
  const int digits = precision ? static_cast<int>(*precision) : (time ? 9 : 17);
  static constexpr std::array<std::pair<int, TemporalPrecision>, 7> kDate = {{
      {4, TemporalPrecision::kYear},
      {6, TemporalPrecision::kMonth},
      {8, TemporalPrecision::kDay},
      {10, TemporalPrecision::kHour},
      {12, TemporalPrecision::kMinute},
      {14, TemporalPrecision::kSecond},
      {17, TemporalPrecision::kMillisecond},
  }};
  std::optional<TemporalPrecision> target;
  for (const auto& [d, p] : kDate) {
    if ((time ? d - 8 : d) == digits) target = p;
  }
  if (!target || (time && *target < TemporalPrecision::kHour)) return std::nullopt;
  if (t.kind == TemporalKind::kDate && *target > TemporalPrecision::kDay) return std::nullopt;
  const auto have = t.precision;
  auto fill = [&](TemporalPrecision p) { return have < p; };
  if (fill(TemporalPrecision::kMonth)) t.month = high ? 12 : 1;
  if (fill(TemporalPrecision::kDay)) {
    static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (t.year % 4 == 0 && t.year % 100 != 0) || t.year % 400 == 0;
    t.day = high ? (t.month == 2 && leap ? 29 : kDays[static_cast<std::size_t>(t.month - 1)]) : 1;
  }
  if (fill(TemporalPrecision::kHour)) t.hour = high ? 23 : 0;
  if (fill(TemporalPrecision::kMinute)) t.minute = high ? 59 : 0;
  if (fill(TemporalPrecision::kSecond)) t.second = high ? 59 : 0;
  if (fill(TemporalPrecision::kMillisecond)) t.millisecond = high ? 999 : 0;
  if (t.kind == TemporalKind::kDateTime && *target >= TemporalPrecision::kHour && !t.has_tz) {
    t.has_tz = true;
    t.tz_minutes = high ? -12 * 60 : 14 * 60;
  }
  t.precision = *target;
  if (t.kind == TemporalKind::kDateTime && *target <= TemporalPrecision::kDay) {
    t.kind = TemporalKind::kDate;
    t.has_tz = false;
  }
  return Item::temporal(t);
}

}  // namespace

Result<Collection> Evaluator::call(const AstNode& n, std::span<const Item> outer,
                                   const Frame& frame) {
  Collection target_items;
  std::span<const Item> in = outer;
  if (n.target) {
    auto t = eval(*n.target, outer, frame);
    if (!t) return t;
    target_items = std::move(*t);
    in = target_items;
  }
  const CallSite site{n, outer, frame, in};
  switch (function_group(n.function)) {
    case FunctionGroup::kExistence:
      return existence(site);
    case FunctionGroup::kFiltering:
      return filtering(site);
    case FunctionGroup::kSubsetting:
      if (n.function != FunctionId::kIntersect && n.function != FunctionId::kExclude &&
          n.function != FunctionId::kUnion && n.function != FunctionId::kCombine) {
        if (auto st = check_ordered(n); !st) return st.take_error();
      }
      return subsetting(site);
    case FunctionGroup::kConversion:
      return conversion(site);
    case FunctionGroup::kString:
      return string_function(site);
    case FunctionGroup::kMath:
      return math_function(site);
    case FunctionGroup::kFhir:
      return fhir_function(site);
    case FunctionGroup::kUtility:
      return utility_function(site);
    case FunctionGroup::kPrecision:
      return precision_function(site);
    case FunctionGroup::kUnsupported:
      break;
  }
  return error(n, n.name + "() is not supported");
}

Result<Collection> Evaluator::arg(const CallSite& site, std::size_t i) {
  return eval(*site.n.args[i], site.outer, site.frame);
}

Result<Collection> Evaluator::arg_for(const CallSite& site, std::size_t a, std::size_t i) {
  Frame f;
  f.this_items = site.in.subspan(i, 1);
  f.index = static_cast<std::int64_t>(i);
  return eval(*site.n.args[a], f.this_items, f);
}

Result<std::optional<Item>> Evaluator::single_arg(const CallSite& site, std::size_t i) {
  auto c = arg(site, i);
  if (!c) return c.take_error();
  return singleton(*c, site.n);
}

Result<std::optional<std::int64_t>> Evaluator::int_arg(const CallSite& site, std::size_t i) {
  auto v = single_arg(site, i);
  if (!v) return v.take_error();
  if (!*v) return std::optional<std::int64_t>();
  if ((*v)->kind() != Kind::kInteger) {
    return error(site.n, site.n.name + "() needs an Integer argument");
  }
  return std::optional<std::int64_t>((*v)->as_integer());
}

Result<std::optional<std::string>> Evaluator::string_arg(const CallSite& site, std::size_t i) {
  auto v = single_arg(site, i);
  if (!v) return v.take_error();
  if (!*v) return std::optional<std::string>();
  if ((*v)->kind() != Kind::kString)
    return error(site.n, site.n.name + "() needs a String argument");
  return std::optional<std::string>((*v)->as_string());
}

Result<std::optional<Item>> Evaluator::input_single(const CallSite& site) {
  if (site.in.empty()) return std::optional<Item>();
  if (site.in.size() > 1) return error(site.n, site.n.name + "() needs a single input item");
  if (auto s = to_system(site.in[0])) return s;
  return std::optional<Item>(site.in[0]);
}

Result<std::optional<std::string>> Evaluator::input_string(const CallSite& site) {
  // FHIR primitives held as JSON strings (dates, codes, URIs) count as their text, as
  // fhirpath.js does; complex elements are an error.
  const auto in = site.in;
  if (in.size() == 1 && in[0].is_node() && in[0].as_node().value &&
      in[0].as_node().value->is_string()) {
    return std::optional<std::string>(std::string(in[0].as_node().value->get_string()));
  }
  auto v = input_single(site);
  if (!v) return v.take_error();
  if (!*v) return std::optional<std::string>();
  if ((*v)->kind() != Kind::kString) return error(site.n, site.n.name + "() needs a String input");
  return std::optional<std::string>((*v)->as_string());
}

// empty, exists, all, allTrue/anyTrue/allFalse/anyFalse, subsetOf, supersetOf, count, distinct,
// isDistinct.
Result<Collection> Evaluator::existence(const CallSite& site) {
  const AstNode& n = site.n;
  [[maybe_unused]] const std::span<const Item> in = site.in;
  switch (n.function) {
    case FunctionId::kEmpty:
      return boolean(in.empty());
    case FunctionId::kExists:
    case FunctionId::kWhere:
    case FunctionId::kAll: {
      if (n.args.empty()) return boolean(!in.empty());
      Collection kept;
      for (std::size_t i = 0; i < in.size(); ++i) {
        auto c = arg_for(site, 0, i);
        if (!c) return c;
        auto b = as_boolean(*c, n);
        if (!b) return b.take_error();
        const bool t = b->value_or(false);
        if (n.function == FunctionId::kAll && !t) return boolean(false);
        if (n.function == FunctionId::kExists && t) return boolean(true);
        if (n.function == FunctionId::kWhere && t) kept.push_back(in[i]);
      }
      if (n.function == FunctionId::kAll) return boolean(true);
      if (n.function == FunctionId::kExists) return boolean(false);
      return kept;
    }
    case FunctionId::kAllTrue:
    case FunctionId::kAnyTrue:
    case FunctionId::kAllFalse:
    case FunctionId::kAnyFalse: {
      const bool want = n.function == FunctionId::kAllTrue || n.function == FunctionId::kAnyTrue;
      const bool all = n.function == FunctionId::kAllTrue || n.function == FunctionId::kAllFalse;
      for (const Item& x : in) {
        auto s = to_system(x);
        if (!s || s->kind() != Kind::kBoolean) return error(n, n.name + "() needs Booleans");
        if (all && s->as_bool() != want) return boolean(false);
        if (!all && s->as_bool() == want) return boolean(true);
      }
      return boolean(all);
    }
    case FunctionId::kSubsetOf:
    case FunctionId::kSupersetOf: {
      auto other = arg(site, 0);
      if (!other) return other;
      Collection mine(in.begin(), in.end());
      const Collection& sub = n.function == FunctionId::kSubsetOf ? mine : *other;
      const Collection& super = n.function == FunctionId::kSubsetOf ? *other : mine;
      for (const Item& x : sub) {
        if (!within_budget(super.size())) return error(n, "evaluation budget exceeded");
        if (!contains_equal(super, x)) return boolean(false);
      }
      return boolean(true);
    }
    case FunctionId::kCount:
      return single(Item::integer(static_cast<std::int64_t>(in.size())));
    case FunctionId::kDistinct:
    case FunctionId::kIsDistinct: {
      Collection out;
      for (const Item& x : in) {
        if (!within_budget(out.size())) return error(n, "evaluation budget exceeded");
        if (!contains_equal(out, x)) out.push_back(x);
      }
      if (n.function == FunctionId::kIsDistinct) return boolean(out.size() == in.size());
      return out;
    }
    default:
      break;
  }
  return error(n, n.name + "() is not supported");
}

// select, repeat, ofType, as(), is(), aggregate, sort.
Result<Collection> Evaluator::filtering(const CallSite& site) {
  const AstNode& n = site.n;
  [[maybe_unused]] const std::span<const Item> in = site.in;
  switch (n.function) {
    case FunctionId::kSelect: {
      Collection out;
      for (std::size_t i = 0; i < in.size(); ++i) {
        auto c = arg_for(site, 0, i);
        if (!c) return c;
        out.insert(out.end(), c->begin(), c->end());
        if (auto st = check_size(out, n); !st) return st.take_error();
      }
      return out;
    }
    case FunctionId::kRepeat: {
      Collection out;
      Collection queue(in.begin(), in.end());
      for (std::size_t k = 0; k < queue.size(); ++k) {
        Frame f;
        f.this_items = std::span<const Item>(&queue[k], 1);
        auto c = eval(*n.args[0], f.this_items, f);
        if (!c) return c;
        for (Item& x : *c) {
          if (!within_budget(out.size())) return error(n, "evaluation budget exceeded");
          const bool seen = std::any_of(out.begin(), out.end(), [&](const Item& y) {
            return x.is_node() ? same_node(x, y) : items_equal(x, y).value_or(false);
          });
          if (seen) continue;
          out.push_back(x);
          queue.push_back(std::move(x));
        }
        if (auto st = check_size(queue, n); !st) return st.take_error();
      }
      return out;
    }
    case FunctionId::kOfType: {
      Collection out;
      for (const Item& x : in) {
        if (item_is(x, n.type, true)) out.push_back(x);
      }
      return out;
    }
    case FunctionId::kAsFunction:
    case FunctionId::kIsFunction: {
      if (in.empty()) return Collection{};
      if (in.size() > 1) return error(n, n.name + "() needs a single input item");
      const bool is = n.function == FunctionId::kIsFunction;
      const bool match = item_is(in[0], n.type, !is);
      if (is) return boolean(match);
      return match ? single(in[0]) : Collection{};
    }
    case FunctionId::kAggregate: {
      Collection total;
      if (n.args.size() > 1) {
        auto init = arg(site, 1);
        if (!init) return init;
        total = std::move(*init);
      }
      for (std::size_t i = 0; i < in.size(); ++i) {
        Frame f;
        f.this_items = in.subspan(i, 1);
        f.index = static_cast<std::int64_t>(i);
        f.total = &total;
        auto c = eval(*n.args[0], f.this_items, f);
        if (!c) return c;
        total = std::move(*c);
      }
      return total;
    }
    case FunctionId::kSort:
      return sort_items(n, in);
    default:
      break;
  }
  return error(n, n.name + "() is not supported");
}

// single, first, last, tail, skip, take, intersect, exclude, union, combine.
Result<Collection> Evaluator::subsetting(const CallSite& site) {
  const AstNode& n = site.n;
  [[maybe_unused]] const std::span<const Item> in = site.in;
  switch (n.function) {
    case FunctionId::kSingle:
      if (in.size() > 1) return error(n, "single() on a collection of several items");
      return Collection(in.begin(), in.end());
    case FunctionId::kFirst:
      return in.empty() ? Collection{} : single(in.front());
    case FunctionId::kLast:
      return in.empty() ? Collection{} : single(in.back());
    case FunctionId::kTail:
      return in.size() <= 1 ? Collection{} : Collection(in.begin() + 1, in.end());
    case FunctionId::kSkip:
    case FunctionId::kTake: {
      auto k = int_arg(site, 0);
      if (!k) return k.take_error();
      if (!*k) return Collection{};
      const auto count = static_cast<std::size_t>(
          std::clamp<std::int64_t>(**k, 0, static_cast<std::int64_t>(in.size())));
      if (n.function == FunctionId::kSkip) return Collection(in.begin() + count, in.end());
      return Collection(in.begin(), in.begin() + count);
    }
    case FunctionId::kIntersect:
    case FunctionId::kExclude:
    case FunctionId::kUnion:
    case FunctionId::kCombine: {
      auto other = arg(site, 0);
      if (!other) return other;
      Collection out;
      if (n.function == FunctionId::kCombine) {
        out.assign(in.begin(), in.end());
        out.insert(out.end(), other->begin(), other->end());
        return out;
      }
      if (n.function == FunctionId::kUnion) {
        for (const Item& x : in) {
          if (!within_budget(out.size())) return error(n, "evaluation budget exceeded");
          if (!contains_equal(out, x)) out.push_back(x);
        }
        for (const Item& x : *other) {
          if (!within_budget(out.size())) return error(n, "evaluation budget exceeded");
          if (!contains_equal(out, x)) out.push_back(x);
        }
        return out;
      }
      for (const Item& x : in) {
        if (!within_budget(other->size())) return error(n, "evaluation budget exceeded");
        const bool found = contains_equal(*other, x);
        if (!within_budget(out.size())) return error(n, "evaluation budget exceeded");
        if (n.function == FunctionId::kExclude ? !found : (found && !contains_equal(out, x))) {
          out.push_back(x);
        }
      }
      return out;
    }
    default:
      break;
  }
  return error(n, n.name + "() is not supported");
}

// toX() / convertsToX() for Boolean, Integer, Decimal, String, Date, DateTime, Time, Quantity.
Result<Collection> Evaluator::conversion(const CallSite& site) {
  const AstNode& n = site.n;
  [[maybe_unused]] const std::span<const Item> in = site.in;
  auto convert = [&](auto&& fn, bool test) -> Result<Collection> {
    auto v = input_single(site);
    if (!v) return v.take_error();
    if (!*v) return Collection{};
    auto r = fn(**v);
    if (test) return boolean(r.has_value());
    if (!r) return Collection{};
    return single(std::move(*r));
  };
  switch (n.function) {
    case FunctionId::kToBoolean:
    case FunctionId::kConvertsToBoolean:
      return convert(convert_boolean, n.function == FunctionId::kConvertsToBoolean);
    case FunctionId::kToInteger:
    case FunctionId::kConvertsToInteger:
      return convert(convert_integer, n.function == FunctionId::kConvertsToInteger);
    case FunctionId::kToDecimal:
    case FunctionId::kConvertsToDecimal:
      return convert(convert_decimal, n.function == FunctionId::kConvertsToDecimal);
    case FunctionId::kToString:
    case FunctionId::kConvertsToString:
      return convert(convert_string, n.function == FunctionId::kConvertsToString);
    case FunctionId::kToDate:
    case FunctionId::kConvertsToDate:
      return convert(convert_date, n.function == FunctionId::kConvertsToDate);
    case FunctionId::kToDateTime:
    case FunctionId::kConvertsToDateTime:
      return convert(convert_date_time, n.function == FunctionId::kConvertsToDateTime);
    case FunctionId::kToTime:
    case FunctionId::kConvertsToTime:
      return convert(convert_time, n.function == FunctionId::kConvertsToTime);
    case FunctionId::kToQuantity:
    case FunctionId::kConvertsToQuantity: {
      std::optional<std::string> unit;
      if (!n.args.empty()) {
        auto u = string_arg(site, 0);
        if (!u) return u.take_error();
        if (!*u) return Collection{};
        unit = **u;
      }
      auto to_unit = [&](const Item& x) -> std::optional<Item> {
        auto q = convert_quantity(x);
        if (!q || !unit) return q;
        const Quantity& have = q->as_quantity();
        if (have.unit == *unit) return q;
        auto from = ucum_canonical(have.calendar ? "" : have.unit);
        auto to = ucum_canonical(*unit);
        if (have.calendar || !from || !to || from->dims != to->dims) return std::nullopt;
        const long double v = have.value.value * from->factor / to->factor;
        return Item::quantity({{v, computed_scale(v)}, *unit, false});
      };
      return convert(to_unit, n.function == FunctionId::kConvertsToQuantity);
    }
    default:
      break;
  }
  return error(n, n.name + "() is not supported");
}

// the string functions, encode/decode, escape/unescape.
Result<Collection> Evaluator::string_function(const CallSite& site) {
  const AstNode& n = site.n;
  [[maybe_unused]] const std::span<const Item> in = site.in;
  switch (n.function) {
    case FunctionId::kIndexOf:
    case FunctionId::kLastIndexOf:
    case FunctionId::kStartsWith:
    case FunctionId::kEndsWith:
    case FunctionId::kContains:
    case FunctionId::kSplit:
    case FunctionId::kMatches:
    case FunctionId::kMatchesFull: {
      auto s = input_string(site);
      if (!s) return s.take_error();
      auto a = string_arg(site, 0);
      if (!a) return a.take_error();
      if (!*s || !*a) return Collection{};
      const std::string& str = **s;
      const std::string& sub = **a;
      switch (n.function) {
        case FunctionId::kIndexOf: {
          const std::size_t p = str.find(sub);
          return single(Item::integer(p == std::string::npos ? -1 : utf8_index(str, p)));
        }
        case FunctionId::kLastIndexOf: {
          const std::size_t p = str.rfind(sub);
          return single(Item::integer(p == std::string::npos ? -1 : utf8_index(str, p)));
        }
        case FunctionId::kStartsWith:
          return boolean(str.starts_with(sub));
        case FunctionId::kEndsWith:
          return boolean(str.ends_with(sub));
        case FunctionId::kContains:
          return boolean(str.find(sub) != std::string::npos);
        case FunctionId::kSplit: {
          Collection out;
          for (std::string& part : split_string(str, sub))
            out.push_back(Item::string(std::move(part)));
          return out;
        }
        default: {
          auto m = regex_matches(str, sub, n.function == FunctionId::kMatchesFull);
          if (!m) return error(n, m.error().message);
          return boolean(*m);
        }
      }
    }
    case FunctionId::kSubstring: {
      auto s = input_string(site);
      if (!s) return s.take_error();
      auto start = int_arg(site, 0);
      if (!start) return start.take_error();
      if (!*s || !*start) return Collection{};
      std::optional<std::int64_t> length;
      if (n.args.size() > 1) {
        auto l = int_arg(site, 1);
        if (!l) return l.take_error();
        length = *l;
      }
      auto r = utf8_substring(**s, **start, length);
      if (!r) return Collection{};
      return single(Item::string(std::move(*r)));
    }
    case FunctionId::kUpper:
    case FunctionId::kLower:
    case FunctionId::kLength:
    case FunctionId::kToChars:
    case FunctionId::kTrim: {
      auto s = input_string(site);
      if (!s) return s.take_error();
      if (!*s) return Collection{};
      switch (n.function) {
        case FunctionId::kUpper:
          return single(Item::string(upper_ascii(**s)));
        case FunctionId::kLower:
          return single(Item::string(lower_ascii(**s)));
        case FunctionId::kLength:
          return single(Item::integer(utf8_length(**s)));
        case FunctionId::kTrim:
          return single(Item::string(std::string(trim_view(**s))));
        default: {
          Collection out;
          for (std::string& ch : utf8_chars(**s)) out.push_back(Item::string(std::move(ch)));
          return out;
        }
      }
    }
    case FunctionId::kReplace:
    case FunctionId::kReplaceMatches: {
      auto s = input_string(site);
      if (!s) return s.take_error();
      auto a = string_arg(site, 0);
      if (!a) return a.take_error();
      auto b = string_arg(site, 1);
      if (!b) return b.take_error();
      if (!*s || !*a || !*b) return Collection{};
      if (n.function == FunctionId::kReplace) {
        return single(Item::string(replace_all(**s, **a, **b)));
      }
      auto r = regex_replace_all(**s, **a, **b);
      if (!r) return error(n, r.error().message);
      return single(Item::string(std::move(*r)));
    }
    case FunctionId::kJoin: {
      std::string sep;
      if (!n.args.empty()) {
        auto a = string_arg(site, 0);
        if (!a) return a.take_error();
        sep = a->value_or("");
      }
      std::string out;
      for (std::size_t i = 0; i < in.size(); ++i) {
        auto s = to_system(in[i]);
        if (!s || s->kind() != Kind::kString) return error(n, "join() needs Strings");
        if (i) out += sep;
        out += s->as_string();
      }
      return single(Item::string(std::move(out)));
    }
    case FunctionId::kEncode:
    case FunctionId::kDecode:
    case FunctionId::kEscape:
    case FunctionId::kUnescape: {
      auto s = input_string(site);
      if (!s) return s.take_error();
      auto a = string_arg(site, 0);
      if (!a) return a.take_error();
      if (!*s || !*a) return Collection{};
      std::optional<std::string> r;
      switch (n.function) {
        case FunctionId::kEncode:
          r = encode_string(**s, **a);
          break;
        case FunctionId::kDecode:
          r = decode_string(**s, **a);
          break;
        case FunctionId::kEscape:
          r = escape_string(**s, **a);
          break;
        default:
          r = unescape_string(**s, **a);
          break;
      }
      if (!r) return Collection{};
      return single(Item::string(std::move(*r)));
    }
    default:
      break;
  }
  return error(n, n.name + "() is not supported");
}

// abs, ceiling, floor, truncate, exp, ln, sqrt, log, power, round.
Result<Collection> Evaluator::math_function(const CallSite& site) {
  const AstNode& n = site.n;
  [[maybe_unused]] const std::span<const Item> in = site.in;
  auto math = [&](auto&& fn) -> Result<Collection> {
    auto v = input_single(site);
    if (!v) return v.take_error();
    if (!*v) return Collection{};
    if (!is_numeric((*v)->kind())) return error(n, n.name + "() needs a number");
    const long double r = fn(as_dec(**v).value);
    if (!std::isfinite(r)) return Collection{};
    return single(Item::decimal({r, computed_scale(r)}));
  };
  switch (n.function) {
    case FunctionId::kAbs: {
      auto v = input_single(site);
      if (!v) return v.take_error();
      if (!*v) return Collection{};
      const Item& x = **v;
      if (x.kind() == Kind::kInteger) return single(Item::integer(std::llabs(x.as_integer())));
      if (x.kind() == Kind::kDecimal) {
        return single(Item::decimal({std::fabs(x.as_decimal().value), x.as_decimal().scale}));
      }
      if (x.kind() == Kind::kQuantity) {
        Quantity q = x.as_quantity();
        q.value.value = std::fabs(q.value.value);
        return single(Item::quantity(std::move(q)));
      }
      return error(n, "abs() needs a number");
    }
    case FunctionId::kCeiling:
    case FunctionId::kFloor:
    case FunctionId::kTruncate: {
      auto v = input_single(site);
      if (!v) return v.take_error();
      if (!*v) return Collection{};
      if (!is_numeric((*v)->kind())) return error(n, n.name + "() needs a number");
      const long double x = as_dec(**v).value;
      const long double r = n.function == FunctionId::kCeiling ? std::ceil(x)
                            : n.function == FunctionId::kFloor ? std::floor(x)
                                                               : std::trunc(x);
      if (std::fabs(r) > 9e18L) return error(n, "integer overflow");
      return single(Item::integer(static_cast<std::int64_t>(r)));
    }
    case FunctionId::kExp:
      return math([](long double x) { return std::exp(x); });
    case FunctionId::kLn:
      return math([](long double x) { return x > 0 ? std::log(x) : NAN; });
    case FunctionId::kSqrt:
      return math([](long double x) { return x >= 0 ? std::sqrt(x) : NAN; });
    case FunctionId::kLog:
    case FunctionId::kPower: {
      auto b = single_arg(site, 0);
      if (!b) return b.take_error();
      if (!*b) return Collection{};
      if (!is_numeric((*b)->kind())) return error(n, n.name + "() needs a number");
      const long double y = as_dec(**b).value;
      if (n.function == FunctionId::kPower) {
        auto v = input_single(site);
        if (!v) return v.take_error();
        if (!*v) return Collection{};
        if (!is_numeric((*v)->kind())) return error(n, "power() needs a number");
        if ((*v)->kind() == Kind::kInteger && (*b)->kind() == Kind::kInteger && y >= 0) {
          const long double r = std::pow(static_cast<long double>((*v)->as_integer()), y);
          if (std::fabs(r) > 9e18L) return error(n, "integer overflow");
          return single(Item::integer(static_cast<std::int64_t>(r)));
        }
      }
      return math([&](long double x) {
        if (n.function == FunctionId::kPower) return std::pow(x, y);
        return x > 0 && y > 0 && y != 1 ? std::log(x) / std::log(y) : NAN;
      });
    }
    case FunctionId::kRound: {
      auto v = input_single(site);
      if (!v) return v.take_error();
      std::int64_t digits = 0;
      if (!n.args.empty()) {
        auto d = int_arg(site, 0);
        if (!d) return d.take_error();
        if (!*d) return Collection{};
        digits = **d;
      }
      if (!*v) return Collection{};
      if (!is_numeric((*v)->kind())) return error(n, "round() needs a number");
      if (digits < 0 || digits > 18) return error(n, "round() precision out of range");
      return single(Item::decimal(decimal_round(as_dec(**v), static_cast<int>(digits))));
    }
    default:
      break;
  }
  return error(n, n.name + "() is not supported");
}

// children, descendants, extension, hasValue, getValue, resolve, memberOf, htmlChecks, conformsTo,
// type.
Result<Collection> Evaluator::fhir_function(const CallSite& site) {
  const AstNode& n = site.n;
  [[maybe_unused]] const std::span<const Item> in = site.in;
  switch (n.function) {
    case FunctionId::kChildren:
    case FunctionId::kDescendants: {
      Collection out;
      for (const Item& x : in) child_items(x, out);
      if (n.function == FunctionId::kChildren) return out;
      for (std::size_t k = 0; k < out.size(); ++k) {
        Collection more;
        child_items(out[k], more);
        out.insert(out.end(), more.begin(), more.end());
        if (auto st = check_size(out, n); !st) return st.take_error();
      }
      return out;
    }
    case FunctionId::kExtension: {
      auto url = string_arg(site, 0);
      if (!url) return url.take_error();
      if (!*url) return Collection{};
      Collection out;
      for (const Item& x : in) {
        Collection exts;
        bool known = false;
        member_items(x, "extension", exts, known);
        for (const Item& e : exts) {
          const json::value* v = e.as_node().value;
          const json::object* o = v ? v->if_object() : nullptr;
          const json::value* u = o ? o->if_contains("url") : nullptr;
          if (u && u->is_string() && u->get_string() == **url) out.push_back(e);
        }
      }
      return out;
    }
    case FunctionId::kHasValue:
    case FunctionId::kGetValue: {
      std::optional<Item> value;
      if (in.size() == 1 && in[0].is_node()) {
        const Node& node = in[0].as_node();
        const bool primitive =
            node.type == fhir::kNoType
                ? (node.value && !node.value->is_object() && !node.value->is_array())
                : fhir::type_def(node.type).kind == fhir::TypeKind::kPrimitive;
        if (primitive) value = to_system(in[0]);
      }
      if (n.function == FunctionId::kHasValue) return boolean(value.has_value());
      return value ? single(std::move(*value)) : Collection{};
    }
    case FunctionId::kResolve:
      return resolve_references(n, in);
    case FunctionId::kMemberOf:
      // No terminology service: membership is unknown.
      return Collection{};
    case FunctionId::kHtmlChecks:
      return boolean(true);
    case FunctionId::kConformsTo: {
      auto url = string_arg(site, 0);
      if (!url) return url.take_error();
      if (!*url) return Collection{};
      constexpr std::string_view kBase = "http://hl7.org/fhir/StructureDefinition/";
      if (!url->value().starts_with(kBase)) {
        return error(n, "conformsTo(): unknown profile " + **url);
      }
      auto type = fhir::find_type(std::string_view(**url).substr(kBase.size()));
      if (!type) return error(n, "conformsTo(): unknown profile " + **url);
      if (in.size() != 1) return Collection{};
      return boolean(in[0].is_node() && in[0].as_node().type != fhir::kNoType &&
                     derives_from(in[0].as_node().type, *type));
    }
    case FunctionId::kType: {
      Collection out;
      for (const Item& x : in) out.push_back(Item::type_info(type_of(x)));
      return out;
    }
    default:
      break;
  }
  return error(n, n.name + "() is not supported");
}

// iif, trace, now, today, timeOfDay, not.
Result<Collection> Evaluator::utility_function(const CallSite& site) {
  const AstNode& n = site.n;
  [[maybe_unused]] const std::span<const Item> in = site.in;
  switch (n.function) {
    case FunctionId::kIif: {
      if (n.target && in.size() > 1) return error(n, "iif() needs at most one input item");
      Frame f = site.frame;
      std::span<const Item> ctx_in = site.outer;
      if (n.target) {
        f = Frame{};
        f.this_items = in;
        ctx_in = in;
      }
      auto c = eval(*n.args[0], ctx_in, f);
      if (!c) return c;
      if (c->size() > 1) return error(n, "iif() criterion must be a single Boolean");
      bool take = false;
      if (c->size() == 1) {
        auto s = to_system((*c)[0]);
        if (!s || s->kind() != Kind::kBoolean) return error(n, "iif() criterion must be Boolean");
        take = s->as_bool();
      }
      if (take) return eval(*n.args[1], ctx_in, f);
      if (n.args.size() > 2) return eval(*n.args[2], ctx_in, f);
      return Collection{};
    }
    case FunctionId::kTrace: {
      auto name = string_arg(site, 0);
      if (!name) return name.take_error();
      Collection all(in.begin(), in.end());
      if (ctx_.trace) {
        if (n.args.size() > 1) {
          Collection projected;
          for (std::size_t i = 0; i < in.size(); ++i) {
            auto c = arg_for(site, 1, i);
            if (!c) return c;
            projected.insert(projected.end(), c->begin(), c->end());
          }
          ctx_.trace(name->value_or(""), projected);
        } else {
          ctx_.trace(name->value_or(""), all);
        }
      }
      return all;
    }
    case FunctionId::kNow:
      return single(Item::temporal(now_));
    case FunctionId::kToday: {
      Temporal t = now_;
      t.kind = TemporalKind::kDate;
      t.precision = TemporalPrecision::kDay;
      t.has_tz = false;
      t.hour = t.minute = t.second = t.millisecond = 0;
      return single(Item::temporal(t));
    }
    case FunctionId::kTimeOfDay: {
      Temporal t = now_;
      t.kind = TemporalKind::kTime;
      t.has_tz = false;
      return single(Item::temporal(t));
    }
    case FunctionId::kNot: {
      auto b = as_boolean(Collection(in.begin(), in.end()), n);
      if (!b) return b.take_error();
      if (!*b) return Collection{};
      return boolean(!**b);
    }
    default:
      break;
  }
  return error(n, n.name + "() is not supported");
}

// lowBoundary, highBoundary, precision, comparable.
Result<Collection> Evaluator::precision_function(const CallSite& site) {
  const AstNode& n = site.n;
  [[maybe_unused]] const std::span<const Item> in = site.in;
  switch (n.function) {
    case FunctionId::kLowBoundary:
    case FunctionId::kHighBoundary:
    case FunctionId::kPrecision: {
      auto v = input_single(site);
      if (!v) return v.take_error();
      std::optional<std::int64_t> precision;
      if (!n.args.empty()) {
        auto p = int_arg(site, 0);
        if (!p) return p.take_error();
        precision = *p;
      }
      if (!*v) return Collection{};
      const Item& x = **v;
      const bool high = n.function == FunctionId::kHighBoundary;
      if (n.function == FunctionId::kPrecision) {
        if (x.kind() == Kind::kDecimal) return single(Item::integer(x.as_decimal().scale));
        if (x.kind() == Kind::kInteger) return single(Item::integer(0));
        if (x.kind() == Kind::kDate || x.kind() == Kind::kDateTime || x.kind() == Kind::kTime) {
          return single(Item::integer(temporal_precision_digits(x.as_temporal())));
        }
        return Collection{};
      }
      std::optional<Item> r;
      if (is_numeric(x.kind())) r = decimal_boundary(as_dec(x), precision, high);
      if (x.kind() == Kind::kQuantity) {
        if (auto d = decimal_boundary(x.as_quantity().value, precision, high)) {
          Quantity q = x.as_quantity();
          q.value = d->as_decimal();
          r = Item::quantity(std::move(q));
        }
      }
      if (x.kind() == Kind::kDate || x.kind() == Kind::kDateTime || x.kind() == Kind::kTime) {
        r = temporal_boundary(x.as_temporal(), precision, high);
      }
      return r ? single(std::move(*r)) : Collection{};
    }
    case FunctionId::kComparable: {
      auto v = input_single(site);
      if (!v) return v.take_error();
      auto o = single_arg(site, 0);
      if (!o) return o.take_error();
      if (!*v || !*o) return Collection{};
      if ((*v)->kind() != Kind::kQuantity || (*o)->kind() != Kind::kQuantity) {
        return error(n, "comparable() needs quantities");
      }
      return boolean(quantity_comparable((*v)->as_quantity(), (*o)->as_quantity()));
    }
    default:
      break;
  }
  return error(n, n.name + "() is not supported");
}

Result<Collection> Evaluator::sort_items(const AstNode& n, std::span<const Item> in) {
  struct Keyed {
    Item item;
    std::vector<std::optional<Item>> keys;
  };
  std::vector<Keyed> rows;
  std::vector<bool> descending;
  for (const auto& a : n.args) descending.push_back(a->kind == AstNode::Kind::kNegate);
  for (std::size_t i = 0; i < in.size(); ++i) {
    Keyed row{in[i], {}};
    if (n.args.empty()) {
      row.keys.push_back(to_system(in[i]));
    }
    for (std::size_t a = 0; a < n.args.size(); ++a) {
      const AstNode& key = descending[a] ? *n.args[a]->target : *n.args[a];
      Frame f;
      f.this_items = in.subspan(i, 1);
      f.index = static_cast<std::int64_t>(i);
      auto c = eval(key, f.this_items, f);
      if (!c) return c;
      auto s = singleton(*c, n);
      if (!s) return s.take_error();
      row.keys.push_back(std::move(*s));
    }
    rows.push_back(std::move(row));
  }
  auto cmp_items = [](const std::optional<Item>& a, const std::optional<Item>& b) -> int {
    if (!a || !b) return a ? -1 : (b ? 1 : 0);  // empty keys sort last
    const Kind ka = a->kind(), kb = b->kind();
    if (is_numeric(ka) && is_numeric(kb)) return decimal_compare(as_dec(*a), as_dec(*b));
    if (ka == Kind::kString && kb == Kind::kString) return a->as_string().compare(b->as_string());
    if ((ka == Kind::kDate || ka == Kind::kDateTime) &&
        (kb == Kind::kDate || kb == Kind::kDateTime)) {
      return temporal_compare(a->as_temporal(), b->as_temporal()).value_or(0);
    }
    if (ka == Kind::kBoolean && kb == Kind::kBoolean) return int(a->as_bool()) - int(b->as_bool());
    return 0;
  };
  std::stable_sort(rows.begin(), rows.end(), [&](const Keyed& x, const Keyed& y) {
    for (std::size_t k = 0; k < x.keys.size(); ++k) {
      int c = cmp_items(x.keys[k], y.keys[k]);
      if (k < descending.size() && descending[k]) c = -c;
      if (c != 0) return c < 0;
    }
    return false;
  });
  Collection out;
  for (Keyed& r : rows) out.push_back(std::move(r.item));
  return out;
}

Result<Collection> Evaluator::resolve_references(const AstNode& n, std::span<const Item> in) {
  Collection out;
  for (const Item& x : in) {
    std::string ref;
    if (x.is_node() && x.as_node().value && x.as_node().value->is_object()) {
      const json::value* r = x.as_node().value->get_object().if_contains("reference");
      if (!r || !r->is_string()) continue;
      ref = std::string(r->get_string());
    } else if (auto s = to_system(x); s && s->kind() == Kind::kString) {
      ref = s->as_string();
    } else {
      continue;
    }
    if (const json::value* v = find_local_reference(ref)) {
      out.push_back(Item::node(v, nullptr, resource_type_of(*v)));
    } else if (ctx_.resolve) {
      if (const json::value* r = ctx_.resolve(ref)) {
        out.push_back(Item::node(r, nullptr, resource_type_of(*r)));
      }
    }
  }
  if (auto st = check_size(out, n); !st) return st.take_error();
  return out;
}

const json::value* Evaluator::find_local_reference(std::string_view ref) const {
  auto id_matches = [](const json::value& res, std::string_view want_type, std::string_view id) {
    const json::object* o = res.if_object();
    if (!o) return false;
    const json::value* i = o->if_contains("id");
    const json::value* t = o->if_contains("resourceType");
    return i && i->is_string() && i->get_string() == id &&
           (want_type.empty() || (t && t->is_string() && t->get_string() == want_type));
  };
  if (ref.starts_with('#')) {
    const std::string_view id = ref.substr(1);
    for (const Collection* c : {&resource_, &root_resource_}) {
      for (const Item& r : *c) {
        const json::value* v = r.is_node() ? r.as_node().value : nullptr;
        const json::object* o = v ? v->if_object() : nullptr;
        const json::value* contained = o ? o->if_contains("contained") : nullptr;
        if (!contained || !contained->is_array()) continue;
        for (const json::value& res : contained->get_array()) {
          if (id_matches(res, {}, id)) return &res;
        }
      }
    }
    return nullptr;
  }
  // Bundle entries: by fullUrl, or by Type/id.
  for (const Item& r : root_resource_) {
    const json::value* v = r.is_node() ? r.as_node().value : nullptr;
    const json::object* o = v ? v->if_object() : nullptr;
    const json::value* entries = o ? o->if_contains("entry") : nullptr;
    if (!entries || !entries->is_array()) continue;
    const std::size_t slash = ref.rfind('/', ref.size() > 0 ? ref.size() - 1 : 0);
    std::string_view type, id;
    if (slash != std::string_view::npos && slash > 0) {
      const std::size_t prev = ref.rfind('/', slash - 1);
      type = ref.substr(prev == std::string_view::npos ? 0 : prev + 1,
                        slash - (prev == std::string_view::npos ? 0 : prev + 1));
      id = ref.substr(slash + 1);
    }
    for (const json::value& e : entries->get_array()) {
      const json::object* eo = e.if_object();
      if (!eo) continue;
      const json::value* res = eo->if_contains("resource");
      if (!res) continue;
      const json::value* full = eo->if_contains("fullUrl");
      if (full && full->is_string() && full->get_string() == ref) return res;
      if (!id.empty() && id_matches(*res, type, id)) return res;
    }
  }
  return nullptr;
}

}  // namespace cg::fhirpath
