#pragma once
// Results: an ORU^R01 message → a FHIR transaction Bundle (fhir_bundle.hpp) of the Patient
// (map_patient), a DiagnosticReport per order (OBR group) and an Observation per OBX,
// following the HL7 v2-to-FHIR Implementation Guide. docs/hl7v2.md ("Results (ORU)") lists
// field by field what is mapped and what not.
//
// Every resource is a conditional update on identifiers that survive resends and
// corrections: the report's is its filler order number (OBR-3, else ORC-3; else the placer
// order number OBR-2, else ORC-2), an Observation's is that value + "-" + OBX-4 (or, when
// OBX-4 is empty, the how-many-th OBX of that code in the report) + "-" + OBX-3.1, in the
// report identifier's system. A corrected result (OBX-11 C) sent again under a new control
// id therefore updates the Observation it corrects. OBR groups with the same order number
// form one report. Observations without any order number (OBX before the first OBR) are
// keyed by OBX-21 when it is valued and otherwise created.
//
// Pure function over a parsed Message; thread-safe.

#include <boost/json/object.hpp>
#include <cstddef>

#include "protocols/fhir/model/result.hpp"
#include "protocols/hl7v2/message.hpp"
#include "protocols/hl7v2/patient_map.hpp"

namespace cg::hl7v2 {

// More OBX (or OBR) segments than this in one message are refused (207): each becomes a
// resource written in the message's one transaction.
inline constexpr int kMaxObservationsPerMessage = 1000;

// ORU^R01 → transaction Bundle. Observations refer to the Patient of the PID before them
// (subject) and each DiagnosticReport to its Observations (result), by the Bundle's fullUrls.
// Errors (HL7 0357 codes, ErrorLocation filled):
// - no PID, or no OBR and no OBX: 100 at message level; PID errors as map_patient();
// - OBR-4 empty: 101 at OBR[n]-4; OBX-3 empty: 101 at OBX[n]-3;
// - an NM or NR value that is not a number: 102 at OBX[n]-5 (SN values that do not parse
//   become text, as the IG says); an invalid date or time (OBR-7, OBR-8, OBR-22, OBX-14, a
//   DT/DTM/TS/TM/DR value): 102 at that field;
// - two OBX of one report with the same OBX-4 and OBX-3: 205 at the second's OBX-4;
// - more than kMaxObservationsPerMessage OBX or OBR: 207.
// Unknown codes (statuses, value types, interpretation flags) are never errors.
Result<boost::json::object> map_oru(const Message& message, const IdentifierSystems& systems);

}  // namespace cg::hl7v2
