#pragma once
// Great-circle distances for `near`, as chords: a position is stored as a point on the unit
// sphere, and "within d metres" becomes "squared chord ≤ (2 sin(d / 2R))²", which SQL
// evaluates with arithmetic alone. Pure functions.

namespace cg::storage {

inline constexpr double kEarthRadiusM = 6'371'008.8;  // mean radius (IUGG)

struct UnitSpherePoint {
  double x = 0, y = 0, z = 0;
};

UnitSpherePoint unit_sphere_point(double latitude_deg, double longitude_deg);

// The squared chord of the unit sphere for an arc of `distance_m` on the Earth (4 and more
// when the distance reaches half the circumference: every point).
double squared_chord(double distance_m);

// The latitude band, in degrees, that holds every point within `distance_m` of `latitude`.
struct LatitudeBand {
  double low = -90, high = 90;
};
LatitudeBand latitude_band(double latitude_deg, double distance_m);

}  // namespace cg::storage
