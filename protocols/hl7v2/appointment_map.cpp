#include "protocols/hl7v2/appointment_map.hpp"

#include <algorithm>
#include <array>
#include <boost/json/array.hpp>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocols/hl7v2/error.hpp"
#include "protocols/hl7v2/fhir_bundle.hpp"
#include "protocols/hl7v2/header.hpp"
#include "protocols/hl7v2/v2_values.hpp"

namespace cg::hl7v2 {
namespace {

namespace json = boost::json;

constexpr std::string_view kIdentifierTypeSystem = "http://terminology.hl7.org/CodeSystem/v2-0203";

// Table 0278 (filler status codes) → Appointment.status and, for the resources of the
// appointment, participant.status; as the IG's FillerStatusCodes concept map. Codes the IG
// leaves unmapped (Discontinued, Blocked, Overbook) take the event's status.
struct FillerStatus {
  std::string_view v2;
  std::string_view appointment;
  std::string_view participant;
};
constexpr std::array<FillerStatus, 8> kFillerStatuses{{
    {"Pending", "pending", "tentative"},
    {"Waitlist", "waitlist", "tentative"},
    {"Booked", "booked", "accepted"},
    {"Started", "checked-in", "accepted"},
    {"Complete", "fulfilled", "accepted"},
    {"Cancelled", "cancelled", "declined"},
    {"Deleted", "entered-in-error", "declined"},
    {"Noshow", "noshow", "declined"},
}};

const FillerStatus* filler_status(std::string_view code) {
  auto it = std::find_if(kFillerStatuses.begin(), kFillerStatuses.end(),
                         [&](const FillerStatus& s) { return same_code(s.v2, code); });
  return it == kFillerStatuses.end() ? nullptr : &*it;
}

// A FHIR dateTime with a time ("2026-01-21T10:30:00+03:00") moved by `minutes`, to the
// second; nullopt for a date without a time (its instant is not known).
std::optional<std::string> plus_minutes(std::string_view date_time, long minutes) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (date_time.size() < 19 || date_time[10] != 'T' ||
      std::sscanf(std::string(date_time.substr(0, 19)).c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo,
                  &d, &h, &mi, &s) != 6) {
    return std::nullopt;
  }
  std::size_t zone = date_time.find_first_of("+-Z", 19);
  using namespace std::chrono;
  sys_seconds t =
      sys_days(year{y} / mo / d) + hours{h} + std::chrono::minutes{mi + minutes} + seconds{s};
  auto day = floor<days>(t);
  year_month_day ymd(day);
  hh_mm_ss<seconds> tod(t - day);
  char out[96];  // room for any value the compiler cannot rule out (-Wformat-truncation)
  std::snprintf(out, sizeof out, "%04d-%02u-%02uT%02ld:%02ld:%02ld", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<long>(tod.hours().count()), static_cast<long>(tod.minutes().count()),
                static_cast<long>(tod.seconds().count()));
  return std::string(out) +
         std::string(zone == std::string_view::npos ? "" : date_time.substr(zone));
}

struct SegmentAt {
  const Segment* segment = nullptr;
  int sequence = 0;

  std::string text(int field, int component = 1, int subcomponent = 1) const {
    return plain_text(*segment, field, 1, component, subcomponent);
  }
  ErrorLocation location(int field, int component = 0) const {
    return {segment->id(), sequence, field, 0, component, 0};
  }
};

// Where the resource segments of SIU keep their times: start, duration and its units.
struct TimingFields {
  int start;
  int duration;
  int units;
};

// Builds the Appointment of one message. Records the first error and keeps going, as
// ImmunizationMapper does; map_siu() reports it at the end.
class AppointmentMapper {
 public:
  AppointmentMapper(const Message& message, const IdentifierSystems& systems)
      : message_(message), systems_(systems), zone_(hl7_time_zone(message.get("MSH-7"))) {}

  const std::optional<Error>& error() const { return error_; }

  json::object appointment(const SegmentAt& sch, std::vector<IdentifierKey>& keys,
                           const std::string& patient) {
    json::object out;
    identifiers(sch, out, keys);
    status(sch, out);
    if (auto type = codeable_concept(*sch.segment, 8)) out["appointmentType"] = std::move(*type);
    if (auto reason = codeable_concept(*sch.segment, 7)) append(out, "reasonCode", *reason);
    services(out);
    timing(sch, out);
    comment(out);
    participants(out, patient);
    return out;
  }

 private:
  void fail(Error error) {
    if (!error_) error_ = std::move(error);
  }

