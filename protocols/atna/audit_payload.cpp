#include "protocols/atna/audit_payload.hpp"

#include <boost/json/value.hpp>

#include "protocols/fhir/model/json.hpp"

namespace cg::atna {
namespace {

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

std::string_view skip_preamble(std::string_view bytes) {
  if (bytes.starts_with(kUtf8Bom)) bytes.remove_prefix(kUtf8Bom.size());
  const std::size_t start = bytes.find_first_not_of(" \t\r\n");
  return start == std::string_view::npos ? std::string_view{} : bytes.substr(start);
}

AuditPayloadClass unknown(std::string reason) {
  return {AuditPayloadKind::kUnknown, std::move(reason)};
}

AuditPayloadClass classify_json(std::string_view text) {
  auto value = fhir::parse_json(text);
  if (!value) return unknown("JSON that does not parse: " + value.error().message);
  const boost::json::object* resource = value->if_object();
  const boost::json::value* type = resource ? resource->if_contains("resourceType") : nullptr;
  if (!type || !type->is_string() || type->get_string() != "AuditEvent") {
    return unknown("JSON that is not a FHIR AuditEvent");
  }
  return {AuditPayloadKind::kFhirJson, {}};
}

AuditPayloadClass classify_xml(std::string_view text, const AuditLimits& limits) {
  auto format = detect_audit_format(text, limits);
  if (!format) return unknown("XML that is not an audit message: " + format.error().message);
  return {
      *format == AuditFormat::kDicom ? AuditPayloadKind::kDicomXml : AuditPayloadKind::kRfc3881Xml,
      {}};
}

}  // namespace

AuditPayloadClass classify_payload(std::string_view bytes, const AuditLimits& limits) {
  if (bytes.size() > limits.max_bytes) return unknown("payload over the size limit");
  const std::string_view text = skip_preamble(bytes);
  if (text.empty()) return unknown("empty payload");
  if (text.front() == '{') return classify_json(text);
  if (text.front() == '<') return classify_xml(text, limits);
  return unknown("neither XML nor JSON");
}

std::string_view payload_kind_name(AuditPayloadKind kind) {
  switch (kind) {
    case AuditPayloadKind::kDicomXml:
      return "DICOM XML";
    case AuditPayloadKind::kRfc3881Xml:
      return "RFC 3881 XML";
    case AuditPayloadKind::kFhirJson:
      return "FHIR JSON";
    case AuditPayloadKind::kUnknown:
      break;
  }
  return "unknown";
}

}  // namespace cg::atna
