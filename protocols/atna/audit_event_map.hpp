#pragma once
// DICOM / RFC 3881 audit message → FHIR R4 AuditEvent, following the DICOM mapping of the
// R4 AuditEvent page and the IHE Basic Audit Log Patterns (BALP) codings. docs/atna.md
// ("Audit message formats and the FHIR mapping") lists element by element what goes where.
//
// In short: EventID → type, EventTypeCode → subtype, EventDateTime → recorded, outcome and
// action keep their codes, ActiveParticipant → agent, AuditSourceIdentification → source,
// ParticipantObjectIdentification → entity. A patient object (type 1, role 1) whose ID is an
// HL7 CX with an ISO OID assigning authority ("123^^^&1.2.3&ISO") gets its identifier as
// value + "urn:oid:" system, so the FHIR patient search finds it; every other object keeps
// the ID as written in what.identifier.value.
//
// The result is a complete AuditEvent (no id, no meta) that passes the structural validator
// (fhir/model/validation.hpp). Values FHIR cannot carry are refused rather than dropped:
// Error::invalid with the element of the audit message as location. Pure function;
// thread-safe; never throws.

#include <boost/json/object.hpp>

#include "protocols/atna/audit_message.hpp"
#include "protocols/fhir/model/result.hpp"

namespace cg::atna {

// The FHIR code systems the mapping writes, for callers that search or filter on them.
inline constexpr std::string_view kDicomSystem = "http://dicom.nema.org/resources/ontology/DCM";
inline constexpr std::string_view kIheEventTypeSystem = "urn:ihe:event-type-code";

// Maps a parsed audit message to an AuditEvent. Errors (kInvalid): an EventDateTime that is
// not a date-time, text with characters FHIR strings exclude (control characters), a
// ParticipantObjectIdentification with nothing that could be recorded.
Result<boost::json::object> map_audit_event(const AuditMessage& message);

}  // namespace cg::atna
