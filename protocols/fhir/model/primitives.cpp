#include "protocols/fhir/model/primitives.hpp"

#include <cstddef>
#include <cstdint>

namespace cg::fhir {
namespace {

constexpr std::size_t kMaxStringChars = 1024 * 1024;  // R4 string maxLength

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

// A cursor over the text; every read advances only on success.
class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}

  bool done() const { return i_ == s_.size(); }
  bool peek(char c) const { return i_ < s_.size() && s_[i_] == c; }
  bool eat(char c) {
    if (!peek(c)) return false;
    ++i_;
    return true;
  }
  // Exactly n digits as a number, or -1.
  int digits(int n) {
    if (s_.size() - i_ < static_cast<std::size_t>(n)) return -1;
    int v = 0;
    for (int k = 0; k < n; ++k) {
      char c = s_[i_ + static_cast<std::size_t>(k)];
      if (!is_digit(c)) return -1;
      v = v * 10 + (c - '0');
    }
    i_ += static_cast<std::size_t>(n);
    return v;
  }
  // One or more digits.
  bool some_digits() {
    std::size_t start = i_;
    while (i_ < s_.size() && is_digit(s_[i_])) ++i_;
    return i_ > start;
  }

 private:
  std::string_view s_;
  std::size_t i_ = 0;
};

