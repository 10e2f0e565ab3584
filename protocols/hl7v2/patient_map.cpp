#include "protocols/hl7v2/patient_map.hpp"

#include <algorithm>
#include <array>
#include <boost/json/array.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <optional>
#include <utility>

#include "protocols/hl7v2/error.hpp"
#include "protocols/hl7v2/v2_values.hpp"

namespace cg::hl7v2 {
namespace {

namespace json = boost::json;

constexpr std::string_view kIdentifierTypeSystem = "http://terminology.hl7.org/CodeSystem/v2-0203";
constexpr std::string_view kRelationshipSystem = "http://terminology.hl7.org/CodeSystem/v2-0063";
constexpr std::string_view kContactRoleSystem = "http://terminology.hl7.org/CodeSystem/v2-0131";
constexpr std::string_view kMaritalStatusV2System = "http://terminology.hl7.org/CodeSystem/v2-0002";
constexpr std::string_view kRoleCodeSystem = "http://terminology.hl7.org/CodeSystem/v3-RoleCode";
constexpr std::string_view kMaritalStatusSystem =
    "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus";
constexpr std::string_view kNullFlavorSystem =
    "http://terminology.hl7.org/CodeSystem/v3-NullFlavor";
constexpr std::string_view kLanguageSystem = "urn:ietf:bcp:47";
constexpr std::string_view kMothersMaidenNameUrl =
    "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName";
constexpr std::string_view kBirthTimeUrl =
    "http://hl7.org/fhir/StructureDefinition/patient-birthTime";
constexpr std::string_view kAuthorityUrnPrefix = "urn:cg:authority:";

// ---------------------------------------------------------------------------------------------
// Code tables (v2-to-FHIR IG concept maps). Lookups ignore case: senders vary ("INTERNET").

struct CodeMap {
  std::string_view v2;
  std::string_view fhir;
};

// A v2 code mapped to a coding of another code system.
struct CodingMap {
  std::string_view v2;
  std::string_view code;
  std::string_view display;
  std::string_view system;
};

// Table 0001 → administrative-gender.
constexpr std::array<CodeMap, 6> kGender{{
    {"M", "male"},
    {"F", "female"},
    {"O", "other"},
    {"U", "unknown"},
    {"A", "other"},
    {"N", "other"},
}};

// Table 0200 → name-use. "A" (alias) is not in the IG's map; alias names are anonymous.
constexpr std::array<CodeMap, 10> kNameUse{{
    {"L", "official"},
    {"R", "official"},
    {"D", "usual"},
    {"M", "maiden"},
    {"N", "nickname"},
    {"A", "anonymous"},
    {"MSK", "anonymous"},
    {"NAV", "temp"},
    {"TEMP", "temp"},
    {"BAD", "old"},
}};

// Table 0190 → address-use; M and SH give address-type "postal" instead.
constexpr std::array<CodeMap, 6> kAddressUse{{
    {"H", "home"},
    {"B", "work"},
    {"O", "work"},
    {"C", "temp"},
    {"BA", "old"},
    {"BI", "billing"},
}};
constexpr std::array<CodeMap, 2> kAddressType{{{"M", "postal"}, {"SH", "postal"}}};

// Table 0201 → contact-point-use.
constexpr std::array<CodeMap, 3> kTelecomUse{{{"PRN", "home"}, {"WPN", "work"}, {"PRS", "mobile"}}};

// Table 0202 → contact-point-system (CP is a phone whose use is "mobile").
constexpr std::array<CodeMap, 10> kTelecomSystem{{
    {"PH", "phone"},
    {"CP", "phone"},
    {"FX", "fax"},
    {"BP", "pager"},
    {"Internet", "email"},
    {"X.400", "email"},
    {"MD", "other"},
    {"SAT", "other"},
    {"TDD", "other"},
    {"TTY", "other"},
}};

// Table 0002 → v3 MaritalStatus (and NullFlavor for the unknowns).
constexpr std::array<CodingMap, 16> kMaritalStatus{{
    {"A", "L", "Legally Separated", kMaritalStatusSystem},
    {"D", "D", "Divorced", kMaritalStatusSystem},
    {"M", "M", "Married", kMaritalStatusSystem},
    {"S", "S", "Never Married", kMaritalStatusSystem},
    {"W", "W", "Widowed", kMaritalStatusSystem},
    {"C", "C", "Common Law", kMaritalStatusSystem},
    {"G", "T", "Domestic partner", kMaritalStatusSystem},
    {"P", "T", "Domestic partner", kMaritalStatusSystem},
    {"R", "T", "Domestic partner", kMaritalStatusSystem},
    {"E", "L", "Legally Separated", kMaritalStatusSystem},
    {"N", "A", "Annulled", kMaritalStatusSystem},
    {"I", "I", "Interlocutory", kMaritalStatusSystem},
    {"B", "U", "unmarried", kMaritalStatusSystem},
    {"U", "UNK", "Unknown", kNullFlavorSystem},
    {"O", "OTH", "Other", kNullFlavorSystem},
    {"T", "NAVU", "Not available", kNullFlavorSystem},
}};

// Table 0063 → v3 RoleCode or v2-0131 (codes that map to v2-0063 itself are not repeated).
constexpr std::array<CodingMap, 21> kRelationship{{
    {"SEL", "ONESELF", "self", kRoleCodeSystem},
    {"SPO", "SPS", "spouse", kRoleCodeSystem},
    {"DOM", "SIGOTHR", "significant other", kRoleCodeSystem},
    {"CHD", "CHILD", "child", kRoleCodeSystem},
    {"GCH", "GRNDCHILD", "grandchild", kRoleCodeSystem},
    {"NCH", "NCHILD", "natural child", kRoleCodeSystem},
    {"SCH", "STPCHLD", "step child", kRoleCodeSystem},
    {"FCH", "CHLDFOST", "foster child", kRoleCodeSystem},
    {"PAR", "PRN", "parent", kRoleCodeSystem},
    {"MTH", "MTH", "mother", kRoleCodeSystem},
    {"FTH", "FTH", "father", kRoleCodeSystem},
    {"GRP", "GRPRN", "grandparent", kRoleCodeSystem},
    {"EXF", "EXT", "extended family member", kRoleCodeSystem},
    {"SIB", "SIB", "sibling", kRoleCodeSystem},
    {"BRO", "BRO", "brother", kRoleCodeSystem},
    {"SIS", "SIS", "sister", kRoleCodeSystem},
    {"FND", "FRND", "unrelated friend", kRoleCodeSystem},
    {"EMR", "E", "Employer", kContactRoleSystem},
    {"EMC", "C", "Emergency Contact", kContactRoleSystem},
    {"UNK", "U", "Unknown", kContactRoleSystem},
    {"OTH", "O", "Other", kContactRoleSystem},
}};

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

// ---------------------------------------------------------------------------------------------
// Text.

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool is_unreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

bool is_oid(std::string_view text) {
  if (text.empty() || text.front() == '.' || text.back() == '.') return false;
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || c == '.'; }) &&
         text.find("..") == std::string_view::npos;
}

