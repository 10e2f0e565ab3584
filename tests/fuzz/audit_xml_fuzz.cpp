// libFuzzer target: ATNA audit messages. Whatever parses must map, and the mapped AuditEvent
// must pass the structural validator (validate_structure, the rules check_structure applies
// in the FHIR layer) unless the mapper refused it with an error. The payload classifier runs
// on every input too.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "protocols/atna/audit_event_map.hpp"
#include "protocols/atna/audit_message.hpp"
#include "protocols/atna/audit_payload.hpp"
#include "protocols/fhir/model/validation.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cg::atna;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)classify_payload(text);
  auto message = parse_audit_message(text);
  if (!message) return 0;
  auto event = map_audit_event(*message);
  if (!event) return 0;
  if (!cg::fhir::validate_structure(*event).empty()) __builtin_trap();
  return 0;
}
