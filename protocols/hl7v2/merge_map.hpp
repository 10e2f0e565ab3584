#pragma once
// Patient merges (ADT A40 "merge patient – patient identifier list", and the structurally
// identical A30, A34, A39): what the message asks for, as a plan the store side carries out
// (gateway/hl7_merge.hpp). The surviving patient is the PID (with its PD1 and NK1), as the
// identity feed maps it; the merged-away patient is named by MRG-1's identifiers. The store
// side gives the survivor the merged identifiers, marks the merged Patient replaced
// (`link` replaced-by, active=false) and moves references to the survivor. Pure functions
// over a parsed Message; thread-safe.

#include <vector>

#include "protocols/fhir/model/result.hpp"
#include "protocols/hl7v2/message.hpp"
#include "protocols/hl7v2/patient_map.hpp"

namespace cg::hl7v2 {

struct MergePlan {
  MappedPatient survivor;             // PID: the Patient that remains, full current state
  std::vector<IdentifierKey> merged;  // MRG-1: the identifiers of the Patient merged away
};

// True for the merge triggers map_merge() handles (A30, A34, A39, A40).
bool is_merge_event(std::string_view trigger);

// The first PID/MRG pair → a MergePlan. Errors (HL7 0357 codes, ErrorLocation filled): those
// of map_patient (no PID: 100; PID-3 empty: 101; bad dates: 102) and merged_identifiers (no
// MRG: 100; MRG-1 empty: 101); a second MRG (several merges in one message, which A40 allows
// but no sender we know of uses): 100 at that MRG, so that no merge is silently dropped.
Result<MergePlan> map_merge(const Message& message, const IdentifierSystems& systems);

}  // namespace cg::hl7v2
