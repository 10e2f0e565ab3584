// Model-aware navigation (model.cpp) through the public API.
#include <doctest/doctest.h>

#include "tests/fhirpath/fhirpath_test_util.hpp"

using namespace cg::fhirpath;
using namespace cg::fhirpath::testing;
using V = std::vector<std::string>;

TEST_CASE("a resource type name as first step selects a focus of that type") {
  const auto p = json_of(kPatient);
  // The second name has a given name with only an extension: it is an item (rendered null).
  CHECK(run("Patient.name.given", p).values == V{"Peter", "James", "null", "Jim"});
  CHECK(run("name.given.where(hasValue())", p).values == V{"Peter", "James", "Jim"});
  CHECK(run("Observation.status", p).values.empty());
  CHECK(run("DomainResource.id", p).values == V{"p1"});
}

TEST_CASE("choice elements are reached by their base name and typed by their suffix") {
  const auto o = json_of(kObservation);
  CHECK(run("Observation.value.unit", o).values == V{"lbs"});
  CHECK(run("Observation.value is Quantity", o).values == V{"true"});
  CHECK(run("Observation.effective is dateTime", o).values == V{"true"});
  CHECK(run("Observation.value.as(Period)", o).values.empty());
  CHECK(run("Observation.valueQuantity.value", o).values == V{"185.50"});
}

TEST_CASE("strict mode refuses unknown element names and typed choice names") {
  const auto o = json_of(kObservation);
  EvalContext strict;
  strict.strict = true;
  CHECK_FALSE(run("Observation.valueQuantity.unit", o, strict).ok);
  CHECK_FALSE(run("Observation.frobnicate", o, strict).ok);
  CHECK(run("Observation.value.unit", o, strict).ok);
  CHECK(run("Observation.frobnicate", o).values.empty());
}

TEST_CASE("strict mode checks names against the type an as/ofType names") {
  const auto o = json_of(kObservation);
  EvalContext strict;
  strict.strict = true;
  CHECK_FALSE(run("(Observation.value as Period).unit", o, strict).ok);
  CHECK_FALSE(run("Observation.value.ofType(Period).unit", o, strict).ok);
  CHECK(run("(Observation.value as Quantity).unit", o, strict).values == V{"lbs"});
  CHECK(run("(Observation.value as Period).start", o, strict).values.empty());
  CHECK(run("(Observation.value as Period).unit", o).values.empty());
}

TEST_CASE("strict mode refuses order-dependent functions on children() and descendants()") {
  const auto p = json_of(kPatient);
  EvalContext strict;
  strict.strict = true;
  CHECK_FALSE(run("Patient.children().skip(1)", p, strict).ok);
  CHECK_FALSE(run("Patient.descendants()[0]", p, strict).ok);
  CHECK(run("Patient.children().count() > 1", p, strict).values == V{"true"});
  CHECK(run("Patient.children().union(name).exists()", p, strict).values == V{"true"});
  CHECK(run("Patient.name.skip(1).use", p, strict).values == V{"usual"});
  CHECK(run("Patient.children().first().exists()", p).values == V{"true"});
}

TEST_CASE("primitives carry id and extension from their _name companion") {
  const auto p = json_of(kPatient);
  CHECK(run("Patient.birthDate.extension.value", p).values == V{"1974-12-25T14:35:45-05:00"});
  CHECK(run("Patient.name[1].given.count()", p).values == V{"2"});
  CHECK(run("Patient.name[1].given.select($this.hasValue())", p).values == V{"false", "true"});
  CHECK(run("Patient.name[1].given.first().extension.url", p).values == V{"http://e.org/s"});
}

TEST_CASE("is follows the FHIR hierarchy while as and ofType match the exact type") {
  const auto p = json_of(kPatient);
  CHECK(run("Patient.gender.is(string)", p).values == V{"true"});
  CHECK(run("Patient.gender.as(string)", p).values.empty());
  CHECK(run("Patient.gender.ofType(code)", p).values == V{"male"});
  CHECK(run("Patient.is(DomainResource)", p).values == V{"true"});
  CHECK(run("Patient.active.is(Boolean)", p).values == V{"false"});
}

TEST_CASE("contained resources are typed by their resourceType") {
  const auto p = json_of(kPatient);
  CHECK(run("contained.ofType(Organization).name", p).values == V{"Clinic"});
  CHECK(run("contained.first().type().name", p).values == V{"Organization"});
}

TEST_CASE("children and descendants walk every element, primitive extensions included") {
  const auto p = json_of(kPatient);
  CHECK(run("children().ofType(HumanName).count()", p).values == V{"2"});
  CHECK(run("descendants().ofType(Extension).count()", p).values == V{"2"});
  CHECK(run("descendants().where($this = 'Jim').count()", p).values == V{"1"});
}
