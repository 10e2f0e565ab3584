#include "protocols/hl7v2/observation_map.hpp"

#include <algorithm>
#include <array>
#include <boost/json/array.hpp>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocols/fhir/index/ucum.hpp"
#include "protocols/fhir/model/json.hpp"
#include "protocols/hl7v2/error.hpp"
#include "protocols/hl7v2/fhir_bundle.hpp"
#include "protocols/hl7v2/v2_values.hpp"

namespace cg::hl7v2 {
namespace {

namespace json = boost::json;

constexpr std::string_view kTerminology = "http://terminology.hl7.org/CodeSystem/";
constexpr std::string_view kUcumSystem = "http://unitsofmeasure.org";
// Decimals longer than this are refused: no measurement needs more, and the store's
// numeric index reads them as doubles anyway.
constexpr std::size_t kMaxDecimalDigits = 32;

std::string terminology(std::string_view code_system) {
  return std::string(kTerminology) + std::string(code_system);
}

json::object coding(std::string system, std::string_view code, std::string_view display = {}) {
  json::object out{{"system", std::move(system)}, {"code", code}};
  if (!display.empty()) out["display"] = display;
  return out;
}

json::object concept_of(json::object coding) {
  return json::object{{"coding", json::array{std::move(coding)}}};
}

std::string upper_case(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Code tables (v2-to-FHIR IG concept maps; codes the IG leaves unmapped are filled in with
// the nearest status, see docs/hl7v2.md).

struct StatusMap {
  std::string_view v2;
  std::string_view fhir;
  std::string_view absent_reason;  // data-absent-reason when the OBX carries no value
};

// Table 0085 → observation-status.
constexpr std::array<StatusMap, 15> kObservationStatus{{
    {"A", "amended", ""},
    {"B", "amended", ""},
    {"C", "corrected", ""},
    {"D", "entered-in-error", ""},
    {"F", "final", ""},
    {"I", "registered", ""},
    {"N", "cancelled", "not-asked"},
    {"O", "registered", ""},
    {"P", "preliminary", ""},
    {"R", "preliminary", ""},
    {"S", "preliminary", ""},
    {"U", "final", ""},
    {"V", "final", ""},
    {"W", "entered-in-error", ""},
    {"X", "cancelled", "not-performed"},
}};

// Table 0123 → diagnostic-report-status.
constexpr std::array<StatusMap, 11> kReportStatus{{
    {"O", "registered", ""},
    {"I", "registered", ""},
    {"S", "registered", ""},
    {"A", "partial", ""},
    {"P", "preliminary", ""},
    {"C", "corrected", ""},
    {"R", "partial", ""},
    {"F", "final", ""},
    {"X", "cancelled", ""},
    {"M", "partial", ""},
    {"N", "partial", ""},
}};

template <std::size_t N>
const StatusMap* find_status(const std::array<StatusMap, N>& table, std::string_view v2) {
  std::string code = upper_case(v2);
  auto it = std::find_if(table.begin(), table.end(), [&](const auto& e) { return e.v2 == code; });
  return it == table.end() ? nullptr : &*it;
}

struct Interpretation {
  std::string_view code;
  std::string_view display;
};

// Table 0078 codes that v3 ObservationInterpretation holds with the same code.
constexpr std::array<Interpretation, 39> kInterpretations{{
    {"<", "Off scale low"},
    {">", "Off scale high"},
    {"A", "Abnormal"},
    {"AA", "Critical abnormal"},
    {"B", "Better"},
    {"CAR", "Carrier"},
    {"D", "Significant change down"},
    {"DET", "Detected"},
    {"E", "Equivocal"},
    {"EX", "outside threshold"},
    {"EXP", "Expected"},
    {"H", "High"},
    {"HH", "Critical high"},
    {"HU", "Significantly high"},
    {"I", "Intermediate"},
    {"IE", "Insufficient evidence"},
    {"IND", "Indeterminate"},
    {"L", "Low"},
    {"LL", "Critical low"},
    {"LU", "Significantly low"},
    {"MS", "moderately susceptible"},
    {"N", "Normal"},
    {"NCL", "No CLSI defined breakpoint"},
    {"ND", "Not detected"},
    {"NEG", "Negative"},
    {"NR", "Non-reactive"},
    {"NS", "Non-susceptible"},
    {"POS", "Positive"},
    {"R", "Resistant"},
    {"RR", "Reactive"},
    {"S", "Susceptible"},
    {"SDD", "Susceptible-dose dependent"},
    {"SYN-R", "Synergy - resistant"},
    {"SYN-S", "Synergy - susceptible"},
    {"U", "Significant change up"},
    {"UNE", "Unexpected"},
    {"VS", "very susceptible"},
    {"W", "Worse"},
    {"WR", "Weakly reactive"},
}};

struct CategoryMap {
  std::string_view section;  // table 0074
  std::string_view category;
  std::string_view display;
};

// Diagnostic service sections (OBR-24) that are not laboratory work → observation-category.
constexpr std::array<CategoryMap, 18> kCategories{{
    {"CT", "imaging", "Imaging"},
    {"CUS", "imaging", "Imaging"},
    {"NMR", "imaging", "Imaging"},
    {"NMS", "imaging", "Imaging"},
    {"OUS", "imaging", "Imaging"},
    {"RAD", "imaging", "Imaging"},
    {"RUS", "imaging", "Imaging"},
    {"RX", "imaging", "Imaging"},
    {"VUS", "imaging", "Imaging"},
    {"XRC", "imaging", "Imaging"},
    {"CTH", "procedure", "Procedure"},
    {"EC", "procedure", "Procedure"},
    {"EN", "procedure", "Procedure"},
    {"PF", "procedure", "Procedure"},
    {"OT", "therapy", "Therapy"},
    {"PT", "therapy", "Therapy"},
    {"RC", "therapy", "Therapy"},
    {"RT", "therapy", "Therapy"},
}};

// ---------------------------------------------------------------------------------------------
// Numbers and times.

bool all_digits(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// An HL7 NM ("+007.50", "-.5", "12.") → a FHIR decimal lexeme ("7.50", "-0.5", "12"), keeping
// the digits after the point as sent; nullopt when it is not a number.
std::optional<std::string> decimal_lexeme(std::string_view text) {
  bool negative = false;
  if (!text.empty() && (text.front() == '+' || text.front() == '-')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  std::size_t dot = text.find('.');
  std::string_view integer = text.substr(0, dot);
  std::string_view fraction = dot == std::string_view::npos ? "" : text.substr(dot + 1);
  if ((integer.empty() && fraction.empty()) || !all_digits(integer) || !all_digits(fraction) ||
      integer.size() + fraction.size() > kMaxDecimalDigits) {
    return std::nullopt;
  }
  while (integer.size() > 1 && integer.front() == '0') integer.remove_prefix(1);
  std::string out = negative ? "-" : "";
  out += integer.empty() ? "0" : std::string(integer);
  if (!fraction.empty()) out += "." + std::string(fraction);
  return out;
}

// Takes a signed decimal from the front of `text` (after spaces); nullopt when there is none.
std::optional<std::string> take_number(std::string_view& text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  std::size_t end = 0;
  if (end < text.size() && (text[end] == '+' || text[end] == '-')) ++end;
  while (end < text.size() && ((text[end] >= '0' && text[end] <= '9') || text[end] == '.')) ++end;
  auto lexeme = decimal_lexeme(text.substr(0, end));
  if (lexeme) text.remove_prefix(end);
  return lexeme;
}

// HL7 TM (HH[MM[SS[.S…]]][±ZZZZ]) → FHIR time (hh:mm:ss[.s…]); FHIR times have no zone, so
// one sent is dropped. nullopt when invalid.
std::optional<std::string> fhir_time(std::string_view text) {
  if (std::size_t zone = text.find_first_of("+-"); zone != std::string_view::npos) {
    text = text.substr(0, zone);
  }
  std::string_view whole = text.substr(0, text.find('.'));
  std::string_view fraction = whole.size() < text.size() ? text.substr(whole.size() + 1) : "";
  if ((whole.size() != 2 && whole.size() != 4 && whole.size() != 6) || !all_digits(whole) ||
      (whole.size() < text.size() && (whole.size() != 6 || fraction.empty())) ||
      !all_digits(fraction)) {
    return std::nullopt;
  }
  auto part = [&](std::size_t at) {
    return at < whole.size() ? std::string(whole.substr(at, 2)) : std::string("00");
  };
  std::string hh = part(0), mm = part(2), ss = part(4);
  if (hh > "23" || mm > "59" || ss > "59") return std::nullopt;
  std::string out = hh + ":" + mm + ":" + ss;
  if (!fraction.empty()) out += "." + std::string(fraction);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The message's structure as the mapper walks it.

struct Place {
  const Segment* segment = nullptr;
  int sequence = 0;  // occurrence of the segment id in the message

  ErrorLocation at(int field, int repetition = 0) const {
    return {segment->id(), sequence, field, repetition, 0, 0};
  }
  std::string text(int field, int repetition = 1, int component = 1, int subcomponent = 1) const {
    return plain_text(*segment, field, repetition, component, subcomponent);
  }
};

// One DiagnosticReport being built: the first OBR of its order number decides its fields;
// every OBR group with that number adds its Observations.
struct Report {
  std::optional<IdentifierKey> key;  // what the report (and its Observations) are keyed on
  json::object resource;
  json::array results;
  json::object category;                  // the Observations' category (observation-category)
  std::map<std::string, int> code_count;  // OBX-3 code → OBX seen with it and without OBX-4
  std::set<std::string> used_ids;         // Observation identifier values
};

// The OBR group an OBX belongs to: its report (none before the first OBR) and OBR-7.
struct Group {
  Report* report = nullptr;
  std::optional<std::string> effective;
};

class ResultMapper {
 public:
  ResultMapper(const Message& message, const IdentifierSystems& systems)
      : message_(message), systems_(systems), zone_(hl7_time_zone(message.get("MSH-7"))) {}

  Result<json::object> map() {
    if (message_.count("OBX") > kMaxObservationsPerMessage ||
        message_.count("OBR") > kMaxObservationsPerMessage) {
      return make_error(ErrorCode::kApplicationInternalError,
                        "the message holds more OBX or OBR segments than one message may");
    }
    if (message_.find("OBR") == nullptr && message_.find("OBX") == nullptr) {
      return make_error(ErrorCode::kSegmentSequenceError, "the message has no OBR and no OBX");
    }
    if (auto status = add_patient(1); !status) return status.take_error();
    walk();
    if (error_) return *error_;
    for (Report& report : reports_) {
      if (!report.results.empty()) report.resource["result"] = std::move(report.results);
      std::vector<IdentifierKey> keys;
      if (report.key) keys.push_back(*report.key);
      bundle_.upsert("DiagnosticReport", std::move(report.resource), keys);
    }
    return bundle_.take_bundle();
  }

 private:
  Status add_patient(int occurrence) {
    auto patient = map_patient(message_, systems_, occurrence);
    if (!patient) return patient.take_error();
    subject_ = bundle_.ensure("Patient", std::move(patient->resource), patient->identifiers);
    return ok_status();
  }

  void walk() {
    std::map<std::string, int, std::less<>> sequences;
    Group group;
    Place orc;                     // the ORC of the order group being read (none: null segment)
    json::object* last = nullptr;  // the Observation NTE segments after an OBX annotate
    for (const Segment& segment : message_.segments()) {
      const std::string& id = segment.id();
      Place place{&segment, ++sequences[id]};
      if (id != "NTE") last = nullptr;
      if (id == "PID" && place.sequence > 1) {
        // The next patient's results: nothing before this PID is theirs.
        flush();
        group = Group{};
        orc = Place{};
        if (auto status = add_patient(place.sequence); !status) fail(status.take_error());
      } else if (id == "ORC") {
        orc = place;
      } else if (id == "OBR") {
        group = order_group(place, orc);
        orc = Place{};
      } else if (id == "OBX") {
        last = observation(place, group);
      } else if (id == "NTE" && last != nullptr) {
        note(*last, place);
      }
      if (error_) return;
    }
    flush();
  }

  // ----- OBR → DiagnosticReport

  // `orc`: the group's ORC, or a Place without a segment when it has none.
  Group order_group(const Place& obr, const Place& orc) {
    flush();
    auto order_number = [&](int field) {
      auto key = entity_identifier(*obr.segment, field, systems_);
      if (!key && orc.segment != nullptr) key = entity_identifier(*orc.segment, field, systems_);
      return key;
    };
    std::optional<IdentifierKey> filler = order_number(3);
    std::optional<IdentifierKey> placer = order_number(2);
    std::optional<IdentifierKey> key = filler ? filler : placer;
    Group group;
    group.effective = date_time(obr, 7);
    if (key) {
      std::string name = key->system + "|" + key->value;
      if (auto it = report_by_key_.find(name); it != report_by_key_.end()) {
        group.report = &reports_[it->second];
        return group;
      }
      report_by_key_.emplace(name, reports_.size());
    }
    Report& report = reports_.emplace_back();
    report.key = key;
    report.resource = report_resource(obr, filler, placer, group.effective);
    report.category = observation_category(obr);
    group.report = &report;
    return group;
  }

  json::object report_resource(const Place& obr, const std::optional<IdentifierKey>& filler,
                               const std::optional<IdentifierKey>& placer,
                               const std::optional<std::string>& effective) {
    json::object out;
    for (auto [key, type] : {std::pair{&filler, "FILL"}, std::pair{&placer, "PLAC"}}) {
      if (!*key) continue;
      json::object identifier = identifier_element(**key);
      identifier["type"] = concept_of(coding(terminology("v2-0203"), type));
      append(out, "identifier", std::move(identifier));
    }
    const StatusMap* status = find_status(kReportStatus, obr.text(25));
    out["status"] = status ? status->fhir : "unknown";
    std::string section = fhir_code(obr.text(24));
    out["category"] =
        json::array{concept_of(coding(terminology("v2-0074"), section.empty() ? "LAB" : section))};
    if (auto code = codeable_concept(*obr.segment, 4)) {
      out["code"] = std::move(*code);
    } else {
      fail(make_error(ErrorCode::kRequiredFieldMissing, "OBR-4 (universal service id) is empty",
                      obr.at(4)));
    }
    out["subject"] = json::object{{"reference", subject_}};
    if (auto end = date_time(obr, 8); end && effective) {
      out["effectivePeriod"] = json::object{{"start", *effective}, {"end", *end}};
    } else if (effective) {
      out["effectiveDateTime"] = *effective;
    }
    // issued is an instant: only a time to the second with a zone qualifies.
    if (auto issued = date_time(obr, 22); issued && issued->find('T') != std::string::npos) {
      out["issued"] = *issued;
    }
    return out;
  }

  // The Observations' category from OBR-24: laboratory unless the section says otherwise.
  static json::object observation_category(const Place& obr) {
    std::string section = upper_case(fhir_code(obr.text(24)));
    return category(std::find_if(kCategories.begin(), kCategories.end(),
                                 [&](const CategoryMap& e) { return e.section == section; }));
  }

  static json::object category(const CategoryMap* found) {
    bool lab = found == kCategories.end();
    return concept_of(coding(terminology("observation-category"),
                             lab ? "laboratory" : found->category,
                             lab ? "Laboratory" : found->display));
  }

  // ----- OBX → Observation

  json::object* observation(const Place& obx, const Group& group) {
    auto code = codeable_concept(*obx.segment, 3);
    if (!code) {
      fail(make_error(ErrorCode::kRequiredFieldMissing, "OBX-3 (observation identifier) is empty",
                      obx.at(3)));
      return nullptr;
    }
    json::object out;
    std::vector<IdentifierKey> keys = observation_keys(obx, group.report);
    for (const IdentifierKey& key : keys) append(out, "identifier", identifier_element(key));
    const StatusMap* status = find_status(kObservationStatus, obx.text(11));
    out["status"] = status ? status->fhir : "unknown";
    out["category"] =
        json::array{group.report ? group.report->category : category(kCategories.end())};
    out["code"] = *code;
    out["subject"] = json::object{{"reference", subject_}};
    if (auto effective = date_time(obx, 14)) {
      out["effectiveDateTime"] = *effective;
    } else if (group.effective) {
      out["effectiveDateTime"] = *group.effective;
    }
    performers(out, obx);
    value(out, obx, *code);
    if (!out.contains("component") && !has_value(out) && status && !status->absent_reason.empty()) {
      out["dataAbsentReason"] =
          concept_of(coding(terminology("data-absent-reason"), status->absent_reason));
    }
    interpretations(out, obx);
    if (auto method = codeable_concept(*obx.segment, 17)) out["method"] = std::move(*method);
    if (auto site = codeable_concept(*obx.segment, 20)) out["bodySite"] = std::move(*site);
    reference_range(out, obx);
    pending_.push_back({std::move(out), std::move(keys), group.report});
    return &pending_.back().resource;
  }

  // The report's order number + "-" + OBX-4 (else the count of this code so far) + "-" +
  // OBX-3.1; OBX-21 as well when valued.
  std::vector<IdentifierKey> observation_keys(const Place& obx, Report* report) {
    std::vector<IdentifierKey> keys;
    if (report && report->key) {
      std::string code = fhir_code(obx.text(3, 1, 1));
      if (code.empty()) code = fhir_code(obx.text(3, 1, 4));
      if (code.empty()) code = obx.text(3, 1, 2);
      std::string sub = fhir_code(obx.text(4));
      if (sub.empty()) sub = std::to_string(++report->code_count[code]);
      std::string value = report->key->value + "-" + sub + "-" + code;
      if (!report->used_ids.insert(value).second) {
        fail(make_error(ErrorCode::kDuplicateKeyIdentifier,
                        "two OBX of one order have the same OBX-4 and OBX-3", obx.at(4)));
      }
      keys.push_back({report->key->system, std::move(value)});
    }
    if (auto instance = entity_identifier(*obx.segment, 21, systems_)) {
      keys.push_back(std::move(*instance));
    }
    return keys;
  }

  void performers(json::object& out, const Place& obx) {
    for (int r = 1; r <= obx.segment->repetition_count(16); ++r) {
      if (auto who = practitioner_reference(*obx.segment, 16, r, systems_)) {
        append(out, "performer", std::move(*who));
      }
    }
    // OBX-23 (XON): the performing organization, by XON-10 in the authority of XON-6.
    json::object organization{{"type", "Organization"}};
    if (std::string id = obx.text(23, 1, 10); !id.empty()) {
      json::object identifier;
      std::string system = identifier_system(obx.text(23, 1, 6, 1), obx.text(23, 1, 6, 2),
                                             obx.text(23, 1, 6, 3), systems_);
      if (!system.empty()) identifier["system"] = system;
      identifier["value"] = id;
      organization["identifier"] = std::move(identifier);
    }
    if (std::string name = obx.text(23); !name.empty()) organization["display"] = name;
    if (organization.size() > 1) append(out, "performer", std::move(organization));
  }

  static bool has_value(const json::object& observation) {
    return std::any_of(observation.begin(), observation.end(),
                       [](const auto& member) { return member.key().starts_with("value"); });
  }

  // ----- OBX-5 by OBX-2

  struct Units {
    std::string unit;
    std::string system;
    std::string code;
  };

  static Units units_of(const Place& obx) {
    Units units;
    std::string id = fhir_code(obx.text(6, 1, 1));
    std::string text = obx.text(6, 1, 2);
    units.unit = text.empty() ? id : text;
    if (id.empty()) return units;
    if (std::string name = obx.text(6, 1, 3); !name.empty()) {
      units.system = code_system_uri(name);
      units.code = id;
    } else if (fhir::ucum_canonical(id)) {
      units.system = kUcumSystem;
      units.code = id;
    }
    return units;
  }

  static json::object quantity(const std::string& lexeme, const Units& units,
                               std::string_view comparator = {}) {
    json::object out{{"value", fhir::make_decimal(lexeme)}};
    if (!comparator.empty()) out["comparator"] = comparator;
    if (!units.unit.empty()) out["unit"] = units.unit;
    if (!units.code.empty()) {
      out["system"] = units.system;
      out["code"] = units.code;
    }
    return out;
  }

  enum class Kind {
    kNumber,
    kStructuredNumber,
    kNumericRange,
    kText,
    kCoded,
    kDateTime,
    kTime,
    kDateRange,
    kUnsupported
  };

  static Kind kind_of(std::string_view value_type) {
    static const std::map<std::string, Kind, std::less<>> kKinds{
        {"NM", Kind::kNumber},       {"SN", Kind::kStructuredNumber},
        {"NR", Kind::kNumericRange}, {"ST", Kind::kText},
        {"TX", Kind::kText},         {"FT", Kind::kText},
        {"", Kind::kText},           {"CE", Kind::kCoded},
        {"CWE", Kind::kCoded},       {"CNE", Kind::kCoded},
        {"CF", Kind::kCoded},        {"IS", Kind::kCoded},
        {"ID", Kind::kCoded},        {"DT", Kind::kDateTime},
        {"DTM", Kind::kDateTime},    {"TS", Kind::kDateTime},
        {"TM", Kind::kTime},         {"DR", Kind::kDateRange},
    };
    auto it = kKinds.find(upper_case(value_type));
    return it == kKinds.end() ? Kind::kUnsupported : it->second;
  }

  // OBX-5 → value[x]; repetitions of a non-text value become components (the IG's
  // OBX[Observation-Component] map), each with the OBX-3 code.
  void value(json::object& out, const Place& obx, const json::object& code) {
    int repetitions = obx.segment->repetition_count(5);
    if (repetitions == 0) return;
    Kind kind = kind_of(fhir_code(obx.text(2)));
    if (kind == Kind::kText) {
      std::string text;
      for (int r = 1; r <= repetitions; ++r) {
        if (r > 1) text += '\n';
        text += obx.text(5, r);
      }
      if (std::string trimmed = fhir_string(text); !trimmed.empty()) out["valueString"] = trimmed;
      return;
    }
    if (kind == Kind::kUnsupported) {
      out["dataAbsentReason"] =
          concept_of(coding(terminology("data-absent-reason"), "unsupported"));
      return;
    }
    Units units = units_of(obx);
    for (int r = 1; r <= repetitions; ++r) {
      auto one = single_value(obx, kind, r, repetitions > 1 ? r : 0, units);
      if (!one) continue;
      if (repetitions == 1) {
        out[one->first] = std::move(one->second);
      } else {
        json::object component{{"code", code}};
        component[one->first] = std::move(one->second);
        append(out, "component", std::move(component));
      }
    }
  }

  using Value = std::pair<std::string, json::value>;

  std::optional<Value> single_value(const Place& obx, Kind kind, int r, int location_rep,
                                    const Units& units) {
    auto bad = [&](std::string_view what) {
      fail(make_error(ErrorCode::kDataTypeError, std::string("OBX-5 is not ") + std::string(what),
                      obx.at(5, location_rep)));
      return std::nullopt;
    };
    std::string text = obx.text(5, r);
    switch (kind) {
      case Kind::kNumber: {
        if (text.empty()) return std::nullopt;
        auto lexeme = decimal_lexeme(text);
        if (!lexeme) return bad("a number (NM)");
        return Value{"valueQuantity", quantity(*lexeme, units)};
      }
      case Kind::kStructuredNumber:
        return structured_number(obx, r, units);
      case Kind::kNumericRange: {
        std::string low_text = obx.text(5, r, 1);
        std::string high_text = obx.text(5, r, 2);
        json::object range;
        for (auto [part, key] : {std::pair{&low_text, "low"}, std::pair{&high_text, "high"}}) {
          if (part->empty()) continue;
          auto lexeme = decimal_lexeme(*part);
          if (!lexeme) return bad("a numeric range (NR)");
          range[key] = quantity(*lexeme, units);
        }
        if (range.empty()) return std::nullopt;
        return Value{"valueRange", std::move(range)};
      }
      case Kind::kCoded: {
        auto concept_value = codeable_concept(*obx.segment, 5, r);
        if (!concept_value) return std::nullopt;
        return Value{"valueCodeableConcept", std::move(*concept_value)};
      }
      case Kind::kDateTime: {
        if (text.empty()) return std::nullopt;
        auto converted = fhir_date_time(text, zone_);
        if (!converted) return bad("a date/time");
        return Value{"valueDateTime", *converted};
      }
      case Kind::kTime: {
        if (text.empty()) return std::nullopt;
        auto converted = fhir_time(text);
        if (!converted) return bad("a time (TM)");
        return Value{"valueTime", *converted};
      }
      case Kind::kDateRange: {
        json::object period;
        for (auto [component, key] : {std::pair{1, "start"}, std::pair{2, "end"}}) {
          std::string part = obx.text(5, r, component);
          if (part.empty()) continue;
          auto converted = fhir_date_time(part, zone_);
          if (!converted) return bad("a date range (DR)");
          period[key] = *converted;
        }
        if (period.empty()) return std::nullopt;
        return Value{"valuePeriod", std::move(period)};
      }
      case Kind::kText:
      case Kind::kUnsupported:
        break;
    }
    return std::nullopt;
  }

  // SN (comparator ^ num1 ^ separator/suffix ^ num2), by the IG: "<>" and anything that does
  // not parse → valueString; ":" or "/" → valueRatio; "-" → valueRange; no separator →
  // valueQuantity with the comparator.
  static std::optional<Value> structured_number(const Place& obx, int r, const Units& units) {
    std::string comparator = fhir_code(obx.text(5, r, 1));
    std::string num1 = obx.text(5, r, 2);
    std::string separator = fhir_code(obx.text(5, r, 3));
    std::string num2 = obx.text(5, r, 4);
    std::string as_text = fhir_string(comparator + num1 + separator + num2);
    if (as_text.empty()) return std::nullopt;
    auto first = decimal_lexeme(num1);
    auto second = decimal_lexeme(num2);
    bool known_comparator = comparator.empty() || comparator == "=" || comparator == "<" ||
                            comparator == ">" || comparator == "<=" || comparator == ">=";
    if (!known_comparator || !first) return Value{"valueString", as_text};
    // A std::string: `cond ? "" : comparator` is a temporary string, which a string_view
    // would outlive (ASan: stack-use-after-scope).
    const std::string fhir_comparator = comparator == "=" ? std::string() : comparator;
    if (separator.empty() && num2.empty()) {
      return Value{"valueQuantity", quantity(*first, units, fhir_comparator)};
    }
    if (!second || !fhir_comparator.empty()) return Value{"valueString", as_text};
    if (separator == ":" || separator == "/") {
      return Value{"valueRatio", json::object{{"numerator", quantity(*first, units)},
                                              {"denominator", quantity(*second, Units{})}}};
    }
    if (separator == "-") {
      return Value{"valueRange", json::object{{"low", quantity(*first, units)},
                                              {"high", quantity(*second, units)}}};
    }
    return Value{"valueString", as_text};
  }

  void interpretations(json::object& out, const Place& obx) {
    for (int r = 1; r <= obx.segment->repetition_count(8); ++r) {
      std::string code = fhir_code(obx.text(8, r));
      if (code.empty()) continue;
      auto it = std::find_if(kInterpretations.begin(), kInterpretations.end(),
                             [&](const Interpretation& e) { return e.code == upper_case(code); });
      json::object interpretation =
          it != kInterpretations.end()
              ? concept_of(
                    coding(terminology("v3-ObservationInterpretation"), it->code, it->display))
              : concept_of(coding(terminology("v2-0078"), code));
      append(out, "interpretation", std::move(interpretation));
    }
  }

  // OBX-7 as text; "low-high" also as numbers in the value's units.
  static void reference_range(json::object& out, const Place& obx) {
    std::string text = obx.text(7);
    if (text.empty()) return;
    json::object range{{"text", text}};
    Kind kind = kind_of(fhir_code(obx.text(2)));
    if (kind == Kind::kNumber || kind == Kind::kStructuredNumber) {
      std::string_view rest = text;
      auto low = take_number(rest);
      while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
      if (low && !rest.empty() && rest.front() == '-') {
        rest.remove_prefix(1);
        auto high = take_number(rest);
        if (high && rest.find_first_not_of(' ') == std::string_view::npos) {
          Units units = units_of(obx);
          range["low"] = quantity(*low, units);
          range["high"] = quantity(*high, units);
        }
      }
    }
    out["referenceRange"] = json::array{std::move(range)};
  }

  // NTE-3 (every repetition, a line each) → a note of the Observation before it.
  static void note(json::object& observation, const Place& nte) {
    std::string text;
    for (int r = 1; r <= nte.segment->repetition_count(3); ++r) {
      if (r > 1) text += '\n';
      text += nte.text(3, r);
    }
    text = fhir_string(std::move(text));
    if (!text.empty()) append(observation, "note", json::object{{"text", text}});
  }

  // ----- shared

  // A DTM field; records 102 at it when it is not a valid date/time.
  std::optional<std::string> date_time(const Place& place, int field) {
    std::string text = place.text(field);
    if (text.empty()) return std::nullopt;
    auto converted = fhir_date_time(text, zone_);
    if (!converted) {
      fail(make_error(ErrorCode::kDataTypeError, "not a valid HL7 date/time", place.at(field)));
    }
    return converted;
  }

  // Writes the Observations read so far (their NTE segments are behind them) and links them
  // to their report.
  void flush() {
    for (PendingObservation& p : pending_) {
      std::string url = bundle_.upsert("Observation", std::move(p.resource), p.keys);
      if (p.report) p.report->results.push_back(json::object{{"reference", url}});
    }
    pending_.clear();
  }

  void fail(Error error) {
    if (!error_) error_ = std::move(error);
  }

  struct PendingObservation {
    json::object resource;
    std::vector<IdentifierKey> keys;
    Report* report = nullptr;
  };

  const Message& message_;
  const IdentifierSystems& systems_;
  std::string zone_;  // MSH-7's zone: the sender's, for times sent without one
  TransactionBuilder bundle_;
  std::string subject_;         // fullUrl of the Patient of the PID read last
  std::deque<Report> reports_;  // deque: groups point into it
  std::map<std::string, std::size_t> report_by_key_;
  std::deque<PendingObservation> pending_;  // deque: NTE segments point into it
  std::optional<Error> error_;
};

}  // namespace

Result<json::object> map_oru(const Message& message, const IdentifierSystems& systems) {
  return ResultMapper(message, systems).map();
}

}  // namespace cg::hl7v2
