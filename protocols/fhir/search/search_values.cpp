#include "protocols/fhir/search/search_values.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "protocols/fhir/model/fhir_time.hpp"
#include "protocols/fhir/model/primitives.hpp"

namespace cg::fhir::search {
namespace {

constexpr std::array<std::string_view, 9> kPrefixes = {"eq", "ne", "gt", "lt", "ge",
                                                       "le", "sa", "eb", "ap"};

Error bad(std::string_view what, std::string_view text) {
  return Error::invalid("'" + std::string(text) + "' is not a valid " + std::string(what));
}

bool is_lower(char c) {
  return c >= 'a' && c <= 'z';
}

// Splits a leading two-letter prefix off `text`. A value starting with two lower-case
// letters must start with a known prefix (dates and numbers never start with letters).
Result<Prefix> take_prefix(std::string_view& text, std::string_view what) {
  if (text.size() < 2 || !is_lower(text[0]) || !is_lower(text[1])) return Prefix::kEq;
  auto it = std::find(kPrefixes.begin(), kPrefixes.end(), text.substr(0, 2));
  if (it == kPrefixes.end()) {
    return Error::invalid("'" + std::string(text.substr(0, 2)) + "' is not a search prefix (" +
                          std::string(what) + " '" + std::string(text) + "')");
  }
  text.remove_prefix(2);
  return static_cast<Prefix>(it - kPrefixes.begin());
}

bool digits(std::string_view s, std::size_t& pos) {
  const std::size_t start = pos;
  while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
  return pos > start;
}

// FHIR decimal syntax (with an optional exponent); returns the decimal exponent of the last
// written digit: "100" → 0, "1.50" → -2, "1e2" → 2.
std::optional<int> last_digit_exponent(std::string_view s) {
  std::size_t pos = 0;
  if (pos < s.size() && s[pos] == '-') ++pos;
  if (!digits(s, pos)) return std::nullopt;
  int exponent = 0;
  if (pos < s.size() && s[pos] == '.') {
    const std::size_t start = ++pos;
    if (!digits(s, pos)) return std::nullopt;
    exponent = -static_cast<int>(pos - start);
  }
  if (pos < s.size() && (s[pos] == 'e' || s[pos] == 'E')) {
    ++pos;
    int sign = 1;
    if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) sign = s[pos++] == '-' ? -1 : 1;
    const std::size_t start = pos;
    if (!digits(s, pos) || pos - start > 3) return std::nullopt;
    exponent += sign * std::atoi(std::string(s.substr(start, pos - start)).c_str());
  }
  if (pos != s.size()) return std::nullopt;
  return exponent;
}

Status check_prefix_allowed(Prefix prefix, const SearchParamDef& def) {
  // The R4 definitions list comparators for some parameters only; where they list none,
  // every prefix of the parameter's type is accepted.
  if (def.comparator_bits == 0 || def.allows(prefix)) return ok_status();
  return Error::invalid("prefix '" + std::string(to_string(prefix)) + "' is not allowed");
}

bool has_scheme(std::string_view s) {
  const auto colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  return std::all_of(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(colon), [](char c) {
    return is_lower(c) || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '-' || c == '.';
  });
}

bool is_target(const SearchParamDef& def, std::string_view type) {
  return def.target.empty() || std::binary_search(def.target.begin(), def.target.end(), type);
}

Result<double> parse_double(std::string_view text, std::string_view what) {
  double v = 0;
  auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (r.ec != std::errc() || r.ptr != text.data() + text.size() || !std::isfinite(v)) {
    return bad(what, text);
  }
  return v;
}

}  // namespace

std::string_view to_string(Prefix prefix) {
  const auto i = static_cast<std::size_t>(prefix);
  return i < kPrefixes.size() ? kPrefixes[i] : std::string_view{};
}

std::vector<std::string_view> split_unescaped(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      ++i;
    } else if (text[i] == sep) {
      out.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  out.push_back(text.substr(start));
  return out;
}

std::string unescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool escape = text[i] == '\\' && i + 1 < text.size() &&
                        std::string_view(",|$\\").find(text[i + 1]) != std::string_view::npos;
    if (escape) ++i;
    out += text[i];
  }
  return out;
}

