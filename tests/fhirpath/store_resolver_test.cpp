#include "protocols/fhir/fhirpath/store_resolver.hpp"

#include <doctest/doctest.h>

#include "../fhir/rest/temp_store.hpp"
#include "protocols/fhir/fhirpath/fhirpath.hpp"
#include "protocols/fhir/model/json.hpp"

using namespace cg;

namespace {
std::vector<std::string> strings(const fhirpath::Collection& c) {
  std::vector<std::string> out;
  for (const auto& item : c) out.push_back(fhirpath::to_string_value(item).value_or("?"));
  return out;
}
}  // namespace

TEST_CASE("resolve() follows references into the store") {
  testing::TempStore store;
  testing::put_json(*store, "Patient", "p1", R"({"resourceType":"Patient","gender":"female"})");
  testing::put_json(*store, "Patient", "p1", R"({"resourceType":"Patient","gender":"male"})");
  auto obs = fhir::parse_json(R"({"resourceType":"Observation","status":"final","code":{"text":"x"},
    "subject":{"reference":"Patient/p1"},"performer":[{"reference":"http://gw/fhir/Patient/p1/_history/1"},
    {"reference":"Practitioner/missing"},{"reference":"urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0"}]})");
  fhirpath::StoreResolver resolver(*store);
  fhirpath::EvalContext context;
  context.resolve = resolver.callback();
  auto current = fhirpath::compile("subject.resolve().gender");
  REQUIRE(current.ok());
  auto r = fhirpath::evaluate(**current, *obs, context);
  REQUIRE(r.ok());
  CHECK(strings(*r) == std::vector<std::string>{"male"});
  auto versioned = fhirpath::compile("performer.resolve().gender");
  auto v = fhirpath::evaluate(**versioned, *obs, context);
  REQUIRE(v.ok());
  CHECK(strings(*v) ==
        std::vector<std::string>{"female"});  // _history/1; the rest resolve to nothing
  auto is_patient = fhirpath::compile("subject.where(resolve() is Patient).exists()");
  auto w = fhirpath::evaluate(**is_patient, *obs, context);
  REQUIRE(w.ok());
  CHECK(strings(*w) == std::vector<std::string>{"true"});
}

TEST_CASE("the resolver holds at most its cap of resources") {
  testing::TempStore store;
  testing::put_json(*store, "Patient", "a", R"({"resourceType":"Patient"})");
  testing::put_json(*store, "Patient", "b", R"({"resourceType":"Patient"})");
  fhirpath::StoreResolver resolver(*store, 1);
  CHECK(resolver.resolve("Patient/a") != nullptr);
  CHECK(resolver.resolve("Patient/a") != nullptr);  // cached, not counted again
  CHECK(resolver.resolve("Patient/b") == nullptr);
  CHECK(resolver.resolve("Patient/none") == nullptr);
}
