#include "storage/geo.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace cg::storage {

namespace {

double radians(double degrees) {
  return degrees * std::numbers::pi / 180;
}

}  // namespace

UnitSpherePoint unit_sphere_point(double latitude_deg, double longitude_deg) {
  const double lat = radians(latitude_deg), lon = radians(longitude_deg);
  return {std::cos(lat) * std::cos(lon), std::cos(lat) * std::sin(lon), std::sin(lat)};
}

double squared_chord(double distance_m) {
  const double angle = distance_m / kEarthRadiusM;
  if (angle >= std::numbers::pi) return 4.0 + 1e-9;
  const double chord = 2 * std::sin(angle / 2);
  return chord * chord;
}

LatitudeBand latitude_band(double latitude_deg, double distance_m) {
  const double degrees = distance_m / kEarthRadiusM * 180 / std::numbers::pi;
  return {std::max(-90.0, latitude_deg - degrees), std::min(90.0, latitude_deg + degrees)};
}

}  // namespace cg::storage
