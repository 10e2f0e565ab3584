#include "protocols/atna/audit_event_map.hpp"

#include <algorithm>
#include <array>
#include <boost/json/array.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocols/fhir/model/base64.hpp"
#include "protocols/fhir/model/definitions.hpp"
#include "protocols/fhir/model/primitives.hpp"

namespace cg::atna {
namespace {

namespace json = boost::json;
using fhir::PrimitiveType;

constexpr std::string_view kSourceTypeSystem =
    "http://terminology.hl7.org/CodeSystem/security-source-type";
constexpr std::string_view kEntityTypeSystem =
    "http://terminology.hl7.org/CodeSystem/audit-entity-type";
constexpr std::string_view kObjectRoleSystem = "http://terminology.hl7.org/CodeSystem/object-role";
constexpr std::string_view kLifecycleSystem =
    "http://terminology.hl7.org/CodeSystem/dicom-audit-lifecycle";
constexpr std::string_view kConfidentialitySystem =
    "http://terminology.hl7.org/CodeSystem/v3-Confidentiality";
constexpr std::string_view kIdentifierTypeSystem = "http://terminology.hl7.org/CodeSystem/v2-0203";
constexpr std::string_view kOidPrefix = "urn:oid:";
// R4's object-role stops at 24 (Query); DICOM added 25 and 26 later.
constexpr int kLastR4ObjectRole = 24;

// Coding scheme designators and OIDs senders use, and the FHIR system each stands for.
struct KnownSystem {
  std::string_view name;
  std::string_view system;
};
constexpr std::array<KnownSystem, 6> kKnownSystems{{
    {"DCM", kDicomSystem},
    {"1.2.840.10008.2.16.4", kDicomSystem},  // DICOM's OID for DCM
    {"IHE Transactions", kIheEventTypeSystem},
    {"2.16.840.1.113883.5.8", "http://terminology.hl7.org/CodeSystem/v3-ActReason"},
    {"2.16.840.1.113883.5.25", kConfidentialitySystem},
    {"2.16.840.1.113883.12.203", kIdentifierTypeSystem},
}};

// Audit Source Type codes 1..9 (DICOM and RFC 3881 share them) → security-source-type.
constexpr std::array<std::string_view, 9> kSourceTypeDisplay{
    "User Device",        "Data Interface",  "Web Server",
    "Application Server", "Database Server", "Security Server",
    "Network Device",     "Network Router",  "Other"};
constexpr std::array<std::string_view, 4> kEntityTypeDisplay{"Person", "System Object",
                                                             "Organization", "Other"};
constexpr std::array<std::string_view, 6> kConfidentialityCodes{"U", "L", "M", "N", "R", "V"};

bool is_oid(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  char previous = '.';
  for (char c : s) {
    if (c == '.' ? previous == '.' : (c < '0' || c > '9')) return false;
    previous = c;
  }
  return true;
}

bool looks_like_uri(std::string_view s) {
  return (s.starts_with("urn:") || s.starts_with("http://") || s.starts_with("https://")) &&
         fhir::is_valid_primitive(PrimitiveType::kUri, s);
}

// The FHIR system of a scheme designator or OID; empty when there is none to give (a
// designator such as "RFC-3881" has no FHIR code system, and a non-URI cannot be a system).
std::string system_of_name(std::string_view name) {
  for (const KnownSystem& known : kKnownSystems) {
    if (known.name == name) return std::string(known.system);
  }
  if (is_oid(name)) return std::string(kOidPrefix) + std::string(name);
  if (looks_like_uri(name)) return std::string(name);
  return {};
}

std::string system_of(const CodedValue& value) {
  std::string system = system_of_name(value.code_system_name);
  return system.empty() ? system_of_name(value.code_system) : system;
}

// The value of a numeric enumeration code ("1".."26"), or 0.
int small_number(std::string_view code) {
  if (code.empty() || code.size() > 2) return 0;
  int n = 0;
  for (char c : code) {
    if (c < '0' || c > '9') return 0;
    n = n * 10 + (c - '0');
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// Base64: both schemas type the query and detail values as xs:base64Binary.

bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

// `text` without whitespace when it is proper base64 (padding only at the end), else nullopt.
std::optional<std::string> canonical_base64(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t padding = 0;
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    if (c == '=') {
      ++padding;
    } else if (!is_base64_char(c) || padding > 0) {
      return std::nullopt;
    }
    out += c;
  }
  if (out.empty() || out.size() % 4 != 0 || padding > 2) return std::nullopt;
  return out;
}

// A base64Binary for FHIR: the sender's base64 when it is base64, otherwise the text itself
// encoded (some senders put a plain query string there; encoding it keeps every byte).
std::string as_base64(std::string_view text) {
  if (auto canonical = canonical_base64(text)) return std::move(*canonical);
  return base64_encode(text);
}

// ---------------------------------------------------------------------------------------------
// Patient identifiers

struct PatientIdentifier {
  std::string system;
  std::string value;
  std::string type_code;  // CX-5, e.g. "PI"
};

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == separator) {
      parts.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

// The default of AuditMapOptions::authority_system: only an ISO OID names the system.
std::string iso_oid_system(std::string_view, std::string_view universal_id,
                           std::string_view universal_id_type) {
  if (universal_id_type != "ISO" && universal_id_type != "iso") return {};
  if (!is_oid(universal_id)) return {};
  return std::string(kOidPrefix) + std::string(universal_id);
}

// An HL7 CX with an assigning authority (CX-4) that `authority_system` turns into a system:
// "id^^^ns&1.2.3&ISO[^type]". A repeated CX ("a^^^x~b^^^y", as some PIX feeds write every
// identifier of the patient) gives its first repetition: an entity holds one identifier.
std::optional<PatientIdentifier> identifier_from_cx(std::string_view cx,
                                                    const AuthoritySystem& authority_system) {
  cx = cx.substr(0, cx.find('~'));
  const auto components = split(cx, '^');
  if (components.size() < 4 || components[0].empty() || components[3].empty()) {
    return std::nullopt;
  }
  auto authority = split(components[3], '&');
  authority.resize(3);  // namespace id, universal id, universal id type; missing ones empty
  std::string system = authority_system ? authority_system(authority[0], authority[1], authority[2])
                                        : iso_oid_system(authority[0], authority[1], authority[2]);
  if (system.empty()) return std::nullopt;
  PatientIdentifier id{std::move(system), std::string(components[0]), {}};
  if (components.size() > 4) id.type_code = components[4];
  return id;
}

// A FHIR token "system|value", as PIXm and PDQm actors write the patient id.
std::optional<PatientIdentifier> identifier_from_token(std::string_view token) {
  const std::size_t bar = token.find('|');
  if (bar == std::string_view::npos || bar + 1 == token.size()) return std::nullopt;
  if (!looks_like_uri(token.substr(0, bar))) return std::nullopt;
  return PatientIdentifier{
      std::string(token.substr(0, bar)), std::string(token.substr(bar + 1)), {}};
}

// ---------------------------------------------------------------------------------------------
// The builder

class AuditEventBuilder {
 public:
  AuditEventBuilder(const AuditMessage& message, const AuditMapOptions& options)
      : message_(message), options_(options) {}

  Result<json::object> build() {
    json::object event{{"resourceType", "AuditEvent"}};
    if (Status s = add_event(event); !s) return s.take_error();
    if (Status s = add_agents(event); !s) return s.take_error();
    if (Status s = add_source(event); !s) return s.take_error();
    if (Status s = add_entities(event); !s) return s.take_error();
    return event;
  }

 private:
  // Sets `key` to a FHIR string unless `value` is empty; refuses what FHIR strings exclude.
  static Status put_string(json::object& out, std::string_view key, std::string_view value,
                           const std::string& where) {
    if (value.empty()) return ok_status();
    if (!fhir::is_valid_string(value)) {
      return Error::invalid("text that a FHIR string cannot hold (control characters)", where);
    }
    out[key] = value;
    return ok_status();
  }

  static Result<json::object> coding(std::string_view system, std::string_view code,
                                     std::string_view display, const std::string& where) {
    if (!fhir::is_valid_code(code)) return Error::invalid("code that is not a FHIR code", where);
    json::object out;
    if (!system.empty()) out["system"] = system;
    out["code"] = code;
    if (Status s = put_string(out, "display", display, where); !s) return s.take_error();
    return out;
  }

  static Result<json::object> coding(const CodedValue& value, const std::string& where) {
    return coding(system_of(value), value.code, value.display, where);
  }

  static Result<json::object> concept_of(const CodedValue& value, const std::string& where) {
    auto c = coding(value, where);
    if (!c) return c.take_error();
    return json::object{{"coding", json::array{std::move(*c)}}};
  }

  // Appends one element per value, made by `make`, to out[key]; no key for no values.
  template <class Make>
  static Status put_each(json::object& out, std::string_view key,
                         const std::vector<CodedValue>& values, const std::string& where,
                         Make make) {
    if (values.empty()) return ok_status();
    json::array items;
    for (const CodedValue& value : values) {
      auto item = make(value, where);
      if (!item) return item.take_error();
      items.push_back(std::move(*item));
    }
    out[key] = std::move(items);
    return ok_status();
  }

  // FHIR instants need a zone. RFC 3881 defines EventDateTime as UTC, so a value written
  // without one is read as UTC; anything that still is not an instant is refused.
  Result<std::string> recorded() const {
    const std::string& text = message_.event_date_time;
    if (fhir::is_valid_instant(text)) return text;
    if (fhir::is_valid_instant(text + "Z")) return text + "Z";
    return Error::invalid("EventDateTime is not a date-time with seconds",
                          "AuditMessage/EventIdentification/@EventDateTime");
  }

  Status add_event(json::object& event) const {
    const std::string where = "AuditMessage/EventIdentification";
    auto type = coding(message_.event_id, where + "/EventID");
    if (!type) return type.take_error();
    event["type"] = std::move(*type);
    if (Status s = put_each(event, "subtype", message_.event_type_codes, where + "/EventTypeCode",
                            [](const CodedValue& v, const std::string& w) { return coding(v, w); });
        !s) {
      return s;
    }
    if (!message_.event_action_code.empty()) event["action"] = message_.event_action_code;
    auto when = recorded();
    if (!when) return when.take_error();
    event["recorded"] = std::move(*when);
    event["outcome"] = message_.event_outcome_indicator;
    if (Status s = put_string(event, "outcomeDesc", message_.event_outcome_description,
                              where + "/EventOutcomeDescription");
        !s) {
      return s;
    }
    return put_each(event, "purposeOfEvent", message_.purposes_of_use, where + "/PurposeOfUse",
                    concept_of);
  }

  // ActiveParticipant → agent. The first RoleIDCode is the agent's type (BALP puts the DCM
  // Source/Destination Role ID there); any further ones are roles.
  static Result<json::object> agent(const ActiveParticipant& p, const std::string& where) {
    json::object out;
    const std::string role_path = where + "/RoleIDCode";
    if (!p.role_id_codes.empty()) {
      auto type = concept_of(p.role_id_codes.front(), role_path);
      if (!type) return type.take_error();
      out["type"] = std::move(*type);
    }
    if (p.role_id_codes.size() > 1) {
      std::vector<CodedValue> roles(p.role_id_codes.begin() + 1, p.role_id_codes.end());
      if (Status s = put_each(out, "role", roles, role_path, concept_of); !s) return s.take_error();
    }
    if (!p.user_id.empty()) {
      json::object identifier;
      if (Status s = put_string(identifier, "value", p.user_id, where + "/@UserID"); !s) {
        return s.take_error();
      }
      out["who"] = json::object{{"identifier", std::move(identifier)}};
    }
    if (Status s = put_string(out, "altId", p.alternative_user_id, where + "/@AlternativeUserID");
        !s) {
      return s.take_error();
    }
    if (Status s = put_string(out, "name", p.user_name, where + "/@UserName"); !s) {
      return s.take_error();
    }
    out["requestor"] = p.user_is_requestor;
    if (p.media_type) {
      auto media = coding(*p.media_type, where + "/MediaIdentifier/MediaType");
      if (!media) return media.take_error();
      out["media"] = std::move(*media);
    }
    json::object network;
    if (Status s = put_string(network, "address", p.network_access_point_id,
                              where + "/@NetworkAccessPointID");
        !s) {
      return s.take_error();
    }
    if (!p.network_access_point_type_code.empty()) {
      network["type"] = p.network_access_point_type_code;
    }
    if (!network.empty()) out["network"] = std::move(network);
    return out;
  }

  Status add_agents(json::object& event) const {
    json::array agents;
    for (std::size_t i = 0; i < message_.participants.size(); ++i) {
      auto a = agent(message_.participants[i],
                     "AuditMessage/ActiveParticipant[" + std::to_string(i) + "]");
      if (!a) return a.take_error();
      agents.push_back(std::move(*a));
    }
    event["agent"] = std::move(agents);
    return ok_status();
  }

  // The 1..9 codes of either schema go to security-source-type, whatever designator the
  // sender wrote ("DCM", "RFC-3881" or none); other codes keep their own system.
  static Result<json::object> source_type(const CodedValue& value, const std::string& where) {
    const int n = small_number(value.code);
    const std::string system = system_of(value);
    if (n >= 1 && n <= 9 && (system.empty() || system == kDicomSystem)) {
      return coding(kSourceTypeSystem, value.code,
                    kSourceTypeDisplay[static_cast<std::size_t>(n - 1)], where);
    }
    return coding(value, where);
  }

  Status add_source(json::object& event) const {
    const AuditSource& s = message_.source;
    const std::string where = "AuditMessage/AuditSourceIdentification";
    json::object source;
    if (Status st =
            put_string(source, "site", s.enterprise_site_id, where + "/@AuditEnterpriseSiteID");
        !st) {
      return st;
    }
    json::object observer;
    if (Status st = put_string(observer, "display", s.source_id, where + "/@AuditSourceID"); !st) {
      return st;
    }
    observer["identifier"] = json::object{{"value", s.source_id}};
    source["observer"] = std::move(observer);
    if (Status st =
            put_each(source, "type", s.type_codes, where + "/AuditSourceTypeCode", source_type);
        !st) {
      return st;
    }
    event["source"] = std::move(source);
    return ok_status();
  }

  // ParticipantObjectID (+ ParticipantObjectIDTypeCode) → what.identifier.
  Status add_what(json::object& entity, const ParticipantObject& o,
                  const std::string& where) const {
    if (o.id.empty()) return ok_status();
    json::object identifier;
    json::array type_codings;
    if (o.id_type_code) {
      auto c = coding(*o.id_type_code, where + "/ParticipantObjectIDTypeCode");
      if (!c) return c.take_error();
      type_codings.push_back(std::move(*c));
    }
    std::optional<PatientIdentifier> patient;
    if (o.type_code == "1" && o.type_code_role == "1") {
      patient = identifier_from_cx(o.id, options_.authority_system);
      if (!patient) patient = identifier_from_token(o.id);
    }
    if (patient && !patient->type_code.empty()) {
      auto c =
          coding(kIdentifierTypeSystem, patient->type_code, {}, where + "/@ParticipantObjectID");
      if (!c) return c.take_error();
      type_codings.push_back(std::move(*c));
    }
    if (!type_codings.empty())
      identifier["type"] = json::object{{"coding", std::move(type_codings)}};
    if (patient) identifier["system"] = patient->system;
    const std::string_view value = patient ? std::string_view(patient->value) : o.id;
    if (Status s = put_string(identifier, "value", value, where + "/@ParticipantObjectID"); !s) {
      return s;
    }
    entity["what"] = json::object{{"identifier", std::move(identifier)}};
    return ok_status();
  }

  // Type, role and lifecycle: numeric codes of fixed FHIR code systems.
  static Status add_entity_codes(json::object& entity, const ParticipantObject& o,
                                 const std::string& where) {
    if (const int n = small_number(o.type_code); n >= 1 && n <= 4) {
      auto c = coding(kEntityTypeSystem, o.type_code,
                      kEntityTypeDisplay[static_cast<std::size_t>(n - 1)], where);
      if (!c) return c.take_error();
      entity["type"] = std::move(*c);
    }
    if (!o.type_code_role.empty()) {
      const bool in_r4 = small_number(o.type_code_role) <= kLastR4ObjectRole;
      auto c = coding(in_r4 ? kObjectRoleSystem : std::string_view{}, o.type_code_role, {}, where);
      if (!c) return c.take_error();
      entity["role"] = std::move(*c);
    }
    if (!o.data_life_cycle.empty()) {
      auto c = coding(kLifecycleSystem, o.data_life_cycle, {}, where);
      if (!c) return c.take_error();
      entity["lifecycle"] = std::move(*c);
    }
    if (!o.sensitivity.empty()) {
      const bool confidentiality =
          std::find(kConfidentialityCodes.begin(), kConfidentialityCodes.end(), o.sensitivity) !=
          kConfidentialityCodes.end();
      auto c = coding(confidentiality ? kConfidentialitySystem : std::string_view{}, o.sensitivity,
                      {}, where + "/ParticipantObjectSensitivity");
      if (!c) return c.take_error();
      entity["securityLabel"] = json::array{std::move(*c)};
    }
    return ok_status();
  }

  // A detail's value: base64 as sent, or a string when the sender wrote plain text.
  static Result<json::object> detail(const ObjectDetail& d, const std::string& where) {
    json::object out;
    if (Status s = put_string(out, "type", d.type, where + "/@type"); !s) return s.take_error();
    if (auto canonical = canonical_base64(d.value)) {
      out["valueBase64Binary"] = std::move(*canonical);
    } else if (fhir::is_valid_string(d.value)) {
      out["valueString"] = d.value;
    } else {
      out["valueBase64Binary"] = base64_encode(d.value);
    }
    return out;
  }

  Result<json::object> entity(const ParticipantObject& o, const std::string& where) const {
    json::object out;
    if (Status s = add_what(out, o, where); !s) return s.take_error();
    if (Status s = add_entity_codes(out, o, where); !s) return s.take_error();
    // The schemas allow a name or a query; FHIR's sev-1 says the same. A sender that gives
    // both keeps the query, and the name becomes what.display.
    if (!o.name.empty()) {
      const std::string name_path = where + "/ParticipantObjectName";
      if (o.query.empty()) {
        if (Status s = put_string(out, "name", o.name, name_path); !s) return s.take_error();
      } else {
        json::value& what = out["what"];
        if (!what.is_object()) what = json::object{};
        if (Status s = put_string(what.as_object(), "display", o.name, name_path); !s) {
          return s.take_error();
        }
      }
    }
    if (!o.query.empty()) out["query"] = as_base64(o.query);
    json::array details;
    for (const ObjectDetail& d : o.details) {
      if (d.value.empty()) continue;  // nothing FHIR's required value[x] could hold
      auto item = detail(d, where + "/ParticipantObjectDetail");
      if (!item) return item.take_error();
      details.push_back(std::move(*item));
    }
    if (!details.empty()) out["detail"] = std::move(details);
    // FHIR has no empty elements; an object without an ID, codes, name, query or details
    // says nothing that could be recorded.
    if (out.empty()) return Error::invalid("participant object with nothing to record", where);
    return out;
  }

  Status add_entities(json::object& event) const {
    if (message_.objects.empty()) return ok_status();
    json::array entities;
    for (std::size_t i = 0; i < message_.objects.size(); ++i) {
      auto e = entity(message_.objects[i],
                      "AuditMessage/ParticipantObjectIdentification[" + std::to_string(i) + "]");
      if (!e) return e.take_error();
      entities.push_back(std::move(*e));
    }
    event["entity"] = std::move(entities);
    return ok_status();
  }

  const AuditMessage& message_;
  const AuditMapOptions& options_;
};

}  // namespace

Result<json::object> map_audit_event(const AuditMessage& message, const AuditMapOptions& options) {
  return AuditEventBuilder(message, options).build();
}

}  // namespace cg::atna