bool is_uuid(std::string_view text) {
  return text.size() == 36 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
                  c == '-';
         });
}

std::string lower_case(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return out;
}

// A BCP 47 language tag as PID-15 usually carries one: "en", "de-CH", "eng".
bool looks_like_language_tag(std::string_view code) {
  std::size_t dash = code.find('-');
  std::string_view primary = code.substr(0, dash);
  auto letters = [](std::string_view s) {
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); });
  };
  if (primary.size() < 2 || primary.size() > 3 || !letters(primary)) return false;
  if (dash == std::string_view::npos) return true;
  std::string_view region = code.substr(dash + 1);
  return !region.empty() && region.size() <= 8 &&
         std::all_of(region.begin(), region.end(), [](char c) { return is_unreserved(c); });
}

// ---------------------------------------------------------------------------------------------
// JSON.

// ---------------------------------------------------------------------------------------------
// Where values are read: one repetition of one field of one segment occurrence.

struct FieldRep {
  const Segment* segment = nullptr;
  int sequence = 1;  // occurrence of the segment id in the message
  int field = 0;
  int repetition = 1;

  std::string get(int component, int subcomponent = 1) const {
    return plain_text(*segment, field, repetition, component, subcomponent);
  }
  ErrorLocation location(int component) const {
    return {segment->id(), sequence, field, repetition, component, 0};
  }
  ErrorLocation field_location() const { return {segment->id(), sequence, field, 0, 0, 0}; }
};

