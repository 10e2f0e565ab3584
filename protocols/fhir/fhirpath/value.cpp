#include "protocols/fhir/fhirpath/value.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>

namespace cg::fhirpath {
namespace {

long double pow10(int n) {
  long double r = 1;
  for (int i = 0; i < n; ++i) r *= 10;
  return r;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Parses exactly `n` digits at s[pos], advancing pos.
bool read_digits(std::string_view s, std::size_t& pos, int n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (int i = 0; i < n; ++i) {
    if (!is_digit(s[pos + i])) return false;
    v = v * 10 + (s[pos + i] - '0');
  }
  pos += n;
  out = v;
  return true;
}

bool is_leap(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}
int days_in_month(int y, int m) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[static_cast<std::size_t>(m - 1)];
}

// Howard Hinnant's civil-date algorithms.
std::int64_t days_from_civil(std::int64_t y, int m, int d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}
void civil_from_days(std::int64_t z, int& y, int& m, int& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  y = static_cast<int>(yoe + era * 400 + (m <= 2));
}

bool parse_date_part(std::string_view s, std::size_t& pos, Temporal& t) {
  if (!read_digits(s, pos, 4, t.year)) return false;
  t.precision = TemporalPrecision::kYear;
  if (pos < s.size() && s[pos] == '-') {
    ++pos;
    if (!read_digits(s, pos, 2, t.month) || t.month < 1 || t.month > 12) return false;
    t.precision = TemporalPrecision::kMonth;
    if (pos < s.size() && s[pos] == '-') {
      ++pos;
      if (!read_digits(s, pos, 2, t.day) || t.day < 1 || t.day > days_in_month(t.year, t.month)) {
        return false;
      }
      t.precision = TemporalPrecision::kDay;
    }
  }
  return true;
}

bool parse_time_part(std::string_view s, std::size_t& pos, Temporal& t) {
  if (!read_digits(s, pos, 2, t.hour) || t.hour > 23) return false;
  t.precision = TemporalPrecision::kHour;
  if (pos < s.size() && s[pos] == ':') {
    ++pos;
    if (!read_digits(s, pos, 2, t.minute) || t.minute > 59) return false;
    t.precision = TemporalPrecision::kMinute;
    if (pos < s.size() && s[pos] == ':') {
      ++pos;
      if (!read_digits(s, pos, 2, t.second) || t.second > 59) return false;
      t.precision = TemporalPrecision::kSecond;
      if (pos < s.size() && s[pos] == '.') {
        ++pos;
        std::size_t start = pos;
        int ms = 0, digits = 0;
        while (pos < s.size() && is_digit(s[pos])) {
          if (digits < 3) ms = ms * 10 + (s[pos] - '0'), ++digits;
          ++pos;
        }
        if (pos == start) return false;
        while (digits < 3) ms *= 10, ++digits;
        t.millisecond = ms;
        t.precision = TemporalPrecision::kMillisecond;
      }
    }
  }
  return true;
}

bool parse_zone(std::string_view s, std::size_t& pos, Temporal& t) {
  if (pos >= s.size()) return true;
  if (s[pos] == 'Z') {
    ++pos;
    t.has_tz = t.tz_is_z = true;
    return true;
  }
  if (s[pos] != '+' && s[pos] != '-') return false;
  const int sign = s[pos] == '-' ? -1 : 1;
  ++pos;
  int h = 0, m = 0;
  if (!read_digits(s, pos, 2, h) || pos >= s.size() || s[pos] != ':') return false;
  ++pos;
  if (!read_digits(s, pos, 2, m) || h > 14 || m > 59) return false;
  t.has_tz = true;
  t.tz_minutes = sign * (h * 60 + m);
  return true;
}

int level_of(const Temporal& t) {
  // Milliseconds are part of the seconds level for comparisons.
  const int p = std::min(static_cast<int>(t.precision), 6);
  return t.kind == TemporalKind::kTime ? p - 3 : p;
}

// Minutes since the epoch of the date and time fields.
std::int64_t to_minutes(const Temporal& t) {
  return days_from_civil(t.year, t.month, t.day) * 1440 + t.hour * 60 + t.minute;
}
void from_minutes(std::int64_t minutes, Temporal& t) {
  std::int64_t days = minutes >= 0 ? minutes / 1440 : -((-minutes + 1439) / 1440);
  std::int64_t rest = minutes - days * 1440;
  civil_from_days(days, t.year, t.month, t.day);
  t.hour = static_cast<int>(rest / 60);
  t.minute = static_cast<int>(rest % 60);
}

Temporal to_utc(Temporal t) {
  if (!t.has_tz || t.tz_minutes == 0 || t.kind == TemporalKind::kTime) return t;
  from_minutes(to_minutes(t) - t.tz_minutes, t);
  t.tz_minutes = 0;
  return t;
}

std::array<std::int64_t, 6> fields(const Temporal& t) {
  if (t.kind == TemporalKind::kTime) {
    return {t.hour, t.minute, t.second * 1000 + t.millisecond, 0, 0, 0};
  }
  return {t.year, t.month, t.day, t.hour, t.minute, t.second * 1000 + t.millisecond};
}

}  // namespace

// --- Decimal -------------------------------------------------------------------------

std::optional<Decimal> Decimal::parse(std::string_view text) {
  std::size_t i = 0;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) ++i;
  const std::size_t int_start = i;
  while (i < text.size() && is_digit(text[i])) ++i;
  if (i == int_start) return std::nullopt;
  int scale = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    const std::size_t frac_start = i;
    while (i < text.size() && is_digit(text[i])) ++i;
    if (i == frac_start) return std::nullopt;
    scale = static_cast<int>(i - frac_start);
  }
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    int sign = 1;
    if (i < text.size() && (text[i] == '-' || text[i] == '+')) sign = text[i++] == '-' ? -1 : 1;
    const std::size_t exp_start = i;
    int exp = 0;
    while (i < text.size() && is_digit(text[i]) && exp < 10000) exp = exp * 10 + (text[i++] - '0');
    if (i == exp_start) return std::nullopt;
    scale = std::max(0, scale - sign * exp);
  }
  if (i != text.size()) return std::nullopt;
  std::string copy(text);
  Decimal d;
  d.value = std::strtold(copy.c_str(), nullptr);
  if (!std::isfinite(d.value)) return std::nullopt;
  d.scale = std::min(scale, 28);
  return d;
}

