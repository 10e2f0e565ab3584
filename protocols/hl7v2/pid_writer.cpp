#include "protocols/hl7v2/pid_writer.hpp"

#include <algorithm>
#include <array>
#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include "protocols/hl7v2/date_time.hpp"
#include "protocols/hl7v2/v2_values.hpp"
#include "protocols/http/percent_encoding.hpp"

namespace cg::hl7v2 {
namespace {

namespace json = boost::json;

constexpr std::string_view kAuthorityUrnPrefix = "urn:cg:authority:";
constexpr std::string_view kIdentifierTypeSystem = "http://terminology.hl7.org/CodeSystem/v2-0203";
constexpr std::string_view kMothersMaidenNameUrl =
    "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName";
constexpr std::string_view kBirthTimeUrl =
    "http://hl7.org/fhir/StructureDefinition/patient-birthTime";

struct CodeMap {
  std::string_view fhir;
  std::string_view v2;
};

// The inverses of patient_map.cpp's tables, one v2 code per FHIR code.
constexpr std::array<CodeMap, 4> kGender{
    {{"male", "M"}, {"female", "F"}, {"other", "O"}, {"unknown", "U"}}};
constexpr std::array<CodeMap, 7> kNameUse{{{"official", "L"},
                                           {"usual", "D"},
                                           {"maiden", "M"},
                                           {"nickname", "N"},
                                           {"anonymous", "A"},
                                           {"temp", "TEMP"},
                                           {"old", "BAD"}}};
constexpr std::array<CodeMap, 5> kAddressUse{
    {{"home", "H"}, {"work", "B"}, {"temp", "C"}, {"old", "BA"}, {"billing", "BI"}}};
constexpr std::array<CodeMap, 3> kTelecomUse{{{"home", "PRN"}, {"work", "WPN"}, {"mobile", "PRS"}}};
constexpr std::array<CodeMap, 5> kTelecomSystem{
    {{"phone", "PH"}, {"fax", "FX"}, {"pager", "BP"}, {"email", "Internet"}, {"other", "MD"}}};
// v3 MaritalStatus and NullFlavor codes back to table 0002 (v2 codings are written as is).
constexpr std::array<CodeMap, 13> kMaritalStatus{{{"L", "A"},
                                                  {"D", "D"},
                                                  {"M", "M"},
                                                  {"S", "S"},
                                                  {"W", "W"},
                                                  {"C", "C"},
                                                  {"T", "P"},
                                                  {"A", "N"},
                                                  {"I", "I"},
                                                  {"U", "B"},
                                                  {"UNK", "U"},
                                                  {"OTH", "O"},
                                                  {"NAVU", "T"}}};

// Sets one value; an empty one is left out, so no empty components pile up.
void put_value(Segment& segment, int field, int rep, int component, int subcomponent,
               std::string_view text) {
  if (!text.empty()) (void)segment.set(field, rep, component, subcomponent, text);
}

template <std::size_t N>
std::string_view to_v2(const std::array<CodeMap, N>& table, std::string_view fhir) {
  for (const auto& entry : table) {
    if (entry.fhir == fhir) return entry.v2;
  }
  return {};
}

std::string text_of(const json::object& object, std::string_view key) {
  const json::value* v = object.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

const json::array* array_of(const json::object& object, std::string_view key) {
  const json::value* v = object.if_contains(key);
  return v && v->is_array() ? &v->as_array() : nullptr;
}

// The objects of object[key] (an array), skipping anything else.
std::vector<const json::object*> objects_of(const json::object& object, std::string_view key) {
  std::vector<const json::object*> out;
  if (const json::array* items = array_of(object, key)) {
    for (const json::value& item : *items) {
      if (item.is_object()) out.push_back(&item.as_object());
    }
  }
  return out;
}

// The strings of object[key] (an array of strings).
std::vector<std::string> strings_of(const json::object& object, std::string_view key) {
  std::vector<std::string> out;
  if (const json::array* items = array_of(object, key)) {
    for (const json::value& item : *items) {
      if (item.is_string()) out.emplace_back(item.as_string());
    }
  }
  return out;
}

// The strings from `first` on, joined by spaces: what one component holds of a longer list.
std::string joined_from(const std::vector<std::string>& strings, std::size_t first) {
  std::string out;
  for (std::size_t i = first; i < strings.size(); ++i) out = join({out, strings[i]});
  return out;
}

// element.period's start and end as two DTM components of one repetition (CX-7/8, XPN-12/13,
// XAD-13/14).
void write_period(Segment& segment, int field, int rep, int start, int end,
                  const json::object& element) {
  const json::value* period = element.if_contains("period");
  if (!period || !period->is_object()) return;
  put_value(segment, field, rep, start, 1, hl7_date_time(text_of(period->as_object(), "start")));
  put_value(segment, field, rep, end, 1, hl7_date_time(text_of(period->as_object(), "end")));
}

IdentifierKey key_of(const json::object& identifier) {
  return {text_of(identifier, "system"), text_of(identifier, "value")};
}

// The v2-0203 code of an Identifier.type, "" when it has none.
std::string identifier_type(const json::object& identifier) {
  const json::value* type = identifier.if_contains("type");
  if (!type || !type->is_object()) return {};
  for (const json::object* coding : objects_of(type->as_object(), "coding")) {
    if (text_of(*coding, "system") == kIdentifierTypeSystem) return text_of(*coding, "code");
  }
  return {};
}

// Writes one Identifier as the repetition `rep` of CX field `field`.
void write_identifier(Segment& segment, int field, int rep, const json::object& identifier,
                      const IdentifierSystems& systems) {
  put_value(segment, field, rep, 1, 1, text_of(identifier, "value"));
  const AssigningAuthority authority = assigning_authority(text_of(identifier, "system"), systems);
  put_value(segment, field, rep, 4, 1, authority.namespace_id);
  put_value(segment, field, rep, 4, 2, authority.universal_id);
  put_value(segment, field, rep, 4, 3, authority.universal_id_type);
  put_value(segment, field, rep, 5, 1, identifier_type(identifier));
  write_period(segment, field, rep, 7, 8, identifier);
}

int write_identifiers(Segment& pid, const json::object& patient, const IdentifierFilter& filter,
                      const IdentifierSystems& systems) {
  int rep = 0;
  for (const json::object* identifier : objects_of(patient, "identifier")) {
    const IdentifierKey key = key_of(*identifier);
    if (key.value.empty() || !filter.admits(key)) continue;
    write_identifier(pid, 3, ++rep, *identifier, systems);
  }
  return rep;
}

void write_names(Segment& pid, const json::object& patient) {
  int rep = 0;
  for (const json::object* name : objects_of(patient, "name")) {
    ++rep;
    put_value(pid, 5, rep, 1, 1, text_of(*name, "family"));
    const std::vector<std::string> given = strings_of(*name, "given");
    if (!given.empty()) put_value(pid, 5, rep, 2, 1, given[0]);
    put_value(pid, 5, rep, 3, 1, joined_from(given, 1));
    // patient_map reads the suffix (XPN-4), degree (XPN-6) and professional suffix (XPN-14)
    // into suffix, in that order.
    const std::vector<std::string> suffix = strings_of(*name, "suffix");
    if (!suffix.empty()) put_value(pid, 5, rep, 4, 1, suffix[0]);
    if (suffix.size() > 1) put_value(pid, 5, rep, 6, 1, suffix[1]);
    put_value(pid, 5, rep, 14, 1, joined_from(suffix, 2));
    const std::vector<std::string> prefix = strings_of(*name, "prefix");
    if (!prefix.empty()) put_value(pid, 5, rep, 5, 1, prefix[0]);
    put_value(pid, 5, rep, 7, 1, to_v2(kNameUse, text_of(*name, "use")));
    write_period(pid, 5, rep, 12, 13, *name);
  }
}

void write_mothers_maiden_name(Segment& pid, const json::object& patient) {
  for (const json::object* extension : objects_of(patient, "extension")) {
    if (text_of(*extension, "url") == kMothersMaidenNameUrl) {
      put_value(pid, 6, 1, 1, 1, text_of(*extension, "valueString"));
      return;
    }
  }
}

void write_addresses(Segment& pid, const json::object& patient) {
  int rep = 0;
  for (const json::object* address : objects_of(patient, "address")) {
    ++rep;
    const std::vector<std::string> lines = strings_of(*address, "line");
    if (!lines.empty()) put_value(pid, 11, rep, 1, 1, lines[0]);
    if (lines.size() > 1) put_value(pid, 11, rep, 2, 1, lines[1]);
    put_value(pid, 11, rep, 3, 1, text_of(*address, "city"));
    put_value(pid, 11, rep, 4, 1, text_of(*address, "state"));
    put_value(pid, 11, rep, 5, 1, text_of(*address, "postalCode"));
    put_value(pid, 11, rep, 6, 1, text_of(*address, "country"));
    std::string_view kind = to_v2(kAddressUse, text_of(*address, "use"));
    if (kind.empty() && text_of(*address, "type") == "postal") kind = "M";
    put_value(pid, 11, rep, 7, 1, kind);
    put_value(pid, 11, rep, 9, 1, text_of(*address, "district"));
    write_period(pid, 11, rep, 13, 14, *address);
  }
}

// Telecoms: work ones to PID-14, the rest to PID-13. Numbers go to XTN-1 (which every
// version reads) and e-mail addresses to XTN-4, with use (XTN-2) and equipment (XTN-3).
void write_telecoms(Segment& pid, const json::object& patient) {
  int home = 0;
  int work = 0;
  for (const json::object* point : objects_of(patient, "telecom")) {
    const std::string value = text_of(*point, "value");
    if (value.empty()) continue;
    const std::string use = text_of(*point, "use");
    const std::string system = text_of(*point, "system");
    const int field = use == "work" ? 14 : 13;
    const int rep = field == 14 ? ++work : ++home;
    std::string_view equipment = to_v2(kTelecomSystem, system);
    if (system == "phone" && use == "mobile") equipment = "CP";
    put_value(pid, field, rep, system == "email" ? 4 : 1, 1, value);
    put_value(pid, field, rep, 2, 1, system == "email" ? "NET" : to_v2(kTelecomUse, use));
    put_value(pid, field, rep, 3, 1, equipment);
  }
}

void write_marital_status(Segment& pid, const json::object& patient) {
  const json::value* status = patient.if_contains("maritalStatus");
  if (!status || !status->is_object()) return;
  for (const json::object* coding : objects_of(status->as_object(), "coding")) {
    const std::string system = text_of(*coding, "system");
    const std::string code = text_of(*coding, "code");
    std::string_view v2;
    if (system.ends_with("/v2-0002")) {
      v2 = code;
    } else if (system.ends_with("/v3-MaritalStatus") || system.ends_with("/v3-NullFlavor")) {
      v2 = to_v2(kMaritalStatus, code);
    }
    if (!v2.empty()) {
      put_value(pid, 16, 1, 1, 1, v2);
      put_value(pid, 16, 1, 2, 1, text_of(status->as_object(), "text"));
      return;
    }
  }
}

// PID-7: the time of the birthTime extension (patient_map's, from a PID-7 with a time) when it
// is on the birth date, else the birth date.
std::string birth_date_time(const json::object& patient) {
  const std::string date = text_of(patient, "birthDate");
  const json::value* element = patient.if_contains("_birthDate");
  if (!date.empty() && element && element->is_object()) {
    for (const json::object* extension : objects_of(element->as_object(), "extension")) {
      if (text_of(*extension, "url") != kBirthTimeUrl) continue;
      const std::string time = text_of(*extension, "valueDateTime");
      std::string dtm = time.starts_with(date) ? hl7_date_time(time) : std::string();
      if (!dtm.empty()) return dtm;
    }
  }
  return hl7_date_time(date);
}

void write_births_and_death(Segment& pid, const json::object& patient) {
  put_value(pid, 7, 1, 1, 1, birth_date_time(patient));
  if (const json::value* n = patient.if_contains("multipleBirthInteger"); n && n->is_int64()) {
    put_value(pid, 24, 1, 1, 1, "Y");
    put_value(pid, 25, 1, 1, 1, std::to_string(n->as_int64()));
  } else if (const json::value* b = patient.if_contains("multipleBirthBoolean");
             b && b->is_bool()) {
    put_value(pid, 24, 1, 1, 1, b->as_bool() ? "Y" : "N");
  }
  if (std::string when = hl7_date_time(text_of(patient, "deceasedDateTime")); !when.empty()) {
    put_value(pid, 29, 1, 1, 1, when);
    put_value(pid, 30, 1, 1, 1, "Y");
  } else if (const json::value* b = patient.if_contains("deceasedBoolean"); b && b->is_bool()) {
    put_value(pid, 30, 1, 1, 1, b->as_bool() ? "Y" : "N");
  }
}

}  // namespace

AssigningAuthority assigning_authority(std::string_view system, const IdentifierSystems& systems) {
  AssigningAuthority out;
  if (system.empty()) return out;
  for (const auto& [namespace_id, uri] : systems.by_namespace) {
    if (uri == system) {
      out.namespace_id = namespace_id;
      break;
    }
  }
  if (system.starts_with("urn:oid:")) {
    out.universal_id = system.substr(8);
    out.universal_id_type = "ISO";
  } else if (system.starts_with("urn:uuid:")) {
    out.universal_id = system.substr(9);
    out.universal_id_type = "UUID";
  } else if (system.starts_with(kAuthorityUrnPrefix)) {
    if (out.namespace_id.empty()) {
      // identifier_system() percent-encodes the namespace; a malformed escape stays as written.
      const std::string_view encoded = system.substr(kAuthorityUrnPrefix.size());
      out.namespace_id = http::percent_decode(encoded, false).value_or(std::string(encoded));
    }
  } else if (out.namespace_id.empty()) {
    out.universal_id = system;
    out.universal_id_type = "URI";
  }
  return out;
}

bool IdentifierFilter::admits(const IdentifierKey& key) const {
  if (skip && *skip == key) return false;
  return systems.empty() || std::find(systems.begin(), systems.end(), key.system) != systems.end();
}

std::vector<IdentifierKey> listed_identifiers(const json::object& patient,
                                              const IdentifierFilter& filter) {
  std::vector<IdentifierKey> out;
  for (const json::object* identifier : objects_of(patient, "identifier")) {
    IdentifierKey key = key_of(*identifier);
    if (!key.value.empty() && filter.admits(key)) out.push_back(std::move(key));
  }
  return out;
}

Status append_pid(Message& message, const json::object& patient, int set_id,
                  const IdentifierFilter& filter, const IdentifierSystems& systems) {
  auto index = message.append_segment("PID");
  if (!index) return index.take_error();
  Segment& pid = message.segment(*index);
  put_value(pid, 1, 1, 1, 1, std::to_string(set_id));
  write_identifiers(pid, patient, filter, systems);
  write_names(pid, patient);
  write_mothers_maiden_name(pid, patient);
  write_births_and_death(pid, patient);
  put_value(pid, 8, 1, 1, 1, to_v2(kGender, text_of(patient, "gender")));
  write_addresses(pid, patient);
  write_telecoms(pid, patient);
  write_marital_status(pid, patient);
  return ok_status();
}

Status append_identifiers_pid(Message& message, const json::object& patient,
                              const IdentifierFilter& filter, const IdentifierSystems& systems) {
  auto index = message.append_segment("PID");
  if (!index) return index.take_error();
  Segment& pid = message.segment(*index);
  put_value(pid, 1, 1, 1, 1, "1");
  write_identifiers(pid, patient, filter, systems);
  return pid.set(5, 2, 7, 1, "S");
}

}  // namespace cg::hl7v2