// Every repetition of a field (none when it is empty).
std::vector<FieldRep> repetitions(const Segment& segment, int sequence, int field) {
  std::vector<FieldRep> out;
  for (int r = 1; r <= segment.repetition_count(field); ++r) {
    out.push_back({&segment, sequence, field, r});
  }
  return out;
}

FieldRep first(const Segment& segment, int sequence, int field) {
  return {&segment, sequence, field, 1};
}

// ---------------------------------------------------------------------------------------------
// The mapping. Records the first error and keeps going, so each builder stays a plain
// function of its field; map() reports the error at the end.

class PatientMapper {
 public:
  PatientMapper(const Message& message, const IdentifierSystems& systems)
      : systems_(systems), zone_(hl7_time_zone(message.get("MSH-7"))) {}

  const std::optional<Error>& error() const { return error_; }

  // CX → Identifier; nullopt when CX-1 has no value.
  std::optional<std::pair<json::object, IdentifierKey>> identifier(const FieldRep& cx) {
    std::string value = cx.get(1);
    if (value.empty()) return std::nullopt;
    IdentifierKey key{identifier_system(cx.get(4, 1), cx.get(4, 2), cx.get(4, 3), systems_), value};
    json::object out;
    std::string type = fhir_code(cx.get(5));
    if (!type.empty()) {
      out["type"] =
          json::object{{"coding", json::array{valued_coding(kIdentifierTypeSystem, type)}}};
    }
    put(out, "system", key.system);
    put(out, "value", key.value);
    put_period(out, cx, 7, 8);
    return std::pair{std::move(out), std::move(key)};
  }

  // XPN → HumanName; nullopt when it has no name part.
  std::optional<json::object> human_name(const FieldRep& xpn) {
    json::object out;
    put(out, "use", std::string(lookup(kNameUse, xpn.get(7))));
    put(out, "family", xpn.get(1, 1));
    for (int component : {2, 3}) add_string(out, "given", xpn.get(component));
    add_string(out, "prefix", xpn.get(5));
    for (int component : {4, 6, 14}) add_string(out, "suffix", xpn.get(component));
    if (!out.contains("family") && !out.contains("given") && !out.contains("prefix") &&
        !out.contains("suffix")) {
      return std::nullopt;
    }
    put_period(out, xpn, 12, 13, 10);
    return out;
  }

  // XAD → Address; nullopt when it has no address part.
  std::optional<json::object> address(const FieldRep& xad) {
    json::object out;
    std::string kind = xad.get(7);
    put(out, "use", std::string(lookup(kAddressUse, kind)));
    put(out, "type", std::string(lookup(kAddressType, kind)));
    add_string(out, "line", xad.get(1, 1));
    add_string(out, "line", xad.get(2));
    put(out, "city", xad.get(3));
    put(out, "district", xad.get(9));
    put(out, "state", xad.get(4));
    put(out, "postalCode", xad.get(5));
    put(out, "country", xad.get(6));
    if (out.size() == static_cast<std::size_t>(out.contains("use") + out.contains("type"))) {
      return std::nullopt;
    }
    put_period(out, xad, 13, 14, 12);
    return out;
  }

  // XTN → ContactPoint; `default_use` is what the field implies (PID-13 home, PID-14 work).
  static std::optional<json::object> contact_point(const FieldRep& xtn,
                                                   std::string_view default_use) {
    std::string equipment = xtn.get(3);
    std::string value = telecom_value(xtn, equipment);
    if (value.empty()) return std::nullopt;
    std::string_view system = lookup(kTelecomSystem, equipment);
    if (equipment.empty()) system = value == xtn.get(4) ? "email" : "phone";
    if (system.empty()) system = "other";
    std::string_view use = lookup(kTelecomUse, xtn.get(2));
    if (same_code(equipment, "CP")) use = "mobile";
    if (use.empty()) use = default_use;
    json::object out;
    out["system"] = system;
    out["value"] = value;
    put(out, "use", std::string(use));
    return out;
  }

