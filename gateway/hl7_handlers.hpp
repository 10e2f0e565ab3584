#pragma once
// The HL7v2 message types the gateway stores, wired to the clinical store: each handler maps
// a message to FHIR resources (protocols/hl7v2 mappers) and writes them through the same
// write path as the REST API (protocols/fhir/rest/write_ops.hpp), inside one store job, so
// a message is stored entirely or not at all. Message types without a handler are answered
// AR 200/201 by the receiver.
//
// Thread-safety: handlers run on MLLP worker threads, concurrently; the store serialises
// their writes.

#include "gateway/config.hpp"
#include "protocols/hl7v2/patient_map.hpp"
#include "protocols/hl7v2/receiver.hpp"
#include "storage/resource_store.hpp"

namespace cg::gateway {

// The configured assigning authorities ([hl7.identifier_systems]) as the mappers and the
// query answerers read them.
hl7v2::IdentifierSystems identifier_systems(const Hl7Settings& settings);

// Registers every supported message type on `receiver`; `store` must outlive it.
void register_hl7_handlers(hl7v2::MessageReceiver& receiver, storage::ResourceStore& store,
                           const Hl7Settings& settings);

}  // namespace cg::gateway
