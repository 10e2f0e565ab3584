// libFuzzer target: FHIR XML parsing into JSON and, for results that validate, the
// XML → JSON → XML → JSON path, which must reproduce the same JSON.
#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "protocols/fhir/model/validation.hpp"
#include "protocols/fhir/model/xml.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cg::fhir;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto resource = resource_from_xml(text);
  if (!resource) return 0;
  if (!validate_structure(*resource).empty()) {
    (void)resource_to_xml(*resource);  // must fail cleanly, never crash
    return 0;
  }
  auto xml = resource_to_xml(*resource);
  if (!xml) __builtin_trap();
  auto again = resource_from_xml(*xml);
  if (!again || boost::json::value(*again) != boost::json::value(*resource)) __builtin_trap();
  return 0;
}