  // XCN → a Reference by identifier (v2_values.hpp); nullopt when it has neither id nor name.
  std::optional<json::object> practitioner_reference(const FieldRep& xcn) const {
    return hl7v2::practitioner_reference(*xcn.segment, xcn.field, xcn.repetition, systems_);
  }

  // A date or time component; records 102 when it is not a valid DTM.
  std::optional<std::string> date_time(const FieldRep& at, int component, bool whole_field) {
    std::string text = at.get(component);
    if (text.empty()) return std::nullopt;
    auto converted = fhir_date_time(text, zone_);
    if (!converted) fail_date(whole_field ? at.field_location() : at.location(component));
    return converted;
  }

  void fail(Error error) {
    if (!error_) error_ = std::move(error);
  }

 private:
  static std::string telecom_value(const FieldRep& xtn, std::string_view equipment) {
    bool email = same_code(equipment, "Internet") || same_code(equipment, "X.400");
    bool no_number = xtn.get(1).empty() && xtn.get(7).empty() && xtn.get(12).empty();
    if (email || (equipment.empty() && no_number)) {
      return xtn.get(4);
    }
    if (std::string unformatted = xtn.get(12); !unformatted.empty()) return unformatted;
    std::string local = xtn.get(7);
    if (local.empty()) return xtn.get(1);
    std::string country = xtn.get(5);
    std::string extension = xtn.get(8);
    return join({country.empty() ? "" : "+" + country, xtn.get(6), local,
                 extension.empty() ? "" : "X" + extension});
  }

  static void add_string(json::object& out, std::string_view key, std::string value) {
    if (!value.empty()) append(out, key, json::value(value));
  }

  // period.start/.end from two DTM components, or from a DR component (DR.1, DR.2) when
  // neither is valued.
  void put_period(json::object& out, const FieldRep& at, int start, int end, int range = 0) {
    json::object period;
    if (auto s = date_time(at, start, false)) period["start"] = *s;
    if (auto e = date_time(at, end, false)) period["end"] = *e;
    if (period.empty() && range != 0) {
      for (auto [sub, key] : {std::pair{1, "start"}, std::pair{2, "end"}}) {
        std::string text = at.get(range, sub);
        if (text.empty()) continue;
        if (auto converted = fhir_date_time(text, zone_)) {
          period[key] = *converted;
        } else {
          fail_date(at.location(range));
        }
      }
    }
    if (!period.empty()) out["period"] = std::move(period);
  }

  void fail_date(const ErrorLocation& location) {
    fail(make_error(ErrorCode::kDataTypeError, "not a valid HL7 date/time", location));
  }

  const IdentifierSystems& systems_;
  std::string zone_;  // MSH-7's zone: the sender's, for times sent without one
  std::optional<Error> error_;
};

// CWE → CodeableConcept with the v2 coding (when it has a code) and the text.
json::object codeable_concept(const FieldRep& cwe, std::string_view v2_system,
                              const CodingMap* mapped = nullptr) {
  json::object out;
  std::string code = fhir_code(cwe.get(1));
  std::string text = cwe.get(2);
  json::array codings;
  if (!code.empty() && !v2_system.empty()) codings.push_back(valued_coding(v2_system, code, text));
  if (mapped != nullptr && mapped->system != v2_system) {
    codings.push_back(
        valued_coding(mapped->system, std::string(mapped->code), std::string(mapped->display)));
  }
  if (!codings.empty()) out["coding"] = std::move(codings);
  put(out, "text", std::move(text));
  return out;
}

