#include "protocols/fhir/index/ucum.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <map>
#include <utility>

namespace cg::fhir {
namespace {

struct Atom {
  std::string_view base;  // base atom it converts to ("g", "m", "L", "s", "mol", ...)
  double factor;
  bool prefixable;
};

// Atoms this canonicalizer knows, with their factor to the base atom.
const std::map<std::string_view, Atom>& atoms() {
  static const std::map<std::string_view, Atom> kAtoms = {
      {"g", {"g", 1, true}},
      {"m", {"m", 1, true}},
      {"L", {"L", 1, true}},
      {"l", {"L", 1, true}},
      {"s", {"s", 1, true}},
      {"min", {"s", 60, false}},
      {"h", {"s", 3600, false}},
      {"d", {"s", 86400, false}},
      {"wk", {"s", 604800, false}},
      {"mo", {"s", 2629746, false}},
      {"a", {"s", 31556952, false}},
      {"mol", {"mol", 1, true}},
      {"eq", {"eq", 1, true}},
      {"U", {"U", 1, true}},
      {"[iU]", {"[iU]", 1, true}},
      {"[IU]", {"[iU]", 1, true}},
      {"mm[Hg]", {"mm[Hg]", 1, false}},
      {"[lb_av]", {"g", 453.59237, false}},
      {"[oz_av]", {"g", 28.349523125, false}},
      {"[in_i]", {"m", 0.0254, false}},
      {"[ft_i]", {"m", 0.3048, false}},
      {"[yd_i]", {"m", 0.9144, false}},
      {"[mi_i]", {"m", 1609.344, false}},
      {"[nmi_i]", {"m", 1852, false}},
      {"%", {"1", 0.01, false}},
      {"[ppm]", {"1", 1e-6, false}},
      {"1", {"1", 1, false}},
  };
  return kAtoms;
}

const std::map<std::string_view, double>& prefixes() {
  static const std::map<std::string_view, double> kPrefixes = {
      {"Y", 1e24}, {"Z", 1e21}, {"E", 1e18}, {"P", 1e15},  {"T", 1e12},  {"G", 1e9},
      {"M", 1e6},  {"k", 1e3},  {"h", 1e2},  {"da", 1e1},  {"d", 1e-1},  {"c", 1e-2},
      {"m", 1e-3}, {"u", 1e-6}, {"n", 1e-9}, {"p", 1e-12}, {"f", 1e-15},
  };
  return kPrefixes;
}

// Splits "kg2" into symbol "kg" and exponent 2 ("m-2" → -2).
std::pair<std::string_view, int> split_exponent(std::string_view term) {
  std::size_t end = term.size();
  while (end > 0 && std::isdigit(static_cast<unsigned char>(term[end - 1]))) --end;
  if (end > 0 && (term[end - 1] == '-' || term[end - 1] == '+')) --end;
  if (end == term.size() || end == 0 || term.back() == ']') return {term, 1};
  int exp = std::atoi(std::string(term.substr(end)).c_str());
  return {term.substr(0, end), exp == 0 ? 1 : exp};
}

// Resolves a symbol to (base atom, factor): exact atom first, then prefix + atom.
std::optional<std::pair<std::string_view, double>> resolve_symbol(std::string_view symbol) {
  if (auto it = atoms().find(symbol); it != atoms().end()) {
    return std::pair{it->second.base, it->second.factor};
  }
  for (std::size_t len : {2u, 1u}) {
    if (symbol.size() <= len) continue;
    auto p = prefixes().find(symbol.substr(0, len));
    auto a = atoms().find(symbol.substr(len));
    if (p != prefixes().end() && a != atoms().end() && a->second.prefixable) {
      return std::pair{a->second.base, p->second * a->second.factor};
    }
  }
  return std::nullopt;
}

// Applies one term ("mg", "m2", "10*3") with sign +1 (numerator) or -1 (denominator).
bool apply_term(std::string_view term, int sign, double& factor, std::map<std::string, int>& dims) {
  if (term.empty()) return true;  // "/min" starts with an empty numerator
  if (term.starts_with("10*") || term.starts_with("10^")) {
    factor *= std::pow(10.0, sign * std::atoi(std::string(term.substr(3)).c_str()));
    return true;
  }
  auto [symbol, exp] = split_exponent(term);
  auto resolved = resolve_symbol(symbol);
  if (!resolved) return false;
  factor *= std::pow(resolved->second, sign * exp);
  if (resolved->first != "1") dims[std::string(resolved->first)] += sign * exp;
  return true;
}

std::string canonical_code(const std::map<std::string, int>& dims) {
  std::string code;
  for (const auto& [atom, exp] : dims) {
    if (exp == 0) continue;
    if (!code.empty()) code += '.';
    code += atom;
    if (exp != 1) code += std::to_string(exp);
  }
  return code.empty() ? "1" : code;
}

}  // namespace

std::optional<UcumCanonical> ucum_canonical(std::string_view unit) {
  if (unit.empty() || unit.find_first_of("{}() ") != std::string_view::npos) return std::nullopt;
  double factor = 1;
  std::map<std::string, int> dims;
  int sign = 1;
  std::size_t pos = 0;
  while (pos <= unit.size()) {
    std::size_t next = unit.find_first_of("./", pos);
    std::string_view term =
        unit.substr(pos, next == std::string_view::npos ? unit.npos : next - pos);
    if (!apply_term(term, sign, factor, dims)) return std::nullopt;
    if (next == std::string_view::npos) break;
    // UCUM operators are left-associative: a/b.c is (a/b).c, so '/' divides one term only.
    sign = unit[next] == '/' ? -1 : 1;
    pos = next + 1;
  }
  return UcumCanonical{factor, canonical_code(dims)};
}

std::optional<DecimalRange> decimal_range(std::string_view lexeme) {
  double value = 0;
  auto r = std::from_chars(lexeme.data(), lexeme.data() + lexeme.size(), value);
  if (r.ec != std::errc() || r.ptr != lexeme.data() + lexeme.size()) return std::nullopt;
  // Precision: the exponent of the last significant digit written.
  std::size_t e = lexeme.find_first_of("eE");
  std::string_view mantissa = lexeme.substr(0, e);
  int exponent =
      e == std::string_view::npos ? 0 : std::atoi(std::string(lexeme.substr(e + 1)).c_str());
  std::size_t dot = mantissa.find('.');
  int decimals = dot == std::string_view::npos ? 0 : static_cast<int>(mantissa.size() - dot - 1);
  double half = 0.5 * std::pow(10.0, exponent - decimals);
  return DecimalRange{value - half, value + half, value};
}

}  // namespace cg::fhir