std::string Decimal::to_string() const {
  char buf[128];
  const int s = std::clamp(scale, 0, 28);
  std::snprintf(buf, sizeof buf, "%.*Lf", s, value);
  std::string out(buf);
  if (out == "-0" || (out.size() > 1 && out[0] == '-' &&
                      out.find_first_not_of("-0.") == std::string::npos && value == 0)) {
    out.erase(0, 1);
  }
  return out;
}

namespace {
int compare_at_scale(const Decimal& a, const Decimal& b, int scale) {
  scale = std::clamp(scale, 0, 18);
  const long double f = pow10(scale);
  const long double x = std::round(a.value * f), y = std::round(b.value * f);
  return x < y ? -1 : (x > y ? 1 : 0);
}
}  // namespace

bool decimal_equal(const Decimal& a, const Decimal& b) {
  return compare_at_scale(a, b, std::max(a.scale, b.scale)) == 0;
}
bool decimal_equivalent(const Decimal& a, const Decimal& b) {
  return compare_at_scale(a, b, std::min(a.scale, b.scale)) == 0;
}
int decimal_compare(const Decimal& a, const Decimal& b) {
  return compare_at_scale(a, b, std::max(a.scale, b.scale));
}
Decimal decimal_round(const Decimal& d, int digits) {
  const long double f = pow10(std::clamp(digits, 0, 18));
  return {std::round(d.value * f) / f, digits};
}

