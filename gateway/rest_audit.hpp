#pragma once
// The audit records of FHIR REST requests (IHE BALP "RESTful activity"): who, from where,
// which interaction on which resource, with which query, about which patients, with which
// outcome (docs/atna.md, "What the gateway records about itself").
//
// - Writes are recorded by RestWriteAuditor inside the write's own store job (the record
//   commits with the write; protocols/fhir/rest/write_audit.hpp).
// - Everything else — reads, searches, history, $everything, batches, and failed writes —
//   by rest_access_event() after the response, with the patients the response names.
//
// Pure builders over plain values, plus the auditor that stages through the emitter.

#include <optional>

#include "gateway/audit_emitter.hpp"
#include "gateway/security/static_tokens.hpp"
#include "protocols/fhir/rest/fhir_request.hpp"
#include "protocols/fhir/rest/write_audit.hpp"
#include "protocols/http/message.hpp"

namespace cg::gateway {

// At most this many patients are named in one record (a page holds at most 1000).
inline constexpr std::size_t kMaxAuditedPatients = 1000;

// The agent that asked: the token's subject and roles, and the client's address.
AuditAgent requestor_agent(const Principal& who, std::string_view address);

class RestWriteAuditor final : public fhir::WriteAuditor {
 public:
  RestWriteAuditor(AuditEmitter& emitter, const Principal& who, const http::Request& request)
      : emitter_(emitter), who_(who), request_(request) {}
  Status record(storage::WriteContext& ctx,
                std::span<const fhir::WrittenResource> written) const override;

 private:
  AuditEmitter& emitter_;
  const Principal& who_;
  const http::Request& request_;
};

// What the record of a FHIR request after its response says (AuditEmitter::emit writes it),
// or nullopt when there is none to make:
// a successful write (staged with the write), the CapabilityStatement, or a feed of audit
// records (the record is its own trace). Reads of audit records are "Audit Log Used"
// (DCM 110101).
std::optional<AuditEventSpec> rest_access_event(const AuditSource& source, const Principal& who,
                                                const http::Request& request,
                                                const fhir::FhirRequest& fhir,
                                                const http::Response& response);

}  // namespace cg::gateway
