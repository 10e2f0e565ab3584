#pragma once
// The gateway's own audit records as FHIR AuditEvents, shaped after IHE Basic Audit Log
// Patterns (BALP) and the DICOM audit vocabulary that ATNA uses (docs/atna.md, "What the
// gateway records about itself"). Pure builders over plain values; thread-safe.
//
// Every record names the gateway as source.observer (the node name) with source type 4
// (application server), the agents (who asked, from which address; the gateway as the
// server) and the entities (the patient by reference, the resource, the query).

#include <boost/json/object.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cg::gateway {

namespace codes {
inline constexpr std::string_view kDicom = "http://dicom.nema.org/resources/ontology/DCM";
inline constexpr std::string_view kEventType =
    "http://terminology.hl7.org/CodeSystem/audit-event-type";
inline constexpr std::string_view kRestful = "http://hl7.org/fhir/restful-interaction";
inline constexpr std::string_view kIheEvent = "urn:ihe:event-type-code";
inline constexpr std::string_view kEntityType =
    "http://terminology.hl7.org/CodeSystem/audit-entity-type";
inline constexpr std::string_view kObjectRole = "http://terminology.hl7.org/CodeSystem/object-role";
inline constexpr std::string_view kSourceType =
    "http://terminology.hl7.org/CodeSystem/security-source-type";
inline constexpr std::string_view kSecurityRole =
    "http://terminology.hl7.org/CodeSystem/extra-security-role-type";
}  // namespace codes

struct Coding {
  std::string system;
  std::string code;
  std::string display;
};

// Who the gateway is in its records.
struct AuditSource {
  std::string node_name;  // source.observer.display and .identifier.value; also the site
  std::string address;    // the gateway's own address as the server agent; "" when unknown
};

// Someone or something taking part: the user or client who asked, a sending system.
struct AuditAgent {
  Coding type;                 // DCM 110153 source, 110152 destination, humanuser, …
  std::string who_identifier;  // user name, client id, "EMR^CLINIC" (who.identifier.value)
  std::string who_display;
  std::string who_reference;       // "Patient/7" when the actor is a patient user
  std::vector<std::string> roles;  // gateway roles (agent.role as text)
  bool requestor = false;
  std::string address;  // IP address or host name
};

// Something the event is about.
struct AuditEntity {
  Coding type;            // audit-entity-type 1 person, 2 system object
  Coding role;            // object-role 1 patient, 4 domain resource, 24 query, …
  std::string reference;  // what.reference: "Patient/1", "Observation/2/_history/3"
  std::string identifier_system;
  std::string identifier_value;  // what.identifier: a patient id, a message control id
  std::string name;
  std::string description;
  std::string query;  // raw query bytes; written base64 (entity.query)
  // entity.detail: type → value bytes, written valueBase64Binary (IHE puts an HL7v2 message's
  // control id here as "MSH-10").
  std::vector<std::pair<std::string, std::string>> details;
};

struct AuditEventSpec {
  Coding type;
  std::vector<Coding> subtypes;
  char action = 'E';  // C R U D E
  int outcome = 0;    // 0 success, 4 minor failure, 8 serious failure, 12 major failure
  std::string outcome_description;
  std::vector<AuditAgent> agents;
  std::vector<AuditEntity> entities;
};

// The AuditEvent of `spec` as compact JSON, written directly (no JSON tree: the cheap path
// of the gateway's own read records), and the same as a JSON object.
std::string audit_event_json(const AuditSource& source, const AuditEventSpec& spec,
                             std::int64_t now_ms);
boost::json::object build_audit_event(const AuditSource& source, const AuditEventSpec& spec,
                                      std::int64_t now_ms);

// Entities and agents that recur.
AuditEntity patient_entity(std::string reference);  // "Patient/1"
AuditEntity patient_identifier_entity(std::string system, std::string value);
AuditEntity resource_entity(std::string reference);  // "Observation/2/_history/3"
AuditEntity query_entity(std::string query, std::string description);
AuditAgent gateway_agent(const AuditSource& source);  // the server side (DCM 110152)

// The outcome code of an HTTP status: 2xx/3xx 0, 4xx 4, 5xx 8.
int outcome_of_status(int status);

// The patients a FHIR response or resource names, in order of first appearance, at most
// `limit`: every "Patient/[id]" in the text — references, Bundle fullUrls and links, in JSON
// or XML alike — without reading the whole document. Distinct; `truncated` is set when there
// were more.
struct PatientMentions {
  std::vector<std::string> references;
  bool truncated = false;
};
PatientMentions patients_mentioned(std::string_view text, std::size_t limit);

}  // namespace cg::gateway
