#pragma once
// What an HL7v2 message's transaction may not do to resources it finds by their identifiers
// (a result by its order number, an immunization by its order, a visit by PV1-19, an
// appointment by SCH-2), checked inside the message's store job, before the transaction runs:
//
// - **Move a resource to another patient.** Order numbers are only unique per filler, and a
//   reused one must not re-point a stored result (or vaccination, visit, appointment) from
//   one patient to another without anyone noticing: that is a merge's job (ADT^A40). Such a
//   message is AE 205 and changes nothing.
// - **Drop a report's earlier results.** A lab that resends only the corrected OBX of an
//   order updates those Observations; the DiagnosticReport keeps listing the others too.
//
// Thread: the store's writer (inside a write job).

#include "protocols/fhir/model/result.hpp"
#include "protocols/fhir/rest/transaction.hpp"
#include "storage/resource_store.hpp"

namespace cg::gateway {

// Checks `plan` (built from a v2 → FHIR mapper's Bundle: one Patient entry, the others
// referring to it by its fullUrl) against the store and completes its DiagnosticReports'
// results. Errors: HL7 205 (kConflict) for a keyed resource of another patient; the store's.
Status guard_keyed_writes(storage::WriteContext& ctx, fhir::TransactionPlan& plan);

}  // namespace cg::gateway
