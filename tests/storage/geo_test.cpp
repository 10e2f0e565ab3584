#include "storage/geo.hpp"

#include <doctest/doctest.h>

#include <cmath>

using namespace cg::storage;

namespace {

double squared_distance(UnitSpherePoint a, UnitSpherePoint b) {
  return (a.x - b.x) * (a.x - b.x) + (a.y - b.y) * (a.y - b.y) + (a.z - b.z) * (a.z - b.z);
}

}  // namespace

TEST_CASE("points on the unit sphere") {
  auto p = unit_sphere_point(0, 0);
  CHECK(p.x == doctest::Approx(1));
  CHECK(p.z == doctest::Approx(0));
  auto pole = unit_sphere_point(90, 123);
  CHECK(pole.z == doctest::Approx(1));
}

TEST_CASE("the chord of one degree of latitude is the chord of 111.2 km") {
  const double one_degree_m = kEarthRadiusM * M_PI / 180;  // 111,195 m
  auto a = unit_sphere_point(10, 20), b = unit_sphere_point(11, 20);
  CHECK(squared_distance(a, b) == doctest::Approx(squared_chord(one_degree_m)));
  CHECK(squared_distance(a, b) < squared_chord(one_degree_m + 1));
  CHECK(squared_distance(a, b) > squared_chord(one_degree_m - 1));
  // Half the circumference and more: everything.
  CHECK(squared_chord(kEarthRadiusM * M_PI) > 4);
}

TEST_CASE("the latitude band holds the circle and stops at the poles") {
  auto band = latitude_band(0, 111'195);
  CHECK(band.low == doctest::Approx(-1).epsilon(0.001));
  CHECK(band.high == doctest::Approx(1).epsilon(0.001));
  CHECK(latitude_band(89.5, 200'000).high == 90);
  CHECK(latitude_band(-89.5, 200'000).low == -90);
}