// --- Temporal ------------------------------------------------------------------------

std::optional<Temporal> Temporal::parse_date(std::string_view text) {
  Temporal t;
  t.kind = TemporalKind::kDate;
  std::size_t pos = 0;
  if (!parse_date_part(text, pos, t) || pos != text.size()) return std::nullopt;
  return t;
}

std::optional<Temporal> Temporal::parse_date_time(std::string_view text) {
  Temporal t;
  t.kind = TemporalKind::kDateTime;
  std::size_t pos = 0;
  if (!parse_date_part(text, pos, t)) return std::nullopt;
  if (pos < text.size() && text[pos] == 'T') {
    if (t.precision != TemporalPrecision::kDay) return std::nullopt;
    ++pos;
    if (pos < text.size() && !parse_time_part(text, pos, t)) return std::nullopt;
  }
  if (!parse_zone(text, pos, t) || pos != text.size()) return std::nullopt;
  return t;
}

std::optional<Temporal> Temporal::parse_time(std::string_view text) {
  Temporal t;
  t.kind = TemporalKind::kTime;
  std::size_t pos = 0;
  if (!parse_time_part(text, pos, t) || pos != text.size()) return std::nullopt;
  return t;
}

std::string Temporal::to_string() const {
  char buf[64];
  std::string out;
  const auto p = static_cast<int>(precision);
  if (kind != TemporalKind::kTime) {
    std::snprintf(buf, sizeof buf, "%04d", year);
    out += buf;
    if (p >= 2) std::snprintf(buf, sizeof buf, "-%02d", month), out += buf;
    if (p >= 3) std::snprintf(buf, sizeof buf, "-%02d", day), out += buf;
    if (kind == TemporalKind::kDate || p < 4) return out;
    out += 'T';
  }
  std::snprintf(buf, sizeof buf, "%02d", hour);
  out += buf;
  if (p >= 5) std::snprintf(buf, sizeof buf, ":%02d", minute), out += buf;
  if (p >= 6) std::snprintf(buf, sizeof buf, ":%02d", second), out += buf;
  if (p >= 7) std::snprintf(buf, sizeof buf, ".%03d", millisecond), out += buf;
  if (kind == TemporalKind::kDateTime && has_tz) {
    if (tz_is_z && tz_minutes == 0) {
      out += 'Z';
    } else {
      const int m = std::abs(tz_minutes);
      std::snprintf(buf, sizeof buf, "%c%02d:%02d", tz_minutes < 0 ? '-' : '+', m / 60, m % 60);
      out += buf;
    }
  }
  return out;
}

Ordering temporal_compare(const Temporal& a0, const Temporal& b0) {
  const bool a_time = a0.kind == TemporalKind::kTime, b_time = b0.kind == TemporalKind::kTime;
  if (a_time != b_time) return std::nullopt;
  const int la = level_of(a0), lb = level_of(b0);
  const int hour_level = a_time ? 1 : 4;
  Temporal a = a0, b = b0;
  if (!a_time && std::min(la, lb) >= hour_level) {
    if (a.has_tz != b.has_tz) return std::nullopt;
    a = to_utc(a);
    b = to_utc(b);
  }
  const auto fa = fields(a), fb = fields(b);
  const int common = std::min(la, lb);
  for (int i = 0; i < common; ++i) {
    if (fa[static_cast<std::size_t>(i)] != fb[static_cast<std::size_t>(i)]) {
      return fa[static_cast<std::size_t>(i)] < fb[static_cast<std::size_t>(i)] ? -1 : 1;
    }
  }
  if (la != lb) return std::nullopt;
  return 0;
}

bool temporal_equivalent(const Temporal& a, const Temporal& b) {
  if (level_of(a) != level_of(b)) return false;
  const Ordering o = temporal_compare(a, b);
  return o && *o == 0;
}

