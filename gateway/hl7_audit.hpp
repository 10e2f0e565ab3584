#pragma once
// The audit records of HL7v2 messages (IHE ITI TF-2 audit messages, as FHIR AuditEvents):
// what the receiver reports through its MessageAuditHooks (protocols/hl7v2/receiver.hpp)
// becomes one record per message (docs/atna.md, "What the gateway records about itself"):
//
// - feeds (ADT, VXU, ORU, SIU, merges): DCM 110110 Patient Record, action C or U by the
//   trigger event, with the IHE transaction (ITI-8 Patient Identity Feed, ITI-30 Patient
//   Identity Management, ITI-31 Patient Encounter Management) and the HL7 event code (table
//   0003) as subtypes. A stored message's record is staged in its own store job, so it
//   commits with the message's changes; a failed one (AE, AR) is emitted after the answer.
// - queries: DCM 110112 Query with ITI-21 (PDQ, QBP^Q22) or ITI-9 (PIX, QBP^Q23), the QPD
//   segment as the query entity, and the patients of the answer; emitted after the answer.
// - a sender the mllp.senders policy refuses: DCM 110113 Security Alert, subtype DCM 110126
//   Node Authentication, outcome 4.
//
// Agents: the sender (MSH-3|MSH-4 as sent, the connection's address, its certificate subject
// as display; DCM 110153 Source, requestor) and the gateway (DCM 110152 Destination).
// Entities: every Patient written (by reference), every identifier of PID-3 and MRG-1 (and
// of the answer's PIDs for a query) as a patient identifier, the other resources written,
// each patient carrying the message control id as detail "MSH-10".
//
// Pure builder plus the hooks over an emitter; thread-safe.

#include <optional>

#include "gateway/audit_emitter.hpp"
#include "gateway/config.hpp"
#include "protocols/hl7v2/patient_map.hpp"
#include "protocols/hl7v2/receiver.hpp"

namespace cg::gateway {

// What the record of one message says (AuditEmitter writes it), as the receiver reports it;
// nullopt for what is not audited (a query cancel, QCN^J01: it discloses and changes nothing).
std::optional<AuditEventSpec> hl7_message_event(const AuditSource& source,
                                                const hl7v2::AuditedMessage& message,
                                                const hl7v2::IdentifierSystems& systems);

// The receiver's hooks over `emitter` (which must outlive the receiver): stored messages
// staged in their job, everything else emitted.
hl7v2::MessageAuditHooks hl7_audit_hooks(AuditEmitter& emitter, const Hl7Settings& settings);

}  // namespace cg::gateway
