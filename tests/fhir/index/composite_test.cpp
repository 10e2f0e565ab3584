#include "protocols/fhir/index/composite.hpp"

#include <doctest/doctest.h>

using namespace cg::fhir;

namespace {

const CompositePlan& plan(std::string_view type, std::string_view code) {
  const SearchParamDef* def = find_search_parameter(type, code);
  REQUIRE(def != nullptr);
  return composite_plan(*def, type);
}

}  // namespace

TEST_CASE("a composite of the resource root is answered by its components' own parameters") {
  const auto& p = plan("Observation", "code-value-quantity");
  CHECK_FALSE(p.grouped);
  REQUIRE(p.root_params.size() == 2);
  CHECK(p.root_params[0] == "code");
  CHECK(p.root_params[1] == "value-quantity");
  CHECK(plan("Observation", "code-value-concept").root_params[1] == "value-concept");
}

TEST_CASE("a union with the root uses the root-only twin for the root, grouped rows elsewhere") {
  const auto& combo = plan("Observation", "combo-code-value-quantity");
  CHECK(combo.grouped);
  REQUIRE(combo.root_params.size() == 2);
  CHECK(combo.root_params[0] == "code");
  CHECK(combo.root_params[1] == "value-quantity");
}

TEST_CASE("nested instances are grouped rows only") {
  const auto& component = plan("Observation", "component-code-value-quantity");
  CHECK(component.grouped);
  CHECK(component.root_params.empty());
  // A union over many types keeps the branch of the type asked for.
  const auto& context = plan("ValueSet", "context-type-quantity");
  CHECK(context.grouped);
  CHECK(context.root_params.empty());
  CHECK(plan("Group", "characteristic-value").grouped);
}

TEST_CASE("component parameters are named code$index") {
  CHECK(component_param("code-value-quantity", 1) == "code-value-quantity$1");
}
