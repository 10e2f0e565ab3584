#include "protocols/fhir/model/reference.hpp"

#include "protocols/fhir/model/definitions.hpp"

namespace cg::fhir {

std::optional<LiteralReference> parse_literal_reference(std::string_view reference) {
  LiteralReference out;
  if (auto hist = reference.find("/_history/"); hist != std::string_view::npos) {
    out.version = reference.substr(hist + 10);
    reference = reference.substr(0, hist);
  }
  auto slash = reference.rfind('/');
  if (slash == std::string_view::npos || slash + 1 == reference.size()) return std::nullopt;
  std::string_view type = reference.substr(0, slash);
  if (auto prev = type.rfind('/'); prev != std::string_view::npos) type = type.substr(prev + 1);
  if (!is_resource_type(type)) return std::nullopt;
  out.type = type;
  out.id = reference.substr(slash + 1);
  return out;
}

}  // namespace cg::fhir