  // SCH-2 (filler, "FILL") and SCH-1 (placer, "PLAC"); the filler id is the key, the
  // placer's only when there is none (as ORC-3/ORC-2 for immunizations).
  void identifiers(const SegmentAt& sch, json::object& out, std::vector<IdentifierKey>& keys) {
    for (auto [field, type] : {std::pair{2, "FILL"}, std::pair{1, "PLAC"}}) {
      auto key = entity_identifier(*sch.segment, field, systems_);
      if (!key) continue;
      json::object identifier{
          {"type",
           json::object{{"coding", json::array{json::object{{"system", kIdentifierTypeSystem},
                                                            {"code", type}}}}}}};
      put(identifier, "system", key->system);
      identifier["value"] = key->value;
      append(out, "identifier", std::move(identifier));
      if (keys.empty()) keys.push_back(std::move(*key));
    }
  }

  // S15 → cancelled (with SCH-6, the event reason, as cancelationReason); else SCH-25.
  void status(const SegmentAt& sch, json::object& out) {
    bool cancel = read_header(message_).type.trigger == "S15";
    const FillerStatus* filler = filler_status(sch.text(25));
    if (cancel) {
      out["status"] = "cancelled";
      if (auto reason = codeable_concept(*sch.segment, 6)) out["cancelationReason"] = *reason;
    } else {
      out["status"] = filler ? filler->appointment : "booked";
    }
  }

  // AIS-3 of every service → serviceType.
  void services(json::object& out) {
    for (int n = 1; const Segment* ais = message_.find("AIS", n); ++n) {
      if (auto service = codeable_concept(*ais, 3)) append(out, "serviceType", *service);
    }
  }

  // start/end: TQ1-7/8, else SCH-11.4/.5 (the TQ of v2.3–2.5), else the first AIS-4 with
  // AIS-7's duration; an end not given is start + the duration. minutesDuration: SCH-9/10.
  void timing(const SegmentAt& sch, json::object& out) {
    std::optional<long> minutes = duration(sch, 9, 10);
    if (minutes && *minutes > 0) out["minutesDuration"] = *minutes;
    std::optional<std::string> start;
    std::optional<std::string> end;
    if (const Segment* tq1 = message_.find("TQ1")) {
      SegmentAt at{tq1, 1};
      start = date_time(at, 7);
      end = date_time(at, 8);
    }
    if (!start) {
      start = date_time(sch, 11, 4);
      if (!end) end = date_time(sch, 11, 5);
    }
    if (!start) {
      if (const Segment* ais = message_.find("AIS")) {
        SegmentAt at{ais, 1};
        start = date_time(at, 4);
        if (auto ais_minutes = duration(at, 7, 8)) minutes = ais_minutes;
      }
    }
    if (!start) return;
    out["start"] = *start;
    if (!end && minutes) end = plus_minutes(*start, *minutes);
    if (end) out["end"] = *end;
  }

  // The NTE right after the SCH (and its TQ1) → comment, one paragraph per NTE.
  void comment(json::object& out) {
    std::string text;
    const auto& segments = message_.segments();
    auto sch = std::find_if(segments.begin(), segments.end(),
                            [](const Segment& s) { return s.id() == "SCH"; });
    for (auto it = sch + 1; it != segments.end(); ++it) {
      if (it->id() == "TQ1") continue;
      if (it->id() != "NTE") break;
      for (int r = 1; r <= std::max(1, it->repetition_count(3)); ++r) {
        std::string line = plain_text(*it, 3, r);
        if (line.empty()) continue;
        if (!text.empty()) text += "\n";
        text += line;
      }
    }
    put(out, "comment", std::move(text));
  }

  void participants(json::object& out, const std::string& patient) {
    append(out, "participant",
           json::object{{"actor", json::object{{"reference", patient}, {"type", "Patient"}}},
                        {"status", "accepted"}});
    for (int n = 1; const Segment* aip = message_.find("AIP", n); ++n) {
      add_participant({aip, n}, practitioner_reference(*aip, 3, 1, systems_), 4, 12, {6, 9, 10},
                      out);
    }
    for (int n = 1; const Segment* aig = message_.find("AIG", n); ++n) {
      add_participant({aig, n}, coded_reference(*aig, 3), 4, 14, {8, 11, 12}, out);
    }
    for (int n = 1; const Segment* ail = message_.find("AIL", n); ++n) {
      add_participant({ail, n}, location_reference(*ail), 4, 12, {6, 9, 10}, out);
    }
  }

