#include "protocols/fhir/index/composite.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <utility>

namespace cg::fhir {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

// The branches of a top-level union that apply to `type`: "Observation | Observation.component"
// gives both for Observation; "A.useContext | B.useContext" gives one for A.
std::vector<std::string_view> branches_for(std::string_view expression, std::string_view type) {
  std::vector<std::string_view> out;
  int depth = 0;
  std::size_t start = 0;
  auto take = [&](std::size_t end) {
    auto branch = trim(expression.substr(start, end - start));
    if (branch == type ||
        (branch.starts_with(type) && branch.size() > type.size() && branch[type.size()] == '.')) {
      out.push_back(branch);
    }
  };
  for (std::size_t i = 0; i < expression.size(); ++i) {
    const char c = expression[i];
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (c == '|' && depth == 0) {
      take(i);
      start = i + 1;
    }
  }
  take(expression.size());
  return out;
}

bool root_only(const SearchParamDef& def, std::string_view type) {
  auto branches = branches_for(def.expression, type);
  return branches.size() == 1 && branches.front() == type;
}

bool same_components(const SearchParamDef& a, const SearchParamDef& b) {
  return std::equal(
      a.components.begin(), a.components.end(), b.components.begin(), b.components.end(),
      [](const auto& x, const auto& y) { return trim(x.expression) == trim(y.expression); });
}

// The root-only composite whose components stand for `def`'s on the root instance.
const SearchParamDef* root_twin(const SearchParamDef& def, std::string_view type) {
  if (root_only(def, type)) return &def;
  for (const SearchParamDef* other : search_parameters(type)) {
    if (other->type == SearchParamType::kComposite && root_only(*other, type) &&
        same_components(def, *other)) {
      return other;
    }
  }
  return nullptr;
}

CompositePlan make_plan(const SearchParamDef& def, std::string_view type) {
  CompositePlan plan;
  bool has_root = false;
  for (auto branch : branches_for(def.expression, type)) {
    if (branch == type) {
      has_root = true;
    } else {
      plan.grouped = true;
    }
  }
  if (!has_root) return plan;
  if (const SearchParamDef* twin = root_twin(def, type)) {
    for (const auto& component : twin->components) {
      const SearchParamDef* param = search_parameter_by_url(component.definition);
      // The component's own parameter must be one of this type's, or its rows are not there.
      if (param == nullptr || find_search_parameter(type, param->code) != param) {
        plan.root_params.clear();
        break;
      }
      plan.root_params.push_back(param->code);
    }
  }
  if (plan.root_params.empty()) plan.grouped = true;
  return plan;
}

}  // namespace

const CompositePlan& composite_plan(const SearchParamDef& def, std::string_view type) {
  static std::mutex mutex;
  static std::map<std::pair<const SearchParamDef*, std::string>, CompositePlan> plans;
  std::lock_guard lock(mutex);
  auto key = std::make_pair(&def, std::string(type));
  auto it = plans.find(key);
  if (it == plans.end()) it = plans.emplace(std::move(key), make_plan(def, type)).first;
  return it->second;
}

std::string component_param(std::string_view code, std::size_t index) {
  return std::string(code) + "$" + std::to_string(index);
}

}  // namespace cg::fhir