// PID-15 → communication[0].language.
std::optional<json::object> language(const FieldRep& cwe) {
  std::string code = fhir_code(cwe.get(1));
  std::string text = cwe.get(2);
  if (code.empty() && text.empty()) return std::nullopt;
  json::object concept_value;
  if (!code.empty()) {
    std::string_view system = looks_like_language_tag(code) ? kLanguageSystem : "";
    concept_value["coding"] = json::array{valued_coding(system, code)};
  }
  put(concept_value, "text", std::move(text));
  return json::object{{"language", std::move(concept_value)}};
}

// PID-16 → maritalStatus: the IG's v3 coding, or the v2 code when the table lacks it.
std::optional<json::object> marital_status(const FieldRep& cwe) {
  std::string code = fhir_code(cwe.get(1));
  const CodingMap* mapped = find_code(kMaritalStatus, code);
  json::object out;
  if (mapped != nullptr) {
    out["coding"] = json::array{
        valued_coding(mapped->system, std::string(mapped->code), std::string(mapped->display))};
    put(out, "text", cwe.get(2));
  } else {
    out = codeable_concept(cwe, kMaritalStatusV2System);
  }
  if (out.empty()) return std::nullopt;
  return out;
}

std::optional<bool> yes_no(std::string_view value) {
  if (same_code(value, "Y")) return true;
  if (same_code(value, "N")) return false;
  return std::nullopt;
}

// The segments of the PID's group: from the PID up to the next PID.
struct PatientGroup {
  const Segment* pid = nullptr;
  std::vector<std::pair<const Segment*, int>> pd1;  // with its sequence number
  std::vector<std::pair<const Segment*, int>> nk1;
};

std::optional<PatientGroup> find_group(const Message& message, int pid_occurrence) {
  PatientGroup group;
  int pids = 0;
  int pd1s = 0;
  int nk1s = 0;
  for (const Segment& segment : message.segments()) {
    const std::string& id = segment.id();
    if (id == "PID" && ++pids == pid_occurrence) group.pid = &segment;
    bool in_group = group.pid != nullptr && pids == pid_occurrence;
    if (id == "PD1") {
      ++pd1s;
      if (in_group) group.pd1.emplace_back(&segment, pd1s);
    } else if (id == "NK1") {
      ++nk1s;
      if (in_group) group.nk1.emplace_back(&segment, nk1s);
    }
  }
  if (group.pid == nullptr) return std::nullopt;
  return group;
}

class PatientBuilder {
 public:
  PatientBuilder(PatientMapper& mapper, const Segment& pid, int sequence)
      : mapper_(mapper), pid_(pid), sequence_(sequence) {}

  void identifiers(MappedPatient& out) {
    for (const FieldRep& cx : repetitions(pid_, sequence_, 3)) {
      if (auto mapped = mapper_.identifier(cx)) {
        append(patient_, "identifier", std::move(mapped->first));
        out.identifiers.push_back(std::move(mapped->second));
      }
    }
    if (out.identifiers.empty()) {
      mapper_.fail(make_error(ErrorCode::kRequiredFieldMissing,
                              "PID-3 holds no patient identifier with a value",
                              first(pid_, sequence_, 3).field_location()));
    }
  }

  void demographics() {
    for (const FieldRep& xpn : repetitions(pid_, sequence_, 5)) {
      if (auto name = mapper_.human_name(xpn)) append(patient_, "name", std::move(*name));
    }
    telecoms(patient_, pid_, sequence_, {{13, "home"}, {14, "work"}, {40, ""}});
    gender(patient_, first(pid_, sequence_, 8));
    birth_date(first(pid_, sequence_, 7));
    deceased();
    for (const FieldRep& xad : repetitions(pid_, sequence_, 11)) {
      if (auto address = mapper_.address(xad)) append(patient_, "address", std::move(*address));
    }
    if (auto status = marital_status(first(pid_, sequence_, 16))) {
      patient_["maritalStatus"] = std::move(*status);
    }
    multiple_birth();
  }

  void mothers_maiden_name() {
    FieldRep xpn = first(pid_, sequence_, 6);
    std::string name = join({xpn.get(2), xpn.get(3), xpn.get(1, 1)});
    if (name.empty()) return;
    append(patient_, "extension",
           json::object{{"url", kMothersMaidenNameUrl}, {"valueString", name}});
  }

