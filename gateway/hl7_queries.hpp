#pragma once
// The HL7v2 queries the gateway answers from the clinical store, as an IHE Patient
// Demographics Supplier and Patient Identifier Cross-reference Manager:
// - QBP^Q22 (PDQ, ITI-21) → RSP^K22: patients matching QPD-3's demographics, their identifiers
//   limited to QPD-8's domains, RCP-2 records per answer and DSC continuation;
// - QBP^Q23 (PIX, ITI-9) → RSP^K23: the other identifiers of the patient QPD-3 names, limited
//   to QPD-4's domains;
// - QCN^J01 → ACK^J01: cancels an open PDQ query (drops its continuation).
// Unknown identifiers and domains are AE with ERR 204 at the location IHE gives. Merged-away
// patients (active = false) are never answered. docs/hl7v2.md ("Queries") is the guide.
//
// Thread-safety: the handlers run on MLLP worker threads, concurrently; they only read the
// store (reader connections) and share the continuation table, which locks.

#include "gateway/config.hpp"
#include "protocols/hl7v2/receiver.hpp"
#include "storage/resource_store.hpp"

namespace cg::gateway {

// Registers the query answerers on `receiver`; `store` must outlive it.
void register_hl7_queries(hl7v2::MessageReceiver& receiver, storage::ResourceStore& store,
                          const Hl7Settings& settings);

}  // namespace cg::gateway
