#include "protocols/fhir/index/ucum.hpp"

#include <doctest/doctest.h>

using namespace cg::fhir;

TEST_CASE("prefixed units convert to their base") {
  auto mg = ucum_canonical("mg");
  REQUIRE(mg);
  CHECK(mg->code == "g");
  CHECK(mg->factor == doctest::Approx(1e-3));
  CHECK(ucum_canonical("kg")->factor == doctest::Approx(1e3));
  CHECK(ucum_canonical("ug")->factor == doctest::Approx(1e-6));
  CHECK(ucum_canonical("cm")->code == "m");
  CHECK(ucum_canonical("[lb_av]")->factor == doctest::Approx(453.59237));
  CHECK(ucum_canonical("[mi_i]")->factor == doctest::Approx(1609.344));
  CHECK(ucum_canonical("[mi_i]")->code == "m");
}

TEST_CASE("compound units: division binds one term, exponents, 10*n") {
  auto mg_dl = ucum_canonical("mg/dL");
  REQUIRE(mg_dl);
  CHECK(mg_dl->code == "L-1.g");
  CHECK(mg_dl->factor == doctest::Approx(1e-2));
  CHECK(ucum_canonical("mmol/L")->code == "L-1.mol");
  CHECK(ucum_canonical("kg/m2")->code == "g.m-2");
  CHECK(ucum_canonical("/min")->code == "s-1");
  CHECK(ucum_canonical("/min")->factor == doctest::Approx(1.0 / 60));
  auto cells = ucum_canonical("10*3/uL");
  REQUIRE(cells);
  CHECK(cells->factor == doctest::Approx(1e9));
  CHECK(ucum_canonical("g/m.s")->code == "g.m-1.s");  // (g/m).s
  CHECK(ucum_canonical("%")->code == "1");
}

TEST_CASE("unknown, annotated or offset units are left alone") {
  CHECK_FALSE(ucum_canonical("Cel"));
  CHECK_FALSE(ucum_canonical("{beats}/min"));
  CHECK_FALSE(ucum_canonical("tablets"));
  CHECK_FALSE(ucum_canonical(""));
}

TEST_CASE("decimal lexemes stand for a range at their precision") {
  auto r = decimal_range("1.5");
  REQUIRE(r);
  CHECK(r->low == doctest::Approx(1.45));
  CHECK(r->high == doctest::Approx(1.55));
  CHECK(decimal_range("100")->low == doctest::Approx(99.5));
  CHECK(decimal_range("100.00")->high == doctest::Approx(100.005));
  CHECK(decimal_range("1e2")->low == doctest::Approx(50));
  CHECK(decimal_range("-2.0")->low == doctest::Approx(-2.05));
  CHECK_FALSE(decimal_range("abc"));
  CHECK_FALSE(decimal_range("1.5x"));
}