int temporal_precision_digits(const Temporal& t) {
  static constexpr std::array<int, 8> kDate = {0, 4, 6, 8, 10, 12, 14, 17};
  static constexpr std::array<int, 8> kTime = {0, 0, 0, 0, 2, 4, 6, 9};
  const auto p = static_cast<std::size_t>(t.precision);
  return t.kind == TemporalKind::kTime ? kTime[p] : kDate[p];
}

// --- Units ---------------------------------------------------------------------------

std::string_view calendar_unit(std::string_view w) {
  static constexpr std::array<std::string_view, 8> kUnits = {
      "year", "month", "week", "day", "hour", "minute", "second", "millisecond"};
  for (std::string_view u : kUnits) {
    if (w == u || (w.size() == u.size() + 1 && w.substr(0, u.size()) == u && w.back() == 's')) {
      return u;
    }
  }
  return {};
}

namespace {

struct Atom {
  std::string_view code;
  long double factor;
  std::string_view base;  // "" for dimensionless
  int power;
  bool metric;
};
constexpr Atom kAtoms[] = {
    {"m", 1, "m", 1, true},
    {"g", 1, "g", 1, true},
    {"s", 1, "s", 1, true},
    {"l", 0.001L, "m", 3, true},
    {"L", 0.001L, "m", 3, true},
    {"mol", 1, "mol", 1, true},
    {"eq", 1, "eq", 1, true},
    {"U", 1, "U", 1, true},
    {"[iU]", 1, "[iU]", 1, true},
    {"[IU]", 1, "[iU]", 1, true},
    {"Pa", 1, "Pa", 1, true},
    {"m[Hg]", 133322, "Pa", 1, true},
    {"min", 60, "s", 1, false},
    {"h", 3600, "s", 1, false},
    {"d", 86400, "s", 1, false},
    {"wk", 604800, "s", 1, false},
    {"mo", 2629800, "s", 1, false},
    {"a", 31557600, "s", 1, false},
    {"[lb_av]", 453.59237L, "g", 1, false},
    {"[oz_av]", 28.349523125L, "g", 1, false},
    {"[in_i]", 0.0254L, "m", 1, false},
    {"[ft_i]", 0.3048L, "m", 1, false},
    {"[yd_i]", 0.9144L, "m", 1, false},
    {"[mi_i]", 1609.344L, "m", 1, false},
    {"%", 0.01L, "", 1, false},
    {"1", 1, "", 1, false},
};
struct Prefix {
  std::string_view code;
  long double factor;
};
constexpr Prefix kPrefixes[] = {{"da", 10},   {"k", 1e3L},  {"M", 1e6L},   {"G", 1e9L},
                                {"h", 100},   {"d", 0.1L},  {"c", 0.01L},  {"m", 0.001L},
                                {"u", 1e-6L}, {"n", 1e-9L}, {"p", 1e-12L}, {"T", 1e12L}};

using DimMap = std::map<std::string, int>;

bool apply_atom(std::string_view code, int exp, long double& factor, DimMap& dims) {
  auto apply = [&](const Atom& a, long double pf) {
    factor *= std::pow(a.factor * pf, static_cast<long double>(exp));
    if (!a.base.empty()) dims[std::string(a.base)] += a.power * exp;
  };
  for (const Atom& a : kAtoms) {
    if (a.code == code) return apply(a, 1), true;
  }
  for (const Prefix& p : kPrefixes) {
    if (code.size() <= p.code.size() || code.substr(0, p.code.size()) != p.code) continue;
    for (const Atom& a : kAtoms) {
      if (a.metric && a.code == code.substr(p.code.size())) return apply(a, p.factor), true;
    }
  }
  // Unknown atom: opaque, comparable only with itself.
  if (code.empty()) return false;
  dims[std::string(code)] += exp;
  return true;
}

// term := ['/'] component (('.' | '/') component)*
bool parse_term(std::string_view s, std::size_t& pos, long double& factor, DimMap& dims, int sign,
                int depth);

bool parse_component(std::string_view s, std::size_t& pos, long double& factor, DimMap& dims,
                     int sign, int depth) {
  if (pos < s.size() && s[pos] == '(') {
    ++pos;
    if (!parse_term(s, pos, factor, dims, sign, depth + 1)) return false;
    if (pos >= s.size() || s[pos] != ')') return false;
    ++pos;
    return true;
  }
  std::size_t start = pos;
  int bracket = 0;
  while (pos < s.size()) {
    const char c = s[pos];
    if (c == '[' || c == '{') ++bracket;
    if (c == ']' || c == '}') --bracket;
    if (bracket == 0 && (c == '.' || c == '/' || c == '(' || c == ')')) break;
    ++pos;
  }
  std::string text(s.substr(start, pos - start));
  // Annotations {…} mean nothing for conversion.
  for (std::size_t b; (b = text.find('{')) != std::string::npos;) {
    const std::size_t e = text.find('}', b);
    if (e == std::string::npos) return false;
    text.erase(b, e - b + 1);
  }
  if (text.empty()) return true;  // "{count}" alone is dimensionless
  if (std::all_of(text.begin(), text.end(), is_digit)) {
    factor *= std::pow(std::strtold(text.c_str(), nullptr), static_cast<long double>(sign));
    return true;
  }
  // 10*3 / 10^3 style powers of ten.
  if (const std::size_t star = text.find_first_of("*^"); star != std::string::npos) {
    const std::string base = text.substr(0, star);
    const std::string exp = text.substr(star + 1);
    if (base.empty() || !std::all_of(base.begin(), base.end(), is_digit) || exp.empty()) {
      return false;
    }
    factor *=
        std::pow(std::pow(std::strtold(base.c_str(), nullptr), std::strtold(exp.c_str(), nullptr)),
                 static_cast<long double>(sign));
    return true;
  }
  std::size_t e = text.size();
  while (e > 0 && is_digit(text[e - 1])) --e;
  if (e > 0 && e < text.size() && (text[e - 1] == '-' || text[e - 1] == '+')) --e;
  int exp = 1;
  if (e < text.size() && e > 0) {
    if (text.size() - e > 3) return false;  // exponents beyond ±99 are not units
    exp = std::atoi(text.c_str() + e);
  }
  if (e == 0) e = text.size();
  return apply_atom(std::string_view(text).substr(0, e), exp * sign, factor, dims);
}

bool parse_term(std::string_view s, std::size_t& pos, long double& factor, DimMap& dims, int sign,
                int depth) {
  if (depth > 8) return false;
  int op = sign;
  if (pos < s.size() && s[pos] == '/') {
    op = -sign;
    ++pos;
  }
  if (!parse_component(s, pos, factor, dims, op, depth)) return false;
  while (pos < s.size() && (s[pos] == '.' || s[pos] == '/')) {
    op = s[pos] == '/' ? -sign : sign;
    ++pos;
    if (!parse_component(s, pos, factor, dims, op, depth)) return false;
  }
  return true;
}

int digits_after_point(long double f) {
  for (int k = 0; k <= 12; ++k) {
    const long double scaled = f * pow10(k);
    if (std::fabs(scaled - std::round(scaled)) < 1e-9L * std::max(1.0L, std::fabs(scaled))) {
      return k;
    }
  }
  return 12;
}

// The UCUM code a calendar keyword compares equal to (year and month compare only with
// each other, never with UCUM 'a' / 'mo').
std::string_view calendar_as_ucum(std::string_view keyword) {
  if (keyword == "week") return "wk";
  if (keyword == "day") return "d";
  if (keyword == "hour") return "h";
  if (keyword == "minute") return "min";
  if (keyword == "second") return "s";
  if (keyword == "millisecond") return "ms";
  return {};
}

struct CanonicalValue {
  Decimal value;
  std::vector<std::pair<std::string, int>> dims;
};

std::optional<CanonicalUnit> unit_of(const Quantity& q) {
  if (q.calendar) {
    const std::string_view kw = calendar_unit(q.unit);
    if (kw == "year") return CanonicalUnit{12, 0, {{"~calendar-month", 1}}};
    if (kw == "month") return CanonicalUnit{1, 0, {{"~calendar-month", 1}}};
    return ucum_canonical(calendar_as_ucum(kw));
  }
  return ucum_canonical(q.unit);
}

std::optional<CanonicalValue> canonical(const Quantity& q) {
  auto u = unit_of(q);
  if (!u) return std::nullopt;
  return CanonicalValue{{q.value.value * u->factor, q.value.scale + u->factor_scale},
                        std::move(u->dims)};
}

}  // namespace