Result<NumberValue> parse_number(std::string_view text) {
  auto prefix = take_prefix(text, "number");
  if (!prefix) return prefix.take_error();
  auto exponent = last_digit_exponent(text);
  if (!exponent) return bad("number", text);
  auto value = parse_double(text, "number");
  if (!value) return value.take_error();
  const double half = 0.5 * std::pow(10.0, *exponent);
  NumberValue n{*prefix, *value, *value - half, *value + half, std::string(text)};
  if (n.prefix == Prefix::kAp) {
    const double tenth = std::abs(n.value) / 10;
    n.low = std::min(n.low, n.value - tenth);
    n.high = std::max(n.high, n.value + tenth);
  }
  if (!std::isfinite(n.low) || !std::isfinite(n.high)) return bad("number", text);
  return n;
}

Result<DateValue> parse_date(std::string_view text, std::int64_t now_ms) {
  auto prefix = take_prefix(text, "date");
  if (!prefix) return prefix.take_error();
  auto range = parse_time_range(text);
  if (!range) return bad("date, dateTime or instant", text);
  DateValue d{*prefix, range->begin_ms, range->end_ms, std::string(text)};
  if (d.prefix == Prefix::kAp) {
    // R4: "10% of the gap between now and the date".
    const std::int64_t gap = now_ms > d.begin_ms ? now_ms - d.begin_ms : d.begin_ms - now_ms;
    d.begin_ms -= gap / 10;
    d.end_ms += gap / 10;
  }
  return d;
}

Result<TokenValue> parse_token(std::string_view text) {
  auto parts = split_unescaped(text, '|');
  TokenValue t;
  if (parts.size() == 1) {
    t.code = unescape(parts[0]);
  } else if (parts.size() == 2 && parts[0].empty()) {
    t.system_match = SystemMatch::kNone;
    t.code = unescape(parts[1]);
  } else if (parts.size() == 2) {
    t.system_match = SystemMatch::kExact;
    t.system = unescape(parts[0]);
    t.code = unescape(parts[1]);
  } else {
    return bad("token (expected [system|]code)", text);
  }
  if (t.code.empty() && t.system_match != SystemMatch::kExact) {
    return bad("token (expected [system|]code)", text);
  }
  return t;
}

Result<TokenValue> parse_of_type(std::string_view text) {
  auto parts = split_unescaped(text, '|');
  if (parts.size() != 3 ||
      std::any_of(parts.begin(), parts.end(), [](auto p) { return p.empty(); })) {
    return bad(":of-type value (expected type-system|type-code|value)", text);
  }
  TokenValue t;
  t.type_system = unescape(parts[0]);
  t.type_code = unescape(parts[1]);
  t.code = unescape(parts[2]);
  return t;
}

Result<ReferenceValue> parse_reference(std::string_view text, const SearchParamDef& def,
                                       std::string_view type_modifier) {
  auto parts = split_unescaped(text, '|');
  if (parts.size() > 2) return bad("reference", text);
  ReferenceValue r;
  if (parts.size() == 2) {
    if (parts[0].empty() || parts[1].empty()) return bad("canonical reference (url|version)", text);
    r.form = ReferenceForm::kCanonical;
    r.url = unescape(parts[0]);
    r.version = unescape(parts[1]);
    return r;
  }
  const std::string value = unescape(text);
  if (has_scheme(value)) {
    r.form = ReferenceForm::kAbsolute;
    r.url = value;
    return r;
  }
  const auto slash = value.find('/');
  if (slash == std::string::npos) {
    if (!is_valid_id(value)) return bad("reference id", text);
    r.form = ReferenceForm::kId;
    r.type = std::string(type_modifier);
    if (r.type.empty() && def.target.size() == 1) r.type = std::string(def.target[0]);
    r.id = value;
    return r;
  }
  // Type/id or Type/id/_history/vid
  auto segments = split_unescaped(value, '/');
  const bool versioned = segments.size() == 4 && segments[2] == "_history";
  if ((segments.size() != 2 && !versioned) || !is_resource_type(segments[0]) ||
      !is_valid_id(segments[1]) || (versioned && !is_valid_id(segments[3]))) {
    return bad("reference (expected Type/id, id or an absolute URL)", text);
  }
  if (!is_target(def, segments[0]) || (!type_modifier.empty() && segments[0] != type_modifier)) {
    return Error::invalid("'" + std::string(segments[0]) + "' is not a target type of '" +
                          std::string(def.code) + "'");
  }
  r.type = std::string(segments[0]);
  r.id = std::string(segments[1]);
  if (versioned) r.version = std::string(segments[3]);
  return r;
}

