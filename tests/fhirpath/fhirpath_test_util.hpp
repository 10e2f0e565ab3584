#pragma once
// Helpers shared by the FHIRPath unit tests: evaluate an expression against FHIR JSON text
// and render the result as strings ("true", "1.50", "2014-01-01", "5 'mg'", JSON for
// complex nodes), or get the error message.
#include <string>
#include <string_view>
#include <vector>

#include "protocols/fhir/fhirpath/fhirpath.hpp"
#include "protocols/fhir/model/json.hpp"

namespace cg::fhirpath::testing {

inline boost::json::value json_of(std::string_view text) {
  auto v = fhir::parse_json(text);
  return v ? std::move(*v) : boost::json::value();
}

inline std::vector<std::string> render(const Collection& c) {
  std::vector<std::string> out;
  for (const Item& item : c) {
    if (auto s = to_string_value(item)) {
      out.push_back(*s);
    } else {
      out.push_back(fhir::serialize_json(to_json(item)));
    }
  }
  return out;
}

struct Outcome {
  bool ok = false;
  std::vector<std::string> values;
  std::string error;
};

inline Outcome run(std::string_view expression, const boost::json::value& focus,
                   const EvalContext& ctx = {}) {
  auto compiled = compile(expression);
  if (!compiled) return {false, {}, compiled.error().message};
  auto result = evaluate(**compiled, focus, ctx);
  if (!result) return {false, {}, result.error().message};
  return {true, render(*result), {}};
}

// Values of an expression without input, for literal arithmetic.
inline std::vector<std::string> values(std::string_view expression) {
  return run(expression, boost::json::value()).values;
}

inline const char* kPatient = R"({
  "resourceType": "Patient", "id": "p1",
  "contained": [{"resourceType": "Organization", "id": "o1", "name": "Clinic"}],
  "active": true,
  "name": [{"use": "official", "family": "Chalmers", "given": ["Peter", "James"]},
           {"use": "usual", "given": [null, "Jim"],
            "_given": [{"extension": [{"url": "http://e.org/s", "valueString": "x"}]}]}],
  "gender": "male",
  "birthDate": "1974-12-25",
  "_birthDate": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
                                "valueDateTime": "1974-12-25T14:35:45-05:00"}]},
  "deceasedBoolean": false,
  "managingOrganization": {"reference": "#o1"},
  "generalPractitioner": [{"reference": "Practitioner/dr1"}]
})";

inline const char* kObservation = R"({
  "resourceType": "Observation", "id": "o1", "status": "final",
  "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
  "valueQuantity": {"value": 185.50, "unit": "lbs", "system": "http://unitsofmeasure.org",
                    "code": "[lb_av]"},
  "effectiveDateTime": "2016-03-28T10:00:00+01:00"
})";

}  // namespace cg::fhirpath::testing