std::optional<CanonicalUnit> ucum_canonical(std::string_view unit) {
  if (unit.empty()) unit = "1";
  long double factor = 1;
  DimMap dims;
  std::size_t pos = 0;
  if (!parse_term(unit, pos, factor, dims, 1, 0) || pos != unit.size()) return std::nullopt;
  if (!std::isfinite(factor) || factor == 0) return std::nullopt;
  CanonicalUnit out;
  out.factor = factor;
  out.factor_scale = digits_after_point(factor);
  for (auto& [name, exp] : dims) {
    if (exp != 0) out.dims.emplace_back(name, exp);
  }
  return out;
}

std::string Quantity::to_string() const {
  if (calendar) return value.to_string() + " " + unit;
  return value.to_string() + " '" + unit + "'";
}

Ordering quantity_compare(const Quantity& a, const Quantity& b) {
  auto ca = canonical(a), cb = canonical(b);
  if (!ca || !cb || ca->dims != cb->dims) return std::nullopt;
  return decimal_compare(ca->value, cb->value);
}

std::optional<bool> quantity_equal(const Quantity& a, const Quantity& b) {
  auto ca = canonical(a), cb = canonical(b);
  if (!ca || !cb || ca->dims != cb->dims) return std::nullopt;
  return decimal_equal(ca->value, cb->value);
}

