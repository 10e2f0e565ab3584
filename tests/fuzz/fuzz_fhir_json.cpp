// libFuzzer target: FHIR JSON parsing, structural validation and, for resources that
// validate, the JSON → XML → JSON path. A valid resource must always convert to XML and
// back, and converting the result again must not change it.
#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "protocols/fhir/model/json.hpp"
#include "protocols/fhir/model/validation.hpp"
#include "protocols/fhir/model/xml.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cg::fhir;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto value = parse_json(text);
  if (!value || !value->is_object()) return 0;
  const boost::json::object& resource = value->get_object();
  if (!validate_structure(resource).empty()) {
    (void)resource_to_xml(resource);  // must fail cleanly, never crash
    return 0;
  }
  auto xml = resource_to_xml(resource);
  if (!xml) __builtin_trap();  // valid JSON resources always have an XML form
  auto back = resource_from_xml(*xml);
  if (!back) __builtin_trap();
  auto xml_again = resource_to_xml(*back);
  if (!xml_again || *xml_again != *xml) __builtin_trap();
  return 0;
}
