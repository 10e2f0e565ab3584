#include "protocols/hl7v2/date_time.hpp"

#include <cstddef>

namespace cg::hl7v2 {
namespace {

// A DTM split into its parts; `digits` is how many of YYYYMMDDHHMMSS were sent.
struct Dtm {
  std::string_view digits;
  std::string_view fraction;  // without the dot
  std::string_view zone;      // "+hhmm" or empty
};

bool all_digits(std::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

int number(std::string_view digits, std::size_t pos, std::size_t len) {
  int n = 0;
  for (char c : digits.substr(pos, len)) n = n * 10 + (c - '0');
  return n;
}

int days_in_month(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

// "+hhmm" within FHIR's -13:59..+14:00 (HL7 allows the same span in practice).
bool valid_zone(std::string_view zone) {
  if (zone.size() != 5 || (zone[0] != '+' && zone[0] != '-')) return false;
  if (!all_digits(zone.substr(1))) return false;
  int hours = number(zone, 1, 2);
  int minutes = number(zone, 3, 2);
  return minutes < 60 && (hours < 14 || (hours == 14 && minutes == 0));
}

bool valid_calendar(std::string_view d) {
  std::size_t n = d.size();
  if (number(d, 0, 4) == 0) return false;
  if (n >= 6 && (number(d, 4, 2) < 1 || number(d, 4, 2) > 12)) return false;
  if (n >= 8 &&
      (number(d, 6, 2) < 1 || number(d, 6, 2) > days_in_month(number(d, 0, 4), number(d, 4, 2)))) {
    return false;
  }
  if (n >= 10 && number(d, 8, 2) > 23) return false;
  if (n >= 12 && number(d, 10, 2) > 59) return false;
  if (n >= 14 && number(d, 12, 2) > 59) return false;
  return true;
}

std::optional<Dtm> parse_dtm(std::string_view text) {
  Dtm dtm;
  // The zone sign can only follow the year, so a search from position 4 cannot hit a part
  // of the date.
  std::size_t sign = text.find_first_of("+-", 4);
  if (sign != std::string_view::npos) {
    dtm.zone = text.substr(sign);
    text = text.substr(0, sign);
    if (!valid_zone(dtm.zone)) return std::nullopt;
  }
  std::size_t dot = text.find('.');
  dtm.digits = text.substr(0, dot);
  if (dot != std::string_view::npos) {
    dtm.fraction = text.substr(dot + 1);
    if (dtm.digits.size() != 14 || dtm.fraction.empty() || dtm.fraction.size() > 4 ||
        !all_digits(dtm.fraction)) {
      return std::nullopt;
    }
  }
  std::size_t n = dtm.digits.size();
  if (n < 4 || n > 14 || n % 2 != 0 || !all_digits(dtm.digits)) return std::nullopt;
  if (!valid_calendar(dtm.digits)) return std::nullopt;
  return dtm;
}

std::string date_text(std::string_view d) {
  std::string out(d.substr(0, 4));
  if (d.size() >= 6) out.append("-").append(d.substr(4, 2));
  if (d.size() >= 8) out.append("-").append(d.substr(6, 2));
  return out;
}

std::string zone_text(std::string_view zone) {
  std::string out(zone.substr(0, 3));
  return out.append(":").append(zone.substr(3, 2));
}

}  // namespace

std::optional<std::string> fhir_date_time(std::string_view hl7_dtm) {
  return fhir_date_time(hl7_dtm, {});
}

std::optional<std::string> fhir_date_time(std::string_view hl7_dtm,
                                          std::string_view zone_when_absent) {
  auto dtm = parse_dtm(hl7_dtm);
  if (!dtm) return std::nullopt;
  std::string_view d = dtm->digits;
  std::string out = date_text(d);
  if (d.size() <= 8) return out;
  std::string_view zone = dtm->zone;
  if (zone.empty() && valid_zone(zone_when_absent)) zone = zone_when_absent;
  if (zone.empty()) return date_text(d.substr(0, 8));
  out.append("T").append(d.substr(8, 2));
  out.append(":").append(d.size() >= 12 ? d.substr(10, 2) : "00");
  out.append(":").append(d.size() >= 14 ? d.substr(12, 2) : "00");
  if (!dtm->fraction.empty()) out.append(".").append(dtm->fraction);
  return out.append(zone_text(zone));
}

std::optional<std::string> fhir_date(std::string_view hl7_dt) {
  auto dtm = parse_dtm(hl7_dt);
  if (!dtm) return std::nullopt;
  return date_text(dtm->digits.substr(0, 8));
}

std::string hl7_time_zone(std::string_view hl7_dtm) {
  auto dtm = parse_dtm(hl7_dtm);
  return dtm ? std::string(dtm->zone) : std::string();
}

std::string hl7_date_time(std::string_view fhir) {
  // Positions of the separators FHIR writes: YYYY-MM-DDThh:mm:ss[.f][zone].
  std::string digits;
  std::size_t i = 0;
  for (; i < fhir.size() && i < 19; ++i) {
    const char c = fhir[i];
    const bool separator = i == 4 || i == 7 || i == 10 || i == 13 || i == 16;
    if (separator) {
      if (c != (i < 10 ? '-' : i == 10 ? 'T' : ':')) return {};
    } else if (c < '0' || c > '9') {
      return {};
    }
    if (!separator) digits.push_back(c);
  }
  // Whole precisions only, so a trailing separator ("2026-", "2026-01-21T") is refused too.
  if (i != 4 && i != 7 && i != 10 && i != 19) return {};
  if (i < 19) return valid_calendar(digits) ? digits : std::string();  // a date: nothing follows
  std::string_view rest = fhir.substr(i);
  if (rest.starts_with('.')) {
    std::size_t end = 1;
    while (end < rest.size() && rest[end] >= '0' && rest[end] <= '9') ++end;
    if (end == 1 || end > 5) return {};  // HL7 keeps at most four fraction digits
    digits.append(rest.substr(0, end));
    rest.remove_prefix(end);
  }
  std::string zone;
  if (rest == "Z") {
    zone = "+0000";
  } else if (rest.size() == 6 && rest[3] == ':') {
    zone = std::string(rest.substr(0, 3)) + std::string(rest.substr(4));
  }
  if (!valid_zone(zone) || !valid_calendar(digits)) return {};
  return digits + zone;
}

}  // namespace cg::hl7v2
