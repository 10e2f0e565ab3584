#pragma once
// Immunization messages: VXU^V04 → a FHIR transaction Bundle holding the Patient (PID, PD1,
// NK1 as patient_map.hpp maps them) and one Immunization per ORDER group (ORC, RXA, RXR and
// the group's OBX), following the HL7 v2-to-FHIR IG and, for what the fields mean, the CDC
// HL7 2.5.1 Implementation Guide for Immunization Messaging (Release 1.5). docs/hl7v2.md
// ("Immunizations (VXU)") lists field by field what is mapped and what not.
//
// Each Immunization is written by a conditional update on its filler order number (ORC-3;
// the placer's, ORC-2, when there is none), so a resend, a correction (RXA-21 U) or a deletion
// (RXA-21 D → status entered-in-error) updates the Immunization the first message created. A group
// without an order number (or with CDC's placeholder "9999") is created (POST): a resend with a new
// MSH-10 then creates a second Immunization. Pure function over a parsed Message;
// thread-safe.

#include <boost/json/object.hpp>

#include "protocols/fhir/model/result.hpp"
#include "protocols/hl7v2/message.hpp"
#include "protocols/hl7v2/patient_map.hpp"

namespace cg::hl7v2 {

// The transaction Bundle (fhir_bundle.hpp) of a VXU: the Patient first, then the
// Immunizations in message order, each referring to the Patient by its entry's fullUrl.
// Errors (HL7 0357 codes, ErrorLocation filled), the first one found:
// - the Patient's errors (map_patient: no PID 100, PID-3 101, dates 102);
// - no RXA at all: 100 at message level; an ORC without an RXA in its group: 100 at that ORC;
// - RXA-3 empty: 101 at RXA-3; RXA-5 holding neither a code nor a text: 101 at RXA-5;
// - RXA-20 not in table 0322 (CP, PA, RE, NA): 103 at RXA-20 (the status would be a guess);
// - not a valid HL7 date/time (RXA-3, RXA-16, ORC-9, the VIS dates in OBX-5): 102 there;
//   RXA-6 not a number: 102 at RXA-6.
Result<boost::json::object> map_vxu(const Message& message, const IdentifierSystems& systems);

}  // namespace cg::hl7v2