std::optional<bool> quantity_equivalent(const Quantity& a, const Quantity& b) {
  auto ca = canonical(a), cb = canonical(b);
  if (!ca || !cb || ca->dims != cb->dims) return false;
  return decimal_equivalent(ca->value, cb->value);
}

bool quantity_comparable(const Quantity& a, const Quantity& b) {
  auto ca = canonical(a), cb = canonical(b);
  return ca && cb && ca->dims == cb->dims;
}

namespace {
std::string ucum_code_of(const Quantity& q) {
  if (!q.calendar) return q.unit;
  const std::string_view kw = calendar_unit(q.unit);
  if (kw == "year") return "a";
  if (kw == "month") return "mo";
  return std::string(calendar_as_ucum(kw));
}
}  // namespace

std::optional<Quantity> quantity_multiply(const Quantity& a, const Quantity& b, bool divide) {
  const std::string ua = ucum_code_of(a), ub = ucum_code_of(b);
  Quantity out;
  if (divide) {
    if (b.value.value == 0) return std::nullopt;
    out.value.value = a.value.value / b.value.value;
    out.value.scale = std::max({a.value.scale, b.value.scale, 8});
    out.unit = ub == "1" ? ua : (ua == ub ? "1" : "(" + ua + ")/(" + ub + ")");
  } else {
    out.value.value = a.value.value * b.value.value;
    out.value.scale = a.value.scale + b.value.scale;
    out.unit = ua == "1" ? ub : (ub == "1" ? ua : "(" + ua + ").(" + ub + ")");
  }
  if (!ucum_canonical(out.unit)) return std::nullopt;
  return out;
}

