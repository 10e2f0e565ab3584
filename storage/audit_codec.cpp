#include "storage/audit_codec.hpp"

#include <zstd.h>

#include <cstdlib>
#include <memory>

namespace cg::storage {
namespace {

// Dictionary v1: what audit messages repeat. zstd uses a raw-content dictionary as if it
// had been sent just before each record, so every run of these bytes in a record becomes a
// short back-reference; the most common runs sit at the end, where references are shortest.
// FROZEN: records written with it must stay readable (see the header).
constexpr std::string_view kDictionaryV1 =
    R"(<?xml version="1.0" encoding="UTF-8"?>
<AuditMessage xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <EventIdentification EventActionCode="E" EventDateTime="2026-01-01T00:00:00.000Z" EventOutcomeIndicator="0">
    <EventID csd-code="110112" codeSystemName="DCM" originalText="Query"/>
    <EventTypeCode csd-code="ITI-21" codeSystemName="IHE Transactions" originalText="Patient Demographics Query"/>
  </EventIdentification>
  <ActiveParticipant UserID="" AlternativeUserID="" UserIsRequestor="true" NetworkAccessPointID="127.0.0.1" NetworkAccessPointTypeCode="2">
    <RoleIDCode csd-code="110153" codeSystemName="DCM" originalText="Source Role ID"/>
  </ActiveParticipant>
  <ActiveParticipant UserID="" UserIsRequestor="false" NetworkAccessPointID="" NetworkAccessPointTypeCode="1">
    <RoleIDCode csd-code="110152" codeSystemName="DCM" originalText="Destination Role ID"/>
  </ActiveParticipant>
  <AuditSourceIdentification AuditEnterpriseSiteID="" AuditSourceID="">
    <AuditSourceTypeCode csd-code="4" codeSystemName="DCM" originalText="Application Server Process"/>
  </AuditSourceIdentification>
  <ParticipantObjectIdentification ParticipantObjectID="^^^&amp;1.3.6.1.4.1.21367.2010.1.2.300&amp;ISO" ParticipantObjectTypeCode="1" ParticipantObjectTypeCodeRole="1">
    <ParticipantObjectIDTypeCode csd-code="2" codeSystemName="RFC-3881" originalText="Patient Number"/>
    <ParticipantObjectQuery></ParticipantObjectQuery>
    <ParticipantObjectDetail type="MSH-10" value=""/>
  </ParticipantObjectIdentification>
  <ParticipantObjectIdentification ParticipantObjectTypeCode="2" ParticipantObjectTypeCodeRole="24">
    <ParticipantObjectIDTypeCode csd-code="ITI-9" codeSystemName="IHE Transactions" originalText="PIX Query"/>
  </ParticipantObjectIdentification>
</AuditMessage>
{"resourceType":"AuditEvent","type":{"system":"http://dicom.nema.org/resources/ontology/DCM","code":"110110","display":"Patient Record"},"subtype":[{"system":"urn:ihe:event-type-code","code":"ITI-8","display":"Patient Identity Feed"}],"action":"C","period":{"start":"","end":""},"recorded":"2026-01-01T00:00:00.000Z","outcome":"4","outcomeDesc":"","purposeOfEvent":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActReason","code":"TREAT"}]}],"agent":[{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/extra-security-role-type","code":"humanuser","display":"human user"}]},"who":{"identifier":{"system":"","value":""}},"altId":"","name":"","requestor":true,"network":{"address":"","type":"1"}}],"source":{"site":"","observer":{"identifier":{"value":""},"display":""},"type":[{"system":"http://dicom.nema.org/resources/ontology/DCM","code":"4","display":"Application Server Process"}]},"entity":[{"what":{"identifier":{"system":"urn:oid:","value":""}},"type":{"system":"http://terminology.hl7.org/CodeSystem/audit-entity-type","code":"2","display":"System Object"},"role":{"system":"http://terminology.hl7.org/CodeSystem/object-role","code":"24","display":"Query"},"query":"","detail":[{"type":"MSH-10","valueBase64Binary":""}]}]}
{"resourceType":"AuditEvent","type":{"system":"http://terminology.hl7.org/CodeSystem/audit-event-type","code":"rest","display":"Restful Operation"},"subtype":[{"system":"http://hl7.org/fhir/restful-interaction","code":"search-type"}],"action":"E","recorded":"2026-01-01T00:00:00.000Z","outcome":"0","agent":[{"type":{"coding":[{"system":"http://dicom.nema.org/resources/ontology/DCM","code":"110153","display":"Source Role ID"}]},"who":{"identifier":{"value":"token:"}},"requestor":true,"network":{"address":"127.0.0.1","type":"2"}},{"type":{"coding":[{"system":"http://dicom.nema.org/resources/ontology/DCM","code":"110152","display":"Destination Role ID"}]},"who":{"identifier":{"value":""},"display":""},"requestor":false,"network":{"address":"127.0.0.1","type":"2"}}],"source":{"site":"","observer":{"identifier":{"value":""},"display":""},"type":[{"system":"http://terminology.hl7.org/CodeSystem/security-source-type","code":"4","display":"Application Server"}]},"entity":[{"what":{"reference":"Patient/"},"type":{"system":"http://terminology.hl7.org/CodeSystem/audit-entity-type","code":"2","display":"System Object"},"role":{"system":"http://terminology.hl7.org/CodeSystem/object-role","code":"4","display":"Domain Resource"}},{"what":{"reference":"Patient/"},"type":{"system":"http://terminology.hl7.org/CodeSystem/audit-entity-type","code":"1","display":"Person"},"role":{"system":"http://terminology.hl7.org/CodeSystem/object-role","code":"1","display":"Patient"}}]}
{"resourceType":"AuditEvent","type":{"system":"http://terminology.hl7.org/CodeSystem/audit-event-type","code":"rest","display":"Restful Operation"},"subtype":[{"system":"http://hl7.org/fhir/restful-interaction","code":"read"}],"action":"R","recorded":"2026-01-01T00:00:00.000Z","outcome":"0","agent":[{"type":{"coding":[{"system":"http://dicom.nema.org/resources/ontology/DCM","code":"110153","display":"Source Role ID"}]},"who":{"identifier":{"value":"token:"}},"requestor":true,"network":{"address":"127.0.0.1","type":"2"}},{"type":{"coding":[{"system":"http://dicom.nema.org/resources/ontology/DCM","code":"110152","display":"Destination Role ID"}]},"who":{"identifier":{"value":""},"display":""},"requestor":false,"network":{"address":"127.0.0.1","type":"2"}}],"source":{"site":"","observer":{"identifier":{"value":""},"display":""},"type":[{"system":"http://terminology.hl7.org/CodeSystem/security-source-type","code":"4","display":"Application Server"}]},"entity":[{"what":{"reference":"Patient/"},"type":{"system":"http://terminology.hl7.org/CodeSystem/audit-entity-type","code":"2","display":"System Object"},"role":{"system":"http://terminology.hl7.org/CodeSystem/object-role","code":"4","display":"Domain Resource"}},{"what":{"reference":"Patient/"},"type":{"system":"http://terminology.hl7.org/CodeSystem/audit-entity-type","code":"1","display":"Person"},"role":{"system":"http://terminology.hl7.org/CodeSystem/object-role","code":"1","display":"Patient"}}]})";

