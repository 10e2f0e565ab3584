#pragma once
// Patient merges from HL7v2 (ADT A40 and kin, protocols/hl7v2/merge_map.hpp) carried out on
// the clinical store. A merge cannot be a plain transaction Bundle: it must find the merged
// Patient and move every reference to it, which only the store can enumerate. So it runs as
// one store write job — all of it or nothing:
//   1. the survivor is found by its PID-3 identifiers (created, with a new id, when none
//      matches) and the merged Patient by MRG-1's (the survivor itself excluded);
//   2. every current resource that refers to the merged Patient ("reference":
//      "Patient/<merged>" anywhere in it) is rewritten to refer to the survivor — at most
//      kMaxMovedReferences of them, beyond that the merge fails with HL7 207 and changes
//      nothing (such a merge belongs in a maintenance window, not an MLLP round trip);
//   3. the merged Patient is kept, with active=false and a link replaced-by → the survivor;
//   4. the survivor becomes the message's PID (full current state, as the identity feed
//      writes it), plus the merged identifiers (use "old"), its earlier links, and a link
//      replaces → the merged Patient.
// A merged Patient that does not exist is no error (IHE PIX feed behaviour): the survivor
// is written with the merged identifiers and the message is answered AA.
//
// Thread: apply_merge() runs on the store's writer thread, inside a job; merge_patients()
// may be called from any thread (it waits for the commit).

#include <cstddef>
#include <string>
#include <vector>

#include "protocols/fhir/model/result.hpp"
#include "protocols/hl7v2/merge_map.hpp"
#include "protocols/hl7v2/receiver.hpp"
#include "storage/resource_store.hpp"

namespace cg::gateway {

inline constexpr std::size_t kMaxMovedReferences = 10'000;

// The job body: steps 1–4 above. Returns the resources written ("Patient/abc", …). Errors:
// either side's identifiers matching several Patients: HL7 205; more than
// kMaxMovedReferences referring resources: 207; store errors as they come. On error the
// caller's job must fail, so that its savepoint undoes what was written.
Result<std::vector<std::string>> apply_merge(storage::WriteContext& ctx,
                                             const hl7v2::MergePlan& plan);

// apply_merge() in one store write job, then `commit` (the archive's part) in the same job,
// waiting for its commit.
Result<hl7v2::HandlerOutcome> merge_patients(storage::ResourceStore& store,
                                             const hl7v2::MergePlan& plan,
                                             const hl7v2::CommitHook& commit = {});

// Replaces every "reference": "Patient/<from>" string anywhere in `resource` by
// "Patient/<to>"; true when one was replaced. Versioned and absolute references stay.
bool move_references(boost::json::value& resource, const std::string& from, const std::string& to);

}  // namespace cg::gateway
