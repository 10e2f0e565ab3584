#include "protocols/fhir/search/compartment_criteria.hpp"

#include <algorithm>

#include "protocols/fhir/model/primitives.hpp"

namespace cg::fhir::search {

Result<std::vector<Criterion>> compartment_criteria(std::string_view compartment_type,
                                                    std::string_view compartment_id,
                                                    std::string_view resource_type) {
  auto compartments = compartment_types();
  if (std::find(compartments.begin(), compartments.end(), compartment_type) == compartments.end()) {
    return Error::not_found("'" + std::string(compartment_type) + "' is not a compartment");
  }
  if (!is_valid_id(compartment_id)) {
    return Error::invalid("'" + std::string(compartment_id) + "' is not a valid id");
  }
  const std::string reference = std::string(compartment_type) + "/" + std::string(compartment_id);
  std::vector<Criterion> out;
  for (std::string_view code : compartment_params(compartment_type, resource_type)) {
    Criterion c;
    c.target_type = std::string(resource_type);
    if (code == "{def}") {
      c.name = c.code = "_id";
      c.raw_value = std::string(compartment_id);
      c.param = find_search_parameter(resource_type, "_id");
      c.any_of.push_back(TokenValue{SystemMatch::kAny, {}, std::string(compartment_id), {}, {}});
    } else {
      c.name = c.code = std::string(code);
      c.raw_value = reference;
      c.param = find_search_parameter(resource_type, code);
      c.any_of.push_back(ReferenceValue{ReferenceForm::kLocal,
                                        std::string(compartment_type),
                                        std::string(compartment_id),
                                        {},
                                        {}});
    }
    if (c.param == nullptr) {
      return Error::internal("compartment parameter " + std::string(resource_type) + "." +
                             std::string(code) + " is not defined");
    }
    out.push_back(std::move(c));
  }
  if (out.empty()) {
    return Error::not_found(std::string(resource_type) + " is not in the " +
                            std::string(compartment_type) + " compartment");
  }
  return out;
}

}  // namespace cg::fhir::search