Result<QuantityValue> parse_quantity(std::string_view text) {
  auto parts = split_unescaped(text, '|');
  if (parts.size() != 1 && parts.size() != 3) {
    return bad("quantity (expected [prefix]number[|system|code])", text);
  }
  auto number = parse_number(parts[0]);
  if (!number) return number.take_error();
  QuantityValue q{std::move(*number), SystemMatch::kAny, {}, {}};
  if (parts.size() == 3) {
    q.system = unescape(parts[1]);
    q.code = unescape(parts[2]);
    if (!q.system.empty()) q.system_match = SystemMatch::kExact;
    if (q.system.empty() && q.code.empty()) return bad("quantity (empty system and code)", text);
  }
  return q;
}

Result<NearValue> parse_near(std::string_view text) {
  auto parts = split_unescaped(text, '|');
  if (parts.size() < 2 || parts.size() > 4) {
    return bad("near value (expected latitude|longitude[|distance[|units]])", text);
  }
  auto lat = parse_double(parts[0], "latitude");
  auto lon = parse_double(parts[1], "longitude");
  if (!lat) return lat.take_error();
  if (!lon) return lon.take_error();
  if (std::abs(*lat) > 90 || std::abs(*lon) > 180) return bad("near coordinate", text);
  NearValue n{*lat, *lon, std::nullopt, {}};
  if (parts.size() >= 3 && !parts[2].empty()) {
    auto distance = parse_double(parts[2], "distance");
    if (!distance || *distance < 0) return bad("near distance", parts[2]);
    n.distance = *distance;
  }
  if (parts.size() == 4) n.units = unescape(parts[3]);
  return n;
}

Result<MissingValue> parse_missing(std::string_view text) {
  if (text == "true") return MissingValue{true};
  if (text == "false") return MissingValue{false};
  return bad(":missing value (expected true or false)", text);
}

Result<ComponentValue> parse_simple(std::string_view text, const SearchParamDef& def,
                                    std::int64_t now_ms) {
  auto with_prefix_check = [&](auto parsed) -> Result<ComponentValue> {
    if (!parsed) return parsed.take_error();
    Prefix p;
    if constexpr (std::is_same_v<std::decay_t<decltype(*parsed)>, QuantityValue>) {
      p = parsed->number.prefix;
    } else {
      p = parsed->prefix;
    }
    if (auto s = check_prefix_allowed(p, def); !s) return s.take_error();
    return ComponentValue{std::move(*parsed)};
  };
  switch (def.type) {
    case SearchParamType::kNumber:
      return with_prefix_check(parse_number(text));
    case SearchParamType::kDate:
      return with_prefix_check(parse_date(text, now_ms));
    case SearchParamType::kQuantity:
      return with_prefix_check(parse_quantity(text));
    case SearchParamType::kString: {
      std::string s = unescape(text);
      if (s.empty()) return bad("string", text);
      return ComponentValue{StringValue{std::move(s)}};
    }
    case SearchParamType::kUri: {
      std::string s = unescape(text);
      if (s.empty()) return bad("uri", text);
      return ComponentValue{UriValue{std::move(s)}};
    }
    case SearchParamType::kToken: {
      auto t = parse_token(text);
      if (!t) return t.take_error();
      return ComponentValue{std::move(*t)};
    }
    case SearchParamType::kReference: {
      auto r = parse_reference(text, def, {});
      if (!r) return r.take_error();
      return ComponentValue{std::move(*r)};
    }
    case SearchParamType::kComposite:
    case SearchParamType::kSpecial:
      break;
  }
  return Error::invalid("a " + std::string(fhir::to_string(def.type)) +
                        " value cannot be used here");
}

Result<CompositeValue> parse_composite(std::string_view text, const SearchParamDef& def,
                                       std::int64_t now_ms) {
  auto parts = split_unescaped(text, '$');
  if (parts.size() != def.components.size()) {
    return Error::invalid("'" + std::string(text) + "' must have " +
                          std::to_string(def.components.size()) + " components joined by '$'");
  }
  CompositeValue c;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const SearchParamDef* component = search_parameter_by_url(def.components[i].definition);
    if (component == nullptr || component->type == SearchParamType::kComposite) {
      return Error::internal("composite '" + std::string(def.code) + "' has an unknown component " +
                             std::string(def.components[i].definition));
    }
    auto v = parse_simple(parts[i], *component, now_ms);
    if (!v) return v.take_error();
    c.components.push_back({component, std::move(*v)});
  }
  return c;
}

}  // namespace cg::fhir::search