bool is_leap(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int days_in_month(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

// YYYY[-MM[-DD]]; `parts` receives how many of the three were present.
bool scan_date(Scanner& s, int& parts) {
  const int year = s.digits(4);
  if (year < 1) return false;  // the regexes exclude year 0000
  parts = 1;
  if (!s.eat('-')) return true;
  const int month = s.digits(2);
  if (month < 1 || month > 12) return false;
  parts = 2;
  if (!s.eat('-')) return true;
  const int day = s.digits(2);
  if (day < 1 || day > days_in_month(year, month)) return false;
  parts = 3;
  return true;
}

// hh:mm:ss[.fff], with 60 seconds allowed for leap seconds.
bool scan_time(Scanner& s) {
  const int h = s.digits(2);
  if (h < 0 || h > 23 || !s.eat(':')) return false;
  const int m = s.digits(2);
  if (m < 0 || m > 59 || !s.eat(':')) return false;
  const int sec = s.digits(2);
  if (sec < 0 || sec > 60) return false;
  return !s.eat('.') || s.some_digits();
}

// Z, or +hh:mm / -hh:mm between -14:00 and +14:00.
bool scan_zone(Scanner& s) {
  if (s.eat('Z')) return true;
  if (!s.eat('+') && !s.eat('-')) return false;
  const int h = s.digits(2);
  if (h < 0 || !s.eat(':')) return false;
  const int m = s.digits(2);
  if (m < 0 || m > 59) return false;
  return h < 14 || (h == 14 && m == 0);
}

bool is_valid_uri(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (is_space(c) || static_cast<unsigned char>(c) < 0x20) return false;
  }
  return true;
}

bool is_valid_oid(std::string_view s) {
  constexpr std::string_view kPrefix = "urn:oid:";
  if (!s.starts_with(kPrefix)) return false;
  s.remove_prefix(kPrefix.size());
  if (s.size() < 3 || s[0] < '0' || s[0] > '2') return false;
  // Then one or more ".N" arcs, N without leading zeros.
  std::size_t i = 1;
  while (i < s.size()) {
    if (s[i] != '.' || i + 1 >= s.size() || !is_digit(s[i + 1])) return false;
    std::size_t start = ++i;
    while (i < s.size() && is_digit(s[i])) ++i;
    if (s[start] == '0' && i - start > 1) return false;
  }
  return true;
}

bool is_valid_uuid(std::string_view s) {
  constexpr std::string_view kPrefix = "urn:uuid:";
  if (!s.starts_with(kPrefix)) return false;
  s.remove_prefix(kPrefix.size());
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    const char c = s[i];
    if (dash ? c != '-' : !(is_digit(c) || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// (\s*([0-9a-zA-Z+/=]){4}\s*)+ : base64 characters in groups of four, whitespace only
// between groups.
bool is_valid_base64(std::string_view s) {
  std::size_t count = 0;
  for (char c : s) {
    if (is_space(c)) {
      if (count % 4 != 0) return false;
    } else if (is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '+' ||
               c == '/' || c == '=') {
      ++count;
    } else {
      return false;
    }
  }
  return count > 0 && count % 4 == 0;
}

// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool is_valid_decimal(std::string_view text) {
  std::size_t i = 0;
  const std::size_t n = text.size();
  auto digits = [&] {
    const std::size_t start = i;
    while (i < n && is_digit(text[i])) ++i;
    return i > start;
  };
  if (i < n && text[i] == '-') ++i;
  if (i < n && text[i] == '0') {
    ++i;  // a leading zero stands alone: "01" is refused below
  } else if (!digits()) {
    return false;
  }
  if (i < n && text[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < n && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < n && (text[i] == '+' || text[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == n;
}

// -?([0]|([1-9][0-9]*)) within the signed 32-bit range; positive / unsigned variants.
bool is_valid_integer(std::string_view text, std::int64_t min) {
  std::string_view digits = text;
  const bool negative = !digits.empty() && digits[0] == '-';
  if (negative) digits.remove_prefix(1);
  if (digits.empty() || digits.size() > 10) return false;
  if (digits[0] == '0' && (digits.size() > 1 || negative)) return false;
  std::int64_t v = 0;
  for (char c : digits) {
    if (!is_digit(c)) return false;
    v = v * 10 + (c - '0');
  }
  if (negative) v = -v;
  return v >= min && v <= 2147483647;
}

// Not empty, and no control characters other than tab, CR and LF; counts code points.
bool scan_text(std::string_view s, std::size_t& chars) {
  if (s.empty()) return false;
  chars = 0;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 && c != '\t' && c != '\r' && c != '\n') return false;
    if ((u & 0xC0) != 0x80) ++chars;  // UTF-8 continuation bytes are not characters
  }
  return true;
}

bool is_valid_markdown(std::string_view s) {
  std::size_t chars = 0;
  return scan_text(s, chars);
}

}  // namespace

bool is_valid_string(std::string_view s) {
  std::size_t chars = 0;
  return scan_text(s, chars) && chars <= kMaxStringChars;
}

bool is_valid_code(std::string_view s) {
  // [^\s]+(\s[^\s]+)* : no leading, trailing or doubled whitespace.
  if (!is_valid_markdown(s) || is_space(s.front()) || is_space(s.back())) return false;
  for (std::size_t i = 1; i < s.size(); ++i) {
    if (is_space(s[i]) && is_space(s[i - 1])) return false;
  }
  return true;
}

bool is_valid_id(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!(is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
          c == '.')) {
      return false;
    }
  }
  return true;
}

bool is_valid_date(std::string_view text) {
  Scanner s(text);
  int parts = 0;
  return scan_date(s, parts) && s.done();
}

bool is_valid_date_time(std::string_view text) {
  Scanner s(text);
  int parts = 0;
  if (!scan_date(s, parts)) return false;
  if (s.done()) return true;
  return parts == 3 && s.eat('T') && scan_time(s) && scan_zone(s) && s.done();
}

bool is_valid_instant(std::string_view text) {
  Scanner s(text);
  int parts = 0;
  return scan_date(s, parts) && parts == 3 && s.eat('T') && scan_time(s) && scan_zone(s) &&
         s.done();
}

bool is_valid_time(std::string_view text) {
  Scanner s(text);
  return scan_time(s) && s.done();
}

bool is_valid_primitive(PrimitiveType type, std::string_view text) {
  switch (type) {
    case PrimitiveType::kNone:
      return false;
    case PrimitiveType::kBoolean:
      return text == "true" || text == "false";
    case PrimitiveType::kInteger:
      return is_valid_integer(text, -2147483648LL);
    case PrimitiveType::kPositiveInt:
      return is_valid_integer(text, 1);
    case PrimitiveType::kUnsignedInt:
      return is_valid_integer(text, 0);
    case PrimitiveType::kDecimal:
      return is_valid_decimal(text);
    case PrimitiveType::kString:
      return is_valid_string(text);
    case PrimitiveType::kMarkdown:
      return is_valid_markdown(text);
    case PrimitiveType::kCode:
      return is_valid_code(text);
    case PrimitiveType::kId:
      return is_valid_id(text);
    case PrimitiveType::kUri:
    case PrimitiveType::kUrl:
    case PrimitiveType::kCanonical:
      return is_valid_uri(text);
    case PrimitiveType::kOid:
      return is_valid_oid(text);
    case PrimitiveType::kUuid:
      return is_valid_uuid(text);
    case PrimitiveType::kDate:
      return is_valid_date(text);
    case PrimitiveType::kDateTime:
      return is_valid_date_time(text);
    case PrimitiveType::kInstant:
      return is_valid_instant(text);
    case PrimitiveType::kTime:
      return is_valid_time(text);
    case PrimitiveType::kBase64Binary:
      return is_valid_base64(text);
    case PrimitiveType::kXhtml:
      return !text.empty();
  }
  return false;
}

}  // namespace cg::fhir
