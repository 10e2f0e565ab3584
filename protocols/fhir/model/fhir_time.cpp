#include "protocols/fhir/model/fhir_time.hpp"

#include <cctype>
#include <chrono>
#include <ctime>

namespace cg::fhir {
namespace {

using std::chrono::days;
using std::chrono::year_month_day;

// Reads exactly n digits at pos; -1 when they are not all digits.
int digits(std::string_view s, std::size_t pos, std::size_t n) {
  if (pos + n > s.size()) return -1;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

std::int64_t days_from_civil(int y, unsigned m, unsigned d) {
  auto ymd = year_month_day{std::chrono::year{y}, std::chrono::month{m}, std::chrono::day{d}};
  return std::chrono::sys_days{ymd}.time_since_epoch().count();
}

bool valid_date(int y, int m, int d) {
  auto ymd = year_month_day{std::chrono::year{y}, std::chrono::month{static_cast<unsigned>(m)},
                            std::chrono::day{static_cast<unsigned>(d)}};
  return ymd.ok();
}

Error bad(std::string_view value) {
  return Error::invalid("'" + std::string(value) +
                        "' is not a valid FHIR date, dateTime or instant");
}

// Parses "Z", "+hh:mm" or "-hh:mm" at pos (to the end); offset in minutes.
bool parse_zone(std::string_view s, std::size_t pos, int& offset_min) {
  if (pos == s.size()) return false;
  if (s[pos] == 'Z') return pos + 1 == s.size() && ((offset_min = 0), true);
  if ((s[pos] != '+' && s[pos] != '-') || s.size() != pos + 6 || s[pos + 3] != ':') return false;
  int hh = digits(s, pos + 1, 2), mm = digits(s, pos + 4, 2);
  if (hh < 0 || mm < 0 || hh > 14 || mm > 59) return false;
  offset_min = (hh * 60 + mm) * (s[pos] == '-' ? -1 : 1);
  return true;
}

}  // namespace

Result<TimeRange> parse_time_range(std::string_view s) {
  int y = digits(s, 0, 4);
  if (y < 0) return bad(s);
  if (s.size() == 4) {
    return TimeRange{days_from_civil(y, 1, 1) * 86'400'000,
                     days_from_civil(y + 1, 1, 1) * 86'400'000};
  }
  if (s[4] != '-') return bad(s);
  int m = digits(s, 5, 2);
  if (m < 1 || m > 12) return bad(s);
  if (s.size() == 7) {
    int ny = m == 12 ? y + 1 : y, nm = m == 12 ? 1 : m + 1;
    return TimeRange{days_from_civil(y, m, 1) * 86'400'000,
                     days_from_civil(ny, nm, 1) * 86'400'000};
  }
  if (s[7] != '-') return bad(s);
  int d = digits(s, 8, 2);
  if (d < 1 || !valid_date(y, m, d)) return bad(s);
  std::int64_t day_ms = days_from_civil(y, m, d) * 86'400'000;
  if (s.size() == 10) return TimeRange{day_ms, day_ms + 86'400'000};
  if (s[10] != 'T') return bad(s);
  int hh = digits(s, 11, 2);
  if (hh < 0 || hh > 23 || s.size() < 13) return bad(s);
  std::size_t pos = 13;
  int mi = 0, sec = 0, ms = 0;
  std::int64_t width = 3'600'000;  // hour precision (allowed in search values)
  if (pos < s.size() && s[pos] == ':') {
    mi = digits(s, pos + 1, 2);
    if (mi < 0 || mi > 59) return bad(s);
    pos += 3;
    width = 60'000;
    if (pos < s.size() && s[pos] == ':') {
      sec = digits(s, pos + 1, 2);
      if (sec < 0 || sec > 60) return bad(s);
      pos += 3;
      width = 1000;
      if (pos < s.size() && s[pos] == '.') {
        std::size_t start = ++pos;
        while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) ++pos;
        std::size_t n = pos - start;
        if (n == 0 || n > 9) return bad(s);
        std::string frac(s.substr(start, std::min<std::size_t>(n, 3)));
        frac.resize(3, '0');
        ms = std::stoi(frac);
        width = n >= 3 ? 1 : (n == 2 ? 10 : 100);
      }
    }
  }
  int offset_min = 0;
  if (pos < s.size() && !parse_zone(s, pos, offset_min)) return bad(s);
  std::int64_t begin =
      day_ms + hh * 3'600'000LL + mi * 60'000LL + sec * 1000LL + ms - offset_min * 60'000LL;
  return TimeRange{begin, begin + width};
}

std::string http_date(std::int64_t ms_since_epoch) {
  std::time_t t = static_cast<std::time_t>(ms_since_epoch / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

}  // namespace cg::fhir
