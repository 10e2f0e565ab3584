#include "protocols/fhir/search/compartment_criteria.hpp"

#include <doctest/doctest.h>

#include <algorithm>

using namespace cg::fhir::search;

TEST_CASE("Patient/123/Observation is an OR of the Observation parameters naming the patient") {
  auto criteria = compartment_criteria("Patient", "123", "Observation");
  REQUIRE(criteria.ok());
  std::vector<std::string> codes;
  for (const auto& c : *criteria) {
    codes.push_back(c.code);
    REQUIRE(c.param != nullptr);
    CHECK(c.target_type == "Observation");
    REQUIRE(c.any_of.size() == 1);
    const auto& ref = std::get<ReferenceValue>(c.any_of[0]);
    CHECK(ref.type == "Patient");
    CHECK(ref.id == "123");
    CHECK(c.raw_value == "Patient/123");
  }
  CHECK(codes == std::vector<std::string>{"subject", "performer"});
}

TEST_CASE("the compartment's own type is matched by _id ({def})") {
  auto criteria = compartment_criteria("Encounter", "e1", "Encounter");
  REQUIRE(criteria.ok());
  auto own = std::find_if(criteria->begin(), criteria->end(),
                          [](const Criterion& c) { return c.code == "_id"; });
  REQUIRE(own != criteria->end());
  CHECK(std::get<TokenValue>(own->any_of[0]).code == "e1");
}

TEST_CASE("unknown compartments, types outside it and bad ids are refused") {
  CHECK(compartment_criteria("Observation", "1", "Patient").error().kind ==
        cg::ErrorKind::kNotFound);
  CHECK(compartment_criteria("Patient", "1", "CodeSystem").error().kind ==
        cg::ErrorKind::kNotFound);
  CHECK(compartment_criteria("Patient", "1", "NoSuchType").error().kind ==
        cg::ErrorKind::kNotFound);
  CHECK(compartment_criteria("Patient", "bad id!", "Observation").error().kind ==
        cg::ErrorKind::kInvalid);
}
