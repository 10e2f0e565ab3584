#include "protocols/fhir/index/indexer.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>

#include "protocols/fhir/fhirpath/fhirpath.hpp"
#include "protocols/fhir/index/composite.hpp"
#include "protocols/fhir/index/index_values.hpp"
#include "protocols/fhir/model/definitions.hpp"
#include "protocols/fhir/model/reference.hpp"

namespace cg::fhir {
namespace {

namespace json = boost::json;

struct CompiledComponent {
  const SearchParamDef* def = nullptr;  // the component's own definition (its type)
  std::string param;                    // "code$i"
  std::shared_ptr<const fhirpath::Expression> expression;
};

// A composite stored as grouped rows (composite.hpp): its instances' expression and its
// components' expressions, evaluated on each instance.
struct CompiledComposite {
  const SearchParamDef* def = nullptr;
  std::shared_ptr<const fhirpath::Expression> instances;
  std::vector<CompiledComponent> components;
  bool skip_root = false;  // the root instance is answered by ordinary parameters
};

struct CompiledParam {
  const SearchParamDef* def = nullptr;
  std::shared_ptr<const fhirpath::Expression> expression;
};

struct CompiledType {
  std::vector<CompiledParam> params;
  std::vector<CompiledComposite> composites;
};

// Each type's table is compiled on the first write of that type, not all 146 up front: a
// clinic stores a handful of types, and every type's table held about 9 MB of expression
// trees (docs/benchmarks.md, issue 7). One expression text named by many types (the
// clinical `patient` parameter covers 30) is compiled once and shared. Thread-safe; a table
// is never changed once made, so indexing holds the lock only to look it up.
class CompiledTables {
 public:
  const CompiledType& of(std::string_view type) {
    static const CompiledType none;
    std::lock_guard lock(mutex_);
    if (auto it = types_.find(type); it != types_.end()) return it->second;
    if (!is_resource_type(type)) return none;
    return types_.emplace(std::string(type), compile_type(type)).first->second;
  }

 private:
  using Compiled = std::shared_ptr<const fhirpath::Expression>;

  // nullptr when our engine cannot compile it: that parameter is skipped (the fhirpath tests
  // check that every R4 search expression compiles); indexing must never fail a write.
  Compiled expression(std::string_view text) {
    if (auto it = expressions_.find(text); it != expressions_.end()) return it->second;
    auto compiled = fhirpath::compile(text);
    Compiled out = compiled ? std::move(*compiled) : nullptr;
    expressions_.emplace(std::string(text), out);
    return out;
  }

  std::optional<CompiledComposite> compile_composite(const SearchParamDef& def,
                                                     std::string_view type) {
    const CompositePlan& plan = composite_plan(def, type);
    if (!plan.grouped) return std::nullopt;
    Compiled instances = expression(def.expression);
    if (!instances) return std::nullopt;
    CompiledComposite out{&def, std::move(instances), {}, !plan.root_params.empty()};
    for (std::size_t i = 0; i < def.components.size(); ++i) {
      const SearchParamDef* component = search_parameter_by_url(def.components[i].definition);
      Compiled component_expression = expression(def.components[i].expression);
      if (component == nullptr || !component_expression) return std::nullopt;
      out.components.push_back(
          {component, component_param(def.code, i), std::move(component_expression)});
    }
    return out;
  }

  // The indexable parameters of one type with their compiled expressions.
  CompiledType compile_type(std::string_view type) {
    CompiledType out;
    for (const SearchParamDef* def : search_parameters(type)) {
      if (def->type == SearchParamType::kComposite) {
        if (auto composite = compile_composite(*def, type)) {
          out.composites.push_back(std::move(*composite));
        }
        continue;
      }
      // Of the special parameters only `near` (Location.position) is indexed.
      const bool special = def->type == SearchParamType::kSpecial && def->code != "near";
      if (def->expression.empty() || special || def->code == "_id" || def->code == "_lastUpdated") {
        continue;
      }
      if (Compiled compiled = expression(def->expression)) {
        out.params.push_back({def, std::move(compiled)});
      }
    }
    return out;
  }

  std::mutex mutex_;
  std::map<std::string, CompiledType, std::less<>> types_;
  std::map<std::string, Compiled, std::less<>> expressions_;
};

const CompiledType& params_for(std::string_view type) {
  static CompiledTables tables;
  return tables.of(type);
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

void add_item(std::string_view code, const SearchParamDef& def, const fhirpath::Item& item,
              storage::IndexEntries& out) {
  if (item.is_node()) {
    const auto& node = item.as_node();
    if (!node.value || node.value->is_null() || node.type == kNoType) return;
    add_index_values(code, def.type, type_def(node.type).name, *node.value, out);
    return;
  }
  // Computed System values (rare in search expressions): index their string form.
  if (auto text = fhirpath::to_string_value(item)) {
    add_index_values(code, def.type, "string", json::value(*text), out);
  }
}

template <class Rows>
void append_group(Rows& from, Rows& to, std::int32_t grp) {
  for (auto& row : from) {
    row.grp = grp;
    to.push_back(std::move(row));
  }
}

void append_group(storage::IndexEntries& from, storage::IndexEntries& to, std::int32_t grp) {
  append_group(from.strings, to.strings, grp);
  append_group(from.tokens, to.tokens, grp);
  append_group(from.dates, to.dates, grp);
  append_group(from.numbers, to.numbers, grp);
  append_group(from.quantities, to.quantities, grp);
  append_group(from.references, to.references, grp);
  append_group(from.uris, to.uris, grp);
}

// The grouped rows of one composite: per instance, every component's rows with the
// instance's ordinal as grp. An instance missing a component can match no composite value
// and is not stored.
void index_composite(const CompiledComposite& composite, const json::value& resource,
                     fhirpath::EvalContext& context, IndexReport* report,
                     storage::IndexEntries& out) {
  auto instances = fhirpath::evaluate(*composite.instances, resource, context);
  if (report) ++report->parameters;
  if (!instances) {
    if (report) {
      report->failures.push_back(std::string(composite.def->code) + ": " +
                                 instances.error().message);
    }
    return;
  }
  std::int32_t ordinal = 0;
  for (const auto& instance : *instances) {
    ++ordinal;
    if (!instance.is_node()) continue;
    if (composite.skip_root && instance.as_node().value == &resource) continue;
    storage::IndexEntries rows;
    bool complete = true;
    for (const auto& component : composite.components) {
      const std::size_t before = rows.size();
      auto values =
          fhirpath::evaluate(*component.expression, fhirpath::Collection{instance}, context);
      if (values) {
        for (const auto& item : *values) add_item(component.param, *component.def, item, rows);
      }
      if (rows.size() == before) {
        complete = false;
        break;
      }
    }
    if (complete) append_group(rows, out, ordinal);
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
  context.resource = &resource;
  const CompiledType& compiled = params_for(rt->get_string());
  for (const auto& param : compiled.params) {
    auto result = fhirpath::evaluate(*param.expression, resource, context);
    if (report) ++report->parameters;
    if (!result) {
      if (report)
        report->failures.push_back(std::string(param.def->code) + ": " + result.error().message);
      continue;
    }
    for (const auto& item : *result) add_item(param.def->code, *param.def, item, out);
  }
  for (const auto& composite : compiled.composites) {
    index_composite(composite, resource, context, report, out);
  }
  return out;
}

}  // namespace cg::fhir