// Level 1 (zstd's fastest proper level): with the dictionary doing most of the work, higher
// levels gain a few percent of size for several times the time.
constexpr int kLevel = 1;
// A frame that claims more than this is damaged: no audit message is this large.
constexpr unsigned long long kMaxExpanded = 256ull << 20;

struct CDictFree {
  void operator()(ZSTD_CDict* d) const { ZSTD_freeCDict(d); }
};
struct DDictFree {
  void operator()(ZSTD_DDict* d) const { ZSTD_freeDDict(d); }
};
struct CCtxFree {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DCtxFree {
  void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
};

// Built once and shared: digested dictionaries are read-only, safe across threads.
const ZSTD_CDict* compression_dictionary() {
  static const std::unique_ptr<ZSTD_CDict, CDictFree> dict(
      ZSTD_createCDict(kDictionaryV1.data(), kDictionaryV1.size(), kLevel));
  return dict.get();
}

const ZSTD_DDict* expansion_dictionary() {
  static const std::unique_ptr<ZSTD_DDict, DDictFree> dict(
      ZSTD_createDDict(kDictionaryV1.data(), kDictionaryV1.size()));
  return dict.get();
}

// One context per thread: contexts keep their buffers between calls, so a record costs no
// allocation beyond its output.
ZSTD_CCtx* compression_context() {
  thread_local const std::unique_ptr<ZSTD_CCtx, CCtxFree> ctx = [] {
    std::unique_ptr<ZSTD_CCtx, CCtxFree> c(ZSTD_createCCtx());
    ZSTD_CCtx_setParameter(c.get(), ZSTD_c_checksumFlag, 1);
    ZSTD_CCtx_refCDict(c.get(), compression_dictionary());
    return c;
  }();
  return ctx.get();
}

ZSTD_DCtx* expansion_context() {
  thread_local const std::unique_ptr<ZSTD_DCtx, DCtxFree> ctx = [] {
    return std::unique_ptr<ZSTD_DCtx, DCtxFree>(ZSTD_createDCtx());
  }();
  return ctx.get();
}

}  // namespace

std::string compress_audit_bytes(std::string_view bytes) {
  if (bytes.empty()) return {};
  std::string out(ZSTD_compressBound(bytes.size()), '\0');
  // Parameters and dictionary stay referenced across calls; only the frame is reset.
  const std::size_t n =
      ZSTD_compress2(compression_context(), out.data(), out.size(), bytes.data(), bytes.size());
  // Cannot fail with a bound-sized output and a valid context; a failure here would be a
  // bug in how the context was set up, so it is not hidden.
  if (ZSTD_isError(n)) std::abort();
  out.resize(n);
  return out;
}

Result<std::string> expand_audit_bytes(std::string_view stored, AuditCodec codec) {
  if (codec == AuditCodec::kPlain) return std::string(stored);
  if (codec != AuditCodec::kV1) {
    return Error::internal("audit.db: a record uses an unknown codec " +
                           std::to_string(static_cast<std::int64_t>(codec)));
  }
  if (stored.empty()) return std::string();
  const unsigned long long size = ZSTD_getFrameContentSize(stored.data(), stored.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > kMaxExpanded) {
    return Error::internal("audit.db: a record's compressed bytes are damaged");
  }
  std::string out(static_cast<std::size_t>(size), '\0');
  const std::size_t n =
      ZSTD_decompress_usingDDict(expansion_context(), out.data(), out.size(), stored.data(),
                                 stored.size(), expansion_dictionary());
  if (ZSTD_isError(n) || n != out.size()) {
    return Error::internal("audit.db: a record's compressed bytes are damaged");
  }
  return out;
}

}  // namespace cg::storage
