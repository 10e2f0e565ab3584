#pragma once
// A small UCUM canonicalizer for quantity search: converts a value in a UCUM unit expression
// built from prefixed atoms, '.', '/', exponents and 10*n factors (mg, mg/dL, mmol/L, kg/m2,
// 10*3/uL, [lb_av], /min) into base units ("g.L-1"), so that quantities in different units of
// the same dimension compare. Units it does not know (including offset units such as Cel)
// give nullopt and are searched by their own code only. Pure; thread-safe.

#include <optional>
#include <string>
#include <string_view>

namespace cg::fhir {

struct UcumCanonical {
  double factor = 1;  // value_in_base = value * factor
  std::string code;   // canonical unit, atoms sorted: "g.L-1", "m", "1" for dimensionless
};

std::optional<UcumCanonical> ucum_canonical(std::string_view unit);

// The half-open range a decimal lexeme stands for at its precision:
// "1.5" → [1.45, 1.55), "100" → [99.5, 100.5), "1e2" → [50, 150).
struct DecimalRange {
  double low = 0;
  double high = 0;
  double value = 0;
};
std::optional<DecimalRange> decimal_range(std::string_view lexeme);

}  // namespace cg::fhir
