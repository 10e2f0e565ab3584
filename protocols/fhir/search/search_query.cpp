#include "protocols/fhir/search/search_query.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>

#include "protocols/fhir/model/primitives.hpp"

namespace cg::fhir::search {
namespace {

constexpr std::array<std::string_view, 13> kModifierNames = {
    "",      "missing",    "exact", "contains", "text",    "not",   "above",
    "below", "identifier", "in",    "not-in",   "of-type", "[type]"};

// Parameters this server knows but does not evaluate: ignored (lenient) or refused (strict).
constexpr std::array<std::string_view, 5> kUnsupported = {"_text", "_content", "_query",
                                                          "_contained", "_containedType"};

bool contains(std::span<const std::string_view> list, std::string_view s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

std::string join(std::span<const std::string_view> list) {
  std::string out;
  for (auto s : list) out += (out.empty() ? "" : ", ") + std::string(s);
  return out;
}

// Why a parameter was not applied. kIgnorable problems become an IgnoredParam when lenient
// and a 400 when strict; everything else is a 400 either way.
struct Problem {
  bool ignorable = false;
  Error error;
};

Problem hard(std::string_view name, std::string message) {
  return {false,
          Error::invalid("parameter '" + std::string(name) + "': " + message, std::string(name))};
}
Problem soft(std::string_view name, std::string message) {
  return {true,
          Error::invalid("parameter '" + std::string(name) + "': " + message, std::string(name))};
}

Value to_value(ComponentValue v) {
  return std::visit([](auto&& x) { return Value{std::move(x)}; }, std::move(v));
}

class QueryParser {
 public:
  QueryParser(std::string_view type, const SearchLimits& limits, bool strict, std::int64_t now)
      : limits_(limits), strict_(strict), now_(now) {
    out_.resource_type = std::string(type);
  }

  Result<SearchRequest> run(std::span<const ParamView> params) {
    if (params.size() > limits_.max_params) {
      return Error::invalid("too many search parameters (" + std::to_string(params.size()) +
                            ", at most " + std::to_string(limits_.max_params) + ")");
    }
    // _type decides which parameters a system search may use, wherever it is written.
    for (const auto& p : params) {
      if (p.name != "_type") continue;
      if (auto problem = parse_types(p)) return std::move(problem->error);
    }
    for (const auto& p : params) {
      if (p.name == "_type" && out_.resource_type.empty()) {
        apply(p);
        continue;
      }
      auto problem = parse_param(p);
      if (!problem) continue;
      if (!problem->ignorable || strict_) return std::move(problem->error);
      out_.ignored.push_back({std::string(p.name), std::string(p.value), problem->error.message});
    }
    return std::move(out_);
  }

 private:
  using MaybeProblem = std::optional<Problem>;

  void apply(const ParamView& p, bool paging = false) {
    out_.applied.push_back({std::string(p.name), std::string(p.value), paging});
  }

  // The type parameters resolve against: the searched type, the only _type, or "" (system).
  std::string_view context_type() const {
    if (!out_.resource_type.empty()) return out_.resource_type;
    return out_.types.size() == 1 ? std::string_view(out_.types[0]) : std::string_view();
  }

  // A parameter of `type`; for "" (system search) one defined on every _type (or Resource).
  const SearchParamDef* lookup(std::string_view type, std::string_view code) const {
    if (!type.empty()) return find_search_parameter(type, code);
    if (out_.types.empty()) return find_search_parameter("Resource", code);
    const SearchParamDef* first = nullptr;
    for (const auto& t : out_.types) {
      const SearchParamDef* def = find_search_parameter(t, code);
      if (def == nullptr || (first != nullptr && def->type != first->type)) return nullptr;
      if (first == nullptr) first = def;
    }
    return first;
  }

  MaybeProblem once(const ParamView& p) {
    if (std::find(seen_.begin(), seen_.end(), p.name) != seen_.end()) {
      return hard(p.name, "may appear only once");
    }
    seen_.push_back(p.name);
    return std::nullopt;
  }

  MaybeProblem parse_types(const ParamView& p) {
    if (!out_.resource_type.empty()) return std::nullopt;  // reported in parse_param
    if (auto problem = once(p)) return problem;
    for (auto t : split_unescaped(p.value, ',')) {
      if (!is_resource_type(t))
        return hard(p.name, "'" + std::string(t) + "' is not a resource type");
      out_.types.emplace_back(t);
    }
    return std::nullopt;
  }

  MaybeProblem parse_param(const ParamView& p) {
    const std::string_view name = p.name;
    if (name.empty()) return soft("", "empty parameter name");
    if (contains(kUnsupported, name.substr(0, name.find(':')))) {
      return soft(name, "not supported by this server");
    }
    if (name == "_type") return soft(name, "only allowed in a system search");
    if (p.value.empty()) return hard(name, "empty value");
    if (name == "_count") return parse_count(p);
    if (name == "_total") return parse_total(p);
    if (name == "_summary") return parse_summary(p);
    if (name == "_elements") return parse_elements(p);
    if (name == "_sort") return parse_sort(p);
    if (name.starts_with("_include") || name.starts_with("_revinclude")) return parse_include(p);
    if (name == "_after" || name == "_cursor") return parse_cursor(p);
    if (name == "_format") {
      if (auto problem = once(p)) return problem;
      out_.format = std::string(p.value);
      apply(p);
      return std::nullopt;
    }
    if (name == "_pretty") {
      if (auto problem = once(p)) return problem;
      if (p.value != "true" && p.value != "false") return hard(name, "must be true or false");
      out_.pretty = p.value == "true";
      apply(p);
      return std::nullopt;
    }
    return parse_criterion(p);
  }

  MaybeProblem parse_count(const ParamView& p) {
    if (auto problem = once(p)) return problem;
    std::size_t n = 0;
    auto r = std::from_chars(p.value.data(), p.value.data() + p.value.size(), n);
    if (r.ec != std::errc() || r.ptr != p.value.data() + p.value.size()) {
      return hard(p.name, "'" + std::string(p.value) + "' is not a non-negative integer");
    }
    if (n > limits_.max_count) {
      return hard(p.name, std::string(p.value) + " exceeds the maximum page size " +
                              std::to_string(limits_.max_count));
    }
    out_.count = n;
    apply(p);
    return std::nullopt;
  }

  template <class Enum, std::size_t N>
  MaybeProblem parse_keyword(const ParamView& p, const std::array<std::string_view, N>& words,
                             std::optional<Enum>& target) {
    if (auto problem = once(p)) return problem;
    auto it = std::find(words.begin(), words.end(), p.value);
    if (it == words.end()) return hard(p.name, "must be one of " + join(words));
    target = static_cast<Enum>(it - words.begin());
    apply(p);
    return std::nullopt;
  }

  MaybeProblem parse_total(const ParamView& p) {
    static constexpr std::array<std::string_view, 3> kWords = {"none", "estimate", "accurate"};
    return parse_keyword(p, kWords, out_.total);
  }

  MaybeProblem parse_summary(const ParamView& p) {
    static constexpr std::array<std::string_view, 5> kWords = {"true", "text", "data", "count",
                                                               "false"};
    return parse_keyword(p, kWords, out_.summary);
  }

  static bool has_element(std::string_view type, std::string_view element) {
    auto id = find_type(type);
    return id && (find_element(*id, element) || find_element_def(*id, element) != nullptr);
  }

  bool element_known(std::string_view element) const {
    const auto dot = element.find('.');
    if (dot != std::string_view::npos) {
      const auto type = element.substr(0, dot);
      const bool searched =
          context_type().empty() ? is_resource_type(type) : type == context_type();
      return searched && has_element(type, element.substr(dot + 1));
    }
    if (!context_type().empty()) return has_element(context_type(), element);
    if (!out_.types.empty()) {
      return std::any_of(out_.types.begin(), out_.types.end(),
                         [&](const std::string& t) { return has_element(t, element); });
    }
    auto all = resource_types();
    return std::any_of(all.begin(), all.end(), [&](auto t) { return has_element(t, element); });
  }

  MaybeProblem parse_elements(const ParamView& p) {
    if (auto problem = once(p)) return problem;
    auto names = split_unescaped(p.value, ',');
    if (names.size() > limits_.max_or_values * 4) return hard(p.name, "too many elements");
    for (auto element : names) {
      if (element.empty() || !element_known(element)) {
        return hard(p.name, "'" + std::string(element) + "' is not an element of " +
                                (context_type().empty() ? std::string("any resource type")
                                                        : std::string(context_type())));
      }
      out_.elements.emplace_back(element);
    }
    apply(p);
    return std::nullopt;
  }

  MaybeProblem parse_sort(const ParamView& p) {
    if (auto problem = once(p)) return problem;
    auto keys = split_unescaped(p.value, ',');
    if (keys.size() > limits_.max_or_values) return hard(p.name, "too many sort keys");
    for (auto key : keys) {
      SortKey k;
      if (key.starts_with('-')) {
        k.descending = true;
        key.remove_prefix(1);
      }
      k.code = std::string(key);
      k.param = lookup(context_type(), key);
      if (k.param == nullptr) {
        return hard(p.name,
                    "'" + k.code + "' is not a search parameter of " +
                        (context_type().empty() ? "Resource" : std::string(context_type())));
      }
      if (k.param->type == SearchParamType::kComposite ||
          k.param->type == SearchParamType::kSpecial || contains(kUnsupported, key)) {
        return hard(p.name, "cannot sort by '" + k.code + "'");
      }
      out_.sort.push_back(std::move(k));
    }
    apply(p);
    return std::nullopt;
  }

  MaybeProblem parse_include(const ParamView& p) {
    Include inc;
    std::string_view name = p.name;
    inc.reverse = name.starts_with("_revinclude");
    name.remove_prefix(inc.reverse ? 11 : 8);
    if (name == ":iterate" || name == ":recurse") {
      inc.iterate = true;
    } else if (!name.empty()) {
      return hard(p.name, "unknown modifier (allowed: :iterate)");
    }
    if (++include_count_ > limits_.max_includes) {
      return hard(p.name, "more than " + std::to_string(limits_.max_includes) +
                              " _include/_revinclude values");
    }
    if (p.value == "*") {
      inc.wildcard = true;
      out_.includes.push_back(std::move(inc));
      apply(p);
      return std::nullopt;
    }
    auto parts = split_unescaped(p.value, ':');
    if (parts.size() < 2 || parts.size() > 3) {
      return hard(p.name, "'" + std::string(p.value) + "' is not Type:param[:targetType]");
    }
    if (!is_resource_type(parts[0])) {
      return hard(p.name, "'" + std::string(parts[0]) + "' is not a resource type");
    }
    inc.source_type = std::string(parts[0]);
    if (parts[1] == "*") {
      inc.wildcard = true;
    } else {
      inc.param = find_search_parameter(parts[0], parts[1]);
      if (inc.param == nullptr || inc.param->type != SearchParamType::kReference) {
        return hard(p.name, "'" + std::string(parts[1]) + "' is not a reference parameter of " +
                                inc.source_type);
      }
    }
    if (parts.size() == 3) {
      if (!is_resource_type(parts[2]) ||
          (inc.param != nullptr && !contains(inc.param->target, parts[2]))) {
        return hard(p.name, "'" + std::string(parts[2]) + "' is not a target type of " +
                                std::string(parts[0]) + ":" + std::string(parts[1]));
      }
      inc.target_type = std::string(parts[2]);
    }
    if (auto problem = check_include_anchor(p.name, inc)) return problem;
    out_.includes.push_back(std::move(inc));
    apply(p);
    return std::nullopt;
  }

  // Without :iterate an _include starts from the searched type and a _revinclude must point
  // at it; with :iterate either may start from any included resource.
  MaybeProblem check_include_anchor(std::string_view name, const Include& inc) const {
    const std::string_view ctx = context_type();
    if (inc.iterate || ctx.empty()) return std::nullopt;
    if (!inc.reverse && inc.source_type != ctx) {
      return hard(name, inc.source_type + " is not the searched type (use :iterate)");
    }
    if (inc.reverse && inc.param != nullptr && !contains(inc.param->target, ctx)) {
      return hard(name, std::string(inc.param->code) + " of " + inc.source_type +
                            " cannot refer to " + std::string(ctx));
    }
    if (inc.reverse && !inc.target_type.empty() && inc.target_type != ctx) {
      return hard(name, "target type must be " + std::string(ctx));
    }
    return std::nullopt;
  }

  MaybeProblem parse_cursor(const ParamView& p) {
    if (!out_.cursor_name.empty()) return hard(p.name, "only one page cursor is allowed");
    out_.cursor_name = std::string(p.name);
    out_.cursor = std::string(p.value);
    apply(p, /*paging=*/true);
    return std::nullopt;
  }

  // --- filter parameters ---------------------------------------------------------------

  MaybeProblem parse_criterion(const ParamView& p) {
    Criterion c;
    c.name = std::string(p.name);
    c.raw_value = std::string(p.value);
    if (auto problem = resolve_name(context_type(), p.name, c)) return problem;
    auto values = split_unescaped(p.value, ',');
    if (values.size() > limits_.max_or_values) {
      return hard(p.name, std::to_string(values.size()) + " values (at most " +
                              std::to_string(limits_.max_or_values) + ")");
    }
    for (auto v : values) {
      if (v.empty()) return hard(p.name, "empty value in '" + std::string(p.value) + "'");
      auto parsed = parse_value(c, v);
      if (!parsed) {
        if (parsed.error().kind == ErrorKind::kUnsupported) {
          return soft(p.name, parsed.error().message);
        }
        return hard(p.name, parsed.error().message);
      }
      c.any_of.push_back(std::move(*parsed));
    }
    out_.criteria.push_back(std::move(c));
    apply(p);
    return std::nullopt;
  }

  // Resolves `name` on `type`: reverse chains (_has:T:p:…), forward chains (p[:T].…) and
  // finally code[:modifier]. Only an unknown code at the very start is ignorable.
  MaybeProblem resolve_name(std::string_view type, std::string_view name, Criterion& c) {
    if (name.starts_with("_has:")) return resolve_has(type, name, c);
    const auto dot = name.find('.');
    const std::string_view head = name.substr(0, dot);
    const auto colon = head.find(':');
    const std::string_view code = head.substr(0, colon);
    const std::string_view modifier =
        colon == std::string_view::npos ? std::string_view() : head.substr(colon + 1);
    const bool top = c.chain.empty();
    if (code == "_list" && top && dot == std::string_view::npos && modifier.empty()) {
      c.code = "_list";
      c.target_type = std::string(type);
      return std::nullopt;
    }
    const SearchParamDef* def = lookup(type, code);
    if (def == nullptr || contains(kUnsupported, code)) {
      const std::string where = type.empty() ? "a system search" : std::string(type);
      if (def != nullptr) return soft(c.name, "'" + std::string(code) + "' is not supported");
      std::string message = "'" + std::string(code) + "' is not a search parameter of " + where;
      return top ? soft(c.name, message) : hard(c.name, message);
    }
    if (dot == std::string_view::npos) return resolve_modifier(type, def, modifier, c);
    return resolve_chain(type, def, modifier, name.substr(dot + 1), c);
  }

  MaybeProblem check_depth(Criterion& c, std::string_view type) {
    if (type.empty()) return hard(c.name, "chains in a system search need _type with one type");
    if (c.chain.size() + 1 > limits_.max_chain_depth) {
      return hard(c.name, "chains deeper than " + std::to_string(limits_.max_chain_depth) +
                              " are not allowed");
    }
    return std::nullopt;
  }

  MaybeProblem resolve_has(std::string_view type, std::string_view name, Criterion& c) {
    if (auto problem = check_depth(c, type)) return problem;
    std::string_view rest = name.substr(5);
    const auto first = rest.find(':');
    const auto second = first == std::string_view::npos ? first : rest.find(':', first + 1);
    if (second == std::string_view::npos || second + 1 >= rest.size()) {
      return hard(c.name, "expected _has:Type:reference:parameter");
    }
    const std::string_view source = rest.substr(0, first);
    const std::string_view ref = rest.substr(first + 1, second - first - 1);
    if (!is_resource_type(source)) {
      return hard(c.name, "'" + std::string(source) + "' is not a resource type");
    }
    const SearchParamDef* def = find_search_parameter(source, ref);
    if (def == nullptr || def->type != SearchParamType::kReference) {
      return hard(c.name, "'" + std::string(ref) + "' is not a reference parameter of " +
                              std::string(source));
    }
    if (!def->target.empty() && !contains(def->target, type)) {
      return hard(c.name, std::string(source) + "." + std::string(ref) + " cannot refer to " +
                              std::string(type));
    }
    c.chain.push_back({Hop::Direction::kReverse, std::string(source), def});
    return resolve_name(source, rest.substr(second + 1), c);
  }

  MaybeProblem resolve_chain(std::string_view type, const SearchParamDef* def,
                             std::string_view modifier, std::string_view tail, Criterion& c) {
    if (def->type != SearchParamType::kReference) {
      return hard(c.name,
                  "'" + std::string(def->code) + "' is not a reference and cannot be chained");
    }
    if (auto problem = check_depth(c, type)) return problem;
    if (tail.empty()) return hard(c.name, "nothing after '.'");
    std::string target;
    if (!modifier.empty()) {
      if (!is_resource_type(modifier) || !contains(def->target, modifier)) {
        return hard(c.name, "'" + std::string(modifier) + "' is not a target type of '" +
                                std::string(def->code) + "' (targets: " + join(def->target) + ")");
      }
      target = std::string(modifier);
    } else {
      const std::string_view next = tail.substr(0, tail.find_first_of(":."));
      std::vector<std::string_view> candidates;
      for (auto t : def->target) {
        if (next == "_has" || find_search_parameter(t, next) != nullptr) candidates.push_back(t);
      }
      if (candidates.empty()) {
        return hard(c.name, "no target type of '" + std::string(def->code) + "' (" +
                                join(def->target) + ") has a parameter '" + std::string(next) +
                                "'");
      }
      if (candidates.size() > 1) {
        return hard(c.name, "ambiguous chain: '" + std::string(next) + "' exists on " +
                                join(candidates) + "; name the type, e.g. " +
                                std::string(def->code) + ":" + std::string(candidates[0]) + "." +
                                std::string(tail));
      }
      target = std::string(candidates[0]);
    }
    c.chain.push_back({Hop::Direction::kForward, target, def});
    return resolve_name(target, tail, c);
  }

  MaybeProblem resolve_modifier(std::string_view type, const SearchParamDef* def,
                                std::string_view modifier, Criterion& c) {
    c.param = def;
    c.code = std::string(def->code);
    c.target_type = std::string(type);
    if (modifier.empty()) return std::nullopt;
    auto known = std::find(kModifierNames.begin() + 1, kModifierNames.end() - 1, modifier);
    if (known != kModifierNames.end() - 1) {
      if (!contains(def->modifiers, modifier)) {
        return hard(c.name, "modifier ':" + std::string(modifier) + "' is not allowed on " +
                                std::string(fhir::to_string(def->type)) + " parameter '" + c.code +
                                "'");
      }
      c.modifier = static_cast<Modifier>(known - kModifierNames.begin());
      return std::nullopt;
    }
    if (def->type == SearchParamType::kReference && is_resource_type(modifier)) {
      if (!contains(def->target, modifier)) {
        return hard(c.name, "'" + std::string(modifier) + "' is not a target type of '" + c.code +
                                "' (targets: " + join(def->target) + ")");
      }
      c.modifier = Modifier::kType;
      c.type_modifier = std::string(modifier);
      return std::nullopt;
    }
    return hard(c.name, "unknown modifier ':" + std::string(modifier) + "'");
  }

  // One OR-alternative of a resolved criterion. kUnsupported errors are ignorable.
  Result<Value> parse_value(const Criterion& c, std::string_view text) {
    if (c.modifier == Modifier::kMissing) return wrap(parse_missing(text));
    if (c.param == nullptr) {  // _list
      if (text.starts_with('$')) return Error::unsupported("functional lists are not supported");
      ReferenceValue r{ReferenceForm::kLocal, "List", unescape(text), {}, {}};
      if (!is_valid_id(r.id)) return Error::invalid("'" + r.id + "' is not a List id");
      return Value{std::move(r)};
    }
    const SearchParamDef& def = *c.param;
    switch (def.type) {
      case SearchParamType::kToken:
        if (c.modifier == Modifier::kText) return Value{StringValue{unescape(text)}};
        if (c.modifier == Modifier::kIn || c.modifier == Modifier::kNotIn) {
          return Value{UriValue{unescape(text)}};
        }
        if (c.modifier == Modifier::kOfType) return wrap(parse_of_type(text));
        return wrap(parse_token(text));
      case SearchParamType::kReference:
        if (c.modifier == Modifier::kIdentifier) return wrap(parse_token(text));
        return wrap(parse_reference(text, def, c.type_modifier));
      case SearchParamType::kComposite:
        return wrap(parse_composite(text, def, now_));
      case SearchParamType::kSpecial:
        if (def.code == "near") return wrap(parse_near(text));
        return Error::unsupported("'" + std::string(def.code) + "' is not supported");
      default: {
        auto v = parse_simple(text, def, now_);
        if (!v) return v.take_error();
        return to_value(std::move(*v));
      }
    }
  }

  template <class T>
  static Result<Value> wrap(Result<T> r) {
    if (!r) return r.take_error();
    return Value{std::move(*r)};
  }

  const SearchLimits& limits_;
  const bool strict_;
  const std::int64_t now_;
  SearchRequest out_;
  std::vector<std::string_view> seen_;
  std::size_t include_count_ = 0;
};

bool is_link_safe(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("-._~:/|,$*@!()'").find(c) != std::string_view::npos;
}

}  // namespace

static void append_encoded(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char c : text) {
    if (is_link_safe(c)) {
      out += c;
    } else {
      const auto b = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[b >> 4];
      out += kHex[b & 15];
    }
  }
}

std::string encode_query_value(std::string_view text) {
  std::string out;
  append_encoded(out, text);
  return out;
}

std::string_view to_string(Modifier modifier) {
  const auto i = static_cast<std::size_t>(modifier);
  return i < kModifierNames.size() ? kModifierNames[i] : std::string_view{};
}

std::string SearchRequest::self_query(bool with_cursor) const {
  std::string out;
  for (const Applied& a : applied) {
    if (a.paging && !with_cursor) continue;
    if (!out.empty()) out += '&';
    append_encoded(out, a.name);
    out += '=';
    append_encoded(out, a.value);
  }
  return out;
}

std::int64_t system_now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

Result<SearchRequest> parse_search(std::string_view resource_type,
                                   std::span<const ParamView> params, const SearchLimits& limits,
                                   bool strict, std::int64_t now_ms) {
  if (!resource_type.empty() && !is_resource_type(resource_type)) {
    return Error::not_found("unknown resource type '" + std::string(resource_type) + "'");
  }
  return QueryParser(resource_type, limits, strict, now_ms).run(params);
}

}  // namespace cg::fhir::search
