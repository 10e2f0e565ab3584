// libFuzzer target: the FHIRPath parser and evaluator. Any input must either fail to
// compile with an Error or evaluate (to a value or an Error) against a small Patient with
// contained resources, primitive extensions and a choice element, without crashing,
// hanging or exceeding the evaluation budget. Compilation must be deterministic.
#include <boost/json/value.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "protocols/fhir/fhirpath/fhirpath.hpp"
#include "protocols/fhir/model/json.hpp"

namespace {

const boost::json::value& patient() {
  static const boost::json::value v = *cg::fhir::parse_json(R"({
    "resourceType": "Patient", "id": "p1",
    "contained": [{"resourceType": "Organization", "id": "o1", "name": "Clinic"}],
    "active": true,
    "name": [{"use": "official", "family": "Chalmers", "given": ["Peter", "James"]},
             {"given": [null, "Jim"], "_given": [{"extension": [{"url": "u", "valueString": "x"}]}]}],
    "birthDate": "1974-12-25",
    "_birthDate": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
                                  "valueDateTime": "1974-12-25T14:35:45-05:00"}]},
    "deceasedBoolean": false,
    "multipleBirthInteger": 2,
    "managingOrganization": {"reference": "#o1"},
    "extension": [{"url": "http://example.org/weight",
                   "valueQuantity": {"value": 72.50, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"}}]
  })");
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cg::fhirpath;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto compiled = compile(text);
  if (!compiled) {
    if (compile(text).ok()) __builtin_trap();  // deterministic
    return 0;
  }
  EvalContext ctx;
  ctx.now = std::chrono::system_clock::time_point{};
  ctx.max_collection_size = 10'000;
  ctx.max_operations = 200'000;
  (void)evaluate(**compiled, patient(), ctx);
  ctx.strict = true;
  (void)evaluate(**compiled, patient(), ctx);
  return 0;
}
