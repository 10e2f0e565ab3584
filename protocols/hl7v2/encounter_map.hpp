#pragma once
// The visit events of ADT (A01 admit, A02 transfer, A03 discharge, A04 register, A05
// pre-admit, A06/A07 class changes, A08 update, A11 cancel admit, A13 cancel discharge):
// PV1/PV2 (+ EVN) → a FHIR R4 Encounter of the message's Patient, following the HL7
// v2-to-FHIR Implementation Guide. docs/hl7v2.md ("Visits (Encounter)") lists field by field
// what is mapped and what not.
//
// The Encounter is keyed by its visit number (PV1-19): later events of the same visit (A02,
// A03, A08, A11, A13) update the Encounter the first one created, because the receiver
// writes it by a conditional update on that identifier. Without PV1-19 each event creates a
// new Encounter (senders should fill PV1-19). Like the Patient, the Encounter is the visit's
// full current state as the message gives it. Pure functions over a parsed Message;
// thread-safe.

#include <boost/json/object.hpp>
#include <string_view>
#include <vector>

#include "protocols/fhir/model/result.hpp"
#include "protocols/hl7v2/message.hpp"
#include "protocols/hl7v2/patient_map.hpp"

namespace cg::hl7v2 {

struct MappedEncounter {
  boost::json::object resource;  // FHIR R4 Encounter without id, meta and subject
  // What the receiver matches on: PV1-19, and for A06/A07 also MRG-5 (the prior visit
  // number, so the class change updates the visit it renumbers). Empty: create.
  std::vector<IdentifierKey> identifiers;
};

// True for the ADT triggers map_adt_visit() handles ("A01", …, "A13").
bool is_visit_event(std::string_view trigger);

// The Encounter of the first PV1 (+ PV2, EVN), for the event `trigger` (MSH-9.2). Errors (HL7
// 0357 codes, ErrorLocation filled):
// - no PV1: 100 at message level;
// - PV1-2 (patient class) empty: 101 at PV1-2;
// - A11 or A13 without PV1-19: 101 at PV1-19 (a cancel must name the visit it cancels);
// - PV1-44, PV1-45 or EVN-6 not a valid HL7 date/time: 102 at that field.
// Unknown codes are never errors: they are kept as codings in their v2 code system.
Result<MappedEncounter> map_encounter(const Message& message, const IdentifierSystems& systems,
                                      std::string_view trigger);

// A visit event as one transaction Bundle (fhir_bundle.hpp): the Patient of the first PID
// (map_patient) and its Encounter (map_encounter, subject = the Patient's entry). An A08
// without a PV1 or without PV1-19 is a patient update only (no Encounter: there is no visit
// to update). Errors: those of map_patient and map_encounter; a trigger that is not a visit
// event: 201 at MSH-9.2.
Result<boost::json::object> map_adt_visit(const Message& message, const IdentifierSystems& systems);

}  // namespace cg::hl7v2