  void contacts(const std::vector<std::pair<const Segment*, int>>& nk1s) {
    for (auto [nk1, sequence] : nk1s) {
      json::object contact = this->contact(*nk1, sequence);
      if (contact.contains("name") || contact.contains("telecom") || contact.contains("address") ||
          contact.contains("organization")) {
        append(patient_, "contact", std::move(contact));
      }
    }
  }

  void communication() {
    if (auto lang = language(first(pid_, sequence_, 15))) {
      append(patient_, "communication", std::move(*lang));
    }
  }

  void general_practitioners(const std::vector<std::pair<const Segment*, int>>& pd1s) {
    for (auto [pd1, sequence] : pd1s) {
      for (const FieldRep& xcn : repetitions(*pd1, sequence, 4)) {
        if (auto reference = mapper_.practitioner_reference(xcn)) {
          append(patient_, "generalPractitioner", std::move(*reference));
        }
      }
    }
  }

  json::object take() { return std::move(patient_); }

 private:
  static void telecoms(json::object& out, const Segment& segment, int sequence,
                       std::initializer_list<std::pair<int, std::string_view>> fields) {
    for (auto [field, default_use] : fields) {
      for (const FieldRep& xtn : repetitions(segment, sequence, field)) {
        if (auto point = PatientMapper::contact_point(xtn, default_use)) {
          append(out, "telecom", std::move(*point));
        }
      }
    }
  }

  static void gender(json::object& out, const FieldRep& is) {
    std::string code = is.get(1);
    if (code.empty()) return;
    std::string_view gender = lookup(kGender, code);
    out["gender"] = gender.empty() ? "unknown" : gender;
  }

  void birth_date(const FieldRep& dtm) {
    std::string text = dtm.get(1);
    if (text.empty()) return;
    auto time = mapper_.date_time(dtm, 1, true);
    if (!time) return;
    patient_["birthDate"] = *fhir_date(text);
    if (time->find('T') != std::string::npos) {
      patient_["_birthDate"] = json::object{
          {"extension",
           json::array{json::object{{"url", kBirthTimeUrl}, {"valueDateTime", *time}}}}};
    }
  }

  void deceased() {
    FieldRep when = first(pid_, sequence_, 29);
    if (auto time = mapper_.date_time(when, 1, true)) {
      patient_["deceasedDateTime"] = *time;
    } else if (auto flag = yes_no(first(pid_, sequence_, 30).get(1))) {
      if (when.get(1).empty()) patient_["deceasedBoolean"] = *flag;
    }
  }

  void multiple_birth() {
    FieldRep order = first(pid_, sequence_, 25);
    std::string text = order.get(1);
    if (!text.empty()) {
      bool digits = text.size() <= 9 && std::all_of(text.begin(), text.end(),
                                                    [](char c) { return c >= '0' && c <= '9'; });
      if (!digits || std::stoi(text) < 1) {
        mapper_.fail(make_error(ErrorCode::kDataTypeError, "PID-25 is not a birth order",
                                order.field_location()));
        return;
      }
      patient_["multipleBirthInteger"] = std::stoi(text);
    } else if (auto flag = yes_no(first(pid_, sequence_, 24).get(1))) {
      patient_["multipleBirthBoolean"] = *flag;
    }
  }

  json::object contact(const Segment& nk1, int sequence) {
    json::object out;
    json::array relationship;
    FieldRep nk1_3 = first(nk1, sequence, 3);
    json::object related = codeable_concept(nk1_3, kRelationshipSystem,
                                            find_code(kRelationship, fhir_code(nk1_3.get(1))));
    if (!related.empty()) relationship.push_back(std::move(related));
    json::object role = codeable_concept(first(nk1, sequence, 7), kContactRoleSystem);
    if (!role.empty()) relationship.push_back(std::move(role));
    if (!relationship.empty()) out["relationship"] = std::move(relationship);
    for (const FieldRep& xpn : repetitions(nk1, sequence, 2)) {
      if (auto name = mapper_.human_name(xpn)) {
        out["name"] = std::move(*name);
        break;
      }
    }
    telecoms(out, nk1, sequence, {{5, ""}, {6, "work"}, {40, ""}});
    for (const FieldRep& xad : repetitions(nk1, sequence, 4)) {
      if (auto address = mapper_.address(xad)) {
        out["address"] = std::move(*address);
        break;
      }
    }
    gender(out, first(nk1, sequence, 15));
    if (std::string organization = first(nk1, sequence, 13).get(1); !organization.empty()) {
      out["organization"] = json::object{{"display", organization}};
    }
    contact_period(out, nk1, sequence);
    return out;
  }

