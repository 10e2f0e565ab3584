#pragma once
// Which kind of audit record a payload is, so the receivers (syslog, the ITI-20 RESTful
// feed) can send it to the right reader: DICOM audit XML, RFC 3881 audit XML, or a FHIR
// AuditEvent in JSON. Only a light look: XML is told apart by its root and EventID
// (detect_audit_format), JSON must parse and say "resourceType": "AuditEvent"; reading the
// record properly is parse_audit_message's or the FHIR layer's job.
// Pure function; thread-safe; never throws.

#include <string>
#include <string_view>

#include "protocols/atna/audit_message.hpp"

namespace cg::atna {

enum class AuditPayloadKind { kDicomXml, kRfc3881Xml, kFhirJson, kUnknown };

struct AuditPayloadClass {
  AuditPayloadKind kind = AuditPayloadKind::kUnknown;
  std::string reason;  // why it is kUnknown (for the drop counter's log line); no content
};

// Classifies `bytes` (a UTF-8 BOM and leading whitespace are skipped). Payloads over
// limits.max_bytes are kUnknown without being parsed.
AuditPayloadClass classify_payload(std::string_view bytes, const AuditLimits& limits = {});

// "DICOM XML", "RFC 3881 XML", "FHIR JSON", "unknown": for logs and metrics labels.
std::string_view payload_kind_name(AuditPayloadKind kind);

}  // namespace cg::atna
