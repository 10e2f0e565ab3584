#include "protocols/atna/syslog_timestamp.hpp"

#include <array>
#include <chrono>
#include <cstdio>

namespace cg::atna {
namespace {

using std::chrono::day;
using std::chrono::month;
using std::chrono::sys_days;
using std::chrono::year;
using std::chrono::year_month_day;

// Reads fixed-width numbers and literal characters off the front of a text.
class Scanner {
 public:
  explicit Scanner(std::string_view text) : rest_(text) {}

  bool number(std::size_t digits, int* value) {
    if (rest_.size() < digits) return false;
    int result = 0;
    for (std::size_t i = 0; i < digits; ++i) {
      const char c = rest_[i];
      if (c < '0' || c > '9') return false;
      result = result * 10 + (c - '0');
    }
    rest_.remove_prefix(digits);
    *value = result;
    return true;
  }

  bool literal(char c) {
    if (rest_.empty() || rest_.front() != c) return false;
    rest_.remove_prefix(1);
    return true;
  }

  char peek() const { return rest_.empty() ? '\0' : rest_.front(); }
  bool at_end() const { return rest_.empty(); }

 private:
  std::string_view rest_;
};

// "." 1*DIGIT, truncated to milliseconds; absent means zero.
bool read_fraction_ms(Scanner* scan, int* ms) {
  *ms = 0;
  if (!scan->literal('.')) return true;
  int digit = 0;
  if (!scan->number(1, &digit)) return false;
  int scale = 100;
  do {
    *ms += digit * scale;
    scale /= 10;
  } while (scan->number(1, &digit));
  return true;
}

// "Z" or ("+"/"-") hh:mm, as minutes east of UTC.
bool read_offset_minutes(Scanner* scan, int* minutes) {
  *minutes = 0;
  if (scan->literal('Z')) return true;
  const char sign = scan->peek();
  if (sign != '+' && sign != '-') return false;
  scan->literal(sign);
  int hours = 0;
  int mins = 0;
  if (!scan->number(2, &hours) || !scan->literal(':') || !scan->number(2, &mins)) return false;
  if (hours > 23 || mins > 59) return false;
  *minutes = (sign == '-' ? -1 : 1) * (hours * 60 + mins);
  return true;
}

constexpr std::array<std::string_view, 12> kMonthNames = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

bool is_month_name(std::string_view text) {
  for (std::string_view name : kMonthNames) {
    if (text == name) return true;
  }
  return false;
}

bool is_time_of_day(std::string_view text) {
  Scanner scan(text);
  int h = 0, m = 0, s = 0;
  return scan.number(2, &h) && scan.literal(':') && scan.number(2, &m) && scan.literal(':') &&
         scan.number(2, &s) && scan.at_end() && h <= 23 && m <= 59 && s <= 59;
}

}  // namespace

std::optional<std::int64_t> rfc5424_timestamp_ms(std::string_view text) {
  Scanner scan(text);
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, ms = 0, offset = 0;
  const bool shaped = scan.number(4, &y) && scan.literal('-') && scan.number(2, &mo) &&
                      scan.literal('-') && scan.number(2, &d) && scan.literal('T') &&
                      scan.number(2, &h) && scan.literal(':') && scan.number(2, &mi) &&
                      scan.literal(':') && scan.number(2, &s) && read_fraction_ms(&scan, &ms) &&
                      read_offset_minutes(&scan, &offset) && scan.at_end();
  if (!shaped || h > 23 || mi > 59 || s > 59) return std::nullopt;
  const year_month_day date{year{y}, month{static_cast<unsigned>(mo)},
                            day{static_cast<unsigned>(d)}};
  if (!date.ok()) return std::nullopt;
  const std::int64_t days = sys_days{date}.time_since_epoch().count();
  const std::int64_t local_seconds = ((days * 24 + h) * 60 + mi) * 60 + s;
  return (local_seconds - std::int64_t{offset} * 60) * 1000 + ms;
}

bool is_rfc3164_timestamp(std::string_view text) {
  if (text.size() != 15 || text[3] != ' ' || text[6] != ' ') return false;
  if (!is_month_name(text.substr(0, 3))) return false;
  const char tens = text[4];
  const char units = text[5];
  if (units < '0' || units > '9') return false;
  int day_of_month = units - '0';
  if (tens >= '0' && tens <= '9') {
    day_of_month += 10 * (tens - '0');
  } else if (tens != ' ') {
    return false;
  }
  return day_of_month >= 1 && day_of_month <= 31 && is_time_of_day(text.substr(7));
}

std::string format_rfc5424_timestamp(std::int64_t epoch_ms) {
  using namespace std::chrono;
  const sys_time<milliseconds> instant{milliseconds{epoch_ms}};
  const sys_days date = floor<days>(instant);
  const year_month_day ymd{date};
  const hh_mm_ss time{instant - date};
  char text[32];
  std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", int{ymd.year()},
                unsigned{ymd.month()}, unsigned{ymd.day()}, static_cast<int>(time.hours().count()),
                static_cast<int>(time.minutes().count()), static_cast<int>(time.seconds().count()),
                static_cast<int>(time.subseconds().count()));
  return text;
}

}  // namespace cg::atna
