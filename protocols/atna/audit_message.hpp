#pragma once
// Audit messages of the ATNA repository: the XML that IHE actors send over syslog, read into
// plain values. Two dialects share the root element <AuditMessage>:
//  - DICOM PS3.15 A.5 (what IHE ATNA prescribes today): coded values carry `csd-code`,
//    `codeSystemName` and `originalText` attributes;
//  - RFC 3881 (its predecessor, still sent by older systems): coded values carry `code`,
//    `codeSystem`, `codeSystemName` and `displayName`; ParticipantObjectSensitivity is an
//    element instead of an attribute.
// The parser accepts either spelling of a coded value anywhere, so mixed senders work too.
//
// What is checked: well-formed UTF-8 XML (a BOM and an XML declaration are fine, a DOCTYPE
// is refused), the elements FHIR AuditEvent cannot do without (EventID with a code,
// EventDateTime, one ActiveParticipant, AuditSourceID) and the enumerations the schemas fix
// (action, outcome, requestor flag, network access point type, object type/role/lifecycle).
// Attributes typed xs:token are whitespace-normalised as the schemas say. Values are kept
// as written otherwise: base64 stays base64 (the FHIR mapper decides what to do with it).
// ParticipantObjectDescription (DICOM instance details) is not read.
//
// Pure functions; thread-safe; never throw. Error messages name the element or attribute
// that is wrong, never its value (audit messages carry patient identifiers).

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/fhir/model/result.hpp"

namespace cg::atna {

enum class AuditFormat { kDicom, kRfc3881 };

// A coded value in either dialect. `display` is displayName, else originalText.
struct CodedValue {
  std::string code;
  std::string code_system_name;  // "DCM", "IHE Transactions", an OID, ...
  std::string code_system;       // RFC 3881's codeSystem attribute (an OID), when given
  std::string display;
};

struct ActiveParticipant {
  std::string user_id;
  std::string alternative_user_id;
  std::string user_name;
  bool user_is_requestor = true;
  std::vector<CodedValue> role_id_codes;
  std::string network_access_point_id;
  std::string network_access_point_type_code;  // "1".."5" or empty
  std::optional<CodedValue> media_type;        // MediaIdentifier/MediaType
};

struct AuditSource {
  std::string enterprise_site_id;
  std::string source_id;
  std::vector<CodedValue> type_codes;
};

// ParticipantObjectDetail: `value` as written (base64 by both schemas).
struct ObjectDetail {
  std::string type;
  std::string value;
};

struct ParticipantObject {
  std::string id;
  std::string type_code;        // 1..4 or empty
  std::string type_code_role;   // 1..26 or empty
  std::string data_life_cycle;  // 1..15 or empty
  std::string sensitivity;
  std::optional<CodedValue> id_type_code;
  std::string name;
  std::string query;  // as written (base64 by both schemas), whitespace included
  std::vector<ObjectDetail> details;
};

struct AuditMessage {
  AuditFormat format = AuditFormat::kDicom;
  CodedValue event_id;
  std::string event_action_code;        // C R U D E or empty
  std::string event_date_time;          // xs:dateTime as written
  std::string event_outcome_indicator;  // 0 4 8 12
  std::string event_outcome_description;
  std::vector<CodedValue> event_type_codes;
  std::vector<CodedValue> purposes_of_use;
  std::vector<ActiveParticipant> participants;
  AuditSource source;  // the first AuditSourceIdentification (RFC 3881 allows several)
  std::vector<ParticipantObject> objects;
};

// Bounds on untrusted input; a message over one of them is refused with kTooLarge.
struct AuditLimits {
  std::size_t max_bytes = 1024 * 1024;  // syslog transports rarely allow more than 64 KiB
  std::size_t max_participants = 256;
  std::size_t max_objects = 1024;
  std::size_t max_codes = 256;  // per repeated coded element (EventTypeCode, RoleIDCode, ...)
};

// Parses one audit message. Errors: kTooLarge over a limit; kInvalid for malformed XML, a
// DOCTYPE, a root other than AuditMessage, a missing required element or attribute or a
// value outside its enumeration (Error::location is the XPath-like place, e.g.
// "AuditMessage/EventIdentification/@EventOutcomeIndicator").
Result<AuditMessage> parse_audit_message(std::string_view xml, const AuditLimits& limits = {});

// Which dialect an audit message is written in, from its root and EventID alone (no further
// checks); kInvalid when the text is not XML with an <AuditMessage> root.
Result<AuditFormat> detect_audit_format(std::string_view xml, const AuditLimits& limits = {});

}  // namespace cg::atna
