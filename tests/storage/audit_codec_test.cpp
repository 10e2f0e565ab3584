#include "storage/audit_codec.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace cg;
using namespace cg::storage;

namespace {

// What the gateway records for one FHIR read: the shape most of audit.db holds.
const std::string kReadEvent =
    R"({"resourceType":"AuditEvent","type":{"system":"http://terminology.hl7.org/CodeSystem/audit-event-type","code":"rest","display":"Restful Operation"},"subtype":[{"system":"http://hl7.org/fhir/restful-interaction","code":"read"}],"action":"R","recorded":"2026-11-21T16:29:27.369Z","outcome":"0","agent":[{"type":{"coding":[{"system":"http://dicom.nema.org/resources/ontology/DCM","code":"110153","display":"Source Role ID"}]},"who":{"identifier":{"value":"token:511a36fa"}},"requestor":true,"network":{"address":"192.168.4.31","type":"2"}},{"type":{"coding":[{"system":"http://dicom.nema.org/resources/ontology/DCM","code":"110152","display":"Destination Role ID"}]},"who":{"identifier":{"value":"clinic-7"},"display":"clinic-7"},"requestor":false,"network":{"address":"192.168.4.2","type":"2"}}],"source":{"site":"clinic-7","observer":{"identifier":{"value":"clinic-7"},"display":"clinic-7"},"type":[{"system":"http://terminology.hl7.org/CodeSystem/security-source-type","code":"4","display":"Application Server"}]},"entity":[{"what":{"reference":"Patient/p76"},"type":{"system":"http://terminology.hl7.org/CodeSystem/audit-entity-type","code":"2","display":"System Object"},"role":{"system":"http://terminology.hl7.org/CodeSystem/object-role","code":"4","display":"Domain Resource"}},{"what":{"reference":"Patient/p76"},"type":{"system":"http://terminology.hl7.org/CodeSystem/audit-entity-type","code":"1","display":"Person"},"role":{"system":"http://terminology.hl7.org/CodeSystem/object-role","code":"1","display":"Patient"}}]})";

std::string from_hex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::string to_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

}  // namespace

TEST_CASE("audit bytes round-trip through the codec, any bytes") {
  for (const std::string& bytes :
       {kReadEvent, std::string("<AuditMessage/>"), std::string("\0\xff\x01 binary", 10),
        std::string(100'000, 'x'), std::string("x")}) {
    const std::string stored = compress_audit_bytes(bytes);
    auto back = expand_audit_bytes(stored, AuditCodec::kV1);
    REQUIRE(back.ok());
    CHECK(*back == bytes);
  }
  CHECK(compress_audit_bytes("").empty());
  CHECK(expand_audit_bytes("", AuditCodec::kV1).value().empty());
}

TEST_CASE("the dictionary makes the gateway's own records several times smaller") {
  const std::string stored = compress_audit_bytes(kReadEvent);
  MESSAGE("read event: " << kReadEvent.size() << " -> " << stored.size() << " bytes");
  CHECK(stored.size() * 5 < kReadEvent.size());
}

TEST_CASE("codec 1 is frozen: a frame written by it is readable forever") {
  // Written by compress_audit_bytes when codec 1 was made. If this fails, the dictionary
  // or the frame format changed, and every audit.db in the field would become unreadable:
  // add a codec instead.
  const std::string frame = from_hex(
      "28b52ffd64f804d50400340331312d32315431363a32393a32372e33363935313161333666613139322e"
      "3136382e342e33636c696e69632d3732347037363120002d77300538ce0cd614faf8656aac2f9bc073c7"
      "03709c14b9c72e7980829c02ca8b06460129289405c8c9417bf9005405f4852330060dba4b7704b48864"
      "3380c13b0103cb809c1c982ecb5c953848b9ea61886d7204bf8702570354042e3f862d1c058349c4868b");
  auto back = expand_audit_bytes(frame, AuditCodec::kV1);
  REQUIRE_MESSAGE(back.ok(), "frame of today: " << to_hex(compress_audit_bytes(kReadEvent)));
  CHECK(*back == kReadEvent);
}

TEST_CASE("plain bytes pass through; damaged frames and unknown codecs are errors") {
  CHECK(expand_audit_bytes("as it was", AuditCodec::kPlain).value() == "as it was");
  std::string stored = compress_audit_bytes(kReadEvent);
  stored[stored.size() / 2] ^= 0x40;  // a flipped bit: the checksum catches it
  CHECK(expand_audit_bytes(stored, AuditCodec::kV1).error().kind == ErrorKind::kInternal);
  CHECK(expand_audit_bytes("not zstd", AuditCodec::kV1).error().kind == ErrorKind::kInternal);
  CHECK(expand_audit_bytes("x", static_cast<AuditCodec>(9)).error().kind == ErrorKind::kInternal);
}