  // One AIP/AIG/AIL: its actor, type (a CWE field), status (a table 0278 field) and period.
  void add_participant(const SegmentAt& at, std::optional<json::object> actor, int type_field,
                       int status_field, TimingFields timing, json::object& out) {
    json::object participant;
    if (auto type = codeable_concept(*at.segment, type_field)) {
      participant["type"] = json::array{std::move(*type)};
    }
    if (actor) participant["actor"] = std::move(*actor);
    if (participant.empty()) return;  // FHIR app-1: a participant needs a type or an actor
    const FillerStatus* filler = filler_status(at.text(status_field));
    participant["status"] = filler ? filler->participant : "accepted";
    if (auto start = date_time(at, timing.start)) {
      json::object period{{"start", *start}};
      auto minutes = duration(at, timing.duration, timing.units);
      if (auto end = minutes ? plus_minutes(*start, *minutes) : std::nullopt) period["end"] = *end;
      participant["period"] = std::move(period);
    }
    append(out, "participant", std::move(participant));
  }

  // AIG-3 (CWE: id ^ text ^ coding system) → a Reference by identifier and display; the kind of
  // resource (device, room, service) is AIG-4's, so the reference names no type.
  std::optional<json::object> coded_reference(const Segment& aig, int field) const {
    json::object out;
    if (std::string id = plain_text(aig, field); !id.empty()) {
      json::object identifier;
      put(identifier, "system", code_system_uri(plain_text(aig, field, 1, 3)));
      identifier["value"] = id;
      out["identifier"] = std::move(identifier);
    }
    put(out, "display", plain_text(aig, field, 1, 2));
    if (out.empty()) return std::nullopt;
    return out;
  }

  // AIL-3 (PL) → a Location Reference: identifier from PL-10 (EI), display from PL-9 or the
  // place's parts.
  std::optional<json::object> location_reference(const Segment& ail) const {
    json::object out{{"type", "Location"}};
    if (std::string id = plain_text(ail, 3, 1, 10, 1); !id.empty()) {
      json::object identifier;
      put(identifier, "system",
          identifier_system(plain_text(ail, 3, 1, 10, 2), plain_text(ail, 3, 1, 10, 3),
                            plain_text(ail, 3, 1, 10, 4), systems_));
      identifier["value"] = id;
      out["identifier"] = std::move(identifier);
    }
    std::string display = plain_text(ail, 3, 1, 9);
    put(out, "display", display.empty() ? place_display(ail, 3) : display);
    if (out.size() == 1) return std::nullopt;
    return out;
  }

  // A duration (NM) in minutes by its units (CNE; minutes when empty, as HL7 defaults);
  // nullopt when absent or in units that are not a time. 102 when not a whole number.
  std::optional<long> duration(const SegmentAt& at, int field, int units_field) {
    std::string text = at.text(field);
    if (text.empty()) return std::nullopt;
    long value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value < 0) {
      fail(make_error(ErrorCode::kDataTypeError, "not a whole number of time units",
                      at.location(field)));
      return std::nullopt;
    }
    std::string units = at.text(units_field);
    for (std::string_view m : {"", "min", "mins", "minute", "minutes"}) {
      if (same_code(units, m)) return value;
    }
    for (std::string_view h : {"h", "hr", "hrs", "hour", "hours"}) {
      if (same_code(units, h)) return value * 60;
    }
    return std::nullopt;
  }

  // A DTM field (or a TS component); records 102 there when it is not a valid one.
  std::optional<std::string> date_time(const SegmentAt& at, int field, int component = 1) {
    std::string text = at.text(field, component);
    if (text.empty()) return std::nullopt;
    auto converted = fhir_date_time(text, zone_);
    if (!converted) {
      fail(make_error(ErrorCode::kDataTypeError, "not a valid HL7 date/time",
                      at.location(field, component == 1 ? 0 : component)));
    }
    return converted;
  }

  const Message& message_;
  const IdentifierSystems& systems_;
  std::string zone_;  // MSH-7's zone: the sender's, for times sent without one
  std::optional<Error> error_;
};

}  // namespace

Result<json::object> map_siu(const Message& message, const IdentifierSystems& systems) {
  const Segment* sch = message.find("SCH");
  if (!sch) return make_error(ErrorCode::kSegmentSequenceError, "the message has no SCH segment");
  if (plain_text(*sch, 1).empty() && plain_text(*sch, 2).empty()) {
    return make_error(ErrorCode::kRequiredFieldMissing,
                      "neither SCH-2 nor SCH-1 names the appointment", {"SCH", 1, 2, 0, 0, 0});
  }
  auto patient = map_patient(message, systems);
  if (!patient) return patient.take_error();
  TransactionBuilder bundle;
  std::string patient_url =
      bundle.ensure("Patient", std::move(patient->resource), patient->identifiers);
  AppointmentMapper mapper(message, systems);
  std::vector<IdentifierKey> keys;
  json::object appointment = mapper.appointment({sch, 1}, keys, patient_url);
  if (mapper.error()) return *mapper.error();
  bundle.upsert("Appointment", std::move(appointment), keys);
  return bundle.take_bundle();
}

}  // namespace cg::hl7v2
