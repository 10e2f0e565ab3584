#include "protocols/hl7v2/encounter_map.hpp"

#include <algorithm>
#include <array>
#include <boost/json/array.hpp>
#include <boost/json/value.hpp>
#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "protocols/hl7v2/error.hpp"
#include "protocols/hl7v2/fhir_bundle.hpp"
#include "protocols/hl7v2/v2_values.hpp"

namespace cg::hl7v2 {
namespace {

namespace json = boost::json;

// ---------------------------------------------------------------------------------------------
// Reading values. The other mappers (patient_map.cpp) hold the same small helpers privately;
// they move to one shared header once the mappers in flight have landed.

struct CodeMap {
  std::string_view v2;
  std::string_view fhir;
};

struct CodingMap {
  std::string_view v2;
  std::string_view code;
  std::string_view display;
  std::string_view system;
};

template <class Table>
auto find_code(const Table& table, std::string_view v2) -> const typename Table::value_type* {
  auto it = std::find_if(table.begin(), table.end(),
                         [&](const auto& entry) { return same_code(entry.v2, v2); });
  return it == table.end() ? nullptr : &*it;
}

template <std::size_t N>
std::string_view lookup(const std::array<CodeMap, N>& table, std::string_view v2) {
  const CodeMap* entry = find_code(table, v2);
  return entry ? entry->fhir : std::string_view{};
}

// One repetition of one field of one segment occurrence.
struct FieldRep {
  const Segment* segment = nullptr;
  int sequence = 1;
  int field = 0;
  int repetition = 1;

