#pragma once
// Scheduling messages: SIU^S12 (new booking), S13 (rescheduled), S14 (modified) and S15
// (cancelled) → a FHIR transaction Bundle holding the Patient (PID as patient_map.hpp maps
// it; created only when no stored Patient has one of its PID-3 identifiers) and one
// Appointment (SCH, TQ1, the NTE after them, and the AIS, AIG, AIL, AIP of the resource
// groups), following the HL7 v2-to-FHIR IG. docs/hl7v2.md ("Appointments (SIU)") lists field
// by field what is mapped and what not.
//
// The Appointment is written by a conditional update on its filler appointment id (SCH-2;
// the placer's, SCH-1, when there is none), so the S13/S14/S15 of a booking update the
// Appointment its S12 created. Pure function over a parsed Message; thread-safe.

#include <boost/json/object.hpp>

#include "protocols/fhir/model/result.hpp"
#include "protocols/hl7v2/message.hpp"
#include "protocols/hl7v2/patient_map.hpp"

namespace cg::hl7v2 {

// The transaction Bundle (fhir_bundle.hpp) of an SIU^S12–S15: the Patient first, then the
// Appointment, whose participants are the Patient (by its entry's fullUrl) and the AIP, AIG
// and AIL resources (by identifier and display, never literal references). The status is
// `cancelled` for S15, else SCH-25 (table 0278) when it is one with a FHIR counterpart, else
// `booked`. Errors (HL7 0357 codes, ErrorLocation filled), the first one found:
// - no SCH: 100 at message level; SCH-1 and SCH-2 both without an id: 101 at SCH-2;
// - the Patient's errors (map_patient: no PID 100, PID-3 101, dates 102);
// - not a valid HL7 date/time (TQ1-7/8, SCH-11.4/5, AIS-4, AIG-8, AIL-6, AIP-6) or a duration
//   that is not a whole number (SCH-9, AIS-7, AIG-11, AIL-9, AIP-9): 102 there.
Result<boost::json::object> map_siu(const Message& message, const IdentifierSystems& systems);

}  // namespace cg::hl7v2
