#include "protocols/fhir/index/indexer.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <string_view>

#include "protocols/fhir/fhirpath/fhirpath.hpp"
#include "protocols/fhir/index/index_values.hpp"
#include "protocols/fhir/model/definitions.hpp"
#include "protocols/fhir/model/reference.hpp"

namespace cg::fhir {
namespace {

namespace json = boost::json;

struct CompiledParam {
  const SearchParamDef* def = nullptr;
  std::shared_ptr<const fhirpath::Expression> expression;
};

// The indexable parameters of a type with their compiled expressions, built on first use.
class ParamTable {
 public:
  const std::vector<CompiledParam>& for_type(std::string_view type) {
    std::lock_guard lock(mutex_);
    auto it = tables_.find(type);
    if (it == tables_.end()) it = tables_.emplace(std::string(type), build(type)).first;
    return it->second;
  }

 private:
  static std::vector<CompiledParam> build(std::string_view type) {
    std::vector<CompiledParam> out;
    for (const SearchParamDef* def : search_parameters(type)) {
      if (def->expression.empty() || def->type == SearchParamType::kComposite ||
          def->type == SearchParamType::kSpecial || def->code == "_id" ||
          def->code == "_lastUpdated") {
        continue;
      }
      auto compiled = fhirpath::compile(def->expression);
      // An expression our engine cannot compile is skipped (reported by the definitions
      // test); indexing must never fail a write.
      if (compiled) out.push_back({def, std::move(*compiled)});
    }
    return out;
  }

  std::mutex mutex_;
  std::map<std::string, std::vector<CompiledParam>, std::less<>> tables_;
};

ParamTable& params() {
  static ParamTable table;
  return table;
}

// A stub resource of the type a reference names, so `resolve() is Patient` can be decided
// from "Patient/1" or ".../fhir/Patient/1" without reading the store.
const json::value* type_stub(std::string_view reference) {
  static const std::map<std::string_view, json::value> stubs = [] {
    std::map<std::string_view, json::value> m;
    for (auto t : resource_types()) m.emplace(t, json::object{{"resourceType", t}});
    return m;
  }();
  auto literal = parse_literal_reference(reference);
  return literal ? &stubs.at(literal->type) : nullptr;
}

void add_item(const SearchParamDef& def, const fhirpath::Item& item, storage::IndexEntries& out) {
  if (item.is_node()) {
    const auto& node = item.as_node();
    if (!node.value || node.value->is_null() || node.type == kNoType) return;
    add_index_values(def.code, def.type, type_def(node.type).name, *node.value, out);
    return;
  }
  // Computed System values (rare in search expressions): index their string form.
  if (auto text = fhirpath::to_string_value(item)) {
    add_index_values(def.code, def.type, "string", json::value(*text), out);
  }
}

}  // namespace

storage::IndexEntries index_resource(const json::value& resource, IndexReport* report) {
  storage::IndexEntries out;
  const auto* obj = resource.if_object();
  const auto* rt = obj ? obj->if_contains("resourceType") : nullptr;
  if (!rt || !rt->is_string()) return out;
  fhirpath::EvalContext context;
  context.resolve = type_stub;
  for (const auto& param : params().for_type(rt->get_string())) {
    auto result = fhirpath::evaluate(*param.expression, resource, context);
    if (report) ++report->parameters;
    if (!result) {
      if (report)
        report->failures.push_back(std::string(param.def->code) + ": " + result.error().message);
      continue;
    }
    for (const auto& item : *result) add_item(*param.def, item, out);
  }
  return out;
}

}  // namespace cg::fhir
