#pragma once
// DICOM / RFC 3881 audit message → FHIR R4 AuditEvent, following the DICOM mapping of the
// R4 AuditEvent page and the IHE Basic Audit Log Patterns (BALP) codings. docs/atna.md
// ("Audit message formats and the FHIR mapping") lists element by element what goes where.
//
// In short: EventID → type, EventTypeCode → subtype, EventDateTime → recorded, outcome and
// action keep their codes, ActiveParticipant → agent, AuditSourceIdentification → source,
// ParticipantObjectIdentification → entity. A patient object (type 1, role 1) whose ID is an
// HL7 CX with an assigning authority ("123^^^&1.2.3&ISO") gets its identifier as value +
// system (by default "urn:oid:" + an ISO OID; AuditMapOptions can apply the gateway's own
// rules), so the FHIR patient search finds it; every other object keeps the ID as written in
// what.identifier.value.
//
// The result is a complete AuditEvent (no id, no meta) that passes the structural validator
// (fhir/model/validation.hpp). Values FHIR cannot carry are refused rather than dropped:
// Error::invalid with the element of the audit message as location. Pure function;
// thread-safe; never throws.

#include <boost/json/object.hpp>
#include <functional>
#include <string>
#include <string_view>

#include "protocols/atna/audit_message.hpp"
#include "protocols/fhir/model/result.hpp"

namespace cg::atna {

// The FHIR code systems the mapping writes, for callers that search or filter on them.
inline constexpr std::string_view kDicomSystem = "http://dicom.nema.org/resources/ontology/DCM";
inline constexpr std::string_view kIheEventTypeSystem = "urn:ihe:event-type-code";

// The Identifier.system of a patient CX's assigning authority (CX-4: namespace id, universal
// id, universal id type, each possibly empty); "" when it names none, and the ID is then
// kept as written. The gateway passes the rules of its HL7v2 patient feed here, so an audit
// record's patient identifier matches the Patient the feed stored.
using AuthoritySystem =
    std::function<std::string(std::string_view namespace_id, std::string_view universal_id,
                              std::string_view universal_id_type)>;

struct AuditMapOptions {
  // Unset: only an ISO OID universal id gives a system, "urn:oid:" + the OID.
  AuthoritySystem authority_system;
};

// Maps a parsed audit message to an AuditEvent. Errors (kInvalid): an EventDateTime that is
// not a date-time, text with characters FHIR strings exclude (control characters), a
// ParticipantObjectIdentification with nothing that could be recorded.
Result<boost::json::object> map_audit_event(const AuditMessage& message,
                                            const AuditMapOptions& options = {});

}  // namespace cg::atna