  void contact_period(json::object& out, const Segment& nk1, int sequence) {
    json::object period;
    if (auto start = mapper_.date_time(first(nk1, sequence, 8), 1, true)) period["start"] = *start;
    if (auto end = mapper_.date_time(first(nk1, sequence, 9), 1, true)) period["end"] = *end;
    if (!period.empty()) out["period"] = std::move(period);
  }

  PatientMapper& mapper_;
  const Segment& pid_;
  int sequence_;
  json::object patient_{{"resourceType", "Patient"}};
};

}  // namespace

std::string identifier_system(std::string_view namespace_id, std::string_view universal_id,
                              std::string_view universal_id_type,
                              const IdentifierSystems& systems) {
  if (!namespace_id.empty()) {
    if (auto it = systems.by_namespace.find(namespace_id); it != systems.by_namespace.end()) {
      return it->second;
    }
  }
  if (!universal_id.empty()) {
    if (same_code(universal_id_type, "ISO") && is_oid(universal_id)) {
      return "urn:oid:" + std::string(universal_id);
    }
    if ((same_code(universal_id_type, "UUID") || same_code(universal_id_type, "GUID")) &&
        is_uuid(universal_id)) {
      return "urn:uuid:" + lower_case(universal_id);
    }
    bool uri = same_code(universal_id_type, "URI") || same_code(universal_id_type, "URL");
    if (uri && std::none_of(universal_id.begin(), universal_id.end(),
                            [](char c) { return is_space(c) || c < 0x20; })) {
      return std::string(universal_id);
    }
  }
  if (!namespace_id.empty())
    return std::string(kAuthorityUrnPrefix) + percent_encoded(namespace_id);
  if (!universal_id.empty())
    return std::string(kAuthorityUrnPrefix) + percent_encoded(universal_id);
  return {};
}

Result<MappedPatient> map_patient(const Message& message, const IdentifierSystems& systems,
                                  int pid_occurrence) {
  auto group = find_group(message, pid_occurrence);
  if (!group) {
    return make_error(ErrorCode::kSegmentSequenceError, "the message has no PID segment");
  }
  PatientMapper mapper(message, systems);
  PatientBuilder builder(mapper, *group->pid, pid_occurrence);
  MappedPatient out;
  builder.mothers_maiden_name();
  builder.identifiers(out);
  builder.demographics();
  builder.contacts(group->nk1);
  builder.communication();
  builder.general_practitioners(group->pd1);
  if (mapper.error()) return *mapper.error();
  out.resource = builder.take();
  return out;
}

Result<std::vector<IdentifierKey>> merged_identifiers(const Message& message,
                                                      const IdentifierSystems& systems) {
  const Segment* mrg = message.find("MRG");
  if (mrg == nullptr) {
    return make_error(ErrorCode::kSegmentSequenceError, "the message has no MRG segment");
  }
  PatientMapper mapper(message, systems);
  std::vector<IdentifierKey> keys;
  for (const FieldRep& cx : repetitions(*mrg, 1, 1)) {
    if (auto mapped = mapper.identifier(cx)) keys.push_back(std::move(mapped->second));
  }
  if (mapper.error()) return *mapper.error();
  if (keys.empty()) {
    return make_error(ErrorCode::kRequiredFieldMissing,
                      "MRG-1 holds no prior patient identifier with a value",
                      first(*mrg, 1, 1).field_location());
  }
  return keys;
}

}  // namespace cg::hl7v2