std::optional<Quantity> quantity_add(const Quantity& a, const Quantity& b, bool subtract) {
  auto ua = unit_of(a);
  auto cb = canonical(b);
  if (!ua || !cb || ua->dims != cb->dims) return std::nullopt;
  Quantity out = a;
  const long double bv = cb->value.value / ua->factor;
  out.value.value = subtract ? a.value.value - bv : a.value.value + bv;
  out.value.scale = std::max(a.value.scale, b.value.scale);
  return out;
}

std::optional<Temporal> temporal_add(const Temporal& t0, const Quantity& q, bool subtract) {
  std::string_view unit = q.calendar ? calendar_unit(q.unit) : std::string_view{};
  if (!q.calendar || unit.empty()) {
    // UCUM codes; 'a' and 'mo' are not calendar durations and are refused.
    static constexpr std::pair<std::string_view, std::string_view> kMap[] = {
        {"wk", "week"},    {"d", "day"},    {"h", "hour"},
        {"min", "minute"}, {"s", "second"}, {"ms", "millisecond"}};
    unit = calendar_unit(q.unit);  // 'month' written quoted still means the calendar month
    for (const auto& [code, kw] : kMap) {
      if (q.unit == code) unit = kw;
    }
    if (unit.empty()) return std::nullopt;
  }
  long double v = std::trunc(q.value.value);
  if (subtract) v = -v;
  if (std::fabs(v) > 1e12L) return std::nullopt;
  auto n = static_cast<std::int64_t>(v);
  Temporal t = t0;
  if (t.kind == TemporalKind::kDate) {
    if (unit == "hour") n /= 24, unit = "day";
    if (unit == "minute") n /= 1440, unit = "day";
    if (unit == "second") n /= 86400, unit = "day";
    if (unit == "millisecond") n /= 86400000, unit = "day";
  }
  if (unit == "year" || unit == "month") {
    if (t.kind == TemporalKind::kTime) return std::nullopt;
    std::int64_t months = t.year * 12LL + (t.month - 1) + (unit == "year" ? n * 12 : n);
    if (months < 0 || months > 9999 * 12 + 11) return std::nullopt;
    t.year = static_cast<int>(months / 12);
    t.month = static_cast<int>(months % 12) + 1;
    t.day = std::min(t.day, days_in_month(t.year, t.month));
    return t;
  }
  if (unit == "week") n *= 7, unit = "day";
  if (unit == "day") {
    if (t.kind == TemporalKind::kTime) return std::nullopt;
    civil_from_days(days_from_civil(t.year, t.month, t.day) + n, t.year, t.month, t.day);
    if (t.year < 1 || t.year > 9999) return std::nullopt;
    return t;
  }
  std::int64_t ms = unit == "hour"     ? n * 3600000
                    : unit == "minute" ? n * 60000
                    : unit == "second" ? n * 1000
                                       : n;
  std::int64_t base =
      (static_cast<std::int64_t>(t.hour) * 3600 + t.minute * 60 + t.second) * 1000 + t.millisecond;
  std::int64_t day_shift = 0;
  std::int64_t total = base + ms;
  const std::int64_t kDayMs = 86400000;
  day_shift = total >= 0 ? total / kDayMs : -((-total + kDayMs - 1) / kDayMs);
  total -= day_shift * kDayMs;
  t.hour = static_cast<int>(total / 3600000);
  t.minute = static_cast<int>(total / 60000 % 60);
  t.second = static_cast<int>(total / 1000 % 60);
  t.millisecond = static_cast<int>(total % 1000);
  if (t.kind == TemporalKind::kDateTime && day_shift != 0) {
    civil_from_days(days_from_civil(t.year, t.month, t.day) + day_shift, t.year, t.month, t.day);
    if (t.year < 1 || t.year > 9999) return std::nullopt;
  }
  return t;
}

}  // namespace cg::fhirpath
