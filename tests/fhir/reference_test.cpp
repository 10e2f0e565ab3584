#include "protocols/fhir/model/reference.hpp"

#include <doctest/doctest.h>

using namespace cg::fhir;

TEST_CASE("relative, versioned and absolute literal references are split") {
  auto rel = parse_literal_reference("Patient/123");
  REQUIRE(rel);
  CHECK(rel->type == "Patient");
  CHECK(rel->id == "123");
  CHECK(rel->version.empty());
  auto versioned = parse_literal_reference("http://gw/fhir/Observation/o1/_history/4");
  REQUIRE(versioned);
  CHECK(versioned->type == "Observation");
  CHECK(versioned->id == "o1");
  CHECK(versioned->version == "4");
}

TEST_CASE("anything else is not a literal reference") {
  for (const char* ref : {"#contained", "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0", "Patient/",
                          "Nonsense/1", "123", "", "http://x.org/fhir/ValueSetX/1"}) {
    CAPTURE(ref);
    CHECK_FALSE(parse_literal_reference(ref));
  }
}