  std::string get(int component, int subcomponent = 1) const {
    return fhir_string(
        segment->get(field, repetition, component, subcomponent, Formatting::kPlainText));
  }
  ErrorLocation field_location() const { return {segment->id(), sequence, field, 0, 0, 0}; }
};

std::vector<FieldRep> repetitions(const Segment& segment, int field) {
  std::vector<FieldRep> out;
  for (int r = 1; r <= segment.repetition_count(field); ++r) out.push_back({&segment, 1, field, r});
  return out;
}

FieldRep first(const Segment& segment, int field) {
  return {&segment, 1, field, 1};
}

// CWE of a field with an HL7 table → CodeableConcept: CWE-1 in the table's system, CWE-2 as
// text (and as the coding's display).
json::object table_concept(const FieldRep& cwe, std::string_view system) {
  json::object out;
  std::string code = fhir_code(cwe.get(1));
  std::string text = cwe.get(2);
  if (!code.empty()) out["coding"] = json::array{valued_coding(system, code, text)};
  put(out, "text", std::move(text));
  return out;
}

// The FHIR system of a CWE-3 coding system name; "" for a local one (the coding then has no
// system).
std::string coding_system_uri(std::string_view name) {
  struct Known {
    std::string_view name;
    std::string_view uri;
  };
  static constexpr std::array<Known, 9> kKnown{{
      {"LN", "http://loinc.org"},
      {"SCT", "http://snomed.info/sct"},
      {"I10", "http://hl7.org/fhir/sid/icd-10"},
      {"I10C", "http://hl7.org/fhir/sid/icd-10-cm"},
      {"I9C", "http://hl7.org/fhir/sid/icd-9-cm"},
      {"I9CDX", "http://hl7.org/fhir/sid/icd-9-cm"},
      {"UCUM", "http://unitsofmeasure.org"},
      {"NDC", "http://hl7.org/fhir/sid/ndc"},
      {"RXNORM", "http://www.nlm.nih.gov/research/umls/rxnorm"},
  }};
  for (const Known& k : kKnown) {
    if (same_code(k.name, name)) return std::string(k.uri);
  }
  bool table =
      name.size() == 7 && same_code(name.substr(0, 3), "HL7") &&
      std::all_of(name.begin() + 3, name.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (table) return "http://terminology.hl7.org/CodeSystem/v2-" + std::string(name.substr(3));
  return {};
}

// CWE of a field without an HL7 table → CodeableConcept with the system CWE-3 names.
json::object local_concept(const FieldRep& cwe) {
  json::object out;
  std::string code = fhir_code(cwe.get(1));
  std::string text = cwe.get(2);
  if (!code.empty()) {
    out["coding"] =
        json::array{valued_coding(coding_system_uri(fhir_code(cwe.get(3))), code, text)};
  }
  put(out, "text", std::move(text));
  return out;
}

// XCN → a Reference of type Practitioner by identifier (XCN-1, system from XCN-9) with the
// name as display, as patient_map does for PD1-4; only "type" when it has neither.
json::object practitioner_reference(const FieldRep& xcn, const IdentifierSystems& systems) {
  json::object out{{"type", "Practitioner"}};
  if (std::string id = xcn.get(1); !id.empty()) {
    json::object identifier;
    put(identifier, "system",
        identifier_system(xcn.get(9, 1), xcn.get(9, 2), xcn.get(9, 3), systems));
    identifier["value"] = id;
    out["identifier"] = std::move(identifier);
  }
  put(out, "display",
      join({xcn.get(6), xcn.get(3), xcn.get(4), xcn.get(2, 1), xcn.get(5), xcn.get(7)}));
  return out;
}

// ---------------------------------------------------------------------------------------------
// The Encounter.

constexpr std::string_view kActCodeSystem = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
constexpr std::string_view kPatientClassSystem = "http://terminology.hl7.org/CodeSystem/v2-0004";
constexpr std::string_view kAdmissionTypeSystem = "http://terminology.hl7.org/CodeSystem/v2-0007";
constexpr std::string_view kHospitalServiceSystem = "http://terminology.hl7.org/CodeSystem/v2-0069";
constexpr std::string_view kAdmitSourceSystem = "http://terminology.hl7.org/CodeSystem/v2-0023";
constexpr std::string_view kDischargeDispositionSystem =
    "http://terminology.hl7.org/CodeSystem/v2-0112";
constexpr std::string_view kIdentifierTypeSystem = "http://terminology.hl7.org/CodeSystem/v2-0203";
constexpr std::string_view kParticipationTypeSystem =
    "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";

// Table 0004 → Encounter.class (the IG's PatientClass[EncounterClass]): four classes have a
// v3 ActCode, the others stay in v2-0004 (the binding is extensible).
constexpr std::array<CodingMap, 9> kPatientClass{{
    {"E", "EMER", "emergency", kActCodeSystem},
    {"I", "IMP", "inpatient encounter", kActCodeSystem},
    {"O", "AMB", "ambulatory", kActCodeSystem},
    {"P", "PRENC", "pre-admission", kActCodeSystem},
    {"R", "R", "Recurring patient", kPatientClassSystem},
    {"B", "B", "Obstetrics", kPatientClassSystem},
    {"C", "C", "Commercial Account", kPatientClassSystem},
    {"N", "N", "Not Applicable", kPatientClassSystem},
    {"U", "U", "Unknown", kPatientClassSystem},
}};

// Table 0004 → Encounter.status when the event does not say (A08; the IG's
// PatientClass[EncounterStatus]); any other class is in progress.
constexpr std::array<CodeMap, 2> kClassStatus{{{"P", "planned"}, {"U", "unknown"}}};

// The event → Encounter.status (the IG's Event[EncounterStatus], except A04: see
// docs/hl7v2.md). A08 has no entry: its status comes from PV1.
constexpr std::array<CodeMap, 10> kEventStatus{{
    {"A01", "in-progress"},
    {"A02", "in-progress"},
    {"A03", "finished"},
    {"A04", "in-progress"},
    {"A05", "planned"},
    {"A06", "in-progress"},
    {"A07", "in-progress"},
    {"A11", "cancelled"},
    {"A13", "in-progress"},
    {"A08", ""},
}};

struct Participation {
  int field;
  std::string_view code;
  std::string_view display;
};
constexpr std::array<Participation, 4> kParticipants{{
    {7, "ATND", "attender"},
    {8, "REF", "referrer"},
    {9, "CON", "consultant"},
    {17, "ADM", "admitter"},
}};

bool cancels(std::string_view trigger) {
  return same_code(trigger, "A11") || same_code(trigger, "A13");
}

class EncounterMapper {
 public:
  EncounterMapper(const Message& message, const IdentifierSystems& systems, const Segment& pv1)
      : message_(message),
        systems_(systems),
        pv1_(pv1),
        zone_(hl7_time_zone(message.get("MSH-7"))) {}

  Result<MappedEncounter> map(std::string_view trigger) {
    std::string patient_class = fhir_code(field(2).get(1));
    if (patient_class.empty()) {
      return make_error(ErrorCode::kRequiredFieldMissing, "PV1-2 (patient class) is empty",
                        field(2).field_location());
    }
    MappedEncounter out;
    visit_numbers(out, trigger);
    if (out.identifiers.empty() && cancels(trigger)) {
      return make_error(ErrorCode::kRequiredFieldMissing,
                        "a cancel needs the visit number (PV1-19) of the visit it cancels",
                        field(19).field_location());
    }
    encounter_["status"] = "unknown";  // replaced below; keeps FHIR's element order readable
    encounter_["class"] = patient_class_coding(patient_class);
    codeable(4, "type", kAdmissionTypeSystem, /*repeats=*/true);
    codeable(10, "serviceType", kHospitalServiceSystem, false);
    participants();
    period(trigger);
    encounter_["status"] = status(trigger, patient_class);
    reason();
    hospitalization();
    locations(patient_class);
    if (error_) return *error_;
    out.resource = std::move(encounter_);
    return out;
  }

 private:
  FieldRep field(int number) const { return first(pv1_, number); }

  // PV1-19 (the key), PV1-50 (alternate visit ids); for A06/A07, MRG-5 joins the key.
  void visit_numbers(MappedEncounter& out, std::string_view trigger) {
    if (auto id = identifier(field(19), "VN", "visit number")) {
      append(encounter_, "identifier", std::move(id->first));
      out.identifiers.push_back(std::move(id->second));
    }
    for (const FieldRep& cx : repetitions(pv1_, 50)) {
      if (auto id = identifier(cx, "", "")) append(encounter_, "identifier", std::move(id->first));
    }
    const Segment* mrg = message_.find("MRG");
    if (mrg != nullptr && !out.identifiers.empty() &&
        (same_code(trigger, "A06") || same_code(trigger, "A07"))) {
      if (auto prior = identifier(first(*mrg, 5), "", "")) {
        if (!(prior->second == out.identifiers.front()))
          out.identifiers.push_back(std::move(prior->second));
      }
    }
  }

  // CX → Identifier (type `type_code` unless CX-5 gives one); nullopt without CX-1.
  std::optional<std::pair<json::object, IdentifierKey>> identifier(const FieldRep& cx,
                                                                   std::string_view type_code,
                                                                   std::string_view type_text) {
    std::string value = cx.get(1);
    if (value.empty()) return std::nullopt;
    IdentifierKey key{identifier_system(cx.get(4, 1), cx.get(4, 2), cx.get(4, 3), systems_), value};
    json::object out;
    std::string type = fhir_code(cx.get(5));
    if (type.empty()) type = type_code;
    if (!type.empty()) {
      json::object concept_value{
          {"coding", json::array{valued_coding(kIdentifierTypeSystem, type)}}};
      if (type == type_code) put(concept_value, "text", std::string(type_text));
      out["type"] = std::move(concept_value);
    }
    put(out, "system", key.system);
    out["value"] = key.value;
    return std::pair{std::move(out), std::move(key)};
  }

  static json::object patient_class_coding(const std::string& code) {
    const CodingMap* mapped = find_code(kPatientClass, code);
    if (mapped == nullptr) return valued_coding(kPatientClassSystem, code);
    return valued_coding(mapped->system, std::string(mapped->code), std::string(mapped->display));
  }

  void codeable(int number, std::string_view key, std::string_view system, bool repeats) {
    json::object concept_value = table_concept(field(number), system);
    if (concept_value.empty()) return;
    if (repeats) {
      append(encounter_, key, std::move(concept_value));
    } else {
      encounter_[key] = std::move(concept_value);
    }
  }

  void participants() {
    for (const Participation& p : kParticipants) {
      for (const FieldRep& xcn : repetitions(pv1_, p.field)) {
        json::object individual = practitioner_reference(xcn, systems_);
        if (individual.size() < 2) continue;  // neither id nor name
        json::object type{
            {"coding", json::array{valued_coding(kParticipationTypeSystem, std::string(p.code),
                                                 std::string(p.display))}}};
        append(encounter_, "participant",
               json::object{{"type", json::array{std::move(type)}},
                            {"individual", std::move(individual)}});
      }
    }
  }

  // PV1-44 / PV1-45; without them the event time (EVN-6) of an admit or a discharge.
  void period(std::string_view trigger) {
    json::object period;
    auto start = date_time(field(44));
    auto end = date_time(field(45));
    const Segment* evn = message_.find("EVN");
    std::optional<std::string> occurred;
    if (evn != nullptr) occurred = date_time(first(*evn, 6));
    bool admits = same_code(trigger, "A01") || same_code(trigger, "A04");
    if (!start && admits) start = occurred;
    if (!end && same_code(trigger, "A03")) end = occurred;
    if (same_code(trigger, "A13")) end.reset();  // the discharge is cancelled: the visit goes on
    if (start) period["start"] = *start;
    if (end) period["end"] = *end;
    ended_ = end.has_value();
    if (!period.empty()) encounter_["period"] = std::move(period);
  }

  // The event's status; for A08 (and events the table lacks), PV1's: finished when PV1-45 is
  // valued, else by class.
  std::string status(std::string_view trigger, std::string_view patient_class) const {
    std::string_view by_event = lookup(kEventStatus, trigger);
    if (!by_event.empty()) return std::string(by_event);
    if (ended_) return "finished";
    std::string_view by_class = lookup(kClassStatus, patient_class);
    return std::string(by_class.empty() ? "in-progress" : by_class);
  }

  void reason() {
    const Segment* pv2 = message_.find("PV2");
    if (pv2 == nullptr) return;
    json::object reason = local_concept(first(*pv2, 3));
    if (!reason.empty()) append(encounter_, "reasonCode", std::move(reason));
  }

  void hospitalization() {
    json::object out;
    json::object source = table_concept(field(14), kAdmitSourceSystem);
    if (!source.empty()) out["admitSource"] = std::move(source);
    json::object disposition = table_concept(field(36), kDischargeDispositionSystem);
    if (!disposition.empty()) out["dischargeDisposition"] = std::move(disposition);
    if (!out.empty()) encounter_["hospitalization"] = std::move(out);
  }

  // PV1-3 (where the patient is, or will be) and PV1-6 (where the patient was).
  void locations(std::string_view patient_class) {
    std::string_view status = encounter_["status"].as_string();
    std::string_view current = "active";
    if (same_code(patient_class, "P") || status == "planned") current = "planned";
    if (status == "finished" || status == "cancelled") current = "completed";
    const std::array<std::pair<int, std::string_view>, 2> places{{{3, current}, {6, "completed"}}};
    for (auto [number, location_status] : places) {
      json::object reference = location_reference(field(number));
      if (reference.empty()) continue;
      json::object location;
      location["location"] = std::move(reference);
      location["status"] = location_status;
      append(encounter_, "location", std::move(location));
    }
  }

  // PL → a Reference of type Location by identifier: PL-10 (comprehensive location id) when
  // given, else "point of care^room^bed" in the facility's (PL-4) system; display from PL-9,
  // else the parts. Empty when the PL names no place.
  json::object location_reference(const FieldRep& pl) const {
    std::string point_of_care = pl.get(1, 1);
    std::string room = pl.get(2, 1);
    std::string bed = pl.get(3, 1);
    std::string facility = pl.get(4, 1);
    json::object identifier;
    if (std::string id = pl.get(10, 1); !id.empty()) {
      put(identifier, "system",
          identifier_system(pl.get(10, 2), pl.get(10, 3), pl.get(10, 4), systems_));
      identifier["value"] = id;
    } else if (!point_of_care.empty() || !room.empty() || !bed.empty()) {
      std::string value = point_of_care + "^" + room + "^" + bed;
      while (value.back() == '^') value.pop_back();
      put(identifier, "system", identifier_system(facility, pl.get(4, 2), pl.get(4, 3), systems_));
      identifier["value"] = value;
    }
    std::string display = pl.get(9);
    if (display.empty()) {
      display = join(
          {point_of_care, room.empty() ? "" : "room " + room, bed.empty() ? "" : "bed " + bed});
      if (!facility.empty()) display = join({display, "(" + facility + ")"});
    }
    if (identifier.empty() && display.empty()) return {};
    json::object out{{"type", "Location"}};
    if (!identifier.empty()) out["identifier"] = std::move(identifier);
    put(out, "display", std::move(display));
    return out;
  }

  // A DTM field (component 1: TS in older versions); records 102 when it is not valid.
  std::optional<std::string> date_time(const FieldRep& at) {
    std::string text = at.get(1);
    if (text.empty()) return std::nullopt;
    auto converted = fhir_date_time(text, zone_);
    if (!converted && !error_) {
      error_ =
          make_error(ErrorCode::kDataTypeError, "not a valid HL7 date/time", at.field_location());
    }
    return converted;
  }

  const Message& message_;
  const IdentifierSystems& systems_;
  const Segment& pv1_;
  std::string zone_;  // MSH-7's zone: the sender's, for times sent without one
  bool ended_ = false;
  std::optional<Error> error_;
  json::object encounter_{{"resourceType", "Encounter"}};
};

}  // namespace

bool is_visit_event(std::string_view trigger) {
  return find_code(kEventStatus, trigger) != nullptr;
}

Result<MappedEncounter> map_encounter(const Message& message, const IdentifierSystems& systems,
                                      std::string_view trigger) {
  const Segment* pv1 = message.find("PV1");
  if (pv1 == nullptr) {
    return make_error(ErrorCode::kSegmentSequenceError, "the message has no PV1 segment");
  }
  return EncounterMapper(message, systems, *pv1).map(trigger);
}

Result<json::object> map_adt_visit(const Message& message, const IdentifierSystems& systems) {
  std::string trigger = fhir_code(message.get("MSH-9.2"));
  if (!is_visit_event(trigger)) {
    return make_error(ErrorCode::kUnsupportedEventCode, "not a visit event",
                      ErrorLocation{"MSH", 1, 9, 1, 2, 0});
  }
  auto patient = map_patient(message, systems);
  if (!patient) return patient.take_error();
  TransactionBuilder bundle;
  std::string subject =
      bundle.upsert("Patient", std::move(patient->resource), patient->identifiers);
  const Segment* pv1 = message.find("PV1");
  bool update_only =
      same_code(trigger, "A08") &&
      (pv1 == nullptr || pv1->presence(19) != Presence::kValued || first(*pv1, 19).get(1).empty());
  if (!update_only) {
    auto encounter = map_encounter(message, systems, trigger);
    if (!encounter) return encounter.take_error();
    encounter->resource["subject"] = json::object{{"reference", subject}};
    bundle.upsert("Encounter", std::move(encounter->resource), encounter->identifiers);
  }
  return bundle.take_bundle();
}

}  // namespace cg::hl7v2
