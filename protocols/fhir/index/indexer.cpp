#include "protocols/fhir/index/indexer.hpp"

#include <map>
#include <memory>
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

// The indexable parameters of one type with their compiled expressions.
std::vector<CompiledParam> compile_params(std::string_view type) {
  std::vector<CompiledParam> out;
  for (const SearchParamDef* def : search_parameters(type)) {
    if (def->expression.empty() || def->type == SearchParamType::kComposite ||
        def->type == SearchParamType::kSpecial || def->code == "_id" ||
        def->code == "_lastUpdated") {
      continue;
    }
    auto compiled = fhirpath::compile(def->expression);
    // An expression our engine cannot compile is skipped (the fhirpath tests check that every
    // R4 search expression compiles); indexing must never fail a write.
    if (compiled) out.push_back({def, std::move(*compiled)});
  }
  return out;
}

// Every type's table, built once on first use (thread-safe static initialization) and
// read-only afterwards, so indexing a write takes no lock.
const std::vector<CompiledParam>& params_for(std::string_view type) {
  static const std::map<std::string_view, std::vector<CompiledParam>> tables = [] {
    std::map<std::string_view, std::vector<CompiledParam>> m;
    for (auto t : resource_types()) m.emplace(t, compile_params(t));
    return m;
  }();
  static const std::vector<CompiledParam> none;
  auto it = tables.find(type);
  return it == tables.end() ? none : it->second;
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
  for (const auto& param : params_for(rt->get_string())) {
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
